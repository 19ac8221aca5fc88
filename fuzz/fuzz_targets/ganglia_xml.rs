//! Fuzz target: the Ganglia XML reader (src/ganglia/parse.rs) — plain XML, gzip, or an HTTP
//! answer, as a gmond, a gmetad or a child aggregator sends it.
//!
//! The first byte chooses how the rest is sent: its low bit gzips it first (so the decoder and
//! the XML behind it are both reached), the other bits choose where the stream is cut into
//! reads. Checked:
//!
//! - nothing panics, with the default limits and with small ones (a 4 KiB document, 512-byte
//!   elements), so the paths that cut a document off are reached too;
//! - reading in pieces gives exactly what reading whole gives: the parser's result never
//!   depends on how the network split the bytes. (Except the quote in "not XML": it shows the
//!   first bytes that had arrived when the parser could tell, up to 40 — fewer when they came
//!   one at a time. Both are the same refusal.)

use std::io::Write;

use gantry::ganglia::{Interner, Limits, StreamParser, parse_bytes};

fn in_pieces(bytes: &[u8], cut: usize, limits: Limits) -> String {
    let mut interner = Interner::default();
    let mut p = StreamParser::new(&mut interner, limits);
    for piece in bytes.chunks(cut) {
        if p.feed(piece).is_err() {
            break;
        }
    }
    format!("{:?}", p.finish())
}

fn whole(bytes: &[u8], limits: Limits) -> String {
    let mut interner = Interner::default();
    format!("{:?}", parse_bytes(bytes, &mut interner, limits))
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
        let cut = 1 + usize::from(how >> 1) * 7;
        for limits in [
            Limits::default(),
            Limits {
                max_document_bytes: 4096,
                max_element_bytes: 512,
            },
        ] {
            let a = whole(&sent, limits);
            let b = in_pieces(&sent, cut, limits);
            let not_xml = |r: &str| r.starts_with("Err(NotXml(");
            if !(not_xml(&a) && not_xml(&b)) {
                assert_eq!(a, b, "read in pieces of {cut} bytes, the document differs");
            }
        }
    });
}
