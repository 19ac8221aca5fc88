//! The event loop: keys, mouse, resizes, new snapshots and a slow clock come in; the screen is
//! redrawn only when one of them changed something.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::aggregator::{Snapshot, now_epoch};
use crate::tui::app::{App, AppSetup, Effect};
use crate::tui::terminal::TerminalGuard;

/// How the console reaches what runs behind it.
pub struct Backend {
    /// New snapshots.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Asks every source to poll now.
    pub poll_now: Box<dyn Fn() + Send>,
    /// One link per job backend, in the order of the setup's managers (None: not started).
    pub job_links: Vec<Option<crate::jobs::link::LinkHandle>>,
    /// What the job backends report, by cluster.
    pub job_events: mpsc::UnboundedReceiver<(String, crate::jobs::JobEvent)>,
    /// The log events, when syslog is received.
    pub events: Option<watch::Receiver<Arc<crate::events::receiver::EventsSnapshot>>>,
}

/// Runs the console until the operator quits or a signal arrives.
pub async fn run(setup: AppSetup, mut backend: Backend, mouse: bool) -> anyhow::Result<()> {
    let mut guard = TerminalGuard::enter(mouse)?;
    let size = guard.terminal.size()?;
    let snap = backend.snapshots.borrow_and_update().clone();
    let mut app = App::new(setup, snap, now_epoch(), (size.width, size.height));
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (note_tx, mut notes) = mpsc::channel::<(bool, String)>(8);
    // The job backends were started by the caller, one link per manager in order.
    for (j, link) in app.jobs.iter_mut().zip(backend.job_links.drain(..)) {
        j.link = link;
    }
    let mut job_events = backend.job_events;
    let mut log_events = backend.events;
    if let Some(ev) = &mut log_events {
        app.events = Some(ev.borrow_and_update().clone());
    }
    let mut dirty = true;
    loop {
        if dirty {
            // A terminal that went away (ssh dropped, tmux session killed) fails the write
            // with EIO: that ends the console like a quit, so the history is still saved.
            if let Err(e) = guard.terminal.draw(|f| crate::tui::views::draw(&app, f)) {
                tracing::warn!("the terminal is gone ({e}); leaving");
                break;
            }
            dirty = false;
            // Test hook, debug builds only: proves a panic restores the terminal.
            if cfg!(debug_assertions) && std::env::var_os("GANTRY_DEBUG_PANIC").is_some() {
                panic!("GANTRY_DEBUG_PANIC is set");
            }
        }
        let effect = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => app.on_key(k),
                Some(Ok(Event::Mouse(m))) => app.on_mouse(m, Instant::now()),
                Some(Ok(Event::Resize(c, r))) => {
                    let _ = guard.terminal.autoresize();
                    app.on_resize(c, r)
                }
                Some(Ok(_)) => Effect::None,
                Some(Err(e)) => {
                    tracing::error!("terminal input failed: {e}");
                    Effect::Quit
                }
                None => {
                    tracing::warn!("terminal input ended");
                    Effect::Quit
                }
            },
            changed = backend.snapshots.changed() => match changed {
                Ok(()) => {
                    let s = backend.snapshots.borrow_and_update().clone();
                    app.on_snapshot(s, now_epoch())
                }
                Err(_) => Effect::None,
            },
            changed = async {
                match log_events.as_mut() {
                    Some(ev) => ev.changed().await,
                    None => std::future::pending().await,
                }
            } => match (changed, log_events.as_mut()) {
                (Ok(()), Some(ev)) => {
                    let e = ev.borrow_and_update().clone();
                    app.on_events(e)
                }
                _ => {
                    // The receiver ended (the console is on its way out).
                    log_events = None;
                    Effect::None
                }
            },
            _ = tick.tick() => {
                // A failing disk under the history or events file is said, not only logged.
                let saves = app.on_saves(crate::durable::failing());
                match app.on_tick(now_epoch()) {
                    Effect::None => saves,
                    e => e,
                }
            }
            Some((cluster, ev)) = job_events.recv() => app.on_job_event(&cluster, ev),
            Some((error, text)) = notes.recv() => {
                if error { app.complain(text) } else { app.say(text) }
                Effect::Redraw
            }
            _ = term.recv() => Effect::Quit,
            _ = hup.recv() => {
                tracing::info!("hung up (SIGHUP): leaving, saving the history");
                Effect::Quit
            }
        };
        match effect {
            Effect::None => {}
            Effect::Redraw => dirty = true,
            Effect::Quit => break,
            Effect::Suspend => {
                if let Err(e) = guard.suspend() {
                    tracing::warn!("could not suspend or resume the terminal: {e}");
                    break;
                }
                dirty = true;
            }
            Effect::PollNow => {
                (backend.poll_now)();
                dirty = true;
            }
            Effect::Export => {
                crate::tui::export::start(&app, note_tx.clone());
                dirty = true;
            }
        }
    }
    drop(guard);
    Ok(())
}
