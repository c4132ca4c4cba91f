//! opsdeck: thin entry point. Parses the command line, loads config, theme and keymap
//! (any problem: a message naming file and line, exit 2), then runs the console or a command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use opsdeck::cli::{Cli, Cmd, ConfigCmd, Output, TopicsCmd};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::{self, Config, ConfigErrors, paths};
use opsdeck::theme::Theme;
use opsdeck::{app, report, topics};

/// Exit code for bad config, theme, keymap or arguments.
const BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `topics plan` exits 2 for "changes pending": its usage errors must not look
            // like that to a script, so they exit 1 like its other errors.
            let topics = std::env::args().skip(1).any(|a| a == "topics");
            return ExitCode::from(match e.exit_code() {
                0 => 0,
                _ if topics => topics::ERROR,
                _ => BAD_INPUT,
            });
        }
    };
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(BAD_INPUT)
        }
    }
}

fn config_path(cli: &Cli) -> (PathBuf, bool) {
    match &cli.config {
        Some(p) => (p.clone(), true),
        None => (paths::default_config_file(), false),
    }
}

/// The active config: the named file (which must exist), else the default file if present,
/// else the built-in `local` context.
fn load_config(cli: &Cli) -> Result<Config, ConfigErrors> {
    let (path, explicit) = config_path(cli);
    if explicit || path.exists() {
        Config::load(&path)
    } else {
        Ok(Config::default())
    }
}

fn pick_context(cli: &Cli, cfg: &Config) -> Result<config::Context, String> {
    let name = cli
        .context
        .clone()
        .unwrap_or_else(|| cfg.default_context.clone());
    cfg.context(&name).ok_or_else(|| {
        let file = cfg
            .path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "built-in config".into());
        format!(
            "error: {file}: no context named {name:?}\n  hint: known contexts: {}",
            cfg.contexts.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

fn init_logging(cli: &Cli) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let path = cli.log_file.clone().unwrap_or_else(paths::default_log_file);
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}

fn real_main(cli: Cli) -> Result<ExitCode, String> {
    match &cli.command {
        Some(Cmd::Completions { shell }) => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "opsdeck",
                &mut std::io::stdout(),
            );
            return Ok(ExitCode::SUCCESS);
        }
        Some(Cmd::Config { action }) => return config_command(&cli, action),
        Some(Cmd::Topics { action }) => return Ok(topics_command(&cli, action)),
        _ => {}
    }
    let cfg = load_config(&cli).map_err(|e| e.to_string())?;
    for w in &cfg.warnings {
        eprintln!("warning: {w}");
    }
    let ctx = pick_context(&cli, &cfg)?;
    let config_dir = cfg
        .path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(paths::config_dir);
    let theme_name = cli.theme.clone().unwrap_or_else(|| cfg.theme.clone());
    let theme = Theme::load(&theme_name, &config_dir, cfg.path.as_deref())
        .map_err(|e| e.to_string())?
        .honour_no_color();
    let keymap_name = cli.keymap.clone().unwrap_or_else(|| cfg.keymap.clone());
    let keymap = Keymap::load(&keymap_name, &config_dir, &cfg.keys, cfg.path.as_deref())
        .map_err(|e| e.to_string())?;
    let _log = init_logging(&cli);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    let looked_at = config_path(&cli).0.display().to_string();
    match cli.command {
        Some(Cmd::Check {
            output,
            only,
            timeout,
            wait,
        }) => {
            let only = match report::parse_only(&only) {
                Ok(o) => o,
                Err(e) => {
                    // The monitoring-plugin convention: a check that cannot run is "unknown".
                    eprintln!("{e}");
                    return Ok(ExitCode::from(3));
                }
            };
            let config = cfg.path.as_ref().map(|p| p.display().to_string());
            let snap = if wait {
                let per_poll = timeout.min(std::time::Duration::from_secs(5));
                rt.block_on(report::wait_healthy(
                    &ctx,
                    config,
                    &only,
                    &cfg.alerts,
                    per_poll,
                    timeout,
                    |s, elapsed| eprintln!("{}", report::progress_line(s, elapsed)),
                ))
            } else {
                rt.block_on(report::take(&ctx, config, &only, &cfg.alerts, timeout))
            };
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&snap).map_err(|e| e.to_string())?
                ),
                Output::Table => {
                    print!("{}", report::table(&snap));
                    if cfg.path.is_none() {
                        print!("{}", report::defaults_hint(&snap, &looked_at));
                    }
                }
            }
            // A source stuck in a blocking client call must not hold the exit.
            rt.shutdown_timeout(std::time::Duration::from_millis(100));
            Ok(ExitCode::from(report::exit_code(&snap) as u8))
        }
        Some(Cmd::Snapshot { output, timeout }) => {
            let config = cfg.path.as_ref().map(|p| p.display().to_string());
            let snap = rt.block_on(report::take(&ctx, config, &[], &cfg.alerts, timeout));
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&snap).map_err(|e| e.to_string())?
                ),
                Output::Table => print!("{}", report::table(&snap)),
            }
            rt.shutdown_timeout(std::time::Duration::from_millis(100));
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            let audit_log = cfg
                .audit_log
                .clone()
                .unwrap_or_else(paths::default_audit_log);
            let state = app::State::new(cfg, ctx.name, cli.readonly, theme, keymap);
            let runtime = app::run::Runtime {
                audit_log,
                config_dir,
            };
            rt.block_on(app::run::run(state, runtime))
                .map_err(|e| format!("error: {e}"))?;
            // Sources may be stuck in blocking client calls; do not wait for them.
            rt.shutdown_timeout(std::time::Duration::from_millis(100));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn config_command(cli: &Cli, action: &ConfigCmd) -> Result<ExitCode, String> {
    match action {
        ConfigCmd::Path => {
            println!("{}", config_path(cli).0.display());
            Ok(ExitCode::SUCCESS)
        }
        ConfigCmd::Validate { file } => {
            let path = file.clone().unwrap_or_else(|| config_path(cli).0);
            let cfg = Config::load(&path).map_err(|e| e.to_string())?;
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut problems = Vec::new();
            if let Err(e) = Theme::load(&cfg.theme, &dir, Some(&path)) {
                problems.push(e.to_string());
            }
            if let Err(e) = Keymap::load(&cfg.keymap, &dir, &cfg.keys, Some(&path)) {
                problems.push(e.to_string());
            }
            if !problems.is_empty() {
                return Err(problems.join("\n"));
            }
            for w in &cfg.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{}: ok ({} contexts: {})",
                path.display(),
                cfg.contexts.len(),
                cfg.contexts.keys().cloned().collect::<Vec<_>>().join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        ConfigCmd::Init { force } => {
            let path = config_path(cli).0;
            if path.exists() && !force {
                return Err(format!(
                    "error: {} already exists\n  hint: pass --force to overwrite it",
                    path.display()
                ));
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("error: {}: {e}", dir.display()))?;
            }
            std::fs::write(&path, config::EXAMPLE)
                .map_err(|e| format!("error: {}: {e}", path.display()))?;
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            println!("wrote {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `opsdeck topics ...`: its own exit codes (0 in sync, 2 pending, 1 any error, bad config
/// included), so it does not share `real_main`'s error path.
fn topics_command(cli: &Cli, action: &TopicsCmd) -> ExitCode {
    let run = || -> Result<u8, String> {
        let cfg = load_config(cli).map_err(|e| e.to_string())?;
        for w in &cfg.warnings {
            eprintln!("warning: {w}");
        }
        let ctx = pick_context(cli, &cfg)?;
        let env = topics::Env {
            ctx,
            cli_readonly: cli.readonly,
            audit_log: cfg
                .audit_log
                .clone()
                .unwrap_or_else(paths::default_audit_log),
            action_timeout: cfg.action_timeout,
        };
        let _log = init_logging(cli);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let mut out = std::io::stdout();
        let code = rt.block_on(async {
            match action {
                TopicsCmd::Plan {
                    paths,
                    target,
                    allow_delete,
                    prefix,
                    output,
                } => {
                    let opts = topics::Options {
                        allow_delete: *allow_delete,
                        prefix: prefix.clone(),
                    };
                    let json = *output == Output::Json;
                    topics::run_plan(&env, target.kafka.as_deref(), paths, &opts, json, &mut out)
                        .await
                }
                TopicsCmd::Apply {
                    paths,
                    target,
                    allow_delete,
                    prefix,
                    yes,
                } => {
                    let opts = topics::Options {
                        allow_delete: *allow_delete,
                        prefix: prefix.clone(),
                    };
                    let mut input = std::io::stdin().lock();
                    topics::run_apply(
                        &env,
                        target.kafka.as_deref(),
                        paths,
                        &opts,
                        *yes,
                        &mut input,
                        &mut out,
                    )
                    .await
                }
                TopicsCmd::Export {
                    target,
                    output,
                    prefix,
                    force,
                } => {
                    topics::run_export(
                        &env,
                        target.kafka.as_deref(),
                        prefix.as_deref(),
                        output.as_deref(),
                        *force,
                        &mut out,
                    )
                    .await
                }
            }
        });
        // A librdkafka call stuck past its timeout must not hold the exit.
        rt.shutdown_timeout(std::time::Duration::from_millis(100));
        code
    };
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(topics::ERROR)
        }
    }
}
