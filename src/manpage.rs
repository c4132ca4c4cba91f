//! Manual pages from the clap definitions: `opsdeck man` prints opsdeck(1), `opsdeck man
//! --dir DIR` writes it and one page per subcommand (opsdeck-check(1), opsdeck-topics-plan(1),
//! ...), as git and cargo ship theirs. Generated, so they cannot drift from `--help`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::Cli;

/// What opsdeck(1) says beyond the options: how to read its exit codes, and where it looks.
/// Hand-written roff (clap knows none of this); kept short, the README has the details.
const MAIN_EXTRA: &str = r#".SH "EXIT STATUS"
Every command exits 2 on bad input (a bad config, theme, keymap or topic file, an unknown
context or kind, a bad argument), with a message naming the file and line.
.TP
\fBcheck\fR
0 ok, 1 warning, 2 critical, 3 unknown (nothing checked): the monitoring\-plugin convention.
.TP
\fBsnapshot\fR
0 once the document is written, however bad the systems are (its \fIstatus\fR and
\fIexit_code\fR say how they are).
.TP
\fBtopics\fR
0 in sync or applied, 1 changes pending or not confirmed, 2 error or refused (as \fBdiff\fR(1) has it).
.SH ENVIRONMENT
.TP
\fBOPSDECK_CONFIG\fR
The config file, as \fB\-\-config\fR.
.TP
\fBOPSDECK_LOG\fR
The log level of the log file (e.g. \fBdebug\fR); nothing is ever logged to the terminal.
.TP
\fBNO_COLOR\fR
When set, the console draws without colours.
.SH FILES
.TP
\fI~/.config/opsdeck/config.toml\fR
The config file (\fBopsdeck config path\fR prints where it is looked for; \fBopsdeck config init\fR
writes a commented example). Without it, opsdeck watches the local defaults: Kafka on 9092,
PostgreSQL on 5432, Redis on 6379, and the host.
.TP
\fI~/.config/opsdeck/themes/NAME.toml\fR, \fI~/.config/opsdeck/keymaps/NAME.toml\fR
Your own themes and keymaps, beside the config file. The shipped ones are built in; copies
to start from are in \fI/usr/share/opsdeck/themes\fR and \fI/usr/share/opsdeck/keymaps\fR
when installed from the Debian package.
.TP
\fI~/.local/share/opsdeck/audit.jsonl\fR
The audit log: one JSON line before and after every guarded action, and for every refusal
(\fBaudit_log\fR in the config moves it).
.TP
\fI~/.local/share/opsdeck/opsdeck.log\fR
The log file (\fB\-\-log\-file\fR moves it).
.SH "SEE ALSO"
\fBopsdeck\-check\fR(1), \fBopsdeck\-snapshot\fR(1), \fBopsdeck\-topics\fR(1),
\fBopsdeck\-exporter\fR(1), \fBopsdeck\-rules\fR(1), \fBopsdeck\-config\fR(1),
\fBopsdeck\-completions\fR(1), \fBopsdeck\-man\fR(1)
"#;

const SUB_EXTRA: &str = ".SH \"SEE ALSO\"\n\\fBopsdeck\\fR(1)\n";

/// The command tree as the pages describe it: no `help` subcommand (every command has
/// `--help`), built so that subcommands carry their display names (`opsdeck-topics-plan`).
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// One page: clap_mangen's sections, then `extra` (raw roff).
fn render(cmd: clap::Command, extra: &str) -> std::io::Result<(String, Vec<u8>)> {
    let version = cmd.get_version().unwrap_or_default().to_string();
    let man = clap_mangen::Man::new(cmd)
        .source(format!("opsdeck {version}"))
        .manual("opsdeck manual");
    let mut out = Vec::new();
    man.render(&mut out)?;
    out.write_all(extra.as_bytes())?;
    Ok((man.get_filename(), out))
}

fn collect(
    cmd: &clap::Command,
    out: &mut Vec<(String, Vec<u8>)>,
    top: bool,
) -> std::io::Result<()> {
    out.push(render(
        cmd.clone(),
        if top { MAIN_EXTRA } else { SUB_EXTRA },
    )?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, out, false)?;
    }
    Ok(())
}

/// Every page: (file name, roff), opsdeck.1 first.
pub fn pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    collect(&command(), &mut out, true)?;
    Ok(out)
}

/// opsdeck(1) alone, for `opsdeck man | man -l -`.
pub fn main_page() -> std::io::Result<Vec<u8>> {
    Ok(render(command(), MAIN_EXTRA)?.1)
}

/// Writes every page into `dir` (created if missing); returns the files written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "error: cannot create {}: {e}\n  hint: pass a directory you can write to",
            dir.display()
        )
    })?;
    let pages = pages().map_err(|e| format!("error: rendering the manual pages: {e}"))?;
    let mut written = Vec::new();
    for (name, text) in pages {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("error: {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
