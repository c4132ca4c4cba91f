//! `opsdeck check` and `opsdeck snapshot`: one poll of every source, the alert rules over it,
//! as a table or a JSON document whose shape is documented in docs/snapshot.md.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::alerts::{self, Alert, RuleSet, Severity, SourceView};
use crate::config::Context;
use crate::secrets::redact_urls;
use crate::sources::{self, Sample, SourceKind, SourceSpec, Status};

/// Health of one source or of the whole check, in the monitoring-plugin order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Health {
    pub fn label(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Warning => "warning",
            Health::Critical => "critical",
            Health::Unknown => "unknown",
        }
    }

    /// 0 ok, 1 warning, 2 critical, 3 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Health::Ok => 0,
            Health::Warning => 1,
            Health::Critical => 2,
            Health::Unknown => 3,
        }
    }

    fn of(sev: Severity) -> Health {
        match sev {
            Severity::Info => Health::Ok,
            Severity::Warning => Health::Warning,
            Severity::Critical => Health::Critical,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SourceReport {
    pub kind: SourceKind,
    pub name: String,
    /// Where it was polled (URL or address, passwords redacted); empty for the host.
    pub target: String,
    /// Worst alert of this source: ok | warning | critical (an unreachable source is critical).
    pub status: Health,
    /// Whether the poll answered.
    pub reachable: bool,
    /// The source's headline figure, as in its tile.
    pub figure: String,
    /// The worst alert's summary, or the poll error; null when healthy.
    pub problem: Option<String>,
    /// The poll error (timeout, refused, auth); null when the poll answered.
    pub error: Option<String>,
    /// The full sample (the source's own fields, see docs/snapshot.md); null when unreachable.
    pub data: Option<Sample>,
}

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub context: String,
    /// The config file used; null when none was found and the localhost defaults were checked.
    pub config: Option<String>,
    pub taken_at: String,
    /// Worst status over all sources; `unknown` when nothing was checked.
    pub status: Health,
    pub exit_code: i32,
    pub sources: Vec<SourceReport>,
    pub alerts: Vec<Alert>,
    /// Every source's capacity forecasts, soonest full first (see docs/snapshot.md).
    pub capacity: Vec<CapacityReport>,
}

/// One forecast with the source it belongs to.
#[derive(Debug, Serialize)]
pub struct CapacityReport {
    pub source_kind: SourceKind,
    pub source: String,
    #[serde(flatten)]
    pub forecast: crate::capacity::Forecast,
}

/// The names `--only` accepts for `kind`: its label, the label's plural (`backups`,
/// `redises`), its config key and its aliases. Built from the registry, so a new system is
/// accepted too.
pub fn only_names(kind: SourceKind) -> Vec<String> {
    let label = kind.label();
    // English plurals: `redises`, not `rediss` (which is a typo to refuse).
    let es = ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| label.ends_with(e));
    let plural = format!("{label}{}", if es { "es" } else { "s" });
    let mut names = vec![label.to_string(), plural, kind.key().to_string()];
    names.extend(kind.aliases().iter().map(|a| a.to_string()));
    names.dedup();
    names
}

/// The kinds `--only` names (comma-separated, any case, plurals and aliases too).
pub fn parse_only(only: &[String]) -> Result<Vec<SourceKind>, String> {
    only.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let word = s.trim().to_ascii_lowercase();
            SourceKind::ALL
                .iter()
                .copied()
                .find(|k| only_names(*k).contains(&word))
                .ok_or_else(|| {
                    let labels: Vec<&str> = SourceKind::ALL.iter().map(|k| k.label()).collect();
                    let aliases: Vec<String> = SourceKind::ALL
                        .iter()
                        .filter(|k| !k.aliases().is_empty())
                        .map(|k| format!("{} for {}", k.aliases().join(", "), k.label()))
                        .collect();
                    format!(
                        "error: --only {word:?}: unknown source kind\n  hint: use {} (plurals accepted; also {})",
                        labels.join(", "),
                        aliases.join("; ")
                    )
                })
        })
        .collect()
}

/// Polls every source of the context at once and judges them with `rules`.
pub async fn take(
    ctx: &Context,
    config: Option<String>,
    only: &[SourceKind],
    rules: &RuleSet,
    timeout: Duration,
) -> Snapshot {
    let specs: Vec<_> = sources::plan(&ctx.spec)
        .into_iter()
        .filter(|s| only.is_empty() || only.contains(&s.kind()))
        .collect();
    let polls = specs
        .iter()
        .cloned()
        .map(|s| sources::poll_once(s, &ctx.spec, timeout));
    let results = futures::future::join_all(polls).await;
    build(ctx, config, &specs, results, rules)
}

/// Assembles a snapshot from poll results (pure: unit-tested).
pub fn build(
    ctx: &Context,
    config: Option<String>,
    specs: &[SourceSpec],
    results: Vec<Result<Sample, String>>,
    rules: &RuleSet,
) -> Snapshot {
    let mut sources: Vec<SourceReport> = specs
        .iter()
        .zip(results)
        .map(|(spec, r)| {
            let (error, data) = match r {
                Ok(s) => (None, Some(s)),
                Err(e) => (Some(redact_urls(&e)), None),
            };
            SourceReport {
                kind: spec.kind(),
                name: spec.name().into(),
                target: spec.target(),
                status: Health::Ok,
                reachable: error.is_none(),
                figure: data.as_ref().map(figure).unwrap_or_default(),
                problem: None,
                error,
                data,
            }
        })
        .collect();
    let statuses: Vec<Status> = sources
        .iter()
        .map(|s| s.error.clone().map(Status::Error).unwrap_or(Status::Ok))
        .collect();
    let alerts = alerts::evaluate(
        rules,
        sources.iter().zip(&statuses).map(|(s, st)| SourceView {
            kind: s.kind,
            name: &s.name,
            status: st,
            sample: s.data.as_ref(),
        }),
    );
    // Runbooks name keys as {key:ACTION}: the default keymap's keys, for a reader.
    let keymap = crate::keymap::Keymap::builtin_default();
    let alerts: Vec<Alert> = alerts
        .into_iter()
        .map(|mut a| {
            a.runbook = a.runbook.map(|r| keymap.fill(&r));
            a
        })
        .collect();
    // Alerts come worst first, so the first one of a source is its status.
    for src in &mut sources {
        if let Some(a) = alerts
            .iter()
            .find(|a| a.kind == src.kind && a.source == src.name)
        {
            src.status = Health::of(a.severity);
            if src.status != Health::Ok {
                src.problem = Some(a.summary.clone());
            }
        }
        if let Some(e) = &src.error {
            src.status = Health::Critical;
            src.problem = Some(e.clone());
        }
    }
    let status = sources
        .iter()
        .map(|s| s.status)
        .max()
        .unwrap_or(Health::Unknown);
    let mut capacity: Vec<CapacityReport> = sources
        .iter()
        .flat_map(|s| {
            s.data
                .iter()
                .flat_map(|d| d.capacity())
                .map(|f| CapacityReport {
                    source_kind: s.kind,
                    source: s.name.clone(),
                    forecast: f.clone(),
                })
        })
        .collect();
    capacity.sort_by(|a, b| {
        let k = |c: &CapacityReport| c.forecast.full_in_seconds.unwrap_or(f64::INFINITY);
        k(a).total_cmp(&k(b))
    });
    Snapshot {
        context: ctx.name.clone(),
        config,
        taken_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        status,
        exit_code: status.exit_code(),
        sources,
        alerts,
        capacity,
    }
}

/// Monitoring-plugin convention: 0 ok, 1 warning, 2 critical, 3 unknown.
pub fn exit_code(s: &Snapshot) -> i32 {
    s.status.exit_code()
}

/// Key figure of a source for the check table: the first line of its tile.
fn figure(data: &Sample) -> String {
    let model = data.model();
    model
        .tile
        .first()
        .map(|l| match l {
            crate::views::Summary::Text(cells) => {
                cells.iter().map(|c| c.text.as_str()).collect::<String>()
            }
            crate::views::Summary::Gauge { label, text, .. } => format!("{label} {text}"),
            crate::views::Summary::Spark { label, text, .. } => format!("{label} {text}"),
        })
        .unwrap_or_default()
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The compact table: one line per source, then the alerts.
pub fn table(s: &Snapshot) -> String {
    let mut out = format!("context {}\n", s.context);
    let w = s
        .sources
        .iter()
        .map(|x| x.kind.label().len() + 1 + x.name.len())
        .max()
        .unwrap_or(6)
        .clamp(6, 32);
    out.push_str(&format!(
        "{:<w$}  {:<8}  {:<34}  {}\n",
        "SOURCE", "STATUS", "FIGURE", "PROBLEM"
    ));
    for src in &s.sources {
        let name = display_name(src);
        out.push_str(
            format!(
                "{:<w$}  {:<8}  {:<34}  {}",
                clip(&name, w),
                src.status.label(),
                clip(&src.figure, 34),
                src.problem.as_deref().unwrap_or("")
            )
            .trim_end(),
        );
        out.push('\n');
    }
    if s.sources.is_empty() {
        out.push_str("nothing to check (no sources selected)\n");
    }
    for a in s.alerts.iter().filter(|a| a.rule != "source_unreachable") {
        out.push_str(&format!("{} {}\n", a.severity.label(), a.summary));
    }
    out.push_str(&format!(
        "{}: {}\n",
        s.status.label().to_uppercase(),
        summary_line(s)
    ));
    out
}

/// "redis cache"; just "host" for the host.
fn display_name(src: &SourceReport) -> String {
    if src.kind.label() == src.name {
        src.name.clone()
    } else {
        format!("{} {}", src.kind.label(), src.name)
    }
}

fn summary_line(s: &Snapshot) -> String {
    let bad: Vec<String> = s
        .sources
        .iter()
        .filter(|x| x.status != Health::Ok)
        .map(display_name)
        .collect();
    if s.sources.is_empty() {
        "nothing checked".into()
    } else if bad.is_empty() {
        format!("all {} sources healthy", s.sources.len())
    } else {
        format!(
            "{} of {} unhealthy: {}",
            bad.len(),
            s.sources.len(),
            bad.join(", ")
        )
    }
}

/// With no config file: which local defaults are not running, and how to point elsewhere.
pub fn defaults_hint(s: &Snapshot, looked_at: &str) -> String {
    let down: Vec<String> = s
        .sources
        .iter()
        .filter(|x| !x.reachable)
        .map(|x| format!("  {} on {}", x.kind.label(), x.target))
        .collect();
    let mut out =
        format!("no config file ({looked_at} does not exist): checked the localhost defaults\n");
    if s.sources.is_empty() {
        // --only chose kinds the built-in context has none of: nothing answered, nothing failed.
        let kinds: Vec<&str> = sources::plan(&crate::config::local_context())
            .iter()
            .map(|x| x.kind().label())
            .collect();
        out.push_str(&format!(
            "the localhost defaults have no source of the kinds asked for (they are: {})\n",
            kinds.join(", ")
        ));
    } else if down.is_empty() {
        out.push_str("every local default answered\n");
    } else {
        out.push_str("not running (or not on the default port):\n");
        for d in down {
            out.push_str(&d);
            out.push('\n');
        }
    }
    out.push_str(
        "to check other servers: `opsdeck config init` writes an example config to edit, \
         or pass `--config FILE` (or OPSDECK_CONFIG); `--only redis,postgres` limits the check\n",
    );
    out
}

/// One progress line of `check --wait`.
pub fn progress_line(s: &Snapshot, elapsed: Duration) -> String {
    format!(
        "[{:>3}s] {}: {}",
        elapsed.as_secs(),
        s.status.label(),
        summary_line(s)
    )
}

/// `check --wait`: polls until everything is ok or `deadline` passes, calling `progress` after
/// each unhealthy round; returns the last snapshot.
pub async fn wait_healthy(
    ctx: &Context,
    config: Option<String>,
    only: &[SourceKind],
    rules: &RuleSet,
    poll_timeout: Duration,
    total: Duration,
    mut progress: impl FnMut(&Snapshot, Duration),
) -> Snapshot {
    let started = Instant::now();
    let interval = Duration::from_secs(1);
    loop {
        let round = Instant::now();
        let remaining = total.saturating_sub(started.elapsed());
        let snap = take(
            ctx,
            config.clone(),
            only,
            rules,
            poll_timeout.min(remaining.max(Duration::from_millis(200))),
        )
        .await;
        if snap.status == Health::Ok || started.elapsed() >= total {
            return snap;
        }
        progress(&snap, started.elapsed());
        let left = total.saturating_sub(started.elapsed());
        if left.is_zero() {
            return snap;
        }
        tokio::time::sleep(interval.saturating_sub(round.elapsed()).min(left)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ContextSpec;
    use crate::sources::redis::RedisSpec;

    fn ctx() -> Context {
        Context {
            name: "t".into(),
            spec: ContextSpec {
                redis: vec![RedisSpec {
                    name: "cache".into(),
                    url: Some("redis://:pw@127.0.0.1:1".into()),
                    ..Default::default()
                }],
                ..Default::default()
            },
        }
    }

    #[test]
    fn unreachable_source_is_critical_and_named() {
        let c = ctx();
        let specs = sources::plan(&c.spec);
        let snap = build(
            &c,
            None,
            &specs,
            vec![
                Err("connection refused".into()),
                Ok(Sample::Host(Box::default())),
            ],
            &RuleSet::default(),
        );
        assert_eq!(snap.status, Health::Critical);
        assert_eq!(exit_code(&snap), 2);
        let t = table(&snap);
        assert!(t.contains("redis cache"), "{t}");
        assert!(t.contains("critical"), "{t}");
        assert!(t.contains("connection refused"), "{t}");
        assert!(!t.contains(":pw@"), "password leaked: {t}");
        assert!(!snap.sources[0].target.contains("pw"));
    }

    #[test]
    fn nothing_checked_is_unknown() {
        let c = ctx();
        let snap = build(&c, None, &[], vec![], &RuleSet::default());
        assert_eq!(exit_code(&snap), 3);
        assert!(table(&snap).contains("nothing"));
    }

    #[test]
    fn only_accepts_plurals_and_rejects_typos() {
        assert_eq!(
            parse_only(&["backups".into(), "redis".into()]).unwrap(),
            vec![SourceKind::Backup, SourceKind::Redis]
        );
        for (word, kind) in [
            ("hosts", SourceKind::Host),
            ("kafkas", SourceKind::Kafka),
            ("redises", SourceKind::Redis),
            ("postgreses", SourceKind::Postgres),
            ("PG", SourceKind::Postgres),
            ("postgresql", SourceKind::Postgres),
            ("endpoints", SourceKind::Endpoint),
        ] {
            assert_eq!(parse_only(&[word.into()]).unwrap(), vec![kind], "{word}");
        }
        // Every kind of the registry, by its label and plurals: a new system needs no change.
        for k in SourceKind::ALL {
            for n in only_names(*k) {
                assert_eq!(
                    parse_only(std::slice::from_ref(&n)).unwrap(),
                    vec![*k],
                    "{n}"
                );
            }
        }
        assert_eq!(
            parse_only(&[
                "PG".into(),
                "mariadb".into(),
                "mysql".into(),
                "endpoints".into()
            ])
            .unwrap(),
            vec![
                SourceKind::Postgres,
                SourceKind::Mysql,
                SourceKind::Mysql,
                SourceKind::Endpoint
            ]
        );
        assert_eq!(
            parse_only(&["rediss".into()]).unwrap_err(),
            "error: --only \"rediss\": unknown source kind\n  hint: use kafka, postgres, mysql, \
             redis, backup, endpoint, host (plurals accepted; also postgresql, pg for postgres; \
             mariadb for mysql)"
        );
    }

    #[test]
    fn hint_with_nothing_selected_does_not_claim_everything_answered() {
        let c = ctx();
        let snap = build(&c, None, &[], vec![], &RuleSet::default());
        let h = defaults_hint(&snap, "/x/config.toml");
        assert!(!h.contains("every local default answered"), "{h}");
        assert!(h.contains("no source of the kinds asked for"), "{h}");
        assert!(h.contains("kafka, postgres, redis, host"), "{h}");
    }

    #[test]
    fn hint_names_the_sources_not_running() {
        let c = ctx();
        let specs = sources::plan(&c.spec);
        let snap = build(
            &c,
            None,
            &specs,
            vec![Err("refused".into()), Ok(Sample::Host(Box::default()))],
            &RuleSet::default(),
        );
        let h = defaults_hint(&snap, "/x/config.toml");
        assert!(h.contains("redis on redis://"), "{h}");
        assert!(h.contains("--config"), "{h}");
        assert!(h.contains("opsdeck config init"), "{h}");
    }
}
