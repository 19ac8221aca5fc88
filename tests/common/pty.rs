//! Runs the real `gantry` binary in a pseudo-terminal of a given size and reads its screen
//! through a terminal emulator (vt100), so tests assert on what an operator would see.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

/// A program running in a pseudo-terminal.
pub struct PtyApp {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Keeps the pty open until the app is dropped.
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl PtyApp {
    /// Starts `program args` with `env` in a `cols`×`rows` terminal. The command runs under
    /// `sh -c` so that `stty -a` can report the terminal's modes after the program exits.
    pub fn spawn(program: &str, args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut cmd = CommandBuilder::new("sh");
        let quoted: Vec<String> = std::iter::once(program)
            .chain(args.iter().copied())
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        cmd.args([
            "-c",
            &format!(
                "{}; code=$?; echo; echo __EXIT $code; stty -a; echo __END",
                quoted.join(" ")
            ),
        ]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).expect("spawn in pty");
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (s2, r2) = (screen.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut p) = s2.lock() {
                    p.process(&buf[..n]);
                }
                if let Ok(mut r) = r2.lock() {
                    r.extend_from_slice(&buf[..n]);
                }
            }
        });
        Self {
            child,
            writer,
            screen,
            raw,
            _master: pty.master,
        }
    }

    /// Starts the real `gantry` with `args` in a `cols`×`rows` UTF-8 xterm, its config and state
    /// kept in `dir`.
    pub fn gantry(args: &[&str], dir: &str, cols: u16, rows: u16) -> Self {
        Self::spawn(
            env!("CARGO_BIN_EXE_gantry"),
            args,
            &[
                ("GANTRY_CONFIG_DIR", dir),
                ("GANTRY_STATE_DIR", dir),
                ("LANG", "C.UTF-8"),
                ("TERM", "xterm-256color"),
            ],
            cols,
            rows,
        )
    }

    /// The pid of the program itself (the child of the `sh` that runs it).
    pub fn program_pid(&self) -> Option<i32> {
        let sh = self.child.process_id()?;
        let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }

    /// Sends a signal to the program.
    pub fn signal(&self, sig: i32) -> bool {
        match self.program_pid() {
            Some(pid) => unsafe { libc::kill(pid, sig) == 0 },
            None => false,
        }
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        self.screen
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    /// Whether the emulator is on the alternate screen, and whether the cursor is hidden.
    pub fn modes(&self) -> (bool, bool) {
        self.screen
            .lock()
            .map(|p| (p.screen().alternate_screen(), p.screen().hide_cursor()))
            .unwrap_or((false, false))
    }

    /// Everything the program wrote.
    pub fn output(&self) -> String {
        self.raw
            .lock()
            .map(|r| String::from_utf8_lossy(&r).into_owned())
            .unwrap_or_default()
    }

    /// Types `s`. A lone Esc is followed by a pause so it is not read as Alt-<next key>.
    pub fn send(&mut self, s: &str) {
        let _ = self.writer.write_all(s.as_bytes());
        let _ = self.writer.flush();
        std::thread::sleep(Duration::from_millis(if s == "\x1b" { 150 } else { 60 }));
    }

    /// Waits until the screen contains `needle`.
    pub fn wait_for(&self, needle: &str, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return Ok(s);
            }
            if Instant::now() > deadline {
                return Err(format!("screen never showed {needle:?}; it shows:\n{s}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the whole command (program, then `stty -a`) to finish.
    pub fn wait_exit(&mut self, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            if self.output().contains("__END") {
                let _ = self.child.wait();
                return Ok(self.output());
            }
            if Instant::now() > deadline {
                return Err(format!("did not exit; screen:\n{}", self.screen()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PtyApp {
    fn drop(&mut self) {
        // Kill what we started (sh and, through the pty's session, the program).
        if let Some(pid) = self.child.process_id() {
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
