//! A tiny gmond stand-in for tests: serves fixed bytes to every connection on 127.0.0.1.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A server replaying a document until dropped.
pub struct Replay {
    /// Its address.
    pub addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Replay {
    /// Serves `doc` on a free port.
    pub fn serve(doc: Vec<u8>) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        l.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.write_all(&doc);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        });
        Self { addr, stop }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
