//! Configuration errors that say which file, line and key, so a typo stops Gantry with a
//! message that points at it.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// A configuration problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {reason}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file was read but something in it is wrong.
    #[error("{}:{line}:{column}: {}{message}", file.display(), key.as_ref().map(|k| format!("key '{k}': ")).unwrap_or_default())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key at fault, when known.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

/// The key written on the line of `offset`, if the line is `key = …`.
fn key_on_line(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[start..end];
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

impl ConfigError {
    /// An error at a span of the file's text.
    pub fn at(
        file: &Path,
        text: &str,
        span: Option<Range<usize>>,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        let offset = span.map_or(0, |s| s.start);
        let (line, column) = line_col(text, offset);
        Self::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            key: key.or_else(|| key_on_line(text, offset)),
            message: message.into(),
        }
    }

    /// A TOML or schema error from the `toml` crate.
    pub fn from_toml(file: &Path, text: &str, e: &toml::de::Error) -> Self {
        Self::at(file, text, e.span(), None, e.message().trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_keys() {
        let text = "a = 1\n[x]\nstep = \"fast\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 17), (3, 8));
        let e = ConfigError::at(Path::new("c.toml"), text, Some(17..23), None, "bad");
        assert_eq!(e.to_string(), "c.toml:3:8: key 'step': bad");
    }
}
