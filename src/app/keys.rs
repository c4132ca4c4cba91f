//! crossterm's key events as the keymap's keys (the engine does not know crossterm).

use crossterm::event::{KeyCode as Ct, KeyEvent, KeyModifiers};

use crate::config::keymap::{Key, KeyCode};

/// The keymap key of a terminal event; `None` for keys no keymap can name (media keys…).
pub fn of(ev: &KeyEvent) -> Option<Key> {
    let code = match ev.code {
        Ct::Char(c) => KeyCode::Char(c),
        Ct::Enter => KeyCode::Enter,
        Ct::Esc => KeyCode::Esc,
        Ct::Tab => KeyCode::Tab,
        Ct::BackTab => KeyCode::BackTab,
        Ct::Backspace => KeyCode::Backspace,
        Ct::Delete => KeyCode::Delete,
        Ct::Insert => KeyCode::Insert,
        Ct::Up => KeyCode::Up,
        Ct::Down => KeyCode::Down,
        Ct::Left => KeyCode::Left,
        Ct::Right => KeyCode::Right,
        Ct::PageUp => KeyCode::PageUp,
        Ct::PageDown => KeyCode::PageDown,
        Ct::Home => KeyCode::Home,
        Ct::End => KeyCode::End,
        Ct::F(n) => KeyCode::F(n),
        _ => return None,
    };
    Some(Key {
        code,
        ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
        alt: ev.modifiers.contains(KeyModifiers::ALT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_letters_and_control_keys_match_the_keymap() {
        let km = crate::config::keymap::Keymap::builtin_default();
        let big_g = KeyEvent::new(Ct::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(
            of(&big_g).and_then(|k| km.action(&k)),
            Some(crate::config::keymap::Action::Bottom)
        );
        let ctrl_c = KeyEvent::new(Ct::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            of(&ctrl_c).and_then(|k| km.action(&k)),
            Some(crate::config::keymap::Action::Quit)
        );
    }
}
