//! Keys of the host view's graphs: tagging hosts, overlaying a metric across them, graphing
//! the selected metric.

use super::*;

impl App {
    /// Tags or untags `host` of the cluster view below the host view.
    pub(super) fn tag(&mut self, cluster: &str, host: &str) {
        let Some(c) = self.cluster.as_mut().filter(|c| c.name == cluster) else {
            self.complain("no host selected to tag");
            return;
        };
        let name: std::sync::Arc<str> = host.into();
        let now = !c.tagged.remove(&name);
        if now {
            c.tagged.insert(name);
        }
        let n = c.tagged.len();
        self.say(cluster_view::tag_said(host, now, n));
    }

    /// Cluster tiles are coloured by `by` from now on: the cluster in view (under the host
    /// view too) follows.
    pub(super) fn colour_by(&mut self, by: crate::tui::bands::ColorBy) {
        self.color_by = by;
        if let Some(c) = self.cluster.as_mut().filter(|c| c.color_by != by) {
            c.color_by = by;
            c.rebuild(&self.snap, self.now, &self.bands, self.filters[1].as_ref());
        }
        if self.level() == Level::Grid {
            self.say(format!(
                "cluster tiles coloured by {} (the grid keeps load)",
                by.label()
            ));
        } else {
            self.say(format!("tiles coloured by {} (l explains)", by.label()));
        }
    }

    /// Tags or untags the host selected in the cluster view, or the host in view.
    pub(super) fn tag_host(&mut self) {
        let host = self
            .host
            .as_ref()
            .map(|h| (h.cluster.clone(), h.host.clone()));
        let Some(c) = self.cluster.as_mut() else {
            self.complain("tag hosts in a cluster's view (enter on a cluster)");
            return;
        };
        let done = match host {
            Some((cluster, host)) if cluster == c.name => {
                let name: std::sync::Arc<str> = host.as_str().into();
                let now = !c.tagged.remove(&name);
                if now {
                    c.tagged.insert(name);
                }
                Some((host, now))
            }
            Some(_) => None,
            None => c.toggle_tag(&self.snap),
        };
        let n = c.tagged.len();
        match done {
            Some((h, true)) => self.say(format!(
                "tagged {h} ({n} tagged; v on a graphed metric overlays them)"
            )),
            Some((h, false)) => self.say(format!("untagged {h} ({n} tagged)")),
            None => self.complain("no host selected to tag"),
        }
    }

    /// Overlays the graphed metric across the tagged hosts, or goes back to this host alone.
    pub(super) fn toggle_overlay(&mut self) {
        let tagged_others = match (&self.host, &self.cluster) {
            (Some(h), Some(c)) if c.name == h.cluster => {
                c.tagged.iter().filter(|t| ***t != *h.host).count()
            }
            _ => 0,
        };
        let Some(h) = self.host.as_mut() else {
            self.complain(
                "open a host (enter) and graph a metric (enter on it) to overlay it across the tagged hosts",
            );
            return;
        };
        if h.graph.is_none() {
            self.drill();
        }
        let Some(g) = self.host.as_mut().and_then(|h| h.graph.as_mut()) else {
            return;
        };
        if g.overlay {
            g.overlay = false;
            let m = g.metric.clone();
            self.say(format!("{m} of this host alone"));
        } else if tagged_others == 0 {
            self.complain("no other host is tagged: tag hosts with space in the cluster view");
        } else {
            g.overlay = true;
            let m = g.metric.clone();
            let shown = (tagged_others + 1).min(crate::tui::app::OVERLAY_MAX);
            let more = tagged_others + 1 - shown;
            if more > 0 {
                self.say(format!(
                    "{m} across {shown} hosts ({more} more tagged than colours to tell them apart)"
                ));
            } else {
                self.say(format!("{m} across {shown} hosts"));
            }
        }
    }

    /// Graphs the host view's selected metric large, with a time axis.
    pub(super) fn graph_selected(&mut self) {
        let picked = self.host.as_ref().and_then(|st| {
            let (_, h) = st.find(&self.snap)?;
            let m = *host_view::metrics(self, h).get(st.selected)?;
            Some((
                m.meta.name.to_string(),
                m.meta.units.trim().to_string(),
                m.meta.kind.is_numeric(),
                m.text.to_string(),
            ))
        });
        let Some((metric, units, numeric, text)) = picked else {
            self.complain("no metric selected");
            return;
        };
        if !numeric {
            self.complain(format!(
                "{metric} is text ('{text}'): only numbers have history to graph"
            ));
            return;
        }
        if let Some(st) = self.host.as_mut() {
            let overlay = st.graph.as_ref().is_some_and(|g| g.overlay);
            st.graph = Some(crate::tui::state::host::MetricGraph {
                metric,
                units,
                overlay,
                series: Vec::new(),
            });
        }
        self.keep_metric_in_sight();
    }
}
