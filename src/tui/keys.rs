//! Keys as written in keymap files (`q`, `G`, `ctrl-c`, `pagedown`, `shift-tab`) and as shown
//! on screen.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with modifiers, normalised so that `G` and `shift-g` are the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeySpec {
    code: KeyKind,
    ctrl: bool,
    alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyKind {
    Char(char),
    F(u8),
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
}

impl KeySpec {
    /// The key of a terminal event, if it is one a keymap can name.
    pub fn from_event(e: &KeyEvent) -> Option<Self> {
        let code = match e.code {
            KeyCode::Char(c) => KeyKind::Char(c),
            KeyCode::F(n) => KeyKind::F(n),
            KeyCode::Enter => KeyKind::Enter,
            KeyCode::Esc => KeyKind::Esc,
            KeyCode::Tab => KeyKind::Tab,
            KeyCode::BackTab => KeyKind::BackTab,
            KeyCode::Backspace => KeyKind::Backspace,
            KeyCode::Delete => KeyKind::Delete,
            KeyCode::Insert => KeyKind::Insert,
            KeyCode::Up => KeyKind::Up,
            KeyCode::Down => KeyKind::Down,
            KeyCode::Left => KeyKind::Left,
            KeyCode::Right => KeyKind::Right,
            KeyCode::PageUp => KeyKind::PageUp,
            KeyCode::PageDown => KeyKind::PageDown,
            KeyCode::Home => KeyKind::Home,
            KeyCode::End => KeyKind::End,
            _ => return None,
        };
        let mut k = Self {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        };
        // Terminals send ctrl-letters in either case.
        if k.ctrl
            && let KeyKind::Char(c) = k.code
        {
            k.code = KeyKind::Char(c.to_ascii_lowercase());
        }
        Some(k)
    }
}

/// A key name that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadKey(pub String);

impl fmt::Display for BadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown key '{}' (examples: q, G, ctrl-c, alt-x, enter, esc, pagedown, f1)",
            self.0
        )
    }
}

impl FromStr for KeySpec {
    type Err = BadKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadKey(s.to_string());
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s;
        // A lone "-" is the minus key, not a separator.
        while rest.len() > 1 {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-") {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-") {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyKind::Enter,
            "esc" | "escape" => KeyKind::Esc,
            "tab" if shift => KeyKind::BackTab,
            "tab" => KeyKind::Tab,
            "backtab" => KeyKind::BackTab,
            "backspace" => KeyKind::Backspace,
            "delete" | "del" => KeyKind::Delete,
            "insert" | "ins" => KeyKind::Insert,
            "up" => KeyKind::Up,
            "down" => KeyKind::Down,
            "left" => KeyKind::Left,
            "right" => KeyKind::Right,
            "pageup" | "pgup" => KeyKind::PageUp,
            "pagedown" | "pgdn" => KeyKind::PageDown,
            "home" => KeyKind::Home,
            "end" => KeyKind::End,
            "space" => KeyKind::Char(' '),
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyKind::F(f[1..].parse().map_err(|_| bad())?)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        let c = if shift { c.to_ascii_uppercase() } else { c };
                        KeyKind::Char(if ctrl { c.to_ascii_lowercase() } else { c })
                    }
                    _ => return Err(bad()),
                }
            }
        };
        Ok(Self { code, ctrl, alt })
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyKind::Char(' ') => f.write_str("space"),
            KeyKind::Char(c) => write!(f, "{c}"),
            KeyKind::F(n) => write!(f, "f{n}"),
            KeyKind::Enter => f.write_str("enter"),
            KeyKind::Esc => f.write_str("esc"),
            KeyKind::Tab => f.write_str("tab"),
            KeyKind::BackTab => f.write_str("shift-tab"),
            KeyKind::Backspace => f.write_str("backspace"),
            KeyKind::Delete => f.write_str("delete"),
            KeyKind::Insert => f.write_str("insert"),
            KeyKind::Up => f.write_str("up"),
            KeyKind::Down => f.write_str("down"),
            KeyKind::Left => f.write_str("left"),
            KeyKind::Right => f.write_str("right"),
            KeyKind::PageUp => f.write_str("pageup"),
            KeyKind::PageDown => f.write_str("pagedown"),
            KeyKind::Home => f.write_str("home"),
            KeyKind::End => f.write_str("end"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> KeySpec {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_show() {
        for s in [
            "q",
            "G",
            "ctrl-c",
            "alt-x",
            "enter",
            "esc",
            "pagedown",
            "f1",
            "space",
            "shift-tab",
            "?",
            ":",
            "/",
            "-",
        ] {
            assert_eq!(k(s).to_string(), s, "{s}");
        }
        assert_eq!(k("shift-g"), k("G"));
        assert_eq!(k("Ctrl-C"), k("ctrl-c"));
        assert_eq!(k("pgdn"), k("pagedown"));
        assert!("ctrl-".parse::<KeySpec>().is_err());
        assert!("hyper-x".parse::<KeySpec>().is_err());
        assert!("ab".parse::<KeySpec>().is_err());
    }

    #[test]
    fn events_map_to_specs() {
        let e = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(KeySpec::from_event(&e), Some(k("G")));
        let e = KeyEvent::new(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(KeySpec::from_event(&e), Some(k("ctrl-c")));
        let e = KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE);
        assert_eq!(KeySpec::from_event(&e), Some(k("pagedown")));
    }
}
