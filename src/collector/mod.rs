//! The local collector: this machine's metrics read from /proc under gmond's names, types and
//! units (the 32 default metrics), as a cluster of one host. It is the embedded default source
//! when nothing is configured.

pub mod catalog;
pub mod procfs;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use compact_str::CompactString;

use catalog::{DEFAULT_METRICS, MetricDef};
use procfs::{CpuTimes, NetCounters};

use crate::model::{Cluster, Host, Metric, MetricMeta};

/// Why the machine could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    /// /proc is missing or unreadable.
    #[error("cannot read {path}: {reason}")]
    Proc {
        /// The file.
        path: &'static str,
        /// Why.
        reason: String,
    },
}

/// Reads this machine; keeps the previous sample for rates and CPU percentages.
pub struct LocalCollector {
    cluster: String,
    hostname: String,
    started: u64,
    metas: Vec<Arc<MetricMeta>>,
    prev_cpu: CpuTimes,
    prev_net: Option<(Instant, HashMap<String, NetCounters>)>,
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read(path: &'static str) -> Result<String, CollectError> {
    std::fs::read_to_string(path).map_err(|e| CollectError::Proc {
        path,
        reason: e.to_string(),
    })
}

/// This machine's host name.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    if rc == 0 && end > 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "localhost".to_string()
    }
}

/// The first non-loopback IPv4 address of an interface that is up, else 127.0.0.1.
pub fn primary_ipv4() -> String {
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we walk read-only and free with freeifaddrs.
    unsafe {
        if libc::getifaddrs(&mut ifap) != 0 {
            return "127.0.0.1".into();
        }
        let mut found = None;
        let mut p = ifap;
        while !p.is_null() {
            let ifa = &*p;
            if !ifa.ifa_addr.is_null()
                && i32::from((*ifa.ifa_addr).sa_family) == libc::AF_INET
                && ifa.ifa_flags & (libc::IFF_UP as u32) != 0
                && ifa.ifa_flags & (libc::IFF_LOOPBACK as u32) == 0
            {
                let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                found =
                    Some(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).to_string());
                break;
            }
            p = ifa.ifa_next;
        }
        libc::freeifaddrs(ifap);
        found.unwrap_or_else(|| "127.0.0.1".into())
    }
}

/// Free and total bytes of a mounted file system (`f_bavail`, `f_blocks` × `f_bsize`, as gmond).
fn statvfs(path: &str) -> Option<(f64, f64)> {
    let c = std::ffi::CString::new(path).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid C string and s a valid out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let bs = s.f_bsize as f64;
    Some((s.f_blocks as f64 * bs, s.f_bavail as f64 * bs))
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

impl LocalCollector {
    /// A collector reporting this machine in `cluster`.
    pub fn new(cluster: &str) -> Self {
        Self {
            cluster: cluster.to_string(),
            hostname: hostname(),
            started: now_epoch(),
            metas: catalog::metas(),
            prev_cpu: CpuTimes::default(),
            prev_net: None,
        }
    }

    /// Reads /proc now. Metrics whose source cannot be read are left out (and logged).
    pub fn collect(&mut self) -> Result<Cluster, CollectError> {
        let now = now_epoch();
        let (cpu, btime) = procfs::parse_stat(&read("/proc/stat")?);
        let mem = procfs::parse_meminfo(&read("/proc/meminfo").unwrap_or_default());
        let load = procfs::parse_loadavg(&read("/proc/loadavg").unwrap_or_default());
        let mut values: HashMap<&'static str, f64> = HashMap::new();
        let mut texts: HashMap<&'static str, String> = HashMap::new();

        // SAFETY: sysconf has no preconditions.
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        if cpus > 0 {
            values.insert("cpu_num", cpus as f64);
        }
        let max_freq =
            std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq").ok();
        if let Some(mhz) = procfs::cpu_mhz(
            max_freq.as_deref(),
            &std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(),
        ) {
            values.insert("cpu_speed", f64::from(mhz));
        }
        if let Some(b) = btime {
            values.insert("boottime", b as f64);
        }
        if let Some(c) = cpu {
            // gmond: differences since the previous read; the first read is since boot.
            let p = self.prev_cpu;
            let dt = c.total().saturating_sub(p.total());
            let d = |a: u64, b: u64| pct(a.saturating_sub(b), dt);
            values.insert("cpu_user", d(c.user, p.user));
            values.insert("cpu_nice", d(c.nice, p.nice));
            values.insert(
                "cpu_system",
                d(c.system + c.irq + c.softirq, p.system + p.irq + p.softirq),
            );
            values.insert("cpu_idle", d(c.idle, p.idle));
            values.insert("cpu_wio", d(c.iowait, p.iowait));
            values.insert("cpu_aidle", pct(c.idle, c.total()));
            self.prev_cpu = c;
        }
        if let Some(l) = load {
            values.insert("load_one", l.one);
            values.insert("load_five", l.five);
            values.insert("load_fifteen", l.fifteen);
            values.insert("proc_run", l.running as f64);
            values.insert("proc_total", l.total as f64);
        }
        for (name, v) in [
            ("mem_total", mem.total),
            ("mem_free", mem.free),
            ("mem_buffers", mem.buffers),
            ("mem_cached", mem.cached),
            ("swap_total", mem.swap_total),
            ("swap_free", mem.swap_free),
        ] {
            if let Some(v) = v {
                values.insert(name, v);
            }
        }
        if mem.total.is_some() {
            values.insert("mem_shared", mem.shared);
        }
        self.network(&mut values);
        self.disks(&mut values);
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: uts is a valid out-pointer.
        if unsafe { libc::uname(&mut uts) } == 0 {
            let field = |f: &[libc::c_char]| {
                let bytes: Vec<u8> = f
                    .iter()
                    .take_while(|c| **c != 0)
                    .map(|c| *c as u8)
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            };
            texts.insert("machine_type", field(&uts.machine));
            texts.insert("os_release", field(&uts.release));
        }
        texts.insert("os_name", "Linux".into());
        texts.insert("gexec", "OFF".into());

        let metrics: Vec<Metric> = DEFAULT_METRICS
            .iter()
            .zip(&self.metas)
            .filter_map(|(def, meta): (&MetricDef, &Arc<MetricMeta>)| {
                let text = match texts.remove(def.name) {
                    Some(t) => t,
                    None => def.format(*values.get(def.name)?),
                };
                Some(Metric {
                    meta: meta.clone(),
                    num: if def.kind == crate::model::MetricType::String {
                        f64::NAN
                    } else {
                        crate::model::parse_number(&text)
                    },
                    text: CompactString::from(text),
                    tn: 0,
                })
            })
            .collect();
        let host = Host {
            name: self.hostname.as_str().into(),
            ip: primary_ipv4().into(),
            tags: "".into(),
            reported: now,
            tn: 0,
            tmax: 20,
            dmax: 86_400,
            location: "unspecified".into(),
            gmond_started: self.started,
            metrics,
        };
        Ok(Cluster {
            name: self.cluster.as_str().into(),
            localtime: now,
            owner: Some("unspecified".into()),
            latlong: Some("unspecified".into()),
            url: Some("unspecified".into()),
            hosts: vec![host],
            summary: None,
        })
    }

    fn network(&mut self, values: &mut HashMap<&'static str, f64>) {
        let Ok(text) = std::fs::read_to_string("/proc/net/dev") else {
            tracing::debug!("no /proc/net/dev; network metrics left out");
            return;
        };
        let now = Instant::now();
        let cur = procfs::parse_net_dev(&text);
        let (mut bi, mut pi, mut bo, mut po) = (0u64, 0u64, 0u64, 0u64);
        let mut secs = 0.0;
        if let Some((then, prev)) = &self.prev_net {
            secs = now.duration_since(*then).as_secs_f64();
            for (name, c) in &cur {
                let p = prev.get(name).copied().unwrap_or(*c);
                // A counter that went backwards was reset: count from zero, as gmond's wrap.
                let d = |a: u64, b: u64| if a >= b { a - b } else { a };
                bi += d(c.bytes_in, p.bytes_in);
                pi += d(c.pkts_in, p.pkts_in);
                bo += d(c.bytes_out, p.bytes_out);
                po += d(c.pkts_out, p.pkts_out);
            }
        }
        let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        values.insert("bytes_in", rate(bi));
        values.insert("pkts_in", rate(pi));
        values.insert("bytes_out", rate(bo));
        values.insert("pkts_out", rate(po));
        self.prev_net = Some((now, cur));
    }

    fn disks(&self, values: &mut HashMap<&'static str, f64>) {
        let Ok(text) = std::fs::read_to_string("/proc/mounts") else {
            return;
        };
        let (mut total, mut free, mut max_used) = (0.0, 0.0, 0.0f64);
        for (_dev, mount) in procfs::parse_mounts(&text) {
            if let Some((t, f)) = statvfs(&mount) {
                total += t;
                free += f;
                if t > 0.0 {
                    max_used = max_used.max((t - f) / t * 100.0);
                }
            }
        }
        values.insert("disk_total", total / 1e9);
        values.insert("disk_free", free / 1e9);
        values.insert("part_max_used", max_used);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine_as_gmond_would() {
        let mut c = LocalCollector::new("local");
        let first = c.collect().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let cluster = c.collect().unwrap();
        assert_eq!(cluster.hosts.len(), 1);
        let h = &cluster.hosts[0];
        assert_eq!(
            h.metrics.len(),
            32,
            "{:?}",
            h.metrics.iter().map(|m| m.name()).collect::<Vec<_>>()
        );
        for (m, d) in h.metrics.iter().zip(DEFAULT_METRICS.iter()) {
            assert_eq!(*m.meta, d.meta());
        }
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64;
        assert_eq!(h.value("cpu_num"), Some(cpus));
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
        let total: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(h.value("mem_total"), Some(total));
        assert_eq!(h.metric("os_name").unwrap().text, "Linux");
        let sum: f64 = ["cpu_user", "cpu_nice", "cpu_system", "cpu_idle", "cpu_wio"]
            .iter()
            .filter_map(|m| h.value(m))
            .sum();
        assert!(
            sum == 0.0 || (95.0..=105.0).contains(&sum),
            "cpu percentages add up: {sum}"
        );
        assert!(first.hosts[0].value("cpu_aidle").unwrap() <= 100.0);
        assert!(h.is_up(cluster.localtime, 0));
    }
}
