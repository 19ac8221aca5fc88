//! What is known of each template: how many messages, from which hosts, when first and last,
//! at what severity, per minute lately, and a few samples. Memory is bounded: at most
//! `max_templates` templates (the least used forgotten first, and counted), at most
//! `max_hosts` hosts and `SAMPLES` samples per template.

use std::collections::{HashMap, VecDeque};

use super::miner::{Miner, MinerConfig};
use super::syslog::Received;

/// Samples kept per template.
pub const SAMPLES: usize = 5;
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq)]
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

/// Counts the receivers and the store keep: every message that did not become an event is
/// counted here, never dropped silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
}

/// Every template's statistics, with the miner that assigns messages to them.
#[derive(Debug)]
pub struct EventStore {
    miner: Miner,
    caps: Caps,
    stats: HashMap<u32, TemplateStats>,
    /// The counts.
    pub counters: Counters,
}

impl EventStore {
    /// An empty store.
    pub fn new(config: MinerConfig, caps: Caps) -> Self {
        Self {
            miner: Miner::new(config),
            caps,
            stats: HashMap::new(),
            counters: Counters::default(),
        }
    }

    /// The caps.
    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// Learns one message received at `now`; returns its template and whether it is new.
    pub fn add(&mut self, r: &Received, now: u64) -> (u32, bool) {
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
        if st.samples.len() == SAMPLES {
            st.samples.pop_front();
        }
        st.samples.push_back(Sample {
            at: now,
            host: r.host.clone(),
            app: r.app.clone(),
            text: r.text.clone(),
        });
        if learned.new && self.stats.len() > caps.max_templates {
            self.forget_least_used(learned.template);
        }
        (learned.template, learned.new)
    }

    /// Forgets the template least used lately (fewest messages in the last hour, then the
    /// oldest last seen), never `keep`.
    fn forget_least_used(&mut self, keep: u32) {
        let victim = self
            .stats
            .iter()
            .filter(|(id, _)| **id != keep)
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
