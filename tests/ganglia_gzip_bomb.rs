//! A small gzip answer that inflates far past the size limit is cut off with the limit's error
//! while the parser's memory stays near the limit: every allocation of this test binary is
//! counted, so the peak is exact (one test in this binary, nothing else allocating alongside).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use gantry::ganglia::{Interner, Limits, ParseError, StreamParser};

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = NOW.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        NOW.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn a_gzip_bomb_is_cut_off_at_the_limit_with_bounded_memory() {
    // 64 MB of hosts in a ~100 KB gzip answer, against a 1 MiB limit.
    let host = b"<HOST NAME=\"n\" IP=\"10.0.0.1\" REPORTED=\"1\" TN=\"1\" TMAX=\"20\" DMAX=\"0\">\n<METRIC NAME=\"load_one\" VAL=\"0.5\" TYPE=\"float\" UNITS=\"\" TN=\"1\" TMAX=\"70\" DMAX=\"0\" SLOPE=\"both\" SOURCE=\"gmond\"/>\n</HOST>\n";
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(
        b"<GANGLIA_XML VERSION=\"3.7.2\" SOURCE=\"gmond\">\n<CLUSTER NAME=\"c\" LOCALTIME=\"1\">\n",
    )
    .unwrap();
    let block = host.repeat(4096);
    let mut written = 0;
    while written < 64 * 1024 * 1024 {
        enc.write_all(&block).unwrap();
        written += block.len();
    }
    let bomb = enc.finish().unwrap();
    drop(block);
    assert!(bomb.len() < 1024 * 1024, "{} bytes compressed", bomb.len());

    let limit = 1024 * 1024;
    let before = NOW.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut interner = Interner::default();
    let mut p = StreamParser::new(
        &mut interner,
        Limits {
            max_document_bytes: limit,
            ..Limits::default()
        },
    );
    // The whole answer in one read, as a fast source would deliver it.
    assert_eq!(p.feed(&bomb), Err(ParseError::TooLarge { limit }));
    let parsed = p.finish().unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(parsed.xml_bytes, limit);
    assert!(parsed.truncated.is_some());
    // The document held (1 MiB of XML, parsed) plus one decoded slice, not 64 MB.
    assert!(peak < 24 * 1024 * 1024, "peak {peak} bytes");
}
