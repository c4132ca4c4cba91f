//! One tokio task per source: it polls on its interval, sends owned, typed samples (with
//! their view model built off the loop) into the loop's channel, reports its own status, and
//! reconnects by itself with backoff. A poll that hangs is cut off by a timeout, so a dead
//! backend never holds anything but its own pane.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, mpsc};

use super::system::{Done, Poller};
use crate::views::PaneModel;

/// A source's health as its pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "error")]
pub enum Status {
    Connecting,
    Ok,
    Error(String),
}

/// What a source task reports (`S`: the registry's `Sample`).
#[derive(Debug, Clone)]
pub enum Update<S> {
    Status(Status),
    /// A sample whose view model the loop builds (tests feed these).
    Sample(S),
    /// A sample with its view model already built by the source task, so a big sample
    /// (10k partitions) costs the loop nothing but a move.
    Modelled(S, Box<PaneModel>),
    /// How long the poll whose result follows took (the exporter's poll duration).
    Took(Duration),
}

/// What the console tells a source's task besides "poll now".
#[derive(Debug, Clone)]
pub enum Control<D> {
    /// The result of an action on this source (`D`: the registry's `Done<Op>`).
    Done(D),
    /// Which of the source's tabs is on screen (its title), `None` when none is.
    Visible(Option<String>),
}

/// Hands one control message to the poller; true when it asks for a poll at once.
fn take<P: Poller, D>(
    poller: &mut P,
    c: Control<D>,
    pick: &impl Fn(D) -> Option<Done<P::Op>>,
) -> bool {
    match c {
        Control::Done(d) => match pick(d) {
            Some(d) => {
                poller.absorb(&d);
                true
            }
            None => false,
        },
        Control::Visible(tab) => poller.visible(tab.as_deref()),
    }
}

/// A view model that took at most this long last time is built on the source's task; a
/// longer one (a sample of 10k partitions) on a blocking thread, off the runtime's workers.
const INLINE_MODEL: Duration = Duration::from_millis(2);

/// Longest a single poll may take before it counts as hung.
pub fn poll_timeout(interval: Duration) -> Duration {
    // A first Kafka poll of 10k partitions takes ~7 s on a loaded 2-core machine.
    (interval * 5).clamp(Duration::from_secs(10), Duration::from_secs(30))
}

/// Exponential backoff between reconnect attempts, capped.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let base = interval.max(Duration::from_millis(500));
    (base * 2u32.saturating_pow(failures.saturating_sub(1).min(5))).min(Duration::from_secs(30))
}

/// Runs a poller until the receiving side closes. `now` wakes it early (the refresh key);
/// `control` brings back the results of actions on this source (`pick` keeps this
/// system's) and what the console shows of it.
pub async fn run<P: Poller, D, S: Send + 'static>(
    mut poller: P,
    interval: Duration,
    now: Arc<Notify>,
    mut control: mpsc::UnboundedReceiver<Control<D>>,
    pick: impl Fn(D) -> Option<Done<P::Op>>,
    model: impl Fn(P::Sample) -> (S, PaneModel) + Send + Sync + 'static,
    mut send: impl FnMut(Update<S>) -> bool,
) {
    if !send(Update::Status(Status::Connecting)) {
        return;
    }
    let model = Arc::new(model);
    let mut failures = 0u32;
    // How long the last view model took to build: small ones are built in place.
    let mut last_build: Option<Duration> = None;
    loop {
        while let Ok(c) = control.try_recv() {
            take(&mut poller, c, &pick);
        }
        let started = tokio::time::Instant::now();
        let result = match tokio::time::timeout(poll_timeout(interval), poller.poll()).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer within {}s (hung?)",
                poll_timeout(interval).as_secs()
            )),
        };
        if !send(Update::Took(started.elapsed())) {
            return;
        }
        let keep_going = match result {
            Ok(sample) => {
                failures = 0;
                let built = if last_build.is_some_and(|t| t <= INLINE_MODEL) {
                    // Microseconds: a hop to a blocking thread (and its wake-up) would cost
                    // more than the work.
                    let t = std::time::Instant::now();
                    let r =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model(sample)))
                            .map_err(|_| "the view model panicked".to_string());
                    last_build = Some(t.elapsed());
                    r
                } else {
                    let model = Arc::clone(&model);
                    tokio::task::spawn_blocking(move || {
                        let t = std::time::Instant::now();
                        (model(sample), t.elapsed())
                    })
                    .await
                    .map(|(r, took)| {
                        last_build = Some(took);
                        r
                    })
                    .map_err(|e| e.to_string())
                };
                match built {
                    Ok((sample, m)) => send(Update::Modelled(sample, Box::new(m))),
                    Err(e) => send(Update::Status(Status::Error(format!(
                        "building the view failed: {e}"
                    )))),
                }
            }
            Err(e) => {
                failures += 1;
                poller.reset();
                tracing::warn!(error = %e, "poll failed");
                send(Update::Status(Status::Error(e)))
            }
        };
        if !keep_going {
            return;
        }
        let took = started.elapsed();
        let until = if failures > 0 {
            tokio::time::Instant::now() + backoff(interval, failures)
        } else if took < interval {
            on_grid(started + interval, interval)
        } else {
            // A poll slower than the refresh (a 10k-partition cluster) rests as long as it
            // worked, rather than running back to back: at most half the time polling.
            tokio::time::Instant::now() + took
        };
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                _ = now.notified() => break,
                Some(c) = control.recv() => {
                    // A result arrived, or a tab whose list is read only while shown opened:
                    // poll at once so it shows. Other tab changes keep the rhythm.
                    if take(&mut poller, c, &pick) {
                        break;
                    }
                }
            }
        }
    }
}

/// `at` moved by at most half an interval onto the wall clock's multiples of the interval
/// (never into the past), so a console's sources, whenever they started or were woken, poll
/// on the same ticks and their answers share one frame and one wakeup.
fn on_grid(at: tokio::time::Instant, interval: Duration) -> tokio::time::Instant {
    let step = interval.as_millis() as u64;
    if step == 0 {
        return at;
    }
    let now = tokio::time::Instant::now();
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        + at.saturating_duration_since(now);
    let off = Duration::from_millis(wall.as_millis() as u64 % step);
    match at.checked_sub(off) {
        Some(earlier) if off <= interval / 2 && earlier >= now => earlier,
        _ => at + (interval - off),
    }
}

/// One poll with a timeout (for `check` and `snapshot`).
pub async fn once<P: Poller>(mut p: P, timeout: Duration) -> Result<P::Sample, String> {
    match tokio::time::timeout(timeout, p.poll()).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {}s", timeout.as_secs())),
    }
}

/// One poll of a poller that is kept for the next one, with a timeout; an error (a timeout
/// too) resets it.
pub async fn kept<P: Poller>(p: &mut P, timeout: Duration) -> Result<P::Sample, String> {
    let r = match tokio::time::timeout(timeout, p.poll()).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no answer within {} (hung?)",
            crate::views::fmt::duration(timeout)
        )),
    };
    if r.is_err() {
        p.reset();
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::host::HostSample;
    use crate::sources::registry::Sample;
    use crate::sources::system::NoOp;

    fn model(s: HostSample) -> (Sample, PaneModel) {
        (Sample::from(s), PaneModel::default())
    }

    /// Runs `p` with no action results and the model above.
    async fn run_plain<P: Poller<Sample = HostSample, Op = NoOp>>(
        p: P,
        interval: Duration,
        send: impl FnMut(Update<Sample>) -> bool,
    ) {
        let (_tx, rx) = mpsc::unbounded_channel::<Control<Done<NoOp>>>();
        run(p, interval, Arc::new(Notify::new()), rx, Some, model, send).await
    }

    #[test]
    fn backoff_grows_and_caps() {
        let i = Duration::from_secs(2);
        assert_eq!(backoff(i, 1), Duration::from_secs(2));
        assert_eq!(backoff(i, 2), Duration::from_secs(4));
        assert_eq!(backoff(i, 3), Duration::from_secs(8));
        assert_eq!(backoff(i, 10), Duration::from_secs(30));
    }

    struct Flaky(u32);
    impl Poller for Flaky {
        type Sample = HostSample;
        type Op = NoOp;
        async fn poll(&mut self) -> Result<HostSample, String> {
            self.0 += 1;
            if self.0 == 1 {
                Err("down".into())
            } else {
                Ok(HostSample::default())
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn runner_reports_error_then_recovers_by_itself() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_plain(Flaky(0), Duration::from_secs(1), move |u| {
            tx.send(u).is_ok()
        }));
        assert!(matches!(
            rx.recv().await,
            Some(Update::Status(Status::Connecting))
        ));
        assert!(matches!(rx.recv().await, Some(Update::Took(_))));
        assert!(matches!(rx.recv().await, Some(Update::Status(Status::Error(e))) if e == "down"));
        assert!(matches!(rx.recv().await, Some(Update::Took(_))));
        assert!(matches!(
            rx.recv().await,
            Some(Update::Modelled(Sample::Host(_), _))
        ));
        task.abort();
    }

    #[test]
    fn the_next_poll_lands_on_the_wall_clocks_multiples_of_the_interval() {
        let interval = Duration::from_secs(2);
        for lead in [0, 300, 900, 1100, 1700, 2000] {
            let now = tokio::time::Instant::now();
            let at = now + interval + Duration::from_millis(lead);
            let next = on_grid(at, interval);
            // Never earlier than now, never more than half an interval early or one late.
            assert!(next >= now);
            assert!(next + interval / 2 >= at && next <= at + interval);
            // The wall clock at `next` is a multiple of 2 s, but for the few microseconds
            // between reading the two clocks here and in on_grid.
            let wall = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                + next.saturating_duration_since(tokio::time::Instant::now());
            let phase = wall.as_millis() % 2000;
            assert!(
                !(50..=1950).contains(&phase),
                "phase {phase} ms for lead {lead}"
            );
        }
    }

    struct Slow;
    impl Poller for Slow {
        type Sample = HostSample;
        type Op = NoOp;
        async fn poll(&mut self) -> Result<HostSample, String> {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(HostSample::default())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_slower_than_the_refresh_rests_as_long_as_it_took() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let t0 = tokio::time::Instant::now();
        let task = tokio::spawn(run_plain(Slow, Duration::from_secs(2), move |u| {
            // Durations are not what this test is about.
            matches!(u, Update::Took(_))
                || tx
                    .send((tokio::time::Instant::now() - t0).as_secs())
                    .is_ok()
        }));
        let mut secs = Vec::new();
        for _ in 0..3 {
            secs.extend(rx.recv().await);
        }
        task.abort();
        // Connecting at 0; a sample at 3 s, then a 3 s rest (not 0) and a 3 s poll: 9 s.
        assert_eq!(secs, vec![0, 3, 9]);
    }

    /// Counts polls; asks a poll at once when the "List" tab opens.
    struct Lists {
        shown: crate::sources::onscreen::OnScreen,
        polls: Arc<std::sync::atomic::AtomicU32>,
        listed: Arc<std::sync::atomic::AtomicU32>,
    }
    impl Poller for Lists {
        type Sample = HostSample;
        type Op = NoOp;
        async fn poll(&mut self) -> Result<HostSample, String> {
            use std::sync::atomic::Ordering::SeqCst;
            self.polls.fetch_add(1, SeqCst);
            if self.shown.wanted() {
                self.listed.fetch_add(1, SeqCst);
            }
            Ok(HostSample::default())
        }
        fn visible(&mut self, tab: Option<&str>) -> bool {
            self.shown.tell(tab)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opening_a_listed_tab_polls_at_once_and_other_tabs_keep_the_rhythm() {
        use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
        let polls = Arc::new(AtomicU32::new(0));
        let listed = Arc::new(AtomicU32::new(0));
        let p = Lists {
            shown: crate::sources::onscreen::OnScreen::new(&["List"]),
            polls: polls.clone(),
            listed: listed.clone(),
        };
        let (ctl, rx) = mpsc::unbounded_channel::<Control<Done<NoOp>>>();
        // The console says what is shown before the first poll.
        ctl.send(Control::Visible(None)).unwrap();
        let (tx, mut updates) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            p,
            Duration::from_secs(10),
            Arc::new(Notify::new()),
            rx,
            Some,
            model,
            move |u| tx.send(u).is_ok(),
        ));
        // Each poll's result comes after its duration (`Took`): wait for the result.
        let mut next_result = async || {
            while let Some(u) = updates.recv().await {
                if !matches!(u, Update::Status(_) | Update::Took(_)) {
                    return;
                }
            }
        };
        next_result().await; // the first sample
        assert_eq!((polls.load(SeqCst), listed.load(SeqCst)), (1, 0));
        ctl.send(Control::Visible(Some("Other".into()))).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(polls.load(SeqCst), 1, "another tab waits for the refresh");
        let opened = tokio::time::Instant::now();
        ctl.send(Control::Visible(Some("List 127.0.0.1".into())))
            .unwrap();
        next_result().await;
        assert_eq!((polls.load(SeqCst), listed.load(SeqCst)), (2, 1));
        // The clock is paused: the poll ran without waiting for the 10 s refresh.
        assert_eq!(opened.elapsed(), Duration::ZERO);
        ctl.send(Control::Visible(None)).unwrap();
        next_result().await; // the next poll, at the refresh
        assert_eq!((polls.load(SeqCst), listed.load(SeqCst)), (3, 1));
        task.abort();
    }

    struct Hung;
    impl Poller for Hung {
        type Sample = HostSample;
        type Op = NoOp;
        async fn poll(&mut self) -> Result<HostSample, String> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_poll_becomes_an_error() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_plain(Hung, Duration::from_secs(2), move |u| {
            tx.send(u).is_ok()
        }));
        rx.recv().await;
        assert!(matches!(rx.recv().await, Some(Update::Took(d)) if d.as_secs() == 10));
        match rx.recv().await {
            Some(Update::Status(Status::Error(e))) => {
                assert!(e.contains("no answer within 10s"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        task.abort();
    }
}
