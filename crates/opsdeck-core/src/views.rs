//! What a pane shows, as plain data: sources turn their samples into these models (pure,
//! testable without a terminal) and `ui/` draws them. Nothing here imports ratatui.

use serde::Serialize;

/// Severity of a value, mapped to theme colours by the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Normal,
    Muted,
    Ok,
    Info,
    Warn,
    Crit,
}

/// The console's panes. Each system says which pane shows it (`System::PANE`); Alerts and
/// Timeline are the console's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pane {
    Kafka,
    Databases,
    Redis,
    Backups,
    Alerts,
    Host,
    /// Every state change of every source, in time order: the console's own.
    Timeline,
}

impl Pane {
    pub const ALL: [Pane; 7] = [
        Pane::Kafka,
        Pane::Databases,
        Pane::Redis,
        Pane::Backups,
        Pane::Alerts,
        Pane::Host,
        Pane::Timeline,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Kafka => "Kafka",
            Pane::Databases => "Databases",
            Pane::Redis => "Redis",
            Pane::Backups => "Backups",
            Pane::Alerts => "Alerts",
            Pane::Host => "Host",
            Pane::Timeline => "Timeline",
        }
    }

    /// The `:` command that focuses it, and the other spellings it accepts.
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            Pane::Kafka => &["kafka"],
            Pane::Databases => &["pg", "db", "postgres", "mysql"],
            Pane::Redis => &["redis"],
            Pane::Backups => &["backups"],
            Pane::Alerts => &["alerts"],
            Pane::Host => &["host"],
            Pane::Timeline => &["timeline"],
        }
    }

    /// Whether its sources share one set of tables (a row per backup source, per endpoint)
    /// rather than showing one source at a time (`n` for the next).
    pub fn merges_sources(self) -> bool {
        matches!(self, Pane::Backups | Pane::Host)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    pub text: String,
    pub level: Level,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            level: Level::Normal,
        }
    }
    pub fn level(text: impl Into<String>, level: Level) -> Self {
        Cell {
            text: text.into(),
            level,
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::new(s)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::new(s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    /// Minimum width in cells; a column grows to its content where there is room.
    pub width: u16,
    pub right: bool,
    /// Which columns go first when the screen is narrow (lowest first); `None`: the first
    /// column and verdicts (STATUS, STATE, …) stay longest, then the last, then the rest.
    pub priority: Option<u8>,
}

impl Column {
    pub const fn left(name: &'static str, width: u16) -> Self {
        Column {
            name,
            width,
            right: false,
            priority: None,
        }
    }
    pub const fn right(name: &'static str, width: u16) -> Self {
        Column {
            name,
            width,
            right: true,
            priority: None,
        }
    }
    /// Sets how long the column stays when room is short (0 goes first, 100 last).
    pub const fn priority(self, priority: u8) -> Self {
        Column {
            priority: Some(priority),
            ..self
        }
    }

    /// A verdict that must be read whole even at 80 columns: it stays, at its width.
    pub const fn keep(self) -> Self {
        self.priority(95)
    }

    /// The column's priority at position `index` of `count` columns.
    pub fn priority_at(&self, index: usize, count: usize) -> u8 {
        if let Some(p) = self.priority {
            return p;
        }
        const VERDICTS: &[&str] = &[
            "STATUS", "VERDICT", "STATE", "RESULT", "SEV", "LAG", "LAG TIME", "LINK",
        ];
        if index == 0 {
            100
        } else if VERDICTS.contains(&self.name) {
            90
        } else if index + 1 == count {
            80
        } else {
            50
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// Stable identity of the row (a group name, a pid, a node address): selection and
    /// actions follow it across polls.
    pub key: String,
    pub cells: Vec<Cell>,
}

impl Row {
    pub fn new(key: impl Into<String>, cells: Vec<Cell>) -> Self {
        Row {
            key: key.into(),
            cells,
        }
    }
    /// Text the `/` filter matches against.
    pub fn matches(&self, filter: &str) -> bool {
        let f = filter.to_lowercase();
        self.cells
            .iter()
            .any(|c| c.text.to_lowercase().contains(&f))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Shown when there are no rows (e.g. "no consumer groups").
    pub empty: String,
}

/// One line of a pane's summary: text, a usage bar, or a sparkline.
#[derive(Debug, Clone, PartialEq)]
pub enum Summary {
    Text(Vec<Cell>),
    Gauge {
        label: String,
        ratio: f64,
        text: String,
        level: Level,
    },
    Spark {
        label: String,
        data: Vec<u64>,
        text: String,
    },
}

impl Summary {
    pub fn text(cells: Vec<Cell>) -> Self {
        Summary::Text(cells)
    }
    pub fn line(s: impl Into<String>, level: Level) -> Self {
        Summary::Text(vec![Cell::level(s, level)])
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PaneModel {
    /// The compact form for the overview tile (a few lines).
    pub tile: Vec<Summary>,
    /// The header of the zoomed pane.
    pub summary: Vec<Summary>,
    /// The tabs of the zoomed pane (e.g. Cluster, Topics, Groups).
    pub tables: Vec<Table>,
    /// Worst level shown, for the tile's border.
    pub level: Level,
}

/// The detail view of one row (Enter on a row).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detail {
    pub title: String,
    pub lines: Vec<Vec<Cell>>,
    pub table: Option<Table>,
}

/// Humanised figures used by every pane.
pub mod fmt {
    use std::time::Duration;

    pub fn bytes(n: u64) -> String {
        const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        let mut v = n as f64;
        let mut i = 0;
        while v >= 1024.0 && i < UNITS.len() - 1 {
            v /= 1024.0;
            i += 1;
        }
        if i == 0 {
            format!("{n} B")
        } else if v >= 100.0 {
            format!("{v:.0} {}", UNITS[i])
        } else {
            format!("{v:.1} {}", UNITS[i])
        }
    }

    /// Compact duration: 45s, 12m03s, 3h12m, 4d02h.
    pub fn duration(d: Duration) -> String {
        let s = d.as_secs();
        if s < 60 {
            if d.as_millis() < 10_000 && !d.as_millis().is_multiple_of(1000) && s < 10 {
                return format!("{:.1}s", d.as_secs_f64());
            }
            format!("{s}s")
        } else if s < 3600 {
            format!("{}m{:02}s", s / 60, s % 60)
        } else if s < 86400 {
            format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
        } else {
            format!("{}d{:02}h", s / 86400, (s % 86400) / 3600)
        }
    }

    pub fn secs(s: f64) -> String {
        if s.is_finite() && s >= 0.0 {
            duration(Duration::from_secs_f64(s))
        } else {
            "-".into()
        }
    }

    /// 1234567 -> 1.2M; counts that must stay exact use `thousands`.
    pub fn count(n: u64) -> String {
        match n {
            0..=9_999 => n.to_string(),
            10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
            1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
            _ => format!("{:.1}G", n as f64 / 1e9),
        }
    }

    pub fn thousands(n: i64) -> String {
        let s = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    }

    pub fn rate(per_sec: f64) -> String {
        if per_sec < 10.0 {
            format!("{per_sec:.1}/s")
        } else {
            format!("{}/s", count(per_sec.round() as u64))
        }
    }

    pub fn pct(ratio: f64) -> String {
        format!("{:.0}%", ratio * 100.0)
    }

    /// `text` in at most `width` cells: whole when it fits, else cut at the last space that
    /// leaves room for "…" (a number is never cut in half), or at the width for one long word.
    pub fn fit(text: &str, width: usize) -> String {
        if text.chars().count() <= width {
            return text.to_string();
        }
        if width == 0 {
            return String::new();
        }
        let keep: String = text.chars().take(width - 1).collect();
        let cut = match keep.rfind(' ') {
            Some(i) if i > 0 => keep[..i].trim_end(),
            _ => keep.as_str(),
        };
        format!("{cut}…")
    }

    /// `text` on one line (each run of whitespace one space), cut to `max` characters with
    /// "…". Reads only as far as it keeps: a query of many kilobytes costs its first line.
    pub fn one_line(text: &str, max: usize) -> String {
        let mut out = String::with_capacity(text.len().min(max + 4));
        let mut n = 0;
        for word in text.split_whitespace() {
            if n > 0 {
                if n >= max {
                    out.push('…');
                    return out;
                }
                out.push(' ');
                n += 1;
            }
            // Whole words while they fit (a query is mostly ASCII: its length is its width).
            if word.is_ascii() && n + word.len() <= max {
                out.push_str(word);
                n += word.len();
                continue;
            }
            for c in word.chars() {
                if n >= max {
                    out.push('…');
                    return out;
                }
                out.push(c);
                n += 1;
            }
        }
        out
    }

    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

    /// A sparkline of the last `width` points, scaled to their maximum.
    pub fn spark(data: &[u64], width: usize) -> String {
        let tail = &data[data.len().saturating_sub(width)..];
        let max = tail.iter().copied().max().unwrap_or(0).max(1);
        tail.iter()
            .map(|v| BARS[((*v).saturating_mul(7) / max).min(7) as usize])
            .collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn one_line_joins_whitespace_and_cuts_where_the_joined_text_would() {
            let joined = |q: &str, max: usize| {
                let s = q.split_whitespace().collect::<Vec<_>>().join(" ");
                if s.chars().count() > max {
                    format!("{}…", s.chars().take(max).collect::<String>())
                } else {
                    s
                }
            };
            let q = "  SELECT *\n\tFROM  événements\r\n WHERE id = $1  ";
            for max in 0..45 {
                assert_eq!(one_line(q, max), joined(q, max), "max {max}");
            }
            assert_eq!(one_line(q, 200), "SELECT * FROM événements WHERE id = $1");
            assert_eq!(one_line("", 5), "");
        }

        #[test]
        fn formats() {
            assert_eq!(bytes(512), "512 B");
            assert_eq!(bytes(1536), "1.5 KiB");
            assert_eq!(bytes(300 * 1024 * 1024), "300 MiB");
            assert_eq!(duration(Duration::from_secs(45)), "45s");
            assert_eq!(duration(Duration::from_secs(723)), "12m03s");
            assert_eq!(duration(Duration::from_secs(3 * 3600 + 720)), "3h12m");
            assert_eq!(duration(Duration::from_secs(4 * 86400 + 7200)), "4d02h");
            assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
            assert_eq!(count(12_345), "12.3k");
            assert_eq!(thousands(1234567), "1,234,567");
            assert_eq!(thousands(-1000), "-1,000");
            assert_eq!(pct(0.456), "46%");
            assert_eq!(spark(&[0, 7, 14], 12), "▁▄█");
            assert_eq!(fit("lag 1355 behind", 15), "lag 1355 behind");
            assert_eq!(fit("group g: lag 1355 behind", 16), "group g: lag…");
            assert_eq!(fit("abcdefgh", 5), "abcd…");
            assert_eq!(spark(&[5, 0, 7, 14], 3), "▁▄█");
        }
    }
}
