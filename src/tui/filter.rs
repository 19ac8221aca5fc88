//! The `/` filter: a regex over names; a leading `!` inverts it.

use regex::Regex;

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// What the user typed.
    pub text: String,
    regex: Regex,
    invert: bool,
}

impl Filter {
    /// Compiles `text`; an invalid regex gives the regex crate's complaint.
    pub fn new(text: &str) -> Result<Self, String> {
        let (invert, pattern) = match text.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, text),
        };
        let regex = regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                format!(
                    "bad filter: {}",
                    e.to_string().lines().last().unwrap_or("invalid regex")
                )
            })?;
        Ok(Self {
            text: text.to_string(),
            regex,
            invert,
        })
    }

    /// Whether it hides what matches (`!x`) rather than keeping it.
    pub fn inverted(&self) -> bool {
        self.invert
    }

    /// Whether a name passes.
    pub fn keeps(&self, name: &str) -> bool {
        self.regex.is_match(name) != self.invert
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_and_inverse() {
        let f = Filter::new("node0[12]").unwrap();
        assert!(f.keeps("node01") && f.keeps("NODE02") && !f.keeps("node03"));
        let f = Filter::new("!gpu").unwrap();
        assert!(f.keeps("node01") && !f.keeps("gpu7"));
        assert!(Filter::new("(").unwrap_err().starts_with("bad filter"));
    }
}
