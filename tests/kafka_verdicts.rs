//! Consumer verdicts against the real broker and real clients (rdkafka consumers and
//! producers, Kafka's own tools), judged by `State::ingest` on real polls with a console
//! clock we drive: a `Console` polls the broker through the console's own poller (the
//! batched requests, or librdkafka's per-group ones: `Console::per_group`) and judges each
//! poll at a console time that runs 10× faster than the wall clock (or jumps), so five
//! minutes of `stall_after` pass in thirty seconds.
//!
//! Commit cadences are scaled with the clock: a consumer auto-committing every 3 s of real
//! time commits every 30 s of console time (Kafka Streams' `commit.interval.ms`), one
//! every 6 s every 60 s. The console polls about every 200 ms of real time, 2 s of console
//! time as the console's refresh: 15 and 30 polls between two commits, where the old
//! verdict (ten polls without a commit = STALL) paged.

#[path = "kafka_common/mod.rs"]
mod common;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use opsdeck::alerts::{RuleSet, SourceView, evaluate};
use opsdeck::sources::kafka::admin::Admin;
use opsdeck::sources::kafka::{
    GroupInfo, KafkaGroupRuleSpec, KafkaGroupsSpec, KafkaPoller, KafkaSample, KafkaSpec, LagBasis,
    LagStatus, TABLE_GROUPS, client_config, unix_now,
};
use opsdeck::sources::{Sample, SourceKind, Status};
use opsdeck::views::fmt;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use support::{shared_kafka, unique_name, wait_until};

/// Real polls, judged at a console time we drive.
struct Console {
    poller: KafkaPoller,
    batched: bool,
    rt: tokio::runtime::Runtime,
    started: Instant,
    t0: f64,
    /// Console seconds per real second (0: the clock only moves by `jump`).
    speed: f64,
    jumped: f64,
}

impl Console {
    /// Through the batched requests, as the console polls by default.
    fn new(spec: KafkaSpec, speed: f64) -> Console {
        Console::with(KafkaPoller::new(spec), true, speed)
    }

    /// Through librdkafka's per-group requests, the batched path's fallback.
    fn per_group(spec: KafkaSpec, speed: f64) -> Console {
        Console::with(KafkaPoller::new(spec).per_group_only(), false, speed)
    }

    fn with(poller: KafkaPoller, batched: bool, speed: f64) -> Console {
        Console {
            poller,
            batched,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            started: Instant::now(),
            t0: unix_now(),
            speed,
            jumped: 0.0,
        }
    }

    fn now(&self) -> f64 {
        self.t0 + self.speed * self.started.elapsed().as_secs_f64() + self.jumped
    }

    fn jump(&mut self, secs: f64) {
        self.jumped += secs;
    }

    /// One poll: (console time, sample), read and judged at that time. Probes and configs
    /// every tenth, as the console.
    fn poll(&mut self) -> (f64, KafkaSample) {
        let now = self.now();
        let s = self
            .rt
            .block_on(self.poller.poll_at(&move || now))
            .expect("poll the broker");
        if self.batched {
            assert_eq!(s.offsets_fallback, None, "the batched path read the groups");
        }
        (now, s)
    }
}

fn group<'a>(s: &'a KafkaSample, name: &str) -> Option<&'a GroupInfo> {
    s.groups.iter().find(|g| g.name == name)
}

/// Rules that fire on `s`, as "rule subject".
fn alerts(s: &KafkaSample) -> Vec<String> {
    let sample = Sample::Kafka(Box::new(s.clone()));
    evaluate(
        &RuleSet::default(),
        [SourceView {
            kind: SourceKind::Kafka,
            name: "k",
            status: &Status::Ok,
            sample: Some(&sample),
        }],
    )
    .into_iter()
    .map(|a| format!("{} {}", a.rule, a.subject))
    .collect()
}

/// Writes `batch` records to every partition of `topic` every 100 ms, with a burst of 200
/// every 2 s, until dropped.
struct Writer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Writer {
    fn start(bootstrap: &str, topic: &str, partitions: i32, batch: usize) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let (b, t, s) = (bootstrap.to_string(), topic.to_string(), stop.clone());
        let handle = std::thread::spawn(move || {
            let p: BaseProducer = ClientConfig::new()
                .set("bootstrap.servers", &b)
                .set("linger.ms", "5")
                .create()
                .expect("producer");
            let mut tick = 0u64;
            while !s.load(Ordering::Relaxed) {
                let n = if tick.is_multiple_of(20) { 200 } else { batch };
                for part in 0..partitions {
                    for _ in 0..n {
                        let rec = BaseRecord::<(), str>::to(&t).partition(part).payload("x");
                        if p.send(rec).is_err() {
                            p.poll(Duration::from_millis(10));
                        }
                    }
                }
                p.poll(Duration::ZERO);
                tick += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = p.flush(Duration::from_secs(10));
        });
        Writer {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A subscribed consumer (a group member) reading everything. `auto_commit_ms`: librdkafka
/// auto-commits at that interval; None: it commits itself every 3 s while `committing`.
struct Member {
    stop: Arc<AtomicBool>,
    committing: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Member {
    fn start(bootstrap: &str, group: &str, topic: &str, auto_commit_ms: Option<u64>) -> Member {
        let stop = Arc::new(AtomicBool::new(false));
        let committing = Arc::new(AtomicBool::new(true));
        let (b, g, t) = (bootstrap.to_string(), group.to_string(), topic.to_string());
        let (s, com) = (stop.clone(), committing.clone());
        let handle = std::thread::spawn(move || {
            let mut cfg = ClientConfig::new();
            cfg.set("bootstrap.servers", &b)
                .set("group.id", &g)
                .set("auto.offset.reset", "earliest")
                .set("session.timeout.ms", "10000");
            match auto_commit_ms {
                Some(ms) => cfg
                    .set("enable.auto.commit", "true")
                    .set("auto.commit.interval.ms", ms.to_string()),
                None => cfg.set("enable.auto.commit", "false"),
            };
            let c: BaseConsumer = cfg.create().expect("consumer");
            c.subscribe(&[&t]).expect("subscribe");
            let mut last_commit = Instant::now();
            while !s.load(Ordering::Relaxed) {
                let _ = c.poll(Duration::from_millis(100));
                if auto_commit_ms.is_none()
                    && com.load(Ordering::Relaxed)
                    && last_commit.elapsed() >= Duration::from_secs(3)
                {
                    let _ = c.commit_consumer_state(CommitMode::Sync);
                    last_commit = Instant::now();
                }
            }
            // Dropping the consumer leaves the group.
        });
        Member {
            stop,
            committing,
            handle: Some(handle),
        }
    }

    fn leave(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Waits until `group` has members and a committed offset on every partition of `topic`.
fn wait_joined_and_committed(bootstrap: &str, group_name: &str, parts: usize) {
    let mut c = Console::new(spec(bootstrap), 1.0);
    wait_until(
        &format!("{group_name} to join and commit"),
        Duration::from_secs(60),
        || {
            let (_, s) = c.poll();
            group(&s, group_name)
                .filter(|g| {
                    !g.members.is_empty()
                        && g.partitions
                            .iter()
                            .filter(|p| p.committed.is_some())
                            .count()
                            == parts
                })
                .map(|_| ())
        },
    );
}

/// One poll of one group: console time, committed offsets, lag, status, judging, reason.
type Seen = (f64, Vec<Option<i64>>, i64, LagStatus, bool, String);

#[test]
fn consumers_committing_every_30s_and_60s_stay_ok_whatever_happens_between_commits() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("streams");
    kafka.create_topic(&topic, 2);
    let _writer = Writer::start(&b, &topic, 2, 5);
    let (g30, g60) = (unique_name("every30s"), unique_name("every60s"));
    let _m30 = Member::start(&b, &g30, &topic, Some(3000));
    let _m60 = Member::start(&b, &g60, &topic, Some(6000));
    wait_joined_and_committed(&b, &g30, 2);
    wait_joined_and_committed(&b, &g60, 2);

    let mut c = Console::new(spec(&b), 10.0);
    let start = c.now();
    let mut seen: Vec<Vec<Seen>> = vec![Vec::new(), Vec::new()];
    while c.now() - start < 480.0 {
        let (now, s) = c.poll();
        for (i, name) in [&g30, &g60].iter().enumerate() {
            let g = group(&s, name).unwrap_or_else(|| panic!("{name} listed"));
            seen[i].push((
                now - start,
                g.partitions.iter().map(|p| p.committed).collect(),
                g.total_lag,
                g.status,
                g.judging,
                g.reason.clone(),
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for (i, (name, cadence)) in [(&g30, 30.0), (&g60, 60.0)].into_iter().enumerate() {
        let polls = &seen[i];
        let bad: Vec<_> = polls
            .iter()
            .filter(|p| p.3 != LagStatus::Ok || (p.4 && p.0 >= 310.0))
            .collect();
        assert!(bad.is_empty(), "{name}: {bad:#?}");
        let (_, _, _, _, judging, reason) = polls.last().expect("polled");
        assert!(!judging, "{name} still judging: {reason}");
        assert_eq!(reason, "all partitions OK", "{name}");
        assert!(polls.iter().any(|p| p.4), "{name} was judging at first");
        // The consumers really committed on their cadence, with lag between commits: the
        // verdict had something to get wrong.
        let changes: Vec<f64> = polls
            .windows(2)
            .filter(|w| w[1].1 != w[0].1)
            .map(|w| w[1].0)
            .collect();
        let longest = changes.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        assert!(
            changes.len() as f64 >= 400.0 / cadence && longest >= cadence * 0.8,
            "{name}: commits seen at {changes:?}"
        );
        let lagging_polls = polls.iter().filter(|p| p.2 > 0).count();
        assert!(
            lagging_polls * 2 > polls.len(),
            "{name}: lag > 0 at {lagging_polls} of {} polls",
            polls.len()
        );
    }
}

#[test]
fn a_group_that_stops_committing_turns_stall_then_stop_naming_the_time_since_its_last_commit() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("orders");
    kafka.create_topic(&topic, 1);
    let _writer = Writer::start(&b, &topic, 1, 5);
    let g = unique_name("stuck");
    let mut member = Member::start(&b, &g, &topic, None);
    wait_joined_and_committed(&b, &g, 1);

    let mut c = Console::new(spec(&b), 10.0);
    let start = c.now();
    let mut last = None;
    let mut last_change = start;
    while c.now() - start < 120.0 {
        let (now, s) = c.poll();
        let grp = group(&s, &g).expect("listed");
        assert_eq!(grp.status, LagStatus::Ok, "{}", grp.reason);
        let committed = grp.partitions[0].committed;
        if committed != last {
            last = committed;
            last_change = now;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        last_change > start + 60.0,
        "commits seen until {last_change}"
    );
    // The consumer stays in the group but commits no more.
    member.committing.store(false, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(90);
    let (stalled_at, reason, lag) = loop {
        assert!(Instant::now() < deadline, "never STALL");
        let (now, s) = c.poll();
        let grp = group(&s, &g).expect("listed");
        let p = &grp.partitions[0];
        if p.committed != last {
            // A commit in flight when it stopped.
            last = p.committed;
            last_change = now;
        }
        let idle = now - last_change;
        if grp.status != LagStatus::Ok {
            break (idle, grp.reason.clone(), p.lag.expect("lag"));
        }
        assert!(
            idle < 300.0,
            "OK {idle}s after the last commit: {}",
            grp.reason
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // STALL at the first poll past five minutes, within a few polls of console time.
    assert!(
        (300.0..330.0).contains(&stalled_at),
        "STALL at {stalled_at}"
    );
    assert_eq!(
        reason,
        format!(
            "{topic}[0]: no commit for {}, lag {}, consumers present",
            fmt::secs(stalled_at),
            fmt::thousands(lag)
        )
    );
    // The consumer goes away: STOP, still counting from the same commit.
    member.leave();
    let (idle, why) = wait_until("STOP", Duration::from_secs(60), || {
        let (now, s) = c.poll();
        let grp = group(&s, &g)?;
        (grp.members.is_empty()).then(|| {
            assert_eq!(grp.status, LagStatus::Stop, "{}", grp.reason);
            (now - last_change, grp.reason.clone())
        })
    });
    assert!(
        why.starts_with(&format!(
            "{topic}[0]: no commit for {}, lag ",
            fmt::secs(idle)
        )) && why.ends_with(", no members"),
        "{why}"
    );
}

#[test]
fn abandoned_groups_raise_nothing_whether_first_seen_dead_or_watched_dying() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    // Records written two days ago (CreateTime), the group stopped at offset 3 of 10.
    let old = unique_name("archive");
    kafka.create_topic(&old, 1);
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &b)
        .create()
        .expect("producer");
    let two_days_ago = ((unix_now() - 2.0 * 86_400.0) * 1000.0) as i64;
    for i in 0..10 {
        let payload = format!("m{i}");
        p.send(
            BaseRecord::<(), String>::to(&old)
                .partition(0)
                .payload(&payload)
                .timestamp(two_days_ago + i),
        )
        .expect("send");
    }
    p.flush(Duration::from_secs(10)).expect("flush");
    let dead = unique_name("dead");
    consume_and_commit(&b, &dead, &old, 0, 3);
    // A group excluded by the config is not judged (nor shown).
    let ignored = unique_name("ignored");
    consume_and_commit(&b, &ignored, &old, 0, 3);
    let entry = KafkaSpec {
        groups: KafkaGroupsSpec {
            include: vec![],
            exclude: vec![format!("^{ignored}$")],
        },
        ..spec(&b)
    };
    // The first poll's probe dates the records on both paths (the batched one asks on its
    // own connections).
    let (_, s) = Console::per_group(entry.clone(), 0.0).poll();
    let g = group(&s, &dead).expect("listed");
    assert!(
        g.abandoned && g.status == LagStatus::Ok,
        "per-group path: {g:?}"
    );
    let mut c = Console::new(entry, 0.0);
    let (_, s) = c.poll();
    assert!(group(&s, &ignored).is_none());
    let g = group(&s, &dead).expect("listed");
    assert!(g.abandoned && g.status == LagStatus::Ok, "{g:?}");
    assert_eq!(
        g.reason,
        format!(
            "abandoned: no members, and the oldest unread record of {old}[0] (offset 3) was written over 1d00h ago, so nothing was consumed since; lag 7 (Kafka keeps no commit times: judged from record times)"
        )
    );
    assert!(
        alerts(&s).iter().all(|a| !a.ends_with(&dead)),
        "{:?}",
        alerts(&s)
    );
    let row = s.model().tables[TABLE_GROUPS]
        .rows
        .iter()
        .find(|r| r.key == dead)
        .expect("row")
        .clone();
    assert_eq!(row.cells[7].text, "ABANDONED");

    // Recent records: watched STOP for a day, then abandoned.
    let recent = unique_name("recent");
    kafka.create_topic(&recent, 1);
    produce(&b, &recent, 0, 10);
    let dying = unique_name("dying");
    consume_and_commit(&b, &dying, &recent, 0, 2);
    let (_, s) = c.poll();
    let g = group(&s, &dying).expect("listed");
    assert!(g.judging && !g.abandoned, "{g:?}");
    c.jump(301.0);
    let (_, s) = c.poll();
    let g = group(&s, &dying).expect("listed");
    assert_eq!(g.status, LagStatus::Stop, "{}", g.reason);
    assert!(alerts(&s).contains(&format!("kafka_group_stalled {dying}")));
    c.jump(86_400.0);
    let (_, s) = c.poll();
    let g = group(&s, &dying).expect("listed");
    assert!(g.abandoned && g.status == LagStatus::Ok, "{g:?}");
    assert!(
        g.reason.starts_with("abandoned: no members"),
        "{}",
        g.reason
    );
    assert!(
        alerts(&s).iter().all(|a| !a.ends_with(&dying)),
        "{:?}",
        alerts(&s)
    );
}

#[test]
fn a_quiet_topics_lag_seconds_stay_near_the_truth_after_one_record_arrives() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("quiet");
    kafka.create_topic(&topic, 1);
    produce(&b, &topic, 0, 5);
    let g = unique_name("reader");
    consume_and_commit(&b, &g, &topic, 0, 5);
    let mut c = Console::new(spec(&b), 0.0);
    // An hour of silence, polled every 10 minutes, then every 2 s.
    for _ in 0..6 {
        let (_, s) = c.poll();
        assert_eq!(group(&s, &g).expect("listed").lag_seconds, Some(0.0));
        c.jump(600.0);
    }
    for _ in 0..2 {
        c.poll();
        c.jump(2.0);
    }
    produce(&b, &topic, 0, 1);
    // The first poll to see it, then one refresh later.
    let (_, s) = c.poll();
    let first = group(&s, &g).expect("listed").lag_seconds.expect("known");
    c.jump(2.0);
    let (_, s) = c.poll();
    let grp = group(&s, &g).expect("listed");
    assert_eq!(grp.total_lag, 1);
    let then = grp.lag_seconds.expect("known");
    // Written between the last poll that saw 5 and the first that saw 6: 2 s apart.
    assert!(first <= 2.0, "{first}");
    assert!(
        (2.0..=4.0).contains(&then),
        "{then} s behind for one new record"
    );
    assert_eq!(grp.status, LagStatus::Ok, "{}", grp.reason);
}

#[test]
fn a_committed_offset_below_the_log_start_is_flagged_with_the_records_lost() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("retained");
    kafka.create_topic(&topic, 1);
    produce(&b, &topic, 0, 100);
    let behind = unique_name("behind");
    consume_and_commit(&b, &behind, &topic, 0, 10);
    // Retention deletes 0..60 (as kafka-delete-records would).
    let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
        ClientConfig::new()
            .set("bootstrap.servers", &b)
            .create()
            .expect("admin");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(60))
        .expect("tpl");
    let res = futures::executor::block_on(
        admin.delete_records(&tpl, &rdkafka::admin::AdminOptions::new()),
    )
    .expect("delete records");
    assert!(res.elements().iter().all(|e| e.error().is_ok()), "{res:?}");
    // A group committed past the end (the log was truncated under it).
    let ahead = unique_name("ahead");
    let ours = Admin::new(
        &futures::executor::block_on(client_config(&spec(&b))).expect("config"),
        Duration::from_secs(10),
    )
    .expect("admin");
    ours.alter_group_offsets(&ahead, &[(topic.clone(), 0, 500)])
        .expect("commit 500");

    let mut c = Console::new(spec(&b), 0.0);
    let (_, s) = c.poll();
    let g = group(&s, &behind).expect("listed");
    let p = &g.partitions[0];
    assert_eq!(
        (p.low, p.committed, p.high),
        (Some(60), Some(10), Some(100))
    );
    assert_eq!((p.lost_records, g.lost_records), (50, 50));
    assert_eq!(p.lag, Some(90));
    // Kafka's own tool counts the same lag (it does not know the records are gone).
    let out = kafka.consumer_groups(&["--describe", "--group", &behind]);
    assert_eq!(tool_lags(&out, &topic), vec![(0, 90)], "{out}");
    let d = s.detail(TABLE_GROUPS, &behind).expect("detail");
    assert!(
        d.lines.iter().any(|l| l.iter().any(|c| c.text
            == "data loss: 50 records were deleted before the group read them (committed below the log start)")),
        "{:?}",
        d.lines
    );
    let g = group(&s, &ahead).expect("listed");
    assert_eq!(g.ahead_partitions, 1);
    assert_eq!(
        (g.partitions[0].ahead_by, g.partitions[0].lag),
        (400, Some(0))
    );
    // The group ahead of the log is caught up (lag 0), so judged at once: critical.
    let a = alerts(&s);
    assert!(
        a.contains(&format!("kafka_offsets_ahead_of_log {ahead}")),
        "{a:?}"
    );
    // The one behind is judging on first sight: its lost records raise nothing yet. The
    // records it points at were deleted minutes ago, so nothing proves it abandoned.
    let g = group(&s, &behind).expect("listed");
    assert!(g.judging && !g.abandoned, "{g:?}");
    assert!(a.iter().all(|x| !x.ends_with(&behind)), "{a:?}");
    // Watched for stall_after without a commit: the records lost page, with the stop.
    c.jump(301.0);
    let (_, s) = c.poll();
    let a = alerts(&s);
    for rule in ["kafka_records_lost", "kafka_group_stalled"] {
        assert!(a.contains(&format!("{rule} {behind}")), "{rule}: {a:?}");
    }
}

/// Consumes `topic[0]` with isolation.level=read_committed until nothing more comes for
/// 2 s, commits its position as `group`, and returns it.
fn read_committed_catch_up(bootstrap: &str, group: &str, topic: &str) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("tpl");
    c.assign(&tpl).expect("assign");
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(2) {
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            m.expect("consume");
            quiet = Instant::now();
        }
    }
    let pos = c.position().expect("position");
    let off = match pos.elements()[0].offset() {
        Offset::Offset(o) => o,
        other => panic!("no position: {other:?}"),
    };
    c.commit(&pos, CommitMode::Sync).expect("commit");
    off
}

#[test]
fn transactions_open_and_aborted_are_measured_against_the_last_stable_offset() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("payments");
    kafka.create_topic(&topic, 1);
    let tx: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &b)
        .set("transactional.id", unique_name("tx"))
        .create()
        .expect("transactional producer");
    let t = Duration::from_secs(30);
    tx.init_transactions(t).expect("init transactions");
    let send = |n: usize| {
        for i in 0..n {
            let payload = format!("m{i}");
            tx.send(
                BaseRecord::<(), String>::to(&topic)
                    .partition(0)
                    .payload(&payload),
            )
            .expect("send");
        }
        tx.flush(t).expect("flush");
    };
    tx.begin_transaction().expect("begin");
    send(5); // 0..5, commit marker at 5
    tx.commit_transaction(t).expect("commit");
    tx.begin_transaction().expect("begin");
    send(3); // 6..9 aborted, marker at 9
    tx.abort_transaction(t).expect("abort");
    tx.begin_transaction().expect("begin");
    send(4); // 10..14 left open
    let g = unique_name("eos");
    let reached = read_committed_catch_up(&b, &g, &topic);

    // The last stable offset as a read_committed client sees it, and the high watermark.
    let wm = |iso: &str| {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", unique_name("probe"))
            .set("isolation.level", iso)
            .create()
            .expect("consumer");
        c.fetch_watermarks(&topic, 0, Duration::from_secs(10))
            .expect("watermarks")
            .1
    };
    let (lso, hw) = (wm("read_committed"), wm("read_uncommitted"));
    assert_eq!(
        (lso, hw),
        (10, 14),
        "3 records + markers below, 4 open above"
    );
    assert_eq!(reached, lso, "a read_committed consumer stops at the LSO");

    // Both paths read the last stable offset (the batched one on its own connections).
    let (_, f) = Console::per_group(spec(&b), 0.0).poll();
    let p = &group(&f, &g).expect("listed").partitions[0];
    assert_eq!((p.high, p.stable), (Some(hw), Some(lso)), "per-group path");
    let mut unknown = Console::new(spec(&b), 0.0);
    let mut rc = Console::new(
        KafkaSpec {
            group_rules: vec![KafkaGroupRuleSpec {
                pattern: format!("^{g}$"),
                isolation: Some("read_committed".into()),
                ..Default::default()
            }],
            ..spec(&b)
        },
        0.0,
    );
    for _ in 0..4 {
        let (_, s) = unknown.poll();
        let grp = group(&s, &g).expect("listed");
        let p = &grp.partitions[0];
        assert_eq!((p.high, p.stable), (Some(hw), Some(lso)));
        // Unknown isolation: LAG as Kafka's tool (to the high watermark), judged on the
        // last stable offset: an open transaction never stalls a caught-up consumer.
        assert_eq!((grp.lag_basis, grp.total_lag), (LagBasis::HighWatermark, 4));
        assert_eq!((grp.total_stable_lag, p.stable_lag), (0, Some(0)));
        assert_eq!(grp.status, LagStatus::Ok, "{}", grp.reason);
        assert_eq!(
            p.reason,
            "caught up (4 above the last stable offset: open transactions)"
        );
        let (_, s) = rc.poll();
        let grp = group(&s, &g).expect("listed");
        assert_eq!(
            (grp.lag_basis, grp.total_lag),
            (LagBasis::LastStableOffset, 0)
        );
        unknown.jump(120.0);
        rc.jump(120.0);
    }
    // The open transaction aborts: the LSO jumps to the end; the group, not moved, lags.
    tx.abort_transaction(t).expect("abort");
    let (_, s) = wait_until("LSO at the end", Duration::from_secs(30), || {
        let r = unknown.poll();
        let p = &group(&r.1, &g)?.partitions[0];
        (p.stable == p.high).then_some(r)
    });
    let grp = group(&s, &g).expect("listed");
    assert_eq!((grp.total_lag, grp.total_stable_lag), (5, 5));
    // Caught up again: nothing of the aborted records or markers is left as lag.
    let reached = read_committed_catch_up(&b, &g, &topic);
    let (_, s) = unknown.poll();
    let grp = group(&s, &g).expect("listed");
    assert_eq!(grp.partitions[0].committed, Some(reached));
    assert_eq!(
        (grp.total_lag, grp.total_stable_lag, grp.status),
        (0, 0, LagStatus::Ok),
        "{}",
        grp.reason
    );
}
