//! Keymaps as files. `keymaps/default.toml` and `keymaps/vim.toml` ship inside the binary; a
//! user `keymap.toml` extends one of them and, layer by layer (`[monitor]`, `[list]`, `[jobs]`,
//! `[pager]`, `[dialog]`, `[form]`), replaces any action's keys or unbinds it with `[]`. A key
//! bound to two actions of one layer is an error that names both; an action bound in a layer
//! where it means nothing is an error too.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crossterm::event::KeyEvent;
use serde::Deserialize;
use toml::Spanned;

use super::action::{ACTIONS, Action, LAYERS, Layer, action_by_id, action_def, layer_def};
use super::keys::KeySpec;
use crate::config::ConfigError;

/// The shipped keymaps, by name.
pub const SHIPPED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

type Bindings = BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    extends: Option<Spanned<String>>,
    monitor: Option<Bindings>,
    list: Option<Bindings>,
    jobs: Option<Bindings>,
    pager: Option<Bindings>,
    dialog: Option<Bindings>,
    form: Option<Bindings>,
}

impl KeymapFile {
    fn layers(&self) -> [(Layer, Option<&Bindings>); 6] {
        [
            (Layer::Monitor, self.monitor.as_ref()),
            (Layer::List, self.list.as_ref()),
            (Layer::Jobs, self.jobs.as_ref()),
            (Layer::Pager, self.pager.as_ref()),
            (Layer::Dialog, self.dialog.as_ref()),
            (Layer::Form, self.form.as_ref()),
        ]
    }
}

/// Which keys trigger which actions, layer by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    /// The keymap's name (`default`, `vim`, or the user file's).
    pub name: String,
    by_key: HashMap<(Layer, KeySpec), Action>,
    by_action: BTreeMap<(Layer, Action), Vec<KeySpec>>,
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

    /// A user's keymap file's text, read as [`Keymap::load`] reads it (on the default base).
    pub fn parse_user(file: &Path, text: &str) -> Result<Self, ConfigError> {
        Self::parse_with_default_base(file, text, "default")
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
        let mut by_action: BTreeMap<(Layer, Action), Vec<KeySpec>> = match base_name {
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
        for (layer, bindings) in parsed.layers() {
            let ldef = layer_def(layer);
            for (name, keys) in bindings.into_iter().flatten() {
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
                if !ldef.actions.contains(&action) {
                    return Err(err(
                        name.span(),
                        name.get_ref(),
                        format!(
                            "'{}' means nothing in [{}]; it can be bound in: {}",
                            name.get_ref(),
                            ldef.id,
                            LAYERS
                                .iter()
                                .filter(|l| l.actions.contains(&action))
                                .map(|l| format!("[{}]", l.id))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                let mut specs = Vec::new();
                for k in keys.get_ref() {
                    let spec: KeySpec = k.get_ref().parse().map_err(|e: super::keys::BadKey| {
                        err(k.span(), name.get_ref(), e.to_string())
                    })?;
                    if !specs.contains(&spec) {
                        specs.push(spec);
                    }
                }
                by_action.insert((layer, action), specs);
            }
        }
        let mut by_key: HashMap<(Layer, KeySpec), Action> = HashMap::new();
        for ((layer, action), keys) in &by_action {
            for k in keys {
                if let Some(other) = by_key.insert((*layer, *k), *action)
                    && other != *action
                {
                    let (a, b) = (action_def(other).id, action_def(*action).id);
                    let section = parsed.layers().into_iter().find(|(l, _)| l == layer);
                    let span = section.and_then(|(_, b_)| {
                        b_?.iter()
                            .find(|(n, _)| n.get_ref() == b || n.get_ref() == a)
                            .map(|(_, v)| v.span())
                    });
                    return Err(ConfigError::at(
                        file,
                        text,
                        span,
                        None,
                        format!(
                            "[{}]: key '{k}' is bound to both '{a}' and '{b}'; unbind one (e.g. {a} = [])",
                            layer_def(*layer).id
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

    /// The action a key event triggers in `layer`.
    pub fn action_in(&self, layer: Layer, e: &KeyEvent) -> Option<Action> {
        KeySpec::from_event(e).and_then(|k| self.by_key.get(&(layer, k)).copied())
    }

    /// The keys bound to an action in `layer` (empty when unbound).
    pub fn keys_in(&self, layer: Layer, a: Action) -> &[KeySpec] {
        self.by_action.get(&(layer, a)).map_or(&[], Vec::as_slice)
    }

    /// The first key of an action in `layer`, as shown on the hint bar.
    pub fn first_key(&self, layer: Layer, a: Action) -> Option<String> {
        self.keys_in(layer, a).first().map(ToString::to_string)
    }

    /// A layer's actions with their keys, in table order (actions removed by
    /// [`read_only`](Self::read_only) are left out).
    pub fn entries(
        &self,
        layer: Layer,
    ) -> impl Iterator<Item = (&'static super::action::ActionDef, &[KeySpec])> {
        let known = layer_def(layer).actions;
        ACTIONS
            .iter()
            .filter(move |d| known.contains(&d.action) && !(self.read_only && d.dangerous))
            .map(move |d| (d, self.keys_in(layer, d.action)))
    }

    /// Removes every dangerous action: no key triggers it, and hints and help leave it out.
    pub fn read_only(mut self) -> Self {
        self.by_action.retain(|(_, a), _| !action_def(*a).dangerous);
        self.by_key.retain(|_, a| !action_def(*a).dangerous);
        self.read_only = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn parse(text: &str) -> Result<Keymap, ConfigError> {
        Keymap::parse(Path::new("keymap.toml"), text, 0)
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn every_layer_can_be_left_and_moved_in() {
        for name in ["default", "vim"] {
            let k = Keymap::shipped(name).unwrap();
            for l in LAYERS {
                let leave = [Action::Close, Action::Back, Action::Quit];
                assert!(
                    leave.iter().any(|a| !k.keys_in(l.layer, *a).is_empty()),
                    "{name}: nothing leaves [{}]",
                    l.id
                );
                assert!(
                    !k.keys_in(l.layer, Action::Down).is_empty(),
                    "{name} [{}]",
                    l.id
                );
            }
        }
    }

    #[test]
    fn vim_moves_the_pager_and_lists_too() {
        let k = Keymap::shipped("vim").unwrap();
        for l in [Layer::Monitor, Layer::List, Layer::Jobs, Layer::Pager] {
            assert_eq!(k.action_in(l, &key('j')), Some(Action::Down), "{l:?}");
            assert_eq!(k.action_in(l, &key('G')), Some(Action::Last), "{l:?}");
        }
        // The form types letters: nothing there is a bare letter.
        assert_eq!(k.action_in(Layer::Form, &key('j')), None);
        assert_eq!(k.action_in(Layer::Monitor, &key('q')), Some(Action::Quit));
        assert_eq!(k.action_in(Layer::Pager, &key('q')), Some(Action::Close));
    }

    #[test]
    fn user_file_overrides_and_unbinds() {
        let k =
            parse("extends = \"default\"\n[monitor]\nquit = [\"ctrl-q\"]\nsources = []\n").unwrap();
        assert_eq!(
            k.first_key(Layer::Monitor, Action::Quit).as_deref(),
            Some("ctrl-q")
        );
        assert!(k.keys_in(Layer::Monitor, Action::Sources).is_empty());
        assert_eq!(
            k.action_in(Layer::Monitor, &key('q')),
            None,
            "q no longer quits"
        );
        assert_eq!(
            k.action_in(Layer::Pager, &key('q')),
            Some(Action::Close),
            "other layers keep theirs"
        );
    }

    #[test]
    fn conflicts_name_both_actions_and_the_layer() {
        let e = parse("extends = \"default\"\n[monitor]\nsort = [\"r\"]\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "keymap.toml:3:8: key 'sort': [monitor]: key 'r' is bound to both 'refresh' and 'sort'; unbind one (e.g. refresh = [])"
        );
    }

    #[test]
    fn bad_files_name_line_and_key() {
        let e = parse("[monitor]\nquit = [\"hyper-q\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("keymap.toml:2:9: key 'quit': unknown key 'hyper-q'"),
            "{e}"
        );
        let e = parse("[monitor]\nfly = [\"x\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("keymap.toml:2:1: key 'fly': unknown action 'fly'"),
            "{e}"
        );
        let e = parse("[form]\nkill = [\"x\"]\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("'kill' means nothing in [form]; it can be bound in: [jobs]"),
            "{e}"
        );
        let e = parse("extends = \"emacs\"\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("no such keymap; shipped: default, vim"),
            "{e}"
        );
        let e = parse("[monitor]\nquit = \"q\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("keymap.toml:2:8: key 'quit': invalid type"),
            "{e}"
        );
        let e = parse("[keys]\nquit = [\"q\"]\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `keys`"), "{e}");
    }

    #[test]
    fn read_only_removes_dangerous_actions_everywhere() {
        let k = Keymap::shipped("default").unwrap().read_only();
        assert_eq!(k.action_in(Layer::Jobs, &key('k')), None);
        assert!(k.entries(Layer::Jobs).all(|(d, _)| !d.dangerous));
    }
}
