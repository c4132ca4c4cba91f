//! The Redis pane against real servers (standalone, Sentinel, Cluster) started by the harness.
//! Every check goes through the poller and the pane model, the way the console sees it.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use opsdeck::actions::Op;
use opsdeck::alerts::{SourceView, evaluate};
use opsdeck::config::keymap::Action;
use opsdeck::sources::redis::RedisSpec;
use opsdeck::sources::redis::{RedisPoller, RedisSample};
use opsdeck::sources::{Poller, Sample, SourceKind, Status};
use opsdeck::views::PaneModel;
use support::{Redis, RedisCluster, RedisSentinel};

struct Console {
    rt: tokio::runtime::Runtime,
    poller: RedisPoller,
    spec: RedisSpec,
}

impl Console {
    fn new(spec: RedisSpec) -> Console {
        Console {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime"),
            poller: RedisPoller::new(spec.clone()),
            spec,
        }
    }

    fn try_poll(&mut self) -> Result<RedisSample, String> {
        let r = self.rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(15), self.poller.poll())
                .await
                .map_err(|_| "poll hung".to_string())?
        });
        match r {
            Ok(s) => Ok(s),
            Err(e) => {
                self.poller.reset();
                Err(e)
            }
        }
    }

    fn poll(&mut self) -> RedisSample {
        self.try_poll()
            .unwrap_or_else(|e| panic!("poll failed: {e}"))
    }

    /// Polls (as the console does, about every 300 ms) until `f` accepts a sample.
    fn poll_until<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&RedisSample) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            match self.try_poll() {
                Ok(s) => {
                    if let Some(v) = f(&s) {
                        return v;
                    }
                    last = format!("{s:#?}");
                }
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; last poll:\n{last}");
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn run(&self, op: &Op) -> Result<String, String> {
        let Op::Redis(op) = op else {
            panic!("not a redis op: {op:?}")
        };
        self.rt.block_on(op.execute(&self.spec))
    }
}

fn table<'a>(m: &'a PaneModel, title: &str) -> &'a opsdeck::views::Table {
    m.tables
        .iter()
        .find(|t| t.title.starts_with(title))
        .unwrap_or_else(|| panic!("no {title} tab in {:?}", titles(m)))
}

fn titles(m: &PaneModel) -> Vec<String> {
    m.tables.iter().map(|t| t.title.clone()).collect()
}

fn tab_index(m: &PaneModel, title: &str) -> usize {
    m.tables
        .iter()
        .position(|t| t.title.starts_with(title))
        .unwrap_or_else(|| panic!("no {title} tab"))
}

fn command(s: &RedisSample, tab: &str, key: &str, action: Action) -> Op {
    let m = s.model();
    match Sample::from(s.clone()).command(tab_index(&m, tab), key, action) {
        Some(Ok(p)) => p.op,
        other => panic!("{action} on {tab}/{key}: {other:?}"),
    }
}

fn standalone(r: &Redis) -> RedisSpec {
    RedisSpec {
        name: "cache".into(),
        url: Some(r.url()),
        ..Default::default()
    }
}

fn alerts(s: &RedisSample) -> Vec<String> {
    let sample = Sample::Redis(Box::new(s.clone()));
    evaluate(
        &Default::default(),
        [SourceView {
            kind: SourceKind::Redis,
            name: "cache",
            status: &Status::Ok,
            sample: Some(&sample),
        }],
    )
    .into_iter()
    .map(|a| a.rule)
    .collect()
}

#[test]
fn filling_a_small_maxmemory_evicts_and_the_policy_can_be_changed() {
    let r = Redis::start_with(&[("maxmemory", "2mb"), ("maxmemory-policy", "allkeys-lru")]);
    let mut c = Console::new(standalone(&r));
    let s = c.poll();
    let n = &s.nodes[0];
    assert_eq!(n.maxmemory, 2 * 1024 * 1024);
    assert_eq!(n.maxmemory_policy, "allkeys-lru");
    assert_eq!(n.evicted_keys, 0);
    assert!(!alerts(&s).contains(&"redis_evictions".to_string()));

    let mut conn = r.connection();
    let value = "x".repeat(1024);
    let mut pipe = redis::pipe();
    for i in 0..6000 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(&value).ignore();
    }
    let _: () = pipe.query(&mut conn).expect("fill");

    let s = c.poll();
    let n = &s.nodes[0];
    assert!(n.evicted_keys > 0, "evicted {}", n.evicted_keys);
    assert!(
        n.evicted_per_sec.unwrap_or(0.0) > 0.0,
        "{:?}",
        n.evicted_per_sec
    );
    assert!(
        n.memory_ratio().unwrap_or(0.0) > 0.8,
        "{:?}",
        n.memory_ratio()
    );
    assert!(n.keys < 6000 && n.keys > 0, "{} keys", n.keys);
    assert!(n.allocator_frag_ratio > 0.0);
    assert!(n.latency.last_us.is_some() && n.latency.p99_us.is_some());
    let rules = alerts(&s);
    assert!(rules.contains(&"redis_evictions".to_string()), "{rules:?}");

    // The Policy tab shows the current one; choosing another shows it in the preview.
    let m = s.model();
    let pol = table(&m, "Policy");
    let lru = pol
        .rows
        .iter()
        .find(|r| r.key == "allkeys-lru")
        .expect("row");
    assert_eq!(lru.cells[1].text, "current on 1/1");
    let op = command(&s, "Policy", "allkeys-lfu", Action::SetPolicy);
    let Op::Redis(ref inner) = op else {
        unreachable!()
    };
    assert!(
        inner.describe().contains("(now allkeys-lru)"),
        "{}",
        inner.describe()
    );
    c.run(&op).expect("CONFIG SET");
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query(&mut conn)
        .expect("config get");
    assert_eq!(got[1], "allkeys-lfu");
    assert_eq!(c.poll().nodes[0].maxmemory_policy, "allkeys-lfu");

    // Once writes stop, the eviction rate falls back to zero (a poll or two may still see
    // evictions: Redis evicts before any command while over maxmemory, INFO included).
    c.poll_until(
        "the eviction rate back to zero",
        Duration::from_secs(15),
        |s| (s.nodes[0].evicted_per_sec == Some(0.0)).then_some(()),
    );
}

#[test]
fn bgsave_moves_the_last_save_and_clients_can_be_killed() {
    let r = Redis::start();
    let mut c = Console::new(standalone(&r));
    let before = c.poll().nodes[0].persistence.rdb_last_save_time;
    // rdb_last_save_time has a one-second resolution.
    std::thread::sleep(Duration::from_millis(1100));
    let s = c.poll();
    let addr = s.nodes[0].addr.clone();
    let op = command(&s, "Persistence", &addr, Action::Bgsave);
    let out = c.run(&op).expect("BGSAVE");
    assert!(out.contains("Background saving started"), "{out}");
    let after = c.poll_until("a newer last save", Duration::from_secs(20), |s| {
        let p = &s.nodes[0].persistence;
        (p.rdb_last_save_time > before && !p.rdb_bgsave_in_progress).then_some(p.clone())
    });
    assert_eq!(after.rdb_last_bgsave_status, "ok");
    assert_eq!(after.rdb_changes_since_last_save, 0);

    let op = command(&s, "Nodes", &addr, Action::Bgrewriteaof);
    let out = c.run(&op).expect("BGREWRITEAOF");
    assert!(out.contains("rewriting"), "{out}");
    c.poll_until("the rewrite to finish ok", Duration::from_secs(20), |s| {
        let p = &s.nodes[0].persistence;
        (!p.aof_rewrite_in_progress && p.aof_last_bgrewrite_status == "ok").then_some(())
    });

    // A named client shows in the Clients tab and CLIENT KILL closes it.
    let mut victim = r.connection();
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("victim")
        .query(&mut victim)
        .expect("setname");
    let s = c.poll();
    let id = s
        .clients
        .iter()
        .find(|cl| cl.name == "victim")
        .map(|cl| cl.id.to_string())
        .unwrap_or_else(|| panic!("victim not listed: {:?}", s.clients));
    let m = s.model();
    assert!(table(&m, "Clients").rows.iter().any(|r| r.key == id));
    let op = command(&s, "Clients", &id, Action::Terminate);
    c.run(&op).expect("CLIENT KILL");
    assert!(!c.poll().clients.iter().any(|cl| cl.name == "victim"));
    assert!(redis::cmd("PING").query::<String>(&mut victim).is_err());

    // The console's own connection is named, listed, and never offered to a kill.
    let s = c.poll();
    let own = s
        .clients
        .iter()
        .find(|cl| cl.name == "opsdeck")
        .unwrap_or_else(|| panic!("the console's connection is not named: {:?}", s.clients));
    let refused = Sample::from(s.clone()).command(
        tab_index(&s.model(), "Clients"),
        &own.id.to_string(),
        Action::Terminate,
    );
    assert!(
        matches!(&refused, Some(Err(e)) if e.contains("own connection")),
        "{refused:?}"
    );
}

#[test]
fn an_acl_user_with_limited_rights_sees_what_it_may() {
    let r = Redis::start();
    r.cli(&[
        "ACL",
        "SETUSER",
        "reader",
        "on",
        ">s3cret-pw",
        "+ping",
        "+info",
        "+hello",
        "+auth",
    ]);
    let mut spec = standalone(&r);
    spec.username = Some("reader".into());
    spec.password = Some("s3cret-pw".into());
    let mut c = Console::new(spec.clone());
    let s = c.poll();
    assert_eq!(s.nodes[0].role, "master");
    assert!(s.nodes[0].error.is_none());
    assert!(s.clients.is_empty());
    let note = s.notes.join("\n");
    assert!(
        note.contains("CLIENT LIST not permitted for user reader (ACL)"),
        "{note}"
    );
    // The note is on the pane for people to read.
    let shown = format!("{:?}", s.model().summary);
    assert!(shown.contains("not permitted for user reader"), "{shown}");
    // An action the user may not run fails with the same clear message.
    let op = command(&s, "Nodes", &s.nodes[0].addr, Action::Bgsave);
    let err = c.run(&op).expect_err("BGSAVE must be refused");
    assert!(err.contains("not permitted for user reader"), "{err}");

    // A wrong password says so, without echoing it.
    spec.password = Some("wrong-pw-123".into());
    let mut bad = Console::new(spec);
    let err = bad.try_poll().expect_err("wrong password");
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("wrong-pw-123"), "{err}");
}

fn sentinel_spec(set: &RedisSentinel) -> RedisSpec {
    RedisSpec {
        name: "sessions".into(),
        // One sentinel configured: the others are discovered.
        sentinels: vec![set.sentinel_urls()[0].clone()],
        master: Some(set.master_name().into()),
        ..Default::default()
    }
}

fn addr_of(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

#[test]
fn sentinel_failover_from_the_console_is_followed_with_its_events() {
    let set = RedisSentinel::start();
    let mut c = Console::new(sentinel_spec(&set));
    let old = addr_of(set.master.port());
    let s = c.poll_until("all sentinels and replicas", Duration::from_secs(20), |s| {
        let v = s.sentinel.as_ref()?;
        (v.sentinels.len() == 3 && v.replicas.len() == 2 && s.nodes.len() == 3).then(|| s.clone())
    });
    let v = s.sentinel.as_ref().expect("sentinel view");
    assert_eq!(v.master_addr, old);
    assert_eq!(v.quorum, 2);
    assert!(v.ckquorum_ok, "{}", v.ckquorum);
    assert!(s.nodes[0].is_master());
    assert_eq!(s.nodes[0].replication.replicas.len(), 2);
    let m = s.model();
    assert_eq!(table(&m, "Sentinel").rows.len(), 1 + 2 + 3);

    let op = command(&s, "Sentinel", "master:mymaster", Action::Failover);
    let out = c.run(&op).expect("SENTINEL FAILOVER");
    assert!(out.contains("OK"), "{out}");

    let s = c.poll_until("the new master", Duration::from_secs(60), |s| {
        let v = s.sentinel.as_ref()?;
        let switched = v.events.iter().any(|e| e.event == "+switch-master");
        (v.master_addr != old && s.nodes[0].is_master() && switched).then(|| s.clone())
    });
    let new = s
        .sentinel
        .as_ref()
        .map(|v| v.master_addr.clone())
        .unwrap_or_default();
    assert_ne!(new, old);
    assert!(
        [set.replicas[0].port(), set.replicas[1].port()]
            .map(addr_of)
            .contains(&new)
    );
    assert_eq!(s.nodes[0].addr, new);
    let f = s.last_failover.as_ref().expect("failover noticed");
    assert_eq!(
        (f.from.as_str(), f.to.as_str()),
        (old.as_str(), new.as_str())
    );
    assert!(alerts(&s).contains(&"redis_failover".to_string()));
    let events = table(&s.model(), "Events")
        .rows
        .iter()
        .map(|r| r.cells[2].text.clone())
        .collect::<Vec<_>>();
    assert!(events.contains(&"+switch-master".to_string()), "{events:?}");
    assert!(events.contains(&"+failover-end".to_string()), "{events:?}");
}

#[test]
fn killing_the_sentinel_master_shows_it_down_then_the_new_one() {
    let set = RedisSentinel::start();
    let mut c = Console::new(sentinel_spec(&set));
    let old = addr_of(set.master.port());
    assert_eq!(c.poll().nodes[0].addr, old);
    set.master.kill();
    // First the master is seen down, while the sentinels still name it: writes fail, and
    // that is an alert by name even though the replicas and sentinels answer.
    let s = c.poll_until("the master down", Duration::from_secs(30), |s| {
        let n = s.nodes.iter().find(|n| n.addr == old)?;
        n.error.is_some().then(|| s.clone())
    });
    let firing = alerts(&s);
    assert!(
        firing.contains(&"redis_master_down".to_string()),
        "{firing:?}"
    );
    // Then, with only polls, the sentinels' choice.
    let s = c.poll_until("a new master", Duration::from_secs(60), |s| {
        let v = s.sentinel.as_ref()?;
        (v.master_addr != old && s.nodes[0].is_master()).then(|| s.clone())
    });
    let v = s.sentinel.as_ref().expect("view");
    let seen: BTreeSet<&str> = v.events.iter().map(|e| e.event.as_str()).collect();
    for e in ["+sdown", "+odown", "+switch-master"] {
        assert!(seen.contains(e), "{e} missing from {seen:?}");
    }
    assert_eq!(s.last_failover.as_ref().map(|f| f.from.clone()), Some(old));
}

#[test]
fn a_killed_sentinel_replica_raises_its_alerts_while_the_rest_answers() {
    let set = RedisSentinel::start();
    let mut c = Console::new(sentinel_spec(&set));
    let replica = addr_of(set.replicas[1].port());
    let s = c.poll();
    assert!(alerts(&s).is_empty(), "{:?}", alerts(&s));
    set.replicas[1].kill();
    // The next poll: the node does not answer.
    let s = c.poll();
    let node = s
        .nodes
        .iter()
        .find(|n| n.addr == replica)
        .expect("replica row");
    assert!(node.error.is_some(), "{node:?}");
    assert!(s.nodes.iter().filter(|n| n.error.is_none()).count() >= 2);
    let firing = alerts(&s);
    assert!(
        firing.contains(&"redis_node_down".to_string()),
        "{firing:?}"
    );
    assert!(
        !firing.contains(&"redis_master_down".to_string()),
        "{firing:?}"
    );
    // Within the sentinels' down-after (2 s), they flag it too.
    c.poll_until(
        "the sentinels flag the replica",
        Duration::from_secs(20),
        |s| {
            alerts(s)
                .contains(&"redis_sentinel_peer_down".to_string())
                .then_some(())
        },
    );
}

#[test]
fn a_paused_replica_shows_its_link_down_with_a_duration() {
    let set = RedisSentinel::start();
    let mut c = Console::new(sentinel_spec(&set));
    let replica = addr_of(set.replicas[0].port());
    c.poll();
    set.replicas[0].pause();
    let s = c.poll_until("the replica link down", Duration::from_secs(30), |s| {
        s.links_down()
            .iter()
            .any(|(a, _)| a == &replica)
            .then(|| s.clone())
    });
    set.replicas[0].resume();
    let m = s.model();
    let row = table(&m, "Replication")
        .rows
        .iter()
        .find(|r| r.key == replica)
        .expect("replica row");
    assert!(
        row.cells[2].text.starts_with("unreachable"),
        "{:?}",
        row.cells
    );
    assert!(
        row.cells[4].text.starts_with("no ACK for"),
        "{:?}",
        row.cells
    );
    let n = s.nodes.iter().find(|n| n.addr == replica).expect("node");
    assert!(n.error.is_some());
    assert!(alerts(&s).contains(&"redis_replica_link_down".to_string()));
    c.poll_until("the link back up", Duration::from_secs(30), |s| {
        s.links_down().is_empty().then_some(())
    });
}

#[test]
fn cluster_failover_and_a_killed_master_are_shown_until_coverage_is_back() {
    let cl = RedisCluster::start();
    let mut c = Console::new(RedisSpec {
        name: "shards".into(),
        cluster: vec![cl.urls()[0].clone()],
        ..Default::default()
    });
    // Right after `--cluster create` the replicas' roles are still spreading by gossip.
    let s = c.poll_until("six nodes, three replicas", Duration::from_secs(30), |s| {
        let replicas = s
            .cluster
            .as_ref()?
            .nodes
            .iter()
            .filter(|n| n.role == "replica")
            .count();
        (s.nodes.len() == 6 && replicas == 3 && s.nodes.iter().all(|n| n.error.is_none()))
            .then(|| s.clone())
    });
    let view = s.cluster.as_ref().expect("cluster view");
    assert!(view.all_slots_covered);
    assert_eq!(view.state, "ok");
    assert_eq!(table(&s.model(), "Shards").rows.len(), 3);

    // Healthy: nothing down (fresh replicas may still be catching up on their links).
    let firing = alerts(&s);
    for rule in [
        "redis_node_down",
        "redis_cluster_failed",
        "redis_slots_uncovered",
    ] {
        assert!(!firing.contains(&rule.to_string()), "{firing:?}");
    }

    // CLUSTER FAILOVER on a chosen replica: it becomes master.
    let replica = view
        .nodes
        .iter()
        .find(|n| n.role == "replica")
        .unwrap_or_else(|| panic!("no replica in {view:#?}"))
        .clone();
    let op = command(&s, "Cluster", &replica.addr, Action::Failover);
    c.run(&op).expect("CLUSTER FAILOVER");
    // On a loaded machine a replica may not be caught up yet and ignore the first request
    // (Redis logs it and does nothing); asking again after a while is what an operator does.
    let deadline = Instant::now() + Duration::from_secs(40);
    while Instant::now() < deadline {
        let promoted = c.try_poll().ok().and_then(|s| {
            let n = s
                .cluster
                .as_ref()?
                .nodes
                .iter()
                .find(|n| n.id == replica.id)?
                .clone();
            (n.role == "master").then_some(())
        });
        if promoted.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_secs(5));
        let _ = c.run(&op);
    }
    let s = c.poll_until("the replica promoted", Duration::from_secs(30), |s| {
        let n = s
            .cluster
            .as_ref()?
            .nodes
            .iter()
            .find(|n| n.id == replica.id)?;
        (n.role == "master" && n.slot_count() > 0).then(|| s.clone())
    });
    assert_eq!(
        s.last_failover.as_ref().map(|f| f.to.clone()),
        Some(replica.addr.clone())
    );

    // Its old master resyncs as its replica (a replica that never synced may not take over).
    c.poll_until(
        "the old master to follow it",
        Duration::from_secs(30),
        |s| {
            let n = s.nodes.iter().find(|n| n.addr == replica.addr)?;
            n.replication
                .replicas
                .iter()
                .any(|r| r.state == "online" && r.lag_bytes == 0)
                .then_some(())
        },
    );

    // Kill that new master: fail flag, then its replica is promoted and coverage is back.
    let port: u16 = replica
        .addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let idx = cl
        .ports()
        .iter()
        .position(|p| *p == port)
        .expect("harness node");
    cl.nodes[idx].kill();
    // The next poll names the dead master while the other five answer.
    let s = c.poll();
    assert_eq!(s.nodes.iter().filter(|n| n.error.is_none()).count(), 5);
    let firing = alerts(&s);
    assert!(
        firing.contains(&"redis_node_down".to_string()),
        "{firing:?}"
    );
    c.poll_until("the fail flag", Duration::from_secs(30), |s| {
        let n = s
            .cluster
            .as_ref()?
            .nodes
            .iter()
            .find(|n| n.id == replica.id)?;
        (n.failed() || n.suspected()).then_some(())
    });
    let s = c.poll_until(
        "a promotion and full coverage",
        Duration::from_secs(60),
        |s| {
            let v = s.cluster.as_ref()?;
            let dead = v.nodes.iter().find(|n| n.id == replica.id)?;
            (dead.failed() && v.all_slots_covered && v.state == "ok").then(|| s.clone())
        },
    );
    let f = s.last_failover.as_ref().expect("failover");
    assert_eq!(f.from, replica.addr);
    let m = s.model();
    let row = table(&m, "Cluster")
        .rows
        .iter()
        .find(|r| r.key == replica.addr)
        .expect("dead node row");
    assert!(row.cells[2].text.contains("fail"), "{:?}", row.cells);
    let down = s
        .nodes
        .iter()
        .find(|n| n.addr == replica.addr)
        .expect("node");
    assert!(down.error.is_some());
    // Coverage is back: the node is still down, but the cluster takes writes.
    let firing = alerts(&s);
    assert!(
        firing.contains(&"redis_node_down".to_string()),
        "{firing:?}"
    );
    assert!(
        !firing.contains(&"redis_cluster_failed".to_string()),
        "{firing:?}"
    );
    assert!(
        !firing.contains(&"redis_slots_uncovered".to_string()),
        "{firing:?}"
    );
}

#[test]
fn tls_with_a_private_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |f: &str| dir.path().join(f).display().to_string();
    let ssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(p("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("ext");
    ssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=opsdeck-test-ca",
    ]);
    ssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &p("srv.key"),
        "-out",
        &p("srv.csr"),
        "-subj",
        "/CN=127.0.0.1",
    ]);
    ssl(&[
        "x509",
        "-req",
        "-in",
        &p("srv.csr"),
        "-CA",
        &p("ca.crt"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-out",
        &p("srv.crt"),
        "-days",
        "2",
        "-extfile",
        &p("san.ext"),
    ]);
    let tls_port = support::free_port();
    let r = Redis::start_with(&[
        ("tls-port", &tls_port.to_string()),
        ("tls-cert-file", &p("srv.crt")),
        ("tls-key-file", &p("srv.key")),
        ("tls-ca-cert-file", &p("ca.crt")),
        ("tls-auth-clients", "no"),
    ]);
    let spec = RedisSpec {
        name: "tls".into(),
        url: Some(format!("rediss://127.0.0.1:{tls_port}/")),
        tls: true,
        tls_ca_file: Some(p("ca.crt")),
        ..Default::default()
    };
    let mut c = Console::new(spec.clone());
    let s = c.poll();
    assert_eq!(s.nodes[0].role, "master");
    assert!(s.nodes[0].error.is_none() && s.nodes[0].latency.last_us.is_some());
    // The connection really is TLS: the server counts it on its TLS port.
    let conns = r.cli(&["CLIENT", "LIST"]);
    assert!(
        conns
            .lines()
            .any(|l| l.contains(&format!("laddr=127.0.0.1:{tls_port}"))),
        "{conns}"
    );
    // Without the CA the server's certificate is not trusted, and the pane says so.
    let mut untrusted = Console::new(RedisSpec {
        tls_ca_file: None,
        ..spec
    });
    let err = untrusted.try_poll().expect_err("untrusted certificate");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

/// A Sentinel deployment just after a failover, as plain data, for render snapshots.
fn sentinel_sample() -> RedisSample {
    use opsdeck::sources::redis::*;
    let now = chrono::Utc::now().timestamp();
    let node = |addr: &str, role: &str| NodeInfo {
        addr: addr.into(),
        role: role.into(),
        version: "7.0.15".into(),
        used_memory: 1_900_000,
        used_memory_peak: 2_000_000,
        used_memory_rss: 9_000_000,
        maxmemory: 2 * 1024 * 1024,
        maxmemory_policy: "allkeys-lru".into(),
        allocator_frag_ratio: 1.12,
        mem_fragmentation_ratio: 4.5,
        evicted_per_sec: Some(if role == "master" { 120.0 } else { 0.0 }),
        expired_per_sec: Some(0.0),
        ops_per_sec: 1500,
        hit_ratio: Some(0.92),
        connected_clients: 12,
        blocked_clients: 1,
        keys: 1800,
        keys_per_db: vec![("db0".into(), 1800)],
        latency: Latency {
            last_us: Some(300),
            p50_us: Some(250),
            p99_us: Some(1800),
            window_us: vec![200, 250, 300, 1800, 260, 240, 300],
        },
        persistence: Persistence {
            rdb_last_save_time: now - 3600,
            rdb_last_bgsave_status: "ok".into(),
            rdb_changes_since_last_save: 42,
            aof_enabled: true,
            aof_last_bgrewrite_status: "ok".into(),
            aof_last_write_status: "ok".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut master = node("10.0.0.2:6379", "master");
    master.replication.master_repl_offset = 5000;
    master.replication.replicas = vec![
        ReplicaLink {
            addr: "10.0.0.1:6379".into(),
            state: "online".into(),
            offset: 4000,
            lag_bytes: 1000,
            lag_secs: 0,
        },
        ReplicaLink {
            addr: "10.0.0.3:6379".into(),
            state: "online".into(),
            offset: 3000,
            lag_bytes: 2000,
            lag_secs: 7,
        },
    ];
    let replica = node("10.0.0.1:6379", "slave");
    let down = NodeInfo {
        addr: "10.0.0.3:6379".into(),
        error: Some("no answer within 4s".into()),
        ..Default::default()
    };
    let peer = |a: &str, f: &str, says: Option<&str>| SentinelPeer {
        addr: a.into(),
        flags: f.into(),
        says_master: says.map(str::to_string),
    };
    RedisSample {
        mode: "sentinel".into(),
        nodes: vec![master, replica, down],
        sentinel: Some(SentinelView {
            master_name: "mymaster".into(),
            master_addr: "10.0.0.2:6379".into(),
            master_flags: "master".into(),
            quorum: 2,
            ckquorum: "OK 3 usable Sentinels. Quorum and failover authorization can be reached"
                .into(),
            ckquorum_ok: true,
            replicas: vec![
                peer("10.0.0.1:6379", "slave", None),
                peer("10.0.0.3:6379", "slave,s_down", None),
            ],
            sentinels: vec![
                peer("10.0.0.5:26379", "sentinel", Some("10.0.0.2:6379")),
                peer("10.0.0.6:26379", "sentinel", Some("10.0.0.2:6379")),
            ],
            asked: "10.0.0.4:26379".into(),
            events: vec![],
            ..Default::default()
        }),
        clients: vec![ClientInfo {
            id: 7,
            addr: "10.0.1.9:51234".into(),
            name: "checkout".into(),
            user: "default".into(),
            cmd: "get".into(),
            flags: "N".into(),
            age_secs: 3600,
            idle_secs: 2,
            ..Default::default()
        }],
        clients_node: "10.0.0.2:6379".into(),
        last_failover: Some(Failover {
            from: "10.0.0.1:6379".into(),
            to: "10.0.0.2:6379".into(),
            at: now - 30,
        }),
        notes: vec![],
        cluster: None,
        ..Default::default()
    }
}

#[test]
fn render_every_view_of_the_sentinel_pane() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use opsdeck::app::state::Pane;
    use opsdeck::app::{Event, State, update};
    use opsdeck::config::Config;
    use opsdeck::config::keymap::Keymap;
    use opsdeck::sources::Update;
    use opsdeck::theme::Theme;

    let mut st = State::new(
        Config::default(),
        "local".into(),
        false,
        Theme::default(),
        Keymap::builtin_default(),
    );
    let index = st.pane_sources(Pane::Redis)[0];
    let generation = st.generation;
    let now = chrono::Utc::now();
    update(
        &mut st,
        Event::Source {
            generation,
            index,
            update: Update::Sample(Sample::Redis(Box::new(sentinel_sample()))),
        },
        now,
    );
    let press = |st: &mut State, c: KeyCode| {
        update(st, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)), now);
    };
    press(&mut st, KeyCode::Char('3'));
    press(&mut st, KeyCode::Enter);
    let render = |st: &State| {
        let mut term =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(130, 32)).expect("term");
        term.draw(|f| opsdeck::ui::draw(f, st)).expect("draw");
        let buf = term.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut screens = Vec::new();
    for tab in sentinel_sample().tabs() {
        let screen = render(&st);
        // The header clock changes; everything else of the pane is stable.
        let body: String = screen.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert!(body.contains(tab.title()), "{tab:?} not shown:\n{screen}");
        screens.push((tab.title(), body));
        press(&mut st, KeyCode::Char(']'));
    }
    for (title, body) in &screens {
        insta::assert_snapshot!(format!("redis_sentinel_{}", title.replace(' ', "_")), body);
    }
    if std::env::var("OPSDECK_SCREENSHOTS").is_ok() {
        std::fs::create_dir_all("screenshots").expect("dir");
        std::fs::write("screenshots/redis-sentinel.txt", render_first(&screens)).expect("write");
    }
}

fn render_first(screens: &[(&str, String)]) -> String {
    screens.first().map(|(_, b)| b.clone()).unwrap_or_default() + "\n"
}

#[test]
fn cluster_tabs_show_flags_coverage_and_shard_offsets() {
    use opsdeck::sources::redis::*;
    let cn = |id: &str, addr: &str, role: &str, master: Option<&str>, flags: &[&str], slots| {
        ClusterNode {
            id: id.into(),
            addr: addr.into(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            role: role.into(),
            master_id: master.map(str::to_string),
            link_state: if flags.contains(&"fail") {
                "disconnected"
            } else {
                "connected"
            }
            .into(),
            slots,
        }
    };
    let mut m1 = NodeInfo {
        addr: "10.0.0.1:7000".into(),
        role: "master".into(),
        ..Default::default()
    };
    m1.replication.master_repl_offset = 9000;
    m1.replication.replicas = vec![ReplicaLink {
        addr: "10.0.0.4:7000".into(),
        state: "online".into(),
        offset: 8000,
        lag_bytes: 1000,
        lag_secs: 0,
    }];
    let s = RedisSample {
        mode: "cluster".into(),
        nodes: vec![m1],
        cluster: Some(ClusterView {
            state: "fail".into(),
            asked: "10.0.0.1:7000".into(),
            nodes: vec![
                cn(
                    "a",
                    "10.0.0.1:7000",
                    "master",
                    None,
                    &["master"],
                    vec![(0, 5460)],
                ),
                cn(
                    "b",
                    "10.0.0.2:7000",
                    "master",
                    None,
                    &["master", "fail"],
                    vec![(5461, 10922)],
                ),
                cn(
                    "c",
                    "10.0.0.3:7000",
                    "master",
                    None,
                    &["master"],
                    vec![(10923, 16383)],
                ),
                cn(
                    "d",
                    "10.0.0.4:7000",
                    "replica",
                    Some("a"),
                    &["slave"],
                    vec![],
                ),
                cn(
                    "e",
                    "10.0.0.5:7000",
                    "replica",
                    Some("b"),
                    &["slave", "fail?"],
                    vec![],
                ),
            ],
            slots_covered: 10922,
            all_slots_covered: false,
        }),
        ..Default::default()
    };
    let m = s.model();
    assert_eq!(m.level, opsdeck::views::Level::Crit);
    let text = |t: &opsdeck::views::Table| {
        t.rows
            .iter()
            .map(|r| {
                r.cells
                    .iter()
                    .map(|c| c.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let header = format!("{:?}", m.summary);
    assert!(
        header.contains("cluster fail · 10922/16384 slots covered · 5 nodes · 2 failing"),
        "{header}"
    );
    insta::assert_snapshot!("redis_cluster_Cluster", text(table(&m, "Cluster")));
    insta::assert_snapshot!("redis_cluster_Shards", text(table(&m, "Shards")));
}
