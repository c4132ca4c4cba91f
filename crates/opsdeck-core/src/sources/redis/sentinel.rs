//! Sentinel: asking the sentinels for the master, and a subscriber task per sentinel that
//! records their pub/sub events into a bounded timeline shared with the poller. The
//! subscriber never blocks a poll: the poller only copies the timeline under a short lock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::MultiplexedConnection;

use super::info::{pairs, peer};
use super::model::{SentinelEvent, SentinelView};

/// Most events kept in the timeline.
pub const MAX_EVENTS: usize = 200;

pub type Timeline = Arc<Mutex<VecDeque<SentinelEvent>>>;

/// Records one event, dropping the oldest past [`MAX_EVENTS`].
pub fn record(timeline: &Timeline, ev: SentinelEvent) {
    if let Ok(mut t) = timeline.lock() {
        t.push_back(ev);
        while t.len() > MAX_EVENTS {
            t.pop_front();
        }
    }
}

pub fn snapshot(timeline: &Timeline) -> Vec<SentinelEvent> {
    timeline
        .lock()
        .map(|t| t.iter().cloned().collect())
        .unwrap_or_default()
}

/// Subscribes to every channel of one sentinel (`PSUBSCRIBE *`) until aborted, reconnecting
/// after a second when the sentinel goes away. Hello messages between sentinels are skipped.
pub fn spawn_subscriber(
    addr: String,
    client: redis::Client,
    timeline: Timeline,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = subscribe_once(&addr, &client, &timeline).await {
                tracing::debug!(sentinel = %addr, error = %e, "sentinel subscription ended");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

async fn subscribe_once(
    addr: &str,
    client: &redis::Client,
    timeline: &Timeline,
) -> Result<(), String> {
    let mut pubsub = tokio::time::timeout(Duration::from_secs(3), client.get_async_pubsub())
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    pubsub.psubscribe("*").await.map_err(|e| e.to_string())?;
    let mut stream = pubsub.on_message();
    while let Some(msg) = stream.next().await {
        let channel = msg.get_channel_name().to_string();
        if channel.starts_with("__sentinel__") {
            continue;
        }
        let detail: String = msg.get_payload().unwrap_or_default();
        record(
            timeline,
            SentinelEvent {
                at_ms: chrono::Utc::now().timestamp_millis(),
                sentinel: addr.to_string(),
                event: channel,
                detail,
            },
        );
    }
    Ok(())
}

/// What a sentinel says the master's address is.
pub async fn master_addr(conn: &mut MultiplexedConnection, name: &str) -> Result<String, String> {
    let addr: Option<Vec<String>> = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(name)
        .query_async(conn)
        .await
        .map_err(|e| e.to_string())?;
    match addr.as_deref() {
        Some([host, port]) => Ok(format!("{host}:{port}")),
        _ => Err(format!("sentinel does not monitor a master named {name:?}")),
    }
}

/// The full view of one master from one sentinel.
pub async fn view(
    conn: &mut MultiplexedConnection,
    name: &str,
    asked: &str,
) -> Result<SentinelView, String> {
    let master: Vec<String> = redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(name)
        .query_async(conn)
        .await
        .map_err(|e| format!("SENTINEL MASTER {name}: {e}"))?;
    let m = pairs(&master);
    let list = |sub: &'static str| {
        let mut c = conn.clone();
        async move {
            let v: Vec<Vec<String>> = redis::cmd("SENTINEL")
                .arg(sub)
                .arg(name)
                .query_async(&mut c)
                .await
                .map_err(|e| format!("SENTINEL {sub} {name}: {e}"))?;
            Ok::<_, String>(v.iter().map(|e| peer(&pairs(e))).collect::<Vec<_>>())
        }
    };
    let replicas = list("REPLICAS").await?;
    let sentinels = list("SENTINELS").await?;
    let ck: Result<String, _> = redis::cmd("SENTINEL")
        .arg("CKQUORUM")
        .arg(name)
        .query_async(conn)
        .await;
    let (ckquorum, ckquorum_ok) = match ck {
        Ok(s) => (s, true),
        Err(e) => (e.to_string(), false),
    };
    let mut me = peer(&m);
    me.flags = m.get("flags").cloned().unwrap_or_default();
    Ok(SentinelView {
        master_name: name.to_string(),
        master_addr: me.addr,
        master_flags: me.flags,
        quorum: m.get("quorum").and_then(|q| q.parse().ok()).unwrap_or(0),
        ckquorum,
        ckquorum_ok,
        replicas,
        sentinels,
        asked: asked.to_string(),
        config_epoch: m
            .get("config-epoch")
            .and_then(|e| e.parse().ok())
            .unwrap_or(0),
        master_role_secs: m
            .get("role-reported-time")
            .and_then(|t| t.parse::<u64>().ok())
            .map(|ms| ms / 1000),
        events: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_is_bounded() {
        let t: Timeline = Arc::default();
        for i in 0..(MAX_EVENTS + 5) {
            record(
                &t,
                SentinelEvent {
                    at_ms: i as i64,
                    ..Default::default()
                },
            );
        }
        let s = snapshot(&t);
        assert_eq!(s.len(), MAX_EVENTS);
        assert_eq!(s[0].at_ms, 5);
    }
}
