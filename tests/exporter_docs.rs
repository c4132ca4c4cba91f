//! docs/metrics.md documents exactly what `opsdeck exporter` may serve: every family of the
//! catalogue (the exporter's own, each system's rule metrics and extra families) has a row,
//! and the page names no series that does not exist.

use std::collections::BTreeSet;

use opsdeck_core::exporter::catalogue;

fn doc() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `opsdeck_…` series name written in backquotes in the page (`name{labels} value`
/// counts as its name; the prefix alone and `name*` patterns are not names).
fn documented_names(doc: &str) -> BTreeSet<String> {
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("opsdeck_") && !s.contains('*'))
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| n != "opsdeck_")
        .collect()
}

#[test]
fn every_exported_family_is_documented_and_nothing_else() {
    let doc = doc();
    let names = documented_names(&doc);
    let missing: Vec<String> = catalogue()
        .into_iter()
        .filter(|d| !names.contains(&d.name))
        .map(|d| format!("| `{}` | {} | {} |", d.name, d.labels.join(", "), d.help))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/metrics.md lacks these rows:\n{}",
        missing.join("\n")
    );
    let known: BTreeSet<String> = catalogue().into_iter().map(|d| d.name).collect();
    // Counters are written with `_total`, as served.
    let stale: Vec<&String> = names.iter().filter(|n| !known.contains(*n)).collect();
    assert!(
        stale.is_empty(),
        "docs/metrics.md names series that do not exist: {stale:?}"
    );
}
