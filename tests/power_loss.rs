//! Power loss: the real `gantry aggregator` and `gantry cm` on a filesystem that drops every
//! write not synced when the power is cut, or two times in three a random part of them
//! (tests/common/power_cut.rs), killed at random moments and the power cut at once, then
//! restarted on what the filesystem kept. A SIGKILL alone keeps the kernel's page cache, so it
//! cannot show that a save is synced before it is relied on; this does. The seed of the random
//! moments is printed, so a failure can be replayed.

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

/// The filesystem itself: a plain cut loses every unsynced name and byte; seeded cuts keep
/// parts of them, among them a name without its data (the state a save must survive).
#[test]
fn a_seeded_cut_keeps_part_of_what_was_not_synced() {
    use std::io::Write;
    let Some(fs) = power_cut_fs() else {
        return;
    };
    let synced = fs.path().join("synced");
    std::fs::write(&synced, b"kept").expect("write");
    fs.sync();
    let (mut lost, mut without_data, mut partly, mut whole) = (0, 0, 0, 0);
    for seed in 0..40u64 {
        let file = fs.path().join(format!("unsynced-{seed}"));
        let mut f = std::fs::File::create(&file).expect("create");
        f.write_all(b"first").expect("write");
        f.write_all(b"second").expect("write");
        drop(f);
        if seed == 0 {
            fs.cut();
        } else {
            fs.cut_keeping_some(seed);
        }
        assert_eq!(std::fs::read(&synced).expect("the synced file"), b"kept");
        match std::fs::read(&file) {
            Err(_) => lost += 1,
            Ok(b) if b.is_empty() => without_data += 1,
            Ok(b) if b == b"firstsecond" => whole += 1,
            Ok(_) => partly += 1,
        }
        if seed == 0 {
            assert_eq!(lost, 1, "a plain cut keeps nothing unsynced");
        }
    }
    println!("{lost} lost, {without_data} names without data, {partly} in part, {whole} whole");
    assert!(lost > 1 && without_data > 0 && partly > 0 && whole > 0);

    // A rename between directories synced by the target's directory alone is whole after a
    // cut: the name is in one place, never both nor neither.
    let (a, b) = (fs.path().join("a"), fs.path().join("b"));
    std::fs::create_dir(&a).expect("mkdir");
    std::fs::create_dir(&b).expect("mkdir");
    std::fs::write(a.join("x"), b"x").expect("write");
    fs.sync();
    std::fs::rename(a.join("x"), b.join("x")).expect("rename");
    std::fs::File::open(&b)
        .and_then(|d| d.sync_all())
        .expect("fsync the target directory");
    fs.cut();
    assert!(!a.join("x").exists() && b.join("x").exists());
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
        fs.cut_for_round(round, &mut moments);
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
    println!("{}", fs.log());
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
        fs.cut_for_round(round, &mut moments);
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
    println!("{}", fs.log());
    assert!(!acknowledged.is_empty());
}
