//! Fuzz target: the central manager's requests and replies (src/cm/proto.rs, src/cm/link.rs,
//! docs/protocol.md).
//!
//! The input is one line without its newline. Checked:
//!
//! - read as the manager reads a client's line (`codec::decode` with `MAX_FIELD`, then
//!   `Request::from_frame`), a request survives being sent back (`link::request_line`: the
//!   frame, its tag and a newline) and read again: same tag, equal request;
//! - `link::incoming` never panics with the field limit either end of the agent link reads
//!   with (`MAX_FIELD` at the agent, `MAX_REPLY_LINE` at the manager once the agent has
//!   registered), reads a request as `codec::decode` + `Request::from_frame` with that limit
//!   do (with `MAX_FIELD`: as the manager reads a client), and its requests and replies
//!   survive the same trip;
//! - `Reply::decode_line`, which the console and the agents use, never panics for either value
//!   of `legacy`; without `legacy`, a reply survives `link::reply_line` → `decode_line`.
//!   KCMS's `REQ` answer (`legacy`) is only checked for not panicking: the format itself is
//!   ambiguous (a node named `7` followed by nodes `x` and `0` reads back as a node with
//!   process 7), so a round trip there is not something the code can promise.
//!
//! Requests and replies are compared with `==`, or failing that by their `Debug` text: a load
//! or CPU share sent as `NaN` is read as an f32 NaN, written back as `NaN` and read again as
//! NaN, which is the same value although `NaN != NaN`.

use std::fmt::Debug;

use gantry::cm::codec::{self, MAX_FIELD, MAX_REPLY_LINE};
use gantry::cm::link::{self, Incoming};
use gantry::cm::proto::{Reply, Request};

fn same<T: PartialEq + Debug>(a: &T, b: &T) -> bool {
    a == b || format!("{a:?}") == format!("{b:?}")
}

/// The line without its single trailing newline; panics when the writer did not end it with
/// exactly one.
fn one_line(sent: &str) -> &[u8] {
    let body = sent
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("a line without its newline: {sent:?}"));
    assert!(
        !body.contains(['\n', '\r']),
        "a line break inside a sent line: {sent:?}"
    );
    body.as_bytes()
}

/// A request as read with a field limit: with `MAX_FIELD` as the manager reads a client's line
/// (src/cm/manager/listen.rs, `decode_request`).
fn read_request(line: &[u8], max_field: usize) -> Result<(Option<u64>, Request), String> {
    let frame = codec::decode(line, max_field).map_err(|e| e.to_string())?;
    let request = Request::from_frame(&frame).map_err(|e| e.0)?;
    Ok((frame.tag, request))
}

/// Sends `request` and reads it back with the same field limit. (A request never grows past
/// a limit it was read under: what is rewritten — numbers, signal names, `yes`/`no` flags, job
/// keywords — is written in a canonical spelling of a few dozen characters at most.)
fn check_request_round_trip(tag: Option<u64>, request: &Request, max_field: usize) {
    assert_eq!(
        request.to_frame().verb(),
        request.verb(),
        "to_frame writes another verb than verb() names: {request:?}"
    );
    let sent = link::request_line(tag, request);
    let (tag2, again) = read_request(one_line(&sent), max_field).unwrap_or_else(|e| {
        panic!("a request read from the wire does not read back: {e}\nsent {sent:?}\nrequest {request:?}")
    });
    assert_eq!(tag2, tag, "the tag changed; sent {sent:?}");
    assert!(
        same(&again, request),
        "the request changed on its way back\nsent  {sent:?}\nfirst {request:?}\nagain {again:?}"
    );
}

fn check_reply_round_trip(tag: Option<u64>, reply: &Reply) {
    let sent = link::reply_line(tag, reply);
    // Read back as the console and the agents read replies (`decode_line`, whose fields may be
    // as long as a reply line). Not through `incoming` with MAX_FIELD: a reply may legitimately
    // grow on the way (an `OK|JOB` field without `=` is read as key with an empty value and
    // written back as `key=`), so a field at exactly MAX_FIELD would no longer fit.
    let (tag2, again) = Reply::decode_line(one_line(&sent), false).unwrap_or_else(|e| {
        panic!("a reply read from the wire does not read back: {e}\nsent {sent:?}\nreply {reply:?}")
    });
    assert_eq!(tag2, tag, "the tag changed; sent {sent:?}");
    assert!(
        same(&again, reply),
        "the reply changed on its way back\nsent  {sent:?}\nfirst {reply:?}\nagain {again:?}"
    );
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // A client's line at the manager.
        let client = read_request(data, MAX_FIELD).ok();
        if let Some((tag, request)) = &client {
            check_request_round_trip(*tag, request, MAX_FIELD);
        }

        // A line on the agent link, at the agent and at the manager.
        for max_field in [MAX_FIELD, MAX_REPLY_LINE] {
            match link::incoming(data, max_field) {
                Ok(Incoming::Request(tag, request)) => {
                    // `incoming` sends everything but OK/ERR to `Request::from_frame`.
                    let direct = if max_field == MAX_FIELD {
                        client.clone()
                    } else {
                        read_request(data, max_field).ok()
                    };
                    match direct {
                        Some((dtag, drequest)) => assert!(
                            dtag == tag && same(&drequest, &*request),
                            "incoming({max_field}) and decode + from_frame read different requests: {request:?} / {drequest:?}"
                        ),
                        None => panic!(
                            "incoming({max_field}) read a request decode + from_frame refuse: {request:?}"
                        ),
                    }
                    check_request_round_trip(tag, &request, max_field);
                }
                Ok(Incoming::Reply(tag, reply)) => check_reply_round_trip(tag, &reply),
                Err(_) => {}
            }
        }

        // A reply line at the console or an agent.
        if let Ok((tag, reply)) = Reply::decode_line(data, false) {
            check_reply_round_trip(tag, &reply);
        }
        if let Ok((_, reply)) = Reply::decode_line(data, true) {
            // Writing it must not panic either (the manager writes this form for REQ).
            let _ = codec::encode(&reply.to_frame());
        }
    });
}
