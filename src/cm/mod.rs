//! Job control: the central-manager protocol (docs/protocol.md), its codec, the reference
//! manager (`gantry cm`) and node agent (`gantry agent`), and the console's client.

pub mod account;
pub mod agent;
pub mod client;
pub mod codec;
pub mod job;
pub mod link;
pub mod manager;
pub mod proto;
#[cfg(test)]
mod proto_tests;
pub mod store;
pub mod tls;
pub mod users;

/// Text a client or an agent sent, made safe for a log line: control characters (a newline
/// that would forge a line, an escape sequence) are shown escaped.
pub fn esc(s: &str) -> impl std::fmt::Display + '_ {
    struct Esc<'a>(&'a str);
    impl std::fmt::Display for Esc<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            for c in self.0.chars() {
                // Control characters, line and paragraph separators, bidirectional overrides,
                // and the quotes and backslash a line's own fields are written with.
                let unsafe_char = c.is_control()
                    || matches!(c, '\'' | '"' | '\\' | '\u{2028}' | '\u{2029}')
                    || ('\u{200b}'..='\u{200f}').contains(&c)
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c);
                if unsafe_char {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    f.write_str(c.encode_utf8(&mut [0; 4]))?;
                }
            }
            Ok(())
        }
    }
    Esc(s)
}

/// A chunk of a text file as text: when it ends inside a UTF-8 character (the rest is in the
/// next chunk), those last bytes are left for the next read; other bad bytes become U+FFFD.
/// Returns the text and how many bytes it consumed.
pub fn text_chunk(data: &[u8], at_end: bool) -> (String, usize) {
    match std::str::from_utf8(data) {
        Ok(s) => (s.to_string(), data.len()),
        Err(e) if e.error_len().is_none() && !at_end => {
            let cut = e.valid_up_to();
            (String::from_utf8_lossy(&data[..cut]).into_owned(), cut)
        }
        Err(_) => (String::from_utf8_lossy(data).into_owned(), data.len()),
    }
}

#[cfg(test)]
mod text_chunk_tests {
    #[test]
    fn a_character_split_between_reads_is_kept_whole() {
        let bytes = "grüße".as_bytes();
        let (a, used) = super::text_chunk(&bytes[..3], false); // "gr" + half of ü
        assert_eq!((a.as_str(), used), ("gr", 2));
        let (b, used2) = super::text_chunk(&bytes[used..], true);
        assert_eq!(format!("{a}{b}"), "grüße");
        assert_eq!(used + used2, bytes.len());
        // At the end of the file a cut character is shown as what it is: broken.
        assert_eq!(super::text_chunk(&bytes[..3], true).0, "gr\u{fffd}");
        assert_eq!(super::text_chunk(b"a\xffb", false).0, "a\u{fffd}b");
    }
}
