use super::*;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const T0: f64 = 1_700_000_000.0;

fn disk(used: f64) -> Figure {
    Figure {
        kind: "host.disk",
        subject: "/data".into(),
        what: "disk /data".into(),
        used,
        limit: Some(100.0 * GIB),
        unit: Unit::Bytes,
        table: "Disks",
        key: "/data".into(),
    }
}

/// A small deterministic noise in [-1, 1] (no RNG dependency, same run every time).
fn noise(i: u64) -> f64 {
    let x = i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((x >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
}

#[test]
fn a_linear_history_forecasts_within_five_percent_of_the_truth() {
    // 40 GiB used of 100, growing 1 GiB an hour, polled every 2 s for 6 h with ±0.3 GiB of
    // noise: the truth is 60 h from the end of the history.
    let mut t = Tracker::default();
    let rate = GIB / 3600.0;
    let polls = 6 * 3600 / 2;
    let mut last = Vec::new();
    for i in 0..=polls {
        let now = T0 + i as f64 * 2.0;
        let used = 34.0 * GIB + rate * (now - T0) + 0.3 * GIB * noise(i);
        last = t.observe(now, &[disk(used)]);
    }
    let f = &last[0];
    let end = T0 + polls as f64 * 2.0;
    let truth = (100.0 * GIB - (34.0 * GIB + rate * (end - T0))) / rate;
    let got = f.full_in_seconds.expect("a forecast");
    assert!(
        (got - truth).abs() / truth < 0.05,
        "forecast {got} s, truth {truth} s ({f:?})"
    );
    assert_eq!(f.state, State::Growing);
    assert!((f.rate_per_second.unwrap() - rate).abs() / rate < 0.05);
    // One point per minute over the window, and the window is said.
    assert!(f.points >= 355 && f.points <= 361, "{}", f.points);
    assert!(f.text.starts_with("full in ~2d"), "{}", f.text);
    assert!(f.text.contains("at the last 5h"), "{}", f.text);
    assert!(f.method.starts_with("least squares over "), "{}", f.method);
    assert_eq!(f.history, "samples");
}

#[test]
fn too_little_history_says_collecting_and_gives_no_time() {
    let mut t = Tracker::default();
    let mut out = Vec::new();
    for i in 0..4 {
        out = t.observe(T0 + i as f64 * 60.0, &[disk(GIB * (10.0 + i as f64))]);
    }
    assert_eq!(out[0].state, State::Collecting);
    assert_eq!(out[0].full_in_seconds, None);
    assert!(
        out[0].text.starts_with("collecting: 4 points"),
        "{}",
        out[0].text
    );
    assert!(points(&out, "host.disk").is_empty());
}

#[test]
fn flat_shrinking_full_and_unlimited_figures() {
    let run = |f: &dyn Fn(f64) -> Figure| {
        let mut t = Tracker::default();
        let mut out = Vec::new();
        for i in 0..30 {
            out = t.observe(T0 + i as f64 * 60.0, &[f(i as f64)]);
        }
        out.remove(0)
    };
    let flat = run(&|_| disk(50.0 * GIB));
    assert_eq!(flat.state, State::Steady);
    assert_eq!(flat.full_in_seconds, None);
    let down = run(&|i| disk((50.0 - i) * GIB));
    assert_eq!(down.state, State::Shrinking);
    assert!(down.text.starts_with("shrinking -"), "{}", down.text);
    let full = run(&|_| disk(100.0 * GIB));
    assert_eq!(full.state, State::Full);
    assert_eq!(full.full_in_seconds, Some(0.0));
    let unlimited = run(&|i| Figure {
        limit: None,
        ..disk((10.0 + i) * GIB)
    });
    assert_eq!(unlimited.state, State::Growing);
    assert_eq!(unlimited.full_in_seconds, None);
    assert!(
        unlimited.text.contains("(no limit known)"),
        "{}",
        unlimited.text
    );
}

#[test]
fn alert_points_carry_seconds_to_full_and_where_to_jump() {
    let mut t = Tracker::default();
    let mut out = Vec::new();
    for i in 0..20 {
        // 1 GiB a minute, 60 GiB left at the end: about an hour.
        out = t.observe(T0 + i as f64 * 60.0, &[disk((21.0 + i as f64) * GIB)]);
    }
    let p = points(&out, "host.disk");
    assert_eq!(p.len(), 1);
    assert!((p[0].value - 3600.0).abs() < 1.0, "{}", p[0].value);
    assert_eq!(p[0].cause, Cause::new("Disks", "/data"));
    assert!(p[0].note.contains("least squares"), "{}", p[0].note);
    let tab = table(&out);
    assert_eq!(tab.rows[0].cells[4].text, "~1h00m");
    assert_eq!(tab.rows[0].cells[4].level, Level::Crit);
}

#[test]
fn backfilled_history_forecasts_at_once() {
    let mut t = Tracker::default();
    let pts: Vec<(f64, f64)> = (0..120)
        .map(|i| (T0 + i as f64 * 60.0, (20.0 + i as f64 / 60.0) * GIB))
        .collect();
    t.backfill("host.disk", "/data", &pts);
    let out = t.observe(T0 + 120.0 * 60.0, &[disk(22.0 * GIB)]);
    assert_eq!(out[0].state, State::Growing);
    assert_eq!(out[0].history, "prometheus+samples");
    let truth = 78.0 * 3600.0;
    let got = out[0].full_in_seconds.unwrap();
    assert!((got - truth).abs() / truth < 0.05, "{got} vs {truth}");
}

#[test]
fn subjects_gone_longer_than_the_window_are_forgotten() {
    let mut t = Tracker::new(3600.0);
    t.observe(T0, &[disk(GIB)]);
    assert!(t.knows("host.disk", "/data"));
    t.observe(T0 + 7200.0, &[]);
    assert!(!t.knows("host.disk", "/data"));
}
