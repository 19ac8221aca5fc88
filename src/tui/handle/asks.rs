//! What views ask of the app that reaches past them: tagging a host of the cluster below the
//! host view, and a colouring every cluster keeps.

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
            c.rebuild(&self.snap, self.now, &self.bands);
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
}
