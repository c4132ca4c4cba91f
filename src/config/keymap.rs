//! Keymaps: a file maps each named action to its keys (`quit = ["q", "ctrl-c"]`). The shipped
//! files are embedded; a user file of the same name in the config dir replaces one; the
//! config's `[keys]` table merges per key over the chosen base. Unknown actions, unparsable
//! keys and a key bound twice are errors naming file, line and key.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors};

pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("emacs", include_str!("../../keymaps/emacs.toml")),
];

/// Everything a key can do. The TOML names are the snake_case variant names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Suspend,
    Help,
    Command,
    Filter,
    NextPane,
    PrevPane,
    FocusKafka,
    FocusPostgres,
    FocusRedis,
    FocusBackups,
    FocusAlerts,
    FocusHost,
    Select,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextView,
    PrevView,
    NextSource,
    Refresh,
    Mark,
    // Guarded actions: they change a monitored system and are refused in read-only mode.
    CancelQuery,
    Terminate,
    Bgsave,
    Failover,
    /// Redis BGREWRITEAOF on the selected node.
    Bgrewriteaof,
    /// Redis CONFIG SET maxmemory-policy to the selected policy.
    SetPolicy,
    ResetOffsets,
    ResetOffsetsEarliest,
    ResetOffsetsTo,
    AddPartitions,
    /// Kafka preferred leader election (the selected topic, or the whole cluster).
    ElectLeaders,
    TerminateIdle,
    ConnectionLimit,
    CreateTopic,
    DeleteTopic,
    Verify,
    BackupNow,
    // Inbox actions (local state only).
    Ack,
    Silence,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::Quit,
        Action::Suspend,
        Action::Help,
        Action::Command,
        Action::Filter,
        Action::NextPane,
        Action::PrevPane,
        Action::FocusKafka,
        Action::FocusPostgres,
        Action::FocusRedis,
        Action::FocusBackups,
        Action::FocusAlerts,
        Action::FocusHost,
        Action::Select,
        Action::Back,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::NextView,
        Action::PrevView,
        Action::NextSource,
        Action::Refresh,
        Action::Mark,
        Action::CancelQuery,
        Action::Terminate,
        Action::Bgsave,
        Action::Failover,
        Action::Bgrewriteaof,
        Action::SetPolicy,
        Action::ResetOffsets,
        Action::ResetOffsetsEarliest,
        Action::ResetOffsetsTo,
        Action::AddPartitions,
        Action::ElectLeaders,
        Action::TerminateIdle,
        Action::ConnectionLimit,
        Action::CreateTopic,
        Action::DeleteTopic,
        Action::Verify,
        Action::BackupNow,
        Action::Ack,
        Action::Silence,
    ];

    pub fn name(self) -> String {
        let debug = format!("{self:?}");
        let mut out = String::new();
        for (i, c) in debug.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Changes a monitored system: goes through the guarded pipeline, refused when read-only.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Action::CancelQuery
                | Action::Terminate
                | Action::Bgsave
                | Action::Failover
                | Action::Bgrewriteaof
                | Action::SetPolicy
                | Action::ResetOffsets
                | Action::ResetOffsetsEarliest
                | Action::ResetOffsetsTo
                | Action::AddPartitions
                | Action::ElectLeaders
                | Action::TerminateIdle
                | Action::ConnectionLimit
                | Action::CreateTopic
                | Action::DeleteTopic
                | Action::BackupNow
        )
    }

    pub fn description(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Suspend => "suspend to the shell (fg resumes)",
            Action::Help => "show or hide this help",
            Action::Command => "command line (:kafka, :ctx NAME, :theme NAME, :q)",
            Action::Filter => "filter the focused table",
            Action::NextPane => "next pane",
            Action::PrevPane => "previous pane",
            Action::FocusKafka => "Kafka pane",
            Action::FocusPostgres => "Databases pane",
            Action::FocusRedis => "Redis pane",
            Action::FocusBackups => "Backups pane",
            Action::FocusAlerts => "Alerts pane",
            Action::FocusHost => "Host pane",
            Action::Select => "zoom the pane / open the selected row",
            Action::Back => "back / close",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::NextView => "next view of the pane",
            Action::PrevView => "previous view of the pane",
            Action::NextSource => "next server of the pane",
            Action::Refresh => "poll now",
            Action::Mark => "mark the row",
            Action::CancelQuery => "cancel the selected query",
            Action::Terminate => "terminate the selected session",
            Action::Bgsave => "Redis BGSAVE",
            Action::Failover => "fail over",
            Action::Bgrewriteaof => "Redis BGREWRITEAOF",
            Action::SetPolicy => "set Redis maxmemory-policy to the selected one",
            Action::ResetOffsets => "reset the group's offsets to latest (skip the backlog)",
            Action::ResetOffsetsEarliest => "reset the group's offsets to earliest (replay)",
            Action::ResetOffsetsTo => {
                "reset the group's offsets to an offset, a time or by a shift"
            }
            Action::AddPartitions => "add partitions to the selected topic",
            Action::ElectLeaders => "elect preferred leaders (selected topic, or cluster)",
            Action::TerminateIdle => "terminate sessions idle in transaction longer than …",
            Action::ConnectionLimit => "set the selected role's connection limit",
            Action::CreateTopic => "create a topic",
            Action::DeleteTopic => "delete the selected topic",
            Action::Verify => "verify the selected backup",
            Action::BackupNow => "back up now",
            Action::Ack => "acknowledge the alert",
            Action::Silence => "silence the alert",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A key with its modifiers, normalised so "Q" and "shift-q" are one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub fn from_event(ev: &KeyEvent) -> Key {
        let code = ev.code;
        Key {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
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
            other => write!(f, "{other:?}"),
        }
    }
}

fn valid_actions_hint() -> String {
    let names: Vec<String> = Action::ALL.iter().map(|a| a.name()).collect();
    format!("valid actions: {}", names.join(", "))
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keymap {
    pub name: String,
    pub bindings: HashMap<Key, Action>,
}

type RawKeymap = BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>;

impl Keymap {
    pub fn action(&self, ev: &KeyEvent) -> Option<Action> {
        self.bindings.get(&Key::from_event(ev)).copied()
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

    /// Parses one keymap file. Errors name the file, the line and the key or action.
    pub fn parse(name: &str, file: &Path, text: &str) -> Result<Keymap, ConfigErrors> {
        let raw: RawKeymap =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let mut errors = Vec::new();
        let mut bindings: HashMap<Key, (Action, std::ops::Range<usize>)> = HashMap::new();
        // In file order, so a duplicate is reported where it is written the second time.
        let mut raw: Vec<_> = raw.into_iter().collect();
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
                        ConfigError::new(file, text, Some(key.span()), e)
                            .with_hint("write keys like \"q\", \"ctrl-c\", \"enter\", \"shift-tab\", \"f5\", \"pgdn\""),
                    ),
                    Ok(k) => {
                        if let Some((other, _)) = bindings.get(&k) {
                            errors.push(
                                ConfigError::new(
                                    file,
                                    text,
                                    Some(key.span()),
                                    format!("key {:?} is bound to both {} and {}", key.get_ref(), other, action),
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
            return Err(ConfigErrors(errors));
        }
        Ok(Keymap {
            name: name.to_string(),
            bindings: bindings.into_iter().map(|(k, (a, _))| (k, a)).collect(),
        })
    }

    /// Resolves a keymap by name: a user file `<config_dir>/keymaps/NAME.toml` wins over a
    /// shipped one. Then `overrides` (the config's `[keys]`) merge per key.
    pub fn load(
        name: &str,
        config_dir: &Path,
        overrides: &BTreeMap<String, Vec<String>>,
        config_file: Option<&Path>,
    ) -> Result<Keymap, ConfigErrors> {
        let user = config_dir.join("keymaps").join(format!("{name}.toml"));
        let mut km = if user.is_file() {
            let text = std::fs::read_to_string(&user)
                .map_err(|e| ConfigError::whole_file(&user, e.to_string()))?;
            Keymap::parse(name, &user, &text)?
        } else if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name) {
            Keymap::parse(name, &PathBuf::from(format!("keymaps/{name}.toml")), text)?
        } else {
            let file = config_file
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("--keymap"));
            let shipped: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
            return Err(
                ConfigError::whole_file(&file, format!("unknown keymap {name:?}"))
                    .with_hint(format!(
                        "shipped keymaps: {}; or create {}",
                        shipped.join(", "),
                        user.display()
                    ))
                    .into(),
            );
        };
        if !overrides.is_empty() {
            let file = config_file
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("[keys]"));
            let text = config_file
                .and_then(|f| std::fs::read_to_string(f).ok())
                .unwrap_or_default();
            let mut errors = Vec::new();
            for (action_name, keys) in overrides {
                let span = super::find_span(&text, action_name);
                let Some(action) = Action::from_name(action_name) else {
                    errors.push(
                        ConfigError::new(
                            &file,
                            &text,
                            span,
                            format!("[keys]: unknown action {action_name:?}"),
                        )
                        .with_hint(valid_actions_hint()),
                    );
                    continue;
                };
                for key in keys {
                    match Key::parse(key) {
                        Ok(k) => {
                            km.bindings.insert(k, action);
                        }
                        Err(e) => errors.push(ConfigError::new(
                            &file,
                            &text,
                            span.clone(),
                            format!("[keys] {action_name}: {e}"),
                        )),
                    }
                }
            }
            if !errors.is_empty() {
                return Err(ConfigErrors(errors));
            }
        }
        Ok(km)
    }

    /// The built-in default: arrows plus vim keys. `keymaps/default.toml` is tested equal to it.
    pub fn builtin_default() -> Keymap {
        use Action::*;
        let table: &[(Action, &[&str])] = &[
            (Quit, &["q", "ctrl-c"]),
            (Suspend, &["ctrl-z"]),
            (Help, &["?", "f1"]),
            (Command, &[":"]),
            (Filter, &["/"]),
            (NextPane, &["tab"]),
            (PrevPane, &["shift-tab"]),
            (FocusKafka, &["1"]),
            (FocusPostgres, &["2"]),
            (FocusRedis, &["3"]),
            (FocusBackups, &["4"]),
            (FocusAlerts, &["5"]),
            (FocusHost, &["6"]),
            (Select, &["enter"]),
            (Back, &["esc"]),
            (Up, &["up", "k"]),
            (Down, &["down", "j"]),
            (PageUp, &["pgup", "ctrl-b"]),
            (PageDown, &["pgdn", "ctrl-f"]),
            (Top, &["home", "g"]),
            (Bottom, &["end", "G"]),
            (NextView, &["right", "l", "]"]),
            (PrevView, &["left", "h", "["]),
            (NextSource, &["n"]),
            (Refresh, &["r", "ctrl-r"]),
            (Mark, &["space"]),
            (CancelQuery, &["c"]),
            (Terminate, &["K"]),
            (Bgsave, &["b"]),
            (Failover, &["F"]),
            (Bgrewriteaof, &["A"]),
            (SetPolicy, &["P"]),
            (ResetOffsets, &["o"]),
            (ResetOffsetsEarliest, &["O"]),
            (ResetOffsetsTo, &["T"]),
            (AddPartitions, &["+"]),
            (ElectLeaders, &["E"]),
            (TerminateIdle, &["I"]),
            (ConnectionLimit, &["L"]),
            (CreateTopic, &["N"]),
            (DeleteTopic, &["D"]),
            (Verify, &["v"]),
            (BackupNow, &["B"]),
            (Ack, &["a"]),
            (Silence, &["s"]),
        ];
        let mut bindings = HashMap::new();
        for (action, keys) in table {
            for k in *keys {
                if let Ok(key) = Key::parse(k) {
                    bindings.insert(key, *action);
                }
            }
        }
        Keymap {
            name: "default".into(),
            bindings,
        }
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
    fn shipped_default_equals_builtin() {
        let (_, text) = SHIPPED[0];
        assert_eq!(
            Keymap::parse("default", Path::new("default"), text).unwrap(),
            Keymap::builtin_default()
        );
    }

    #[test]
    fn every_action_has_a_key_in_every_shipped_keymap() {
        for (name, text) in SHIPPED {
            let km = Keymap::parse(name, Path::new(name), text).unwrap();
            for a in Action::ALL {
                assert!(!km.keys_of(*a).is_empty(), "{name}: {a} has no key");
            }
        }
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

    #[test]
    fn overrides_merge_per_key() {
        let mut over = BTreeMap::new();
        over.insert("quit".to_string(), vec!["x".to_string()]);
        over.insert("refresh".to_string(), vec!["q".to_string()]);
        let km = Keymap::load("default", Path::new("/nonexistent"), &over, None).unwrap();
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action(&x), Some(Action::Quit));
        assert_eq!(km.action(&q), Some(Action::Refresh));
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            km.action(&c),
            Some(Action::Quit),
            "other keys of the base stay"
        );
    }
}
