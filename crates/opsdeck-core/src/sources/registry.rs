//! The one list of monitored systems. `systems!` turns it into the types that carry any
//! system's values (a context's config, a source's spec, a sample, an operation) and the
//! dispatch from those onto each system's `System` implementation. Adding a system is its
//! folder plus one line at the bottom of this file.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

use super::runner;
use super::system::{At, Done, Entries, FleetFigure, Offer, Planned, Planning, Problem, System};
use crate::keymap::Action;
use crate::metrics::{Builtin, Metric, Point};
use crate::secrets::SecretSpec;
use crate::series::{Family, Limits, Series};
use crate::timeline::TimelineEvent;
use crate::views::{Detail, Pane, PaneModel};

macro_rules! systems {
    // The system is named by its folder under `sources/`, so a new line needs no import.
    ($( $key:ident : $Variant:ident => $folder:ident :: $System:ident ),* $(,)?) => {
        /// A context: one environment (`[contexts.NAME]`), with an entry list per system.
        #[derive(Debug, Clone, Default, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct ContextSpec {
            /// Colour of the context name in the header: a theme colour name or #rrggbb.
            pub color: Option<String>,
            /// Refuse every action that changes a system.
            #[serde(default)]
            pub readonly: bool,
            /// Production contexts need the context name typed to confirm any action.
            #[serde(default)]
            pub production: bool,
            /// `[capacity]` of the config file, copied into every context when it is read.
            #[serde(skip)]
            pub capacity: crate::capacity::CapacitySpec,
            $(
                #[serde(default)]
                pub $key: <super::$folder::$System as System>::Entries,
            )*
        }

        impl Entries for ContextSpec {
            fn capacity(&self) -> crate::capacity::CapacitySpec {
                self.capacity.clone()
            }
            fn entry_any(&self, label: &str, name: &str) -> Option<&dyn std::any::Any> {
                $(
                    if label == <super::$folder::$System as System>::LABEL {
                        return <super::$folder::$System as System>::instances(&self.$key)
                            .iter()
                            .find(|s| <super::$folder::$System as System>::name(s) == name)
                            .map(|s| s as &dyn std::any::Any);
                    }
                )*
                None
            }
        }

        impl ContextSpec {
            /// The built-in context of a machine with no config: each system's local default.
            pub fn local() -> ContextSpec {
                ContextSpec {
                    $($key: <super::$folder::$System as System>::local(),)*
                    ..Default::default()
                }
            }

            /// Whether an entry holds a password written in the file.
            pub fn has_inline_secret(&self) -> bool {
                false $(|| <super::$folder::$System as System>::instances(&self.$key).iter().any(<super::$folder::$System as System>::inline_secret))*
            }

            /// Config problems of every entry, with the entry's kind.
            pub fn problems(&self) -> Vec<(SourceKind, String, Problem)> {
                let mut out = Vec::new();
                $(
                    for s in <super::$folder::$System as System>::instances(&self.$key) {
                        for p in <super::$folder::$System as System>::validate(s, self) {
                            out.push((SourceKind::$Variant, <super::$folder::$System as System>::name(s).to_string(), p));
                        }
                    }
                )*
                out
            }
        }

        /// Which system a source, sample or operation belongs to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SourceKind { $($Variant),* }

        impl SourceKind {
            pub const ALL: &'static [SourceKind] = &[$(SourceKind::$Variant),*];

            pub fn label(self) -> &'static str {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::LABEL),* }
            }
            /// The config key (`[[contexts.NAME.key]]`).
            pub fn key(self) -> &'static str {
                match self { $(SourceKind::$Variant => stringify!($key)),* }
            }
            /// Other spellings `check --only` accepts.
            pub fn aliases(self) -> &'static [&'static str] {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::ALIASES),* }
            }
            pub fn pane(self) -> Pane {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::PANE),* }
            }
            pub fn tile_names_source(self) -> bool {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::TILE_NAMES_SOURCE),* }
            }
            pub fn metrics(self) -> &'static [Metric] {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::METRICS),* }
            }
            pub fn fleet(self) -> &'static [FleetFigure] {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::FLEET),* }
            }
            pub fn fleet_none(self) -> &'static str {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::FLEET_NONE),* }
            }
            pub fn builtins(self) -> &'static [Builtin] {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::BUILTINS),* }
            }
            pub fn verbs(self) -> &'static [Action] {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::VERBS),* }
            }
            /// The exported families besides the metrics (`System::SERIES`).
            pub fn series(self) -> &'static [Family] {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::SERIES),* }
            }
            pub fn subject_label(self, metric: &str) -> &'static str {
                match self { $(SourceKind::$Variant => <super::$folder::$System as System>::subject_label(metric)),* }
            }
        }

        /// What to poll: one configured thing of a context.
        #[derive(Debug, Clone, PartialEq)]
        pub enum SourceSpec { $($Variant(<super::$folder::$System as System>::Spec)),* }

        impl SourceSpec {
            pub fn kind(&self) -> SourceKind {
                match self { $(SourceSpec::$Variant(_) => SourceKind::$Variant),* }
            }
            pub fn name(&self) -> &str {
                match self { $(SourceSpec::$Variant(s) => <super::$folder::$System as System>::name(s)),* }
            }
            pub fn secret(&self) -> SecretSpec {
                match self { $(SourceSpec::$Variant(s) => <super::$folder::$System as System>::secret(s)),* }
            }
            pub fn target(&self) -> String {
                match self { $(SourceSpec::$Variant(s) => <super::$folder::$System as System>::target(s)),* }
            }
        }

        /// Every source of a context, in registry (pane) order.
        pub fn plan(ctx: &ContextSpec) -> Vec<SourceSpec> {
            let mut out = Vec::new();
            $(
                out.extend(
                    <super::$folder::$System as System>::instances(&ctx.$key).iter().cloned().map(SourceSpec::$Variant),
                );
            )*
            out
        }

        /// One poll's result, owned and typed.
        #[derive(Debug, Clone, Serialize)]
        #[serde(untagged)]
        pub enum Sample { $($Variant(Box<<super::$folder::$System as System>::Sample>)),* }

        impl Sample {
            pub fn kind(&self) -> SourceKind {
                match self { $(Sample::$Variant(_) => SourceKind::$Variant),* }
            }
            pub fn model(&self) -> PaneModel {
                match self { $(Sample::$Variant(s) => <super::$folder::$System as System>::model(s)),* }
            }
            pub fn detail(&self, table: usize, key: &str) -> Option<Detail> {
                match self { $(Sample::$Variant(s) => <super::$folder::$System as System>::detail(s, table, key)),* }
            }
            pub fn capacity(&self) -> &[crate::capacity::Forecast] {
                match self { $(Sample::$Variant(s) => <super::$folder::$System as System>::capacity(s)),* }
            }
            pub fn measure(&self, metric: &str, source: &str) -> Vec<Point> {
                match self { $(Sample::$Variant(s) => <super::$folder::$System as System>::measure(s, metric, source)),* }
            }
            /// What the exporter serves for this sample (`System::series`).
            pub fn series(&self, source: &str, limits: &Limits) -> Vec<Series> {
                match self { $(Sample::$Variant(s) => <super::$folder::$System as System>::series(s, source, limits)),* }
            }
            /// What `action` means at `at` (see `System::plan`).
            pub fn plan(&self, at: &At, action: Action, input: Option<&str>) -> Planning<Op> {
                match self {
                    $(Sample::$Variant(s) => <super::$folder::$System as System>::plan(s, at, action, input)
                        .map(|r| r.map(|p| p.map(Op::$Variant))),)*
                }
            }
            /// The command `action` means on row `key` of table `table`, as the console plans
            /// it with nothing marked: `None` when the verb does not apply there, an error when
            /// it is refused or would first ask for a parameter.
            pub fn command(&self, table: usize, key: &str, action: Action) -> Option<Result<Planned<Op>, String>> {
                let marked = std::collections::BTreeSet::new();
                let at = At { table, key: (!key.is_empty()).then_some(key), marked: &marked };
                self.plan(&at, action, None).map(|r| match r? {
                    super::system::Plan::Ready(p) => Ok(p),
                    super::system::Plan::Ask(q) => Err(format!("asks first: {q}")),
                })
            }
            pub fn offers(&self, at: &At) -> Vec<Offer> {
                match self { $(Sample::$Variant(s) => <super::$folder::$System as System>::offers(s, at)),* }
            }
            /// The timeline's events between `prev` and this sample of source `source` (see
            /// `System::events`; a `prev` of another system counts as none).
            pub fn events(&self, prev: Option<&Sample>, source: &str, now: chrono::DateTime<chrono::Utc>) -> Vec<TimelineEvent> {
                match self {
                    $(Sample::$Variant(next) => {
                        #[allow(unreachable_patterns)]
                        let prev = match prev { Some(Sample::$Variant(p)) => Some(&**p), _ => None };
                        <super::$folder::$System as System>::events(prev, next, now)
                            .into_iter()
                            .map(|e| e.of(<super::$folder::$System as System>::LABEL, source))
                            .collect()
                    })*
                }
            }
            /// A row's text for the clipboard (see `System::copy_text`).
            pub fn copy_text(&self, table: usize, key: &str) -> Option<String> {
                match self { $(Sample::$Variant(s) => <super::$folder::$System as System>::copy_text(s, table, key)),* }
            }
        }

        $(
            impl From<<super::$folder::$System as System>::Sample> for Sample {
                fn from(s: <super::$folder::$System as System>::Sample) -> Sample {
                    Sample::$Variant(Box::new(s))
                }
            }
        )*

        /// An operation on one system, as previewed, confirmed, executed and audited.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "system", rename_all = "snake_case")]
        pub enum Op { $($Variant(<super::$folder::$System as System>::Op)),* }

        impl Op {
            pub fn kind(&self) -> SourceKind {
                match self { $(Op::$Variant(_) => SourceKind::$Variant),* }
            }
            /// Exactly what will run, for the preview and the audit log.
            pub fn describe(&self) -> String {
                match self { $(Op::$Variant(o) => <super::$folder::$System as System>::describe(o)),* }
            }
            pub fn changes_system(&self) -> bool {
                match self { $(Op::$Variant(o) => <super::$folder::$System as System>::changes_system(o)),* }
            }
            pub fn long_running(&self) -> bool {
                match self { $(Op::$Variant(o) => <super::$folder::$System as System>::long_running(o)),* }
            }
            pub fn unknown_after(&self, error: &str) -> bool {
                match self { $(Op::$Variant(o) => <super::$folder::$System as System>::unknown_after(o, error)),* }
            }
        }

        /// Runs `op` against the source named `source` of its kind in `ctx`.
        pub async fn execute(op: &Op, source: &str, ctx: &ContextSpec) -> Result<String, String> {
            let missing = || format!("{} source {source:?} is not in this context", op.kind().label());
            match op {
                $(Op::$Variant(o) => {
                    let spec = <super::$folder::$System as System>::instances(&ctx.$key)
                        .iter()
                        .find(|s| <super::$folder::$System as System>::name(s) == source)
                        .ok_or_else(missing)?;
                    <super::$folder::$System as System>::execute(o, spec, ctx).await
                })*
            }
        }

        /// Starts the task of one source; its updates go to `send`, results of actions on it
        /// come back through `done`.
        pub fn spawn(
            spec: SourceSpec,
            ctx: &ContextSpec,
            interval: Duration,
            now: Arc<Notify>,
            done: mpsc::UnboundedReceiver<Done<Op>>,
            send: impl FnMut(Update) -> bool + Send + 'static,
        ) -> tokio::task::JoinHandle<()> {
            match spec {
                $(SourceSpec::$Variant(s) => {
                    let poller = <super::$folder::$System as System>::poller(s, ctx);
                    tokio::spawn(runner::run(
                        poller,
                        interval,
                        now,
                        done,
                        |d: Done<Op>| match d.op {
                            #[allow(unreachable_patterns)]
                            Op::$Variant(op) => Some(Done { op, result: d.result, at: d.at }),
                            #[allow(unreachable_patterns)]
                            _ => None,
                        },
                        |s: <super::$folder::$System as System>::Sample| {
                            let model = <super::$folder::$System as System>::model(&s);
                            (Sample::from(s), model)
                        },
                        send,
                    ))
                })*
            }
        }

        /// A poller of any system, kept by a caller that schedules its polls itself (the
        /// fleet view): like a source task's poller, it keeps its connection and the history
        /// its verdicts are judged over.
        pub enum AnyPoller { $($Variant(Box<<super::$folder::$System as System>::Poller>)),* }

        impl AnyPoller {
            pub fn new(spec: SourceSpec, ctx: &ContextSpec) -> AnyPoller {
                match spec {
                    $(SourceSpec::$Variant(s) => AnyPoller::$Variant(Box::new(<super::$folder::$System as System>::poller(s, ctx))),)*
                }
            }

            /// One poll, cut at `timeout`; after an error the connection is dropped, so the
            /// next poll reconnects.
            pub async fn poll(&mut self, timeout: Duration) -> Result<Sample, String> {
                match self {
                    $(AnyPoller::$Variant(p) => runner::kept(p.as_mut(), timeout).await.map(Sample::from),)*
                }
            }
        }

        /// One poll of one source (for `check` and `snapshot`), with a timeout.
        pub async fn poll_once(spec: SourceSpec, ctx: &ContextSpec, timeout: Duration) -> Result<Sample, String> {
            match spec {
                $(SourceSpec::$Variant(s) => {
                    runner::once(<super::$folder::$System as System>::poller(s, ctx), timeout).await.map(Sample::from)
                })*
            }
        }
    };
}

/// What a source task reports to the console.
pub type Update = runner::Update<Sample>;

/// A planned command with the system's operation wrapped.
pub type PlannedOp = Planned<Op>;

systems! {
    kafka: Kafka => kafka::Kafka,
    postgres: Postgres => postgres::Postgres,
    mysql: Mysql => mysql::Mysql,
    redis: Redis => redis::Redis,
    backups: Backup => backups::Backups,
    endpoints: Endpoint => endpoints::Endpoints,
    host: Host => host::Host,
}

impl Serialize for SourceKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}
