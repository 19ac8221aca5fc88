//! Fuzz target: the Ganglia XML reader (src/ganglia/parse.rs) — plain XML, gzip, or an HTTP
//! answer, as a gmond, a gmetad or a child aggregator sends it.
//!
//! The first byte chooses how the rest is sent: its low bit gzips it first (so the decoder and
//! the XML behind it are both reached), the six high bits where the stream is cut into reads. Checked:
//!
//! - nothing panics, with the default limits and with small ones (a 4 KiB document, 512-byte
//!   elements; the second bit of the first byte chooses), so the paths that cut a document
//!   off are reached too;
//! - reading in pieces gives exactly what reading whole gives: the parser's result never
//!   depends on how the network split the bytes. (Except the quote in "not XML": it shows the
//!   first bytes that had arrived when the parser could tell, up to 40 — fewer when they came
//!   one at a time. Both are the same refusal.)

use std::io::Write;

use gantry::ganglia::{Interner, Limits, ParseError, Parsed, StreamParser, parse_bytes};

fn in_pieces(bytes: &[u8], cut: usize, limits: Limits) -> Result<Parsed, ParseError> {
    let mut interner = Interner::default();
    let mut p = StreamParser::new(&mut interner, limits);
    for piece in bytes.chunks(cut) {
        if p.feed(piece).is_err() {
            break;
        }
    }
    p.finish()
}

fn whole(bytes: &[u8], limits: Limits) -> Result<Parsed, ParseError> {
    let mut interner = Interner::default();
    parse_bytes(bytes, &mut interner, limits)
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&how, rest)) = data.split_first() else {
            return;
        };
        let sent = if how & 1 == 1 {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = enc.write_all(rest);
            enc.finish().unwrap_or_default()
        } else {
            rest.to_vec()
        };
        // One set of limits per input (the second bit), so each execution parses twice, not
        // four times: the fuzzer reaches both by flipping the bit.
        let limits = if how & 2 == 0 {
            Limits::default()
        } else {
            Limits {
                max_document_bytes: 4096,
                max_element_bytes: 512,
            }
        };
        let cut = 1 + usize::from(how >> 2) * 13;
        let a = whole(&sent, limits);
        let mut b = in_pieces(&sent, cut, limits);
        // Past the size limit or corrupt gzip data, reading whole was handed every byte,
        // reading in pieces stopped being handed them: only the count of bytes received may
        // differ.
        if let (Ok(x), Ok(y)) = (&a, &mut b)
            && x.truncated
                .as_deref()
                .is_some_and(|t| t.contains("-byte limit") || t.contains("corrupt gzip data"))
        {
            y.wire_bytes = x.wire_bytes;
        }
        let not_xml = |r: &Result<Parsed, ParseError>| matches!(r, Err(ParseError::NotXml(_)));
        // Compared by value, then by text where values differ (a NaN is never equal to
        // itself, but prints the same).
        if !(not_xml(&a) && not_xml(&b)) && a != b && format!("{a:?}") != format!("{b:?}") {
            panic!("read in pieces of {cut} bytes, the document differs:\n{a:?}\n{b:?}");
        }
    });
}
