//! Keymaps: a file maps each named action to its keys (`quit = ["q", "ctrl-c"]`). The shipped
//! files are embedded; a user file of the same name in the config dir replaces one; the
//! config's `[keys]` table merges per key over the chosen base. Unknown actions, unparsable
//! keys and a key bound twice are errors naming file, line and key.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::input::recover::span_of;
use crate::input::{ConfigError, ConfigErrors, Origin};

pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../../keymaps/default.toml")),
    ("emacs", include_str!("../../../keymaps/emacs.toml")),
];

/// Everything a key can do, declared once: the TOML name is the snake_case variant name,
/// the doc comment is the help text, `hint` the hint bar's word, and `guarded` marks the
/// actions that change a monitored system (refused in read-only mode).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Deserialize,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumMessage,
    strum::EnumProperty,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// quit
    Quit,
    /// suspend to the shell (fg resumes)
    Suspend,
    /// show or hide this help
    #[strum(props(hint = "help"))]
    Help,
    /// command line (:kafka, :ctx NAME, :theme NAME, :q)
    #[strum(props(hint = "cmd"))]
    Command,
    /// filter the focused table
    #[strum(props(hint = "filter"))]
    Filter,
    /// next pane
    #[strum(props(hint = "next"))]
    NextPane,
    /// previous pane
    PrevPane,
    /// Kafka pane
    FocusKafka,
    /// Databases pane
    FocusPostgres,
    /// Redis pane
    FocusRedis,
    /// Backups pane
    FocusBackups,
    /// Alerts pane
    FocusAlerts,
    /// Host pane
    FocusHost,
    /// Timeline pane: every state change, newest first
    FocusTimeline,
    /// zoom the pane / open the selected row
    Select,
    /// back / close
    #[strum(props(hint = "back"))]
    Back,
    /// move up
    Up,
    /// move down
    Down,
    /// page up
    PageUp,
    /// page down
    PageDown,
    /// first row
    Top,
    /// last row
    Bottom,
    /// next view of the pane
    #[strum(props(hint = "view"))]
    NextView,
    /// previous view of the pane
    PrevView,
    /// next server of the pane
    #[strum(props(hint = "server"))]
    NextSource,
    /// poll now
    Refresh,
    /// copy the selected row's text to the clipboard (OSC 52: works over SSH and in tmux)
    #[strum(props(hint = "copy"))]
    Copy,
    /// write an incident note (data dir and clipboard)
    #[strum(props(hint = "note"))]
    Note,
    /// mark the row (actions then apply to the marked rows)
    #[strum(props(hint = "mark"))]
    Mark,
    /// cancel the selected query
    #[strum(props(hint = "cancel", guarded = "yes"))]
    CancelQuery,
    /// terminate the selected session or client
    #[strum(props(hint = "terminate", guarded = "yes"))]
    Terminate,
    /// Redis BGSAVE
    #[strum(props(hint = "bgsave", guarded = "yes"))]
    Bgsave,
    /// fail over (Sentinel or Cluster replica)
    #[strum(props(hint = "failover", guarded = "yes"))]
    Failover,
    /// Redis BGREWRITEAOF on the selected node
    #[strum(props(hint = "aof rewrite", guarded = "yes"))]
    Bgrewriteaof,
    /// set Redis maxmemory-policy to the selected one
    #[strum(props(hint = "set policy", guarded = "yes"))]
    SetPolicy,
    /// reset the group's offsets to latest (skip the backlog)
    #[strum(props(hint = "reset offsets", guarded = "yes"))]
    ResetOffsets,
    /// reset the group's offsets to earliest (replay)
    #[strum(props(hint = "replay", guarded = "yes"))]
    ResetOffsetsEarliest,
    /// reset the group's offsets to an offset, a time or by a shift
    #[strum(props(hint = "reset to…", guarded = "yes"))]
    ResetOffsetsTo,
    /// add partitions to the selected topic
    #[strum(props(hint = "partitions", guarded = "yes"))]
    AddPartitions,
    /// elect preferred leaders (selected topic, or cluster)
    #[strum(props(hint = "elect leaders", guarded = "yes"))]
    ElectLeaders,
    /// terminate sessions idle in transaction longer than …
    #[strum(props(hint = "kill idle-in-tx", guarded = "yes"))]
    TerminateIdle,
    /// set the selected role's connection limit
    #[strum(props(hint = "conn limit", guarded = "yes"))]
    ConnectionLimit,
    /// run the selected index advice's DDL (DROP / REINDEX INDEX CONCURRENTLY)
    #[strum(props(hint = "run DDL", guarded = "yes"))]
    RunDdl,
    /// Kafka Balance tab: move replicas to even the brokers (the preview shows the plan)
    #[strum(props(hint = "rebalance", guarded = "yes"))]
    Rebalance,
    /// Kafka Balance tab: cancel the reassignments in progress
    #[strum(props(hint = "cancel reassign", guarded = "yes"))]
    CancelReassignment,
    /// create a topic
    #[strum(props(hint = "new topic", guarded = "yes"))]
    CreateTopic,
    /// delete the selected topic or group
    #[strum(props(hint = "delete", guarded = "yes"))]
    DeleteTopic,
    /// verify the selected backup (reads it; changes nothing)
    #[strum(props(hint = "verify"))]
    Verify,
    /// back up now
    #[strum(props(hint = "backup", guarded = "yes"))]
    BackupNow,
    /// acknowledge the alert (again: un-ack)
    #[strum(props(hint = "ack"))]
    Ack,
    /// silence the alert (1h, again: 4h, 24h, lift)
    #[strum(props(hint = "silence"))]
    Silence,
}

impl Action {
    /// Every action, in declaration order.
    pub fn all() -> impl Iterator<Item = Action> {
        <Action as strum::IntoEnumIterator>::iter()
    }

    /// The keymap file's name for it: `reset_offsets_to`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn from_name(name: &str) -> Option<Action> {
        name.parse().ok()
    }

    /// Changes a monitored system: goes through the guarded pipeline, refused when read-only.
    pub fn is_mutating(self) -> bool {
        strum::EnumProperty::get_str(&self, "guarded").is_some()
    }

    /// The help's line for it (the variant's doc comment).
    pub fn description(self) -> &'static str {
        strum::EnumMessage::get_documentation(&self).unwrap_or("")
    }

    /// The hint bar's word for it ("" for keys the hint bar does not show).
    pub fn hint(self) -> &'static str {
        strum::EnumProperty::get_str(&self, "hint").unwrap_or("")
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A terminal key, independent of the terminal library (the console converts its events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyCode {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    F(u8),
}

/// A key with its modifiers, normalised so "Q" and "shift-q" are one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && (lower.starts_with("ctrl-") || lower.starts_with("ctrl+")) {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && (lower.starts_with("alt-") || lower.starts_with("alt+")) {
                alt = true;
                rest = &rest[4..];
            } else if rest.len() > 1 && (lower.starts_with("shift-") || lower.starts_with("shift+"))
            {
                shift = true;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if shift => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            f if f.len() >= 2
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        let c = if shift { c.to_ascii_uppercase() } else { c };
                        KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
                    }
                    _ => return Err(format!("cannot parse key {s:?}")),
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::F(n) => write!(f, "f{n}"),
            KeyCode::Insert => f.write_str("insert"),
        }
    }
}

/// How keys are written, for every error about one.
const KEY_HINT: &str =
    "write keys like \"q\", \"ctrl-c\", \"enter\", \"shift-tab\", \"f5\", \"pgdn\"";

fn valid_actions_hint() -> String {
    let names: Vec<&str> = Action::all().map(Action::name).collect();
    format!("valid actions: {}", names.join(", "))
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keymap {
    pub name: String,
    pub bindings: HashMap<Key, Action>,
}

type RawKeymap = BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>;

impl Keymap {
    pub fn action(&self, key: &Key) -> Option<Action> {
        self.bindings.get(key).copied()
    }

    /// The keys of an action in file order of preference (for the help and hint bar).
    pub fn keys_of(&self, action: Action) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|(_, a)| **a == action)
            .map(|(k, _)| *k)
            .collect();
        // Single characters first (what people type), then named keys; stable for the help.
        keys.sort_by_key(|k| {
            (
                k.ctrl || k.alt,
                k.to_string().chars().count() > 1,
                k.to_string(),
            )
        });
        keys
    }

    pub fn keys_label(&self, action: Action) -> String {
        self.keys_of(action)
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// A text with `{key:ACTION}` placeholders (in runbooks and details) with the keys this
    /// keymap binds to each action, so texts never name a key the person did not bind.
    pub fn fill(&self, text: &str) -> String {
        if !text.contains("{key:") {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("{key:") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 5..];
            match after.find('}') {
                Some(j) => {
                    let name = &after[..j];
                    match Action::from_name(name) {
                        Some(a) => {
                            let keys = self.keys_label(a);
                            out.push_str(if keys.is_empty() { name } else { &keys });
                        }
                        None => out.push_str(&rest[i..i + 5 + j + 1]),
                    }
                    rest = &after[j + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Parses one keymap file. Errors name the file, the line and the key or action; every
    /// problem of the file is reported.
    pub fn parse(name: &str, file: &Path, text: &str) -> Result<Keymap, ConfigErrors> {
        let (raw, mut errors) = crate::input::recover::from_toml::<RawKeymap>(file, text);
        let mut bindings: HashMap<Key, (Action, std::ops::Range<usize>)> = HashMap::new();
        // In file order, so a duplicate is reported where it is written the second time.
        let mut raw: Vec<_> = raw.unwrap_or_default().into_iter().collect();
        raw.sort_by_key(|(name, _)| name.span().start);
        for (action_name, keys) in raw {
            let Some(action) = Action::from_name(action_name.get_ref()) else {
                errors.push(
                    ConfigError::new(
                        file,
                        text,
                        Some(action_name.span()),
                        format!("unknown action {:?}", action_name.get_ref()),
                    )
                    .with_hint(valid_actions_hint()),
                );
                continue;
            };
            for key in keys.get_ref() {
                match Key::parse(key.get_ref()) {
                    Err(e) => errors.push(
                        ConfigError::new(file, text, Some(key.span()), e).with_hint(KEY_HINT),
                    ),
                    Ok(k) => {
                        if let Some((other, _)) = bindings.get(&k) {
                            errors.push(
                                ConfigError::new(
                                    file,
                                    text,
                                    Some(key.span()),
                                    format!(
                                        "key {:?} is bound to both {} and {}",
                                        key.get_ref(),
                                        other,
                                        action
                                    ),
                                )
                                .with_hint("bind each key to one action"),
                            );
                        } else {
                            bindings.insert(k, (action, key.span()));
                        }
                    }
                }
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(ConfigErrors(errors));
        }
        Ok(Keymap {
            name: name.to_string(),
            bindings: bindings.into_iter().map(|(k, (a, _))| (k, a)).collect(),
        })
    }

    /// Resolves a keymap by name: a user file `<config_dir>/keymaps/NAME.toml` wins over a
    /// shipped one. Then `overrides` (the config's `[keys]`) merge per key. The name is taken
    /// to come from the config file's `keymap` when there is a file, else from `--keymap`.
    pub fn load(
        name: &str,
        config_dir: &Path,
        overrides: &BTreeMap<String, Vec<String>>,
        config_file: Option<&Path>,
    ) -> Result<Keymap, ConfigErrors> {
        let origin = match config_file {
            Some(file) => Origin::File {
                file,
                key: "keymap",
            },
            None => Origin::Flag("--keymap"),
        };
        Keymap::load_for(name, origin, config_dir, overrides, config_file)
    }

    /// `load` with the place the name was given (for its error); `config_file` holds the
    /// `[keys]` overrides. Problems of the keymap file and of `[keys]` are reported together.
    pub fn load_for(
        name: &str,
        origin: Origin,
        config_dir: &Path,
        overrides: &BTreeMap<String, Vec<String>>,
        config_file: Option<&Path>,
    ) -> Result<Keymap, ConfigErrors> {
        let mut errors = Vec::new();
        let user = config_dir.join("keymaps").join(format!("{name}.toml"));
        let base = if user.is_file() {
            std::fs::read_to_string(&user)
                .map_err(|e| ConfigErrors::from(ConfigError::whole_file(&user, e.to_string())))
                .and_then(|text| Keymap::parse(name, &user, &text))
        } else if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name) {
            Keymap::parse(name, &PathBuf::from(format!("keymaps/{name}.toml")), text)
        } else {
            let shipped: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
            Err(origin
                .error(format!("unknown keymap {name:?}"))
                .with_hint(format!(
                    "shipped keymaps: {}; or create {}",
                    shipped.join(", "),
                    user.display()
                ))
                .into())
        };
        let mut km = match base {
            Ok(km) => km,
            Err(ConfigErrors(es)) => {
                errors.extend(es);
                Keymap::default()
            }
        };
        if !overrides.is_empty() {
            let file = config_file
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("[keys]"));
            let text = config_file
                .and_then(|f| std::fs::read_to_string(f).ok())
                .unwrap_or_default();
            km.merge(&file, &text, overrides, &mut errors);
        }
        if errors.is_empty() {
            Ok(km)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// `[keys]`: each key given there replaces what the base keymap binds it to; two `[keys]`
    /// entries may not share a key (which would win is not for the file order to decide).
    fn merge(
        &mut self,
        file: &Path,
        text: &str,
        overrides: &BTreeMap<String, Vec<String>>,
        errors: &mut Vec<ConfigError>,
    ) {
        let mut given: HashMap<Key, (&str, usize)> = HashMap::new();
        let mut in_file_order: Vec<(&String, &Vec<String>)> = overrides.iter().collect();
        let at = |action: &str| span_of(text, &["keys".into(), action.into()], true);
        in_file_order.sort_by_key(|(a, _)| at(a).map(|s| s.start).unwrap_or(usize::MAX));
        for (action_name, keys) in in_file_order {
            let Some(action) = Action::from_name(action_name) else {
                errors.push(
                    ConfigError::new(
                        file,
                        text,
                        at(action_name),
                        format!("[keys]: unknown action {action_name:?}"),
                    )
                    .with_hint(valid_actions_hint()),
                );
                continue;
            };
            for (i, key) in keys.iter().enumerate() {
                let here = span_of(
                    text,
                    &["keys".into(), action_name.as_str().into(), i.into()],
                    false,
                )
                .or_else(|| at(action_name));
                match Key::parse(key) {
                    Ok(k) => match given.get(&k) {
                        Some((other, _)) if *other != action_name.as_str() => errors.push(
                            ConfigError::new(
                                file,
                                text,
                                here,
                                format!(
                                    "[keys]: key {key:?} is bound to both {other} and {action_name}"
                                ),
                            )
                            .with_hint("bind each key to one action"),
                        ),
                        _ => {
                            given.insert(k, (action_name.as_str(), i));
                            self.bindings.insert(k, action);
                        }
                    },
                    Err(e) => errors.push(
                        ConfigError::new(file, text, here, format!("[keys] {action_name}: {e}"))
                            .with_hint(KEY_HINT),
                    ),
                }
            }
        }
    }

    /// The built-in default: the shipped `keymaps/default.toml` (tested to parse), so the
    /// default bindings are written in one place.
    pub fn builtin_default() -> Keymap {
        let (name, text) = SHIPPED[0];
        Keymap::parse(name, Path::new("keymaps/default.toml"), text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_keymap_parses() {
        for (name, text) in SHIPPED {
            Keymap::parse(name, Path::new(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn builtin_default_is_the_shipped_default() {
        let km = Keymap::builtin_default();
        assert_eq!(km.name, "default");
        assert_eq!(
            km.action(&Key::plain(KeyCode::Char('q'))),
            Some(Action::Quit)
        );
        assert_eq!(km.keys_label(Action::Terminate), "K");
    }

    #[test]
    fn every_action_has_a_key_in_every_shipped_keymap() {
        for (name, text) in SHIPPED {
            let km = Keymap::parse(name, Path::new(name), text).unwrap();
            for a in Action::all() {
                assert!(!km.keys_of(a).is_empty(), "{name}: {a} has no key");
            }
        }
    }

    #[test]
    fn placeholders_are_filled_with_the_bound_keys() {
        let km = Keymap::builtin_default();
        assert_eq!(
            km.fill("terminate the session ({key:terminate}); {key:nope} stays"),
            "terminate the session (K); {key:nope} stays"
        );
        assert_eq!(km.fill("no placeholder {x}"), "no placeholder {x}");
    }

    #[test]
    fn key_parsing() {
        assert_eq!(
            Key::parse("ctrl-c").unwrap(),
            Key {
                code: KeyCode::Char('c'),
                ctrl: true,
                alt: false
            }
        );
        assert_eq!(Key::parse("shift-q").unwrap(), Key::parse("Q").unwrap());
        assert_eq!(Key::parse("shift-tab").unwrap().code, KeyCode::BackTab);
        assert_eq!(Key::parse("f5").unwrap().code, KeyCode::F(5));
        assert!(Key::parse("ctrl-").is_err() || Key::parse("ctrl-").is_ok());
        assert_eq!(
            Key::parse("bogus").unwrap_err(),
            "cannot parse key \"bogus\""
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let text = "quit = [\"q\"]\nhelp = [\"q\"]\nfly = [\"x\"]\nup = [\"ctrl-\u{1F600}x\"]\n";
        let err = Keymap::parse("t", Path::new("/k.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/k.toml:2:9: key \"q\" is bound to both quit and help"),
            "{err}"
        );
        assert!(err.contains("/k.toml:3:1: unknown action \"fly\""), "{err}");
        assert!(err.contains("/k.toml:4:7: cannot parse key"), "{err}");
    }

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let f = dir.join("config.toml");
        std::fs::write(&f, text).unwrap();
        f
    }

    #[test]
    fn keys_errors_name_the_line_and_how_to_write_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let text = "refresh = \"2s\"\n[keys]\nquit = [\"x\"]\nrefresh = [\"f5\", \"ctrl-\"]\nhelp = [\"x\"]\n";
        let f = write_config(dir.path(), text);
        let cfg = crate::config::Config::from_toml(&f, text).unwrap();
        let err = Keymap::load(&cfg.keymap, dir.path(), &cfg.keys, Some(&f))
            .unwrap_err()
            .to_string();
        let file = f.display();
        let want = [
            format!(
                "error: {file}:4:18: [keys] refresh: cannot parse key \"ctrl-\"\n  hint: write keys like"
            ),
            format!(
                "error: {file}:5:9: [keys]: key \"x\" is bound to both quit and help\n  hint: bind each key to one action"
            ),
        ];
        for w in &want {
            assert!(err.contains(w.as_str()), "want {w}\nin {err}");
        }
        assert_eq!(err.matches("error: ").count(), 2, "{err}");
    }

    #[test]
    fn an_unknown_keymap_points_at_the_config_line_or_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let text = "refresh = \"2s\"\nkeymap = \"nope\"\n[keys]\nfly = [\"x\"]\n";
        let f = write_config(dir.path(), text);
        let cfg = crate::config::Config::from_toml(&f, text).unwrap();
        let err = Keymap::load(&cfg.keymap, dir.path(), &cfg.keys, Some(&f))
            .unwrap_err()
            .to_string();
        let file = f.display();
        assert!(
            err.contains(&format!("error: {file}:2:10: unknown keymap \"nope\"\n  hint: shipped keymaps: default, emacs; or create")),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "error: {file}:4:1: [keys]: unknown action \"fly\""
            )),
            "both problems in one run: {err}"
        );
        let err = Keymap::load_for(
            "nope",
            Origin::Flag("--keymap"),
            dir.path(),
            &BTreeMap::new(),
            Some(&f),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("error: --keymap: unknown keymap \"nope\""),
            "{err}"
        );
    }

    #[test]
    fn every_problem_of_a_keymap_file_is_reported() {
        let text = "quit = \"q\"\nfly = [\"x\"]\nhelp = [3]\nup = [\"bogus\"]\n";
        let err = Keymap::parse("t", Path::new("/k.toml"), text)
            .unwrap_err()
            .to_string();
        for w in [
            "/k.toml:1:8: invalid type",
            "/k.toml:2:1: unknown action",
            "/k.toml:3:9: invalid type",
            "/k.toml:4:7: cannot parse key",
        ] {
            assert!(err.contains(w), "want {w} in {err}");
        }
    }

    #[test]
    fn overrides_merge_per_key() {
        let mut over = BTreeMap::new();
        over.insert("quit".to_string(), vec!["x".to_string()]);
        over.insert("refresh".to_string(), vec!["q".to_string()]);
        let km = Keymap::load("default", Path::new("/nonexistent"), &over, None).unwrap();
        let x = Key::plain(KeyCode::Char('x'));
        let q = Key::plain(KeyCode::Char('q'));
        assert_eq!(km.action(&x), Some(Action::Quit));
        assert_eq!(km.action(&q), Some(Action::Refresh));
        let c = Key {
            ctrl: true,
            ..Key::plain(KeyCode::Char('c'))
        };
        assert_eq!(
            km.action(&c),
            Some(Action::Quit),
            "other keys of the base stay"
        );
    }
}
