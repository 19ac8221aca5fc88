//! The `:` command line: `:grid`, `:cluster NAME`, `:host NAME`, `:problems`, `:top [METRIC]`,
//! `:range day`, `:theme NAME`, `:q`, with completion of command words and names.

use crate::history::Range;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Back to the grid.
    Grid,
    /// Open a cluster.
    Cluster(String),
    /// Open a host (searched in every cluster; `cluster/host` to be exact).
    Host(String),
    /// Change the graph range.
    Range(Range),
    /// Change the theme.
    Theme(String),
    /// Leave.
    Quit,
    /// Poll now.
    Refresh,
    /// Help.
    Help,
    /// The problems view.
    Problems,
    /// The hottest hosts, by load or by a named metric.
    Top(Option<String>),
    /// The log events (of the host in view, as `E`).
    Events,
    /// Power Slurm nodes up or down.
    Power {
        /// Up, else down.
        up: bool,
        /// The nodes.
        nodes: Vec<String>,
    },
}

/// Command words, for completion and the error message.
pub const WORDS: &[&str] = &[
    "grid", "cluster", "host", "problems", "top", "events", "power", "range", "theme", "refresh",
    "help", "quit", "q",
];

/// Parses a command line (without the leading `:`).
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (word, arg) = match line.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (line, ""),
    };
    let need = |what: &str| {
        if arg.is_empty() {
            Err(format!(":{word} needs a {what}"))
        } else {
            Ok(arg.to_string())
        }
    };
    Ok(match word {
        "grid" | "g" | "monitor" => Command::Grid,
        "cluster" | "c" => Command::Cluster(need("cluster name")?),
        "host" | "h" => Command::Host(need("host name")?),
        "range" | "r" => Command::Range(arg.parse()?),
        "theme" => Command::Theme(need("theme name")?),
        "refresh" | "poll" => Command::Refresh,
        "help" => Command::Help,
        "problems" | "p" => Command::Problems,
        "top" => Command::Top((!arg.is_empty()).then(|| arg.to_string())),
        "events" | "e" => Command::Events,
        "power" => {
            let mut words = arg.split_whitespace();
            let up = match words.next() {
                Some("up") => true,
                Some("down") => false,
                _ => return Err(":power up|down NODE… (Slurm's power saving)".into()),
            };
            let nodes: Vec<String> = words.map(str::to_string).collect();
            if nodes.is_empty() {
                return Err(":power up|down needs the nodes".into());
            }
            Command::Power { up, nodes }
        }
        "q" | "quit" | "q!" => Command::Quit,
        "" => return Err("empty command".into()),
        other => {
            return Err(format!(
                "unknown command ':{other}' (try {})",
                WORDS
                    .iter()
                    .map(|w| format!(":{w}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
    })
}

/// Names completion may offer.
#[derive(Debug, Default, Clone)]
pub struct Candidates {
    /// Cluster names.
    pub clusters: Vec<String>,
    /// Host names.
    pub hosts: Vec<String>,
    /// Theme names.
    pub themes: Vec<String>,
}

/// Completes the last word of `line`: returns the completed line and the alternatives.
pub fn complete(line: &str, c: &Candidates) -> (String, Vec<String>) {
    let (word, arg) = match line.split_once(' ') {
        Some((w, a)) => (w, Some(a)),
        None => (line, None),
    };
    let (pool, prefix, head): (Vec<&str>, &str, String) = match arg {
        None => (WORDS.to_vec(), word, String::new()),
        Some(a) => {
            let pool: Vec<&str> = match word {
                "cluster" | "c" => c.clusters.iter().map(String::as_str).collect(),
                "host" | "h" => c.hosts.iter().map(String::as_str).collect(),
                "range" | "r" => Range::ALL.iter().map(|r| r.as_str()).collect(),
                "theme" => c.themes.iter().map(String::as_str).collect(),
                _ => Vec::new(),
            };
            (pool, a, format!("{word} "))
        }
    };
    let mut matches: Vec<String> = pool
        .iter()
        .filter(|p| p.starts_with(prefix))
        .map(|s| s.to_string())
        .collect();
    matches.sort();
    matches.dedup();
    let completed = match matches.as_slice() {
        [] => line.to_string(),
        [one] => format!("{head}{one}{}", if arg.is_none() { " " } else { "" }),
        many => {
            let common = common_prefix(many);
            format!(
                "{head}{}",
                if common.len() > prefix.len() {
                    common
                } else {
                    prefix.to_string()
                }
            )
        }
    };
    (completed, matches)
}

fn common_prefix(v: &[String]) -> String {
    let first = &v[0];
    let mut n = first.len();
    for s in &v[1..] {
        n = n.min(
            first
                .bytes()
                .zip(s.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first[..n].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("grid"), Ok(Command::Grid));
        assert_eq!(parse("cluster alpha"), Ok(Command::Cluster("alpha".into())));
        assert_eq!(parse("range day"), Ok(Command::Range(Range::Day)));
        assert_eq!(parse("q"), Ok(Command::Quit));
        assert!(
            parse("range fortnight")
                .unwrap_err()
                .contains("unknown range")
        );
        assert!(
            parse("cluster")
                .unwrap_err()
                .contains("needs a cluster name")
        );
        assert!(
            parse("fly")
                .unwrap_err()
                .starts_with("unknown command ':fly'")
        );
    }

    #[test]
    fn completes_words_and_names() {
        let c = Candidates {
            clusters: vec!["alpha".into(), "alphabet".into(), "beta".into()],
            hosts: vec!["node01".into()],
            themes: vec!["dark".into()],
        };
        assert_eq!(complete("cl", &c).0, "cluster ");
        let (line, alts) = complete("cluster al", &c);
        assert_eq!(line, "cluster alpha");
        assert_eq!(alts, ["alpha", "alphabet"]);
        assert_eq!(complete("cluster b", &c).0, "cluster beta");
        assert_eq!(complete("range w", &c).0, "range week");
        assert_eq!(complete("host zz", &c), ("host zz".into(), vec![]));
    }
}
