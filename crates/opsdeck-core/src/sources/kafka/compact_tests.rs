//! The lag store's results, poll after poll, against a recording made before it was made
//! compact (interned names, shared last states, smaller windows' storage): every sample of a
//! scripted run serialises to the same JSON, byte for byte. The script walks every verdict
//! and its edges: consuming, a lag that rises, stalled, stopped then abandoned, a rewind, a
//! transactional topic read_committed, assigned and never committed, offsets of a topic no
//! member reads, a missing watermark, an unanswered group, a broker that did not list its
//! groups, a timestamp probe and a topic that loses partitions.
//!
//! `OPSDECK_WRITE_GOLDEN=1 cargo test -p opsdeck-core --lib compact_tests` records it again
//! (only when the verdicts are meant to change).

use std::collections::HashMap;

use super::*;

const GOLDEN: &str = include_str!("testdata/verdicts_golden.txt");

fn spec() -> KafkaSpec {
    KafkaSpec {
        name: "k".into(),
        stall_after: Some("2m".into()),
        abandoned_after: Some("15m".into()),
        group_rules: vec![KafkaGroupRuleSpec {
            pattern: "^txn$".into(),
            isolation: Some("read_committed".into()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn member(id: &str, assignment: &[(&str, i32)]) -> admin::Member {
    admin::Member {
        client_id: id.into(),
        consumer_id: format!("{id}-1"),
        host: "/10.0.0.7".into(),
        assignment: assignment
            .iter()
            .map(|(t, p)| (t.to_string(), *p))
            .collect(),
    }
}

/// The cluster's answer at poll `n` (10 s apart).
fn raw(n: i64) -> Raw {
    // orders loses its last partition from poll 50 (recreated smaller).
    let orders_parts = if n >= 50 { 3 } else { 4 };
    let mut topics = vec![
        (
            "orders".to_string(),
            false,
            (0..orders_parts)
                .map(|p| (p, 1, vec![1, 2], if n == 12 { vec![1] } else { vec![1, 2] }))
                .collect::<Vec<_>>(),
        ),
        (
            "payments".to_string(),
            false,
            (0..2).map(|p| (p, 2, vec![2], vec![2])).collect(),
        ),
        (
            "__consumer_offsets".to_string(),
            true,
            (0..2).map(|p| (p, 1, vec![1], vec![1])).collect(),
        ),
    ];
    topics.reverse();
    let high_orders = |p: i32| 1000 + 40 * n + 7 * p as i64;
    let mut watermarks = admin::Watermarks::new();
    for p in 0..orders_parts {
        // orders[2] has no watermark in polls 20 and 21.
        if p == 2 && (n == 20 || n == 21) {
            continue;
        }
        watermarks.insert(("orders".into(), p), (100 + n, high_orders(p)));
    }
    // payments is quiet for a while (polls 30..40), then bursts.
    let pay_high = |p: i32| 500 + 10 * n.min(30) + if n >= 40 { 300 } else { 0 } + p as i64;
    for p in 0..2 {
        watermarks.insert(("payments".into(), p), (0, pay_high(p)));
    }
    for p in 0..2 {
        watermarks.insert(("__consumer_offsets".into(), p), (0, 50));
    }
    // An open transaction on payments[0] between polls 10 and 25.
    let mut stable = HashMap::new();
    for p in 0..2 {
        let h = pay_high(p);
        let s = if p == 0 && (10..25).contains(&n) {
            h - 12
        } else {
            h
        };
        stable.insert(("payments".to_string(), p), s);
    }
    let mut groups = Vec::new();
    let mut offsets = HashMap::new();
    let mut add = |name: &str,
                   members: Vec<admin::Member>,
                   commits: Vec<((&str, i32), i64)>,
                   answer: Result<(), String>| {
        groups.push(admin::GroupDescription {
            name: name.into(),
            state: if members.is_empty() {
                "Empty"
            } else {
                "Stable"
            }
            .into(),
            error: None,
            members,
        });
        offsets.insert(
            name.to_string(),
            answer.map(|()| {
                commits
                    .into_iter()
                    .map(|((t, p), c)| ((t.to_string(), p), c))
                    .collect()
            }),
        );
    };
    // Described with an error once (at poll 7); answered otherwise.
    if n == 7 {
        add("flaky", vec![], vec![], Err("unused".into()));
    } else {
        add("flaky", vec![], vec![(("orders", 0), 1000)], Ok(()));
    }
    let all_orders: Vec<(&str, i32)> = (0..orders_parts).map(|p| ("orders", p)).collect();
    // live: commits every poll, a few records behind; its offsets fail at poll 25.
    add(
        "live",
        vec![member("live-a", &all_orders)],
        all_orders
            .iter()
            .map(|&(t, p)| ((t, p), high_orders(p) - (n + p as i64) % 4))
            .collect(),
        if n == 25 {
            Err("coordinator not available".into())
        } else {
            Ok(())
        },
    );
    // slow: commits every 3rd poll, falling further behind each time.
    let slow_at = n - n % 3;
    add(
        "slow",
        vec![member("slow-a", &all_orders)],
        all_orders
            .iter()
            .map(|&(t, p)| ((t, p), 1000 + 25 * slow_at + p as i64))
            .collect(),
        Ok(()),
    );
    // stuck: members, committed offsets never move.
    add(
        "stuck",
        vec![member("stuck-a", &[("orders", 0), ("orders", 1)])],
        vec![(("orders", 0), 1000), (("orders", 1), 1003)],
        Ok(()),
    );
    // gone: no members, never moves: STOP, then abandoned after 15 min. Not listed at poll
    // 33 (a broker's listing failed), so it is shown stale.
    if n != 33 {
        add(
            "gone",
            vec![],
            vec![(("orders", 0), 900), (("orders", 3), 950)],
            Ok(()),
        );
    }
    // rewind: consumes, then its offsets are reset back at poll 15.
    let rw = if n >= 15 { 1000 } else { high_orders(1) };
    add(
        "rewind",
        vec![member("rw-a", &[("orders", 1)])],
        vec![(("orders", 1), rw + if n >= 15 { 10 * (n - 15) } else { 0 })],
        Ok(()),
    );
    // txn: read_committed on payments, current to the last stable offset.
    add(
        "txn",
        vec![member("txn-a", &[("payments", 0), ("payments", 1)])],
        (0..2)
            .map(|p| (("payments", p), stable[&("payments".to_string(), p)]))
            .collect(),
        Ok(()),
    );
    // fresh: assigned payments, never commits.
    add(
        "fresh",
        vec![member("fresh-a", &[("payments", 0), ("payments", 1)])],
        vec![],
        Ok(()),
    );
    // moved: reads orders now; offsets left on payments from an earlier subscription.
    add(
        "moved",
        vec![member("moved-a", &[("orders", 2)])],
        vec![(("orders", 2), high_orders(2)), (("payments", 1), 400)],
        Ok(()),
    );
    // ahead: committed above the high watermark (a truncated log), and below the log start.
    add(
        "ahead",
        vec![member("ahead-a", &[("orders", 0), ("orders", 1)])],
        vec![(("orders", 0), high_orders(0) + 500), (("orders", 1), 50)],
        Ok(()),
    );
    if n == 7
        && let Some(g) = groups.iter_mut().find(|g| g.name == "flaky")
    {
        g.state = String::new();
        g.error = Some("not in the describe answer".into());
    }
    let probes = if n % 10 == 0 {
        vec![Probe {
            abandoned_after: 900.0,
            before: t(n) - 900.0,
            offsets: [(("orders".to_string(), 0), 1000 + 40 * (n - 90).max(0))]
                .into_iter()
                .collect(),
        }]
    } else {
        Vec::new()
    };
    let configs = (n % 10 == 0).then(|| {
        [(
            "orders".to_string(),
            [
                ("retention.ms".to_string(), "604800000".to_string()),
                ("cleanup.policy".to_string(), "delete".to_string()),
                ("min.insync.replicas".to_string(), "2".to_string()),
            ]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect()
    });
    Raw {
        cluster: Some(admin::Cluster {
            nodes: vec![
                admin::Node {
                    id: 1,
                    host: "b1".into(),
                    port: 9092,
                    rack: Some("a".into()),
                },
                admin::Node {
                    id: 2,
                    host: "b2".into(),
                    port: 9092,
                    rack: None,
                },
            ],
            controller: Some(1),
        }),
        topics,
        brokers: vec![(2, "b2".into(), 9092), (1, "b1".into(), 9092)],
        watermarks,
        group_names: groups.iter().map(|g| g.name.clone()).collect(),
        groups,
        listing_errors: if n == 33 {
            vec!["b2:9092: timed out".into()]
        } else {
            Vec::new()
        },
        offsets,
        stable,
        probes,
        offsets_fallback: None,
        configs,
        elapsed: std::time::Duration::from_millis(40),
        // Balance reads (log dirs, reassignments) are not part of the lag store.
        ..Default::default()
    }
}

fn t(n: i64) -> f64 {
    1_700_000_000.0 + 10.0 * n as f64
}

/// Every sample of the script, one JSON line each.
fn run() -> Vec<String> {
    let spec = spec();
    let mut st = State::with_policy(
        Windows::default(),
        Policy::from_spec(&spec).expect("policy"),
    );
    (0..100)
        .map(|n| {
            let s = st.ingest(raw(n), t(n), n >= 60);
            let mut v = serde_json::to_value(&s).expect("json");
            // The balance view, capacity and notes came after the recording and are not the lag
            // store's: the recording covers everything else of the sample.
            if let Some(o) = v.as_object_mut() {
                o.remove("balance");
                o.remove("capacity");
                o.remove("notes");
            }
            serde_json::to_string(&v).expect("json")
        })
        .collect()
}

/// FNV-1a, 64 bits: stable across builds and platforms.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Polls recorded in full (the others by their hash).
const WHOLE: &[usize] = &[21, 33, 99];

/// The recording: one line per poll, `n hash`, then the whole JSON of `WHOLE` polls as
/// `n json` lines.
fn record(lines: &[String]) -> String {
    let mut out = String::new();
    for (n, l) in lines.iter().enumerate() {
        out.push_str(&format!("{n} {:016x}\n", fnv(l)));
    }
    for &n in WHOLE {
        out.push_str(&format!("{n} {}\n", lines[n]));
    }
    out
}

#[test]
fn the_compact_lag_store_judges_every_poll_as_before() {
    let lines = run();
    if std::env::var_os("OPSDECK_WRITE_GOLDEN").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/sources/kafka/testdata/verdicts_golden.txt"
        );
        std::fs::write(path, record(&lines)).expect("write the golden file");
        return;
    }
    let mut hashes = HashMap::new();
    let mut whole = HashMap::new();
    for l in GOLDEN.lines() {
        let (n, rest) = l.split_once(' ').expect("n value");
        let n: usize = n.parse().expect("poll number");
        if rest.starts_with('{') {
            whole.insert(n, rest);
        } else {
            hashes.insert(n, rest);
        }
    }
    assert_eq!(hashes.len(), lines.len(), "polls recorded");
    for &n in WHOLE {
        let want: serde_json::Value = serde_json::from_str(whole[&n]).expect("golden json");
        let got: serde_json::Value = serde_json::from_str(&lines[n]).expect("json");
        assert_eq!(want, got, "poll {n} differs from the recording");
    }
    for (n, l) in lines.iter().enumerate() {
        assert_eq!(
            hashes[&n],
            format!("{:016x}", fnv(l)),
            "poll {n} differs from the recording; it is now:\n{l}"
        );
    }
}
