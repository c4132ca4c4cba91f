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
