//! What the events view and the problems view make of the templates: rates now against each
//! template's own baseline, the order to list them in, which Ganglia host sent a message,
//! and the spikes of error-severity templates.

use std::collections::HashMap;

use crate::aggregator::Snapshot;
use crate::events::receiver::EventsSnapshot;
use crate::events::store::{MINUTES, TemplateStats, is_error};

use super::problems::{Kind, Problem, Severity, Subject};

/// Minutes that count as "now" for a rate.
pub const NOW_MINUTES: usize = 5;
/// A template first seen this recently is marked new.
pub const NEW_SECS: u64 = 3600;
/// An error template is a spike at this many times its baseline…
pub const SPIKE_RATIO: f64 = 3.0;
/// …with at least this many messages in the last [`NOW_MINUTES`] minutes.
pub const SPIKE_LEAST: u64 = 10;

/// The order of the events view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventsOrder {
    /// Most messages in the last minutes first.
    #[default]
    Recent,
    /// Highest rate now against its own baseline first.
    Spike,
    /// Worst severity first, then most recent messages.
    Severity,
    /// Last seen first.
    Latest,
}

impl EventsOrder {
    /// The next order (`o` cycles).
    pub fn next(self) -> Self {
        match self {
            Self::Recent => Self::Spike,
            Self::Spike => Self::Severity,
            Self::Severity => Self::Latest,
            Self::Latest => Self::Recent,
        }
    }

    /// Its name.
    pub fn title(self) -> &'static str {
        match self {
            Self::Recent => "recent count",
            Self::Spike => "spike",
            Self::Severity => "severity",
            Self::Latest => "last seen",
        }
    }
}

/// One template's counts per minute, ending at the minute of `now` (a template that has had
/// nothing for a while has zeros since).
pub fn minutes_to(st: &TemplateStats, now: u64) -> Vec<u32> {
    let gap = (now / 60).saturating_sub(st.minute) as usize;
    let mut v: Vec<u32> = st.per_minute.iter().copied().collect();
    v.extend(std::iter::repeat_n(0, gap.min(MINUTES)));
    let from = v.len().saturating_sub(MINUTES);
    v.split_off(from)
}

/// A template's rate now against its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Messages in the last [`NOW_MINUTES`] minutes.
    pub now: u64,
    /// Messages per minute over the hour before them (what the template usually does; 0 for
    /// a template that was not there) — `None` while the store has learned for less than
    /// [`BASELINE_LEAST`] minutes of it.
    pub baseline: Option<f64>,
    /// How many times its baseline the rate now is (infinite for a template that was not
    /// there; 0 without a baseline).
    pub ratio: f64,
}

/// Minutes of learning a baseline needs.
pub const BASELINE_LEAST: usize = 10;

/// The rate of a template at `now`, the store having learned since `since`.
pub fn rate(st: &TemplateStats, now: u64, since: u64) -> Rate {
    let m = minutes_to(st, now);
    let split = m.len().saturating_sub(NOW_MINUTES);
    let recent: u64 = m[split..].iter().map(|&c| u64::from(c)).sum();
    // The baseline covers the minutes the store was learning, before the last few: minutes
    // before the template's first message count as nothing heard.
    let learned = (now / 60).saturating_sub(since / 60) as usize;
    let span = learned
        .saturating_sub(NOW_MINUTES)
        .min(MINUTES - NOW_MINUTES);
    // Minutes before the kept counts begin were quiet.
    let before: u64 = m[..split]
        .iter()
        .rev()
        .take(span)
        .map(|&c| u64::from(c))
        .sum();
    let baseline = (span >= BASELINE_LEAST).then(|| before as f64 / span as f64);
    let per_minute = recent as f64 / NOW_MINUTES as f64;
    Rate {
        now: recent,
        baseline,
        ratio: match baseline {
            Some(b) if b > 0.0 => per_minute / b,
            Some(_) if recent > 0 => f64::INFINITY,
            _ => 0.0,
        },
    }
}

/// How a rate compares with its baseline, in a few characters.
pub fn ratio_text(r: &Rate) -> String {
    match r.baseline {
        None => "-".into(),
        Some(_) if r.ratio.is_infinite() => "new".into(),
        Some(_) => format!("{:.1}×", r.ratio),
    }
}

/// One row of the events view.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// The template's id.
    pub id: u32,
    /// Its text.
    pub text: String,
    /// Messages in all.
    pub count: u64,
    /// For the host the view is scoped to: its messages.
    pub host_count: Option<u64>,
    /// Rate now and baseline.
    pub rate: Rate,
    /// Worst severity.
    pub severity: Option<u8>,
    /// Hosts that sent it.
    pub hosts: u64,
    /// First and last seen.
    pub first: u64,
    /// Last seen.
    pub last: u64,
    /// First seen within [`NEW_SECS`].
    pub new: bool,
    /// The last hour per minute.
    pub minutes: Vec<u32>,
}

/// Whether a template is new: first seen within [`NEW_SECS`], and not while the store was
/// still hearing the usual messages for the first time.
pub fn is_new(st: &TemplateStats, now: u64, since: u64) -> bool {
    now.saturating_sub(st.first) < NEW_SECS
        && st.first >= since.saturating_add(BASELINE_LEAST as u64 * 60)
}

/// How a syslog sender is told to be a Ganglia host: the same name, ignoring case and the
/// domain (syslog usually sends the short name, Ganglia often has the full one), or its
/// address.
#[derive(Debug, Default)]
pub struct HostIndex {
    by_key: HashMap<String, (String, String)>,
}

fn short(name: &str) -> String {
    let s = name.split('.').next().unwrap_or(name);
    s.to_ascii_lowercase()
}

impl HostIndex {
    /// Every host of `snap`.
    pub fn new(snap: &Snapshot) -> Self {
        let mut by_key = HashMap::new();
        for s in &snap.sources {
            for cv in &s.clusters {
                for h in &cv.cluster.hosts {
                    let at = (cv.cluster.name.to_string(), h.name.to_string());
                    // An address-like name keeps its dots.
                    if h.name.parse::<std::net::IpAddr>().is_ok() {
                        by_key.entry(h.name.to_string()).or_insert(at.clone());
                    } else {
                        by_key.entry(short(&h.name)).or_insert(at.clone());
                        by_key
                            .entry(h.name.to_ascii_lowercase())
                            .or_insert(at.clone());
                    }
                    if !h.ip.is_empty() {
                        by_key.entry(h.ip.to_string()).or_insert(at);
                    }
                }
            }
        }
        Self { by_key }
    }

    /// The (cluster, host) a sender is, if Ganglia knows it.
    pub fn find(&self, sender: &str) -> Option<&(String, String)> {
        if sender.parse::<std::net::IpAddr>().is_ok() {
            return self.by_key.get(sender);
        }
        self.by_key
            .get(&sender.to_ascii_lowercase())
            .or_else(|| self.by_key.get(&short(sender)))
    }
}

/// Whether a syslog sender is this Ganglia host.
pub fn same_host(sender: &str, host: &str, ip: &str) -> bool {
    sender.eq_ignore_ascii_case(host)
        || (!ip.is_empty() && sender == ip)
        || (sender.parse::<std::net::IpAddr>().is_err()
            && host.parse::<std::net::IpAddr>().is_err()
            && short(sender) == short(host))
}

/// The events view's rows: every template (or those a host sent, given its name and
/// address), in `order`.
pub fn event_rows(
    ev: &EventsSnapshot,
    now: u64,
    order: EventsOrder,
    host: Option<(&str, &str)>,
) -> Vec<EventRow> {
    let mut rows: Vec<EventRow> = ev
        .templates
        .iter()
        .filter_map(|(&id, st)| {
            let host_count = match host {
                None => None,
                Some((name, ip)) => {
                    let n: u64 = st
                        .hosts
                        .iter()
                        .filter(|(s, _)| same_host(s, name, ip))
                        .map(|(_, n)| *n)
                        .sum();
                    if n == 0 {
                        return None;
                    }
                    Some(n)
                }
            };
            Some(EventRow {
                id,
                text: st.text.clone(),
                count: st.count,
                host_count,
                rate: rate(st, now, ev.since),
                severity: st.severity,
                hosts: st.hosts.len() as u64 + st.more_hosts,
                first: st.first,
                last: st.last,
                new: is_new(st, now, ev.since),
                minutes: minutes_to(st, now),
            })
        })
        .collect();
    let sev = |r: &EventRow| r.severity.unwrap_or(8);
    rows.sort_by(|a, b| {
        let by = match order {
            EventsOrder::Recent => b.rate.now.cmp(&a.rate.now),
            EventsOrder::Spike => b.rate.ratio.total_cmp(&a.rate.ratio),
            EventsOrder::Severity => sev(a).cmp(&sev(b)).then(b.rate.now.cmp(&a.rate.now)),
            EventsOrder::Latest => b.last.cmp(&a.last),
        };
        by.then(b.count.cmp(&a.count)).then(a.id.cmp(&b.id))
    });
    rows
}

/// Syslog's name for a severity.
pub fn severity_word(s: Option<u8>) -> &'static str {
    match s {
        Some(0) => "emerg",
        Some(1) => "alert",
        Some(2) => "crit",
        Some(3) => "err",
        Some(4) => "warning",
        Some(5) => "notice",
        Some(6) => "info",
        Some(7) => "debug",
        _ => "-",
    }
}

/// Spikes of error-severity templates, as problems: a template at [`SPIKE_RATIO`] times its
/// baseline or more, with at least [`SPIKE_LEAST`] messages lately.
pub fn event_problems(ev: &EventsSnapshot, now: u64, out: &mut Vec<Problem>) {
    for (&id, st) in &ev.templates {
        if !is_error(st.severity) {
            continue;
        }
        let r = rate(st, now, ev.since);
        if r.now < SPIKE_LEAST || r.ratio < SPIKE_RATIO {
            continue;
        }
        let hosts = st.hosts.len() as u64 + st.more_hosts;
        let vs = match r.baseline {
            Some(b) if b > 0.0 => format!("{:.0}× its usual {b:.1}/min", r.ratio),
            _ => "not heard before".to_string(),
        };
        out.push(Problem {
            severity: if st.severity.is_some_and(|s| s <= 2) {
                Severity::Critical
            } else {
                Severity::Warning
            },
            kind: Kind::EventSpike,
            subject: Subject::Template(id),
            name: st.text.chars().take(60).collect(),
            place: format!("{hosts} hosts"),
            detail: format!(
                "{} {} in {NOW_MINUTES} min ({vs})",
                r.now,
                severity_word(st.severity)
            ),
            since: Some(st.first),
            weight: r.ratio.min(1e9),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn stats(per_minute: &[u32], minute: u64, first: u64, severity: u8) -> TemplateStats {
        TemplateStats {
            text: "disk <*> failed".into(),
            count: per_minute.iter().map(|&c| u64::from(c)).sum(),
            severity: Some(severity),
            hosts: [("n1".to_string(), 1)].into_iter().collect(),
            more_hosts: 0,
            first,
            last: minute * 60,
            per_minute: VecDeque::from(per_minute.to_vec()),
            minute,
            samples: VecDeque::new(),
        }
    }

    #[test]
    fn a_rate_is_against_its_own_baseline_and_the_clock() {
        let m = 30_000_000;
        let mut steady = vec![2u32; 55];
        steady.extend([20, 20, 20, 20, 20]);
        let st = stats(&steady, m, m * 60 - 3600, 3);
        let since = m * 60 - 3600;
        let r = rate(&st, m * 60 + 10, since);
        assert_eq!(r.now, 100);
        let b = r.baseline.unwrap();
        assert!(
            (b - 2.0).abs() < 1e-9 && (r.ratio - 10.0).abs() < 1e-9,
            "{r:?}"
        );
        // Ten quiet minutes later nothing is recent.
        assert_eq!(rate(&st, m * 60 + 600, since).now, 0);
        // A store five minutes old has no baseline to speak of.
        assert_eq!(rate(&st, m * 60 + 10, m * 60 - 300).baseline, None);
        let mut ev = EventsSnapshot {
            since,
            ..Default::default()
        };
        ev.templates.insert(7, std::sync::Arc::new(st.clone()));
        let mut out = Vec::new();
        event_problems(&ev, m * 60 + 10, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].subject, Subject::Template(7));
        // An info template does not count, however it spikes.
        let mut info = st;
        info.severity = Some(6);
        ev.templates.insert(7, std::sync::Arc::new(info));
        out.clear();
        event_problems(&ev, m * 60 + 10, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn senders_match_hosts_by_short_name_or_address() {
        assert!(same_host("node-7", "node-7.cluster.example", "10.0.0.7"));
        assert!(same_host("NODE-7", "node-7", ""));
        assert!(same_host("10.0.0.7", "node-7", "10.0.0.7"));
        assert!(!same_host("10.0.0.8", "10.0.0.7", ""));
        assert!(!same_host("node-8", "node-7.cluster.example", "10.0.0.7"));
    }
}
