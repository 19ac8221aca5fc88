//! The job submission form: KCMS's fields, each checked as it is typed, a preview of exactly
//! what will be sent, and templates kept in the config directory.

use std::path::{Path, PathBuf};

use tui_textarea::TextArea;

use super::dialogs::{field, text};
use crate::cm::job::{JobClass, JobSpec, LoadMetric};

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Text,
    /// A path that must be given.
    Required,
    /// A whole number.
    Int,
    /// A whole number ≥ 1.
    Count,
    /// A size with optional K/M/G/T.
    Size,
    /// One of several choices.
    Choice(&'static [&'static str]),
}

/// The fields, in KCMS's order.
pub const FIELDS: [(&str, Kind); 15] = [
    ("Job Name", Kind::Text),
    ("Executing File", Kind::Required),
    ("Arguments", Kind::Text),
    (
        "Job Classification",
        Kind::Choice(&["Single", "Batch", "Parallel"]),
    ),
    ("Input File", Kind::Text),
    ("Output File", Kind::Text),
    ("Error Log File", Kind::Text),
    ("Base Directory", Kind::Text),
    ("Priority", Kind::Int),
    ("Memory Size", Kind::Size),
    ("Tasks per Node", Kind::Count),
    ("Total Tasks", Kind::Count),
    ("RSS Limit", Kind::Size),
    ("Restart from Check Point", Kind::Choice(&["no", "yes"])),
    (
        "Load Metric",
        Kind::Choice(&["load average", "CPU run-queue", "load + memory"]),
    ),
];

/// What an empty field says.
const PLACEHOLDERS: [&str; 15] = [
    "optional",
    "path on the shared file system",
    "e.g. -n 4 'input file'",
    "",
    "stdin (optional)",
    "stdout file (optional)",
    "stderr file (optional)",
    "working directory (optional)",
    "",
    "bytes, or 512M, 2G",
    "",
    "",
    "bytes, or 512M, 2G; 0 none",
    "",
    "",
];

/// The form.
pub struct SubmitForm {
    /// Text fields (choices keep their index in `choice`).
    pub inputs: Vec<TextArea<'static>>,
    /// Selected choice per field.
    pub choice: Vec<usize>,
    /// Focused field; `FIELDS.len()` is the Submit button.
    pub focus: usize,
    /// Showing the preview, waiting for a second Enter.
    pub preview: Option<String>,
    /// Sent, waiting for the answer.
    pub pending: bool,
    /// A message (template saved, loaded, …).
    pub note: Option<String>,
    /// Where templates live.
    pub templates: PathBuf,
}

/// Reads `512`, `512K`, `2M`, `1.5G`, `1T` as bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    let (num, mul) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        Some('T') => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 512M, 2G)"))?;
    if v.is_nan() || v < 0.0 {
        return Err(format!("'{s}' is negative"));
    }
    Ok((v * mul as f64) as u64)
}

/// Splits arguments like a shell would for plain words and quotes.
pub fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("an opening quote is never closed".into());
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

impl SubmitForm {
    /// An empty form.
    pub fn new(templates: PathBuf) -> Self {
        let defaults = [
            "", "", "", "", "", "", "", "", "0", "0", "1", "1", "0", "", "",
        ];
        Self {
            inputs: (0..FIELDS.len())
                .map(|i| field(PLACEHOLDERS[i], defaults[i]))
                .collect(),
            choice: vec![0; FIELDS.len()],
            focus: 0,
            preview: None,
            pending: false,
            note: None,
            templates,
        }
    }

    fn value(&self, i: usize) -> String {
        text(&self.inputs[i]).trim().to_string()
    }

    /// The problem with a field, if any.
    pub fn error(&self, i: usize) -> Option<String> {
        let v = self.value(i);
        match FIELDS[i].1 {
            Kind::Required if v.is_empty() => Some("required".into()),
            Kind::Int => v
                .parse::<i32>()
                .err()
                .map(|_| format!("'{v}' is not a whole number")),
            Kind::Count => match v.parse::<u32>() {
                Ok(n) if n >= 1 => None,
                _ => Some(format!("'{v}' must be a whole number, at least 1")),
            },
            Kind::Size => parse_size(&v).err(),
            Kind::Text if i == 2 => split_args(&v).err(),
            _ => None,
        }
        .or_else(|| {
            // Batch and Parallel: the totals must divide sensibly.
            let class = self.choice[3];
            if i == 11 && class > 0 {
                let per: u32 = self.value(10).parse().ok()?;
                let total: u32 = self.value(11).parse().ok()?;
                (total < per).then(|| format!("fewer than the {per} tasks per node"))
            } else {
                None
            }
        })
    }

    /// Every field's problem.
    pub fn errors(&self) -> Vec<(usize, String)> {
        (0..FIELDS.len())
            .filter_map(|i| self.error(i).map(|e| (i, e)))
            .collect()
    }

    /// The job, when every field is valid.
    pub fn spec(&self) -> Result<JobSpec, String> {
        if let Some((i, e)) = self.errors().into_iter().next() {
            return Err(format!("{}: {e}", FIELDS[i].0));
        }
        let opt = |i: usize| Some(self.value(i)).filter(|v| !v.is_empty());
        Ok(JobSpec {
            name: self.value(0),
            exec: self.value(1),
            args: split_args(&text(&self.inputs[2])).unwrap_or_default(),
            class: [JobClass::Single, JobClass::Batch, JobClass::Parallel][self.choice[3]],
            input: opt(4),
            output: opt(5),
            error: opt(6),
            dir: opt(7),
            priority: self.value(8).parse().unwrap_or(0),
            memory: parse_size(&self.value(9)).unwrap_or(0),
            tasks_per_node: self.value(10).parse().unwrap_or(1),
            total_tasks: self.value(11).parse().unwrap_or(1),
            rss_limit: parse_size(&self.value(12)).unwrap_or(0),
            restart: self.choice[13] == 1,
            load_metric: [LoadMetric::Load, LoadMetric::RunQueue, LoadMetric::LoadMem]
                [self.choice[14]],
        })
    }

    /// The number of arguments, as KCMS's form showed it.
    pub fn arg_count(&self) -> usize {
        split_args(&text(&self.inputs[2])).map_or(0, |a| a.len())
    }

    /// Fills the form from a job.
    pub fn load_spec(&mut self, s: &JobSpec) {
        let quote = |a: &String| {
            if a.is_empty() || a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a.clone()
            }
        };
        let vals = [
            s.name.clone(),
            s.exec.clone(),
            s.args.iter().map(quote).collect::<Vec<_>>().join(" "),
            String::new(),
            s.input.clone().unwrap_or_default(),
            s.output.clone().unwrap_or_default(),
            s.error.clone().unwrap_or_default(),
            s.dir.clone().unwrap_or_default(),
            s.priority.to_string(),
            s.memory.to_string(),
            s.tasks_per_node.to_string(),
            s.total_tasks.to_string(),
            s.rss_limit.to_string(),
            String::new(),
            String::new(),
        ];
        for (i, v) in vals.iter().enumerate() {
            self.inputs[i] = field(PLACEHOLDERS[i], v);
        }
        self.choice[3] = match s.class {
            JobClass::Single => 0,
            JobClass::Batch => 1,
            JobClass::Parallel => 2,
        };
        self.choice[13] = usize::from(s.restart);
        self.choice[14] = match s.load_metric {
            LoadMetric::Load => 0,
            LoadMetric::RunQueue => 1,
            LoadMetric::LoadMem => 2,
        };
    }

    /// Saves the form as a template named after the job.
    pub fn save_template(&mut self) -> Result<PathBuf, String> {
        let spec = self.spec()?;
        let name: String = if spec.name.is_empty() {
            "job".into()
        } else {
            spec.name.clone()
        }
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
        std::fs::create_dir_all(&self.templates).map_err(|e| e.to_string())?;
        let path = self.templates.join(format!("{name}.job"));
        std::fs::write(&path, spec.to_fields().join("\n") + "\n")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    /// Loads the next template after the current job name, alphabetically.
    pub fn load_next_template(&mut self) -> Result<PathBuf, String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.templates)
            .map_err(|_| format!("no templates in {}", self.templates.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "job"))
            .collect();
        files.sort();
        let current = self.value(0);
        let next = files
            .iter()
            .find(|p| stem(p) > current)
            .or_else(|| files.first())
            .cloned()
            .ok_or_else(|| format!("no templates in {}", self.templates.display()))?;
        let text = std::fs::read_to_string(&next).map_err(|e| e.to_string())?;
        let fields: Vec<String> = text.lines().map(str::to_string).collect();
        let spec = JobSpec::from_fields(&fields).map_err(|e| format!("{}: {e}", next.display()))?;
        self.load_spec(&spec);
        Ok(next)
    }
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_arguments() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size(""), Ok(0));
        assert!(parse_size("lots").is_err());
        assert_eq!(
            split_args(r#"-n 4 "a b" '' x"#).unwrap(),
            vec!["-n", "4", "a b", "", "x"]
        );
        assert!(split_args("'open").is_err());
    }

    #[test]
    fn validation_preview_and_templates_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = SubmitForm::new(dir.path().join("templates"));
        assert_eq!(f.errors(), vec![(1, "required".to_string())]);
        f.inputs[1] = field("", "/bin/solver");
        f.inputs[2] = field("", "-n 4 'in put'");
        f.inputs[10] = field("", "0");
        assert_eq!(f.errors().len(), 1);
        f.inputs[10] = field("", "2");
        f.inputs[9] = field("", "2G");
        f.choice[3] = 1;
        f.inputs[11] = field("", "8");
        let spec = f.spec().unwrap();
        assert_eq!(spec.args, vec!["-n", "4", "in put"]);
        assert_eq!(spec.memory, 2 << 30);
        assert_eq!(f.arg_count(), 3);
        f.inputs[0] = field("", "nightly run");
        let saved = f.save_template().unwrap();
        assert!(saved.ends_with("nightly_run.job"));
        let mut g = SubmitForm::new(dir.path().join("templates"));
        g.load_next_template().unwrap();
        assert_eq!(g.spec().unwrap(), f.spec().unwrap());
    }
}
