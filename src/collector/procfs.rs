//! Parsers for the /proc files gmond reads, kept pure so they can be tested on captured text.
//! Each follows gmond 3.7.2's `libmetrics/linux/metrics.c`.

use std::collections::HashMap;

/// The aggregate `cpu` line of /proc/stat, in jiffies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    /// user
    pub user: u64,
    /// nice
    pub nice: u64,
    /// system
    pub system: u64,
    /// idle
    pub idle: u64,
    /// iowait
    pub iowait: u64,
    /// irq
    pub irq: u64,
    /// softirq
    pub softirq: u64,
}

impl CpuTimes {
    /// gmond's total: the seven states (steal is not counted).
    pub fn total(&self) -> u64 {
        self.user + self.nice + self.system + self.idle + self.iowait + self.irq + self.softirq
    }
}

/// The `cpu` line and `btime` of /proc/stat.
pub fn parse_stat(text: &str) -> (Option<CpuTimes>, Option<u64>) {
    let mut cpu = None;
    let mut btime = None;
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("cpu") => {
                let v: Vec<u64> = w.take(7).filter_map(|x| x.parse().ok()).collect();
                if v.len() >= 4 {
                    let g = |i: usize| v.get(i).copied().unwrap_or(0);
                    cpu = Some(CpuTimes {
                        user: g(0),
                        nice: g(1),
                        system: g(2),
                        idle: g(3),
                        iowait: g(4),
                        irq: g(5),
                        softirq: g(6),
                    });
                }
            }
            Some("btime") => btime = w.next().and_then(|x| x.parse().ok()),
            _ => {}
        }
    }
    (cpu, btime)
}

/// The /proc/meminfo values gmond reports, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MemInfo {
    /// MemTotal
    pub total: Option<f64>,
    /// MemFree
    pub free: Option<f64>,
    /// MemShared (gone since Linux 2.5.52; gmond then reports 0)
    pub shared: f64,
    /// Buffers
    pub buffers: Option<f64>,
    /// Cached
    pub cached: Option<f64>,
    /// SwapTotal
    pub swap_total: Option<f64>,
    /// SwapFree
    pub swap_free: Option<f64>,
}

/// Reads /proc/meminfo.
pub fn parse_meminfo(text: &str) -> MemInfo {
    let mut m = MemInfo::default();
    for line in text.lines() {
        let Some((k, rest)) = line.split_once(':') else {
            continue;
        };
        let v = rest
            .split_whitespace()
            .next()
            .and_then(|x| x.parse::<f64>().ok());
        match k {
            "MemTotal" => m.total = v,
            "MemFree" => m.free = v,
            "MemShared" => m.shared = v.unwrap_or(0.0),
            "Buffers" => m.buffers = v,
            "Cached" => m.cached = v,
            "SwapTotal" => m.swap_total = v,
            "SwapFree" => m.swap_free = v,
            _ => {}
        }
    }
    m
}

/// /proc/loadavg.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadAvg {
    /// 1-minute load.
    pub one: f64,
    /// 5-minute load.
    pub five: f64,
    /// 15-minute load.
    pub fifteen: f64,
    /// Runnable tasks minus the reader itself, as gmond counts them.
    pub running: u64,
    /// All tasks.
    pub total: u64,
}

/// Reads /proc/loadavg: `0.67 0.70 0.34 2/123 4567`.
pub fn parse_loadavg(text: &str) -> Option<LoadAvg> {
    let mut w = text.split_whitespace();
    let one = w.next()?.parse().ok()?;
    let five = w.next()?.parse().ok()?;
    let fifteen = w.next()?.parse().ok()?;
    let (r, t) = w.next()?.split_once('/')?;
    let running: u64 = r.parse().ok()?;
    Some(LoadAvg {
        one,
        five,
        fifteen,
        running: running.saturating_sub(1),
        total: t.parse().ok()?,
    })
}

/// Counters of one network interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetCounters {
    /// Bytes received.
    pub bytes_in: u64,
    /// Packets received.
    pub pkts_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Packets sent.
    pub pkts_out: u64,
}

/// Reads /proc/net/dev, leaving out `lo*` and `bond*` as gmond does.
pub fn parse_net_dev(text: &str) -> HashMap<String, NetCounters> {
    let mut out = HashMap::new();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.starts_with("lo") || name.starts_with("bond") {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() >= 10 {
            out.insert(
                name.to_string(),
                NetCounters {
                    bytes_in: v[0],
                    pkts_in: v[1],
                    bytes_out: v[8],
                    pkts_out: v[9],
                },
            );
        }
    }
    out
}

/// Local, writable, device-backed file systems from /proc/mounts, one per device, as gmond
/// counts them for disk_total, disk_free and part_max_used.
pub fn parse_mounts(text: &str) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [device, mount, fstype, options, ..] = f.as_slice() else {
            continue;
        };
        let remote = device.contains(':')
            || (*fstype == "smbfs" && device.starts_with("//"))
            || fstype.starts_with("nfs")
            || matches!(*fstype, "autofs" | "gfs" | "none");
        if options.starts_with("ro")
            || remote
            || !(device.starts_with("/dev/") || device.starts_with("/dev2/"))
        {
            continue;
        }
        if seen.insert(device.to_string()) {
            out.push((device.to_string(), unescape_mount(mount)));
        }
    }
    out
}

/// /proc/mounts writes spaces and the like as octal escapes (`\040`).
fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CPU speed in MHz: `scaling_max_freq` (kHz) if present, else the first `cpu MHz` line.
pub fn cpu_mhz(scaling_max_freq: Option<&str>, cpuinfo: &str) -> Option<u32> {
    if let Some(khz) = scaling_max_freq
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|k| *k > 0)
    {
        return Some((khz / 1000) as u32);
    }
    cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))
        .and_then(|l| l.split_once(':'))
        .and_then(|(_, v)| v.trim().split('.').next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat() {
        let t = "cpu  100 5 50 1000 20 3 2 7 0 0\ncpu0 50 2 25 500 10 1 1 3 0 0\nintr 1\nbtime 1795353654\nprocs_running 3\n";
        let (cpu, btime) = parse_stat(t);
        let cpu = cpu.unwrap();
        assert_eq!(
            cpu.total(),
            100 + 5 + 50 + 1000 + 20 + 3 + 2,
            "steal not counted"
        );
        assert_eq!(btime, Some(1795353654));
    }

    #[test]
    fn meminfo() {
        let t = "MemTotal:       24684084 kB\nMemFree:        23055832 kB\nMemAvailable: 1 kB\nBuffers:            6152 kB\nCached:          1262720 kB\nSwapCached:            5 kB\nShmem: 77 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n";
        let m = parse_meminfo(t);
        assert_eq!(m.total, Some(24684084.0));
        assert_eq!(m.cached, Some(1262720.0), "Cached, not SwapCached");
        assert_eq!(
            m.shared, 0.0,
            "MemShared is gone; Shmem is not read, as in gmond"
        );
    }

    #[test]
    fn loadavg() {
        let l = parse_loadavg("0.67 0.70 0.34 3/123 4567\n").unwrap();
        assert_eq!((l.one, l.running, l.total), (0.67, 2, 123));
        assert!(parse_loadavg("garbage").is_none());
    }

    #[test]
    fn net_dev() {
        let t = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 999 9 0 0 0 0 0 0 999 9 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\nbond0: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0\n";
        let n = parse_net_dev(t);
        assert_eq!(n.len(), 1);
        assert_eq!(
            n["eth0"],
            NetCounters {
                bytes_in: 1000,
                pkts_in: 10,
                bytes_out: 2000,
                pkts_out: 20
            }
        );
    }

    #[test]
    fn mounts() {
        let t = "/dev/vda / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n/dev/vda /again ext4 rw 0 0\n/dev/vdb /ro ext4 ro 0 0\nserver:/x /nfs nfs rw 0 0\n/dev/vdc /with\\040space xfs rw 0 0\n";
        assert_eq!(
            parse_mounts(t),
            vec![
                ("/dev/vda".to_string(), "/".to_string()),
                ("/dev/vdc".to_string(), "/with space".to_string())
            ]
        );
    }

    #[test]
    fn mhz() {
        assert_eq!(cpu_mhz(Some("3400000\n"), ""), Some(3400));
        assert_eq!(
            cpu_mhz(None, "processor\t: 0\ncpu MHz\t\t: 2596.090\n"),
            Some(2596)
        );
        assert_eq!(cpu_mhz(None, ""), None);
    }
}
