//! The batched groups path (`sources::kafka::wire`) against real brokers: 200 groups read in
//! a handful of requests give exactly what `kafka-consumer-groups --describe --all-groups`
//! prints and what librdkafka's per-group requests return; on the 3-broker cluster a
//! coordinator restarted moves its groups and the next poll still reads them, and the groups
//! of a hung one turn stale in the verdicts; offsets by time and the last stable offsets equal
//! librdkafka's; settings the path cannot honour fall back to the per-group requests, and the
//! sample says so.

#[path = "kafka_common/mod.rs"]
mod common;
mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use opsdeck::sources::kafka::admin::{Admin, GroupDescription};
use opsdeck::sources::kafka::wire::{Batch, Read};
use opsdeck::sources::kafka::{KafkaPoller, State, Windows, client_config, collect, unix_now};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use support::kafka::{CONSUMER_GROUP_COMMAND, SASL_PASSWORD, SASL_USER};
use support::{shared_kafka, unique_name};

/// (group, topic, partition, CURRENT-OFFSET, CONSUMER-ID, HOST, CLIENT-ID) as the tool
/// prints them ("-" for none).
type Row = (String, String, i32, String, String, String, String);

/// (consumer id, client id, host, sorted assignment).
type MemberRow = (String, String, String, Vec<(String, i32)>);

fn commit(bootstrap: &str, group: &str, offsets: &[(&str, i32, i64)]) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for (t, p, o) in offsets {
        tpl.add_partition_offset(t, *p, Offset::Offset(*o))
            .expect("tpl");
    }
    // A topic just created on the 3-broker cluster may not be known yet to the group's
    // coordinator, and a coordinator just started may still be loading its offsets: retry
    // those answers for a while, fail on anything else.
    let retried = ["UnknownTopicOrPartition", "CoordinatorLoadInProgress"];
    let mut tries = 0;
    loop {
        match c.commit(&tpl, CommitMode::Sync) {
            Ok(()) => return,
            Err(e) if tries < 40 && retried.iter().any(|r| e.to_string().contains(r)) => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            Err(e) => panic!("commit {group}: {e}"),
        }
    }
}

/// A member that stays in `group` (subscribed to `topic`) until `stop`; commits `commit`
/// (offset for every assigned partition) once assigned, when given.
fn member(
    bootstrap: &str,
    group: &str,
    topic: &str,
    new_protocol: bool,
    commit: Option<i64>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("client.id", format!("{group}-client"))
        .set("enable.auto.commit", "false");
    if new_protocol {
        cfg.set("group.protocol", "consumer");
    }
    let c: BaseConsumer = cfg.create().expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    std::thread::spawn(move || {
        let mut committed = commit.is_none();
        while !stop.load(Ordering::Relaxed) {
            let _ = c.poll(Duration::from_millis(100));
            if !committed
                && let Ok(a) = c.assignment()
                && a.count() > 0
            {
                let mut tpl = TopicPartitionList::new();
                for e in a.elements() {
                    tpl.add_partition_offset(
                        e.topic(),
                        e.partition(),
                        Offset::Offset(commit.unwrap_or(0)),
                    )
                    .expect("tpl");
                }
                committed = c.commit(&tpl, CommitMode::Sync).is_ok();
            }
        }
        c.unsubscribe();
    })
}

/// Joins `group` and leaves it without committing: an Empty group with no offsets.
fn join_and_leave(bootstrap: &str, group: &str, topic: &str) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    c.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.assignment().map(|a| a.count()).unwrap_or(0) == 0 {
        assert!(
            Instant::now() < deadline,
            "{group} got no assignment in 60 s"
        );
        let _ = c.poll(Duration::from_millis(100));
    }
    c.unsubscribe();
}

/// The tool's rows of groups starting with `prefix`, and every such group it names.
fn tool_rows(out: &str, prefix: &str) -> (BTreeSet<Row>, BTreeSet<String>) {
    let mut rows = BTreeSet::new();
    let mut named = BTreeSet::new();
    for l in out.lines() {
        if let Some(g) = l
            .strip_prefix("Consumer group '")
            .and_then(|r| r.split_once('\''))
            .map(|(g, _)| g)
            .filter(|g| g.starts_with(prefix))
        {
            named.insert(g.to_string());
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 9
            && f[0].starts_with(prefix)
            && let Ok(p) = f[2].parse::<i32>()
        {
            named.insert(f[0].to_string());
            let s = |i: usize| f[i].to_string();
            rows.insert((s(0), s(1), p, s(3), s(6), s(7), s(8)));
        }
    }
    (rows, named)
}

/// The same rows from what a path read: committed partitions and assigned ones.
fn read_rows(
    groups: &[GroupDescription],
    offsets: &HashMap<String, Result<opsdeck::sources::kafka::admin::Committed, String>>,
    prefix: &str,
) -> BTreeSet<Row> {
    let mut rows = BTreeSet::new();
    for d in groups.iter().filter(|d| d.name.starts_with(prefix)) {
        let committed = match offsets.get(&d.name) {
            Some(Ok(c)) => c.clone(),
            other => panic!("{}: offsets {other:?}", d.name),
        };
        let mut owners = HashMap::new();
        for m in &d.members {
            for tp in &m.assignment {
                owners.insert(tp.clone(), m);
            }
        }
        let keys: BTreeSet<(String, i32)> = committed
            .keys()
            .map(|(t, p)| (t.to_string(), p))
            .chain(owners.keys().cloned())
            .collect();
        for k in keys {
            let m = owners.get(&k);
            let or_dash = |s: Option<&String>| s.cloned().unwrap_or_else(|| "-".into());
            rows.insert((
                d.name.clone(),
                k.0.clone(),
                k.1,
                committed
                    .get(&k.0, k.1)
                    .map_or("-".into(), |o| o.to_string()),
                or_dash(m.map(|m| &m.consumer_id)),
                or_dash(m.map(|m| &m.host)),
                or_dash(m.map(|m| &m.client_id)),
            ));
        }
    }
    rows
}

/// (state, members) of each `prefix` group in `--describe --all-groups --state` output.
fn tool_states(out: &str, prefix: &str) -> BTreeMap<String, (String, usize)> {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() >= 5 && f[0].starts_with(prefix) {
                let n = f[f.len() - 1].parse().ok()?;
                Some((f[0].to_string(), (f[f.len() - 2].to_string(), n)))
            } else {
                None
            }
        })
        .collect()
}

fn metadata_brokers(bootstrap: &str) -> Vec<(i32, String, i32)> {
    let a = Admin::new(
        &futures::executor::block_on(client_config(&spec(bootstrap))).expect("config"),
        Duration::from_secs(10),
    )
    .expect("admin");
    a.metadata()
        .expect("metadata")
        .brokers()
        .iter()
        .map(|b| (b.id(), b.host().to_string(), b.port()))
        .collect()
}

fn batch(bootstrap: &str) -> Batch {
    let cfg = futures::executor::block_on(client_config(&spec(bootstrap))).expect("config");
    Batch::new(
        &opsdeck::sources::kafka::wire::properties(&cfg),
        Duration::from_secs(10),
    )
    .expect("plaintext is supported")
}

fn names_with(prefix: &str, read: &Read) -> BTreeSet<String> {
    read.groups
        .iter()
        .filter(|g| g.name.starts_with(prefix))
        .map(|g| g.name.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_groups_equal_kafka_tool_and_per_group_path_for_200_groups() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let prefix = unique_name("wb");
    let (ta, tb, tdel) = (
        format!("{prefix}_a"),
        format!("{prefix}_b"),
        format!("{prefix}_gone"),
    );
    kafka.create_topic(&ta, 3);
    kafka.create_topic(&tb, 2);
    kafka.create_topic(&tdel, 2);
    for (t, n) in [(&ta, 3), (&tb, 2), (&tdel, 2)] {
        for p in 0..n {
            produce(&b, t, p, 5);
        }
    }
    let g = |i: usize| format!("{prefix}_g{i:03}");

    // 0..160 committed (standalone commits, no members); 160..180 also on a topic deleted
    // below; 180..190 joined and left without committing; 190..198 with a member (half of
    // them committed); 198..200 with a KIP-848 (group.protocol=consumer) member.
    let committed: Vec<usize> = (0..180).collect();
    std::thread::scope(|s| {
        for chunk in committed.chunks(23) {
            let (b, ta, tb, tdel, g) = (&b, &ta, &tb, &tdel, &g);
            s.spawn(move || {
                for &i in chunk {
                    let mut offs: Vec<(&str, i32, i64)> =
                        (0..3).map(|p| (ta.as_str(), p, (i % 5) as i64)).collect();
                    if i % 2 == 0 {
                        offs.push((tb.as_str(), 0, 4));
                    }
                    if i >= 160 {
                        offs = vec![(ta.as_str(), 0, 1), (tdel.as_str(), 1, 3)];
                    }
                    commit(b, &g(i), &offs);
                }
            });
        }
        for i in 180..190 {
            let (b, tb, g) = (&b, &tb, &g);
            s.spawn(move || join_and_leave(b, &g(i), tb));
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let members: Vec<JoinHandle<()>> = (190..200)
        .map(|i| {
            let commit = (i % 2 == 0).then_some(2);
            let topic = if i >= 198 { &tb } else { &ta };
            member(&b, &g(i), topic, i >= 198, commit, stop.clone())
        })
        .collect();
    kafka.topics(&["--delete", "--topic", &tdel]);

    let brokers = metadata_brokers(&b);
    let mut wire = batch(&b);
    let all: Vec<String> = (0..200).map(g).collect();
    // Settled: every member assigned, its commit done, the deleted topic's offsets dropped.
    let deadline = Instant::now() + Duration::from_secs(90);
    let read = loop {
        let read = wire.fetch(&brokers, &all).await.expect("batched fetch");
        let members_ok = (190..200).all(|i| {
            read.groups
                .iter()
                .find(|d| d.name == g(i))
                .is_some_and(|d| {
                    d.state == "Stable"
                        && d.members.len() == 1
                        && !d.members[0].assignment.is_empty()
                })
        });
        let commits_ok = (190..198)
            .filter(|i| i % 2 == 0)
            .all(|i| matches!(read.offsets.get(&g(i)), Some(Ok(c)) if c.len() == 3));
        let gone = read.offsets.values().all(|o| {
            o.as_ref()
                .map(|c| c.keys().all(|(t, _)| *t != tdel))
                .unwrap_or(true)
        });
        if members_ok && commits_ok && gone {
            break read;
        }
        assert!(
            Instant::now() < deadline,
            "groups did not settle in 90 s (members {members_ok}, commits {commits_ok}, \
             deleted topic's offsets dropped {gone}): {:?}",
            read.groups
                .iter()
                .filter(|d| d.name >= g(190))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };

    // The tool prints its table to stdout and "Consumer group 'g' has no active members."
    // to stderr.
    let out = kafka.tool(CONSUMER_GROUP_COMMAND, &["--describe", "--all-groups"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let described = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let states = kafka.consumer_groups(&["--describe", "--all-groups", "--state"]);
    let again = wire.fetch(&brokers, &all).await.expect("batched fetch");
    let admin = Admin::new(
        &futures::executor::block_on(client_config(&spec(&b))).expect("config"),
        Duration::from_secs(30),
    )
    .expect("admin");
    let per_group = (
        admin.describe_groups(&all).expect("describe"),
        admin.group_offsets(&all).expect("offsets"),
    );
    // Watermarks and last stable offsets: one ListOffsets per leader and query, the same
    // as librdkafka's.
    let parts: Vec<(String, i32, i32)> = [(&ta, 3), (&tb, 2)]
        .iter()
        .flat_map(|(t, n)| (0..*n).map(move |p| (t.to_string(), p, 1)))
        .collect();
    let ours_w = wire
        .watermarks_and_stable(&brokers, &parts)
        .await
        .expect("watermarks");
    let theirs_w = admin
        .watermarks_and_stable(
            &parts
                .iter()
                .map(|(t, p, _)| (t.clone(), *p))
                .collect::<Vec<_>>(),
        )
        .expect("librdkafka watermarks");
    assert_eq!(
        (&ours_w.watermarks, &ours_w.stable),
        (&theirs_w.0, &theirs_w.1)
    );
    assert_eq!(ours_w.watermarks.get(&(ta.clone(), 2)), Some(&(0, 5)));
    assert_eq!(ours_w.stable.get(&(ta.clone(), 2)), Some(&5));
    assert_eq!(
        ours_w.requests, 3,
        "EARLIEST, LATEST and read_committed LATEST, one request each for the one leader"
    );
    stop.store(true, Ordering::Relaxed);
    for m in members {
        m.join().expect("member thread");
    }

    // Steady state: DescribeGroups + OffsetFetch (+ ConsumerGroupDescribe for the KIP-848
    // groups) to the one coordinator, whatever the number of groups.
    assert_eq!(names_with(&prefix, &again).len(), 200);
    assert_eq!(
        (again.coordinators, again.requests),
        (1, 3),
        "requests per fetch"
    );
    assert!(read.requests <= 5, "first fetch sent {}", read.requests);

    let (rows, named) = tool_rows(&described, &prefix);
    assert_eq!(
        named,
        all.iter().cloned().collect::<BTreeSet<_>>(),
        "groups the tool names"
    );
    let ours = read_rows(&again.groups, &again.offsets, &prefix);
    let only_tool: Vec<_> = rows.difference(&ours).collect();
    let only_ours: Vec<_> = ours.difference(&rows).collect();
    assert!(
        only_tool.is_empty() && only_ours.is_empty(),
        "rows only in the tool's output: {only_tool:#?}\nrows only in ours: {only_ours:#?}"
    );
    // The table has what each kind of group should show (not two empty outputs agreeing).
    assert_eq!(rows.iter().filter(|r| r.0 == g(7)).count(), 3);
    assert_eq!(rows.iter().filter(|r| r.0 == g(8)).count(), 4);
    assert_eq!(
        rows.iter()
            .filter(|r| r.0 == g(170))
            .map(|r| (&r.1, r.3.as_str()))
            .collect::<Vec<_>>(),
        vec![(&ta, "1")],
        "a group keeps its offsets on live topics only"
    );
    assert_eq!(rows.iter().filter(|r| r.0 == g(185)).count(), 0);
    let owned = |i: usize| {
        rows.iter()
            .filter(|r| r.0 == g(i))
            .map(|r| (r.3.clone(), r.6.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        owned(190),
        vec![("2".into(), format!("{}-client", g(190))); 3]
    );
    assert_eq!(
        owned(191),
        vec![("-".into(), format!("{}-client", g(191))); 3]
    );
    assert_eq!(
        owned(199),
        vec![("-".into(), format!("{}-client", g(199))); 2]
    );

    let tool_state = tool_states(&states, &prefix);
    let our_state: BTreeMap<String, (String, usize)> = again
        .groups
        .iter()
        .filter(|d| d.name.starts_with(&prefix))
        .map(|d| (d.name.clone(), (d.state.clone(), d.members.len())))
        .collect();
    assert_eq!(our_state.len(), 200);
    for (name, s) in &our_state {
        let t = tool_state
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in the tool's --state output"));
        assert_eq!(
            (s.0.to_ascii_lowercase(), s.1),
            (t.0.to_ascii_lowercase(), t.1),
            "{name}: state and member count"
        );
    }

    // librdkafka's per-group requests read the same.
    let per_group_rows = read_rows(&per_group.0, &per_group.1, &prefix);
    assert_eq!(per_group_rows, ours, "per-group path and batched path");
    let members_of = |gs: &[GroupDescription]| -> BTreeMap<String, (String, Vec<MemberRow>)> {
        gs.iter()
            .filter(|d| d.name.starts_with(&prefix))
            .map(|d| {
                let mut ms: Vec<_> = d
                    .members
                    .iter()
                    .map(|m| {
                        let mut a = m.assignment.clone();
                        a.sort();
                        (
                            m.consumer_id.clone(),
                            m.client_id.clone(),
                            m.host.clone(),
                            a,
                        )
                    })
                    .collect();
                ms.sort();
                (d.name.clone(), (d.state.clone(), ms))
            })
            .collect()
    };
    assert_eq!(members_of(&again.groups), members_of(&per_group.0));
    assert!(again.groups.iter().all(|d| d.error.is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_poller_reads_groups_through_the_batch_in_a_few_requests() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("wbp");
    let group = unique_name("wbp_g");
    kafka.create_topic(&topic, 2);
    produce(&b, &topic, 0, 7);
    commit(&b, &group, &[(&topic, 0, 3)]);

    let mut p = poller(&b, Windows::default());
    let s = poll(&mut p).await;
    assert_eq!(s.offsets_fallback, None);
    let g = s.groups.iter().find(|g| g.name == group).expect("group");
    assert_eq!(
        (
            g.partitions.to_vec()[0].committed,
            g.partitions.to_vec()[0].lag
        ),
        (Some(3), Some(4))
    );
    let s = poll(&mut p).await;
    assert_eq!(s.offsets_fallback, None);
    assert!(
        !p.has_librdkafka_client(),
        "a steady poll sends nothing through librdkafka"
    );
    // ListOffsets EARLIEST, LATEST and read_committed LATEST, DescribeGroups, OffsetFetch,
    // and ConsumerGroupDescribe when the other test's KIP-848 groups are on this broker:
    // however many groups there are.
    assert!(
        p.batch_requests().is_some_and(|n| (5..=6).contains(&n)),
        "{:?} requests",
        p.batch_requests()
    );
}

/// The rest of a poll on the wire (Metadata, ListGroups on every broker, DescribeConfigs)
/// answers what librdkafka's calls do: the brokers, the controller, every partition's
/// leader, replicas and ISR, the groups listed (a group that only commits offsets too) and
/// the topics' configs.
#[tokio::test(flavor = "multi_thread")]
async fn metadata_listing_and_configs_on_the_wire_equal_librdkafkas() {
    use opsdeck::sources::kafka::{TOPIC_CONFIG_KEYS, wire};
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let prefix = unique_name("wbm");
    let (t1, t2) = (format!("{prefix}_a"), format!("{prefix}_b"));
    kafka.create_topic(&t1, 3);
    kafka.create_topic(&t2, 1);
    commit(&b, &format!("{prefix}_g1"), &[(&t1, 0, 0)]);
    join_and_leave(&b, &format!("{prefix}_g2"), &t2);

    let admin = Admin::new(
        &futures::executor::block_on(client_config(&spec(&b))).expect("config"),
        Duration::from_secs(30),
    )
    .expect("admin");
    let mut ours = batch(&b);
    let top = ours
        .metadata(&wire::bootstrap(&b))
        .await
        .expect("metadata on the wire");
    let md = admin.metadata().expect("librdkafka's metadata");
    let mut brokers: Vec<(i32, String, i32)> = md
        .brokers()
        .iter()
        .map(|b| (b.id(), b.host().to_string(), b.port()))
        .collect();
    brokers.sort();
    let mut wired = top.brokers.clone();
    wired.sort();
    assert_eq!(wired, brokers);
    let mut cluster = admin
        .describe_cluster()
        .expect("librdkafka's DescribeCluster");
    cluster.nodes.sort_by_key(|n| n.id);
    assert_eq!(
        top.cluster, cluster,
        "brokers with racks and the controller"
    );
    let mine = |t: &str| t.starts_with(&prefix);
    let theirs: Vec<_> = md
        .topics()
        .iter()
        .filter(|t| mine(t.name()))
        .map(|t| {
            let mut ps: Vec<_> = t
                .partitions()
                .iter()
                .map(|p| (p.id(), p.leader(), p.replicas().to_vec(), p.isr().to_vec()))
                .collect();
            ps.sort_by_key(|p| p.0);
            (t.name().to_string(), false, ps)
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let wired: Vec<_> = top
        .topics
        .iter()
        .filter(|t| mine(&t.0))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(wired, theirs);
    assert_eq!(wired.len(), 2);
    assert!(
        top.topics
            .iter()
            .any(|t| t.0 == "__consumer_offsets" && t.1),
        "internal topics are listed and marked"
    );

    let (names, errors) = ours.list_groups().await;
    let (their_names, their_errors) = admin.list_groups_checked().expect("librdkafka's listing");
    let own = |v: &[String]| -> Vec<String> { v.iter().filter(|n| mine(n)).cloned().collect() };
    assert_eq!(own(&names), own(&their_names));
    assert_eq!(
        own(&names),
        vec![format!("{prefix}_g1"), format!("{prefix}_g2")]
    );
    assert_eq!((errors.len(), their_errors.len()), (0, 0));

    let topics = vec![t1.clone(), t2.clone()];
    let configs = ours
        .topic_configs(&topics, TOPIC_CONFIG_KEYS)
        .await
        .expect("configs on the wire");
    assert_eq!(
        configs,
        admin
            .topic_configs(&topics, TOPIC_CONFIG_KEYS)
            .expect("librdkafka's configs")
    );
    assert_eq!(
        configs[&t1].get("cleanup.policy").map(String::as_str),
        Some("delete")
    );
}

/// The batched ListOffsets answer what librdkafka's do: by timestamp (the abandonment
/// probes: the first offset at or after the time, -1 where no record is that recent) and
/// the last stable offset below an open transaction.
#[tokio::test(flavor = "multi_thread")]
async fn offsets_by_time_and_last_stable_equal_librdkafkas() {
    let kafka = shared_kafka();
    let b = kafka.bootstrap();
    let topic = unique_name("wbt");
    kafka.create_topic(&topic, 2);
    // Partition 0: ten records written an hour apart (CreateTime), the first two days ago.
    let hour = 3_600_000;
    let first = ((unix_now() - 2.0 * 86_400.0) * 1000.0) as i64;
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &b)
        .create()
        .expect("producer");
    for i in 0..10 {
        p.send(
            BaseRecord::<(), str>::to(&topic)
                .partition(0)
                .payload("x")
                .timestamp(first + i * hour),
        )
        .expect("send");
    }
    p.flush(Duration::from_secs(10)).expect("flush");
    // Partition 1: three records committed in a transaction (marker at 3), four left open.
    let tx: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &b)
        .set("transactional.id", unique_name("wbt_tx"))
        .create()
        .expect("transactional producer");
    let t = Duration::from_secs(30);
    tx.init_transactions(t).expect("init transactions");
    let send = |n: usize| {
        for _ in 0..n {
            tx.send(BaseRecord::<(), str>::to(&topic).partition(1).payload("x"))
                .expect("send");
        }
        tx.flush(t).expect("flush");
    };
    tx.begin_transaction().expect("begin");
    send(3);
    tx.commit_transaction(t).expect("commit");
    tx.begin_transaction().expect("begin");
    send(4);

    let brokers = metadata_brokers(&b);
    let mut wire = batch(&b);
    let admin = Admin::new(
        &futures::executor::block_on(client_config(&spec(&b))).expect("config"),
        Duration::from_secs(30),
    )
    .expect("admin");
    let leader = brokers[0].0;
    let led: Vec<(String, i32, i32)> = (0..2).map(|p| (topic.clone(), p, leader)).collect();
    let parts: Vec<(String, i32)> = (0..2).map(|p| (topic.clone(), p)).collect();
    let ours = wire
        .watermarks_and_stable(&brokers, &led)
        .await
        .expect("batched");
    let theirs = admin.watermarks_and_stable(&parts).expect("librdkafka");
    assert_eq!((&ours.watermarks, &ours.stable), (&theirs.0, &theirs.1));
    let key = |p: i32| (topic.clone(), p);
    assert_eq!(
        (ours.watermarks.get(&key(1)), ours.stable.get(&key(1))),
        (Some(&(0, 8)), Some(&4)),
        "the open transaction's records are above the last stable offset"
    );
    assert_eq!(ours.stable.get(&key(0)), Some(&10));

    let future = ((unix_now() + 3600.0) * 1000.0) as i64;
    for (ts, on_0) in [
        (first - hour, 0),
        (first + 5 * hour + hour / 2, 6),
        (first + 9 * hour, 9),
        (future, -1),
    ] {
        let ours = wire.offsets_at(&brokers, &led, ts).await.expect("batched");
        let theirs = admin.offsets_at(&parts, ts).expect("librdkafka");
        assert_eq!(ours, theirs, "at {ts}");
        assert_eq!(ours.get(&key(0)), Some(&on_0), "at {ts}");
    }
    tx.abort_transaction(t).expect("abort");
}

/// An entry for one of a `start_secure` broker's listeners: `protocol` as librdkafka
/// names it, the test CA for TLS, `mech` with the test user for SASL.
fn secure_spec(
    kafka: &support::Kafka,
    protocol: &str,
    mech: Option<&str>,
    password: &str,
) -> opsdeck::sources::kafka::KafkaSpec {
    let ports = kafka.secure_ports();
    let port = match protocol {
        "SASL_PLAINTEXT" => ports.sasl_plaintext,
        "SSL" => ports.ssl,
        _ => ports.sasl_ssl,
    };
    let mut s = spec(&format!("127.0.0.1:{port}"));
    s.properties
        .insert("security.protocol".into(), protocol.into());
    if protocol.ends_with("SSL") {
        s.properties.insert(
            "ssl.ca.location".into(),
            kafka.ca_file().display().to_string(),
        );
    }
    if let Some(m) = mech {
        s.properties.insert("sasl.mechanisms".into(), m.into());
        s.properties
            .insert("sasl.username".into(), SASL_USER.into());
        s.password = Some(password.into());
    }
    s
}

fn listener(s: &opsdeck::sources::kafka::KafkaSpec) -> Vec<(i32, String, i32)> {
    let (host, port) = s.brokers.split_once(':').expect("host:port");
    vec![(1, host.to_string(), port.parse().expect("port"))]
}

/// Every protocol and mechanism the batched path implements, through the broker's own
/// listeners: it connects and reads the groups (no fallback); a wrong password is refused
/// by the broker (so the SASL exchange is really checked) and an unknown CA by us.
/// OAUTHBEARER, which it does not implement, falls back to librdkafka and says so.
#[tokio::test(flavor = "multi_thread")]
async fn tls_and_sasl_are_batched_and_oauthbearer_falls_back() {
    let kafka = support::Kafka::start_secure();
    let b = kafka.bootstrap();
    let topic = unique_name("wbs");
    let group = unique_name("wbs_g");
    kafka.create_topic(&topic, 2);
    produce(&b, &topic, 0, 7);
    commit(&b, &group, &[(&topic, 0, 3), (&topic, 1, 0)]);

    for (protocol, mech) in [
        ("SASL_PLAINTEXT", Some("PLAIN")),
        ("SASL_PLAINTEXT", Some("SCRAM-SHA-256")),
        ("SASL_PLAINTEXT", Some("SCRAM-SHA-512")),
        ("SSL", None),
        ("SASL_SSL", Some("PLAIN")),
        ("SASL_SSL", Some("SCRAM-SHA-512")),
    ] {
        let what = format!("{protocol} {mech:?}");
        let spec = secure_spec(&kafka, protocol, mech, SASL_PASSWORD);
        let mut p = KafkaPoller::with_windows(spec.clone(), Windows::default());
        let s = poll(&mut p).await;
        assert_eq!(s.offsets_fallback, None, "{what}");
        assert!(p.batch_requests().is_some(), "{what}: the batched path ran");
        let g = s.groups.iter().find(|g| g.name == group).expect("group");
        assert_eq!(g.error, None, "{what}");
        let c: Vec<_> = g.partitions.iter().map(|p| p.committed).collect();
        assert_eq!(c, vec![Some(3), Some(0)], "{what}");

        let refused = if mech.is_some() {
            secure_spec(&kafka, protocol, mech, "wrong")
        } else {
            // No CA setting: the system's store, which does not know the test CA.
            let mut s = spec.clone();
            s.properties.remove("ssl.ca.location");
            s
        };
        let cfg = futures::executor::block_on(client_config(&refused)).expect("config");
        let mut wire = Batch::new(
            &opsdeck::sources::kafka::wire::properties(&cfg),
            Duration::from_secs(10),
        )
        .expect("supported");
        let err = wire
            .fetch(&listener(&refused), std::slice::from_ref(&group))
            .await
            .expect_err("refused");
        let text = err.to_string();
        assert!(
            text.starts_with("authentication failed: "),
            "{what}: {text}"
        );
        assert!(
            text.contains("127.0.0.1:"),
            "{what}: names the broker: {text}"
        );
        assert!(
            !text.contains("wrong"),
            "{what}: the password leaked: {text}"
        );
        if mech.is_none() {
            assert!(text.contains("UnknownIssuer"), "{what}: {text}");
        }
    }

    let mut oauth = secure_spec(&kafka, "SASL_PLAINTEXT", Some("OAUTHBEARER"), "");
    oauth.password = None;
    oauth
        .properties
        .insert("enable.sasl.oauthbearer.unsecure.jwt".into(), "true".into());
    oauth
        .properties
        .insert("sasl.oauthbearer.config".into(), "principal=admin".into());
    let mut p = KafkaPoller::with_windows(oauth, Windows::default());
    for _ in 0..2 {
        let s = poll(&mut p).await;
        assert_eq!(
            s.offsets_fallback.as_deref(),
            Some("sasl.mechanisms OAUTHBEARER is not supported")
        );
        assert_eq!(p.batch_requests(), None);
        let g = s.groups.iter().find(|g| g.name == group).expect("group");
        let c: Vec<_> = g.partitions.iter().map(|p| p.committed).collect();
        assert_eq!(c, vec![Some(3), Some(0)], "read by the per-group fallback");
        let m = s.model();
        assert!(
            format!("{:?}", m.summary).contains(
                "offsets: per-group fallback (sasl.mechanisms OAUTHBEARER is not supported)"
            ),
            "{:?}",
            m.summary
        );
    }
}

/// On 3 brokers, stopping the coordinator of some groups moves them: a fetch while it is
/// down finds their new coordinator (the dead one's connection fails, FindCoordinator
/// again) and reads them all; once it is back, a client that still has it as their
/// coordinator gets NOT_COORDINATOR, looks them up again and reads them all in that fetch.
#[tokio::test(flavor = "multi_thread")]
async fn groups_are_read_again_after_their_coordinator_restarts() {
    let cluster = support::KafkaCluster::start();
    let b = cluster.bootstrap();
    let topic = unique_name("wbc");
    cluster.create_topic(&topic, 2);
    let groups: Vec<String> = (0..24).map(|i| unique_name(&format!("wbc_g{i}"))).collect();
    for (i, g) in groups.iter().enumerate() {
        commit(&b, g, &[(&topic, 0, i as i64), (&topic, 1, 100 + i as i64)]);
    }
    let expected = |read: &Read, when: &str| {
        for (i, g) in groups.iter().enumerate() {
            let c = match read.offsets.get(g) {
                Some(Ok(c)) => c,
                other => panic!("{when}: {g}: {other:?}"),
            };
            let mut c: Vec<_> = c.iter().map(|((t, p), o)| (t.to_string(), p, o)).collect();
            c.sort();
            assert_eq!(
                c,
                vec![
                    (topic.clone(), 0, i as i64),
                    (topic.clone(), 1, 100 + i as i64)
                ],
                "{when}: {g}"
            );
            let d = read
                .groups
                .iter()
                .find(|d| d.name == *g)
                .expect("described");
            assert_eq!(
                (d.state.as_str(), &d.error),
                ("Empty", &None),
                "{when}: {g}"
            );
        }
    };

    // `during` polls through the outage; `after` only before and after it.
    let mut during = batch(&b);
    let mut after = batch(&b);
    for w in [&mut during, &mut after] {
        let read = w
            .fetch(&metadata_brokers(&b), &groups)
            .await
            .expect("fetch");
        expected(&read, "before");
    }
    let before = during.coordinators().clone();
    assert_eq!(&before, after.coordinators());
    // The broker coordinating the most of these groups.
    let mut count: BTreeMap<i32, usize> = BTreeMap::new();
    for n in before.values() {
        *count.entry(*n).or_default() += 1;
    }
    let (&victim, _) = count.iter().max_by_key(|(_, n)| **n).expect("coordinators");
    let node = cluster
        .brokers
        .iter()
        .find(|n| n.id() == victim)
        .expect("victim node");
    let moved: Vec<&String> = groups.iter().filter(|g| before[*g] == victim).collect();

    node.stop();
    let read = during
        .fetch(&metadata_brokers(&b), &groups)
        .await
        .expect("fetch");
    expected(&read, "coordinator stopped");
    for g in &moved {
        assert_ne!(
            during.coordinators()[*g],
            victim,
            "{g} moved off the stopped broker"
        );
    }

    node.start_again();
    cluster.wait_brokers(3, Duration::from_secs(60));
    let read = after
        .fetch(&metadata_brokers(&b), &groups)
        .await
        .expect("fetch");
    expected(&read, "coordinator back");
    for g in &moved {
        assert_ne!(after.coordinators()[*g], victim, "{g}: looked up again");
    }
    let read = during
        .fetch(&metadata_brokers(&b), &groups)
        .await
        .expect("fetch");
    expected(&read, "coordinator back, steady");
    // Watermarks of a topic whose partitions have different leaders: per leader, as
    // librdkafka reads them.
    let admin = Admin::new(
        &futures::executor::block_on(client_config(&spec(&b))).expect("config"),
        Duration::from_secs(30),
    )
    .expect("admin");
    let md = admin.metadata().expect("metadata");
    let parts: Vec<(String, i32, i32)> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic || t.name() == "__consumer_offsets")
        .flat_map(|t| {
            t.partitions()
                .iter()
                .map(move |p| (t.name().to_string(), p.id(), p.leader()))
        })
        .collect();
    let leaders: BTreeSet<i32> = parts.iter().map(|p| p.2).collect();
    assert!(leaders.len() >= 2, "partitions led by {leaders:?}");
    let ours_w = during
        .watermarks_and_stable(&metadata_brokers(&b), &parts)
        .await
        .expect("watermarks");
    let theirs_w = admin
        .watermarks_and_stable(
            &parts
                .iter()
                .map(|(t, p, _)| (t.clone(), *p))
                .collect::<Vec<_>>(),
        )
        .expect("librdkafka watermarks");
    assert_eq!(
        (&ours_w.watermarks, &ours_w.stable),
        (&theirs_w.0, &theirs_w.1)
    );
    assert_eq!(ours_w.watermarks.len(), parts.len());
    let n = ours_w.requests;
    // Three per leader, plus ApiVersions on a connection opened for it.
    assert!(
        (3 * leaders.len()..=4 * leaders.len()).contains(&n),
        "{n} requests for {} leaders",
        leaders.len()
    );

    assert_eq!(
        read.requests,
        2 * read.coordinators,
        "steady state: two requests per coordinator"
    );

    // A coordinator that answers nothing (SIGSTOP): its groups get an error at the
    // deadline, every other group is read in the same fetch.
    let cfg = futures::executor::block_on(client_config(&spec(&b))).expect("config");
    let mut short = Batch::new(
        &opsdeck::sources::kafka::wire::properties(&cfg),
        Duration::from_secs(3),
    )
    .expect("batch");
    let brokers = metadata_brokers(&b);
    let warm = short.fetch(&brokers, &groups).await.expect("fetch");
    expected(&warm, "warm");
    // The verdicts over these reads, on the cluster's real metadata and watermarks (read
    // before the pause: librdkafka would wait for the hung broker too).
    let (mut before_pause, mut paused) = (
        collect(&admin, false).expect("poll"),
        collect(&admin, false).expect("poll"),
    );
    let mut verdicts = State::new(Windows::default());
    let t = unix_now();
    (before_pause.groups, before_pause.offsets) = (warm.groups, warm.offsets);
    let fresh = verdicts.ingest(before_pause, t, false);
    assert!(fresh.groups.iter().all(|g| g.stale_secs.is_none()));
    let hung = *short.coordinators().values().max().expect("a coordinator");
    let hung_groups: BTreeSet<&String> = groups
        .iter()
        .filter(|g| short.coordinators()[*g] == hung)
        .collect();
    let node = cluster
        .brokers
        .iter()
        .find(|n| n.id() == hung)
        .expect("hung node");
    node.pause();
    let read = short.fetch(&brokers, &groups).await;
    node.resume();
    let read = read.expect("one hung coordinator does not fail the fetch");
    (paused.groups, paused.offsets) = (read.groups.clone(), read.offsets.clone());
    let judged = verdicts.ingest(paused, t + 10.0, false);
    for (i, g) in groups.iter().enumerate() {
        let o = read.offsets.get(g).expect("every group answered");
        let d = read
            .groups
            .iter()
            .find(|d| d.name == *g)
            .expect("described");
        let shown = judged.groups.iter().find(|s| s.name == *g).expect("judged");
        let mut committed: Vec<(i32, Option<i64>)> = shown
            .partitions
            .iter()
            .map(|p| (p.partition, p.committed))
            .collect();
        committed.sort();
        if hung_groups.contains(g) {
            let e = o.as_ref().expect_err("the hung coordinator's group");
            assert!(e.contains("no answer"), "{g}: {e}");
            assert_eq!(d.error.as_ref(), Some(e), "{g}");
            // Its last verdict again, stale for the 10 s since the read that answered.
            assert!(
                shown.stale_secs.is_some_and(|s| (s - 10.0).abs() < 1e-6),
                "{g}: {shown:?}"
            );
            assert!(
                shown.error.as_ref().is_some_and(|x| x.contains(e.as_str())),
                "{g}: {:?}",
                shown.error
            );
        } else {
            assert_eq!((shown.stale_secs, &shown.error), (None, &None), "{g}");
        }
        assert_eq!(
            committed,
            vec![(0, Some(i as i64)), (1, Some(100 + i as i64))],
            "{g}: the last offsets shown"
        );
        if !hung_groups.contains(g) {
            let mut c: Vec<_> = o.as_ref().expect("read").iter().map(|(_, o)| o).collect();
            c.sort();
            assert_eq!(c, vec![i as i64, 100 + i as i64], "{g}");
        }
    }
    // Every broker hung: the metadata error names each address once, though each is both
    // a broker of the last metadata and a bootstrap address.
    let boot = opsdeck::sources::kafka::wire::bootstrap(&b);
    short
        .metadata(&boot)
        .await
        .expect("metadata before the pause");
    for n in &cluster.brokers {
        n.pause();
    }
    let hung_all = short.metadata(&boot).await;
    for n in &cluster.brokers {
        n.resume();
    }
    let e = hung_all.expect_err("no broker answers").to_string();
    for n in &cluster.brokers {
        let addr = format!("{}:", n.bootstrap());
        assert_eq!(e.matches(addr.as_str()).count(), 1, "{addr} once in: {e}");
    }
    // Back: every group readable again (its coordinator may have moved meanwhile).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read = short
            .fetch(&metadata_brokers(&b), &groups)
            .await
            .expect("fetch");
        if read.offsets.values().all(|o| o.is_ok()) {
            expected(&read, "resumed");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "groups unreadable 60 s after resume: {:?}",
            read.offsets
                .values()
                .filter(|o| o.is_err())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
