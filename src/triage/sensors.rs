//! Hardware problems: sensors past their BMC's caution or critical thresholds (or whose BMC
//! says Warning or Critical), and BMCs that stopped answering.

use crate::aggregator::{BmcHealth, Health, Snapshot};
use crate::redfish::metric::host_readings;
use crate::redfish::{Level, Reading};

use super::problems::{Kind, Problem, Severity, Subject};

/// More failing BMCs than this in one table are one row (a BMC network down), not one each.
const FAILING_ROWS: usize = 10;

fn number(v: f64, units: &str) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0} {units}")
    } else {
        format!("{v:.2} {units}")
    }
}

/// What is wrong with a reading, in words: `47 C, past critical 45 C`.
fn detail(r: &Reading, level: Level) -> String {
    let t = &r.thresholds;
    let v = r.value.unwrap_or_default();
    let (high, low) = match level {
        Level::Fatal => (t.upper_fatal, t.lower_fatal),
        Level::Critical => (t.upper_critical, t.lower_critical),
        _ => (t.upper_caution, t.lower_caution),
    };
    let word = match level {
        Level::Fatal => "fatal",
        Level::Critical => "critical",
        _ => "caution",
    };
    let past = match (high, low) {
        (Some(h), _) if v >= h => format!(", past {word} {}", number(h, &r.units)),
        (_, Some(l)) if v <= l => format!(", below {word} {}", number(l, &r.units)),
        _ => String::new(),
    };
    let health = r
        .health
        .as_deref()
        .filter(|h| *h != "OK")
        .map(|h| format!(" (BMC health {h})"))
        .unwrap_or_default();
    format!("{} {}{past}{health}", r.name, number(v, &r.units))
}

/// Every sensor past caution, and every BMC failing, in `snap`.
pub(super) fn sensor_problems(snap: &Snapshot, now: u64, out: &mut Vec<Problem>) {
    for s in snap
        .sources
        .iter()
        .filter(|s| s.status.health != Health::Dead)
    {
        for cv in &s.clusters {
            for h in &cv.cluster.hosts {
                for r in host_readings(h) {
                    let level = r.level();
                    if level == Level::Normal {
                        continue;
                    }
                    let severity = if level >= Level::Critical {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    };
                    out.push(Problem {
                        severity,
                        kind: Kind::Sensor,
                        subject: Subject::Host {
                            cluster: cv.cluster.name.to_string(),
                            host: h.name.to_string(),
                        },
                        name: h.name.to_string(),
                        place: cv.cluster.name.to_string(),
                        detail: detail(&r, level),
                        since: None,
                        weight: f64::from(level as u8),
                    });
                }
            }
        }
    }
    // Health-only readings (a power supply that failed) are not metrics: from the BMCs.
    for sv in &snap.sensors {
        for b in &sv.bmcs {
            for r in b.health_only() {
                let level = r.level();
                if level == Level::Normal {
                    continue;
                }
                out.push(Problem {
                    severity: if level >= Level::Critical {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    kind: Kind::Sensor,
                    subject: Subject::Host {
                        cluster: sv.cluster.to_string(),
                        host: b.host.to_string(),
                    },
                    name: b.host.to_string(),
                    place: sv.cluster.to_string(),
                    detail: format!(
                        "{}: BMC health {}",
                        r.name,
                        r.health.as_deref().unwrap_or("unknown")
                    ),
                    since: None,
                    weight: f64::from(level as u8),
                });
            }
        }
    }
    for sv in &snap.sensors {
        let cluster = sv.cluster.to_string();
        if let Some(e) = &sv.error {
            out.push(Problem {
                severity: Severity::Warning,
                kind: Kind::BmcFailing,
                subject: Subject::Cluster(cluster.clone()),
                name: "BMCs".into(),
                place: cluster.clone(),
                detail: format!("none polled: {e}"),
                since: None,
                weight: 0.0,
            });
            continue;
        }
        let failing: Vec<_> = sv
            .bmcs
            .iter()
            .filter(|b| b.health == BmcHealth::Failing)
            .collect();
        if failing.len() > FAILING_ROWS {
            let first = failing[0].error.clone().unwrap_or_default();
            out.push(Problem {
                severity: Severity::Warning,
                kind: Kind::BmcFailing,
                subject: Subject::Cluster(cluster.clone()),
                name: format!("{} BMCs", failing.len()),
                place: cluster.clone(),
                detail: format!(
                    "{} of {} BMCs do not answer; the first: {first}",
                    failing.len(),
                    sv.bmcs.len()
                ),
                since: failing.iter().filter_map(|b| b.last_success).min(),
                weight: 0.0,
            });
            continue;
        }
        // One row per BMC in trouble: degraded (it answers in part), or failing.
        let row = |b: &crate::aggregator::BmcView, detail: String, since| Problem {
            severity: Severity::Warning,
            kind: Kind::BmcFailing,
            subject: Subject::Host {
                cluster: cluster.clone(),
                host: b.host.to_string(),
            },
            name: b.host.to_string(),
            place: cluster.clone(),
            detail,
            since,
            weight: 0.0,
        };
        for b in sv.bmcs.iter().filter(|b| b.health == BmcHealth::Degraded) {
            let detail = format!("answers, but {}", b.error.as_deref().unwrap_or("in part"));
            out.push(row(b, detail, None));
        }
        for b in failing {
            let last = match b.last_success {
                Some(t) => format!(
                    "; last read {} ago",
                    crate::units::human_secs(now.saturating_sub(t))
                ),
                None => "; never read".into(),
            };
            let detail = format!("{}{last}", b.error.as_deref().unwrap_or("no answer"));
            out.push(row(b, detail, b.last_success));
        }
    }
}
