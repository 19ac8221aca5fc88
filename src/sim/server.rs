//! Serving simulated clusters the way gmond's TCP accept channel does: on connect, the whole
//! document, then close. Documents are rendered once per step off the reactor and shared by
//! every connection; the CLUSTER's LOCALTIME is written at answer time, as gmond does (not in
//! gzip mode, whose bytes are compressed once). Faults can be injected per cluster for tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::cluster::{ClusterSpec, SimCluster};

/// A misbehaviour to inject.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Fault {
    /// Behave like gmond.
    #[default]
    None,
    /// Stop listening: connections are refused.
    Refuse,
    /// Accept and close at once, sending nothing.
    Close,
    /// Accept and never write.
    Hang,
    /// Send only the first N bytes, then close.
    Truncate(usize),
    /// Send the document with an unescaped `&` and `<` in OWNER, as real gmond does.
    Malformed,
    /// Send bytes that are not XML.
    Garbage,
    /// Send at most N bytes per second.
    Slow(usize),
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, arg) = match s.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (s, None),
        };
        let n = |what: &str| -> Result<usize, String> {
            arg.ok_or(format!("{kind} needs :{what}"))?
                .parse()
                .map_err(|_| format!("{kind}: '{}' is not a number", arg.unwrap_or("")))
        };
        Ok(match kind {
            "none" => Fault::None,
            "refuse" => Fault::Refuse,
            "close" => Fault::Close,
            "hang" => Fault::Hang,
            "truncate" => Fault::Truncate(n("BYTES")?),
            "malformed" => Fault::Malformed,
            "garbage" => Fault::Garbage,
            "slow" => Fault::Slow(n("BYTES_PER_SEC")?.max(1)),
            other => {
                return Err(format!(
                    "unknown fault '{other}' (none, refuse, close, hang, truncate:N, malformed, garbage, slow:N)"
                ));
            }
        })
    }
}

struct Served {
    spec: ClusterSpec,
    sim: Mutex<SimCluster>,
    doc: Mutex<Arc<Vec<u8>>>,
    gz: Mutex<Option<Arc<Vec<u8>>>>,
    fault: Mutex<Fault>,
    addr: Mutex<Option<SocketAddr>>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

/// Options for serving.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Address to bind (port from each spec).
    pub bind: std::net::IpAddr,
    /// Seconds between re-renderings.
    pub step: u64,
    /// Random seed.
    pub seed: u64,
    /// Serve gzip, like gmond's `gzip_output = yes`.
    pub gzip: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            bind: [127, 0, 0, 1].into(),
            step: 15,
            seed: 1,
            gzip: false,
        }
    }
}

/// Running simulated clusters.
pub struct SimHandle {
    clusters: Vec<Arc<Served>>,
    opts: SimOptions,
    ticker: JoinHandle<()>,
}

fn now_epoch() -> u64 {
    crate::aggregator::now_epoch()
}

fn gzip(doc: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(doc.len() / 8),
        flate2::Compression::fast(),
    );
    // Writing to memory cannot fail.
    let _ = e.write_all(doc);
    e.finish().unwrap_or_default()
}

fn render(s: &Served, gz: bool) {
    let doc = s.sim.lock().document();
    if gz {
        *s.gz.lock() = Some(Arc::new(gzip(&doc)));
    }
    *s.doc.lock() = doc;
}

async fn listen(s: Arc<Served>, bind: std::net::IpAddr, gz: bool) -> std::io::Result<()> {
    let port = s.addr.lock().map_or(s.spec.port, |a| a.port());
    let l = crate::listen::tcp(SocketAddr::new(bind, port)).await?;
    *s.addr.lock() = Some(l.local_addr()?);
    let s2 = s.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = l.accept().await else {
                continue;
            };
            let s = s2.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_one(stream, &s, gz).await {
                    tracing::debug!("sim client: {e}");
                }
            });
        }
    });
    *s.listener.lock() = Some(task);
    Ok(())
}

/// Where the CLUSTER element's LOCALTIME digits are (near the top, after the DTD).
fn localtime_digits(doc: &[u8]) -> Option<(usize, usize)> {
    let head = &doc[..doc.len().min(16 * 1024)];
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let cluster = find(head, b"<CLUSTER ")?;
    let attr = b"LOCALTIME=\"";
    let start = cluster + find(&head[cluster..], attr)? + attr.len();
    let len = head[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    (len > 0).then_some((start, start + len))
}

async fn serve_one(mut stream: TcpStream, s: &Served, gz: bool) -> std::io::Result<()> {
    let fault = s.fault.lock().clone();
    let doc = if gz {
        s.gz.lock().clone().unwrap_or_else(|| s.doc.lock().clone())
    } else {
        s.doc.lock().clone()
    };
    match fault {
        Fault::None | Fault::Refuse if !gz => {
            // gmond's LOCALTIME is the time of the answer, not of the last update.
            match localtime_digits(&doc) {
                Some((a, b)) => {
                    stream.write_all(&doc[..a]).await?;
                    stream.write_all(now_epoch().to_string().as_bytes()).await?;
                    stream.write_all(&doc[b..]).await?;
                }
                None => stream.write_all(&doc).await?,
            }
        }
        Fault::None | Fault::Refuse => stream.write_all(&doc).await?,
        Fault::Close => {}
        Fault::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
        Fault::Truncate(n) => stream.write_all(&doc[..n.min(doc.len())]).await?,
        Fault::Malformed => {
            let text = String::from_utf8_lossy(&doc).replacen(
                "OWNER=\"Gantry Simulation\"",
                "OWNER=\"Ops <ops@example.com> & co\"",
                1,
            );
            stream.write_all(text.as_bytes()).await?;
        }
        Fault::Garbage => {
            stream
                .write_all(b"\x00\x01{\"this\": is not XML}\xff\xfe")
                .await?
        }
        Fault::Slow(bps) => {
            for chunk in doc.chunks(bps.clamp(1, 65536)) {
                stream.write_all(chunk).await?;
                tokio::time::sleep(Duration::from_secs_f64(chunk.len() as f64 / bps as f64)).await;
            }
        }
    }
    stream.shutdown().await
}

impl SimHandle {
    /// Builds the clusters, binds their ports and serves until dropped.
    pub async fn start(specs: Vec<ClusterSpec>, opts: SimOptions) -> std::io::Result<Self> {
        let now = now_epoch();
        let seed = opts.seed;
        let built = tokio::task::spawn_blocking(move || {
            specs
                .into_iter()
                .map(|spec| {
                    let sim = SimCluster::new(&spec, seed, now);
                    (spec, sim)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(std::io::Error::other)?;
        Self::start_from(built, opts).await
    }

    /// Serves clusters already built (and perhaps already advanced, as the demo's history
    /// backfill does, so what is served continues what was recorded).
    pub async fn start_from(
        built: Vec<(ClusterSpec, SimCluster)>,
        opts: SimOptions,
    ) -> std::io::Result<Self> {
        let mut clusters = Vec::new();
        for (spec, sim) in built {
            let gz = opts.gzip;
            let s = tokio::task::spawn_blocking(move || {
                let served = Served {
                    spec,
                    doc: Mutex::new(Arc::new(Vec::new())),
                    gz: Mutex::new(None),
                    sim: Mutex::new(sim),
                    fault: Mutex::new(Fault::None),
                    addr: Mutex::new(None),
                    listener: Mutex::new(None),
                };
                render(&served, gz);
                Arc::new(served)
            })
            .await
            .map_err(std::io::Error::other)?;
            listen(s.clone(), opts.bind, opts.gzip).await?;
            clusters.push(s);
        }
        let ticking = clusters.clone();
        let (step, gz) = (opts.step.max(1), opts.gzip);
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(step)).await;
                for s in &ticking {
                    let s = s.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        s.sim.lock().tick(now_epoch());
                        render(&s, gz);
                    })
                    .await;
                }
            }
        });
        Ok(Self {
            clusters,
            opts,
            ticker,
        })
    }

    /// Each cluster's name and address.
    pub fn addrs(&self) -> Vec<(String, SocketAddr)> {
        self.clusters
            .iter()
            .filter_map(|s| s.addr.lock().map(|a| (s.spec.name.clone(), a)))
            .collect()
    }

    /// The address of one cluster.
    pub fn addr(&self, cluster: &str) -> Option<SocketAddr> {
        self.clusters
            .iter()
            .find(|s| s.spec.name == cluster)
            .and_then(|s| *s.addr.lock())
    }

    /// Changes a cluster's behaviour now. `Refuse` closes its port; any other fault reopens it
    /// on the same port.
    pub async fn set_fault(&self, cluster: &str, fault: Fault) -> std::io::Result<()> {
        let Some(s) = self.clusters.iter().find(|s| s.spec.name == cluster) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no simulated cluster '{cluster}'"),
            ));
        };
        *s.fault.lock() = fault.clone();
        let listening = s.listener.lock().as_ref().is_some_and(|t| !t.is_finished());
        if fault == Fault::Refuse {
            if let Some(t) = s.listener.lock().take() {
                t.abort();
            }
            // Give the aborted accept loop a moment to drop its socket.
            tokio::time::sleep(Duration::from_millis(20)).await;
        } else if !listening {
            listen(s.clone(), self.opts.bind, self.opts.gzip).await?;
        }
        Ok(())
    }

    /// Advances every cluster to `now` and re-renders (tests fast-forward time with this).
    pub async fn tick_to(&self, now: u64) {
        for s in &self.clusters {
            let s = s.clone();
            let gz = self.opts.gzip;
            let _ = tokio::task::spawn_blocking(move || {
                s.sim.lock().tick(now);
                render(&s, gz);
            })
            .await;
        }
    }

    /// Stops serving.
    pub fn stop(self) {}
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.ticker.abort();
        for s in &self.clusters {
            if let Some(t) = s.listener.lock().take() {
                t.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn localtime_is_the_time_of_the_answer() {
        let sim = SimHandle::start(
            vec![crate::sim::ClusterSpec {
                name: "a".into(),
                hosts: 3,
                down: 0,
                port: 0,
            }],
            crate::sim::SimOptions {
                step: 3600,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let addr = sim.addr("a").unwrap();
        let localtime = || async move {
            let mut doc = Vec::new();
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.read_to_end(&mut doc).await.unwrap();
            let (a, b) = localtime_digits(&doc).expect("a CLUSTER LOCALTIME");
            std::str::from_utf8(&doc[a..b])
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        let first = localtime().await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // The document was rendered once (step 3600 s), yet the clock moved on.
        assert!(localtime().await > first);
    }
}
