//! The streaming parser: bytes in (plain, gzip or an HTTP answer), a [`Document`] out, with a
//! report of every repair. Memory stays bounded whatever the input: bytes are parsed as they
//! arrive and only an unfinished element is carried between chunks.

use std::io::Write;

use quick_xml::errors::{Error as XmlError, SyntaxError};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::builder::TreeBuilder;
use super::damage::DamageLog;
use super::intern::Interner;
use super::text::StreamDecoder;
use crate::model::Document;

/// Limits that keep a hostile or broken peer from exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted (decompressed bytes); the rest is cut off with an error.
    pub max_document_bytes: u64,
    /// Longest single element; a longer one is reported and skipped.
    pub max_element_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 512 * 1024 * 1024,
            max_element_bytes: 1024 * 1024,
        }
    }
}

/// Why a document could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing arrived.
    #[error("empty answer: the peer closed the connection without sending anything")]
    Empty,
    /// An HTTP answer other than 200.
    #[error("HTTP answer '{0}' instead of 200 OK")]
    HttpStatus(String),
    /// HTTP headers that never end.
    #[error("HTTP headers longer than 64 KiB")]
    HttpHeaders,
    /// Something that is not XML.
    #[error("not a Ganglia XML document (it starts with {0:?})")]
    NotXml(String),
    /// The document grew past the limit and was cut off.
    #[error("document larger than the limit of {limit} bytes; cut off")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Corrupt gzip data.
    #[error("corrupt gzip data after {offset} compressed bytes: {reason}")]
    Gzip {
        /// Compressed bytes read before the fault.
        offset: u64,
        /// The decompressor's complaint.
        reason: String,
    },
}

/// A parsed document with its report.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// What could be read.
    pub document: Document,
    /// Bytes received on the wire (compressed size for gzip).
    pub wire_bytes: u64,
    /// Bytes of XML after decompression.
    pub xml_bytes: u64,
    /// Whether the body was gzip.
    pub gzip: bool,
    /// Repairs made while reading.
    pub damage: DamageLog,
    /// Set when the document ended early (truncated or cut off at the size limit).
    pub truncated: Option<String>,
}

impl Parsed {
    /// Read completely, with no repairs.
    pub fn is_clean(&self) -> bool {
        self.damage.is_empty() && self.truncated.is_none()
    }
}

/// Parses a complete document held in memory.
pub fn parse_bytes(
    bytes: &[u8],
    interner: &mut Interner,
    limits: Limits,
) -> Result<Parsed, ParseError> {
    let mut p = StreamParser::new(interner, limits);
    // A too-large document still yields what was read before the limit.
    let _ = p.feed(bytes);
    p.finish()
}

/// How many decoded bytes to collect before running the tokenizer.
const PARSE_BATCH: usize = 64 * 1024;
const MAX_HTTP_HEADERS: usize = 64 * 1024;
/// Compressed bytes decoded at a time, in blocks at fixed offsets of the compressed stream: at
/// most ~8 MB of XML each, whatever the ratio, and what the decoder makes of them (and where it
/// fails) never depends on how the reads were cut.
const GZIP_BLOCK: usize = 8 * 1024;

enum Stage {
    /// Looking at the first bytes to tell HTTP, gzip and plain XML apart.
    Sniff(Vec<u8>),
    /// Collecting HTTP headers.
    Http(Vec<u8>),
    /// Looking at the first bytes of an HTTP answer's body to tell gzip and plain XML apart
    /// (another HTTP header here is not XML, however the reads were cut).
    BodySniff(Vec<u8>),
    /// Plain XML.
    Plain,
    /// gzip-compressed XML.
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
}

/// Push-based parser: `feed` bytes as they arrive, then `finish`.
pub struct StreamParser<'i> {
    stage: Stage,
    core: XmlCore<'i>,
    limits: Limits,
    wire_bytes: u64,
    header_bytes: u64,
    gzip: bool,
    /// Compressed bytes waiting for their block to fill.
    gzip_pending: Vec<u8>,
    /// Compressed bytes handed to the decoder so far.
    gzip_fed: u64,
    fatal: Option<ParseError>,
}

impl<'i> StreamParser<'i> {
    /// A parser that interns metadata in `interner`.
    pub fn new(interner: &'i mut Interner, limits: Limits) -> Self {
        Self {
            stage: Stage::Sniff(Vec::new()),
            core: XmlCore::new(interner, limits),
            limits,
            wire_bytes: 0,
            header_bytes: 0,
            gzip: false,
            gzip_pending: Vec::new(),
            gzip_fed: 0,
            fatal: None,
        }
    }

    /// Decoded XML bytes so far.
    pub fn xml_bytes(&self) -> u64 {
        self.core.total
    }

    /// Feeds the next bytes. An error means reading should stop; `finish` still returns what
    /// was complete, or the error when nothing usable arrived.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        if let Some(e) = &self.fatal {
            return Err(e.clone());
        }
        self.wire_bytes += bytes.len() as u64;
        let r = self.feed_inner(bytes);
        if let Err(e) = &r {
            self.fatal = Some(e.clone());
        }
        r
    }

    fn feed_inner(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        match &mut self.stage {
            Stage::Sniff(head) => {
                head.extend_from_slice(bytes);
                let trimmed = trim_start(head);
                if trimmed.len() < 5 {
                    return Ok(());
                }
                let head = std::mem::take(head);
                self.start_body_or_http(&head)
            }
            Stage::Http(h) => {
                h.extend_from_slice(bytes);
                let h = std::mem::take(h);
                self.http(h)
            }
            Stage::BodySniff(h) => {
                h.extend_from_slice(bytes);
                let h = std::mem::take(h);
                self.sniff_body(h)
            }
            Stage::Plain => self.xml(bytes),
            Stage::Gzip(_) => {
                let mut pending = std::mem::take(&mut self.gzip_pending);
                pending.extend_from_slice(bytes);
                let whole = pending.len() / GZIP_BLOCK * GZIP_BLOCK;
                for block in pending[..whole].chunks(GZIP_BLOCK) {
                    self.gzip_block(block)?;
                }
                pending.drain(..whole);
                self.gzip_pending = pending;
                Ok(())
            }
        }
    }

    /// Decodes one block of compressed bytes and hands over what it made, even when the
    /// block turns out corrupt part way.
    fn gzip_block(&mut self, block: &[u8]) -> Result<(), ParseError> {
        let Stage::Gzip(dec) = &mut self.stage else {
            return Ok(());
        };
        // Flushed every block, so a stream that ends early still hands over what it decoded.
        let written = dec.write_all(block).and_then(|()| dec.flush());
        let out = std::mem::take(dec.get_mut());
        let offset = self.header_bytes + self.gzip_fed;
        self.gzip_fed += block.len() as u64;
        self.xml(&out)?;
        written.map_err(|e| ParseError::Gzip {
            offset,
            reason: e.to_string(),
        })
    }

    fn start_body_or_http(&mut self, head: &[u8]) -> Result<(), ParseError> {
        if trim_start(head).starts_with(b"HTTP/") {
            self.stage = Stage::Http(Vec::new());
            self.http(head.to_vec())
        } else {
            self.start_body(head)
        }
    }

    fn start_body(&mut self, body: &[u8]) -> Result<(), ParseError> {
        if body.starts_with(&[0x1f, 0x8b]) {
            self.gzip = true;
            self.stage = Stage::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new())));
        } else {
            let t = trim_start(body);
            if !t.is_empty() && t[0] != b'<' {
                let shown = String::from_utf8_lossy(&t[..t.len().min(40)]).into_owned();
                return Err(ParseError::NotXml(shown));
            }
            self.stage = Stage::Plain;
        }
        self.feed_inner(body)
    }

    fn http(&mut self, buf: Vec<u8>) -> Result<(), ParseError> {
        // The headers end at the first empty line, CRLF or bare LF, whichever comes first: the
        // same place however the stream was cut into reads.
        let crlf = find(&buf, b"\r\n\r\n").map(|i| (i, i + 4));
        let lf = find(&buf, b"\n\n").map(|i| (i, i + 2));
        let end = match (crlf, lf) {
            (Some(a), Some(b)) => Some(a.min(b).1),
            (a, b) => a.or(b).map(|x| x.1),
        };
        // Too long by where the headers end, or would end: the same however the stream
        // was cut.
        if end.unwrap_or(buf.len() + 1) > MAX_HTTP_HEADERS {
            return Err(ParseError::HttpHeaders);
        }
        let Some(end) = end else {
            self.stage = Stage::Http(buf);
            return Ok(());
        };
        let status = String::from_utf8_lossy(&buf[..end]);
        let status_line = status.lines().next().unwrap_or("").trim().to_string();
        let code = status_line.split_whitespace().nth(1).unwrap_or("");
        if code != "200" {
            return Err(ParseError::HttpStatus(status_line));
        }
        self.header_bytes = end as u64;
        self.core.buf_origin = end as u64;
        // The body may itself be gzip; sniff it like a fresh stream (without HTTP).
        self.sniff_body(buf[end..].to_vec())
    }

    /// Starts the body once enough of it has come to tell gzip from XML, or keeps waiting.
    fn sniff_body(&mut self, head: Vec<u8>) -> Result<(), ParseError> {
        if trim_start(&head).len() >= 5 || head.starts_with(&[0x1f, 0x8b]) {
            self.start_body(&head)
        } else {
            self.stage = Stage::BodySniff(head);
            Ok(())
        }
    }

    fn xml(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        let room = self
            .limits
            .max_document_bytes
            .saturating_sub(self.core.total);
        if bytes.len() as u64 > room {
            self.core.push(&bytes[..room as usize]);
            self.core.cut_off = Some(self.limits.max_document_bytes);
            return Err(ParseError::TooLarge {
                limit: self.limits.max_document_bytes,
            });
        }
        self.core.push(bytes);
        Ok(())
    }

    /// Ends the stream and returns what was read.
    pub fn finish(mut self) -> Result<Parsed, ParseError> {
        if matches!(self.stage, Stage::Gzip(_))
            && self.fatal.is_none()
            && !self.gzip_pending.is_empty()
        {
            let last = std::mem::take(&mut self.gzip_pending);
            self.fatal = self.gzip_block(&last).err();
        }
        match std::mem::replace(&mut self.stage, Stage::Plain) {
            Stage::Sniff(head) if !head.is_empty() && self.fatal.is_none() => {
                self.fatal = self.start_body_or_http(&head).err();
            }
            Stage::BodySniff(head) if !head.is_empty() && self.fatal.is_none() => {
                self.fatal = self.start_body(&head).err();
            }
            Stage::Http(_) if self.fatal.is_none() => {
                self.fatal = Some(ParseError::HttpStatus("headers without a body".to_string()));
            }
            Stage::Gzip(dec) if self.fatal.is_none() => match dec.finish() {
                Ok(rest) => {
                    let _ = self.xml(&rest);
                }
                Err(e) => {
                    let offset = self.wire_bytes;
                    self.core.builder.damage.push(
                        self.core.total,
                        format!("gzip stream ended early after {offset} compressed bytes: {e}"),
                    );
                }
            },
            _ => {}
        }
        if let Some(fatal) = &self.fatal
            && !matches!(fatal, ParseError::TooLarge { .. } | ParseError::Gzip { .. })
        {
            return Err(fatal.clone());
        }
        if self.core.total == 0 {
            return Err(match self.fatal {
                Some(e) => e,
                None => ParseError::Empty,
            });
        }
        let wire_bytes = self.wire_bytes;
        let gzip = self.gzip;
        let fatal = self.fatal.take();
        let (document, damage, mut truncated, xml_bytes, began) = self.core.finish();
        if let Some(e) = fatal {
            truncated = Some(match truncated {
                Some(t) => format!("{e}: {t}"),
                None => e.to_string(),
            });
        }
        if document.items.is_empty() && damage.total > 0 && (truncated.is_none() || !began) {
            let first = damage.summary().unwrap_or_default();
            return Err(ParseError::NotXml(first));
        }
        Ok(Parsed {
            document,
            wire_bytes,
            xml_bytes,
            gzip,
            damage,
            truncated,
        })
    }
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Tokenizes decoded XML with quick-xml and drives the tree builder.
struct XmlCore<'i> {
    builder: TreeBuilder<'i>,
    decoder: StreamDecoder,
    limits: Limits,
    /// Decoded, not yet tokenized bytes.
    buf: Vec<u8>,
    /// Offset in the received stream of `buf[0]`.
    buf_origin: u64,
    /// Positions in `buf` of bytes added by Latin-1 expansion.
    added: Vec<usize>,
    /// Skipping to the next line that starts an element, after damage.
    resync: bool,
    /// Decoded bytes received.
    total: u64,
    cut_off: Option<u64>,
}

fn is_unfinished(e: &XmlError) -> bool {
    matches!(
        e,
        XmlError::Syntax(
            SyntaxError::UnclosedTag
                | SyntaxError::UnclosedDoubleQuotedAttributeValue
                | SyntaxError::UnclosedSingleQuotedAttributeValue
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedPI
                | SyntaxError::UnclosedXmlDecl
                | SyntaxError::InvalidBangMarkup
        )
    )
}

/// Whether a tag name looks like an XML name (Ganglia uses A–Z and `_` only).
fn plausible_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':') || b >= 0x80
        })
}

impl<'i> XmlCore<'i> {
    fn new(interner: &'i mut Interner, limits: Limits) -> Self {
        Self {
            builder: TreeBuilder::new(interner),
            decoder: StreamDecoder::default(),
            limits,
            buf: Vec::with_capacity(2 * PARSE_BATCH),
            buf_origin: 0,
            added: Vec::new(),
            resync: false,
            total: 0,
            cut_off: None,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        self.decoder
            .decode_into(bytes, &mut self.buf, &mut self.added);
        if self.buf.len() >= PARSE_BATCH {
            self.tokenize(false);
        }
    }

    /// Offset in the received stream of position `pos` in `buf`.
    fn origin_of(&self, pos: usize) -> u64 {
        let expanded = self.added.partition_point(|&a| a < pos);
        self.buf_origin + (pos - expanded) as u64
    }

    fn tokenize(&mut self, last: bool) {
        let mut start = 0usize;
        let consumed = 'outer: loop {
            if self.resync {
                match find(&self.buf[start..], b"\n<") {
                    Some(i) => {
                        start += i + 1;
                        self.resync = false;
                    }
                    None => {
                        break if last {
                            self.buf.len()
                        } else {
                            self.buf.len().saturating_sub(1).max(start)
                        };
                    }
                }
            }
            let mut reader = Reader::from_reader(&self.buf[start..]);
            {
                let cfg = reader.config_mut();
                cfg.check_end_names = false;
                cfg.allow_unmatched_ends = true;
                cfg.allow_dangling_amp = true;
            }
            // Where the open METRIC's start tag ended and the damage count then, for
            // remembering its extra data block's bytes.
            let mut metric_body: Option<(usize, usize)> = None;
            let mut extra_end: Option<usize> = None;
            loop {
                let before = reader.buffer_position() as usize;
                let at = start + before;
                let event = reader.read_event();
                // An element over the limit is skipped whether it ended in this batch or not,
                // so the result never depends on where the batches fell.
                let too_long = match &event {
                    Ok(Event::Text(_) | Event::Eof) => false,
                    Ok(_) => {
                        reader.buffer_position() as usize - before > self.limits.max_element_bytes
                    }
                    Err(e) => {
                        is_unfinished(e) && self.buf.len() - at > self.limits.max_element_bytes
                    }
                };
                if too_long {
                    let max = self.limits.max_element_bytes;
                    start = self.skip_line(at, format!("element longer than {max} bytes; skipped"));
                    continue 'outer;
                }
                match event {
                    Ok(Event::Start(e)) if e.name().as_ref() == "METRIC" => {
                        let off = self.origin_of(at);
                        self.builder.start("METRIC", e.attributes_raw(), false, off);
                        let body = start + reader.buffer_position() as usize;
                        if let Some(raw) = self.builder.expected_extra()
                            && self.buf[body..].starts_with(&raw)
                        {
                            // Same bytes as last time: skip them without tokenizing.
                            self.builder.extra_skipped();
                            start = body + raw.len();
                            continue 'outer;
                        }
                        metric_body = Some((body, self.builder.damage.total));
                        extra_end = None;
                    }
                    Ok(Event::End(e)) if e.name().as_ref() == "EXTRA_DATA" => {
                        let off = self.origin_of(at);
                        self.builder.end("EXTRA_DATA", off);
                        extra_end = Some(start + reader.buffer_position() as usize);
                    }
                    Ok(Event::End(e)) if e.name().as_ref() == "METRIC" => {
                        let off = self.origin_of(at);
                        self.builder.end("METRIC", off);
                        if let (Some((body, damage)), Some(end)) = (metric_body.take(), extra_end)
                            && damage == self.builder.damage.total
                        {
                            self.builder.remember_raw_extra(&self.buf[body..end]);
                        }
                    }
                    Ok(Event::Start(e) | Event::Empty(e)) if !plausible_name(e.name().as_ref()) => {
                        // Garbage glued onto the next tag: skip to the next line so that tag
                        // is still read.
                        let shown: String = e.name().as_ref().chars().take(24).collect();
                        start = self
                            .skip_line(at, format!("garbage {shown:?}; skipped to the next line"));
                        continue 'outer;
                    }
                    Ok(Event::Start(e)) => {
                        let at = self.origin_of(at);
                        self.builder
                            .start(e.name().as_ref(), e.attributes_raw(), false, at);
                    }
                    Ok(Event::Empty(e)) => {
                        let at = self.origin_of(at);
                        self.builder
                            .start(e.name().as_ref(), e.attributes_raw(), true, at);
                    }
                    Ok(Event::End(e)) => {
                        let at = self.origin_of(at);
                        self.builder.end(e.name().as_ref(), at);
                    }
                    Ok(Event::Eof) => break 'outer self.buf.len(),
                    Ok(_) => {}
                    Err(e) if is_unfinished(&e) && !last => break 'outer at,
                    Err(e) => {
                        if last && is_unfinished(&e) {
                            // The end of a truncated document; `finish` reports it.
                            break 'outer self.buf.len();
                        }
                        start = self.skip_line(
                            at,
                            format!("unreadable XML ({e}); skipped to the next line"),
                        );
                        continue 'outer;
                    }
                }
            }
        };
        self.drain(consumed);
    }

    /// Records damage at `at` in `buf` and starts skipping to the next line that starts an
    /// element; returns where tokenizing goes on.
    fn skip_line(&mut self, at: usize, why: String) -> usize {
        let off = self.origin_of(at);
        self.builder.damage.push(off, why);
        self.resync = true;
        at + 1
    }

    fn drain(&mut self, consumed: usize) {
        let consumed = consumed.min(self.buf.len());
        let expanded = self.added.partition_point(|&a| a < consumed);
        self.buf_origin += (consumed - expanded) as u64;
        self.added.drain(..expanded);
        for a in &mut self.added {
            *a -= consumed;
        }
        self.buf.drain(..consumed);
    }

    /// The document, its damage, how it was cut short, its size, and whether any element
    /// began.
    fn finish(mut self) -> (Document, DamageLog, Option<String>, u64, bool) {
        self.decoder.finish_into(&mut self.buf, &mut self.added);
        self.tokenize(true);
        let began = self.builder.began();
        let end = self.buf_origin;
        let total = self.total;
        let cut_off = self.cut_off;
        let (doc, damage, mut truncated) = self.builder.finish(end);
        if let Some(limit) = cut_off {
            truncated = Some(format!(
                "cut off at the {limit}-byte limit; {}",
                truncated.unwrap_or_else(|| "the rest was not read".into())
            ));
        }
        (doc, damage, truncated, total, began)
    }
}
