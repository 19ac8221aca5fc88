//! Lines over a socket for both ends of the protocol: reading bounded lines, writing tagged
//! requests and replies, and telling a request from a reply on the tagged agent link.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::codec::{self, Frame, Item, LineBuffer};
use super::proto::{BadMessage, Reply, Request};

/// Reads bounded lines from a socket.
pub struct LineReader<R> {
    r: R,
    buf: LineBuffer,
    chunk: Vec<u8>,
}

/// The read buffer an idle connection keeps; it grows while reads fill it (up to `BIG`) and
/// falls back once they do not, so ten thousand idle connections cost little.
const SMALL: usize = 1024;
const BIG: usize = 64 * 1024;

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader of lines of at most `max_line` bytes.
    pub fn new(r: R, max_line: usize) -> Self {
        Self {
            r,
            buf: LineBuffer::new(max_line),
            chunk: vec![0u8; SMALL],
        }
    }

    /// Takes lines of up to `max_line` bytes from now on (a peer that proved who it is).
    pub fn set_max_line(&mut self, max_line: usize) {
        self.buf.set_max_line(max_line);
    }

    /// The next line (or an over-long one skipped); `None` at end of stream.
    pub async fn next(&mut self) -> std::io::Result<Option<Item>> {
        loop {
            if let Some(item) = self.buf.next_item() {
                return Ok(Some(item));
            }
            self.buf.compact();
            let n = self.r.read(&mut self.chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend(&self.chunk[..n]);
            if n == self.chunk.len() && n < BIG {
                self.chunk.resize(n * 2, 0);
            } else if n < SMALL && self.chunk.len() > SMALL {
                self.chunk = vec![0u8; SMALL];
            }
        }
    }
}

/// A frame as one line with its newline, tagged when `tag` is set.
pub fn line(mut f: Frame, tag: Option<u64>) -> String {
    f.tag = tag;
    let mut s = codec::encode(&f);
    s.push('\n');
    s
}

/// A reply line.
pub fn reply_line(tag: Option<u64>, r: &Reply) -> String {
    line(r.to_frame(), tag)
}

/// A request line.
pub fn request_line(tag: Option<u64>, r: &Request) -> String {
    line(r.to_frame(), tag)
}

/// What arrived on a link where both sides send requests.
#[derive(Debug)]
pub enum Incoming {
    /// A request from the peer.
    Request(Option<u64>, Box<Request>),
    /// A reply to one of ours.
    Reply(Option<u64>, Reply),
}

/// Reads a line from a two-way link: `OK|…` and `ERR|…` are replies, anything else a request.
pub fn incoming(bytes: &[u8], max_field: usize) -> Result<Incoming, (Option<u64>, BadMessage)> {
    let f = codec::decode(bytes, max_field).map_err(|e| (None, BadMessage(e.to_string())))?;
    match f.verb() {
        "OK" | "ERR" => Reply::from_frame(&f, false)
            .map(|r| Incoming::Reply(f.tag, r))
            .map_err(|e| (f.tag, e)),
        _ => Request::from_frame(&f)
            .map(|r| Incoming::Request(f.tag, Box::new(r)))
            .map_err(|e| (f.tag, e)),
    }
}
