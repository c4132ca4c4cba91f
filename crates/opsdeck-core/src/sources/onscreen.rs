//! Lists read only while their table is on screen (`Poller::visible`): a Redis master's
//! `CLIENT LIST` walks every connection on the server, the host's process table every
//! process under /proc. Nobody reads them while their tab is closed, so the poller skips
//! them and its sample says how old the last list is.

use std::time::{Duration, Instant};

/// Whether the console shows one of a list's tabs, and when the list was last read.
#[derive(Debug, Clone)]
pub struct OnScreen {
    /// Titles of the tabs that show the list (a tab titled "Clients 10.0.0.1:6379" is
    /// "Clients").
    tabs: &'static [&'static str],
    /// `None` until the console says what it shows: then everything is read.
    open: Option<bool>,
    listed: Option<Instant>,
}

impl OnScreen {
    pub fn new(tabs: &'static [&'static str]) -> OnScreen {
        OnScreen {
            tabs,
            open: None,
            listed: None,
        }
    }

    /// Takes the console's word on what is shown; true when one of the list's tabs has just
    /// opened (the list should be read at once).
    pub fn tell(&mut self, shown: Option<&str>) -> bool {
        let open = shown.is_some_and(|t| self.tabs.iter().any(|tab| is_tab(t, tab)));
        let opened = open && self.open != Some(true);
        self.open = Some(open);
        opened
    }

    /// Whether this poll reads the list.
    pub fn wanted(&self) -> bool {
        self.open != Some(false)
    }

    /// The list was read now.
    pub fn listed(&mut self, at: Instant) {
        self.listed = Some(at);
    }

    /// How long ago the list was last read (`None`: never).
    pub fn age(&self, now: Instant) -> Option<Duration> {
        self.listed.map(|t| now.saturating_duration_since(t))
    }
}

/// Whether a tab titled `shown` is the tab `title` (titles may carry a suffix after a space).
pub fn is_tab(shown: &str, title: &str) -> bool {
    shown == title
        || shown
            .strip_prefix(title)
            .is_some_and(|rest| rest.starts_with(' '))
}

/// What a tab whose list was not read says in place of rows.
pub fn not_listed(age_secs: Option<u64>) -> String {
    match age_secs {
        Some(s) => format!(
            "listed while this tab is open (last list {} ago)",
            crate::views::fmt::duration(Duration::from_secs(s))
        ),
        None => "listed while this tab is open".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_until_told_then_only_while_shown() {
        let mut s = OnScreen::new(&["Clients"]);
        assert!(s.wanted(), "check and snapshot never say what is shown");
        assert!(!s.tell(None));
        assert!(!s.wanted());
        assert!(!s.tell(Some("Nodes")));
        assert!(!s.wanted());
        assert!(
            s.tell(Some("Clients 127.0.0.1:6379")),
            "opening asks a poll"
        );
        assert!(s.wanted());
        assert!(
            !s.tell(Some("Clients 127.0.0.1:6380")),
            "still open: no extra poll"
        );
        assert!(!s.tell(Some("Clientsx")));
        assert!(!s.wanted());
    }

    #[test]
    fn a_tab_title_with_a_suffix_is_that_tab() {
        assert!(is_tab("Top CPU", "Top CPU"));
        assert!(is_tab("Clients ", "Clients"));
        assert!(!is_tab("Top CPUs", "Top CPU"));
        assert!(!is_tab("Top", "Top CPU"));
    }

    #[test]
    fn age_of_the_last_list() {
        let t0 = Instant::now();
        let mut s = OnScreen::new(&["Clients"]);
        assert_eq!(s.age(t0), None);
        s.listed(t0);
        assert_eq!(
            s.age(t0 + Duration::from_secs(5)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(not_listed(None), "listed while this tab is open");
        assert_eq!(
            not_listed(Some(125)),
            "listed while this tab is open (last list 2m05s ago)"
        );
    }
}
