//! Code that reads what others sent (a source's XML, a sender's syslog line) runs under
//! [`caught`]: a bug it hits on some input costs that input, with an error that says so, not
//! the task it runs in — a source's polling, the syslog receiver — for everyone after it. While
//! it runs, [`active`] tells the console's panic hook to log the panic and leave the screen be.
//! Async work that reads such input throughout (a Slurm poll, a BMC's poll) runs under
//! [`caught_async`] instead.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

tokio::task_local! {
    // Set while a guarded future is polled, on whichever thread polls it.
    static GUARDED: ();
}

/// A panic caught while reading some input: the input is lost, the task goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} failed on this input (an internal error, logged)")]
pub struct Caught {
    /// What was being read.
    pub what: String,
}

/// Whether this thread is inside [`caught`] or polling [`caught_async`]'s future (its panic
/// will be caught and logged).
pub fn active() -> bool {
    DEPTH.with(Cell::get) > 0 || GUARDED.try_with(|_| ()).is_ok()
}

/// Runs `f`; a panic in it becomes `Err` naming `what`, logged with its message escaped.
pub fn caught<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, Caught> {
    DEPTH.with(|d| d.set(d.get() + 1));
    // Unwind safety: what `f` leaves half-done is only ever the input's own reading (a
    // parser, one message's place in a store), dropped or counted by the caller.
    let r = std::panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    r.map_err(|p| logged(what, p.as_ref()))
}

/// Runs `f` to its end; a panic while it is polled becomes `Err` naming `what`, logged.
pub async fn caught_async<T>(what: &str, f: impl Future<Output = T>) -> Result<T, Caught> {
    // Unwind safety as for `caught`: the callers drop what the future was building.
    GUARDED
        .scope((), AssertUnwindSafe(f).catch_unwind())
        .await
        .map_err(|p| logged(what, p.as_ref()))
}

fn logged(what: &str, p: &(dyn Any + Send)) -> Caught {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(
        "{what}: an internal error on this input (a bug): {}",
        msg.escape_debug()
    );
    Caught {
        what: what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_an_error_and_the_thread_goes_on() {
        let r: Result<u8, Caught> = caught("reading X", || panic!("boom"));
        assert_eq!(
            r.unwrap_err().to_string(),
            "reading X failed on this input (an internal error, logged)"
        );
        assert!(!active());
        assert_eq!(caught("reading X", || 7), Ok(7));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_after_an_await_is_caught_and_the_hook_knows_it() {
        let r: Result<u8, Caught> = caught_async("polling Y", async {
            assert!(active());
            tokio::task::yield_now().await;
            assert!(active());
            panic!("boom");
        })
        .await;
        assert_eq!(
            r.unwrap_err().to_string(),
            "polling Y failed on this input (an internal error, logged)"
        );
        assert!(!active());
        assert_eq!(caught_async("polling Y", async { 7 }).await, Ok(7));
    }
}
