//! The loop: one channel in, `update`, effects out, and a throttled render only when
//! something visible changed. Sources, input, signals, the clock and actions are tasks that
//! send into the channel; none of them touches the state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use futures::StreamExt;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::event::{Effect, Event};
use super::state::State;
use super::terminal;
use crate::actions::{self, audit};
use crate::sources::system::Done;
use crate::sources::{Control, Update};
use crate::theme::Theme;

/// Renders at most this often; events arriving in between are folded into one frame.
const FRAME_BUDGET: Duration = Duration::from_millis(10);
/// How long a frame nobody waits for (a poll's answer) waits for the other sources' answers
/// of the same tick, so one frame shows them all instead of one frame each.
const SETTLE: Duration = Duration::from_millis(200);
/// How long quitting waits for actions still running before it records them abandoned.
const QUIT_WAIT: Duration = Duration::from_secs(10);

pub struct Runtime {
    pub audit_log: std::path::PathBuf,
    pub config_dir: std::path::PathBuf,
}

type DoneTx = mpsc::UnboundedSender<Control>;

struct Sources {
    tasks: Vec<JoinHandle<()>>,
    /// Per source (same index as `state.sources`): where results of actions on it and
    /// what is on screen of it go.
    done: Vec<DoneTx>,
    now: Arc<Notify>,
}

impl Sources {
    fn start(state: &State, tx: &mpsc::UnboundedSender<Event>) -> Sources {
        let now = Arc::new(Notify::new());
        let generation = state.generation;
        let mut done = Vec::new();
        let tasks = state
            .specs()
            .into_iter()
            .enumerate()
            .map(|(index, spec)| {
                let (done_tx, done_rx) = mpsc::unbounded_channel();
                // Said before the first poll, so a closed tab's list is never read.
                let shown = state.shown.get(index).cloned().flatten();
                let _ = done_tx.send(Control::Visible(shown));
                done.push(done_tx);
                let tx = tx.clone();
                crate::sources::spawn(
                    spec,
                    &state.ctx,
                    state.config.refresh,
                    now.clone(),
                    done_rx,
                    move |update| {
                        if !reaches_the_loop(&update) {
                            return !tx.is_closed();
                        }
                        tx.send(Event::Source {
                            generation,
                            index,
                            update,
                        })
                        .is_ok()
                    },
                )
            })
            .collect();
        Sources { tasks, done, now }
    }

    /// The result channel of the source a command ran against.
    fn done_of(&self, state: &State, cmd: &actions::Command) -> Option<DoneTx> {
        let i = state
            .sources
            .iter()
            .position(|s| s.kind == cmd.kind && s.name == cmd.source)?;
        self.done.get(i).cloned()
    }

    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.done.clear();
    }
}

/// Whether a source's update is worth waking the loop for: the console shows no poll
/// durations (the exporter does), so a poll wakes it once, not twice.
fn reaches_the_loop(update: &Update) -> bool {
    !matches!(update, Update::Took(_))
}

/// The fleet's polls while the fleet view is open.
#[derive(Default)]
struct FleetTask {
    task: Option<(JoinHandle<()>, Arc<Notify>)>,
}

impl FleetTask {
    fn start(&mut self, state: &State, tx: &mpsc::UnboundedSender<Event>) {
        if self.task.is_some() {
            return;
        }
        let contexts: Vec<crate::config::Context> = state
            .config
            .contexts
            .keys()
            .filter_map(|name| state.config.context(name))
            .collect();
        let rules = Arc::new(state.config.alerts.clone());
        let every = state.config.fleet_refresh;
        // A source is cut as the console's own are, and never after the next round is due.
        let timeout = crate::sources::poll_timeout(state.config.refresh).min(every);
        let now = Arc::new(Notify::new());
        let tx = tx.clone();
        let task = tokio::spawn(crate::fleet::run(
            contexts,
            rules,
            every,
            timeout,
            now.clone(),
            move |p| tx.send(Event::Fleet(p)).is_ok(),
        ));
        self.task = Some((task, now));
    }

    fn poll_now(&self) {
        if let Some((_, now)) = &self.task {
            now.notify_waiters();
        }
    }

    fn stop(&mut self) {
        if let Some((task, _)) = self.task.take() {
            task.abort();
        }
    }
}

fn spawn_input(tx: mpsc::UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut events = crossterm::event::EventStream::new();
        while let Some(ev) = events.next().await {
            let ev = match ev {
                Ok(crossterm::event::Event::Key(k)) => Event::Key(k),
                Ok(crossterm::event::Event::Mouse(m)) => Event::Mouse(m),
                Ok(crossterm::event::Event::Resize(w, h)) => Event::Resize(w, h),
                Ok(_) => continue,
                Err(_) => Event::Terminate,
            };
            if tx.send(ev).is_err() {
                break;
            }
        }
    });
}

fn spawn_signals(tx: mpsc::UnboundedSender<Event>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(Event::Terminate);
    });
    Ok(())
}

/// Wakes the loop when the minute changes (the header shows HH:MM).
fn spawn_clock(tx: mpsc::UnboundedSender<Event>) {
    tokio::spawn(async move {
        loop {
            let secs = 60 - chrono::Local::now().second() as u64;
            tokio::time::sleep(Duration::from_secs(secs)).await;
            if tx.send(Event::Clock).is_err() {
                break;
            }
        }
    });
}

pub async fn run(mut state: State, rt: Runtime) -> color_eyre::Result<()> {
    terminal::install_panic_hook();
    let mut term = terminal::enter()?;
    let size = term.size()?;
    state.size = (size.width, size.height);
    let result = event_loop(&mut term, state, rt).await;
    terminal::leave();
    result
}

async fn event_loop(
    term: &mut terminal::Term,
    mut state: State,
    rt: Runtime,
) -> color_eyre::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    // Signals first: a SIGTERM that arrives once the first frame is up must restore the
    // terminal, not kill the process on the alternate screen.
    spawn_signals(tx.clone())?;
    let trimmer = std::sync::Arc::new(crate::memory::Trimmer::default());
    // The first frame goes out before any source is even started.
    terminal::draw(term, state.size, |f| crate::ui::draw(f, &state))?;
    state.dirty = false;
    let mut last_frame = Instant::now();
    spawn_input(tx.clone());
    spawn_clock(tx.clone());
    let data_dir = crate::config::paths::data_dir();
    let timeline_path = crate::timeline::store::file(&data_dir);
    // Before the sources start, so what they recover is matched with what was kept.
    load_timeline(&mut state, &timeline_path, &rt.audit_log).await;
    let mut sources = Sources::start(&state, &tx);
    let mut fleet = FleetTask::default();
    if state.fleet.open {
        fleet.start(&state, &tx);
    }
    let inbox_path = crate::alerts::Inbox::file(&data_dir);
    match tokio::task::spawn_blocking({
        let p = inbox_path.clone();
        move || crate::alerts::Inbox::load(&p)
    })
    .await
    {
        Ok(Ok(inbox)) => state.alert_desk.inbox = inbox,
        Ok(Err(e)) => {
            // A file that could not be read was moved aside: say so on screen.
            tracing::error!("alert inbox: {e}");
            state.message = Some((format!("alert inbox: {e}"), crate::views::Level::Warn));
        }
        Err(e) => tracing::error!("alert inbox not loaded: {e}"),
    }
    state.alert_desk.console = format!(
        "{}@{}",
        audit::os_user(),
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    );
    let alertmanager = start_alertmanager(&state, &tx);
    let mut in_flight = InFlight::default();

    // Since when the state has changed without being drawn, and whether a person waits.
    let mut dirty_since = Instant::now();
    let mut awaited = true;
    loop {
        let deadline = frame_due(last_frame, dirty_since, awaited);
        let was_dirty = state.dirty;
        let event = if state.dirty {
            tokio::select! {
                ev = rx.recv() => ev,
                _ = tokio::time::sleep_until(deadline.into()) => None,
            }
        } else {
            rx.recv().await
        };
        if let Some(ev) = event {
            in_flight.note(&ev);
            awaited |= ev.awaited();
            let mut sampled = ev.brings_a_sample();
            let mut effects = super::update::step(&mut state, ev, Utc::now());
            // Fold everything already queued into this frame.
            while let Ok(ev) = rx.try_recv() {
                in_flight.note(&ev);
                awaited |= ev.awaited();
                sampled |= ev.brings_a_sample();
                effects.extend(super::update::step(&mut state, ev, Utc::now()));
            }
            if sampled {
                trimmer.after_sample();
            }
            for effect in effects {
                match effect {
                    Effect::Quit => {
                        sources.stop();
                        fleet.stop();
                        in_flight.settle(term, &mut state, &mut rx, &rt).await;
                        return Ok(());
                    }
                    Effect::Suspend => {
                        terminal::suspend(term)?;
                        state.size = terminal::size()?;
                        state.dirty = true;
                        awaited = true;
                    }
                    Effect::RestartSources => {
                        sources.stop();
                        sources = Sources::start(&state, &tx);
                    }
                    Effect::PollNow => sources.now.notify_waiters(),
                    Effect::Visible { index, tab } => {
                        if let Some(c) = sources.done.get(index) {
                            let _ = c.send(Control::Visible(tab));
                        }
                    }
                    Effect::StartFleet => fleet.start(&state, &tx),
                    Effect::StopFleet => fleet.stop(),
                    Effect::PollFleetNow => fleet.poll_now(),
                    Effect::LoadTheme(name) => {
                        let tx = tx.clone();
                        let dir = rt.config_dir.clone();
                        tokio::task::spawn_blocking(move || {
                            let r = Theme::load_by_command(&name, &dir);
                            let _ = tx.send(Event::ThemeLoaded(r));
                        });
                    }
                    Effect::Execute(command, context) => {
                        let done = sources.done_of(&state, &command);
                        let id = in_flight.start(&command, &context);
                        spawn_action(&state, *command, context, id, &rt, tx.clone(), done)
                    }
                    Effect::AuditRefused(command, why) => {
                        let path = rt.audit_log.clone();
                        let ctx = state.context.clone();
                        tokio::task::spawn_blocking(move || {
                            if let Err(e) = audit::append(
                                &path,
                                &audit::AuditEntry::new(&ctx, &command, "refused", &why),
                            ) {
                                tracing::error!("audit log {}: {e}", path.display());
                            }
                        });
                    }
                    Effect::SaveInbox(json) => {
                        let path = inbox_path.clone();
                        let tx = tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let r = crate::alerts::Inbox::from_json(&json)
                                .and_then(|i| i.save_merged(&path, Utc::now()));
                            if let Err(e) = &r {
                                tracing::error!("alert inbox: {e}");
                            }
                            let _ = tx.send(Event::InboxSaved(r));
                        });
                    }
                    Effect::ReloadInbox => {
                        let path = inbox_path.clone();
                        let tx = tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let r = crate::alerts::Inbox::load(&path);
                            let _ = tx.send(Event::InboxSaved(r));
                        });
                    }
                    Effect::PushAlerts(alerts) => {
                        if let Some((client, base)) = alertmanager.clone() {
                            let tx = tx.clone();
                            tokio::spawn(async move {
                                let r = crate::alerts::alertmanager::push(&client, &base, &alerts)
                                    .await;
                                if let Err(e) = &r {
                                    tracing::warn!("{e}");
                                }
                                let _ = tx.send(Event::AlertsPushed(r));
                            });
                        }
                    }
                    Effect::Bell => {
                        use std::io::Write;
                        let _ = term.backend_mut().write_all(b"\x07");
                    }
                    Effect::AppendTimeline(events) => {
                        let path = timeline_path.clone();
                        tokio::task::spawn_blocking(move || {
                            if let Err(e) = crate::timeline::store::append(&path, &events) {
                                tracing::error!("timeline: {e}");
                            }
                        });
                    }
                    Effect::Copy(text) => {
                        use std::io::Write;
                        let (seq, cut) = super::osc52::sequence(&text);
                        let b = term.backend_mut();
                        let _ = b.write_all(&seq).and_then(|_| b.flush());
                        if cut {
                            state.message = Some((
                                "copied the first 55 KiB (terminals take no more at once)".into(),
                                crate::views::Level::Warn,
                            ));
                            state.dirty = true;
                        }
                    }
                    Effect::WriteNote { name, text } => {
                        let dir = data_dir.join("notes");
                        let tx = tx.clone();
                        tokio::task::spawn_blocking(move || {
                            let _ = tx.send(Event::NoteWritten(write_note(&dir, &name, &text)));
                        });
                    }
                }
            }
            if state.quit {
                sources.stop();
                fleet.stop();
                in_flight.settle(term, &mut state, &mut rx, &rt).await;
                return Ok(());
            }
        }
        if state.dirty && !was_dirty {
            dirty_since = Instant::now();
        }
        // A key that changed nothing leaves no one waiting for the next poll's frame.
        awaited &= state.dirty;
        if state.dirty && Instant::now() >= frame_due(last_frame, dirty_since, awaited) {
            state.settle();
            terminal::draw(term, state.size, |f| crate::ui::draw(f, &state))?;
            state.dirty = false;
            awaited = false;
            last_frame = Instant::now();
        }
    }
}

/// When the next frame may be drawn: at once (within the frame budget) for a person, after
/// the settle time for the rest.
fn frame_due(last_frame: Instant, dirty_since: Instant, awaited: bool) -> Instant {
    let soonest = last_frame + FRAME_BUDGET;
    if awaited {
        soonest
    } else {
        soonest.max(dirty_since + SETTLE)
    }
}

/// The audit log is read from its end, at most this much (its older actions are older
/// than the timeline keeps anyway on a busy console).
const AUDIT_TAIL: u64 = 4 * 1024 * 1024;

/// The kept timeline and the audit log's actions of earlier runs, into the state.
async fn load_timeline(state: &mut State, path: &std::path::Path, audit: &std::path::Path) {
    let (path, audit) = (path.to_path_buf(), audit.to_path_buf());
    let started = Utc::now();
    let r = tokio::task::spawn_blocking(move || {
        let loaded = crate::timeline::store::load(&path, started)?;
        if loaded.skipped > 0 {
            tracing::warn!(
                "timeline {}: skipped {} unreadable lines",
                path.display(),
                loaded.skipped
            );
        }
        let mut events = loaded.events;
        let text = tail(&audit, AUDIT_TAIL).unwrap_or_default();
        events.extend(crate::timeline::derive::audit(&text, started));
        Ok::<_, String>(events)
    })
    .await;
    match r {
        Ok(Ok(events)) => super::timeline::loaded(state, events),
        Ok(Err(e)) => {
            tracing::error!("timeline: {e}");
            state.message = Some((format!("timeline: {e}"), crate::views::Level::Warn));
        }
        Err(e) => tracing::error!("timeline not loaded: {e}"),
    }
}

/// The last `max` bytes of a file, from its first whole line.
fn tail(path: &std::path::Path, max: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(max);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Ok(match (start > 0, text.find('\n')) {
        (true, Some(i)) => text[i + 1..].to_string(),
        _ => text,
    })
}

/// Writes an incident note, readable by its owner only (it may hold queries and names).
fn write_note(dir: &std::path::Path, name: &str, text: &str) -> Result<std::path::PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// With `alerts.alertmanager` set: an HTTP client for pushes, and a task pulling
/// Alertmanager's alerts every `alertmanager_interval`.
fn start_alertmanager(
    state: &State,
    tx: &mpsc::UnboundedSender<Event>,
) -> Option<(reqwest::Client, String)> {
    let base = state.config.alerts.alertmanager.clone()?;
    let every = state.config.alerts.alertmanager_interval;
    let client = match crate::alerts::alertmanager::client(Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(Event::AlertsPulled(Err(e)));
            return None;
        }
    };
    let (c, b, tx) = (client.clone(), base.clone(), tx.clone());
    tokio::spawn(async move {
        loop {
            let r = crate::alerts::alertmanager::pull(&c, &b).await;
            if tx.send(Event::AlertsPulled(r)).is_err() {
                break;
            }
            tokio::time::sleep(every).await;
        }
    });
    Some((client, base))
}

/// Actions started from this console and not finished yet, for quitting: they get
/// `QUIT_WAIT` to finish, the rest are recorded as abandoned.
#[derive(Default)]
struct InFlight {
    running: Vec<(String, actions::Command, String)>,
    count: u64,
}

impl InFlight {
    fn start(&mut self, cmd: &actions::Command, context: &str) -> String {
        self.count += 1;
        let id = format!(
            "{}-{}-{}",
            std::process::id(),
            Utc::now().timestamp(),
            self.count
        );
        self.running
            .push((id.clone(), cmd.clone(), context.to_string()));
        id
    }

    fn note(&mut self, ev: &Event) {
        if let Event::ActionDone { command, .. } = ev
            && let Some(i) = self
                .running
                .iter()
                .position(|(_, c, _)| c == command.as_ref())
        {
            self.running.remove(i);
        }
    }

    /// Waits (bounded) for what still runs, showing it, then writes "abandoned" for the rest.
    async fn settle(
        &mut self,
        term: &mut terminal::Term,
        state: &mut State,
        rx: &mut mpsc::UnboundedReceiver<Event>,
        rt: &Runtime,
    ) {
        if self.running.is_empty() {
            return;
        }
        state.message = Some((
            format!(
                "waiting up to {}s for {} running action(s) to finish…",
                QUIT_WAIT.as_secs(),
                self.running.len()
            ),
            crate::views::Level::Warn,
        ));
        state.settle();
        let _ = terminal::draw(term, state.size, |f| crate::ui::draw(f, state));
        let deadline = tokio::time::Instant::now() + QUIT_WAIT;
        while !self.running.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(ev)) => self.note(&ev),
                _ => break,
            }
        }
        for (id, cmd, context) in self.running.drain(..) {
            let entry = audit::AuditEntry::new(
                &context,
                &cmd,
                "abandoned",
                "the console quit before the action answered; check the system",
            )
            .with_id(&id);
            if let Err(e) = audit::append(&rt.audit_log, &entry) {
                tracing::error!("audit log {}: {e}", rt.audit_log.display());
            }
        }
    }
}

/// Runs a confirmed command on its own task: the audit log gets a synced "started" line
/// before it runs (nothing runs when that cannot be written), and its end after; only then
/// is the result reported to the loop and the source.
fn spawn_action(
    state: &State,
    command: actions::Command,
    context: String,
    id: String,
    rt: &Runtime,
    tx: mpsc::UnboundedSender<Event>,
    done: Option<DoneTx>,
) {
    let ctx = state.ctx.clone();
    let timeout = state.config.action_timeout;
    let path = rt.audit_log.clone();
    tokio::spawn(async move {
        let write = |outcome: &'static str, message: String| {
            let (path, command, context, id) =
                (path.clone(), command.clone(), context.clone(), id.clone());
            tokio::task::spawn_blocking(move || {
                audit::append(
                    &path,
                    &audit::AuditEntry::new(&context, &command, outcome, &message).with_id(&id),
                )
                .map_err(|e| format!("{}: {e}", path.display()))
            })
        };
        let started = write("started", String::new())
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
        let outcome = match started {
            Err(e) => actions::Outcome::Error(format!(
                "not run: the audit log could not be written first: {e}"
            )),
            Ok(()) => {
                let outcome = actions::run(&command, &ctx, timeout).await;
                let finished = write(outcome.label(), outcome.message().to_string())
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                match (outcome, finished) {
                    (o, Ok(())) => o,
                    (actions::Outcome::Ok(m), Err(e)) => actions::Outcome::Error(format!(
                        "{m}, but the audit log was not written: {e}"
                    )),
                    (actions::Outcome::Error(m), Err(e)) => {
                        actions::Outcome::Error(format!("{m}; audit log not written: {e}"))
                    }
                    (actions::Outcome::Unknown(m), Err(e)) => {
                        actions::Outcome::Unknown(format!("{m}; audit log not written: {e}"))
                    }
                }
            }
        };
        // The source learns what happened to it (a verification shows in its next sample).
        if let Some(done) = done {
            let _ = done.send(Control::Done(Done {
                op: command.op.clone(),
                result: outcome.clone().into_result(),
                at: crate::sources::now_local().to_rfc3339(),
            }));
        }
        let _ = tx.send(Event::ActionDone {
            command: Box::new(command),
            outcome,
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Status;

    #[test]
    fn a_poll_duration_does_not_wake_the_loop_but_everything_it_shows_does() {
        assert!(!reaches_the_loop(&Update::Took(Duration::from_millis(3))));
        assert!(reaches_the_loop(&Update::Status(Status::Connecting)));
        assert!(reaches_the_loop(&Update::Status(Status::Error(
            "down".into()
        ))));
    }
}
