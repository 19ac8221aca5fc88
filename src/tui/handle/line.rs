//! The line typed at the bottom: `:` commands with completion, and the `/` filter.

use super::*;

impl App {
    pub(super) fn candidates(&self) -> Candidates {
        let mut themes: Vec<String> = Theme::shipped_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        if let Ok(dir) = std::fs::read_dir(&self.theme_dir) {
            for e in dir.flatten() {
                if let Some(stem) = e
                    .path()
                    .file_stem()
                    .filter(|_| e.path().extension().is_some_and(|x| x == "toml"))
                {
                    themes.push(stem.to_string_lossy().into_owned());
                }
            }
        }
        let hosts = match self
            .cluster
            .as_ref()
            .and_then(|c| self.snap.cluster(&c.name))
        {
            Some(cv) => cv
                .cluster
                .hosts
                .iter()
                .map(|h| h.name.to_string())
                .collect(),
            None => self
                .snap
                .clusters()
                .flat_map(|c| c.cluster.hosts.iter().map(|h| h.name.to_string()))
                .take(50_000)
                .collect(),
        };
        Candidates {
            clusters: self
                .snap
                .clusters()
                .map(|c| c.cluster.name.to_string())
                .collect(),
            hosts,
            themes,
        }
    }

    /// Opens the `/` line on the filter of the view in sight.
    pub(super) fn edit_filter(&mut self) {
        let text = self.filter().map(|f| f.text.clone()).unwrap_or_default();
        self.filter_before = self.filter().map(|f| f.text.clone());
        self.mode = Mode::Filter(LineInput {
            text,
            alternatives: Vec::new(),
        });
    }

    pub(super) fn command_key(&mut self, key: KeyEvent) -> Effect {
        let Mode::Command(input) = &mut self.mode else {
            return Effect::None;
        };
        match (key.code, key.modifiers) {
            (KeyCode::Esc, _) => self.mode = Mode::Normal,
            (KeyCode::Enter, _) => {
                let line = std::mem::take(&mut input.text);
                self.mode = Mode::Normal;
                return self.run_command(&line);
            }
            (KeyCode::Tab, _) => {
                let text = input.text.clone();
                let (line, alts) = command::complete(&text, &self.candidates());
                if let Mode::Command(input) = &mut self.mode {
                    input.text = line;
                    input.alternatives = if alts.len() > 1 { alts } else { Vec::new() };
                }
            }
            (KeyCode::Backspace, _) => {
                if input.text.pop().is_none() {
                    self.mode = Mode::Normal;
                }
            }
            (KeyCode::Char('u'), KeyModifiers::CONTROL) => input.text.clear(),
            (KeyCode::Char('c'), KeyModifiers::CONTROL) => self.mode = Mode::Normal,
            (KeyCode::Char(c), m) if !m.contains(KeyModifiers::CONTROL) => {
                input.text.push(c);
                input.alternatives.clear();
            }
            _ => return Effect::None,
        }
        Effect::Redraw
    }

    pub(super) fn filter_key(&mut self, key: KeyEvent) -> Effect {
        let Mode::Filter(input) = &mut self.mode else {
            return Effect::None;
        };
        match (key.code, key.modifiers) {
            (KeyCode::Esc, _) | (KeyCode::Char('c'), KeyModifiers::CONTROL) => {
                let before = self.filter_before.take();
                self.set_filter(before.and_then(|t| Filter::new(&t).ok()));
                self.mode = Mode::Normal;
                self.rebuild();
                return Effect::Redraw;
            }
            (KeyCode::Enter, _) => {
                self.mode = Mode::Normal;
                self.filter_before = None;
                return Effect::Redraw;
            }
            (KeyCode::Backspace, _) => {
                input.text.pop();
            }
            (KeyCode::Char('u'), KeyModifiers::CONTROL) => input.text.clear(),
            (KeyCode::Char(c), m) if !m.contains(KeyModifiers::CONTROL) => input.text.push(c),
            _ => return Effect::None,
        }
        // The filter applies as it is typed.
        let text = input.text.clone();
        if text.is_empty() || text == "!" {
            self.set_filter(None);
            self.message = None;
        } else {
            match Filter::new(&text) {
                Ok(f) => {
                    self.set_filter(Some(f));
                    self.message = None;
                }
                Err(e) => self.complain(e),
            }
        }
        self.rebuild();
        // The host view's table changed: its first row is selected.
        if let Some(mut h) = self.host.take() {
            h.select_first_row(&self.ctx());
            self.host = Some(h);
        }
        Effect::Redraw
    }

    /// `:power up|down NODE…`: opens the power dialog in the Slurm job control in view (or
    /// the only one), on its nodes table; Slurm says what it did, node by node.
    fn power(&mut self, up: bool, nodes: Vec<String>) {
        use crate::tui::jobs::JobScreen;
        use crate::tui::jobs::keys::Outcome;
        if self.read_only {
            self.complain("read-only: nodes are not powered up or down from here");
            return;
        }
        let open = self
            .jobs_open
            .filter(|&i| self.jobs.get(i).is_some_and(|j| j.is_slurm()));
        let slurm: Vec<usize> = (0..self.jobs.len())
            .filter(|&i| self.jobs[i].is_slurm())
            .collect();
        let Some(i) = open.or_else(|| (slurm.len() == 1).then(|| slurm[0])) else {
            self.complain(if slurm.is_empty() {
                "no Slurm job control is configured"
            } else {
                "open the Slurm job control of the cluster first (p), then :power"
            });
            return;
        };
        let j = &mut self.jobs[i];
        if j.link.is_none() {
            self.complain("Slurm job control is not running");
            return;
        }
        if j.screen != JobScreen::Nodes {
            j.screen = JobScreen::Nodes;
            j.selected = 0;
            j.scroll = 0;
            j.filter = None;
        }
        let outcome = j.open_power(up, nodes);
        self.jobs_open = Some(i);
        match outcome {
            Outcome::Say(true, text) => self.complain(text),
            Outcome::Say(false, text) => self.say(text),
            _ => {}
        }
    }

    /// Runs a `:` command, then reads the series views draw if what they show changed.
    pub fn run_command(&mut self, line: &str) -> Effect {
        let e = self.run_command_inner(line);
        self.prepare_graphs();
        e
    }

    pub(super) fn run_command_inner(&mut self, line: &str) -> Effect {
        match command::parse(line) {
            Ok(Command::Grid) => self.to_grid(),
            Ok(Command::Cluster(name)) => {
                if !self.open_cluster(&name) {
                    self.complain(format!("no cluster named '{name}' (Tab completes names)"));
                }
            }
            Ok(Command::Host(name)) => {
                if !self.open_host(&name) {
                    self.complain(format!("no host named '{name}' in any cluster"));
                }
            }
            Ok(Command::Range(r)) => self.set_range(r),
            Ok(Command::Theme(name)) => match Theme::load(&name, &self.theme_dir) {
                Ok(t) => {
                    self.theme = if no_color_requested() {
                        t.without_color()
                    } else {
                        t
                    };
                    self.say(format!("theme {name}"));
                }
                Err(e) => self.complain(e.to_string()),
            },
            Ok(Command::Quit) => return Effect::Quit,
            Ok(Command::Refresh) => return self.act(Action::Refresh),
            Ok(Command::Help) => self.open_help(),
            Ok(Command::Problems) => return self.act(Action::Problems),
            Ok(Command::Events) => return self.act(Action::Events),
            Ok(Command::Power { up, nodes }) => self.power(up, nodes),
            Ok(Command::Top(metric)) => {
                let by = match metric {
                    None => crate::triage::top::TopBy::Load,
                    Some(m) => crate::triage::top::TopBy::Metric(m),
                };
                let p = crate::tui::lists::top::TopList::new(&self.ctx(), by);
                self.panel = Some(Box::new(p));
            }
            Err(e) => self.complain(e),
        }
        Effect::Redraw
    }
}
