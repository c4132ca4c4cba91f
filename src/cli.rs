//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "On-call console for Kafka, PostgreSQL, Redis, backups, alerts and the host",
    long_about = "On-call console for Kafka, PostgreSQL, Redis, backups, alerts and the host.\n\n\
        Without a subcommand, opsdeck starts the console: consumer lag, database sessions, \
        Redis memory and failover, backups, alerts and the host side by side in one \
        full-screen terminal app (? lists the keys, q quits). Actions that change a system \
        sit behind single keys and are previewed, confirmed, written to the audit log, and \
        refused in read-only mode. Without a config file it watches the local defaults \
        (Kafka on 9092, PostgreSQL on 5432, Redis on 6379) and the host. The subcommands \
        serve scripts, cron and CI."
)]
pub struct Cli {
    /// Config file (default: `opsdeck config path`).
    #[arg(long, global = true, env = "OPSDECK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Context to start in (default: the config's default_context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Refuse every action that changes a monitored system.
    #[arg(long, global = true)]
    pub readonly: bool,
    /// Theme name (shipped: dark, light, high-contrast, ansi16).
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keymap name (shipped: default, emacs).
    #[arg(long, global = true, value_name = "NAME")]
    pub keymap: Option<String>,
    /// Log file (default: opsdeck.log in the data dir). Nothing is ever logged to the terminal.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Start in the fleet view: every context at once (`:fleet` in the console).
    #[arg(long)]
    pub fleet: bool,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

/// What `snapshot` prints.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SnapshotOutput {
    Json,
    Table,
    /// An incident note for a hand-over: alerts with runbooks, the timeline of the last
    /// hour (kept in the data dir), key figures per source.
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// One poll of every source plus the alert rules. Exit 0 ok, 1 warning, 2 critical, 3 unknown
    /// (nothing checked); 2 for bad input too.
    Check {
        /// `table` for people, `json` for programs (the snapshot document with the verdicts).
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
        /// Only these source kinds, comma-separated: kafka, postgres (pg), mysql (mariadb),
        /// redis, backup, endpoint, host; plurals and the config keys accepted.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// How long to wait for each source; with --wait, for everything to become healthy.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// Poll again (about every second, progress on stderr) until every source is healthy
        /// or --timeout passes; for scripts waiting on a local stack.
        #[arg(long)]
        wait: bool,
        /// Every context of the config, one line each (the fleet view); exits with the worst.
        #[arg(long, conflicts_with = "wait")]
        all_contexts: bool,
    },
    /// One poll of every source as one JSON document. Exits 0 once it is written (the health is
    /// inside: `status`, `exit_code`); 2 for bad input.
    Snapshot {
        /// `json` (the document, shape in docs/snapshot.md), `table`, or `markdown` (an
        /// incident note for a hand-over).
        #[arg(long, value_enum, default_value = "json")]
        output: SnapshotOutput,
        /// How long to wait for each source.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Config file helpers.
    Config {
        #[command(subcommand)]
        action: ConfigCmd,
    },
    /// Shell completions.
    Completions {
        /// The shell to write completions for, on stdout.
        shell: clap_complete::Shell,
    },
    /// Declarative topics: plan, apply and export topic files (docs/topics.md).
    Topics {
        #[command(subcommand)]
        action: TopicsCmd,
    },
    /// Manual pages (roff): opsdeck(1) on stdout, e.g. `opsdeck man | man -l -`.
    Man {
        /// Write opsdeck.1 and one page per subcommand (opsdeck-check.1, ...) into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Serve the context's sources and alerts to Prometheus (`/metrics`, `/healthz`) until
    /// SIGTERM; series in docs/metrics.md. Exit 2 for bad input or an address it cannot use.
    Exporter {
        /// Address to serve on.
        #[arg(long, default_value = "127.0.0.1:9464", value_name = "HOST:PORT")]
        listen: String,
        /// Per-partition lag series per Kafka source (the most lagging partitions); group
        /// and topic totals are always exported.
        #[arg(long, default_value_t = 100, value_name = "N")]
        partition_series: usize,
        /// Series per alert metric per source (the highest values first), e.g. one per
        /// running query.
        #[arg(long, default_value_t = 100, value_name = "N")]
        subject_series: usize,
    },
    /// Alert rules as other tools read them.
    Rules {
        #[command(subcommand)]
        action: RulesCmd,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RulesFormat {
    /// A Prometheus rules file over the series of `opsdeck exporter`.
    Prometheus,
}

#[derive(Debug, Subcommand)]
pub enum RulesCmd {
    /// Write the active built-in and user rules (thresholds, `for`, severities, runbooks).
    Export {
        /// What to write them as (`prometheus`: a rules file for Prometheus).
        #[arg(long, value_enum, default_value = "prometheus")]
        format: RulesFormat,
        /// File to write (default: stdout).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Which cluster: the context's Kafka entry.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaTarget {
    /// The context's Kafka entry to use (required when it has several).
    #[arg(long, value_name = "NAME")]
    pub kafka: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCmd {
    /// Compare topic files with the cluster and print the changes.
    /// Exit 0 in sync, 1 changes pending, 2 error or refused change.
    Plan {
        /// Topic files, or directories of *.toml files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        target: KafkaTarget,
        /// Also plan deleting topics that no file declares (never internal `__*` topics).
        #[arg(long)]
        allow_delete: bool,
        /// With --allow-delete: only topics whose name starts with this may be deleted.
        #[arg(long, value_name = "PREFIX", requires = "allow_delete")]
        prefix: Option<String>,
        /// `json`: the changes, refusals and unmanaged configs as one JSON document.
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// Show the plan, ask for confirmation, apply it (one audit entry per change), and check
    /// that the cluster then matches the files. Exit 0 applied (or nothing to do), 1 not
    /// confirmed (changes still pending), 2 error, refused or read-only (refusals audited).
    Apply {
        /// Topic files, or directories of *.toml files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        target: KafkaTarget,
        /// Also delete topics that no file declares (never internal `__*` topics).
        #[arg(long)]
        allow_delete: bool,
        /// With --allow-delete: only topics whose name starts with this may be deleted.
        #[arg(long, value_name = "PREFIX", requires = "allow_delete")]
        prefix: Option<String>,
        /// Do not ask for confirmation (automation).
        #[arg(long)]
        yes: bool,
    },
    /// Write the cluster's topics (not internal ones) as topic files.
    Export {
        #[command(flatten)]
        target: KafkaTarget,
        /// Directory for one <topic>.toml per topic (default: one document on stdout).
        #[arg(long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Only topics whose name starts with this.
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
        /// Overwrite existing files in --output.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print the config file's path.
    Path,
    /// Check a config file (default: the active one); every problem with file:line:column.
    Validate {
        /// The file to check (default: the active config).
        file: Option<PathBuf>,
    },
    /// Write a commented example config (refuses to overwrite).
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}
