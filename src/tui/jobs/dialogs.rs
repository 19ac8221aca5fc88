//! The job-control dialogs' state: login, kill (signal chooser) and migrate.

use ratatui::widgets::{Block, Borders};
use tui_textarea::TextArea;

use crate::cm::proto::NodeInfo;
use crate::jobs::Target;

/// A one-line text field.
pub fn field(placeholder: &str, text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_string()]);
    t.set_placeholder_text(placeholder.to_string());
    t.set_cursor_line_style(ratatui::style::Style::default());
    t.move_cursor(tui_textarea::CursorMove::End);
    t.set_block(Block::default().borders(Borders::NONE));
    t
}

/// The text of a one-line field.
pub fn text(t: &TextArea<'_>) -> String {
    t.lines().first().cloned().unwrap_or_default()
}

/// The login dialog.
pub struct LoginDialog {
    /// User name.
    pub user: TextArea<'static>,
    /// Password, masked.
    pub password: TextArea<'static>,
    /// Keep the password in the OS keyring.
    pub remember: bool,
    /// 0 user, 1 password, 2 remember, 3 log in.
    pub focus: usize,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Waiting for the manager's answer.
    pub pending: bool,
    /// A line from the configuration (the demo's account).
    pub hint: Option<String>,
}

impl LoginDialog {
    /// A dialog with the user name filled in when known.
    pub fn new(user: &str, hint: Option<String>) -> Self {
        let mut password = field("password", "");
        password.set_mask_char('•');
        Self {
            user: field("user name", user),
            password,
            remember: false,
            focus: if user.is_empty() { 0 } else { 1 },
            error: None,
            pending: false,
            hint,
        }
    }
}

/// The kill dialog.
pub struct KillDialog {
    /// Exactly what will be signalled.
    pub targets: Vec<Target>,
    /// Owners that are not the operator (they need the typed confirmation).
    pub foreign: Vec<String>,
    /// Index into [`crate::cm::job::Signal::ALL`] (SIGTERM first).
    pub signal: usize,
    /// 0 signal list, 1 confirmation text, 2 Cancel, 3 Send. Starts on Cancel.
    pub focus: usize,
    /// What must be typed to confirm, when anything.
    pub confirm_word: Option<String>,
    /// The typed confirmation.
    pub confirm: TextArea<'static>,
    /// Per-target outcome once sent.
    pub results: Option<Vec<(Target, Result<(), String>)>>,
    /// A problem with the input.
    pub error: Option<String>,
    /// The backend signals whole jobs, not single processes (Slurm's scancel).
    pub whole_job: bool,
}

impl KillDialog {
    /// A dialog for `targets`; several targets need their count typed, another user's process
    /// its node name.
    pub fn new(targets: Vec<Target>, foreign: Vec<String>) -> Self {
        let confirm_word = if targets.len() > 1 {
            Some(targets.len().to_string())
        } else if !foreign.is_empty() {
            targets.first().map(|t| t.node.clone())
        } else {
            None
        };
        Self {
            targets,
            foreign,
            signal: 0,
            focus: 2,
            confirm_word,
            confirm: field("type to confirm", ""),
            results: None,
            error: None,
            whole_job: false,
        }
    }

    /// Whether Send may go ahead.
    pub fn confirmed(&self) -> bool {
        self.confirm_word
            .as_ref()
            .is_none_or(|w| text(&self.confirm).trim() == w)
    }
}

/// The migrate dialog.
pub struct MigrateDialog {
    /// The process.
    pub target: Target,
    /// Candidate nodes (the source excluded).
    pub nodes: Vec<NodeInfo>,
    /// Selected node.
    pub selected: usize,
    /// Asked to confirm the choice.
    pub confirming: bool,
    /// Sent, waiting.
    pub pending: bool,
    /// The outcome.
    pub result: Option<Result<(String, u32), String>>,
    /// Scheduler node states (Slurm): name → (state words, reason).
    pub states: std::collections::HashMap<String, (String, String)>,
    /// Slurm: migration means requeue (said in the dialog).
    pub requeue: bool,
}

/// Whether a node is too loaded to be a good target (load per CPU over 1).
pub fn overloaded(n: &NodeInfo) -> bool {
    f64::from(n.load1) / f64::from(n.cpus.max(1)) > 1.0
}
