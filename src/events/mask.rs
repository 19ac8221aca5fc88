//! Which words of a message are variables. A word that is a number in any notation (decimal,
//! hexadecimal, an address, a time) is a variable whole; in any other word each run of digits
//! is one (`node-246` is `node-<*>`, `(uid=0)` is `(uid=<*>)`), so the word's shape stays
//! part of the template. One set of rules for every source: no per-site or per-program
//! patterns.

/// Longer words are variables whole.
pub const LONGEST_WORD: usize = 100;

/// What a word is, for the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word<'a> {
    /// Kept as it is.
    Text(&'a str),
    /// Its digit runs masked (`node-<*>`); the string is the masked form.
    Shape(String),
    /// A variable whole.
    Var,
}

impl Word<'_> {
    /// Whether the word had digits (a number, or a shape): such words do not route messages
    /// through the tree, since they vary.
    pub fn varies(&self) -> bool {
        !matches!(self, Word::Text(_))
    }
}

/// Whether `w` is a number in some notation: decimal, hexadecimal (`0x1f`, `1b9ae2e0`), an
/// IPv4 or IPv6 address, a time or a date, a MAC address — digits and only the letters and
/// marks such notations use.
fn is_number(w: &str) -> bool {
    let t = w.trim_matches(['(', ')', '[', ']', ',', ';', '"', '\'']);
    let b = t.as_bytes();
    !b.is_empty()
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().all(|c| {
            c.is_ascii_hexdigit() || matches!(c, b'.' | b':' | b'-' | b'+' | b'x' | b'X' | b'/')
        })
}

/// Whether `w` is a path or a URL (quotes and brackets around it aside).
fn is_path(w: &str) -> bool {
    let t = w.trim_start_matches(['(', '[', '"', '\'', '<', '`']);
    t.len() > 1 && t.starts_with('/') && !t.starts_with("//") || w.contains("://")
}

/// `key=value` whose value has digits or is a dotted name (a host, an address): the key
/// stays, the value is a variable.
fn assignment(w: &str) -> Option<&str> {
    let (k, v) = w.split_once('=')?;
    let key = !k.is_empty()
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
    let varies = v.bytes().any(|c| c.is_ascii_digit())
        || v.contains('.') && v.bytes().any(|c| c.is_ascii_alphabetic());
    (key && varies).then_some(k)
}

/// The word as the tree sees it.
pub fn word(w: &str) -> Word<'_> {
    // A word this long is a blob (a key, a hash, an encoded payload), not part of a template.
    if is_path(w) || w.len() > LONGEST_WORD {
        return Word::Var;
    }
    if let Some(k) = assignment(w) {
        return Word::Shape(format!("{k}=<*>"));
    }
    if !w.bytes().any(|c| c.is_ascii_digit()) {
        return Word::Text(w);
    }
    if is_number(w) {
        return Word::Var;
    }
    let mut out = String::with_capacity(w.len());
    let mut in_digits = false;
    for c in w.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push_str("<*>");
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    Word::Shape(out)
}

/// The words of a message: split on whitespace, each classified.
pub fn words(msg: &str) -> impl Iterator<Item = Word<'_>> {
    msg.split_ascii_whitespace().map(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_variables_and_other_words_keep_their_shape() {
        for v in [
            "3",
            "0x1b9ae2e0",
            "10.0.0.1",
            "fe80::1",
            "07:07:00",
            "(3180)",
            "1b9ae2e0",
        ] {
            assert_eq!(word(v), Word::Var, "{v}");
        }
        assert_eq!(word("node-246"), Word::Shape("node-<*>".into()));
        assert_eq!(word("(uid=0)"), Word::Shape("(uid=<*>)".into()));
        assert_eq!(word("LOGIN(uid=0)"), Word::Shape("LOGIN(uid=<*>)".into()));
        assert_eq!(word("failed"), Word::Text("failed"));
        assert_eq!(word("/var/log/x"), Word::Var);
        assert_eq!(word("'/udev/vcsa2'"), Word::Var);
        assert_eq!(
            word("rhost=220-135-151-1.hinet-ip.hinet.net"),
            Word::Shape("rhost=<*>".into())
        );
        assert_eq!(word("tty=NODEVssh"), Word::Text("tty=NODEVssh"));
        assert_eq!(word("rhost=zummit.com"), Word::Shape("rhost=<*>".into()));
        assert!(!word("failed").varies() && word("eth0").varies());
    }
}
