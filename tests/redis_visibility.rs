//! `CLIENT LIST` runs only while the Clients tab is on screen: a real Redis server, the real
//! source task (`sources::spawn`) told what is shown the way the console tells it, and the
//! server's own `INFO commandstats` as the judge of what was sent.

mod support;

use std::sync::Arc;
use std::time::Duration;

use opsdeck::sources::redis::{RedisSample, RedisSpec};
use opsdeck::sources::{self, Control, Sample, Update};
use opsdeck::views::PaneModel;
use support::Redis;
use tokio::sync::mpsc;

/// Calls of `CLIENT LIST` the server counted (`cmdstat_client|list`).
fn client_list_calls(r: &Redis) -> u64 {
    let stats = r.cli(&["INFO", "commandstats"]);
    stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_client|list:calls="))
        .map(|rest| {
            rest.split(',')
                .next()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("unreadable commandstats line: {rest}"))
        })
        .unwrap_or(0)
}

struct Source {
    control: mpsc::UnboundedSender<Control>,
    updates: mpsc::UnboundedReceiver<Update>,
    task: tokio::task::JoinHandle<()>,
}

impl Source {
    fn start(r: &Redis) -> Source {
        let (tx, updates) = mpsc::unbounded_channel();
        let (control, rx) = mpsc::unbounded_channel();
        // As the console does: what is on screen is said before the first poll.
        control.send(Control::Visible(None)).unwrap();
        let task = sources::spawn(
            sources::SourceSpec::Redis(RedisSpec {
                name: "cache".into(),
                url: Some(r.url()),
                ..Default::default()
            }),
            &Default::default(),
            Duration::from_millis(200),
            Arc::new(tokio::sync::Notify::new()),
            rx,
            move |u| tx.send(u).is_ok(),
        );
        Source {
            control,
            updates,
            task,
        }
    }

    fn show(&self, tab: Option<&str>) {
        self.control
            .send(Control::Visible(tab.map(str::to_string)))
            .expect("source task alive");
    }

    /// The next sample with its pane model (errors fail the test).
    async fn sample(&mut self) -> (RedisSample, PaneModel) {
        loop {
            let u = tokio::time::timeout(Duration::from_secs(30), self.updates.recv())
                .await
                .expect("a sample within 30 s")
                .expect("source task alive");
            match u {
                Update::Modelled(Sample::Redis(s), m) => return (*s, *m),
                Update::Status(sources::Status::Connecting) | Update::Took(_) => continue,
                other => panic!("unexpected update: {other:?}"),
            }
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn clients_table(m: &PaneModel) -> &opsdeck::views::Table {
    m.tables
        .iter()
        .find(|t| t.title.starts_with("Clients"))
        .expect("a Clients tab")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_list_runs_only_while_the_clients_tab_is_open() {
    let r = Redis::start();
    // A second client, so an open tab has someone besides the console to list.
    let _other = r.connection();
    let mut src = Source::start(&r);

    for _ in 0..5 {
        let (s, m) = src.sample().await;
        assert!(s.clients_skipped && s.clients.is_empty(), "{s:?}");
        assert_eq!(s.clients_age_secs, None, "never listed");
        assert_eq!(clients_table(&m).empty, "listed while this tab is open");
    }
    assert_eq!(
        client_list_calls(&r),
        0,
        "CLIENT LIST ran while nothing showed the Clients tab"
    );

    // Another tab of the pane: still not listed.
    src.show(Some("Nodes"));
    for _ in 0..3 {
        assert!(src.sample().await.0.clients_skipped);
    }
    assert_eq!(client_list_calls(&r), 0);

    // The Clients tab opens: listed at once, then every poll.
    src.show(Some(&format!("Clients 127.0.0.1:{}", r.port())));
    let mut listed = 0;
    for _ in 0..10 {
        let (s, _) = src.sample().await;
        if !s.clients_skipped {
            assert!(
                s.clients.len() >= 2,
                "the console and the other client: {s:?}"
            );
            assert_eq!(s.clients_age_secs, Some(0));
            listed += 1;
        }
        if listed == 3 {
            break;
        }
    }
    assert_eq!(
        listed, 3,
        "CLIENT LIST ran in the samples after the tab opened"
    );
    let while_open = client_list_calls(&r);
    assert!(while_open >= 3, "commandstats counted {while_open} calls");

    // Closed again: once the poll in flight is in, the count stays.
    src.show(None);
    let (s, m) = loop {
        let (s, m) = src.sample().await;
        if s.clients_skipped {
            break (s, m);
        }
    };
    assert!(s.clients_age_secs.is_some(), "{s:?}");
    assert!(
        clients_table(&m)
            .empty
            .starts_with("listed while this tab is open (last list "),
        "{}",
        clients_table(&m).empty
    );
    let closed = client_list_calls(&r);
    for _ in 0..5 {
        assert!(src.sample().await.0.clients_skipped);
    }
    assert_eq!(
        client_list_calls(&r),
        closed,
        "CLIENT LIST ran with the tab closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_never_told_what_is_shown_lists_the_clients() {
    // `check` and `snapshot` poll once, with no screen: everything is read.
    let r = Redis::start();
    let s = sources::poll_once(
        sources::SourceSpec::Redis(RedisSpec {
            name: "cache".into(),
            url: Some(r.url()),
            ..Default::default()
        }),
        &Default::default(),
        Duration::from_secs(10),
    )
    .await
    .expect("one poll");
    let Sample::Redis(s) = s else {
        panic!("not a Redis sample")
    };
    assert!(!s.clients_skipped && !s.clients.is_empty(), "{s:?}");
    assert_eq!(client_list_calls(&r), 1);
}
