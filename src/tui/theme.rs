//! Themes as files with semantic slots (text, accent, ok/warn/critical/down, the five load
//! bands…), never widget-specific colours. Four ship inside the binary; a user theme may
//! extend one and change a few slots. `NO_COLOR` turns every colour off.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use crate::config::ConfigError;

/// The shipped themes, by name.
pub const SHIPPED: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
];

/// A semantic role a theme gives a colour: the only way code asks for one, so a misspelt
/// role does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Behind everything.
    Background,
    /// Plain text.
    Text,
    /// Labels, units and what matters less.
    Muted,
    /// Keys, links and what can be acted on.
    Accent,
    /// Titles and headings.
    Title,
    /// Borders.
    Border,
    /// The selected row's background.
    Selection,
    /// The selected row's text.
    SelectionText,
    /// Healthy.
    Ok,
    /// Needs a look.
    Warn,
    /// Broken.
    Critical,
    /// Down hosts.
    Down,
    /// Stale or last-known data.
    Stale,
    /// Load band 0.
    Load0,
    /// Load band 1.
    Load1,
    /// Load band 2.
    Load2,
    /// Load band 3.
    Load3,
    /// Load band 4 (over the top threshold).
    Load4,
    /// Graph lines.
    Graph,
    /// Graph ranges (min–max).
    GraphRange,
    /// Dialog background.
    Dialog,
    /// Dialog borders.
    DialogBorder,
}

impl Role {
    /// Every role, in file order.
    pub const ALL: [Role; 22] = [
        Role::Background,
        Role::Text,
        Role::Muted,
        Role::Accent,
        Role::Title,
        Role::Border,
        Role::Selection,
        Role::SelectionText,
        Role::Ok,
        Role::Warn,
        Role::Critical,
        Role::Down,
        Role::Stale,
        Role::Load0,
        Role::Load1,
        Role::Load2,
        Role::Load3,
        Role::Load4,
        Role::Graph,
        Role::GraphRange,
        Role::Dialog,
        Role::DialogBorder,
    ];

    /// Its name in theme files.
    pub fn id(self) -> &'static str {
        match self {
            Role::Background => "background",
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Accent => "accent",
            Role::Title => "title",
            Role::Border => "border",
            Role::Selection => "selection",
            Role::SelectionText => "selection_text",
            Role::Ok => "ok",
            Role::Warn => "warn",
            Role::Critical => "critical",
            Role::Down => "down",
            Role::Stale => "stale",
            Role::Load0 => "load_0",
            Role::Load1 => "load_1",
            Role::Load2 => "load_2",
            Role::Load3 => "load_3",
            Role::Load4 => "load_4",
            Role::Graph => "graph",
            Role::GraphRange => "graph_range",
            Role::Dialog => "dialog",
            Role::DialogBorder => "dialog_border",
        }
    }

    /// A role by its name in theme files.
    pub fn by_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// Every slot a theme sets, by name.
pub fn slot_names() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.id()).collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    extends: Option<Spanned<String>>,
    #[serde(default)]
    colors: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// A loaded theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// The theme's name.
    pub name: String,
    colors: BTreeMap<Role, Color>,
    /// Colours are off (`NO_COLOR`): meaning is carried by glyphs and modifiers alone.
    pub monochrome: bool,
}

fn parse_color(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    Some(match s.to_ascii_lowercase().as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

/// Whether the user asked for no colour (<https://no-color.org>: set and not empty).
pub fn no_color_requested() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Theme {
    /// A theme by name: a file `NAME.toml` in `user_dir`, else a shipped one.
    pub fn load(name: &str, user_dir: &Path) -> Result<Self, ConfigError> {
        Self::load_depth(name, user_dir, 0)
    }

    fn load_depth(name: &str, user_dir: &Path, depth: usize) -> Result<Self, ConfigError> {
        let user = user_dir.join(format!("{name}.toml"));
        match std::fs::read_to_string(&user) {
            Ok(text) => Self::parse(&user, &text, user_dir, depth),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match SHIPPED.iter().find(|(n, _)| *n == name) {
                    Some((_, text)) => Self::parse(
                        Path::new(&format!("themes/{name}.toml")),
                        text,
                        user_dir,
                        depth,
                    ),
                    None => Err(ConfigError::Read {
                        file: user,
                        reason: format!(
                            "no such theme; shipped: {}",
                            Self::shipped_names().join(", ")
                        ),
                    }),
                }
            }
            Err(e) => Err(ConfigError::Read {
                file: user,
                reason: crate::aggregator::plain_io(&e),
            }),
        }
    }

    /// Names of the shipped themes.
    pub fn shipped_names() -> Vec<&'static str> {
        SHIPPED.iter().map(|(n, _)| *n).collect()
    }

    /// Parses a theme file; slots it does not set come from what it extends.
    pub fn parse(
        file: &Path,
        text: &str,
        user_dir: &Path,
        depth: usize,
    ) -> Result<Self, ConfigError> {
        let parsed: ThemeFile =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let mut colors = match &parsed.extends {
            Some(base) if depth < 4 => {
                Self::load_depth(base.get_ref(), user_dir, depth + 1)
                    .map_err(|e| {
                        ConfigError::at(
                            file,
                            text,
                            Some(base.span()),
                            Some("extends".into()),
                            e.to_string(),
                        )
                    })?
                    .colors
            }
            Some(base) => {
                return Err(ConfigError::at(
                    file,
                    text,
                    Some(base.span()),
                    Some("extends".into()),
                    "themes extend each other in a loop",
                ));
            }
            None => BTreeMap::new(),
        };
        for (slot, value) in &parsed.colors {
            let Some(role) = Role::by_id(slot.get_ref()) else {
                return Err(ConfigError::at(
                    file,
                    text,
                    Some(slot.span()),
                    Some(slot.get_ref().clone()),
                    format!(
                        "unknown slot '{}'; slots are: {}",
                        slot.get_ref(),
                        slot_names().join(", ")
                    ),
                ));
            };
            let Some(c) = parse_color(value.get_ref()) else {
                return Err(ConfigError::at(
                    file,
                    text,
                    Some(value.span()),
                    Some(role.id().to_string()),
                    format!(
                        "'{}' is not a colour (use #rrggbb, reset, or a name like red)",
                        value.get_ref()
                    ),
                ));
            };
            colors.insert(role, c);
        }
        if parsed.extends.is_none()
            && let Some(missing) = Role::ALL.iter().find(|r| !colors.contains_key(*r))
        {
            return Err(ConfigError::at(
                file,
                text,
                None,
                Some(missing.id().to_string()),
                format!(
                    "slot '{}' is not set (or extend a shipped theme)",
                    missing.id()
                ),
            ));
        }
        Ok(Self {
            name: parsed.name.unwrap_or_else(|| {
                file.file_stem()
                    .map_or("custom".into(), |s| s.to_string_lossy().into_owned())
            }),
            colors,
            monochrome: false,
        })
    }

    /// This theme with colours off.
    pub fn without_color(mut self) -> Self {
        self.monochrome = true;
        self
    }

    /// The colour of a slot (Reset when monochrome).
    pub fn color(&self, role: Role) -> Color {
        if self.monochrome {
            return Color::Reset;
        }
        self.colors.get(&role).copied().unwrap_or(Color::Reset)
    }

    /// Foreground style of a slot.
    pub fn fg(&self, role: Role) -> Style {
        Style::new().fg(self.color(role))
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        self.fg(Role::Text).bg(self.color(Role::Background))
    }

    /// The selected row or tile: coloured, or reversed when monochrome.
    pub fn selection(&self) -> Style {
        if self.monochrome {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
                .fg(self.color(Role::SelectionText))
                .bg(self.color(Role::Selection))
                .add_modifier(Modifier::BOLD)
        }
    }

    /// Colour of load band 0..=4.
    pub fn load_band(&self, band: usize) -> Color {
        const BANDS: [Role; 5] = [
            Role::Load0,
            Role::Load1,
            Role::Load2,
            Role::Load3,
            Role::Load4,
        ];
        self.color(BANDS[band.min(4)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nowhere() -> &'static Path {
        Path::new("/nonexistent-gantry-themes")
    }

    #[test]
    fn every_shipped_theme_sets_every_slot() {
        for name in Theme::shipped_names() {
            let t = Theme::load(name, nowhere()).unwrap();
            for s in Role::ALL {
                assert!(t.colors.contains_key(&s), "{name} misses {}", s.id());
            }
        }
        assert_eq!(
            Theme::load("dark", nowhere()).unwrap().load_band(4),
            Color::Rgb(0xff, 0x63, 0x4f)
        );
    }

    #[test]
    fn user_theme_extends_a_shipped_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "extends = \"dark\"\n[colors]\naccent = \"#ff8700\"\n",
        )
        .unwrap();
        let t = Theme::load("mine", dir.path()).unwrap();
        assert_eq!(t.color(Role::Accent), Color::Rgb(0xff, 0x87, 0x00));
        assert_eq!(
            t.color(Role::Ok),
            Theme::load("dark", nowhere()).unwrap().color(Role::Ok)
        );
        assert_eq!(t.name, "mine");
    }

    #[test]
    fn errors_say_file_line_and_slot() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, "extends = \"dark\"\n[colors]\naccent = \"#ff87\"\n").unwrap();
        let e = Theme::load("bad", dir.path()).unwrap_err().to_string();
        assert!(e.ends_with("bad.toml:3:10: key 'accent': '#ff87' is not a colour (use #rrggbb, reset, or a name like red)"), "{e}");
        std::fs::write(&f, "extends = \"dark\"\n[colors]\naccnet = \"red\"\n").unwrap();
        let e = Theme::load("bad", dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml:3:1: key 'accnet': unknown slot 'accnet'"),
            "{e}"
        );
        std::fs::write(&f, "[colors]\naccent = \"red\"\n").unwrap();
        let e = Theme::load("bad", dir.path()).unwrap_err().to_string();
        assert!(e.contains("slot 'background' is not set"), "{e}");
        let e = Theme::load("nosuch", dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("no such theme; shipped: dark, light, high-contrast, colorblind"),
            "{e}"
        );
    }

    #[test]
    fn monochrome_has_no_colour() {
        let t = Theme::load("dark", nowhere()).unwrap().without_color();
        assert_eq!(t.color(Role::Critical), Color::Reset);
        assert!(t.selection().add_modifier.contains(Modifier::REVERSED));
    }
}
