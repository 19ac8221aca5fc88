//! Fuzz target: the files a user writes — config.toml (src/config/file.rs), a keymap
//! (src/tui/keymap.rs) and a theme (src/tui/theme.rs).
//!
//! The first byte chooses the loader; the rest is the file's text (lossy UTF-8, as a file
//! read as text is never anything else). Checked: nothing panics, whatever the file says, and
//! a refusal's message (what the console prints, with the line quoted) can be written out.

use std::path::Path;

use gantry::config::Config;
use gantry::tui::keymap::Keymap;
use gantry::tui::theme::Theme;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&which, rest)) = data.split_first() else {
            return;
        };
        let text = String::from_utf8_lossy(rest);
        let said = match which % 3 {
            0 => Config::parse(Path::new("config.toml"), &text)
                .err()
                .map(|e| e.to_string()),
            1 => Keymap::parse_user(Path::new("keymap.toml"), &text)
                .err()
                .map(|e| e.to_string()),
            // A theme may extend another: from a folder that does not exist, only the shipped
            // ones are found.
            _ => Theme::parse(
                Path::new("mine.toml"),
                &text,
                Path::new("/nonexistent/gantry-fuzz-themes"),
                0,
            )
            .err()
            .map(|e| e.to_string()),
        };
        if let Some(message) = said {
            assert!(!message.is_empty(), "a refusal that says nothing");
        }
    });
}
