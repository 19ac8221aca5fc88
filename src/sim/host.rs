//! One simulated host: a load that follows jobs starting and ending around the host's usual
//! level, and CPU, memory, network, disk and process figures consistent with it. Down hosts
//! stop reporting, so their TN grows past 4 × TMAX.

use std::sync::Arc;

use compact_str::CompactString;

use super::rng::Rng;
use crate::collector::catalog::{DEFAULT_METRICS, MetricDef};
use crate::model::{Host, Metric, MetricMeta, MetricType, Slope};

/// Index of a default metric in the catalog (and in every host's metric list).
fn idx(name: &str) -> usize {
    DEFAULT_METRICS
        .iter()
        .position(|d| d.name == name)
        .unwrap_or(0)
}

/// State behind a simulated host's numbers.
#[derive(Debug, Clone)]
pub struct HostState {
    rng: Rng,
    cpus: f64,
    mem_total: f64,
    swap_total: f64,
    disk_total: f64,
    disk_free: f64,
    /// Usual load as a fraction of the CPUs.
    base: f64,
    /// Running jobs: (load they add, epoch when they end).
    jobs: Vec<(f64, u64)>,
    load: [f64; 3],
    /// The host stopped reporting at this epoch.
    pub down_since: Option<u64>,
    /// Per-metric phase of the collection cycle, so TN values spread like gmond's.
    phase: u64,
    last: u64,
    gpu: bool,
    job_count: bool,
}

fn period(def: &MetricDef) -> u64 {
    match def.tmax {
        1200 => 1200,
        950 => 80,
        180 | 300 => 40,
        _ => 20,
    }
}

/// Builds a host and its state.
pub fn new_host(
    seed: u64,
    cluster: &str,
    prefix: &str,
    i: usize,
    ip: String,
    metas: &[Arc<MetricMeta>],
    now: u64,
) -> (Host, HostState) {
    let mut rng = Rng::new(seed, cluster, i as u64);
    let cpus: f64 = [2.0, 4.0, 8.0, 8.0, 16.0, 16.0, 32.0, 64.0][rng.below(8) as usize];
    let mem_total = (cpus * [2.0, 4.0, 8.0][rng.below(3) as usize] * 1024.0 * 1024.0).round();
    // A mix that fills every load band: idle, moderate, busy and overloaded hosts.
    let base = match rng.unit() {
        x if x < 0.35 => rng.range(0.01, 0.2),
        x if x < 0.65 => rng.range(0.25, 0.55),
        x if x < 0.88 => rng.range(0.55, 0.95),
        _ => rng.range(1.0, 1.7),
    };
    let disk_total = (rng.range(200.0, 2000.0) * 1000.0).round() / 1000.0;
    let st = HostState {
        cpus,
        mem_total,
        swap_total: if rng.chance(0.5) {
            (mem_total / 2.0).round()
        } else {
            0.0
        },
        disk_total,
        disk_free: disk_total * rng.range(0.2, 0.8),
        base,
        jobs: Vec::new(),
        load: [base * cpus; 3],
        down_since: None,
        phase: rng.below(1200),
        last: now,
        gpu: rng.chance(0.2),
        job_count: rng.chance(0.3),
        rng,
    };
    let name = format!("{prefix}{:04}", i + 1);
    let boot = now.saturating_sub(3600 + (st.phase * 7919) % (90 * 86_400));
    let mut metrics: Vec<Metric> = DEFAULT_METRICS
        .iter()
        .zip(metas)
        .map(|(d, m)| Metric {
            meta: m.clone(),
            text: CompactString::default(),
            num: if d.kind == MetricType::String {
                f64::NAN
            } else {
                0.0
            },
            tn: 0,
        })
        .collect();
    let fixed = |name: &str, text: String, metrics: &mut Vec<Metric>| {
        let m = &mut metrics[idx(name)];
        m.num = crate::model::parse_number(&text);
        if m.meta.kind == MetricType::String {
            m.num = f64::NAN;
        }
        m.text = text.into();
    };
    fixed("cpu_num", format!("{cpus}"), &mut metrics);
    fixed(
        "cpu_speed",
        ["2100", "2600", "3000", "3400"][(st.phase % 4) as usize].into(),
        &mut metrics,
    );
    fixed("mem_total", format!("{mem_total:.0}"), &mut metrics);
    fixed("swap_total", format!("{:.0}", st.swap_total), &mut metrics);
    fixed("boottime", boot.to_string(), &mut metrics);
    fixed("machine_type", "x86_64".into(), &mut metrics);
    fixed("os_name", "Linux".into(), &mut metrics);
    fixed(
        "os_release",
        ["6.1.0-27-amd64", "6.1.0-28-amd64", "5.10.0-32-amd64"][(st.phase % 3) as usize].into(),
        &mut metrics,
    );
    fixed("gexec", "OFF".into(), &mut metrics);
    fixed("disk_total", format!("{disk_total:.3}"), &mut metrics);
    let ip_for_spoof = ip.clone();
    if st.gpu {
        let meta = MetricMeta::new("gpu_util", MetricType::Float, "%", Slope::Both, 60)
            .with_extra("TITLE", "GPU Utilization")
            .with_extra("DESC", "Mean GPU utilization")
            .with_extra("GROUP", "gpu")
            .with_extra("SPOOF_HOST", &format!("{ip_for_spoof}:{name}"));
        metrics.push(Metric {
            meta: Arc::new(meta),
            text: CompactString::default(),
            num: 0.0,
            tn: 0,
        });
    }
    if st.job_count {
        let meta = MetricMeta::new("job_count", MetricType::Uint32, "jobs", Slope::Both, 60)
            .with_extra("TITLE", "Running jobs")
            .with_extra("GROUP", "jobs")
            .with_extra("GROUP", "scheduler")
            .with_extra("SPOOF_HOST", &format!("{ip_for_spoof}:{name}"));
        metrics.push(Metric {
            meta: Arc::new(meta),
            text: CompactString::default(),
            num: 0.0,
            tn: 0,
        });
    }
    let host = Host {
        name: name.as_str().into(),
        ip: ip.into(),
        tags: "".into(),
        reported: now,
        tn: 0,
        tmax: 20,
        dmax: 86_400,
        location: format!("{},{},0", i / 40, i % 40 + 1).into(),
        gmond_started: boot + 60,
        metrics,
    };
    (host, st)
}

impl HostState {
    /// Advances to `now` and writes the new values into `host`.
    pub fn tick(&mut self, host: &mut Host, now: u64) {
        let dt = now.saturating_sub(self.last) as f64;
        self.last = now;
        if let Some(since) = self.down_since {
            // Silent: nothing changes but how long ago it was heard from.
            host.reported = since;
            host.tn = u32::try_from(now.saturating_sub(since)).unwrap_or(u32::MAX);
            let tn = host.tn;
            for m in &mut host.metrics {
                m.tn = tn;
            }
            return;
        }
        let r = &mut self.rng;
        self.jobs.retain(|(_, until)| *until > now);
        // Bursts of work about every 90 minutes on an average host, 5 to 30 minutes long, on
        // top of its usual load — few enough that the load stays around the usual, however
        // long the simulation runs.
        if r.chance((dt / 5400.0).min(1.0)) {
            let size = self.cpus * r.range(0.1, 0.5);
            self.jobs.push((size, now + r.range(300.0, 1800.0) as u64));
        }
        let target = (self.base * self.cpus + self.jobs.iter().map(|j| j.0).sum::<f64>())
            * (1.0 + 0.05 * r.normal());
        for (l, tau) in self.load.iter_mut().zip([60.0, 300.0, 900.0]) {
            *l += (target.max(0.0) - *l) * (1.0 - (-dt / tau).exp());
        }
        let util = (self.load[0] / self.cpus).min(1.0);
        let (mut user, mut system) = (util * r.range(70.0, 86.0), util * r.range(8.0, 16.0));
        let (mut nice, mut wio) = (r.range(0.0, 0.6), r.range(0.0, 2.5) * (0.3 + util));
        let busy = user + system + nice + wio;
        if busy > 100.0 {
            // A saturated host: the busy states share 100 %.
            let k = 100.0 / busy;
            (user, system, nice, wio) = (user * k, system * k, nice * k, wio * k);
        }
        let idle = (100.0 - user - system - nice - wio).max(0.0);
        let used = (0.12 + 0.55 * util + 0.05 * r.normal()).clamp(0.05, 0.95) * self.mem_total;
        let cached = (self.mem_total - used) * r.range(0.15, 0.35);
        let buffers = self.mem_total * 0.008;
        let free = (self.mem_total - used - cached - buffers).max(0.0);
        let bytes_in = (12.0 + (0.2 + util).ln() + 0.9 * r.normal()).exp();
        let bytes_out = bytes_in * r.range(0.2, 1.5);
        self.disk_free -= dt * self.disk_total * 2e-8 * (1.0 + util);
        if self.disk_free < self.disk_total * 0.05 {
            self.disk_free = self.disk_total * 0.6;
        }
        let procs = 110.0 + 9.0 * self.cpus + 6.0 * self.jobs.len() as f64 + r.range(0.0, 12.0);
        let set = |name: &str, v: f64, host: &mut Host| {
            let i = idx(name);
            let def = &DEFAULT_METRICS[i];
            let m = &mut host.metrics[i];
            m.text = CompactString::from(def.format(v));
            m.num = crate::model::parse_number(&m.text);
        };
        set("cpu_user", user, host);
        set("cpu_system", system, host);
        set("cpu_idle", idle, host);
        set("cpu_nice", nice, host);
        set("cpu_wio", wio, host);
        set("cpu_aidle", 100.0 * (1.0 - self.base.min(1.0)) * 0.97, host);
        set("load_one", self.load[0], host);
        set("load_five", self.load[1], host);
        set("load_fifteen", self.load[2], host);
        set("proc_run", self.load[0].round().min(procs), host);
        set("proc_total", procs, host);
        set("mem_free", free, host);
        set("mem_shared", 0.0, host);
        set("mem_buffers", buffers, host);
        set("mem_cached", cached, host);
        set("swap_free", self.swap_total * 0.97, host);
        set("bytes_in", bytes_in, host);
        set("bytes_out", bytes_out, host);
        set("pkts_in", bytes_in / r.range(500.0, 1200.0), host);
        set("pkts_out", bytes_out / r.range(300.0, 1200.0), host);
        set("disk_free", self.disk_free, host);
        set(
            "part_max_used",
            (1.0 - self.disk_free / self.disk_total) * 100.0,
            host,
        );
        let jobs = self.jobs.len();
        for m in host.metrics.iter_mut().skip(DEFAULT_METRICS.len()) {
            let v = match &*m.meta.name {
                "gpu_util" => format!(
                    "{:.1}",
                    if jobs > 0 {
                        80.0 + 19.0 * util
                    } else {
                        3.0 * util
                    }
                ),
                _ => jobs.to_string(),
            };
            m.num = crate::model::parse_number(&v);
            m.text = v.into();
        }
        // Collection cycles: gmond sends each group on its own schedule.
        let phase = self.phase;
        for (i, m) in host.metrics.iter_mut().enumerate() {
            let p = DEFAULT_METRICS.get(i).map_or(20, period);
            m.tn = ((now + phase + i as u64 * 7) % p) as u32;
        }
        host.tn = ((now + phase) % 20) as u32;
        host.reported = now - u64::from(host.tn);
    }

    /// Stops the host reporting from `since` on.
    pub fn go_down(&mut self, since: u64) {
        self.down_since = Some(since);
    }

    /// Makes the host's usual load `base` × its CPUs (a runaway: 3.0 is far above any other
    /// host's), from now on.
    pub fn run_away(&mut self, base: f64) {
        self.base = base;
        self.load = [base * self.cpus; 3];
    }
}
