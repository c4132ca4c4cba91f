//! The one list of monitored systems. `systems!` turns it into the types that carry any
//! system's values (a context's config, a source's spec, a sample, an operation) and the
//! dispatch from those onto each system's `System` implementation. Adding a system is its
//! folder plus one line at the bottom of this file.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

use super::runner;
use super::system::{At, Done, Entries, Offer, Planned, Planning, Problem, System};
use super::{backups, endpoints, host, kafka, postgres, redis};
use crate::keymap::Action;
use crate::metrics::{Builtin, Metric, Point};
use crate::secrets::SecretSpec;
use crate::views::{Detail, Pane, PaneModel};

macro_rules! systems {
    ($( $key:ident : $Variant:ident => $sys:ty ),* $(,)?) => {
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
            $(
                #[serde(default)]
                pub $key: <$sys as System>::Entries,
            )*
        }

        impl Entries for ContextSpec {
            fn entry_any(&self, label: &str, name: &str) -> Option<&dyn std::any::Any> {
                $(
                    if label == <$sys as System>::LABEL {
                        return <$sys as System>::instances(&self.$key)
                            .iter()
                            .find(|s| <$sys as System>::name(s) == name)
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
                    $($key: <$sys as System>::local(),)*
                    ..Default::default()
                }
            }

            /// Whether an entry holds a password written in the file.
            pub fn has_inline_secret(&self) -> bool {
                false $(|| <$sys as System>::instances(&self.$key).iter().any(<$sys as System>::inline_secret))*
            }

            /// Config problems of every entry, with the entry's kind.
            pub fn problems(&self) -> Vec<(SourceKind, String, Problem)> {
                let mut out = Vec::new();
                $(
                    for s in <$sys as System>::instances(&self.$key) {
                        for p in <$sys as System>::validate(s, self) {
                            out.push((SourceKind::$Variant, <$sys as System>::name(s).to_string(), p));
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
                match self { $(SourceKind::$Variant => <$sys as System>::LABEL),* }
            }
            pub fn pane(self) -> Pane {
                match self { $(SourceKind::$Variant => <$sys as System>::PANE),* }
            }
            pub fn tile_names_source(self) -> bool {
                match self { $(SourceKind::$Variant => <$sys as System>::TILE_NAMES_SOURCE),* }
            }
            pub fn metrics(self) -> &'static [Metric] {
                match self { $(SourceKind::$Variant => <$sys as System>::METRICS),* }
            }
            pub fn builtins(self) -> &'static [Builtin] {
                match self { $(SourceKind::$Variant => <$sys as System>::BUILTINS),* }
            }
            pub fn verbs(self) -> &'static [Action] {
                match self { $(SourceKind::$Variant => <$sys as System>::VERBS),* }
            }
        }

        /// What to poll: one configured thing of a context.
        #[derive(Debug, Clone, PartialEq)]
        pub enum SourceSpec { $($Variant(<$sys as System>::Spec)),* }

        impl SourceSpec {
            pub fn kind(&self) -> SourceKind {
                match self { $(SourceSpec::$Variant(_) => SourceKind::$Variant),* }
            }
            pub fn name(&self) -> &str {
                match self { $(SourceSpec::$Variant(s) => <$sys as System>::name(s)),* }
            }
            pub fn secret(&self) -> SecretSpec {
                match self { $(SourceSpec::$Variant(s) => <$sys as System>::secret(s)),* }
            }
            pub fn target(&self) -> String {
                match self { $(SourceSpec::$Variant(s) => <$sys as System>::target(s)),* }
            }
        }

        /// Every source of a context, in registry (pane) order.
        pub fn plan(ctx: &ContextSpec) -> Vec<SourceSpec> {
            let mut out = Vec::new();
            $(
                out.extend(
                    <$sys as System>::instances(&ctx.$key).iter().cloned().map(SourceSpec::$Variant),
                );
            )*
            out
        }

        /// One poll's result, owned and typed.
        #[derive(Debug, Clone, Serialize)]
        #[serde(untagged)]
        pub enum Sample { $($Variant(Box<<$sys as System>::Sample>)),* }

        impl Sample {
            pub fn kind(&self) -> SourceKind {
                match self { $(Sample::$Variant(_) => SourceKind::$Variant),* }
            }
            pub fn model(&self) -> PaneModel {
                match self { $(Sample::$Variant(s) => <$sys as System>::model(s)),* }
            }
            pub fn detail(&self, table: usize, key: &str) -> Option<Detail> {
                match self { $(Sample::$Variant(s) => <$sys as System>::detail(s, table, key)),* }
            }
            pub fn measure(&self, metric: &str, source: &str) -> Vec<Point> {
                match self { $(Sample::$Variant(s) => <$sys as System>::measure(s, metric, source)),* }
            }
            /// What `action` means at `at` (see `System::plan`).
            pub fn plan(&self, at: &At, action: Action, input: Option<&str>) -> Planning<Op> {
                match self {
                    $(Sample::$Variant(s) => <$sys as System>::plan(s, at, action, input)
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
                match self { $(Sample::$Variant(s) => <$sys as System>::offers(s, at)),* }
            }
        }

        $(
            impl From<<$sys as System>::Sample> for Sample {
                fn from(s: <$sys as System>::Sample) -> Sample {
                    Sample::$Variant(Box::new(s))
                }
            }
        )*

        /// An operation on one system, as previewed, confirmed, executed and audited.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "system", rename_all = "snake_case")]
        pub enum Op { $($Variant(<$sys as System>::Op)),* }

        impl Op {
            pub fn kind(&self) -> SourceKind {
                match self { $(Op::$Variant(_) => SourceKind::$Variant),* }
            }
            /// Exactly what will run, for the preview and the audit log.
            pub fn describe(&self) -> String {
                match self { $(Op::$Variant(o) => <$sys as System>::describe(o)),* }
            }
            pub fn changes_system(&self) -> bool {
                match self { $(Op::$Variant(o) => <$sys as System>::changes_system(o)),* }
            }
        }

        /// Runs `op` against the source named `source` of its kind in `ctx`.
        pub async fn execute(op: &Op, source: &str, ctx: &ContextSpec) -> Result<String, String> {
            let missing = || format!("{} source {source:?} is not in this context", op.kind().label());
            match op {
                $(Op::$Variant(o) => {
                    let spec = <$sys as System>::instances(&ctx.$key)
                        .iter()
                        .find(|s| <$sys as System>::name(s) == source)
                        .ok_or_else(missing)?;
                    <$sys as System>::execute(o, spec, ctx).await
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
                    let poller = <$sys as System>::poller(s, ctx);
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
                        |s: <$sys as System>::Sample| {
                            let model = <$sys as System>::model(&s);
                            (Sample::from(s), model)
                        },
                        send,
                    ))
                })*
            }
        }

        /// One poll of one source (for `check` and `snapshot`), with a timeout.
        pub async fn poll_once(spec: SourceSpec, ctx: &ContextSpec, timeout: Duration) -> Result<Sample, String> {
            match spec {
                $(SourceSpec::$Variant(s) => {
                    runner::once(<$sys as System>::poller(s, ctx), timeout).await.map(Sample::from)
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
