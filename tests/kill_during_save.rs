//! Killed at random moments while saving: a real `gantry aggregator` polling a large simulated
//! cluster (`gantry sim`, 3,000 hosts) is stopped with SIGTERM, which starts its final save of
//! the history, and SIGKILLed a random moment later (before, inside or after that save), again
//! and again, restarted each time on the same state. After every kill the
//! history file is either absent (before the first save) or whole and loadable — never a torn
//! write — and a kill that landed inside a save (its temporary file left behind) costs only
//! that save. The seed of the random moments is printed, so a failure can be replayed.

mod common;

use std::time::Duration;

use common::free_port;
use gantry::history::HistoryStore;

#[test]
fn a_kill_at_any_moment_never_leaves_a_torn_history_file() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let _sim = common::start_sim(3000, port);
    common::alpha_config(dir.path(), port, "");
    let history = dir.path().join("history.bin");
    // Temporary files of a save: `.history.bin.PID.RANDOM.tmp` (src/durable.rs).
    let torn_saves = || {
        std::fs::read_dir(dir.path())
            .expect("the state dir")
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with(".history.bin.") && n.ends_with(".tmp")
            })
            .count()
    };
    let mut moments = common::Moments::from_env();
    let seed = moments.seed;
    let (mut kills, mut inside_a_save, mut loads, mut filled) = (0, 0, 0, 0);
    for round in 0..16 {
        let mut agg = common::start_aggregator(dir.path(), "off", &[]);
        std::thread::sleep(Duration::from_millis(1500));
        // SAFETY: the aggregator this test started, by its pid.
        unsafe { libc::kill(agg.0.id() as i32, libc::SIGTERM) };
        if round == 15 {
            // The last one ends as a service manager ends it: TERM, its final save, exit.
            let _ = agg.0.wait();
        } else {
            // TERM starts its final save; a KILL at a random moment lands before, inside or
            // after it, as a service manager's stop timeout would.
            std::thread::sleep(Duration::from_millis(moments.next_ms(250)));
            drop(agg); // SIGKILL, reaped
            kills += 1;
        }
        let torn = torn_saves();
        if torn > 0 {
            inside_a_save += 1;
        }
        // A killed save's temporary file is removed by the next save: they never pile up.
        assert!(torn <= 1, "{torn} temporary files after kill {kills}");
        if history.exists() {
            let h = HistoryStore::load(&history).unwrap_or_else(|e| {
                panic!("after kill {kills} (seed {seed}) the history file is damaged: {e}")
            });
            // (A save before the first poll is whole and empty.)
            filled = h.stats().tables;
            loads += 1;
        }
    }
    println!("{kills} kills, {inside_a_save} inside a save, {loads} loads, every one whole");
    assert!(loads > 0, "the aggregator never saved");
    assert!(filled > 0, "the last save holds the cluster's history");
    assert_eq!(torn_saves(), 0, "the final save left a temporary file");
}
