//! opsdeck: thin entry point. Parses the command line, loads config, theme and keymap
//! (every problem of any of them: messages naming file and line, exit 2), then runs the
//! console or a command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use opsdeck::cli::{Cli, Cmd, ConfigCmd, Output, RulesCmd, RulesFormat, SnapshotOutput, TopicsCmd};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::{self, Config, ConfigError, ConfigErrors, paths};
use opsdeck::theme::Theme;
use opsdeck::{app, fleet, report, topics};
use opsdeck_core::input::Origin;

/// Exit code for bad config, theme, keymap or arguments, whatever the command.
const BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    opsdeck::memory::limit_arenas();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(match e.exit_code() {
                0 => 0,
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

/// What the console and every command read before they start.
struct Loaded {
    cfg: Config,
    theme: Theme,
    keymap: Keymap,
    /// Where user themes and keymaps are looked up: beside the config file.
    config_dir: PathBuf,
}

/// The config (`file`, else the active one: the named file, which must exist, else the
/// default file if present, else the built-in `local` context), the theme and the keymap it
/// names, with every problem of any of them reported together. `flags`: `--theme` and
/// `--keymap` count (not when validating a file).
fn load_all(cli: &Cli, file: Option<&Path>, flags: bool) -> Result<Loaded, String> {
    let (path, explicit) = match file {
        Some(f) => (f.to_path_buf(), true),
        None => config_path(cli),
    };
    let (cfg, mut errors) = if explicit || path.exists() {
        Config::read(&path)
    } else {
        (Config::default(), Vec::new())
    };
    let config_dir = cfg
        .path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(paths::config_dir);
    let chosen = |flag: &Option<String>, in_file: &str| match flag {
        Some(name) if flags => (name.clone(), true),
        _ => (in_file.to_string(), false),
    };
    let origin = |by_flag: bool, key: &'static str, flag: &'static str| match cfg.path.as_deref() {
        Some(file) if !by_flag => Origin::File { file, key },
        _ => Origin::Flag(flag),
    };
    let (theme_name, by_flag) = chosen(&cli.theme, &cfg.theme);
    let theme = Theme::load_for(
        &theme_name,
        &config_dir,
        origin(by_flag, "theme", "--theme"),
    )
    .map_err(|ConfigErrors(e)| errors.extend(e))
    .ok();
    let (keymap_name, by_flag) = chosen(&cli.keymap, &cfg.keymap);
    let keymap = Keymap::load_for(
        &keymap_name,
        origin(by_flag, "keymap", "--keymap"),
        &config_dir,
        &cfg.keys,
        cfg.path.as_deref(),
    )
    .map_err(|ConfigErrors(e)| errors.extend(e))
    .ok();
    // The config file's problems (its `[keys]` too) in line order, then the other files'.
    let in_config = |e: &ConfigError| cfg.path.as_deref() == Some(e.file.as_path());
    errors.sort_by_key(|e| (!in_config(e), e.line, e.column));
    match (theme, keymap) {
        (Some(theme), Some(keymap)) if errors.is_empty() => Ok(Loaded {
            cfg,
            theme,
            keymap,
            config_dir,
        }),
        _ => Err(ConfigErrors(errors).to_string()),
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

/// Log lines queued for the log file's writer thread.
const LOG_QUEUE_LINES: usize = 2_048;

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
    // The writer's channel allocates every slot up front: the default 128,000 lines are
    // 4 MiB resident for the whole session. A burst past this many queued lines is dropped
    // (lossy, the default) rather than blocking the console.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .finish(file);
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
        Some(Cmd::Man { dir }) => return man_command(dir.as_deref()),
        Some(Cmd::Config { action }) => return config_command(&cli, action),
        Some(Cmd::Topics { action }) => return Ok(topics_command(&cli, action)),
        _ => {}
    }
    let Loaded {
        cfg,
        theme,
        keymap,
        config_dir,
    } = load_all(&cli, None, true)?;
    for w in &cfg.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(Cmd::Rules { action }) = &cli.command {
        return rules_command(&cfg, action);
    }
    let ctx = pick_context(&cli, &cfg)?;
    let theme = theme.honour_no_color();
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
            all_contexts,
        }) => {
            // An unknown kind is a bad argument: 2, as every bad input (3 is "nothing checked").
            let only = report::parse_only(&only)?;
            let config = cfg.path.as_ref().map(|p| p.display().to_string());
            if all_contexts {
                let code = check_all_contexts(
                    cli.context.as_deref(),
                    &cfg,
                    &rt,
                    config,
                    &only,
                    timeout,
                    output,
                );
                // A source stuck in a blocking client call must not hold the exit.
                rt.shutdown_timeout(std::time::Duration::from_millis(100));
                return code;
            }
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
        Some(Cmd::Exporter {
            listen,
            partition_series,
            subject_series,
        }) => {
            // Bound before any source starts: a busy or bad address exits 2 at once.
            let listener = opsdeck_core::exporter::serve::bind(&listen)?;
            let opts = opsdeck_core::exporter::Options {
                context: ctx.name.clone(),
                ctx: ctx.spec.clone(),
                rules: cfg.alerts.clone(),
                refresh: cfg.refresh,
                limits: opsdeck_core::series::Limits {
                    partitions: partition_series,
                    subjects: subject_series,
                },
            };
            eprintln!(
                "opsdeck exporter: context {}, serving http://{listen}/metrics",
                ctx.name
            );
            rt.block_on(opsdeck_core::exporter::run(opts, listener))?;
            // Sources may be stuck in blocking client calls; do not wait for them.
            rt.shutdown_timeout(std::time::Duration::from_millis(100));
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Snapshot { output, timeout }) => {
            let config = cfg.path.as_ref().map(|p| p.display().to_string());
            let snap = rt.block_on(report::take(&ctx, config, &[], &cfg.alerts, timeout));
            match output {
                SnapshotOutput::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&snap).map_err(|e| e.to_string())?
                ),
                SnapshotOutput::Table => print!("{}", report::table(&snap)),
                SnapshotOutput::Markdown => print!("{}", hand_over(&snap)),
            }
            rt.shutdown_timeout(std::time::Duration::from_millis(100));
            // The document is the product, and its `status`/`exit_code` say how things are:
            // a scraper must get it (and exit 0) however bad they are. `check` is the one
            // whose exit code is the health.
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            let audit_log = cfg
                .audit_log
                .clone()
                .unwrap_or_else(paths::default_audit_log);
            let no_config = cfg.path.is_none();
            let mut state = app::State::new(cfg, ctx.name, cli.readonly, theme, keymap);
            state.no_config = no_config;
            if cli.fleet {
                // The loop starts the fleet's polls when it finds the fleet open.
                let _ = app::fleet::open(&mut state);
            }
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

/// `opsdeck man`: opsdeck(1) on stdout, or every page into `dir`.
fn man_command(dir: Option<&Path>) -> Result<ExitCode, String> {
    match dir {
        Some(dir) => {
            for path in opsdeck::manpage::write_all(dir)? {
                println!("{}", path.display());
            }
        }
        None => {
            let page = opsdeck::manpage::main_page()
                .map_err(|e| format!("error: rendering the manual page: {e}"))?;
            use std::io::Write;
            std::io::stdout()
                .write_all(&page)
                .map_err(|e| format!("error: writing the manual page: {e}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `snapshot --output markdown`: the incident note of one poll, with the last hour of the
/// timeline the consoles keep in the data dir.
fn hand_over(snap: &report::Snapshot) -> String {
    let now = chrono::Utc::now();
    let path = opsdeck::timeline::store::file(&paths::data_dir());
    // Read only: the consoles own the file's upkeep.
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (events, _, _) = opsdeck::timeline::store::parse(&text, now);
    let hour = now - chrono::Duration::hours(1);
    let timeline = events
        .into_iter()
        .filter(|e| e.context == snap.context && e.at >= hour)
        .collect();
    let by = format!(
        "{}@{}",
        opsdeck::actions::audit::os_user(),
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    );
    opsdeck::note::markdown(&opsdeck::note::of_snapshot(snap, timeline, by, now))
}

/// `opsdeck rules export`: the active rules for another tool.
fn rules_command(cfg: &Config, action: &RulesCmd) -> Result<ExitCode, String> {
    let RulesCmd::Export { format, output } = action;
    let text = match format {
        RulesFormat::Prometheus => opsdeck_core::exporter::rules::prometheus_rules(&cfg.alerts),
    };
    match output {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| {
                format!(
                    "error: cannot write {}: {e}\n  hint: check the directory exists and is writable",
                    path.display()
                )
            })?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `check --all-contexts`: one round over every context, the worst status as exit code.
fn check_all_contexts(
    context: Option<&str>,
    cfg: &Config,
    rt: &tokio::runtime::Runtime,
    config: Option<String>,
    only: &[opsdeck_core::sources::SourceKind],
    timeout: std::time::Duration,
    output: Output,
) -> Result<ExitCode, String> {
    if let Some(name) = context {
        return Err(format!(
            "error: --context {name} with --all-contexts: --all-contexts checks every context\n  hint: drop one of them"
        ));
    }
    let contexts: Vec<config::Context> = cfg
        .contexts
        .keys()
        .filter_map(|name| cfg.context(name))
        .collect();
    let r = rt.block_on(fleet::take(&contexts, config, only, &cfg.alerts, timeout));
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
        ),
        Output::Table => print!("{}", fleet::text_table(&r)),
    }
    Ok(ExitCode::from(r.exit_code as u8))
}

fn config_command(cli: &Cli, action: &ConfigCmd) -> Result<ExitCode, String> {
    match action {
        ConfigCmd::Path => {
            println!("{}", config_path(cli).0.display());
            Ok(ExitCode::SUCCESS)
        }
        ConfigCmd::Validate { file } => {
            // The same path as startup: what starts is what validates.
            let path = file.clone().unwrap_or_else(|| config_path(cli).0);
            let cfg = load_all(cli, Some(&path), false)?.cfg;
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

/// `opsdeck topics ...`: 0 in sync, 1 changes pending, 2 any error (bad input included, as
/// for every command).
fn topics_command(cli: &Cli, action: &TopicsCmd) -> ExitCode {
    let run = || -> Result<u8, String> {
        let cfg = load_all(cli, None, true)?.cfg;
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
