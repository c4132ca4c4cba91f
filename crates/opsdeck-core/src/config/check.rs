//! Checks of the config that span its parts: a context's colour, the sources user rules
//! name. Each problem points at the key it is about.

use std::collections::BTreeMap;
use std::path::Path;

use crate::alerts::spec::UserRuleSpec;
use crate::input::ConfigError;
use crate::input::recover::span_of;
use crate::input::values::is_colour;
use crate::sources::{self, ContextSpec};

/// The theme's status colours, which a context may name instead of a colour.
pub const STATUS_COLOURS: &[&str] = &["ok", "warn", "crit", "info"];

/// `color` of a context: a colour or one of the theme's status colours (it used to fall
/// back silently to the title colour).
pub fn context_color(
    path: &Path,
    text: &str,
    ctx_name: &str,
    ctx: &ContextSpec,
    errors: &mut Vec<ConfigError>,
) {
    let Some(c) = &ctx.color else { return };
    if STATUS_COLOURS.contains(&c.as_str()) || is_colour(c) {
        return;
    }
    let span = span_of(
        text,
        &["contexts".into(), ctx_name.into(), "color".into()],
        false,
    );
    errors.push(
        ConfigError::new(
            path,
            text,
            span,
            format!("context {ctx_name}: color {c:?} is not a colour"),
        )
        .with_hint(
            "write a colour name (red, lightblue, darkgray, ...), #rrggbb, a 0-255 index, \
             or one of the theme's status colours: ok, warn, crit, info",
        ),
    );
}

/// A user rule's `source` must name a source some context has (of the metric's kind), or
/// the rule would silently never fire.
pub fn rule_sources(
    path: &Path,
    text: &str,
    rules: &[UserRuleSpec],
    contexts: &BTreeMap<String, ContextSpec>,
    errors: &mut Vec<ConfigError>,
) {
    let all: Vec<sources::SourceSpec> = contexts.values().flat_map(sources::plan).collect();
    for (i, r) in rules.iter().enumerate() {
        let Some(source) = &r.source else { continue };
        let kind = crate::alerts::user::metric(&r.metric).and_then(|(k, _)| k);
        let fits = |s: &&sources::SourceSpec| kind.is_none_or(|k| s.kind() == k);
        if all.iter().filter(fits).any(|s| s.name() == source) {
            continue;
        }
        let what = kind.map(|k| format!("{} ", k.label())).unwrap_or_default();
        let mut known: Vec<&str> = all.iter().filter(fits).map(|s| s.name()).collect();
        known.sort_unstable();
        known.dedup();
        let span = span_of(
            text,
            &["alerts".into(), "rules".into(), i.into(), "source".into()],
            false,
        );
        errors.push(
            ConfigError::new(
                path,
                text,
                span,
                format!(
                    "alert rule {:?}: no context has a {what}source named {source:?}",
                    r.name
                ),
            )
            .with_hint(if known.is_empty() {
                format!("no context has a {what}source; remove `source` or add the source")
            } else {
                format!(
                    "{what}sources: {}; or remove `source` to watch every one",
                    known.join(", ")
                )
            }),
        );
    }
}
