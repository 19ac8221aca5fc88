//! Owning the terminal: raw mode, alternate screen and mouse capture on the way in, and always
//! restored on the way out — on return, on panic, and on SIGTERM or SIGHUP (the ssh
//! connection dropped).

use std::io::{Stdout, Write};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was. Safe to call more than once and from a panic hook.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = execute!(
            out,
            DisableMouseCapture,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// The terminal, restored when dropped.
pub struct TerminalGuard {
    /// The ratatui terminal. Dropped by hand: ratatui's own drop prints to stderr when it
    /// cannot show the cursor, and printing to a terminal that is gone panics.
    pub terminal: ManuallyDrop<Terminal<CrosstermBackend<Stdout>>>,
    mouse: bool,
}

impl TerminalGuard {
    /// Takes over the terminal.
    pub fn enter(mouse: bool) -> std::io::Result<Self> {
        install_panic_hook();
        take_over(mouse)?;
        match Terminal::new(CrosstermBackend::new(std::io::stdout())) {
            Ok(terminal) => Ok(Self {
                terminal: ManuallyDrop::new(terminal),
                mouse,
            }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Ctrl-Z: gives the terminal back, stops the process as the shell expects, and takes the
    /// terminal over again when `fg` continues it; the next draw repaints everything.
    pub fn suspend(&mut self) -> std::io::Result<()> {
        restore();
        // SIGTSTP's default action stops the process; raise returns once SIGCONT arrives.
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP).map_err(std::io::Error::from)?;
        take_over(self.mouse)?;
        // A fresh terminal over a cleared screen redraws every cell. (ratatui's clear() asks
        // the terminal for the cursor position first; one that does not answer would end
        // the console here.)
        execute!(
            std::io::stdout(),
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
        )?;
        let fresh = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        let old = std::mem::replace(&mut *self.terminal, fresh);
        forget_if_gone(old);
        Ok(())
    }
}

/// Raw mode, the alternate screen, mouse capture when asked, no cursor.
fn take_over(mouse: bool) -> std::io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = std::io::stdout();
    let r = if mouse {
        execute!(
            out,
            EnterAlternateScreen,
            EnableMouseCapture,
            crossterm::cursor::Hide
        )
    } else {
        execute!(out, EnterAlternateScreen, crossterm::cursor::Hide)
    };
    if let Err(e) = r {
        restore();
        return Err(e);
    }
    Ok(())
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        // SAFETY: the field is never used again: this is the guard's drop.
        let t = unsafe { ManuallyDrop::take(&mut self.terminal) };
        forget_if_gone(t);
    }
}

/// Drops a ratatui terminal, unless the terminal it drew on is gone (an ssh connection
/// dropped, a tmux session killed): then it is leaked, as the process is ending anyway.
fn forget_if_gone(mut t: Terminal<CrosstermBackend<Stdout>>) {
    if t.show_cursor().is_err() {
        std::mem::forget(t);
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A panic on an input being read is caught there: log it, keep the screen.
            if crate::guard::active() {
                tracing::error!("caught panic: {info}");
                return;
            }
            // Restore first so the message is readable.
            restore();
            tracing::error!(
                "panic: {info}\n{}",
                std::backtrace::Backtrace::force_capture()
            );
            previous(info);
        }));
    });
}
