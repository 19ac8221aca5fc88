//! Power loss: the real `gantry aggregator` and `gantry cm` on a filesystem that drops every
//! write not synced when the power is cut (tests/common/power_cut.rs), killed at random moments
//! and the power cut at once, then restarted on what the filesystem kept. A SIGKILL alone keeps
//! the kernel's page cache, so it cannot show that a save is synced before it is relied on;
//! this does. The seed of the random moments is printed, so a failure can be replayed.

mod common;

use std::time::Duration;

use common::Moments;
use common::power_cut::PowerCutFs;
use gantry::history::HistoryStore;

fn power_cut_fs() -> Option<PowerCutFs> {
    match PowerCutFs::mount() {
        Ok(fs) => Some(fs),
        Err(why) => {
            common::skip(&why);
            None
        }
    }
}

/// The aggregator is stopped (TERM starts its final save) and killed a random moment later,
/// and the power cut; every fourth time it is let finish. After every cut the history file is
/// absent only until a save has finished, then always there, whole and loadable: a finished
/// save is synced, file and directory, before it counts.
#[test]
fn a_power_cut_at_any_moment_keeps_the_last_finished_history_save() {
    let Some(fs) = power_cut_fs() else {
        return;
    };
    let dir = fs.path().join("state");
    std::fs::create_dir(&dir).expect("the state dir");
    let port = common::free_port();
    let _sim = common::start_sim(3000, port);
    common::alpha_config(&dir, port, "");
    fs.sync();
    let history = dir.join("history.bin");
    let mut moments = Moments::from_env();
    let (mut cuts, mut finished, mut loads) = (0, false, 0);
    for round in 0..12 {
        let mut agg = common::start_aggregator(&dir, "off", &[]);
        std::thread::sleep(Duration::from_millis(1500));
        // SAFETY: the aggregator this test started, by its pid.
        unsafe { libc::kill(agg.0.id() as i32, libc::SIGTERM) };
        let clean = round % 4 == 3;
        if clean {
            let status = agg.0.wait().expect("the aggregator exits");
            assert!(status.success(), "round {round}: {status}");
        } else {
            std::thread::sleep(Duration::from_millis(moments.next_ms(400)));
            drop(agg); // SIGKILL, reaped
        }
        fs.cut();
        cuts += 1;
        finished |= clean;
        assert!(
            dir.join("config.toml").exists(),
            "the config installed before the cuts is gone"
        );
        if finished {
            assert!(
                history.exists(),
                "power cut {cuts}: a finished history save is gone; {}",
                fs.log()
            );
        }
        if history.exists() {
            let h = HistoryStore::load(&history).unwrap_or_else(|e| {
                panic!("after power cut {cuts} the history file is damaged: {e}")
            });
            if round == 11 {
                // (By the last round the cluster has been polled, however slow the first poll.)
                assert!(h.stats().tables > 0, "the finished save holds the cluster");
            }
            loads += 1;
        }
    }
    println!("{cuts} power cuts, {loads} loads of the history file, every one whole");
    assert!(finished && loads > 0);
}

/// Submissions run until the manager is killed at a random moment and the power cut; it is
/// restarted on what the disk kept. Every job it acknowledged before any cut is there, and no
/// job number is given twice (a number acknowledged, lost and given again would be two jobs
/// under one name).
#[tokio::test(flavor = "multi_thread")]
async fn a_power_cut_loses_no_acknowledged_job() {
    use gantry::cm::proto::{Reply, Request};
    let Some(fs) = power_cut_fs() else {
        return;
    };
    let dir = fs.path().join("state");
    std::fs::create_dir(&dir).expect("the state dir");
    common::pair::users_and_config(&dir);
    fs.sync();
    let mut moments = Moments::from_env();
    let mut cm = common::start_cm(&dir, &[]);
    let (tls, plain) = (cm.tls.clone(), cm.plain.clone());
    let mut acknowledged: Vec<u64> = Vec::new();
    for round in 0..6 {
        let addr = plain.clone();
        let submitter = tokio::spawn(async move {
            let mut acked = Vec::new();
            let Some(mut alice) = common::pair::login(&addr, "alice").await else {
                return acked;
            };
            for i in 0.. {
                match alice
                    .call(&Request::Submit(common::queued_job("pc", i)))
                    .await
                {
                    Ok(Reply::Submitted(id)) => acked.push(id),
                    _ => break,
                }
            }
            acked
        });
        tokio::time::sleep(Duration::from_millis(300 + moments.next_ms(1500))).await;
        drop(cm); // SIGKILL, reaped
        fs.cut();
        let acked = submitter.await.expect("the submitter");
        println!("round {round}: {} acknowledged before the cut", acked.len());
        acknowledged.extend(acked);
        cm = common::start_cm_on(&dir, (&tls, &plain), &[]);
        let jobs = common::pair::jobs(&cm.plain)
            .await
            .expect("the restarted manager lists its jobs");
        for id in &acknowledged {
            assert!(
                jobs.contains_key(id),
                "job {id} was acknowledged, then lost in power cut {round}; {}",
                fs.log()
            );
        }
        let mut ids = acknowledged.clone();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(
            ids.len(),
            acknowledged.len(),
            "a job number was acknowledged twice"
        );
    }
    println!(
        "{} jobs acknowledged across 6 power cuts, none lost",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());
}
