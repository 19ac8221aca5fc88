//! Property tests: every request and reply survives encode → decode unchanged, and arbitrary
//! lines never panic the decoders.

use proptest::prelude::*;

use super::codec::{MAX_FIELD, decode, encode};
use super::job::{JobClass, JobSpec, LoadMetric, Signal};
use super::proto::*;

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 _./|&\\\\\n=é-]{0,10}").unwrap()
}

fn name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z][a-z0-9_.-]{0,8}").unwrap()
}

fn signal() -> impl Strategy<Value = Signal> {
    proptest::sample::select(Signal::ALL.to_vec())
}

fn spec() -> impl Strategy<Value = JobSpec> {
    (
        (
            text(),
            text(),
            proptest::collection::vec(text(), 0..4),
            proptest::sample::select(vec![JobClass::Single, JobClass::Batch, JobClass::Parallel]),
        ),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        ),
        (
            any::<i32>(),
            any::<u64>(),
            1u32..64,
            1u32..4096,
            any::<u64>(),
            any::<bool>(),
            proptest::sample::select(vec![
                LoadMetric::Load,
                LoadMetric::RunQueue,
                LoadMetric::LoadMem,
            ]),
        ),
    )
        .prop_map(
            |(
                (name, exec, args, class),
                (input, output, error, dir),
                (priority, memory, tasks_per_node, total_tasks, rss_limit, restart, load_metric),
            )| JobSpec {
                name,
                exec,
                args,
                class,
                input,
                output,
                error,
                dir,
                priority,
                memory,
                tasks_per_node,
                total_tasks,
                rss_limit,
                restart,
                load_metric,
            },
        )
}

fn proc_info(with_node: bool) -> impl Strategy<Value = ProcInfo> {
    (
        name(),
        any::<u32>(),
        proptest::sample::select(vec!['R', 'S', 'T', 'Z', 'X']),
        text(),
        name(),
        0u16..6400,
        any::<u32>(),
        text(),
        any::<u64>(),
    )
        .prop_map(
            move |(node, pid, state, name, user, cpu, rss, job, start)| ProcInfo {
                node: if with_node { node } else { String::new() },
                pid,
                state,
                name,
                user,
                cpu_pct: f32::from(cpu) / 4.0,
                rss_kb: u64::from(rss),
                job,
                start,
            },
        )
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        name().prop_map(|user| Request::Req { user }),
        (any::<u32>(), name(), name()).prop_map(|(pid, from, to)| Request::Mig { pid, from, to }),
        (any::<u32>(), name()).prop_map(|(pid, node)| Request::Kil { pid, node }),
        (any::<u32>(), text()).prop_map(|(version, client)| Request::Hello { version, client }),
        (name(), text()).prop_map(|(user, password)| Request::Login { user, password }),
        name().prop_map(|token| Request::Resume { token }),
        Just(Request::Logout),
        Just(Request::Whoami),
        Just(Request::Bye),
        Just(Request::Ping),
        Just(Request::Nodes),
        name().prop_map(|user| Request::Ps { user }),
        (any::<u32>(), name(), signal()).prop_map(|(pid, node, signal)| Request::Sig {
            pid,
            node,
            signal
        }),
        spec().prop_map(Request::Submit),
        name().prop_map(|user| Request::Jobs { user }),
        any::<u64>().prop_map(|id| Request::Job { id }),
        (
            any::<u64>(),
            proptest::sample::select(vec!["out", "err"]),
            any::<u64>(),
            any::<u32>()
        )
            .prop_map(|(id, st, offset, max)| Request::Tail {
                id,
                stream: st.into(),
                offset,
                max
            }),
        (name(), any::<u32>(), any::<u32>(), any::<u64>()).prop_map(
            |(name, version, cpus, mem_total_kb)| Request::Agent {
                name,
                version,
                cpus,
                mem_total_kb,
            }
        ),
        (0u16..4000, any::<u32>(), any::<u64>(), any::<u32>()).prop_map(
            |(l, runqueue, mem_free_kb, procs)| Request::Heartbeat {
                load1: f32::from(l) / 8.0,
                runqueue,
                mem_free_kb,
                procs
            }
        ),
        proptest::collection::vec(proc_info(false), 0..4).prop_map(Request::Procs),
        proptest::collection::vec((name(), any::<u32>()), 0..4).prop_map(Request::Tasks),
        (name(), any::<u32>(), any::<i32>()).prop_map(|(task, pid, status)| Request::Exited {
            task,
            pid,
            status
        }),
        (name(), any::<u64>(), spec(), text(), name(), any::<bool>()).prop_map(
            |(task, job, spec, checkpoint_dir, account, root_ok)| Request::Run {
                task,
                job,
                user: "alice".into(),
                account,
                root_ok,
                spec,
                checkpoint_dir,
            }
        ),
        (name(), any::<u64>(), any::<u32>(), name(), text(), text()).prop_map(
            |(task, offset, max, account, dir, file)| Request::Read {
                task,
                stream: "err".into(),
                offset,
                max,
                root_ok: offset % 2 == 0,
                account,
                dir,
                file,
            }
        ),
        any::<u64>().prop_map(|id| Request::Cancel { id }),
        (any::<u32>(), signal(), any::<u64>(), text()).prop_map(|(pid, signal, start, owner)| {
            Request::Signal {
                pid,
                signal,
                start,
                owner,
            }
        }),
        (name(), any::<u32>()).prop_map(|(task, grace_secs)| Request::Stop { task, grace_secs }),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(epoch, alone_seq, ms)| {
            Request::Lease {
                epoch,
                alone_seq,
                ms,
            }
        }),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(epoch, last_epoch, last_seq)| {
            Request::Vote {
                epoch,
                last_epoch,
                last_seq,
            }
        }),
        any::<u64>().prop_map(|epoch| Request::Announce { epoch }),
        any::<u64>().prop_map(|epoch| Request::Fenced { epoch }),
        (name(), any::<u64>(), any::<u64>()).prop_map(|(name, last_epoch, last_seq)| {
            Request::Follow {
                name,
                last_epoch,
                last_seq,
            }
        }),
        Just(Request::Ha),
        any::<u64>().prop_map(|after| Request::History { after }),
        Just(Request::Takeback),
        Just(Request::Handover),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        (100u16..600, text()).prop_map(|(code, message)| Reply::Error { code, message }),
        (
            any::<u32>(),
            text(),
            proptest::collection::vec(name(), 0..3)
        )
            .prop_map(|(version, server, features)| Reply::Hello {
                version,
                server,
                features
            }),
        (name(), name(), name()).prop_map(|(token, user, role)| Reply::LoggedIn {
            token,
            user,
            role
        }),
        (name(), name()).prop_map(|(user, role)| Reply::Resumed { user, role }),
        proptest::string::string_regex("[A-Z]{2,8}")
            .unwrap()
            .prop_filter("not a typed verb", |v| ![
                "HELLO", "LOGIN", "RESUME", "PONG", "MIG", "KIL", "SIG", "NODES", "PS", "SUBMIT",
                "JOBS", "JOB", "TAIL", "AGENT", "RUN", "STOP"
            ]
            .contains(&v.as_str()))
            .prop_map(Reply::Done),
        any::<u64>().prop_map(Reply::Pong),
        (name(), any::<u32>()).prop_map(|(node, pid)| Reply::Migrated { node, pid }),
        (name(), any::<u32>()).prop_map(|(node, pid)| Reply::Killed { node, pid }),
        (name(), any::<u32>(), signal()).prop_map(|(node, pid, signal)| Reply::Signalled {
            node,
            pid,
            signal
        }),
        proptest::collection::vec(
            (
                name(),
                any::<bool>(),
                any::<u32>(),
                0u16..800,
                any::<u32>(),
                any::<u64>(),
                any::<u64>(),
                any::<u32>()
            ),
            0..4
        )
        .prop_map(|v| Reply::Nodes(
            v.into_iter()
                .map(
                    |(name, up, cpus, l, runqueue, mem_total_kb, mem_free_kb, procs)| NodeInfo {
                        name,
                        up,
                        cpus,
                        load1: f32::from(l) / 4.0,
                        runqueue,
                        mem_total_kb,
                        mem_free_kb,
                        procs
                    }
                )
                .collect()
        )),
        proptest::collection::vec(proc_info(true), 0..4).prop_map(Reply::Ps),
        any::<u64>().prop_map(Reply::Submitted),
        proptest::collection::vec(
            (
                any::<u64>(),
                text(),
                name(),
                name(),
                text(),
                any::<u64>(),
                proptest::option::of(any::<u64>()),
                proptest::option::of(any::<u64>()),
                proptest::option::of(any::<i32>())
            ),
            0..4
        )
        .prop_map(|v| Reply::Jobs(
            v.into_iter()
                .map(
                    |(id, name, user, state, nodes, submitted, started, ended, exit)| JobSummary {
                        reason: format!("{nodes}|&"),
                        id,
                        name,
                        user,
                        state,
                        nodes,
                        submitted,
                        started,
                        ended,
                        exit,
                    }
                )
                .collect()
        )),
        proptest::collection::vec((name(), text()), 0..5).prop_map(Reply::Job),
        (any::<u64>(), any::<u64>(), text()).prop_map(|(next, size, data)| Reply::Tail {
            next,
            size,
            data
        }),
        (any::<u32>(), any::<u64>(), "(active|standby|fenced)").prop_map(
            |(heartbeat_secs, epoch, role)| Reply::Welcome {
                heartbeat_secs,
                epoch,
                role
            }
        ),
        any::<u32>().prop_map(Reply::Started),
        any::<i32>().prop_map(Reply::Stopped),
        (any::<bool>(), text()).prop_map(|(granted, why)| Reply::Voted { granted, why }),
        (any::<u64>(), "(log|snapshot)").prop_map(|(epoch, mode)| Reply::Following { epoch, mode }),
        (
            "(active|standby|fenced)",
            any::<u64>(),
            name(),
            text(),
            text(),
            any::<u64>(),
            text(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(
                |(role, epoch, name, active, shadow, seq, why, following, members)| {
                    Reply::Ha(Box::new(crate::cm::proto::HaStatus {
                        role,
                        epoch,
                        name,
                        active,
                        shadow,
                        seq,
                        why,
                        following,
                        members,
                    }))
                }
            ),
        (
            proptest::collection::vec((any::<u64>(), text(), text(), any::<u32>()), 0..4),
            any::<bool>()
        )
            .prop_map(|(jobs, more)| Reply::History {
                jobs: jobs
                    .into_iter()
                    .map(
                        |(id, user, program, procs)| crate::queue::workload::FinishedJob {
                            id,
                            submit: id / 2,
                            start: (procs % 2 == 0).then_some(id / 2 + 1),
                            end: id,
                            procs,
                            procs_req: procs,
                            time_req: None,
                            mem_req_kb: Some(u64::from(procs)),
                            status: crate::queue::workload::Status::Cancelled,
                            user,
                            group: String::new(),
                            program,
                            queue: "batch".into(),
                        }
                    )
                    .collect(),
                more,
            }),
    ]
}

fn legacy_list() -> impl Strategy<Value = Reply> {
    proptest::collection::vec(
        (
            name(),
            proptest::collection::vec((any::<u32>(), text(), any::<bool>()), 0..4),
        ),
        0..4,
    )
    .prop_map(|nodes| {
        Reply::ProcessList(
            nodes
                .into_iter()
                .map(|(node, procs)| NodeProcs {
                    node,
                    procs: procs
                        .into_iter()
                        .map(|(pid, name, terminated)| LegacyProc {
                            pid,
                            name,
                            terminated,
                        })
                        .collect(),
                })
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn requests_round_trip(r in request()) {
        let line = encode(&r.to_frame());
        let back = Request::from_frame(&decode(line.as_bytes(), usize::MAX).unwrap()).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn replies_round_trip(r in reply()) {
        let line = encode(&r.to_frame());
        let back = Reply::from_frame(&decode(line.as_bytes(), usize::MAX).unwrap(), false).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn kcms_process_lists_round_trip(r in legacy_list()) {
        let line = encode(&r.to_frame());
        let (_, back) = Reply::decode_line(line.as_bytes(), true).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), legacy in any::<bool>()) {
        if let Ok(f) = decode(&bytes, MAX_FIELD) {
            let _ = Request::from_frame(&f);
            let _ = Reply::from_frame(&f, legacy);
        }
    }

    #[test]
    fn mutated_requests_never_panic(r in request(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut line = encode(&r.to_frame()).into_bytes();
        if !line.is_empty() {
            let i = pos.index(line.len());
            line[i] = byte;
        }
        if let Ok(f) = decode(&line, MAX_FIELD) {
            let _ = Request::from_frame(&f);
        }
    }
}

#[test]
fn kcms_reply_is_exactly_kcms() {
    let r = Reply::ProcessList(vec![
        NodeProcs {
            node: "node1".into(),
            procs: vec![
                LegacyProc {
                    pid: 4711,
                    name: "solver".into(),
                    terminated: false,
                },
                LegacyProc {
                    pid: 4712,
                    name: "mpirun".into(),
                    terminated: true,
                },
            ],
        },
        NodeProcs {
            node: "node2".into(),
            procs: vec![],
        },
        NodeProcs {
            node: "node3".into(),
            procs: vec![LegacyProc {
                pid: 7,
                name: "x".into(),
                terminated: false,
            }],
        },
    ]);
    assert_eq!(
        encode(&r.to_frame()),
        "node1|4711|solver|0&4712|mpirun|1&node2|node3|7|x|0&"
    );
    assert_eq!(
        encode(
            &Request::Kil {
                pid: 4711,
                node: "node07".into()
            }
            .to_frame()
        ),
        "KIL|4711|node07"
    );
    assert_eq!(
        encode(
            &Request::Mig {
                pid: 1,
                from: "10.0.0.1".into(),
                to: "node2.example".into()
            }
            .to_frame()
        ),
        "MIG|1|10.0.0.1|node2.example"
    );
}

#[test]
fn bad_requests_say_why() {
    let bad = |s: &str| {
        Request::from_frame(&decode(s.as_bytes(), MAX_FIELD).unwrap())
            .unwrap_err()
            .0
    };
    assert_eq!(bad("KIL|abc|node1"), "pid 'abc' is not a number");
    assert_eq!(bad("KIL|1"), "expected KIL|pid|node");
    assert_eq!(bad("FLY|away"), "unknown request 'FLY'");
    assert!(bad("SIG|1|n|SEGV").contains("is not a signal Gantry sends"));
    assert!(bad("SUBMIT|colour=red").contains("unknown job field 'colour'"));
    // An unescaped `&` would cut a request short: refused, not half read.
    for cut in ["LOGIN|alice|pw&x", "PING&junk", "REQ|alice&garbage|more"] {
        assert!(bad(cut).contains("ampersand"), "{cut}");
    }
}

#[test]
fn kcms_listing_with_nodes_without_processes() {
    let (_, r) = Reply::decode_line(b"n1|n2|7|x|0&8|y|1&n3|", true).unwrap();
    let Reply::ProcessList(nodes) = r else {
        panic!("{r:?}")
    };
    let shape: Vec<(&str, usize)> = nodes
        .iter()
        .map(|n| (n.node.as_str(), n.procs.len()))
        .collect();
    assert_eq!(shape, vec![("n1", 0), ("n2", 2), ("n3", 0)]);
    assert!(nodes[1].procs[1].terminated);
    assert_eq!(
        encode(&Reply::ProcessList(nodes).to_frame()),
        "n1|n2|7|x|0&8|y|1&n3|"
    );
    // The form earlier builds wrote (`node|&`) still reads.
    let (_, r) = Reply::decode_line(b"n1|&n2|7|x|0&", true).unwrap();
    assert!(matches!(r, Reply::ProcessList(n) if n.len() == 2 && n[0].procs.is_empty()));
}
