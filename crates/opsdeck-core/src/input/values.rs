//! Values written in config files: durations and where a key sits in the text.

use std::time::Duration;

/// A humantime duration ("2s", "500ms", "26h"), with a message that says how to write one.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("invalid duration {s:?}: {e} (write e.g. \"2s\", \"500ms\", \"26h\")"))
}

/// The byte range of the first occurrence of `needle`, to point an error at a line.
pub fn find_span(text: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    text.find(needle).map(|i| i..i + needle.len())
}

/// Whether `s` is a colour as themes write them: a name (`red`, `lightblue`, `dark-gray`,
/// `bright red`, `grey`, `reset`, ...), `#rrggbb` or a 0-255 palette index. The engine draws
/// nothing, so this mirrors the console's parser (ratatui's `Color::from_str`); a test in
/// the console keeps the two in agreement.
pub fn is_colour(s: &str) -> bool {
    let name = s
        .to_lowercase()
        .replace([' ', '-', '_'], "")
        .replace("bright", "light")
        .replace("grey", "gray")
        .replace("silver", "gray")
        .replace("lightblack", "darkgray")
        .replace("lightwhite", "white")
        .replace("lightgray", "white");
    const NAMES: &[&str] = &[
        "reset",
        "black",
        "red",
        "green",
        "yellow",
        "blue",
        "magenta",
        "cyan",
        "gray",
        "darkgray",
        "lightred",
        "lightgreen",
        "lightyellow",
        "lightblue",
        "lightmagenta",
        "lightcyan",
        "white",
    ];
    NAMES.contains(&name.as_str())
        || s.parse::<u8>().is_ok()
        || (s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit()))
}
