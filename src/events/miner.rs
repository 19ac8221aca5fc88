//! Online template mining: each message is assigned to a template as it arrives. Messages are
//! split into words, variables masked (`mask`), and routed through a fixed-depth tree — by
//! word count, then by the first words — to a short list of templates, where the most similar
//! one takes it (its differing words becoming variables) or a new template is made. The idea
//! is Drain's (He et al., ICWS 2017); the rules for masking, similarity and routing are ours.

use rustc_hash::FxHashMap;

use super::mask::{Word, words};

/// The word id of a variable.
pub const VAR: u32 = 0;

/// How templates are mined (one configuration for every source).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinerConfig {
    /// Words of a message that route it through the tree after its length.
    pub prefix: usize,
    /// The share of a template's words a message must repeat to join it (a template's
    /// variable matching anything).
    pub similarity: f64,
}

impl Default for MinerConfig {
    fn default() -> Self {
        Self {
            prefix: 2,
            similarity: 0.8,
        }
    }
}

/// One template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Word ids; [`VAR`] where the word varies.
    pub words: Vec<u32>,
    /// Messages assigned to it.
    pub count: u64,
    /// The leaf it lives in (its route when it was made).
    route: Route,
}

/// A template as saved to a file: its words and its route's, by text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedTemplate {
    /// Its words, `None` where it varies.
    pub words: Vec<Option<String>>,
    /// The first words of the message that made it, as they routed (`None`: as a variable).
    pub route: Vec<Option<String>>,
    /// Messages assigned to it.
    pub count: u64,
}

/// What learning a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// The template it was assigned to.
    pub template: u32,
    /// The template is new.
    pub new: bool,
    /// The template changed (a word became a variable).
    pub changed: bool,
}

/// The route to a leaf: the message's length and its first words.
type Route = (u32, [u32; 4]);

/// The miner.
#[derive(Debug, Default)]
pub struct Miner {
    config: MinerConfig,
    /// Word ids, hashed with a key drawn per process: the words are whatever senders send.
    ids: std::collections::HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    names: Vec<Box<str>>,
    leaves: FxHashMap<Route, Vec<u32>>,
    templates: Vec<Template>,
    scratch: Vec<u32>,
    /// The first words as they route (a word with digits routes as a variable).
    routing: [u32; 4],
    /// Ids of forgotten templates, for new ones.
    free: Vec<u32>,
    /// The word table is compacted when it grows past this many words.
    compact_at: usize,
}

/// The id of a word not in the table (never a template's).
const UNKNOWN: u32 = u32::MAX - 1;

/// Templates one leaf holds at most.
const MAX_PER_LEAF: usize = 128;

/// The word table is never compacted below this many words.
const MIN_COMPACT: usize = 100_000;

impl Miner {
    /// A miner with `config`.
    pub fn new(config: MinerConfig) -> Self {
        Self {
            config,
            names: vec!["<*>".into()],
            compact_at: MIN_COMPACT,
            ..Self::default()
        }
    }

    fn id(&mut self, w: &str) -> u32 {
        if let Some(&i) = self.ids.get(w) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(w.into());
        self.ids.insert(w.into(), i);
        i
    }

    /// A word's id if it is known, else [`UNKNOWN`]: only a new template's words are kept,
    /// so messages that join templates never grow the table.
    fn known(&self, w: &str) -> u32 {
        self.ids.get(w).copied().unwrap_or(UNKNOWN)
    }

    /// The message's words as ids, in `self.scratch`, and its first words as they route;
    /// `intern` adds unknown words to the table (for a new template).
    fn tokenize(&mut self, msg: &str, intern: bool) {
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        self.routing = [u32::MAX; 4];
        let depth = self.config.prefix.min(4);
        for (i, w) in words(msg).enumerate() {
            let varies = w.varies();
            let id = match (w, intern) {
                (Word::Var, _) => VAR,
                (Word::Text(t), true) => self.id(t),
                (Word::Shape(t), true) => self.id(&t),
                (Word::Text(t), false) => self.known(t),
                (Word::Shape(t), false) => self.known(&t),
            };
            if i < depth {
                self.routing[i] = if varies { VAR } else { id };
            }
            s.push(id);
        }
        self.scratch = s;
    }

    fn route(&self, w: &[u32]) -> Route {
        (w.len() as u32, self.routing)
    }

    /// Assigns `msg` to a template, learning from it.
    pub fn learn(&mut self, msg: &str) -> Learned {
        self.tokenize(msg, false);
        let mut w = std::mem::take(&mut self.scratch);
        let mut route = self.route(&w);
        let leaf = self.leaves.get(&route);
        // A full leaf takes no new template: its best match takes the message, so messages
        // crafted to share a route cannot make every message compare with thousands.
        let full = leaf.is_some_and(|l| l.len() >= MAX_PER_LEAF);
        let best = leaf.and_then(|list| {
            list.iter()
                .map(|&t| (t, similarity(&self.templates[t as usize].words, &w)))
                .max_by(|a, b| a.1.0.total_cmp(&b.1.0).then(a.1.1.cmp(&b.1.1)))
        });
        let least = self.config.similarity;
        let joins = move |sim: f64| full || sim >= least;
        if !best.is_some_and(|(_, (sim, _))| joins(sim)) {
            // A new template: its words go into the table now.
            self.scratch = w;
            self.tokenize(msg, true);
            w = std::mem::take(&mut self.scratch);
            route = self.route(&w);
        }
        let out = match best {
            Some((t, (sim, _))) if joins(sim) => {
                let tpl = &mut self.templates[t as usize];
                tpl.count += 1;
                let mut changed = false;
                for (a, b) in tpl.words.iter_mut().zip(&w) {
                    if *a != *b && *a != VAR {
                        *a = VAR;
                        changed = true;
                    }
                }
                Learned {
                    template: t,
                    new: false,
                    changed,
                }
            }
            _ => {
                let tpl = Template {
                    words: w.clone(),
                    count: 1,
                    route,
                };
                let t = match self.free.pop() {
                    Some(t) => {
                        self.templates[t as usize] = tpl;
                        t
                    }
                    None => {
                        self.templates.push(tpl);
                        self.templates.len() as u32 - 1
                    }
                };
                self.leaves.entry(route).or_default().push(t);
                if self.names.len() > self.compact_at {
                    self.compact();
                }
                Learned {
                    template: t,
                    new: true,
                    changed: false,
                }
            }
        };
        self.scratch = w;
        out
    }

    /// Forgets template `t`: no message joins it again (a like one makes a new template),
    /// and its id goes to the next new template.
    pub fn forget(&mut self, t: u32) {
        let Some(tpl) = self.templates.get_mut(t as usize) else {
            return;
        };
        if tpl.words.is_empty() && tpl.count == 0 {
            return;
        }
        tpl.words = Vec::new();
        tpl.count = 0;
        let route = tpl.route;
        if let Some(list) = self.leaves.get_mut(&route) {
            list.retain(|&x| x != t);
            if list.is_empty() {
                self.leaves.remove(&route);
            }
        }
        self.free.push(t);
    }

    /// Rebuilds the word table from the words live templates use: words of forgotten
    /// templates go, so a flood of distinct messages cannot grow it without bound.
    fn compact(&mut self) {
        let mut map: FxHashMap<u32, u32> = FxHashMap::default();
        let mut names: Vec<Box<str>> = vec!["<*>".into()];
        map.insert(VAR, VAR);
        let mut remap = |w: &mut u32, names: &mut Vec<Box<str>>, old: &[Box<str>]| {
            if *w == u32::MAX {
                return;
            }
            *w = *map.entry(*w).or_insert_with(|| {
                names.push(old[*w as usize].clone());
                names.len() as u32 - 1
            });
        };
        let old = std::mem::take(&mut self.names);
        for tpl in &mut self.templates {
            for w in tpl.words.iter_mut().chain(tpl.route.1.iter_mut()) {
                remap(w, &mut names, &old);
            }
        }
        self.leaves = self
            .templates
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.words.is_empty() || t.count > 0)
            .fold(FxHashMap::default(), |mut leaves, (i, t)| {
                leaves
                    .entry(t.route)
                    .or_insert_with(Vec::new)
                    .push(i as u32);
                leaves
            });
        self.ids = names
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        self.names = names;
        self.compact_at = (self.names.len() * 4).max(MIN_COMPACT);
    }

    /// The template's words as text (`None` for a variable) and its route's words (`None`
    /// for a word that routes as a variable), to be saved; `None` for a free id.
    pub fn saved(&self, t: u32) -> Option<SavedTemplate> {
        let tpl = self.templates.get(t as usize)?;
        if tpl.words.is_empty() && tpl.count == 0 {
            return None;
        }
        let name = |w: u32| (w != VAR).then(|| self.names[w as usize].to_string());
        Some(SavedTemplate {
            words: tpl.words.iter().map(|&w| name(w)).collect(),
            route: tpl
                .route
                .1
                .iter()
                .take_while(|&&w| w != u32::MAX)
                .map(|&w| name(w))
                .collect(),
            count: tpl.count,
        })
    }

    /// A miner that learns on as the one that saved these templates (by id) did; ids
    /// between them are free for new templates.
    pub fn restored(
        config: MinerConfig,
        saved: impl IntoIterator<Item = (u32, SavedTemplate)>,
    ) -> Self {
        let mut m = Self::new(config);
        for (t, saved) in saved {
            let t = t as usize;
            while m.templates.len() <= t {
                m.templates.push(Template {
                    words: Vec::new(),
                    count: 0,
                    route: (0, [u32::MAX; 4]),
                });
            }
            let mut id = |w: &Option<String>| w.as_deref().map_or(VAR, |w| m.id(w));
            let words: Vec<u32> = saved.words.iter().map(&mut id).collect();
            let mut first = [u32::MAX; 4];
            for (slot, w) in first.iter_mut().zip(&saved.route) {
                *slot = id(w);
            }
            let route = (words.len() as u32, first);
            if !(m.templates[t].words.is_empty() && m.templates[t].count == 0) {
                continue; // the same id twice: the first stays
            }
            m.leaves.entry(route).or_default().push(t as u32);
            m.templates[t] = Template {
                words,
                count: saved.count.max(1),
                route,
            };
        }
        m.free = (0..m.templates.len() as u32)
            .rev()
            .filter(|&t| {
                let tpl = &m.templates[t as usize];
                tpl.words.is_empty() && tpl.count == 0
            })
            .collect();
        m.compact_at = (m.names.len() * 4).max(MIN_COMPACT);
        m
    }

    /// Words in the word table.
    pub fn words_known(&self) -> usize {
        self.names.len()
    }

    /// Every template, by id.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// A template as text, `<*>` for its variables.
    pub fn text(&self, t: u32) -> String {
        self.templates
            .get(t as usize)
            .map(|tpl| {
                tpl.words
                    .iter()
                    .map(|&i| &*self.names[i as usize])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }
}

/// How alike a template and a message of the same length are: the share of positions where
/// they agree, a variable in the template agreeing with anything; ties go to the template
/// with more of its own words matched.
fn similarity(template: &[u32], msg: &[u32]) -> (f64, usize) {
    if template.is_empty() {
        return (1.0, 0);
    }
    let (mut same, mut vars) = (0usize, 0usize);
    for (a, b) in template.iter().zip(msg) {
        if *a == VAR {
            vars += 1;
        } else if a == b {
            same += 1;
        }
    }
    ((same + vars) as f64 / template.len() as f64, same)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_that_differ_in_variables_share_a_template() {
        let mut m = Miner::new(MinerConfig::default());
        let a = m.learn("disk 3 failed on node-7");
        let b = m.learn("disk 12 failed on node-9");
        assert!(a.new && !b.new);
        assert_eq!(a.template, b.template);
        assert_eq!(m.text(a.template), "disk <*> failed on node-<*>");
        let c = m.learn("Accepted password for root from 10.0.0.1 port 22 ssh2");
        let d = m.learn("Accepted password for alice from 10.0.0.2 port 22 ssh2");
        assert_eq!(c.template, d.template);
        assert!(d.changed);
        assert_eq!(
            m.text(c.template),
            "Accepted password for <*> from <*> port <*> ssh<*>"
        );
        assert_ne!(m.learn("link down").template, a.template);
    }

    #[test]
    fn messages_that_join_a_template_leave_the_word_table_alone() {
        let mut m = Miner::new(MinerConfig::default());
        for i in 0..50_000 {
            m.learn(&format!(
                "session opened for user u{} by root",
                i * 7919 % 100_003
            ));
        }
        assert!(m.words_known() < 20, "{} words", m.words_known());
        // Words past the longest are variables whole.
        let long = "x".repeat(5_000);
        let a = m.learn(&format!("token {long} refused"));
        let b = m.learn(&format!("token {} refused", "y".repeat(5_000)));
        assert_eq!(a.template, b.template);
        assert!(m.words_known() < 25);
    }

    #[test]
    fn a_restored_miner_learns_as_the_saved_one_did() {
        let mut m = Miner::new(MinerConfig::default());
        let msgs = [
            "disk 3 failed on node-7",
            "disk 12 failed on node-9",
            "session opened for user root by (uid=0)",
            "link down",
            "session opened for user alice by (uid=0)",
        ];
        for x in msgs {
            m.learn(x);
        }
        let gone = m.learn("link down").template;
        m.forget(gone);
        let saved: Vec<_> = (0..m.templates().len() as u32)
            .filter_map(|t| m.saved(t).map(|s| (t, s)))
            .collect();
        let mut r = Miner::restored(MinerConfig::default(), saved);
        for t in 0..m.templates().len() as u32 {
            assert_eq!(m.text(t), r.text(t));
        }
        for x in [
            "disk 99 failed on node-1",
            "session opened for user bob by (uid=0)",
            "link down",
            "fan 2 stopped",
        ] {
            let (a, b) = (m.learn(x), r.learn(x));
            assert_eq!((a.template, a.new), (b.template, b.new), "{x}");
        }
    }
}
