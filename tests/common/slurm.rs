//! A real Slurm cluster on loopback for tests (../shared/notes/slurm.md): a private munged,
//! one slurmctld and several slurmd "nodes" c1..cN, everything under a temp dir, every daemon
//! in the foreground and killed by its pid.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// A running cluster.
pub struct SlurmCluster {
    /// Its directory.
    pub dir: tempfile::TempDir,
    /// slurm.conf.
    pub conf: PathBuf,
    /// Node names.
    pub nodes: Vec<String>,
    children: Vec<Child>,
    /// slurmctld, apart: tests stop and start it.
    ctld: Option<Child>,
    /// slurmrestd, when started with [`SlurmCluster::start_rest`].
    pub rest: Option<RestD>,
}

/// A slurmrestd in front of the test cluster, run as `nobody` (it refuses root).
pub struct RestD {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A file (mode 0600) with root's token from `scontrol token`.
    pub token_file: PathBuf,
    child: Child,
}

/// How a test cluster is made.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// slurmd nodes.
    pub nodes: usize,
    /// CPUs each node claims (slurmd is told to believe the configuration).
    pub cpus: u32,
    /// Seconds slurmctld keeps a finished job.
    pub min_job_age: u32,
    /// More slurm.conf lines (`MaxJobCount=50000`).
    pub extra: &'static str,
    /// Cloud nodes besides: declared `State=CLOUD`, powered down, started by Slurm's
    /// `ResumeProgram` (a script that runs their slurmd) when jobs need them and stopped by
    /// its `SuspendProgram` after `SuspendTime` idle.
    pub cloud: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            nodes: 3,
            cpus: 2,
            min_job_age: 300,
            extra: "",
            cloud: 0,
        }
    }
}

impl Drop for SlurmCluster {
    fn drop(&mut self) {
        if let Some(r) = self.rest.as_mut() {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
        if let Some(c) = self.ctld.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
        kill_powered(self.dir.path());
        kill_steps_left_in(self.dir.path());
    }
}

/// pid's parent and process group, from /proc/pid/stat.
fn parent_and_group(pid: i32) -> (i32, i32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis: state, ppid, pgrp, ...
    let fields: Vec<i32> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .take(2)
        .filter_map(|p| p.parse().ok())
        .collect();
    (
        fields.first().copied().unwrap_or(0),
        fields.get(1).copied().unwrap_or(0),
    )
}

fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// Job steps outlive slurmd: kill every batch script run from our spool (and what it started)
/// and every slurmstepd holding files in our directory. Never this test process, its process
/// group or anything above it: under CI they share a process group with the whole run.
fn kill_steps_left_in(dir: &Path) {
    let dir = dir.display().to_string();
    let me = std::process::id() as i32;
    let (_, my_group) = parent_and_group(me);
    let mut protected = vec![me];
    let mut up = me;
    while up > 1 {
        up = parent_and_group(up).0;
        protected.push(up);
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in procs.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if protected.contains(&pid) {
            continue;
        }
        let cmd = cmdline(pid);
        let (ppid, pgid) = parent_and_group(pid);
        // Our own children (sbatch, squeue, the daemons) are not steps; they are reaped above.
        if ppid == me {
            continue;
        }
        let stepd = cmd.starts_with("slurmstepd");
        let holds_ours = stepd
            && std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path()).is_ok_and(|p| p.to_string_lossy().contains(&dir))
                })
            });
        let script = cmd.contains(&dir) && !stepd;
        if !(script || holds_ours) {
            continue;
        }
        // SAFETY: signalling pids just read from /proc, ours by their command line or files,
        // none of them this process, its group or its ancestors.
        unsafe {
            if script && cmdline(ppid).starts_with("slurmstepd") && !protected.contains(&ppid) {
                libc::kill(ppid, libc::SIGKILL);
            }
            // A script leads its own process group; its `sleep` is in it too.
            if script && pgid == pid && pgid > 1 && pgid != my_group {
                libc::kill(-pgid, libc::SIGKILL);
            }
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

fn have(bin: &str) -> bool {
    ["/usr/sbin", "/usr/bin"]
        .iter()
        .any(|d| Path::new(d).join(bin).exists())
}

/// Why slurmrestd with JWT cannot run here, if it cannot (besides [`skip_reason`]).
pub fn rest_skip_reason() -> Option<String> {
    if let Some(why) = skip_reason() {
        return Some(why);
    }
    if !have("slurmrestd") {
        return Some("slurmrestd is not installed (apt-get install slurmrestd)".into());
    }
    let jwt = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .any(|d| {
            ["slurm-wlm/auth_jwt.so", "slurm/auth_jwt.so"]
                .iter()
                .any(|p| d.path().join(p).exists())
        })
        || Path::new("/usr/lib/slurm/auth_jwt.so").exists()
        || Path::new("/usr/lib64/slurm/auth_jwt.so").exists();
    if !jwt {
        return Some(
            "Slurm's JWT plugin is not installed (apt-get install slurm-wlm-jwt-plugin)".into(),
        );
    }
    if !have("setpriv") {
        return Some("setpriv is not installed (util-linux)".into());
    }
    None
}

/// Why a real cluster cannot run here, if it cannot.
pub fn skip_reason() -> Option<String> {
    for b in [
        "slurmctld",
        "slurmd",
        "munged",
        "mungekey",
        "sbatch",
        "squeue",
    ] {
        if !have(b) {
            return Some(format!(
                "{b} is not installed (apt-get install slurmctld slurmd slurm-client munge)"
            ));
        }
    }
    // SAFETY: geteuid is always safe.
    if unsafe { libc::geteuid() } != 0 {
        return Some("the test cluster runs its daemons as root".into());
    }
    None
}

/// Slurm's power-saving programs for cloud nodes: resume starts each node's slurmd (in the
/// foreground, in the background of the script, its pid kept in run/power-NODE.pid; `-b`
/// reports the node booted now, as a powered-up node would, else slurmctld waits for a
/// reboot that never comes), suspend kills that node's slurmd by its command line (setsid may
/// have forked, so the kept pid is not always slurmd's) with SIGKILL, as a power cut would (a
/// slurmd started from slurmctld's script daemon outlived SIGTERM, its port still bound, and
/// the node never came back at the next resume), and removes its pid files.
/// slurmctld runs them with a host list (`c[3-4]`).
fn power_scripts(d: &Path, conf: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let (d, conf) = (d.display(), conf.display());
    // slurmctld runs the programs with a bare environment: every command by its path.
    let path_of = |bin: &str| {
        ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .map(|dir| format!("{dir}/{bin}"))
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| bin.to_string())
    };
    let (scontrol, slurmd, setsid, pkill) = (
        path_of("scontrol"),
        path_of("slurmd"),
        path_of("setsid"),
        path_of("pkill"),
    );
    let resume = format!(
        "#!/bin/sh\nfor n in $(SLURM_CONF={conf} {scontrol} show hostnames \"$1\"); do\n  \
{setsid} {slurmd} -b -D -N \"$n\" -f {conf} </dev/null >/dev/null 2>&1 &\n  echo $! > {d}/run/power-$n.pid\n\
  echo \"$(date +%s) resume $n\" >> {d}/log/power.log\ndone\n"
    );
    let suspend = format!(
        "#!/bin/sh\nfor n in $(SLURM_CONF={conf} {scontrol} show hostnames \"$1\"); do\n  \
{pkill} -KILL -f -- \"slurmd -b -D -N $n -f {conf}\"; k=$?\n  rm -f {d}/run/power-$n.pid {d}/run/slurmd-$n.pid\n\
  echo \"$(date +%s) suspend $n $k\" >> {d}/log/power.log\ndone\n"
    );
    for (name, text) in [("resume.sh", resume), ("suspend.sh", suspend)] {
        let p = Path::new(&d.to_string()).join(name);
        std::fs::write(&p, text).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Kills the cloud nodes' slurmd the power scripts started (by the pids they kept).
fn kill_powered(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir.join("run")) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("power-") {
            continue;
        }
        if let Some(pid) = std::fs::read_to_string(e.path())
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .filter(|p| *p > 1)
        {
            // SAFETY: a pid the test's own power script recorded for a slurmd it started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

impl SlurmCluster {
    /// What Slurm's power scripts did (`EPOCH resume|suspend NODE` lines).
    pub fn power_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/power.log")).unwrap_or_default()
    }

    /// Starts munged, slurmctld and `n` slurmd of two CPUs; waits until every node is idle.
    pub fn start(n: usize) -> Result<Self, String> {
        Self::start_with(Shape {
            nodes: n,
            ..Shape::default()
        })
    }

    /// Stops slurmctld (by its pid), leaving the nodes and their jobs running.
    pub fn stop_controller(&mut self) {
        if let Some(mut c) = self.ctld.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts slurmctld again, recovering its state; waits until it answers.
    pub fn start_controller(&mut self) -> Result<(), String> {
        let ctld = Command::new("slurmctld")
            .args(["-D", "-f"])
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("slurmctld: {e}"))?;
        self.ctld = Some(ctld);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = Command::new("scontrol")
                .arg("ping")
                .env("SLURM_CONF", &self.conf)
                .output()
                .map_err(|e| e.to_string())?;
            if String::from_utf8_lossy(&o.stdout).contains("is UP") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("slurmctld did not come back".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Starts munged, slurmctld and the nodes of `shape`; waits until every node is idle.
    pub fn start_with(shape: Shape) -> Result<Self, String> {
        Self::start_opts(shape, false)
    }

    /// [`SlurmCluster::start_with`], with JWT as a second authentication (a 32-byte key, mode
    /// 0600, owned by root, the SlurmUser) and a slurmrestd on loopback, run as `nobody`, with
    /// root's token in a file.
    pub fn start_rest(shape: Shape) -> Result<Self, String> {
        let mut c = Self::start_opts(shape, true)?;
        let d = c.dir.path().to_path_buf();
        let o = Command::new("scontrol")
            .args(["token", "username=root", "lifespan=3600"])
            .env("SLURM_CONF", &c.conf)
            .output()
            .map_err(|e| format!("scontrol token: {e}"))?;
        let token = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !o.status.success() || !token.starts_with("SLURM_JWT=") {
            return Err(format!(
                "scontrol token: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        let token_file = d.join("token");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .create_new(true)
                .write(true)
                .mode(0o600)
                .open(&token_file)
                .map_err(|e| e.to_string())?;
            writeln!(f, "{token}").map_err(|e| e.to_string())?;
        }
        let port = free_port();
        let log = std::fs::File::create(d.join("log/slurmrestd.log")).map_err(|e| e.to_string())?;
        let child = Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "slurmrestd",
                "-s",
                "openapi/v0.0.38",
                "-a",
                "rest_auth/jwt",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .env("SLURM_CONF", &c.conf)
            .env("SLURM_JWT", "daemon")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("slurmrestd: {e}"))?;
        c.rest = Some(RestD {
            url: format!("http://127.0.0.1:{port}"),
            token_file,
            child,
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(d.join("log/slurmrestd.log")).unwrap_or_default();
                return Err(format!("slurmrestd never listened: {log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(c)
    }

    fn start_opts(shape: Shape, jwt: bool) -> Result<Self, String> {
        let n = shape.nodes;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let d = dir.path().to_path_buf();
        for sub in ["munge", "state", "run", "log"] {
            std::fs::create_dir_all(d.join(sub)).map_err(|e| e.to_string())?;
        }
        let run = |cmd: &mut Command| -> Result<(), String> {
            let o = cmd.output().map_err(|e| e.to_string())?;
            if o.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&o.stderr).into_owned())
            }
        };
        run(Command::new("chmod").arg("755").arg(&d))?;
        run(Command::new("chown")
            .arg("munge:munge")
            .arg(d.join("munge")))?;
        let key = d.join("munge/munge.key");
        run(Command::new("setpriv")
            .args([
                "--reuid=munge",
                "--regid=munge",
                "--init-groups",
                "mungekey",
                "--create",
            ])
            .arg(format!("--keyfile={}", key.display())))?;
        let sock = d.join("munge/munge.socket");
        let mut cluster = SlurmCluster {
            conf: d.join("slurm.conf"),
            nodes: (1..=n).map(|i| format!("c{i}")).collect(),
            children: Vec::new(),
            ctld: None,
            rest: None,
            dir,
        };
        let munged = Command::new("setpriv")
            .args([
                "--reuid=munge",
                "--regid=munge",
                "--init-groups",
                "munged",
                "--foreground",
            ])
            .arg(format!("--socket={}", sock.display()))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!(
                "--pid-file={}",
                d.join("munge/munged.pid").display()
            ))
            .arg(format!(
                "--seed-file={}",
                d.join("munge/munge.seed").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("munged: {e}"))?;
        cluster.children.push(munged);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sock.exists() {
            if Instant::now() > deadline {
                return Err("munged did not create its socket".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let ctld_port = free_port();
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut conf = format!(
            "ClusterName=gantrytest\nSlurmctldHost=localhost\nSlurmctldPort={ctld_port}\nSlurmUser=root\nSlurmdUser=root\n\
AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket={sock},cred_expire=10\n\
StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool/%n\nSlurmctldPidFile={d}/run/slurmctld.pid\n\
SlurmdPidFile={d}/run/slurmd-%n.pid\nSlurmctldLogFile={d}/log/slurmctld.log\nSlurmdLogFile={d}/log/slurmd-%n.log\n\
PlugStackConfig={d}/plugstack.conf\nMailProg=/bin/true\nProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
JobAcctGatherType=jobacct_gather/linux\nAccountingStorageType=accounting_storage/none\nJobCompType=jobcomp/filetxt\n\
JobCompLoc={d}/log/jobcomp.txt\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nSchedulerType=sched/backfill\n\
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=2\nMpiDefault=none\nReturnToService=1\n\
SlurmdTimeout=30\nInactiveLimit=0\nKillWait=5\nMinJobAge={age}\nWaittime=0\nSlurmdParameters=config_overrides\n",
            age = shape.min_job_age,
            sock = sock.display(),
            d = d.display()
        );
        if jwt {
            let key = d.join("jwt.key");
            let mut bytes = [0u8; 32];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
                .map_err(|e| e.to_string())?;
            {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .create_new(true)
                    .write(true)
                    .mode(0o600)
                    .open(&key)
                    .and_then(|mut f| f.write_all(&bytes))
                    .map_err(|e| e.to_string())?;
            }
            conf.push_str(&format!(
                "AuthAltTypes=auth/jwt\nAuthAltParameters=jwt_key={}\n",
                key.display()
            ));
        }
        conf.push_str(shape.extra);
        if shape.cloud > 0 {
            power_scripts(&d, &cluster.conf)?;
            conf.push_str(&format!(
                "PrivateData=cloud\nSuspendProgram={d}/suspend.sh\nResumeProgram={d}/resume.sh\n\
SuspendTime=10\nSuspendTimeout=5\nResumeTimeout=60\nResumeRate=0\nSuspendRate=0\n\
SuspendExcNodes=c[1-{n}]\n",
                d = d.display()
            ));
            for k in 1..=shape.cloud {
                let name = format!("c{}", n + k);
                std::fs::create_dir_all(d.join("spool").join(&name)).map_err(|e| e.to_string())?;
                conf.push_str(&format!(
                    "NodeName={name} NodeHostname=localhost NodeAddr=127.0.0.1 Port={} CPUs={} RealMemory=1000 State=CLOUD\n",
                    free_port(),
                    shape.cpus
                ));
            }
        }
        for (i, p) in ports.iter().enumerate() {
            conf.push_str(&format!(
                "NodeName=c{} NodeHostname=localhost NodeAddr=127.0.0.1 Port={p} CPUs={} RealMemory=1000 State=UNKNOWN\n",
                i + 1,
                shape.cpus
            ));
        }
        conf.push_str("PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n");
        std::fs::write(&cluster.conf, conf).map_err(|e| e.to_string())?;
        std::fs::write(d.join("plugstack.conf"), "").map_err(|e| e.to_string())?;
        for node in &cluster.nodes {
            std::fs::create_dir_all(d.join("spool").join(node)).map_err(|e| e.to_string())?;
        }
        let ctld = Command::new("slurmctld")
            .args(["-D", "-i", "-f"])
            .arg(&cluster.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("slurmctld: {e}"))?;
        cluster.ctld = Some(ctld);
        std::thread::sleep(Duration::from_millis(500));
        for node in cluster.nodes.clone() {
            let c = Command::new("slurmd")
                .args(["-D", "-N", &node, "-f"])
                .arg(&cluster.conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("slurmd: {e}"))?;
            cluster.children.push(c);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = Command::new("sinfo")
                .args(["-h", "-o", "%T %D"])
                .env("SLURM_CONF", &cluster.conf)
                .output()
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&o.stdout).to_string();
            // Cloud nodes, powered down, are listed apart (`idle~`).
            if text.lines().any(|l| l.trim() == format!("idle {n}")) {
                return Ok(cluster);
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(d.join("log/slurmctld.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!(
                    "nodes never all idle ({text}); slurmctld log: {tail:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The environment value for `SLURM_CONF`.
    pub fn conf_str(&self) -> String {
        self.conf.display().to_string()
    }
}
