//! The local collector as a source: this machine's metrics as a cluster of one host.

use std::time::Instant;

use super::fetch::{Failure, FetchReport, Fetched};
use crate::collector::LocalCollector;
use crate::ganglia::{DamageLog, Parsed};
use crate::model::{Cluster, Document, Item, Origin};
use std::sync::Arc;

/// Polls the local collector.
pub struct LocalPoller {
    collector: LocalCollector,
}

impl LocalPoller {
    /// A poller reporting this machine under `cluster_name`.
    pub fn new(cluster_name: &str) -> Self {
        Self {
            collector: LocalCollector::new(cluster_name),
        }
    }

    /// Reads the machine now.
    pub fn poll(&mut self) -> FetchReport {
        let started = Instant::now();
        match self.collect() {
            Ok(cluster) => FetchReport {
                fetched: Some(Fetched {
                    parsed: Parsed {
                        document: Document {
                            version: "3.7.2".into(),
                            origin: Origin::Gmond,
                            items: vec![Item::Cluster(Arc::new(cluster))],
                        },
                        wire_bytes: 0,
                        xml_bytes: 0,
                        gzip: false,
                        damage: DamageLog::default(),
                        truncated: None,
                    },
                    address: 0,
                    latency: started.elapsed(),
                    incomplete: None,
                }),
                failures: Vec::new(),
            },
            Err(e) => FetchReport {
                fetched: None,
                failures: vec![Failure {
                    address: "local /proc".into(),
                    error: e,
                }],
            },
        }
    }

    fn collect(&mut self) -> Result<Cluster, String> {
        self.collector.collect().map_err(|e| e.to_string())
    }
}
