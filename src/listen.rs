//! Opening listening sockets. Every failure names the address: "address in use" alone sends
//! an operator hunting through config files and unit files for which port it meant.

use std::fmt::Display;
use std::path::Path;

use tokio::net::{TcpListener, ToSocketAddrs, UnixListener};

/// A listener that could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {reason}")]
pub struct ListenError {
    /// The address (or socket path) as asked for.
    pub addr: String,
    /// Why, in words.
    pub reason: String,
    /// The operating system's error kind (`AddrInUse`, `PermissionDenied`…).
    pub kind: std::io::ErrorKind,
}

impl ListenError {
    fn new(addr: impl Display, e: &std::io::Error) -> Self {
        Self {
            addr: addr.to_string(),
            reason: crate::aggregator::plain_io(e),
            kind: e.kind(),
        }
    }
}

impl From<ListenError> for std::io::Error {
    fn from(e: ListenError) -> Self {
        std::io::Error::new(e.kind, e.to_string())
    }
}

/// Binds a TCP listener on `addr`.
pub async fn tcp<A: ToSocketAddrs + Display>(addr: A) -> Result<TcpListener, ListenError> {
    TcpListener::bind(&addr)
        .await
        .map_err(|e| ListenError::new(&addr, &e))
}

/// Binds a Unix socket listener at `path`.
pub fn unix(path: &Path) -> Result<UnixListener, ListenError> {
    UnixListener::bind(path).map_err(|e| ListenError::new(path.display(), &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn address_in_use_names_the_address() {
        let held = tcp("127.0.0.1:0").await.unwrap();
        let addr = held.local_addr().unwrap().to_string();
        let e = tcp(addr.as_str()).await.unwrap_err();
        assert_eq!(e.kind, std::io::ErrorKind::AddrInUse);
        assert_eq!(
            e.to_string(),
            format!("cannot listen on {addr}: address already in use")
        );
        // Through io::Error the words and the kind survive.
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::AddrInUse);
        assert!(io.to_string().contains(&addr), "{io}");
    }

    #[test]
    fn a_unix_socket_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("s.sock");
        let e = unix(&path).unwrap_err();
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}
