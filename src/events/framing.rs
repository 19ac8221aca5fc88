//! Syslog over a stream (RFC 6587): each frame either counted (`LEN SP MESSAGE`, what rsyslog
//! sends with `TCP_Framing="octet-counted"`) or ended by a newline (the traditional framing).
//! A frame longer than the limit is skipped to its end and counted, never kept half.

/// What the framer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One message.
    Message(Vec<u8>),
    /// A frame over the limit, skipped.
    TooLong,
}

/// Splits a byte stream into syslog frames. Frames are taken from a read offset and the
/// buffer is compacted once per [`Framer::push`], so a read of many small frames costs time
/// in proportion to its bytes.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Where the unread bytes begin.
    at: usize,
    limit: usize,
    /// Bytes still to skip of a counted frame over the limit.
    skipping: usize,
    /// Skipping a newline-ended frame over the limit, to its newline.
    skipping_line: bool,
}

impl Framer {
    /// A framer keeping frames of at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            at: 0,
            limit,
            skipping: 0,
            skipping_line: false,
        }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    fn rest(&self) -> &[u8] {
        &self.buf[self.at..]
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.buf.len());
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.at = 0;
    }

    /// The next whole frame, if one is buffered.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if self.skipping > 0 {
                let n = self.skipping.min(self.rest().len());
                self.consume(n);
                self.skipping -= n;
                if self.skipping > 0 {
                    return None;
                }
                continue;
            }
            if self.skipping_line {
                match self.rest().iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.consume(i + 1);
                        self.skipping_line = false;
                    }
                    None => {
                        self.clear();
                        return None;
                    }
                }
            }
            // Blank lines and stray newlines between frames carry nothing.
            let start = self
                .rest()
                .iter()
                .position(|b| !matches!(b, b'\n' | b'\r' | b'\0'));
            match start {
                Some(i) => self.consume(i),
                None => {
                    self.clear();
                    return None;
                }
            }
            if self.rest()[0].is_ascii_digit() {
                return self.counted();
            }
            return self.line();
        }
    }

    /// `LEN SP MESSAGE`.
    fn counted(&mut self) -> Option<Frame> {
        let rest = self.rest();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == rest.len() {
            // The length is not all here yet (a length has at most 10 digits).
            if digits > 10 {
                self.skipping_line = true;
                return Some(Frame::TooLong);
            }
            return None;
        }
        if rest[digits] != b' ' || digits > 10 {
            // Digits, then no space: a newline-ended frame that starts with a number.
            return self.line();
        }
        let len: usize = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(usize::MAX);
        if len > self.limit {
            self.consume(digits + 1);
            self.skipping = len;
            return Some(Frame::TooLong);
        }
        if rest.len() < digits + 1 + len {
            return None;
        }
        let frame = rest[digits + 1..digits + 1 + len].to_vec();
        self.consume(digits + 1 + len);
        Some(Frame::Message(frame))
    }

    /// A frame ended by a newline.
    fn line(&mut self) -> Option<Frame> {
        let rest = self.rest();
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) if i <= self.limit => {
                let frame = rest[..i].to_vec();
                self.consume(i + 1);
                Some(Frame::Message(frame))
            }
            Some(i) => {
                self.consume(i + 1);
                Some(Frame::TooLong)
            }
            None if rest.len() > self.limit => {
                self.clear();
                self.skipping_line = true;
                Some(Frame::TooLong)
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(f: &mut Framer) -> Vec<Frame> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    #[test]
    fn counted_and_newline_frames_in_any_pieces() {
        let stream = b"11 <13>a b c d11 <13>e f g h<13>newline one\n\n<13>two\n";
        // Every way of cutting the stream in two gives the same frames.
        for cut in 0..stream.len() {
            let mut f = Framer::new(100);
            f.push(&stream[..cut]);
            let mut got = all(&mut f);
            f.push(&stream[cut..]);
            got.extend(all(&mut f));
            let want: Vec<Frame> = [
                &b"<13>a b c d"[..],
                b"<13>e f g h",
                b"<13>newline one",
                b"<13>two",
            ]
            .iter()
            .map(|m| Frame::Message(m.to_vec()))
            .collect();
            assert_eq!(got, want, "cut at {cut}");
        }
    }

    #[test]
    fn frames_over_the_limit_are_skipped_and_counted() {
        let mut f = Framer::new(8);
        f.push(b"20 <13>0123456789abcdef<13>ok\n");
        assert_eq!(
            all(&mut f),
            [Frame::TooLong, Frame::Message(b"<13>ok".to_vec())]
        );
        f.push(b"<13>a very long line indeed\n<13>fine\n");
        assert_eq!(
            all(&mut f),
            [Frame::TooLong, Frame::Message(b"<13>fine".to_vec())]
        );
        f.push(&[b'x'; 50]);
        assert_eq!(all(&mut f), [Frame::TooLong]);
        f.push(b"still the same line\n<13>next\n");
        assert_eq!(all(&mut f), [Frame::Message(b"<13>next".to_vec())]);
    }
}
