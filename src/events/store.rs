//! What is known of each template: how many messages, from which hosts, when first and last,
//! at what severity, per minute lately, and a few samples. Memory is bounded: at most
//! `max_templates` templates (the least used forgotten first, and counted), at most
//! `max_hosts` hosts and `SAMPLES` samples per template.

use std::collections::{HashMap, VecDeque};

use super::miner::{Miner, MinerConfig, SavedTemplate};
use super::syslog::Received;

/// Samples kept per template.
pub const SAMPLES: usize = 10;
/// Templates looked at to choose one to forget.
const EVICTION_SAMPLE: usize = 256;

/// Bytes of a sample's text kept.
pub const SAMPLE_TEXT: usize = 1024;

/// `s` cut at `max` bytes on a character boundary, marked when cut.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Minutes of per-minute counts kept per template (for rates and spikes).
pub const MINUTES: usize = 60;

/// Bounds on memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Templates kept.
    pub max_templates: usize,
    /// Hosts named per template (beyond, only counted).
    pub max_hosts: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_templates: 10_000,
            max_hosts: 256,
        }
    }
}

/// One message kept as a sample.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// When it arrived (epoch seconds).
    pub at: u64,
    /// Its host.
    pub host: String,
    /// Its program.
    pub app: String,
    /// Its text.
    pub text: String,
}

/// What is known of one template.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TemplateStats {
    /// The template's text, `<*>` for variables.
    pub text: String,
    /// Messages in all.
    pub count: u64,
    /// The worst (lowest) severity seen, if any message had one.
    pub severity: Option<u8>,
    /// Messages per host (at most `max_hosts` named).
    pub hosts: HashMap<String, u64>,
    /// Hosts beyond the cap.
    pub more_hosts: u64,
    /// First and last seen (epoch seconds).
    pub first: u64,
    /// Last seen.
    pub last: u64,
    /// Per-minute counts, the newest last, ending at `minute`.
    pub per_minute: VecDeque<u32>,
    /// The minute (epoch ÷ 60) of the newest count.
    pub minute: u64,
    /// The newest messages.
    pub samples: VecDeque<Sample>,
}

impl TemplateStats {
    fn new(text: String, now: u64) -> Self {
        Self {
            text,
            count: 0,
            severity: None,
            hosts: HashMap::new(),
            more_hosts: 0,
            first: now,
            last: now,
            per_minute: VecDeque::from([0]),
            minute: now / 60,
            samples: VecDeque::new(),
        }
    }

    /// Moves the per-minute counts forward to the minute of `now`.
    fn roll(&mut self, now: u64) {
        let m = now / 60;
        if m <= self.minute {
            return;
        }
        let gap = (m - self.minute).min(MINUTES as u64) as usize;
        for _ in 0..gap {
            self.per_minute.push_back(0);
        }
        while self.per_minute.len() > MINUTES {
            self.per_minute.pop_front();
        }
        self.minute = m;
    }

    /// Brings what was read from a file within the bounds a live store keeps.
    fn sanitize(&mut self, caps: Caps) {
        use super::syslog::{MAX_APP, MAX_HOST, printable_within};
        while self.samples.len() > SAMPLES {
            self.samples.pop_front();
        }
        for s in &mut self.samples {
            s.host = printable_within(&s.host, MAX_HOST);
            s.app = printable_within(&s.app, MAX_APP);
            s.text = cut(&printable_within(&s.text, SAMPLE_TEXT), SAMPLE_TEXT);
        }
        self.text = printable_within(&self.text, super::syslog::MAX_MESSAGE);
        while self.per_minute.len() > MINUTES {
            self.per_minute.pop_front();
        }
        if self.per_minute.is_empty() {
            self.per_minute.push_back(0);
        }
        if self.hosts.len() > caps.max_hosts {
            let mut all: Vec<(String, u64)> = self.hosts.drain().collect();
            all.sort_by_key(|h| std::cmp::Reverse(h.1));
            self.more_hosts += all.len().saturating_sub(caps.max_hosts) as u64;
            all.truncate(caps.max_hosts);
            self.hosts = all.into_iter().collect();
        }
    }

    /// Messages in the last `n` minutes (this one included).
    pub fn recent(&self, n: usize) -> u64 {
        self.per_minute
            .iter()
            .rev()
            .take(n)
            .map(|&c| u64::from(c))
            .sum()
    }
}

/// The version of the saved file's layout.
pub const SAVED_VERSION: u32 = 1;

/// A store as saved to a file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    /// The layout's version.
    pub version: u32,
    /// When the store began learning.
    #[serde(default)]
    pub since: u64,
    /// The counters.
    pub counters: Counters,
    /// Every template.
    pub templates: Vec<SavedEntry>,
}

/// One template as saved.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SavedEntry {
    /// Its id.
    pub id: u32,
    /// Its words, for the miner.
    pub template: SavedTemplate,
    /// What is known of it.
    pub stats: TemplateStats,
}

/// Counts the receivers and the store keep: every message that did not become an event is
/// counted here, never dropped silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    /// Messages learned.
    pub messages: u64,
    /// Of them, lines that were not syslog (kept whole).
    pub raw: u64,
    /// Frames over the size limit, skipped.
    pub too_long: u64,
    /// Messages dropped because the queue to the store was full.
    pub queue_full: u64,
    /// Templates forgotten to stay under the cap.
    pub forgotten: u64,
    /// Connections refused: too many at once, in all or from one address.
    #[serde(default)]
    pub refused: u64,
}

/// Every template's statistics, with the miner that assigns messages to them.
#[derive(Debug)]
pub struct EventStore {
    miner: Miner,
    caps: Caps,
    stats: HashMap<u32, TemplateStats>,
    /// The counts.
    pub counters: Counters,
    /// This minute's counts, for the history.
    tallies: Tallies,
    /// When the store began learning (epoch seconds; 0 before the first message): before
    /// it, a template's absence says nothing.
    since: u64,
}

/// Hosts given series of their own in the history (beyond, counted as one).
const HISTORY_HOSTS: usize = 10_000;
/// The series of hosts beyond [`HISTORY_HOSTS`].
pub const OTHER_HOSTS: &str = "(other hosts)";
/// The series of templates beyond twice the template cap.
pub const OTHER_TEMPLATES: &str = "(other templates)";

/// This minute's counts as they come, and which series exist (bounded, so senders cannot
/// make the history grow without end with made-up host names or a churn of templates).
#[derive(Debug, Default)]
struct Tallies {
    minute: u64,
    templates: HashMap<Option<(u32, u64)>, u32>,
    hosts: HashMap<String, (u32, u32)>,
    series_templates: std::collections::HashSet<(u32, u64)>,
    series_hosts: std::collections::HashSet<String>,
}

/// Messages in one minute, per template and per host, for the history.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Minute {
    /// The minute (epoch ÷ 60).
    pub minute: u64,
    /// Messages per template, keyed as [`EventStore::history_key`] says.
    pub templates: HashMap<String, u32>,
    /// Messages and error-severity messages per host.
    pub hosts: HashMap<String, (u32, u32)>,
}

/// Severities at or above error (emerg, alert, crit, err).
pub fn is_error(severity: Option<u8>) -> bool {
    severity.is_some_and(|s| s <= 3)
}

impl EventStore {
    /// An empty store.
    pub fn new(config: MinerConfig, caps: Caps) -> Self {
        Self {
            miner: Miner::new(config),
            caps,
            stats: HashMap::new(),
            counters: Counters::default(),
            tallies: Tallies::default(),
            since: 0,
        }
    }

    /// When the store began learning (0: not yet).
    pub fn since(&self) -> u64 {
        self.since
    }

    /// A store restored from a saved one (over the cap: the least used left out).
    pub fn restored(config: MinerConfig, caps: Caps, saved: Saved) -> Self {
        // What the file says is checked as if a sender had sent it: ids within what a store
        // under these caps uses, and every list within its bound.
        let most_id = 2 * caps.max_templates as u64 + 16;
        let mut seen = std::collections::HashSet::new();
        let mut entries: Vec<SavedEntry> = saved
            .templates
            .into_iter()
            .filter(|e| u64::from(e.id) < most_id && seen.insert(e.id))
            .map(|mut e| {
                e.stats.sanitize(caps);
                e
            })
            .collect();
        if entries.len() > caps.max_templates {
            entries.sort_by_key(|e| std::cmp::Reverse((e.stats.recent(MINUTES), e.stats.last)));
            entries.truncate(caps.max_templates);
        }
        let miner = Miner::restored(config, entries.iter().map(|e| (e.id, e.template.clone())));
        let stats = entries.into_iter().map(|e| (e.id, e.stats)).collect();
        Self {
            miner,
            caps,
            stats,
            counters: saved.counters,
            tallies: Tallies::default(),
            since: saved.since,
        }
    }

    /// Everything, to be saved.
    pub fn saved(&self) -> Saved {
        Saved {
            version: SAVED_VERSION,
            since: self.since,
            counters: self.counters,
            templates: self
                .stats
                .iter()
                .filter_map(|(&id, st)| {
                    Some(SavedEntry {
                        id,
                        template: self.miner.saved(id)?,
                        stats: st.clone(),
                    })
                })
                .collect(),
        }
    }

    /// A template's name in the history: its id and when it was first seen, so an id
    /// reused after a template is forgotten starts a new series.
    pub fn history_key(id: u32, first: u64) -> String {
        format!("{id}@{first}")
    }

    /// The minute just finished, once `now` is past it (for the history).
    pub fn take_minute(&mut self, now: u64) -> Option<Minute> {
        let m = now / 60;
        let t = &mut self.tallies;
        if t.minute == m || t.templates.is_empty() && t.hosts.is_empty() {
            t.minute = t.minute.max(m);
            return None;
        }
        let templates = std::mem::take(&mut t.templates)
            .into_iter()
            .map(|(k, n)| {
                let name = match k {
                    Some((id, first)) => Self::history_key(id, first),
                    None => OTHER_TEMPLATES.to_string(),
                };
                (name, n)
            })
            .collect();
        let done = Minute {
            minute: t.minute,
            templates,
            hosts: std::mem::take(&mut t.hosts),
        };
        t.minute = m;
        Some(done)
    }

    fn tally(&mut self, id: u32, first: u64, r: &Received, now: u64) {
        let m = &mut self.tallies;
        if m.minute == 0 {
            m.minute = now / 60;
        }
        // Series are bounded: past the budget, new templates and hosts are counted together.
        // One lookup per message on the hot path: insert only while under the budget.
        let known = m.series_templates.contains(&(id, first));
        let key = if known
            || (m.series_templates.len() < 2 * self.caps.max_templates
                && m.series_templates.insert((id, first)))
        {
            Some((id, first))
        } else {
            None
        };
        *m.templates.entry(key).or_default() += 1;
        let known = m.series_hosts.contains(&r.host);
        if !known && m.series_hosts.len() < HISTORY_HOSTS {
            m.series_hosts.insert(r.host.clone());
        }
        let host = if known || m.series_hosts.contains(&r.host) {
            Some(r.host.as_str())
        } else {
            None
        };
        let e = match host.and_then(|h| m.hosts.get_mut(h)) {
            Some(e) => e,
            None => m
                .hosts
                .entry(host.unwrap_or(OTHER_HOSTS).to_string())
                .or_default(),
        };
        e.0 += 1;
        e.1 += u32::from(is_error(r.severity));
    }

    /// The caps.
    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Learns one message received at `now`; returns its template and whether it is new.
    pub fn add(&mut self, r: &Received, now: u64) -> (u32, bool) {
        if self.since == 0 {
            self.since = now;
        }
        let learned = self.miner.learn(&r.text);
        self.counters.messages += 1;
        if r.raw {
            self.counters.raw += 1;
        }
        let caps = self.caps;
        let text = (learned.new || learned.changed).then(|| self.miner.text(learned.template));
        let st = self
            .stats
            .entry(learned.template)
            .or_insert_with(|| TemplateStats::new(String::new(), now));
        if let Some(t) = text {
            st.text = t;
        }
        st.roll(now);
        st.count += 1;
        st.last = st.last.max(now);
        if let Some(back) = st.per_minute.back_mut() {
            *back = back.saturating_add(1);
        }
        st.severity = match (st.severity, r.severity) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let named = st.hosts.len();
        match st.hosts.get_mut(&r.host) {
            Some(n) => *n += 1,
            None if named < caps.max_hosts => {
                st.hosts.insert(r.host.clone(), 1);
            }
            None => st.more_hosts += 1,
        }
        while st.samples.len() >= SAMPLES {
            st.samples.pop_front();
        }
        st.samples.push_back(Sample {
            at: now,
            host: r.host.clone(),
            app: r.app.clone(),
            text: cut(&r.text, SAMPLE_TEXT),
        });
        let first = st.first;
        self.tally(learned.template, first, r, now);
        if learned.new && self.stats.len() > caps.max_templates {
            self.forget_least_used(learned.template);
        }
        (learned.template, learned.new)
    }

    /// Forgets the template least used lately (of a sample) (fewest messages in the last hour, then the
    /// oldest last seen), never `keep`.
    fn forget_least_used(&mut self, keep: u32) {
        // A sample of the templates, not all of them: a flood of new templates at the cap
        // would otherwise cost a scan of every template per message. What the sample holds
        // changes as its least used go, so the busy ones stay.
        let victim = self
            .stats
            .iter()
            .filter(|(id, _)| **id != keep)
            .take(EVICTION_SAMPLE)
            .min_by_key(|(_, s)| (s.recent(MINUTES), s.last))
            .map(|(id, _)| *id);
        if let Some(v) = victim {
            self.stats.remove(&v);
            self.miner.forget(v);
            self.counters.forgotten += 1;
        }
    }

    /// Every template's statistics, by template id.
    pub fn templates(&self) -> impl Iterator<Item = (u32, &TemplateStats)> {
        self.stats.iter().map(|(id, s)| (*id, s))
    }

    /// How many templates are kept.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// Words the miner knows (bounded: see [`Miner`]'s compaction).
    pub fn words_known(&self) -> usize {
        self.miner.words_known()
    }

    /// Template ids in use or free for reuse.
    pub fn slots(&self) -> usize {
        self.miner.templates().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(host: &str, text: &str, severity: u8) -> Received {
        Received {
            host: host.into(),
            app: "kernel".into(),
            severity: Some(severity),
            facility: Some(0),
            time: None,
            text: text.into(),
            raw: false,
        }
    }

    #[test]
    fn counts_hosts_minutes_samples_and_the_cap() {
        let mut s = EventStore::new(
            MinerConfig::default(),
            Caps {
                max_templates: 3,
                max_hosts: 2,
            },
        );
        let t0 = 1_800_000_000;
        let (a, new) = s.add(&msg("n1", "disk 3 failed", 3), t0);
        assert!(new);
        s.add(&msg("n2", "disk 4 failed", 2), t0 + 61);
        s.add(&msg("n3", "disk 5 failed", 4), t0 + 62);
        let st = s.templates().find(|(id, _)| *id == a).unwrap().1.clone();
        assert_eq!(
            (st.count, st.severity, st.hosts.len(), st.more_hosts),
            (3, Some(2), 2, 1)
        );
        assert_eq!(st.text, "disk <*> failed");
        assert_eq!(st.recent(1), 2, "two in the last minute");
        assert_eq!(st.recent(2), 3);
        assert_eq!(st.samples.len(), 3);
        // Over the cap: the least used goes, and is counted.
        for (i, t) in ["link up", "link down now", "fan stopped on bay one"]
            .iter()
            .enumerate()
        {
            s.add(&msg("n1", t, 6), t0 + 100 + i as u64);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.counters.forgotten, 1);
        assert!(s.templates().any(|(id, _)| id == a), "the busiest stays");
    }

    #[test]
    fn each_minute_goes_to_the_history_per_template_and_per_host() {
        let mut s = EventStore::new(MinerConfig::default(), Caps::default());
        let t0 = 1_800_000_000 / 60 * 60;
        s.add(&msg("n1", "disk 3 failed", 3), t0 + 1);
        s.add(&msg("n1", "disk 4 failed", 3), t0 + 2);
        s.add(&msg("n2", "link up", 6), t0 + 3);
        assert!(s.take_minute(t0 + 30).is_none(), "the minute is not over");
        let m = s.take_minute(t0 + 61).expect("the minute is over");
        assert_eq!(m.minute, t0 / 60);
        assert_eq!(m.hosts["n1"], (2, 2));
        assert_eq!(m.hosts["n2"], (1, 0));
        let first = s
            .templates()
            .find(|(_, t)| t.text == "disk <*> failed")
            .unwrap()
            .1
            .first;
        let key = EventStore::history_key(0, first);
        assert_eq!(m.templates[&key], 2);
        let h = crate::history::HistoryStore::new();
        h.record_counts(
            "events/templates",
            t0 + 59,
            m.templates
                .iter()
                .map(|(k, &n)| (k.as_str(), "messages", f64::from(n))),
        );
        let series = h
            .count_series(
                "events/templates",
                &key,
                "messages",
                crate::history::Range::Hour,
                t0 + 61,
            )
            .expect("a series");
        assert!(
            series.points.iter().flatten().any(|p| p.avg == 2.0),
            "{series:?}"
        );
    }

    /// A word of letters only (so not masked) for `n`.
    fn word(mut n: usize) -> String {
        let mut w = String::from("w");
        loop {
            w.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
            if n == 0 {
                return w;
            }
        }
    }

    #[test]
    fn a_flood_of_distinct_messages_stays_within_the_caps() {
        let mut s = EventStore::new(
            MinerConfig::default(),
            Caps {
                max_templates: 500,
                max_hosts: 4,
            },
        );
        let t0 = 1_800_000_000;
        // The same message all along, and 50,000 that share nothing, each of new words.
        for i in 0..50_000usize {
            s.add(&msg("n1", "link down on eth0", 3), t0 + i as u64 / 100);
            let text = format!("{} {} {}", word(3 * i), word(3 * i + 1), word(3 * i + 2));
            s.add(&msg(&format!("h{}", i % 7), &text, 6), t0 + i as u64 / 100);
        }
        assert!(s.len() <= 500, "{} templates", s.len());
        assert!(s.counters.forgotten >= 49_000, "{:?}", s.counters);
        assert!(
            s.templates()
                .any(|(_, t)| t.text == "link down on eth<*>" && t.count == 50_000),
            "the steady template is kept whole"
        );
        // 150,000 distinct words came; the table keeps the live templates' and some slack.
        assert!(s.words_known() < 120_000, "{} words", s.words_known());
        assert!(s.slots() <= 501, "template ids are reused: {}", s.slots());
    }
}
