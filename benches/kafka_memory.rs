//! Benchmark (not a test): what the Kafka source keeps in memory at a given size, without a
//! broker. A synthetic poll result (`Raw`) of BENCH_TOPICS × 20 partitions and BENCH_GROUPS
//! groups each committing on 4 topics goes through `State::ingest` poll after poll (2 s
//! apart, some groups consuming, some stopped, some caught up), and a counting allocator
//! says how many heap bytes are live: the poller's windows, one sample, its pane model, and
//! the peak of a poll. Run: `cargo bench --bench kafka_memory` (BENCH_TOPICS=500
//! BENCH_GROUPS=1000 for 10k partitions / 1k groups; BENCH_POLLS, default 70, covers the
//! windows filling up: 60 watermark points, `stall_after` 120 s of commit points).
//! `BENCH_SWEEP=1` runs a range of sizes instead and prints how cost grows, with a fit of
//! bytes (and CPU) per partition and per group partition.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

use opsdeck::sources::kafka::{Raw, State, Windows, admin};
use opsdeck::sources::{Sample, System as _};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size() as isize, Relaxed) + l.size() as isize;
            PEAK.fetch_max(now.max(0) as usize, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size() as isize, Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            let now = LIVE.fetch_add(new as isize - l.size() as isize, Relaxed) + new as isize
                - l.size() as isize;
            PEAK.fetch_max(now.max(0) as usize, Relaxed);
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

fn live() -> usize {
    LIVE.load(Relaxed).max(0) as usize
}

fn mib(b: usize) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PARTS: i32 = 20;
const TOPICS_PER_GROUP: usize = 4;

/// One poll's answer at poll `n`: producers write 5 records per partition per poll; a third
/// of the groups consume and commit every poll (lag 0..4), a third stopped long ago, a third
/// commit every 15th poll.
fn raw(topics: &[String], groups: usize, n: i64) -> Raw {
    let mut watermarks = admin::Watermarks::new();
    let mut parts_of = Vec::new();
    for t in topics {
        let ps: Vec<_> = (0..PARTS).map(|p| (p, 1, vec![1], vec![1])).collect();
        for p in 0..PARTS {
            watermarks.insert((t.clone(), p), (0, 1000 + 5 * n + p as i64));
        }
        parts_of.push((t.clone(), false, ps));
    }
    let mut descs = Vec::new();
    let mut offsets = HashMap::new();
    for g in 0..groups {
        let name = format!("bench_group_{g:04}");
        let mut committed = admin::Committed::new();
        for k in 0..TOPICS_PER_GROUP {
            let t = &topics[(g + k * 7) % topics.len()];
            for p in 0..PARTS {
                let high = 1000 + 5 * n + p as i64;
                let c = match g % 3 {
                    0 => high - (g as i64 + p as i64) % 5,
                    1 => 900,
                    _ => 1000 + 5 * (n - n % 15) + p as i64 - 3,
                };
                committed.insert((t.clone(), p), c);
            }
        }
        let members = if g % 3 == 1 {
            Vec::new()
        } else {
            vec![admin::Member {
                client_id: format!("consumer-{g}"),
                consumer_id: format!("consumer-{g}-5f0c8a8e-9d3c-4b1e-8f11-0a6c1b2d3e4f"),
                host: "/10.1.2.3".into(),
                assignment: (0..TOPICS_PER_GROUP)
                    .flat_map(|k| {
                        let t = topics[(g + k * 7) % topics.len()].clone();
                        (0..PARTS).map(move |p| (t.clone(), p))
                    })
                    .collect(),
            }]
        };
        descs.push(admin::GroupDescription {
            name: name.clone(),
            state: if members.is_empty() {
                "Empty"
            } else {
                "Stable"
            }
            .into(),
            error: None,
            members,
        });
        offsets.insert(name, Ok(committed));
    }
    Raw {
        cluster: Some(admin::Cluster {
            nodes: vec![admin::Node {
                id: 1,
                host: "127.0.0.1".into(),
                port: 9092,
                rack: None,
            }],
            controller: Some(1),
        }),
        topics: parts_of,
        brokers: vec![(1, "127.0.0.1".into(), 9092)],
        watermarks,
        groups: descs,
        offsets,
        ..Default::default()
    }
}

/// CPU time of the calling thread (so other processes on a shared machine barely move it).
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// What one run at one size measured.
struct Run {
    partitions: usize,
    groups: usize,
    group_partitions: usize,
    state: usize,
    with_sample: usize,
    held: usize,
    peak: usize,
    /// The poll's answer (`Raw`) as the source receives it.
    raw: usize,
    /// Ingest + model, CPU seconds per poll.
    cpu: f64,
}

fn run(topics_n: usize, groups: usize, polls: i64) -> Run {
    let topics: Vec<String> = (0..topics_n).map(|i| format!("bench_{i:03}")).collect();
    let base = live();
    let mut state = State::new(Windows::default());
    let mut kept: Option<(Sample, opsdeck::views::PaneModel)> = None;
    let mut poll_peak = 0usize;
    let mut shape = (0, 0);
    let t0 = 1_800_000_000.0;
    let mut cpu = 0.0;
    let mut raw_bytes = 0;
    for n in 0..polls {
        let before_raw = live();
        let r = raw(&topics, groups, n);
        raw_bytes = live() - before_raw;
        // What the console holds between polls: the poller's state and the last sample
        // with its model. A poll adds its raw answer, the new sample and model.
        let before = live();
        PEAK.store(before, Relaxed);
        let started = thread_cpu();
        let s = state.ingest(r, t0 + 2.0 * n as f64, false);
        let m = opsdeck::sources::kafka::Kafka::model(&s);
        cpu += thread_cpu() - started;
        shape = (
            s.groups.len(),
            s.groups.iter().map(|g| g.partitions.len()).sum::<usize>(),
        );
        // The new sample replaces the old one in the console's state.
        kept = Some((Sample::from(s), m));
        poll_peak = poll_peak.max(PEAK.load(Relaxed) - base);
    }
    let held = live() - base;
    let (sample, model) = kept.take().expect("polled");
    drop(model);
    let with_sample = live() - base;
    drop(sample);
    let state_only = live() - base;
    drop(state);
    Run {
        partitions: topics_n * PARTS as usize,
        groups: shape.0,
        group_partitions: shape.1,
        state: state_only,
        with_sample,
        held,
        peak: poll_peak,
        raw: raw_bytes,
        cpu: cpu / polls as f64,
    }
}

/// Least squares of `y = a·x1 + b·x2 + c`: (a, b, c).
fn fit(rows: &[(f64, f64, f64)]) -> (f64, f64, f64) {
    // Normal equations, 3 × 3, solved by Cramer's rule.
    let mut m = [[0.0f64; 3]; 3];
    let mut v = [0.0f64; 3];
    for &(x1, x2, y) in rows {
        let x = [x1, x2, 1.0];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += x[i] * x[j];
            }
            v[i] += x[i] * y;
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    let col = |k: usize| {
        let mut c = m;
        for i in 0..3 {
            c[i][k] = v[i];
        }
        det(&c) / d
    };
    (col(0), col(1), col(2))
}

/// BENCH_SWEEP=1: the table of how cost grows with partitions and groups.
fn sweep(polls: i64) {
    // (topics of 20 partitions, groups): 1k/100, 5k/500, 10k/1k, 20k/2k, and the group
    // count held low or the partitions held at 10k, to tell per-partition cost from
    // per-group-partition cost.
    let sizes = [
        (50, 100),
        (250, 500),
        (500, 1000),
        (1000, 2000),
        (500, 100),
        (1000, 100),
        (500, 2000),
    ];
    println!(
        "How cost grows ({polls} polls each, 4 topics a group, ingest + model CPU of the polling thread):\n"
    );
    println!(
        "| partitions | groups | group partitions | CPU per poll | µs per group partition | held (state + sample + model) | peak during a poll |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut runs = Vec::new();
    for (t, g) in sizes {
        let r = run(t, g, polls);
        println!(
            "| {} | {} | {} | {:.0} ms | {:.2} | {} | {} |",
            r.partitions,
            r.groups,
            r.group_partitions,
            r.cpu * 1e3,
            r.cpu * 1e6 / r.group_partitions.max(1) as f64,
            mib(r.held),
            mib(r.peak)
        );
        runs.push(r);
    }
    let xs = |f: &dyn Fn(&Run) -> f64| -> Vec<(f64, f64, f64)> {
        runs.iter()
            .map(|r| (r.partitions as f64, r.group_partitions as f64, f(r)))
            .collect()
    };
    for (what, rows) in [
        ("held", xs(&|r| r.held as f64)),
        ("peak", xs(&|r| r.peak as f64)),
        ("CPU", xs(&|r| r.cpu * 1e9)),
    ] {
        let (a, b, c) = fit(&rows);
        let worst = rows
            .iter()
            .map(|&(x1, x2, y)| ((a * x1 + b * x2 + c) - y).abs() / y.max(1.0))
            .fold(0.0f64, f64::max);
        let unit = if what == "CPU" { "ns" } else { "B" };
        println!(
            "\n{what}: {a:.0} {unit} per partition + {b:.0} {unit} per group partition + {c:.0} {unit}; the fit is off by at most {:.1}% at any size",
            worst * 100.0
        );
    }
}

fn main() {
    let polls = env_usize("BENCH_POLLS", 70) as i64;
    if std::env::var_os("BENCH_SWEEP").is_some() {
        sweep(polls);
        return;
    }
    let topics_n = env_usize("BENCH_TOPICS", 500);
    let groups = env_usize("BENCH_GROUPS", 1000);
    let r = run(topics_n, groups, polls);
    let gp = r.group_partitions.max(1);
    println!(
        "Kafka source memory, {} partitions ({topics_n} topics × {PARTS}), {} groups, {} group-partitions, after {polls} polls:\n",
        r.partitions, r.groups, r.group_partitions
    );
    println!("| what | live heap | per group-partition |");
    println!("|---|---|---|");
    for (what, b) in [
        ("poller state (windows, tracks, last states)", r.state),
        ("+ one sample", r.with_sample),
        ("+ its pane model (what the console holds)", r.held),
        ("the poll's answer (`Raw`, built before ingest)", r.raw),
        (
            "peak during a poll (old sample, raw answer, new sample, models)",
            r.peak,
        ),
    ] {
        println!("| {what} | {} | {} B |", mib(b), b / gp);
    }
    println!(
        "\ningest + model: {:.0} ms of CPU per poll (the polling thread's CPU time, this build, this machine)",
        r.cpu * 1e3
    );
}
