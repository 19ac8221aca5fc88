//! A cluster (`<CLUSTER>`): what one gmond, or one gmetad data source, knows.

use std::sync::Arc;

use super::host::Host;
use super::summary::Summary;

/// One cluster at one poll.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Cluster {
    /// Cluster name (`cluster { name }`).
    pub name: Arc<str>,
    /// The reporting gmond's clock when it wrote the document.
    pub localtime: u64,
    /// Owner, when sent.
    pub owner: Option<Arc<str>>,
    /// Latitude/longitude, when sent.
    pub latlong: Option<Arc<str>>,
    /// URL, when sent.
    pub url: Option<Arc<str>>,
    /// Hosts in the order sent.
    pub hosts: Vec<Host>,
    /// The `<HOSTS>`/`<METRICS>` summary the document carried (gmetad summary answers).
    pub summary: Option<Summary>,
}

impl Cluster {
    /// Looks a host up by name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| &*h.name == name)
    }
}
