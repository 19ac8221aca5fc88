//! Text handling for what real gmond sends: raw bytes declared ISO-8859-1, broken numeric
//! entities for non-ASCII bytes, and attribute values that are sometimes not escaped at all.

use std::borrow::Cow;

/// Turns a byte stream into UTF-8 for the XML tokenizer. Bytes that form valid UTF-8 are kept
/// (modern configs are written in UTF-8); any other byte is read as ISO-8859-1, the encoding
/// Ganglia declares. Works chunk by chunk: a sequence cut at a chunk end waits for the next one.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// Appends the decoded form of `chunk` to `out`. Returns the positions (indices into `out`)
    /// of bytes that were added by Latin-1 expansion, so offsets can be mapped back.
    pub fn decode_into(&mut self, chunk: &[u8], out: &mut Vec<u8>, added: &mut Vec<usize>) {
        if self.pending.is_empty() && chunk.is_ascii() {
            out.extend_from_slice(chunk);
            return;
        }
        let joined;
        let input: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            let mut v = std::mem::take(&mut self.pending);
            v.extend_from_slice(chunk);
            joined = v;
            &joined
        };
        let mut i = 0;
        while i < input.len() {
            let ascii_run = input[i..]
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(input.len() - i);
            out.extend_from_slice(&input[i..i + ascii_run]);
            i += ascii_run;
            if i >= input.len() {
                break;
            }
            let width = utf8_width(input[i]);
            if width > 1 && i + width > input.len() && continuation_ok(&input[i + 1..]) {
                // Possibly a UTF-8 sequence cut by the chunk boundary.
                self.pending.extend_from_slice(&input[i..]);
                return;
            }
            if width > 1
                && i + width <= input.len()
                && std::str::from_utf8(&input[i..i + width]).is_ok()
            {
                out.extend_from_slice(&input[i..i + width]);
                i += width;
            } else {
                let c = char::from(input[i]);
                let mut buf = [0u8; 2];
                let s = c.encode_utf8(&mut buf);
                out.push(s.as_bytes()[0]);
                added.push(out.len());
                out.push(s.as_bytes()[1]);
                i += 1;
            }
        }
    }

    /// Flushes bytes held back at the end of the stream (read as Latin-1).
    pub fn finish_into(&mut self, out: &mut Vec<u8>, added: &mut Vec<usize>) {
        let rest = std::mem::take(&mut self.pending);
        for b in rest {
            let mut buf = [0u8; 2];
            let s = char::from(b).encode_utf8(&mut buf);
            out.push(s.as_bytes()[0]);
            if s.len() == 2 {
                added.push(out.len());
                out.push(s.as_bytes()[1]);
            }
        }
    }
}

fn utf8_width(b: u8) -> usize {
    match b {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

fn continuation_ok(rest: &[u8]) -> bool {
    rest.iter().all(|b| (0x80..0xC0).contains(b))
}

/// What was not escaped in an attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EscapeFault {
    /// An `&` that starts no entity.
    pub bare_ampersand: bool,
    /// A raw `<` inside the value.
    pub raw_less_than: bool,
}

impl EscapeFault {
    /// How to say it: `unescaped '&' and '<'`.
    pub fn describe(self) -> &'static str {
        match (self.bare_ampersand, self.raw_less_than) {
            (true, true) => "unescaped '&' and '<'",
            (true, false) => "unescaped '&'",
            _ => "unescaped '<'",
        }
    }
}

/// Resolves the five XML entities and numeric references in an attribute value. gmond's broken
/// references for non-ASCII bytes (`&#` + raw byte + `;`) become U+FFFD; a bare `&` or a raw `<`
/// is kept as it is and reported.
pub fn unescape_attr(value: &str) -> (Cow<'_, str>, Option<EscapeFault>) {
    let bytes = value.as_bytes();
    // Values are short: one plain pass beats two memchr calls.
    if !bytes.iter().any(|&b| b == b'&' || b == b'<') {
        return (Cow::Borrowed(value), None);
    }
    let raw_less_than = memchr::memchr(b'<', bytes).is_some();
    let Some(first) = memchr::memchr(b'&', bytes) else {
        let fault = raw_less_than.then(|| EscapeFault {
            raw_less_than,
            ..EscapeFault::default()
        });
        return (Cow::Borrowed(value), fault);
    };
    let mut out = String::with_capacity(value.len());
    out.push_str(&value[..first]);
    let mut bare_ampersand = false;
    let mut rest = &value[first..];
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // An entity is at most a few characters; look for its `;` nearby (up to 12 bytes, cut
        // back to a character boundary: a multi-byte character may straddle the 12th).
        let window = &rest[1..rest.floor_char_boundary(12)];
        match window.find(';') {
            Some(semi) => {
                let body = &window[..semi];
                match resolve_entity(body) {
                    Some(Resolved::Char(c)) => out.push(c),
                    Some(Resolved::Broken) => out.push('\u{FFFD}'),
                    None => {
                        out.push('&');
                        bare_ampersand = true;
                        rest = &rest[1..];
                        continue;
                    }
                }
                rest = &rest[semi + 2..];
            }
            None => {
                out.push('&');
                bare_ampersand = true;
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    let fault = (bare_ampersand || raw_less_than).then_some(EscapeFault {
        bare_ampersand,
        raw_less_than,
    });
    (Cow::Owned(out), fault)
}

enum Resolved {
    Char(char),
    Broken,
}

fn resolve_entity(body: &str) -> Option<Resolved> {
    Some(Resolved::Char(match body {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let num = body.strip_prefix('#')?;
            let code = if let Some(hex) = num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                u32::from_str_radix(hex, 16).ok()
            } else {
                num.parse::<u32>().ok()
            };
            // `&#` followed by anything that is not a number is gmond's broken escape of a
            // non-ASCII byte: the original byte is lost.
            return Some(match code.and_then(char::from_u32) {
                Some(c) if c != '\0' => Resolved::Char(c),
                _ => Resolved::Broken,
            });
        }
    }))
}

/// Escapes text for an XML attribute value, writing every non-ASCII character as a numeric
/// reference so the output is valid whatever encoding the prolog declares.
pub fn escape_attr_into(value: &str, out: &mut Vec<u8>) {
    let bytes = value.as_bytes();
    if !bytes
        .iter()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'') || !b.is_ascii() || *b < 0x20)
    {
        out.extend_from_slice(bytes);
        return;
    }
    for c in value.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\'' => out.extend_from_slice(b"&apos;"),
            c if c.is_ascii() && (c as u32) >= 0x20 => out.push(c as u8),
            c => out.extend_from_slice(format!("&#{};", c as u32).as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> (String, Vec<usize>) {
        let mut d = StreamDecoder::default();
        let mut out = Vec::new();
        let mut added = Vec::new();
        for c in chunks {
            d.decode_into(c, &mut out, &mut added);
        }
        d.finish_into(&mut out, &mut added);
        (String::from_utf8(out).unwrap(), added)
    }

    #[test]
    fn ascii_passes_through() {
        assert_eq!(decode(&[b"abc", b"def"]).0, "abcdef");
    }

    #[test]
    fn latin1_and_utf8_both_decode() {
        // 0xE9 alone is Latin-1 é; C3 A9 is UTF-8 é.
        let (s, added) = decode(&[b"caf\xE9 ", b"caf\xC3\xA9"]);
        assert_eq!(s, "café café");
        assert_eq!(added, vec![4]);
    }

    #[test]
    fn utf8_split_across_chunks() {
        assert_eq!(decode(&[b"x\xC3", b"\xA9y"]).0, "xéy");
        // A lone lead byte at the very end is Latin-1.
        assert_eq!(decode(&[b"x\xC3"]).0, "xÃ");
    }

    #[test]
    fn an_ampersand_near_a_multibyte_character_is_not_cut_inside_it() {
        // Found by the ganglia_xml fuzzer: the `;` search window ended inside the `Ø` (bytes
        // 11 and 12 after the `&`), and slicing there panicked.
        for v in ["&&&&&&&&EL2Ø", "&aaaaaaaaaaØ;x", "&amp;ØØØØØØ&"] {
            let (text, _) = unescape_attr(v);
            assert!(text.contains('Ø'), "{v} -> {text}");
        }
        let (text, fault) = unescape_attr("&&&&&&&&EL2Ø");
        assert_eq!(text, "&&&&&&&&EL2Ø");
        assert!(fault.is_some_and(|f| f.bare_ampersand));
    }

    #[test]
    fn gmond_broken_entities() {
        let raw = decode(&[b"caf&#\xC5;&#\xC09;"]).0;
        let (v, fault) = unescape_attr(&raw);
        assert_eq!(v, "caf\u{FFFD}\u{FFFD}");
        assert_eq!(fault, None);
    }

    #[test]
    fn entities_and_faults() {
        assert_eq!(unescape_attr("a &amp; b").0, "a & b");
        assert_eq!(unescape_attr("&#233;&#x41;").0, "éA");
        let (v, f) = unescape_attr("Title & <x>");
        assert_eq!(v, "Title & <x>");
        assert_eq!(f.map(EscapeFault::describe), Some("unescaped '&' and '<'"));
        let (v, f) = unescape_attr("R&D");
        assert_eq!(v, "R&D");
        assert_eq!(f.map(EscapeFault::describe), Some("unescaped '&'"));
        assert_eq!(unescape_attr("plain").0, "plain");
    }

    #[test]
    fn escape_round_trip() {
        let mut out = Vec::new();
        escape_attr_into("a<b>&\"c' é", &mut out);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s, "a&lt;b&gt;&amp;&quot;c&apos; &#233;");
        assert_eq!(unescape_attr(&s).0, "a<b>&\"c' é");
    }
}
