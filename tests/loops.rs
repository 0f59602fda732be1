//! Every loop ends (issue 10, item 7), on a simulated Foundry and clock: short-lived tokens,
//! a token endpoint that answers 429 forever, a Retry-After of ten years or given as an
//! HTTP-date, listings that never end, and answers that never end. Each platform misbehaviour
//! is bounded in the test itself (a token or list request past a ceiling is refused), so a
//! regression fails rather than hangs.

mod support;

use learner_sync::sync::{Method, Request, Response, State, SyncEngine, SyncOptions, SyncReport, TransportError};
use learner_sync::{PlanOptions, SourceFormat};
use serde_json::{json, Value};
use support::foundry::{user, FoundrySim, BASE};
use support::invocation;

const FOUNDRY: &str = r#"{"platform":"foundry"}"#;

fn config(extra: Value) -> Value {
    let mut c =
        json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "retry": {"baseMs": 100, "maxMs": 1000}});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// `n` users on the platform, each renamed in the source: one PATCH each.
fn renamed(n: usize) -> (FoundrySim, String) {
    let mut src = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 0..n {
        src.push_str(&format!("{i},F{i},New,p{i}@example.org,true\n"));
    }
    (FoundrySim::new((0..n).map(|i| user(i, "Old", true)).collect(), 3), src)
}

fn engine(config: &Value, src: &str) -> SyncEngine {
    let opts = PlanOptions::from_json(FOUNDRY.as_bytes()).unwrap();
    let mut e = SyncEngine::new(opts, SyncOptions::from_json(config.to_string().as_bytes()).unwrap()).unwrap();
    e.add_source(src.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    e
}

/// One invocation (see [`support::invocation`]), every answer 20 ms; its report.
fn invocation_report(
    e: &mut SyncEngine,
    now: &mut u64,
    handle: impl FnMut(&Request, u64) -> Result<Response, TransportError>,
) -> SyncReport {
    invocation(e, now, 20, handle).0
}

const TOKEN_CEILING: u32 = 2_000;

/// A sync of `n` renamed users whose tokens announce `ttl` seconds; returns the report and
/// the token requests. Past [`TOKEN_CEILING`] token requests the platform refuses the client.
fn with_token_ttl(ttl: u64, n: usize, extra: Value) -> (SyncReport, u32, u64) {
    let (mut sim, src) = renamed(n);
    sim.announced_token_ttl = Some(ttl);
    let mut e = engine(&config(extra), &src);
    let (mut now, mut tokens) = (0, 0u32);
    let report = invocation_report(&mut e, &mut now, |r, now| {
        if r.url.ends_with("/oauth/token") {
            tokens += 1;
            if tokens > TOKEN_CEILING {
                return Ok(Response::new(401, r#"{"error":"invalid_client"}"#));
            }
        }
        sim.handle(r, now)
    });
    (report, tokens, now)
}

#[test]
fn a_token_announced_to_live_no_time_serves_the_requests_ready_and_causes_no_storm() {
    let (r, tokens, _) = with_token_ttl(0, 300, json!({}));
    assert!(r.finished && r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.counts.done, 300);
    let others = r.requests - tokens;
    println!("expires_in 0: {tokens} token requests for {others} others");
    // One a page while listing (one request is ready), one per 4 writes (the concurrency).
    assert!(tokens <= 4 + others / 4 + 2, "{tokens} token requests for {others} others");
}

#[test]
fn a_thirty_second_token_is_renewed_three_seconds_before_it_expires() {
    let (r, tokens, now) = with_token_ttl(30, 600, json!({}));
    assert!(r.finished && r.error.is_none(), "{:?}", r.error);
    println!("expires_in 30: {tokens} token requests in {} s simulated", now / 1000);
    assert!(tokens as u64 <= now / 27_000 + 2, "{tokens} tokens in {now} ms");
}

#[test]
fn a_resumed_run_with_tokens_that_live_no_time_fetches_no_more_than_one_per_burst() {
    let (mut sim, src) = renamed(200);
    sim.announced_token_ttl = Some(0);
    let cfg = config(json!({"budget": {"requests": 30}}));
    let (mut now, mut tokens, mut saved, mut invocations) = (0, 0u32, None::<Vec<u8>>, 0);
    loop {
        let mut e = match &saved {
            None => engine(&cfg, &src),
            Some(cp) => {
                let mut e =
                    SyncEngine::resume(cp, &json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()}), None)
                        .unwrap();
                if e.needs_source() {
                    e.add_source(src.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
                }
                e
            }
        };
        let r = invocation_report(&mut e, &mut now, |r, now| {
            if r.url.ends_with("/oauth/token") {
                tokens += 1;
                if tokens > TOKEN_CEILING {
                    return Ok(Response::new(401, "{}"));
                }
            }
            sim.handle(r, now)
        });
        invocations += 1;
        if r.finished {
            assert!(r.error.is_none(), "{:?}", r.error);
            assert_eq!(r.counts.done, 200);
            let others = r.requests - tokens;
            println!("resumed, expires_in 0: {tokens} token requests for {others} others in {invocations} invocations");
            assert!(tokens <= others, "{tokens} token requests for {others} others");
            break;
        }
        assert!(r.suspended && invocations < 100, "{:?}", r.error);
        saved = Some(e.checkpoint());
        now += 1_000;
    }
}

#[test]
fn a_token_endpoint_answering_429_forever_ends_the_run_rate_limited_within_max_rate_limited() {
    let (_, src) = renamed(5);
    let mut e = engine(&config(json!({"retry": {"maxRateLimited": 5, "baseMs": 100, "maxMs": 1000}})), &src);
    let (mut now, mut tokens) = (0, 0u32);
    let r = invocation_report(&mut e, &mut now, |r, _| {
        assert!(r.url.ends_with("/oauth/token"), "nothing but token requests can go");
        tokens += 1;
        if tokens > TOKEN_CEILING {
            return Ok(Response::new(401, "{}"));
        }
        Ok(Response::new(429, r#"{"errors":[{"title":"Too Many Requests"}]}"#))
    });
    let error = r.error.as_ref().unwrap();
    assert_eq!(error.code, "RATE_LIMITED", "{error:?}");
    assert!(error.message.contains("access token"), "{error:?}");
    assert_eq!(tokens, 6, "the first and 5 retries");
    assert_eq!(r.rate_limited, 6);
    assert!(r.finished);
}

#[test]
fn retry_after_given_as_an_http_date_is_waited_out_against_the_hosts_clock() {
    let (mut sim, src) = renamed(3);
    let mut e = engine(&config(json!({})), &src);
    // The host's clock is ms since the Unix epoch: 2015-10-21T07:27:00Z.
    let mut now = 1_445_412_420_000u64;
    let (mut refused_at, mut after) = (None, None);
    let r = invocation_report(&mut e, &mut now, |r, now| {
        if r.method == Method::Patch && refused_at.is_none() {
            refused_at = Some(now);
            let resp = Response::new(429, "{}").with_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");
            return Ok(resp);
        }
        // (Requests sent in the same instant as the refused one are already on their way.)
        if refused_at.is_some_and(|t| now > t) && after.is_none() {
            after = Some(now);
        }
        sim.handle(r, now)
    });
    assert!(r.finished && r.error.is_none() && r.counts.done == 3, "{r:?}");
    let after = after.unwrap();
    assert!(after >= 1_445_412_480_000, "the next request came at {after}, before the date");
}

#[test]
fn a_retry_after_of_ten_years_suspends_the_invocation_rate_limited_and_resumes_once_the_pause_is_over() {
    let (mut sim, src) = renamed(3);
    let mut e = engine(&config(json!({})), &src);
    let ten_years_s: u64 = 10 * 365 * 86_400;
    let (mut now, mut refused, mut sent) = (1_700_000_000_000u64, false, 0);
    let r = invocation_report(&mut e, &mut now, |r, now| {
        sent += 1;
        if r.method == Method::Patch && !refused {
            refused = true;
            return Ok(Response::new(429, "{}").with_header("Retry-After", &ten_years_s.to_string()));
        }
        sim.handle(r, now)
    });
    assert!(r.suspended && !r.finished, "{r:?}");
    let error = r.error.as_ref().unwrap();
    assert_eq!(error.code, "RATE_LIMITED");
    assert!(error.message.contains("retry.maxWaitMs"), "{}", error.message);
    assert!(now < 1_700_000_000_000 + 900_000, "the invocation did not wait: it ended at {now}");
    let resume_at = r.resume_at.expect("the report says when the pause ends");
    assert!(resume_at >= 1_700_000_000_000 + ten_years_s * 1000, "{resume_at}");
    let checkpoint = e.checkpoint();
    let sync_options = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials()});

    // Resumed an hour later: still paused, so suspended again without a request.
    let mut again = SyncEngine::resume(&checkpoint, &sync_options, None).unwrap();
    let mut later = now + 3_600_000;
    let before = sent;
    let r = invocation_report(&mut again, &mut later, |r, now| {
        sent += 1;
        sim.handle(r, now)
    });
    assert!(r.suspended && r.error.as_ref().unwrap().code == "RATE_LIMITED", "{r:?}");
    assert_eq!(sent, before, "nothing sent while the platform's pause lasts");

    // Resumed once the pause is over: the run carries on and finishes.
    let mut last = SyncEngine::resume(&again.checkpoint(), &sync_options, None).unwrap();
    assert_eq!(r.resume_at, Some(resume_at));
    let mut after = resume_at;
    let r = invocation_report(&mut last, &mut after, |r, now| sim.handle(r, now));
    assert!(r.finished && r.error.is_none(), "{r:?}");
    assert_eq!(r.counts.done, 3);
}

#[test]
fn a_pause_within_max_wait_is_waited_out_in_the_invocation() {
    let (mut sim, src) = renamed(3);
    let mut e = engine(&config(json!({"retry": {"maxWaitMs": 120_000}})), &src);
    let (mut now, mut refused) = (0u64, false);
    let r = invocation_report(&mut e, &mut now, |r, now| {
        if r.method == Method::Patch && !refused {
            refused = true;
            return Ok(Response::new(429, "{}").with_header("Retry-After", "100"));
        }
        sim.handle(r, now)
    });
    assert!(r.finished && r.error.is_none(), "{r:?}");
    assert!(now >= 100_000);
}

/// How a hostile listing answers a list request, given the simulator's answer.
#[derive(Clone, Copy, Debug)]
enum Listing {
    RepeatPage,
    EmptyPagesWithNext,
    FullPagesNoLinks,
}

const LIST_CEILING: u32 = 1_000;

fn hostile_listing(mode: Listing) -> (SyncReport, u32, FoundrySim) {
    let (mut sim, src) = renamed(250);
    let mut e = engine(&config(json!({})), &src);
    let (mut now, mut lists) = (0, 0u32);
    let r = invocation_report(&mut e, &mut now, |r, now| {
        if r.method != Method::Get {
            return sim.handle(r, now);
        }
        lists += 1;
        if lists > LIST_CEILING {
            return Ok(Response::new(500, "{}"));
        }
        let mut req = r.clone();
        if matches!(mode, Listing::RepeatPage | Listing::FullPagesNoLinks) {
            req.url = req.url.replace(&format!("page[page]={}", page_of(&r.url)), "page[page]=1");
        }
        let resp = sim.handle(&req, now)?;
        let mut doc: Value = serde_json::from_slice(&resp.body).unwrap();
        match mode {
            Listing::RepeatPage => {}
            Listing::EmptyPagesWithNext => {
                doc["data"] = json!([]);
                doc["links"]["next"] = json!(format!("{BASE}/v1/admin/users?page[page]=2"));
            }
            Listing::FullPagesNoLinks => {
                doc.as_object_mut().unwrap().remove("links");
                doc.as_object_mut().unwrap().remove("meta");
            }
        }
        Ok(Response::new(200, doc.to_string()))
    });
    (r, lists, sim)
}

fn page_of(url: &str) -> u64 {
    let at = url.find("page[page]=").unwrap() + "page[page]=".len();
    url[at..].split('&').next().unwrap().parse().unwrap()
}

#[test]
fn listings_that_never_end_stop_with_paging_loop_before_any_write() {
    for mode in [Listing::RepeatPage, Listing::EmptyPagesWithNext, Listing::FullPagesNoLinks] {
        let (r, lists, sim) = hostile_listing(mode);
        let error = r.error.as_ref().unwrap_or_else(|| panic!("{mode:?}: no error: {:?}", r.counts));
        assert_eq!(error.code, "PAGING_LOOP", "{mode:?}: {error:?}");
        assert!(lists <= 3, "{mode:?}: {lists} list requests");
        assert_eq!((sim.stats.patches, sim.stats.creates), (0, 0), "{mode:?}: nothing written");
        assert!(r.finished && r.counts.done == 0);
        println!("{mode:?}: stopped after {lists} list requests: {}", error.message);
    }
}

#[test]
fn an_answer_longer_than_the_page_bound_stops_the_run_with_response_too_large() {
    // While listing: nothing is written.
    let (mut sim, src) = renamed(5);
    let mut e = engine(&config(json!({})), &src);
    let mut now = 0;
    let r = invocation_report(&mut e, &mut now, |r, now| match r.method {
        Method::Get => Err(TransportError::TooLarge),
        _ => sim.handle(r, now),
    });
    assert_eq!(r.error.as_ref().map(|e| e.code.as_str()), Some("RESPONSE_TOO_LARGE"), "{r:?}");
    assert_eq!(sim.stats.patches, 0);
    // A write whose answer is too long may have taken effect: it fails, saying so.
    let mut sim = FoundrySim::new(vec![], 4);
    let src = "ssoId,firstName,lastName,email,active\n1,Ann,Lee,ann@x.org,true\n2,Bo,Ek,bo@x.org,true\n";
    let mut e = engine(&config(json!({"concurrency": 1})), src);
    let mut now = 0;
    let r = invocation_report(&mut e, &mut now, |r, now| {
        let answer = sim.handle(r, now);
        if r.method == Method::Post && !r.url.ends_with("/oauth/token") {
            return Err(TransportError::TooLarge);
        }
        answer
    });
    assert_eq!(r.error.as_ref().map(|e| e.code.as_str()), Some("RESPONSE_TOO_LARGE"));
    let first = &r.outcomes[0];
    assert_eq!(first.state, State::Failed);
    assert!(first.error.as_deref().unwrap().contains("unknown"), "{first:?}");
    assert!(r.created.is_empty());
    // A body handed back whole past the bound is taken the same way (the step API).
    let (mut sim, src) = renamed(2);
    let mut e = engine(&config(json!({})), &src);
    let mut now = 0;
    let mut huge = Some(vec![b' '; learner_sync::sync::MAX_RESPONSE_BYTES + 1]);
    let r = invocation_report(&mut e, &mut now, |r, now| match r.method {
        Method::Get => Ok(Response::new(200, huge.take().expect("one list request"))),
        _ => sim.handle(r, now),
    });
    assert_eq!(r.error.as_ref().map(|e| e.code.as_str()), Some("RESPONSE_TOO_LARGE"));
}
