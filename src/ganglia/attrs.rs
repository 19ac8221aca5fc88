//! A fast, forgiving attribute scanner. quick-xml's own iterator rejects what real gmond sends
//! (unescaped `&` and `<` in values); this one takes the raw attribute text of a start tag and
//! yields name/value pairs, reporting but surviving anything it cannot read.

/// Calls `f(name, raw_value, offset_of_value)` for each `name="value"` (or single-quoted) pair
/// in `raw`. Returns the offset of the first byte it could not make sense of, if any; pairs
/// before that point have been delivered.
pub fn scan<'a>(raw: &'a str, mut f: impl FnMut(&'a str, &'a str, usize)) -> Result<(), usize> {
    let b = raw.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() || b[i] == b'/' {
            return Ok(());
        }
        let name_start = i;
        // Names are a few bytes long: a plain loop beats a memchr call.
        let Some(eq) = b[i..].iter().position(|&c| c == b'=') else {
            return Err(name_start);
        };
        let name = raw[name_start..i + eq].trim_ascii_end();
        if name.is_empty() || name.bytes().any(|c| c.is_ascii_whitespace() || c == b'"') {
            return Err(name_start);
        }
        i += eq + 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let quote = match b.get(i) {
            Some(q @ (b'"' | b'\'')) => *q,
            _ => return Err(i),
        };
        let value_start = i + 1;
        let Some(len) = memchr::memchr(quote, &b[value_start..]) else {
            return Err(name_start);
        };
        f(name, &raw[value_start..value_start + len], value_start);
        i = value_start + len + 1;
    }
}

/// Reads attributes written in a known order (`NAME="…" VAL="…" …`, as gmond and gmetad always
/// write them) into `out`, returning the rest of the text; `None` when the text is not in that
/// exact shape, so the caller falls back to [`scan`].
pub fn in_order<'a, const N: usize>(
    raw: &'a str,
    keys: [&str; N],
    out: &mut [Option<&'a str>; N],
) -> Option<&'a str> {
    let b = raw.as_bytes();
    let mut i = 0;
    for (k, slot) in keys.iter().zip(out.iter_mut()) {
        if b.get(i) != Some(&b' ') {
            return None;
        }
        i += 1;
        let kb = k.as_bytes();
        if b.get(i..i + kb.len()) != Some(kb)
            || b.get(i + kb.len()..i + kb.len() + 2) != Some(b"=\"")
        {
            return None;
        }
        i += kb.len() + 2;
        let len = memchr::memchr(b'"', &b[i..])?;
        *slot = Some(&raw[i..i + len]);
        i += len + 1;
    }
    Some(&raw[i..])
}

/// Parses an unsigned decimal quickly; `None` for anything else (leading/trailing spaces are
/// tolerated).
pub fn parse_u64(s: &str) -> Option<u64> {
    let t = s.trim();
    if t.is_empty() || t.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for c in t.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

/// Parses a u32 field, clamping larger numbers instead of failing.
pub fn parse_u32(s: &str) -> Option<u32> {
    parse_u64(s).map(|v| v.min(u64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(raw: &str) -> (Vec<(String, String)>, Result<(), usize>) {
        let mut v = Vec::new();
        let r = scan(raw, |n, val, _| v.push((n.to_string(), val.to_string())));
        (v, r)
    }

    #[test]
    fn plain_and_spaced() {
        let (v, r) = all(r#" NAME="a" VAL = 'b c'  TN="3"/"#);
        assert_eq!(r, Ok(()));
        assert_eq!(
            v,
            vec![
                ("NAME".into(), "a".into()),
                ("VAL".into(), "b c".into()),
                ("TN".into(), "3".into())
            ]
        );
    }

    #[test]
    fn unescaped_content_kept() {
        let (v, r) = all(r#"NAME="TITLE" VAL="Title & <x>""#);
        assert_eq!(r, Ok(()));
        assert_eq!(v[1].1, "Title & <x>");
    }

    #[test]
    fn garbage_reports_position() {
        let (v, r) = all(r#"NAME="a" junk"#);
        assert_eq!(v.len(), 1);
        assert_eq!(r, Err(9));
        assert_eq!(all(r#"NAME="unterminated"#).1, Err(0));
        assert_eq!(all("A=b").1, Err(2));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("1795354172"), Some(1795354172));
        assert_eq!(parse_u64(" 7 "), Some(7));
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("99999999999999999999999"), None);
        assert_eq!(parse_u32("99999999999"), Some(u32::MAX));
    }
}
