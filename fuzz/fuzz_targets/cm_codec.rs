//! Fuzz target: the central manager's line codec (src/cm/codec.rs, docs/protocol.md §1).
//!
//! The input is one line as it could arrive from the network (without its newline, but the
//! fuzzer may put newlines anywhere). Checked:
//!
//! - `decode` never panics, with the protocol's field limit or a small one;
//! - a decoded frame survives `encode` → `decode` unchanged, and its encoding contains no raw
//!   line break (one message is one line);
//! - a smaller field limit only ever refuses more: what decodes under it decodes the same
//!   under `MAX_FIELD`, and no field is over it;
//! - `LineBuffer` yields the same items however the byte stream is cut into reads (TCP may cut
//!   anywhere), never a line over its limit, and exactly what a plain split at `\n` predicts;
//!   `compact` between reads, as `link::LineReader` calls it, changes nothing of that, and
//!   `set_max_line` after the first item applies to every later line.

use gantry::cm::codec::{self, Frame, Item, LineBuffer, MAX_FIELD};

/// The line limits `LineBuffer` is checked with, small so over-long lines are common: the
/// limit for the first item, then the one `set_max_line` sets once that item is taken (as the
/// manager raises it once an agent has registered).
const LINE_LIMITS: [(usize, usize); 5] = [(1, 1), (8, 8), (40, 40), (8, 40), (40, 1)];
/// The limits the large reads are checked with: one raised after the first item, one lowered.
const LARGE_LIMITS: [(usize, usize); 2] = [(8, 40), (40, 1)];
/// Small read sizes the first bytes of the stream are cut into.
const SMALL_CHUNKS: [usize; 3] = [1, 3, 16];
/// Large read sizes the whole stream is cut into: reads over 4 KiB leave a buffer `compact`
/// gives back; `usize::MAX` is the whole input in one read.
const LARGE_CHUNKS: [usize; 2] = [5000, usize::MAX];

fn check_round_trip(data: &[u8]) -> Option<Frame> {
    let frame = codec::decode(data, MAX_FIELD).ok()?;
    let line = codec::encode(&frame);
    assert!(
        !line.contains(['\n', '\r']),
        "encode wrote a raw line break: {line:?} from {frame:?}"
    );
    let again = codec::decode(line.as_bytes(), MAX_FIELD).unwrap_or_else(|e| {
        panic!(
            "the encoding of a decoded frame does not decode: {e}\nline {line:?}\nframe {frame:?}"
        )
    });
    assert_eq!(
        again, frame,
        "encode/decode changed the frame; line {line:?}"
    );
    // Hence encoding is stable: writing the re-read frame gives the same line.
    assert_eq!(codec::encode(&again), line);
    Some(frame)
}

fn check_small_limit(data: &[u8], full: Option<&Frame>) {
    // The first byte picks a small field limit (0–63) so the TooLong path is reached.
    let Some(&first) = data.first() else { return };
    let limit = usize::from(first % 64);
    if let Ok(frame) = codec::decode(data, limit) {
        for field in frame.records.iter().flatten() {
            assert!(
                field.len() <= limit,
                "field of {} bytes passed a limit of {limit}: {field:?}",
                field.len()
            );
        }
        assert_eq!(
            Some(&frame),
            full,
            "decoding under a limit of {limit} differs from decoding under MAX_FIELD"
        );
    }
}

/// What a `LineBuffer` must yield for `data`: every complete line (ended by `\n`) as itself,
/// or `TooLong` when over the limit; a last, unended piece only when it is already over the
/// limit (as `TooLong`, once). Each line makes one item, so the first line is judged by `first`
/// and the others by `then`.
fn expected_items(data: &[u8], (first, then): (usize, usize)) -> Vec<Item> {
    let mut pieces: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let rest = pieces.pop().unwrap_or_default();
    let limit = |i: usize| if i == 0 { first } else { then };
    let mut out: Vec<Item> = pieces
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if l.len() > limit(i) {
                Item::TooLong
            } else {
                Item::Line(l.to_vec())
            }
        })
        .collect();
    if rest.len() > limit(pieces.len()) {
        out.push(Item::TooLong);
    }
    out
}

fn line_buffer_items(data: &[u8], (first, then): (usize, usize), chunk: usize) -> Vec<Item> {
    let mut buf = LineBuffer::new(first);
    let mut limit = first;
    let mut out = Vec::new();
    for piece in data.chunks(chunk.min(data.len()).max(1)) {
        // As `link::LineReader` does before each read once no item is pending.
        buf.compact();
        buf.extend(piece);
        while let Some(item) = buf.next_item() {
            if let Item::Line(l) = &item {
                assert!(
                    l.len() <= limit,
                    "LineBuffer({limit}) yielded a line of {} bytes (reads of {chunk})",
                    l.len()
                );
                assert!(
                    !l.contains(&b'\n'),
                    "LineBuffer yielded a line with a newline"
                );
            }
            out.push(item);
            if out.len() == 1 {
                buf.set_max_line(then);
                limit = then;
            }
        }
    }
    out
}

fn check_line_buffer(data: &[u8]) {
    // The limits are tiny, so the first 256 bytes show every case in small reads, and the first
    // 6,000 (one read over 4 KiB and the rest) the large ones. Longer inputs would only slow the
    // fuzzer down: `next_item` moves the rest of the buffer for every line it takes, so a big
    // read of many short lines costs lines × bytes.
    let head = &data[..data.len().min(256)];
    let large = &data[..data.len().min(6000)];
    let small_runs = LINE_LIMITS.map(|limits| (limits, head, &SMALL_CHUNKS[..]));
    let large_runs = LARGE_LIMITS.map(|limits| (limits, large, &LARGE_CHUNKS[..]));
    for (limits, bytes, chunks) in small_runs.into_iter().chain(large_runs) {
        let expected = expected_items(bytes, limits);
        for &chunk in chunks {
            let got = line_buffer_items(bytes, limits, chunk);
            assert_eq!(
                got,
                expected,
                "LineBuffer with limits {limits:?} fed {} bytes in reads of {chunk}",
                bytes.len()
            );
        }
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let full = check_round_trip(data);
        check_small_limit(data, full.as_ref());
        check_line_buffer(data);
    });
}
