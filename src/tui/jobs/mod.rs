//! Job control in the console: the process monitor, job results and the output pager for one
//! cluster's central manager, with the login, kill, migrate and submit dialogs over them.
//! Fed by the manager link's events; keys become link commands. Nothing here waits.
//!
//! One file per screen and dialog; the pager and the dialogs are components (`draw(&self)`,
//! keys → `Handled`, commands for the hint bar), leaving link commands in their outbox.

pub mod dialogs;
pub mod draw;
pub mod form;
pub mod keys;
pub mod kill_dialog;
pub mod login_dialog;
pub mod migrate_dialog;
pub mod pager;
pub mod pair;
pub mod power_dialog;
pub mod processes;
pub mod results;
pub mod slurm_dialog;
pub mod slurm_screens;
pub mod submit_form;

use std::cell::Cell;

use std::collections::BTreeSet;

use crate::cm::proto::{JobSummary, NodeInfo, ProcInfo};
use crate::jobs::link::LinkHandle;
use crate::jobs::{JobEvent, LinkState, ManagerConfig, Target};
use crate::tui::component::Component;
use dialogs::{KillDialog, LoginDialog, MigrateDialog, Outbox};
use form::SubmitForm;
pub use pager::Pager;
pub use pair::pair_problem;

/// Which list is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobScreen {
    /// Processes on the cluster's nodes.
    Processes,
    /// Jobs and their results.
    Results,
    /// A job's output or error file.
    Pager,
    /// Slurm's partitions.
    Partitions,
    /// Slurm's nodes.
    Nodes,
    /// One Slurm job in detail.
    Detail,
}

/// Process order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcSort {
    /// CPU use, highest first.
    #[default]
    Cpu,
    /// Memory, highest first.
    Memory,
    /// Node, then pid.
    Node,
}

/// A dialog over the lists.
pub enum Modal {
    /// Log in.
    Login(Box<LoginDialog>),
    /// Send a signal.
    Kill(Box<KillDialog>),
    /// Move a process.
    Migrate(Box<MigrateDialog>),
    /// Submit a job.
    Submit(Box<SubmitForm>),
    /// Act on Slurm jobs.
    Slurm(Box<slurm_dialog::SlurmJobDialog>),
    /// Power Slurm nodes up or down.
    Power(Box<power_dialog::PowerDialog>),
}

impl Modal {
    /// Whether a text field has the focus (plain characters are typed into it then).
    pub fn text_focused(&self) -> bool {
        match self {
            Modal::Login(d) => d.text_focused(),
            Modal::Kill(d) => d.text_focused(),
            Modal::Migrate(_) => false,
            Modal::Submit(f) => f.text_focused(),
            Modal::Slurm(d) => d.text_focused(),
            Modal::Power(d) => d.text_focused(),
        }
    }

    /// The dialog as a component.
    pub fn component(&self) -> &dyn Component {
        match self {
            Modal::Login(d) => d.as_ref(),
            Modal::Kill(d) => d.as_ref(),
            Modal::Migrate(d) => d.as_ref(),
            Modal::Submit(f) => f.as_ref(),
            Modal::Slurm(d) => d.as_ref(),
            Modal::Power(d) => d.as_ref(),
        }
    }

    /// The dialog as a component, to take a key.
    pub fn component_mut(&mut self) -> &mut dyn Component {
        match self {
            Modal::Login(d) => d.as_mut(),
            Modal::Kill(d) => d.as_mut(),
            Modal::Migrate(d) => d.as_mut(),
            Modal::Submit(f) => f.as_mut(),
            Modal::Slurm(d) => d.as_mut(),
            Modal::Power(d) => d.as_mut(),
        }
    }

    /// What its last key left for job control.
    pub fn outbox(&mut self) -> &mut Outbox {
        match self {
            Modal::Login(d) => &mut d.out,
            Modal::Kill(d) => &mut d.out,
            Modal::Migrate(d) => &mut d.out,
            Modal::Submit(f) => &mut f.out,
            Modal::Slurm(d) => &mut d.out,
            Modal::Power(d) => &mut d.out,
        }
    }
}

/// Job control for one cluster.
pub struct JobsUi {
    /// The cluster (as the manager link names it).
    pub cluster: String,
    /// Its manager.
    pub manager: ManagerConfig,
    /// The link, when running (tests draw without one).
    pub link: Option<LinkHandle>,
    /// Link state.
    pub state: LinkState,
    /// Logged in as (user, role).
    pub login: Option<(String, String)>,
    /// Showing.
    pub screen: JobScreen,
    /// Processes, as last fetched.
    pub procs: Vec<ProcInfo>,
    /// Nodes.
    pub nodes: Vec<NodeInfo>,
    /// Jobs.
    pub jobs: Vec<JobSummary>,
    /// Selected row of the list showing.
    pub selected: usize,
    /// First visible row: the list scrolls from here as far as it must to show the selection.
    pub scroll: usize,
    /// Rows on a page of the list at the last draw (for paging). A cache of the frame.
    pub page: Cell<usize>,
    /// Tagged processes (node, pid), across nodes.
    pub tagged: BTreeSet<(String, u32)>,
    /// Tagged Slurm nodes (to power up or down together).
    pub tagged_nodes: BTreeSet<String>,
    /// Process order.
    pub sort: ProcSort,
    /// Regex filter over the rows (`!` inverts).
    pub filter: Option<crate::tui::filter::Filter>,
    /// The open dialog.
    pub modal: Option<Modal>,
    /// The pager.
    pub pager: Pager,
    /// No dangerous actions.
    pub read_only: bool,
    /// Where submit templates live.
    pub templates: std::path::PathBuf,
    /// The filter being typed.
    pub filter_input: Option<String>,
    /// Scheduler node states (Slurm): name → (state words, reason); looked up per tile.
    pub node_states: std::collections::HashMap<String, (String, String)>,
    /// The queue's pressure, as the backend last judged it.
    pub queue: Option<std::sync::Arc<crate::queue::QueueReport>>,
    /// Only this host's processes are listed (opened with `p` on a host).
    pub host_scope: Option<String>,
    /// What the last Slurm poll saw (Slurm only).
    pub slurm: Option<std::sync::Arc<crate::slurm::view::SlurmView>>,
    /// The active manager of a pair, its epoch and its shadow, as it last said (protocol §9).
    pub ha: Option<crate::cm::proto::HaStatus>,
    /// Since when (epoch seconds) no manager has answered, while none does.
    pub down_since: Option<u64>,
    /// The job shown in detail (Slurm only): its label and fields, or why not.
    pub detail: Option<(String, crate::slurm::detail::Detail)>,
    /// The screen the detail was opened from (Esc goes back there).
    pub detail_from: JobScreen,
    /// The processes as the link sent them (Slurm's pending arrays folded).
    pub sent_procs: Vec<ProcInfo>,
    /// Pending array records shown task by task (Slurm only), by label (`102_[1-5]`).
    pub expanded: BTreeSet<String>,
}

impl JobsUi {
    /// Job control for `manager`'s `cluster`, on `screen`.
    pub fn new(
        cluster: &str,
        manager: ManagerConfig,
        link: Option<LinkHandle>,
        screen: JobScreen,
        read_only: bool,
        templates: std::path::PathBuf,
    ) -> Self {
        let read_only = read_only || manager.read_only;
        Self {
            cluster: cluster.to_string(),
            manager,
            link,
            state: LinkState::Connecting(String::new()),
            login: None,
            screen,
            procs: Vec::new(),
            nodes: Vec::new(),
            jobs: Vec::new(),
            selected: 0,
            scroll: 0,
            page: Cell::new(10),
            tagged: BTreeSet::new(),
            tagged_nodes: BTreeSet::new(),
            sort: ProcSort::default(),
            filter: None,
            modal: None,
            pager: Pager::default(),
            read_only,
            templates,
            filter_input: None,
            node_states: std::collections::HashMap::new(),
            queue: None,
            host_scope: None,
            slurm: None,
            ha: None,
            down_since: None,
            detail: None,
            detail_from: JobScreen::Processes,
            sent_procs: Vec::new(),
            expanded: BTreeSet::new(),
        }
    }

    /// The process rows: what the link sent, with each expanded pending array as one row per
    /// task (`102_3`), keyed `pending:102` / task so each can be tagged on its own.
    pub fn unfold(&mut self) {
        let mut out = Vec::with_capacity(self.sent_procs.len());
        for p in &self.sent_procs {
            let split = p
                .job
                .split_once("_[")
                .filter(|_| self.expanded.contains(&p.job));
            match split {
                Some((array, tasks)) => {
                    for t in crate::slurm::jobs::task_indices(tasks.trim_end_matches(']')) {
                        out.push(ProcInfo {
                            node: format!("pending:{array}"),
                            pid: t,
                            job: format!("{array}_{t}"),
                            ..p.clone()
                        });
                    }
                }
                None => out.push(p.clone()),
            }
        }
        self.procs = out;
    }

    /// Whether the backend is Slurm.
    pub fn is_slurm(&self) -> bool {
        matches!(self.manager.kind, crate::jobs::BackendKind::Slurm { .. })
    }

    /// The Slurm jobs behind process rows, each once, with its array and owner.
    pub fn slurm_targets(&self, targets: &[Target]) -> Vec<slurm_dialog::SlurmTarget> {
        let mut out: Vec<slurm_dialog::SlurmTarget> = Vec::new();
        for t in targets {
            let Some(p) = self
                .procs
                .iter()
                .find(|p| p.node == t.node && p.pid == t.pid)
            else {
                continue;
            };
            if out.iter().any(|o| o.label == p.job) {
                continue;
            }
            // A task of an expanded pending record is known by its record.
            let job = self.slurm.as_ref().and_then(|v| {
                v.job(&p.job).or_else(|| {
                    let (a, _) = p.job.split_once('_')?;
                    let a: u64 = a.parse().ok()?;
                    v.jobs.iter().find(|j| {
                        j.array_job() == Some(a)
                            && matches!(j.array, crate::slurm::jobs::Array::Pending { .. })
                    })
                })
            });
            let array = job.and_then(|j| {
                let a = j.array_job()?;
                Some((a, self.slurm.as_ref().map_or(1, |v| v.array_size(a))))
            });
            out.push(slurm_dialog::SlurmTarget {
                label: p.job.clone(),
                array,
                user: p.user.clone(),
                state: job.map_or_else(|| "?".into(), |j| j.state.clone()),
            });
        }
        out
    }

    /// Whether a process runs on the host the list is scoped to. Ganglia often names hosts by
    /// their full domain name where managers use the short one, so either matches.
    pub fn in_scope(&self, node: &str) -> bool {
        self.host_scope.as_deref().is_none_or(|h| {
            let short = |n: &str| n.split('.').next().unwrap_or(n).to_string();
            node == h || short(node) == short(h)
        })
    }

    /// Sends a command to the link.
    pub fn send(&self, c: crate::jobs::JobCommand) {
        if let Some(l) = &self.link {
            l.send(c);
        }
    }

    /// Processes in display order after the filter.
    pub fn visible_procs(&self) -> Vec<&ProcInfo> {
        let mut v: Vec<&ProcInfo> = self
            .procs
            .iter()
            .filter(|p| self.in_scope(&p.node))
            .filter(|p| {
                self.filter.as_ref().is_none_or(|f| {
                    f.keeps(&format!(
                        "{} {} {} {} {}",
                        p.node, p.pid, p.name, p.user, p.job
                    ))
                })
            })
            .collect();
        match self.sort {
            ProcSort::Cpu => {
                v.sort_by(|a, b| b.cpu_pct.total_cmp(&a.cpu_pct).then(a.pid.cmp(&b.pid)))
            }
            ProcSort::Memory => v.sort_by(|a, b| b.rss_kb.cmp(&a.rss_kb).then(a.pid.cmp(&b.pid))),
            ProcSort::Node => v.sort_by(|a, b| {
                crate::tui::natural::natural_cmp(&a.node, &b.node).then(a.pid.cmp(&b.pid))
            }),
        }
        v
    }

    /// Jobs in display order (newest first) after the filter.
    pub fn visible_jobs(&self) -> Vec<&JobSummary> {
        let mut v: Vec<&JobSummary> = self
            .jobs
            .iter()
            .filter(|j| {
                self.filter.as_ref().is_none_or(|f| {
                    f.keeps(&format!(
                        "{} {} {} {} {}",
                        j.id, j.name, j.user, j.state, j.nodes
                    ))
                })
            })
            .collect();
        v.sort_by_key(|j| std::cmp::Reverse(j.id));
        v
    }

    /// Rows in the list showing.
    pub fn rows(&self) -> usize {
        match self.screen {
            JobScreen::Processes => self.visible_procs().len(),
            JobScreen::Results => self.visible_jobs().len(),
            JobScreen::Pager => self.pager.text.lines().count(),
            JobScreen::Partitions => self.visible_partitions().len(),
            JobScreen::Nodes => self.visible_nodes().len(),
            JobScreen::Detail => self.detail_lines(),
        }
    }

    /// The selected process as a target.
    pub fn selected_target(&self) -> Option<Target> {
        self.visible_procs().get(self.selected).map(|p| Target {
            node: p.node.clone(),
            pid: p.pid,
            name: p.name.clone(),
        })
    }

    /// Tagged processes, or the selected one.
    pub fn targets(&self) -> Vec<Target> {
        if self.tagged.is_empty() {
            return self.selected_target().into_iter().collect();
        }
        self.procs
            .iter()
            .filter(|p| self.tagged.contains(&(p.node.clone(), p.pid)))
            .map(|p| Target {
                node: p.node.clone(),
                pid: p.pid,
                name: p.name.clone(),
            })
            .collect()
    }

    /// Owners of the targets other than the operator.
    pub fn foreign_owners(&self, targets: &[Target]) -> Vec<String> {
        let me = self.login.as_ref().map(|l| l.0.as_str()).unwrap_or("");
        let mut v: Vec<String> = targets
            .iter()
            .filter_map(|t| {
                self.procs
                    .iter()
                    .find(|p| p.node == t.node && p.pid == t.pid)
                    .map(|p| p.user.clone())
            })
            .filter(|u| u != me)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Takes in an event from the link; returns a status-line message, if any.
    pub fn on_event(&mut self, ev: JobEvent) -> Option<(bool, String)> {
        match ev {
            JobEvent::State(s) => {
                match &s {
                    LinkState::LoggedIn(_, user, role) => {
                        self.login = Some((user.clone(), role.clone()));
                        if matches!(self.modal, Some(Modal::Login(_))) {
                            self.modal = None;
                        }
                    }
                    LinkState::Connected(_) => self.login = None,
                    _ => {}
                }
                match &s {
                    LinkState::Down(_) => {
                        self.down_since
                            .get_or_insert_with(crate::aggregator::now_epoch);
                    }
                    LinkState::Connected(_) | LinkState::LoggedIn(..) => self.down_since = None,
                    LinkState::Connecting(_) => {}
                }
                self.state = s;
                None
            }
            JobEvent::Ha(s) => {
                let switched = self
                    .ha
                    .as_ref()
                    .is_some_and(|old| old.name != s.name || old.epoch != s.epoch);
                let msg = switched.then(|| {
                    (
                        true,
                        format!(
                            "{}: the active manager is now {} (epoch {}): {}",
                            self.cluster, s.name, s.epoch, s.why
                        ),
                    )
                });
                self.ha = Some(s);
                msg
            }
            JobEvent::Queue(q) => {
                self.queue = Some(q);
                None
            }
            JobEvent::LoginFailed(why) => {
                if let Some(Modal::Login(d)) = &mut self.modal {
                    d.failed(why.clone());
                }
                Some((true, format!("login failed: {why}")))
            }
            JobEvent::Lists { procs, nodes, jobs } => {
                self.sent_procs = procs;
                self.expanded
                    .retain(|l| self.sent_procs.iter().any(|p| &p.job == l));
                self.unfold();
                self.nodes = nodes;
                self.jobs = jobs;
                // The form checks against, and predicts from, the nodes as they are now.
                if let Some(Modal::Submit(f)) = &mut self.modal {
                    f.nodes = self.nodes.clone();
                }
                let live: BTreeSet<(String, u32)> =
                    self.procs.iter().map(|p| (p.node.clone(), p.pid)).collect();
                self.tagged.retain(|t| live.contains(t));
                let n = self.rows();
                if self.screen != JobScreen::Pager && self.selected >= n {
                    self.selected = n.saturating_sub(1);
                }
                None
            }
            JobEvent::Signalled(results) => {
                let failed = results.iter().filter(|r| r.1.is_err()).count();
                let msg = format!("{} signalled, {failed} failed", results.len() - failed);
                if let Some(Modal::Kill(d)) = &mut self.modal {
                    d.results = Some(results);
                }
                self.tagged.clear();
                Some((failed > 0, msg))
            }
            JobEvent::Migrated(t, r) => {
                let (requeued, what) = match &self.modal {
                    Some(Modal::Migrate(d)) => (
                        d.requeue,
                        d.subject.clone().unwrap_or_else(|| t.to_string()),
                    ),
                    _ => (true, t.to_string()),
                };
                let msg = match &r {
                    Ok((node, 0)) if requeued => {
                        (false, format!("{what} requeued: it restarts on {node}"))
                    }
                    Ok((node, 0)) => (false, format!("{what} pinned: it will start on {node}")),
                    Ok((node, pid)) => (false, format!("{t} now runs on {node} as pid {pid}")),
                    Err(e) => (true, format!("{what} not migrated: {e}")),
                };
                if let Some(Modal::Migrate(d)) = &mut self.modal {
                    d.pending = false;
                    d.result = Some(r);
                }
                Some(msg)
            }
            JobEvent::Submitted(r) => {
                if let Some(Modal::Submit(f)) = &mut self.modal {
                    f.pending = false;
                    if r.is_ok() {
                        self.modal = None;
                        self.screen = JobScreen::Results;
                        self.selected = 0;
                    } else if let Err(e) = &r {
                        f.note = Some(format!("not submitted: {e}"));
                        f.preview = None;
                    }
                }
                Some(match r {
                    Ok(id) => (false, format!("job {id} submitted")),
                    Err(e) => (true, format!("not submitted: {e}")),
                })
            }
            JobEvent::Tail {
                id,
                stream,
                offset,
                next,
                size,
                data,
            } => {
                let p = &mut self.pager;
                if p.id == id && p.stream == stream && offset == p.next {
                    p.append(&data, next, size);
                }
                None
            }
            JobEvent::TailFailed(e) => {
                self.pager.error = Some(e.clone());
                Some((true, e))
            }
            JobEvent::Note(n) => Some((false, n)),
            JobEvent::NodeStates(s) => {
                self.node_states = s.into_iter().map(|(n, st, r)| (n, (st, r))).collect();
                None
            }
            JobEvent::Slurm(v) => {
                self.slurm = Some(v);
                None
            }
            JobEvent::SlurmDone { act, outcomes } => {
                let failed = outcomes.iter().filter(|o| o.1.is_err()).count();
                let first_error = outcomes
                    .iter()
                    .find_map(|(j, r)| r.as_ref().err().map(|e| format!(": {j}: {e}")))
                    .unwrap_or_default();
                let msg = format!(
                    "{act}: {} done, {failed} failed{}",
                    outcomes.len() - failed,
                    first_error.lines().next().unwrap_or("")
                );
                match &mut self.modal {
                    Some(Modal::Slurm(d)) => d.results = Some(outcomes),
                    Some(Modal::Power(d)) => {
                        d.results = Some(outcomes);
                        self.tagged_nodes.clear();
                    }
                    _ => {}
                }
                self.tagged.clear();
                Some((failed > 0, msg))
            }
            JobEvent::SlurmDetail { label, fields } => {
                let err = fields.as_ref().err().cloned();
                self.detail = Some((label.clone(), fields));
                err.map(|e| (true, format!("job {label}: {e}")))
            }
        }
    }

    /// Asks for more of the pager's file (on open, and on ticks while following or while the
    /// file holds more than was read).
    pub fn poll_pager(&self) {
        if self.screen == JobScreen::Pager {
            self.send(crate::jobs::JobCommand::Tail {
                id: self.pager.id,
                stream: self.pager.stream.clone(),
                offset: self.pager.next,
            });
        }
    }
}
