//! One syslog message as received: RFC 5424 or RFC 3164 (the `syslog_loose` crate reads
//! both), or a line that is neither, kept whole as a raw message — never dropped.

use std::net::IpAddr;

use syslog_loose::{Variant, parse_message_with_year_exact};

/// The longest message kept; longer ones are cut (and counted by the receiver).
pub const MAX_MESSAGE: usize = 8 * 1024;

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The host it names (the header's), else the sender's address.
    pub host: String,
    /// The program (`sshd`), when the header says.
    pub app: String,
    /// Severity 0 (emergency) … 7 (debug), when the header says.
    pub severity: Option<u8>,
    /// Facility 0 … 23, when the header says.
    pub facility: Option<u8>,
    /// Epoch seconds of the header's timestamp, when it has one.
    pub time: Option<i64>,
    /// The message itself, control characters made spaces.
    pub text: String,
    /// Not a syslog message: `text` is the whole line.
    pub raw: bool,
}

/// Text fit to keep and show: control characters (escapes, bells, NULs) become spaces, and
/// it is cut at [`MAX_MESSAGE`] bytes on a character boundary.
fn printable(s: &str) -> String {
    printable_within(s, MAX_MESSAGE)
}

/// Characters that change how text around them is shown without being seen: bidirectional
/// overrides and isolates, zero-width characters, the byte-order mark.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// [`printable`] cut at `max` bytes.
pub fn printable_within(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| !invisible(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > max {
        let mut end = max;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out.trim().to_string()
}

/// Longest host name kept (a DNS name has at most 253 characters).
pub const MAX_HOST: usize = 255;
/// Longest program name kept (RFC 5424's APP-NAME has at most 48).
pub const MAX_APP: usize = 48;

/// Reads one message (a datagram or a frame) sent from `from`, in `year` for RFC 3164 dates.
pub fn parse(bytes: &[u8], from: IpAddr, year: i32) -> Received {
    let line = String::from_utf8_lossy(bytes);
    let line = line.trim_end_matches(['\n', '\r', '\0']);
    let sender = from.to_string();
    match parse_message_with_year_exact(line, |_| year, Variant::Either) {
        Ok(m) => Received {
            host: m
                .hostname
                .filter(|h| !h.is_empty() && *h != "-")
                .map_or(sender, |h| printable_within(h, MAX_HOST)),
            app: m
                .appname
                .map(|a| printable_within(a, MAX_APP))
                .unwrap_or_default(),
            severity: m.severity.map(|s| s as u8),
            facility: m.facility.map(|f| f as u8),
            time: m.timestamp.map(|t| t.timestamp()),
            text: printable(m.msg),
            raw: false,
        },
        Err(_) => Received {
            host: sender,
            app: String::new(),
            severity: None,
            facility: None,
            time: None,
            text: printable(line),
            raw: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn both_formats_and_raw_lines() {
        let r = parse(
            b"<34>Oct 11 22:14:15 node7 su: 'su root' failed for lonvick on /dev/pts/8\n",
            FROM,
            2026,
        );
        assert_eq!(
            (
                r.host.as_str(),
                r.app.as_str(),
                r.severity,
                r.facility,
                r.raw
            ),
            ("node7", "su", Some(2), Some(4), false)
        );
        assert_eq!(r.text, "'su root' failed for lonvick on /dev/pts/8");
        let r = parse(
            b"<165>1 2026-12-03T02:10:00.003Z node9 sshd 4242 ID47 [exampleSDID@32473 iut=\"3\"] Accepted password for root",
            FROM,
            2026,
        );
        assert_eq!(
            (r.host.as_str(), r.app.as_str(), r.severity),
            ("node9", "sshd", Some(5))
        );
        assert_eq!(r.text, "Accepted password for root");
        assert_eq!(r.time, Some(1_796_263_800));
        // Not syslog at all: kept whole, from the sender.
        let r = parse(b"\x1b[2Jhello world", FROM, 2026);
        assert!(r.raw, "{r:?}");
        assert_eq!(
            (r.host.as_str(), r.text.as_str()),
            ("127.0.0.1", "[2Jhello world")
        );
        let long = vec![b'x'; MAX_MESSAGE * 2];
        assert_eq!(parse(&long, FROM, 2026).text.len(), MAX_MESSAGE);
    }
}
