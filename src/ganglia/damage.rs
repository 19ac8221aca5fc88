//! Reports of what was wrong with a document and how it was repaired.

use std::fmt;

/// Most damage entries kept per document; the rest are only counted.
const MAX_ENTRIES: usize = 32;

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset in the document as received (after HTTP headers and gzip).
    pub offset: u64,
    /// What was wrong and where in the tree.
    pub message: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
    }
}

/// A bounded log of damage: the first entries in full, then a count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DamageLog {
    /// The first problems, in document order.
    pub entries: Vec<Damage>,
    /// All problems, including those not kept.
    pub total: usize,
}

impl DamageLog {
    /// Whether another full entry would be kept.
    pub fn wants_more(&self) -> bool {
        self.entries.len() < MAX_ENTRIES
    }

    /// Records a problem.
    pub fn push(&mut self, offset: u64, message: String) {
        self.total += 1;
        if self.wants_more() {
            self.entries.push(Damage { offset, message });
        }
    }

    /// Counts a problem without keeping its text.
    pub fn count_only(&mut self) {
        self.total += 1;
    }

    /// No problems at all.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// One line for status displays: the first problem and how many more.
    pub fn summary(&self) -> Option<String> {
        let first = self.entries.first()?;
        Some(if self.total > 1 {
            format!("{first} (and {} more)", self.total - 1)
        } else {
            first.to_string()
        })
    }
}
