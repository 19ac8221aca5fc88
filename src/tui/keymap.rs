//! Keymaps as files. `keymaps/default.toml` and `keymaps/vim.toml` ship inside the binary; a
//! user `keymap.toml` extends one of them, replaces any action's keys, or unbinds it with `[]`.
//! A key bound to two actions is an error that names both.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crossterm::event::KeyEvent;
use serde::Deserialize;
use toml::Spanned;

use super::action::{ACTIONS, Action, action_by_id, action_def};
use super::keys::KeySpec;
use crate::config::ConfigError;

/// The shipped keymaps, by name.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    extends: Option<Spanned<String>>,
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>,
}

/// Which keys trigger which actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    /// The keymap's name (`default`, `vim`, or the user file's).
    pub name: String,
    by_key: HashMap<KeySpec, Action>,
    by_action: BTreeMap<Action, Vec<KeySpec>>,
    /// Dangerous actions were removed.
    pub read_only: bool,
}

impl Keymap {
    /// A shipped keymap by name.
    pub fn shipped(name: &str) -> Result<Self, ConfigError> {
        let text = SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| ConfigError::Read {
                file: format!("keymaps/{name}.toml").into(),
                reason: format!(
                    "no such keymap; shipped: {}",
                    SHIPPED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        Self::parse(Path::new(&format!("keymaps/{name}.toml")), text, 0)
    }

    /// The keymap to use: `base` (a shipped name), then the user's file if it exists.
    pub fn load(base: &str, user_file: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(user_file) {
            Ok(text) => {
                let mut k = Self::parse_with_default_base(user_file, &text, base)?;
                k.name = format!("{} ({})", user_file.display(), k.name);
                Ok(k)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::shipped(base),
            Err(e) => Err(ConfigError::Read {
                file: user_file.to_path_buf(),
                reason: crate::aggregator::plain_io(&e),
            }),
        }
    }

    fn parse_with_default_base(file: &Path, text: &str, base: &str) -> Result<Self, ConfigError> {
        Self::parse_inner(file, text, Some(base), 0)
    }

    fn parse(file: &Path, text: &str, depth: usize) -> Result<Self, ConfigError> {
        Self::parse_inner(file, text, None, depth)
    }

    fn parse_inner(
        file: &Path,
        text: &str,
        fallback_base: Option<&str>,
        depth: usize,
    ) -> Result<Self, ConfigError> {
        let parsed: KeymapFile =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let err = |span: std::ops::Range<usize>, key: &str, msg: String| {
            ConfigError::at(file, text, Some(span), Some(key.to_string()), msg)
        };
        let base_name = parsed
            .extends
            .as_ref()
            .map(|s| s.get_ref().as_str())
            .or(fallback_base);
        let mut by_action: BTreeMap<Action, Vec<KeySpec>> = match base_name {
            Some(b) if depth < 4 => {
                let base = Self::shipped(b).map_err(|e| match &parsed.extends {
                    Some(s) => err(s.span(), "extends", e.to_string()),
                    None => e,
                })?;
                base.by_action
            }
            Some(_) => {
                return Err(ConfigError::at(
                    file,
                    text,
                    None,
                    Some("extends".into()),
                    "keymaps extend each other in a loop",
                ));
            }
            None => BTreeMap::new(),
        };
        let mut origin: HashMap<Action, &str> = HashMap::new();
        for (name, keys) in &parsed.keys {
            let Some(action) = action_by_id(name.get_ref()) else {
                return Err(err(
                    name.span(),
                    name.get_ref(),
                    format!(
                        "unknown action '{}' (see the help page, ?, for the list)",
                        name.get_ref()
                    ),
                ));
            };
            let mut specs = Vec::new();
            for k in keys.get_ref() {
                let spec: KeySpec = k.get_ref().parse().map_err(|e: super::keys::BadKey| {
                    err(k.span(), name.get_ref(), e.to_string())
                })?;
                if !specs.contains(&spec) {
                    specs.push(spec);
                }
            }
            by_action.insert(action, specs);
            origin.insert(action, "this file");
        }
        let mut by_key: HashMap<KeySpec, Action> = HashMap::new();
        for (action, keys) in &by_action {
            for k in keys {
                if let Some(other) = by_key.insert(*k, *action)
                    && other != *action
                {
                    let (a, b) = (action_def(other).id, action_def(*action).id);
                    let span = parsed
                        .keys
                        .iter()
                        .find(|(n, _)| n.get_ref() == b || n.get_ref() == a)
                        .map(|(_, v)| v.span());
                    return Err(ConfigError::at(
                        file,
                        text,
                        span,
                        None,
                        format!(
                            "key '{k}' is bound to both '{a}' and '{b}'; unbind one (e.g. {a} = [])"
                        ),
                    ));
                }
            }
        }
        Ok(Self {
            name: base_name.unwrap_or("custom").to_string(),
            by_key,
            by_action,
            read_only: false,
        })
    }

    /// The action a key event triggers.
    pub fn action_for(&self, e: &KeyEvent) -> Option<Action> {
        KeySpec::from_event(e).and_then(|k| self.by_key.get(&k).copied())
    }

    /// The keys bound to an action (empty when unbound).
    pub fn keys_for(&self, a: Action) -> &[KeySpec] {
        self.by_action.get(&a).map_or(&[], Vec::as_slice)
    }

    /// The first key of an action, as shown on the hint bar.
    pub fn first_key(&self, a: Action) -> Option<String> {
        self.keys_for(a).first().map(ToString::to_string)
    }

    /// Every action of the table with its keys, in table order (actions removed by
    /// [`read_only`](Self::read_only) are left out).
    pub fn entries(&self) -> impl Iterator<Item = (&'static super::action::ActionDef, &[KeySpec])> {
        ACTIONS
            .iter()
            .filter(|d| !(self.read_only && d.dangerous))
            .map(|d| (d, self.keys_for(d.action)))
    }

    /// Removes every dangerous action: no key triggers it, and hints and help leave it out.
    pub fn read_only(mut self) -> Self {
        for d in ACTIONS.iter().filter(|d| d.dangerous) {
            if let Some(keys) = self.by_action.remove(&d.action) {
                for k in keys {
                    self.by_key.remove(&k);
                }
            }
        }
        self.read_only = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Keymap, ConfigError> {
        Keymap::parse(Path::new("keymap.toml"), text, 0)
    }

    #[test]
    fn shipped_default_equals_the_action_table() {
        let k = Keymap::shipped("default").unwrap();
        for d in ACTIONS {
            let want: Vec<KeySpec> = d.keys.iter().map(|s| s.parse().unwrap()).collect();
            assert_eq!(k.keys_for(d.action), want.as_slice(), "{}", d.id);
        }
    }

    #[test]
    fn vim_extends_default() {
        let k = Keymap::shipped("vim").unwrap();
        assert_eq!(k.keys_for(Action::Down)[0].to_string(), "j");
        assert_eq!(k.keys_for(Action::Legend)[0].to_string(), "L");
        assert_eq!(k.keys_for(Action::Quit).len(), 2, "inherited");
    }

    #[test]
    fn user_file_overrides_and_unbinds() {
        let k =
            parse("extends = \"default\"\n[keys]\nquit = [\"ctrl-q\"]\nsources = []\n").unwrap();
        assert_eq!(k.first_key(Action::Quit).as_deref(), Some("ctrl-q"));
        assert!(k.keys_for(Action::Sources).is_empty());
        let e = crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('q'),
            crossterm::event::KeyModifiers::NONE,
        );
        assert_eq!(k.action_for(&e), None, "q no longer quits");
    }

    #[test]
    fn conflicts_name_both_actions() {
        let e = parse("extends = \"default\"\n[keys]\nsort = [\"r\"]\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "keymap.toml:3:8: key 'sort': key 'r' is bound to both 'refresh' and 'sort'; unbind one (e.g. refresh = [])"
        );
    }

    #[test]
    fn bad_files_name_line_and_key() {
        let e = parse("[keys]\nquit = [\"hyper-q\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("keymap.toml:2:9: key 'quit': unknown key 'hyper-q'"),
            "{e}"
        );
        let e = parse("[keys]\nfly = [\"x\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("keymap.toml:2:1: key 'fly': unknown action 'fly'"),
            "{e}"
        );
        let e = parse("extends = \"emacs\"\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("no such keymap; shipped: default, vim"),
            "{e}"
        );
        let e = parse("[keys]\nquit = \"q\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("keymap.toml:2:8: key 'quit': invalid type"),
            "{e}"
        );
    }
}
