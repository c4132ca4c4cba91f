//! The active rule set (built-in rules as tuned, then user rules) as a Prometheus rules
//! file over the exporter's series, so the team's Prometheus raises the same alerts.
//!
//! What cannot be carried over: the console's hysteresis (an alert resolves only once the
//! value is back past its threshold by a margin) has no Prometheus equivalent; silences and
//! acks belong to Alertmanager there.

use crate::alerts::rules::UNREACHABLE;
use crate::alerts::user::metric;
use crate::alerts::{Rule, RuleSet};
use crate::metrics::Cmp;
use crate::series::metric_series_name;

/// The group name in the file.
pub const GROUP: &str = "opsdeck";

/// A YAML scalar: JSON's quoting is a subset of YAML's double-quoted style.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A Prometheus alert name (a metric-name-like word): other characters become `_`.
pub fn alert_name(rule: &str) -> String {
    let mut out: String = rule
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn op(cmp: Cmp) -> &'static str {
    match cmp {
        Cmp::Gt => ">",
        Cmp::Ge => ">=",
        Cmp::Lt => "<",
        Cmp::Le => "<=",
    }
}

/// The PromQL of a rule, or None for a metric the exporter does not serve.
pub fn expr(rule: &Rule) -> Option<String> {
    let selector = match &rule.source {
        Some(s) => format!("{{source={}}}", q(s)),
        None => String::new(),
    };
    let threshold = rule.threshold;
    if rule.metric == UNREACHABLE.metric {
        // source.unreachable is 1 while the poll fails: 1 - up.
        return Some(format!(
            "(1 - opsdeck_source_up{selector}) {} {threshold}",
            op(rule.cmp)
        ));
    }
    let (_, m) = metric(rule.metric)?;
    Some(format!(
        "{}{selector} {} {threshold}",
        metric_series_name(m),
        op(rule.cmp)
    ))
}

/// The label naming the subject of `rule`'s series (`group`, `node`), if it has one.
fn subject_label(rule: &Rule) -> Option<&'static str> {
    let (kind, _) = metric(rule.metric)?;
    kind.map(|k| k.subject_label(rule.metric))
}

/// The rules file (YAML) of every enabled rule in `set`.
pub fn prometheus_rules(set: &RuleSet) -> String {
    let mut out = String::from(
        "# Prometheus alerting rules over the series of `opsdeck exporter`, written by\n\
         # `opsdeck rules export --format prometheus` from the active built-in and user rules.\n\
         # Prometheus has no hysteresis: an alert resolves as soon as its condition stops holding.\n\
         groups:\n",
    );
    out.push_str(&format!("  - name: {}\n    rules:\n", q(GROUP)));
    let mut any = false;
    for r in set.rules.iter().filter(|r| r.enabled) {
        let Some(expr) = expr(r) else { continue };
        any = true;
        let subject = match subject_label(r) {
            Some(l) => format!("{{{{ with $labels.{l} }}}} {{{{ . }}}}{{{{ end }}}}"),
            None => String::new(),
        };
        let unit = r.unit();
        let summary = match unit {
            crate::metrics::Unit::Flag => format!("{{{{ $labels.source }}}}{subject}: {}", r.title),
            _ => format!(
                "{{{{ $labels.source }}}}{subject}: {} {{{{ $value }}}} ({} {})",
                r.title,
                r.cmp.symbol(),
                unit.format(r.threshold)
            ),
        };
        out.push_str(&format!("      - alert: {}\n", q(&alert_name(&r.name))));
        out.push_str(&format!("        expr: {}\n", q(&expr)));
        out.push_str(&format!(
            "        for: {}\n",
            q(&format!("{}s", r.for_.as_secs()))
        ));
        out.push_str("        labels:\n");
        out.push_str(&format!("          severity: {}\n", q(r.severity.name())));
        out.push_str(&format!("          rule: {}\n", q(&r.name)));
        for (k, v) in &r.labels {
            if k != "severity" && k != "rule" {
                out.push_str(&format!("          {}: {}\n", q(k), q(v)));
            }
        }
        out.push_str("        annotations:\n");
        out.push_str(&format!("          summary: {}\n", q(&summary)));
        out.push_str(&format!("          metric: {}\n", q(r.metric)));
        if let Some(rb) = &r.runbook {
            let key = if rb.starts_with("http://") || rb.starts_with("https://") {
                "runbook_url"
            } else {
                "runbook"
            };
            out.push_str(&format!("          {key}: {}\n", q(rb)));
        }
    }
    if !any {
        out.push_str("      []\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn builtin_rules_become_promql() {
        let set = RuleSet::default();
        let text = prometheus_rules(&set);
        assert!(text.contains("alert: \"kafka_group_stalled\"\n        expr: \"opsdeck_kafka_group_status_code >= 3\""), "{text}");
        assert!(
            text.contains("expr: \"(1 - opsdeck_source_up) >= 1\""),
            "{text}"
        );
        assert!(text.contains("severity: \"critical\""), "{text}");
        for r in &set.rules {
            assert!(expr(r).is_some(), "{} has no series", r.name);
        }
    }

    #[test]
    fn user_rules_keep_source_labels_and_odd_names() {
        let mut set = RuleSet::default();
        let mut r = crate::alerts::rules::rule(&UNREACHABLE);
        r.name = "orders-lag \"prod\"".into();
        r.metric = "kafka.group.lag_seconds";
        r.source = Some("prod".into());
        r.cmp = Cmp::Gt;
        r.threshold = 300.0;
        r.for_ = Duration::from_secs(120);
        r.labels.insert("team".into(), "payments".into());
        r.runbook = Some("https://wiki/orders".into());
        set.rules = vec![r];
        let text = prometheus_rules(&set);
        assert!(text.contains("alert: \"orders_lag__prod_\""), "{text}");
        assert!(text.contains("rule: \"orders-lag \\\"prod\\\"\""), "{text}");
        assert!(
            text.contains("expr: \"opsdeck_kafka_group_lag_seconds{source=\\\"prod\\\"} > 300\""),
            "{text}"
        );
        assert!(text.contains("for: \"120s\""), "{text}");
        assert!(text.contains("\"team\": \"payments\""), "{text}");
        assert!(
            text.contains("runbook_url: \"https://wiki/orders\""),
            "{text}"
        );
    }
}
