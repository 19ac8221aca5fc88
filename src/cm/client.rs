//! A client of the central manager: one connection, one request at a time. The console's job
//! control and the tests use it.

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;

use super::codec::{Item, MAX_REPLY_LINE};
use super::link::{LineReader, request_line};
use super::proto::{Reply, Request};

/// What went wrong talking to the manager.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, reading or writing failed.
    #[error("central manager at {addr}: {what}")]
    Link {
        /// The manager's address.
        addr: String,
        /// What failed.
        what: String,
    },
    /// The manager answered with an error.
    #[error("central manager: {code} {message}")]
    Refused {
        /// Error code.
        code: u16,
        /// In words.
        message: String,
    },
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection to a manager.
pub struct CmClient {
    addr: String,
    reader: LineReader<ReadHalf<Box<dyn Io>>>,
    w: WriteHalf<Box<dyn Io>>,
}

impl CmClient {
    /// Connects in plain text (a manager's loopback listener).
    pub async fn connect(addr: &str) -> Result<Self, ClientError> {
        let s = TcpStream::connect(addr)
            .await
            .map_err(|e| ClientError::Link {
                addr: addr.to_string(),
                what: e.to_string(),
            })?;
        Ok(Self::from_stream(s, addr))
    }

    /// Connects over TLS, trusting the manager as `trust` says.
    pub async fn connect_tls(
        addr: &str,
        trust: &crate::cm::tls::Trust,
    ) -> Result<Self, ClientError> {
        let link = |what: String| ClientError::Link {
            addr: addr.to_string(),
            what,
        };
        let cfg = crate::cm::tls::client_config(trust).map_err(|e| link(e.to_string()))?;
        let s = TcpStream::connect(addr)
            .await
            .map_err(|e| link(e.to_string()))?;
        let _ = s.set_nodelay(true);
        let name = crate::cm::tls::server_name(addr).map_err(|e| link(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(cfg)
            .connect(name, crate::cm::tls::client_socket(s))
            .await
            .map_err(|e| link(format!("TLS: {e}")))?;
        Ok(Self::over(Box::new(tls), addr))
    }

    /// A client over a stream already connected (from a chosen source address, say).
    pub fn from_stream(s: TcpStream, addr: &str) -> Self {
        let _ = s.set_nodelay(true);
        Self::over(Box::new(s), addr)
    }

    fn over(io: Box<dyn Io>, addr: &str) -> Self {
        let (r, w) = tokio::io::split(io);
        Self {
            addr: addr.to_string(),
            reader: LineReader::new(r, MAX_REPLY_LINE),
            w,
        }
    }

    /// Connects and logs in.
    pub async fn login(addr: &str, user: &str, password: &str) -> Result<Self, ClientError> {
        let mut c = Self::connect(addr).await?;
        c.ok(&Request::Login {
            user: user.into(),
            password: password.into(),
        })
        .await?;
        Ok(c)
    }

    fn link(&self, what: impl ToString) -> ClientError {
        ClientError::Link {
            addr: self.addr.clone(),
            what: what.to_string(),
        }
    }

    /// Sends a request and reads its reply (errors are replies here).
    pub async fn call(&mut self, req: &Request) -> Result<Reply, ClientError> {
        self.w
            .write_all(request_line(None, req).as_bytes())
            .await
            .map_err(|e| self.link(e))?;
        // Over TLS, written bytes may wait in the session's buffer until flushed.
        self.w.flush().await.map_err(|e| self.link(e))?;
        let line = match self.reader.next().await.map_err(|e| self.link(e))? {
            Some(Item::Line(l)) => l,
            Some(Item::TooLong) => return Err(self.link("reply too long")),
            None => return Err(self.link("connection closed")),
        };
        let legacy = matches!(req, Request::Req { .. });
        Reply::decode_line(&line, legacy)
            .map(|(_, r)| r)
            .map_err(|e| self.link(format!("bad reply: {e}")))
    }

    /// Like [`call`](Self::call), with error replies turned into `Err`.
    pub async fn ok(&mut self, req: &Request) -> Result<Reply, ClientError> {
        match self.call(req).await? {
            Reply::Error { code, message } => Err(ClientError::Refused { code, message }),
            r => Ok(r),
        }
    }

    /// Sends raw bytes and reads one reply line as text (for protocol tests).
    pub async fn raw(&mut self, bytes: &[u8]) -> Result<String, ClientError> {
        self.w.write_all(bytes).await.map_err(|e| self.link(e))?;
        self.w.flush().await.map_err(|e| self.link(e))?;
        match self.reader.next().await.map_err(|e| self.link(e))? {
            Some(Item::Line(l)) => Ok(String::from_utf8_lossy(&l).into_owned()),
            Some(Item::TooLong) => Err(self.link("reply too long")),
            None => Err(self.link("connection closed")),
        }
    }
}
