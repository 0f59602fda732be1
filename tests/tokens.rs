//! Tokens (issue 11): a token nearing its expiry is renewed while requests go on with it, and
//! a host may keep the token outside the checkpoint and hand it to the resumed run, which checks
//! it as any token (expired: not used; refused: dropped and fetched anew), on a simulated
//! Foundry and clock. Token requests take a slot of the rate window on Foundry.

mod support;

use learner_sync::sync::{Request, Response, SyncEngine, SyncOptions};
use learner_sync::{PlanOptions, SourceFormat};
use serde_json::{json, Value};
use support::foundry::{user, FoundrySim, BASE};
use support::{invocation, is_token, Sent};

/// `n` users on the platform, each renamed in the source: one PATCH each.
fn renamed(n: usize) -> (FoundrySim, String) {
    let mut src = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 0..n {
        src.push_str(&format!("{i},F{i},New,p{i}@example.org,true\n"));
    }
    (FoundrySim::new((0..n).map(|i| user(i, "Old", true)).collect(), 5), src)
}

fn engine(extra: Value, src: &str) -> SyncEngine {
    let mut c =
        json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "retry": {"baseMs": 100, "maxMs": 1000}});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    let opts = PlanOptions::from_json(br#"{"platform":"foundry"}"#).unwrap();
    let mut e = SyncEngine::new(opts, SyncOptions::from_json(c.to_string().as_bytes()).unwrap()).unwrap();
    e.add_source(src.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    e
}

fn tokens(sent: &Sent) -> usize {
    sent.iter().filter(|s| s.2).count()
}

#[test]
fn a_token_nearing_its_expiry_is_renewed_while_requests_go_on_with_the_old_one() {
    // Tokens live 30 s (and say so); 600 writes at 10 a second take a minute: two renewals.
    let (mut sim, src) = renamed(600);
    sim.announced_token_ttl = Some(30);
    sim.token_life_ms = 30_000;
    (sim.limit, sim.window_ms) = (20, 1_000);
    let mut e = engine(json!({"rate": {"limit": 10, "windowMs": 1000}}), &src);
    let mut now = 0;
    // A slow token endpoint: each token answer takes 800 ms.
    let (r, sent) = invocation(&mut e, &mut now, 800, |req, now| sim.handle(req, now));
    assert!(r.finished && r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.counts.done, 600);
    assert_eq!(sim.stats.rate_limited, 0);
    let renewals: Vec<_> = sent.iter().filter(|s| s.2).skip(1).collect();
    assert!(renewals.len() >= 2, "{} renewals in {now} ms", renewals.len());
    for (at, answered, _) in &renewals {
        let meanwhile = sent.iter().filter(|s| !s.2 && s.0 > *at && s.0 < *answered).count();
        println!("renewal at {at} ms: {meanwhile} requests sent while it was answered");
        assert!(meanwhile >= 5, "a renewal at {at} ms held the queue: {meanwhile} requests meanwhile");
    }
    // No request met an expired token: no 401, no retry.
    assert_eq!(r.retries, 0);
    assert_eq!(tokens(&sent), 1 + renewals.len());
    assert!(tokens(&sent) as u64 <= now / 27_000 + 1, "{} tokens in {now} ms", tokens(&sent));
}

#[test]
fn a_token_handed_in_is_used_and_no_token_is_fetched() {
    let (mut sim, src) = renamed(50);
    let now0 = 1_800_000_000_000;
    let (value, expires_at) = sim.grant(now0 - 600_000);
    let mut e = engine(json!({}), &src);
    assert!(e.use_token(&value, expires_at, now0));
    let mut now = now0;
    let (r, sent) = invocation(&mut e, &mut now, 20, |req, now| sim.handle(req, now));
    assert!(r.finished && r.error.is_none() && r.counts.done == 50, "{r:?}");
    assert_eq!(tokens(&sent), 0);
    assert_eq!(e.take_new_token(), None, "nothing new to keep");
}

#[test]
fn an_expired_token_handed_in_is_not_used() {
    let (mut sim, src) = renamed(5);
    let (value, expires_at) = sim.grant(0);
    let mut e = engine(json!({}), &src);
    assert!(!e.use_token(&value, expires_at, expires_at), "expired");
    assert!(!e.use_token("with space", expires_at, 0), "not a header value");
    let mut now = expires_at;
    let (r, sent) = invocation(&mut e, &mut now, 20, |req, now| sim.handle(req, now));
    assert!(r.finished && r.error.is_none() && r.counts.done == 5, "{r:?}");
    assert_eq!(tokens(&sent), 1);
    assert_eq!(r.retries, 0, "no request went with the expired token");
}

#[test]
fn a_token_handed_in_that_the_platform_refuses_is_dropped_and_fetched_anew() {
    let (mut sim, src) = renamed(20);
    let mut e = engine(json!({}), &src);
    assert!(e.use_token("revoked-or-made-up", 7_200_000, 0));
    let mut now = 0;
    let (r, sent) = invocation(&mut e, &mut now, 20, |req, now| sim.handle(req, now));
    assert!(r.finished && r.error.is_none() && r.counts.done == 20, "{r:?}");
    assert_eq!(tokens(&sent), 1);
    let (value, expires_at) = e.take_new_token().expect("the token fetched, for the host to keep");
    assert_eq!(value, "tok1");
    assert!(expires_at > now && expires_at <= now + 7_200_000, "{expires_at}");
    assert_eq!(e.take_new_token(), None, "given once");
}

/// The next request the engine sends, the clock moved on to when it may go (requests are paced).
fn next_request(e: &mut SyncEngine, now: &mut u64) -> Request {
    loop {
        if let Some(req) = e.poll_transmit(*now) {
            return req;
        }
        *now = e.poll_timeout(*now).expect("a request is due at some time");
    }
}

#[test]
fn a_request_restored_in_flight_that_meets_a_401_drops_the_handed_token() {
    let (mut sim, src) = renamed(30);
    let mut e = engine(json!({}), &src);
    let mut now = 0;
    e.start(now).unwrap();
    // The token, then every page of the listing, then writes go out: stop with one in flight.
    let mut id = None;
    while id.is_none() {
        let req = next_request(&mut e, &mut now);
        let answer = sim.handle(&req, now);
        if req.method != learner_sync::sync::Method::Get && !is_token(&req) {
            id = Some(req.id);
            break;
        }
        now += 20;
        e.handle_response(req.id, now, answer);
    }
    let (value, expires_at) = e.take_new_token().expect("fetched");
    let checkpoint = e.checkpoint();
    assert!(!String::from_utf8_lossy(&checkpoint).contains(&value), "the checkpoint holds no token");
    // The next invocation: the platform has revoked the token the host kept.
    sim.revoke_tokens();
    let sync_options = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});
    let mut resumed = SyncEngine::resume(&checkpoint, &sync_options, None).unwrap();
    resumed.add_source(src.as_bytes(), SourceFormat::Auto, "source.csv").ok();
    assert!(resumed.use_token(&value, expires_at, now));
    resumed.start(now).unwrap();
    resumed.handle_response(id.unwrap(), now, Ok(Response::new(401, r#"{"errors":[{"title":"Unauthorized"}]}"#)));
    let next = next_request(&mut resumed, &mut now);
    assert!(is_token(&next), "the refused token is dropped: a new one is fetched first");
    let answer = sim.handle(&next, now);
    resumed.handle_response(next.id, now + 20, answer);
    now += 20;
    let (r, sent) = invocation(&mut resumed, &mut now, 20, |req, now| sim.handle(req, now));
    assert!(r.finished && r.error.is_none() && r.counts.done == 30, "{r:?}");
    assert_eq!(tokens(&sent), 0);
}

#[test]
fn a_refused_token_the_hosts_cache_hands_in_again_at_the_next_step_is_not_used() {
    // A stateless host (the step API) resumes from the state at every step and hands in what
    // its cache holds, which is still the refused token until a new one replaces it there.
    let (mut sim, src) = renamed(30);
    let mut e = engine(json!({}), &src);
    let mut now = 0;
    e.start(now).unwrap();
    let first = next_request(&mut e, &mut now);
    assert!(is_token(&first));
    let answer = sim.handle(&first, now);
    e.handle_response(first.id, now, answer);
    let (value, expires_at) = e.take_new_token().expect("fetched");
    sim.revoke_tokens();
    let page = next_request(&mut e, &mut now);
    let answer = sim.handle(&page, now);
    assert_eq!(answer.as_ref().map(|r| r.status).ok(), Some(401));
    e.handle_response(page.id, now, answer);
    let sync_options = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});
    let mut next_step = SyncEngine::resume(&e.checkpoint(), &sync_options, None).unwrap();
    next_step.add_source(src.as_bytes(), SourceFormat::Auto, "source.csv").ok();
    assert!(!next_step.use_token(&value, expires_at, now), "the refused token is not taken back");
    next_step.start(now).unwrap();
    let req = next_request(&mut next_step, &mut now);
    assert!(is_token(&req), "a new token is fetched first");
}

#[test]
fn token_requests_take_a_slot_of_the_rate_window_on_foundry() {
    // Two requests a minute: the token and the first page take the first minute's slots.
    let (mut sim, src) = renamed(3);
    let mut e = engine(json!({"rate": {"limit": 2, "windowMs": 60_000}}), &src);
    let mut now = 0;
    let (r, sent) = invocation(&mut e, &mut now, 20, |req, now| sim.handle(req, now));
    assert!(r.finished && r.error.is_none(), "{:?}", r.error);
    assert!(sent[0].2, "the token first");
    assert!(sent[2].0 >= 60_000, "the third request waited for the window: {sent:?}");
}
