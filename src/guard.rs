//! Code that reads what others sent (a source's XML, a sender's syslog line) runs under
//! [`caught`]: a bug it hits on some input costs that input, with an error that says so, not
//! the task it runs in — a source's polling, the syslog receiver — for everyone after it. While
//! it runs, [`active`] tells the console's panic hook to log the panic and leave the screen be.

use std::cell::Cell;
use std::panic::AssertUnwindSafe;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Whether this thread is inside [`caught`] (its panic will be caught and logged).
pub fn active() -> bool {
    DEPTH.with(Cell::get) > 0
}

/// Runs `f`; a panic in it becomes `Err` naming `what`, logged with its message escaped.
pub fn caught<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    DEPTH.with(|d| d.set(d.get() + 1));
    // Unwind safety: what `f` leaves half-done is only ever the input's own reading (a
    // parser, one message's place in a store), dropped or counted by the caller.
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    r.map_err(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(
            "{what}: an internal error on this input (a bug): {}",
            msg.escape_debug()
        );
        format!("{what} failed on this input (an internal error, logged)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_an_error_and_the_thread_goes_on() {
        let r: Result<u8, String> = caught("reading X", || panic!("boom"));
        assert_eq!(
            r.unwrap_err(),
            "reading X failed on this input (an internal error, logged)"
        );
        assert!(!active());
        assert_eq!(caught("reading X", || 7), Ok(7));
    }
}
