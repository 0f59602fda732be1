//! Pacing (issue 11) on the simulated clock against the simulated Foundry: requests are
//! spread, a run of 429s is one congestion event, a pause ends with one probe, the rate climbs
//! back when the platform's budget rises, and `RateLimit-*` headers are honoured. Behaviour
//! only: every time here is simulated.

mod support;

use learner_sync::sync::{Request, Response, SyncEngine, SyncOptions};
use learner_sync::{PlanOptions, SourceFormat};
use serde_json::{json, Value};
use support::foundry::{user, FoundrySim, BASE};

/// A request as the platform saw it.
#[derive(Debug)]
struct Sent {
    at: u64,
    status: u16,
}

/// A sync changing the last name of users `0..changes` on a platform of `changes` users.
fn engine(changes: usize, extra: Value) -> SyncEngine {
    let mut config = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "seed": 3});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let mut source = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 0..changes {
        source.push_str(&format!("{i},F{i},New,p{i}@example.org,true\n"));
    }
    let options = PlanOptions::from_json(br#"{"platform":"foundry"}"#).unwrap();
    let config = SyncOptions::from_json(config.to_string().as_bytes()).unwrap();
    let mut sync = SyncEngine::new(options, config).unwrap();
    sync.add_source(source.as_bytes(), SourceFormat::Auto, "source.csv").unwrap();
    sync
}

fn platform(changes: usize, limit: u32, window_ms: u64) -> FoundrySim {
    let mut sim = FoundrySim::new((0..changes).map(|i| user(i, "Old", true)).collect(), 5);
    sim.limit = limit;
    sim.window_ms = window_ms;
    sim
}

/// The rate bucket as the checkpoint shows it.
fn bucket(sync: &SyncEngine) -> Value {
    let saved: Value = serde_json::from_slice(&sync.checkpoint()).unwrap();
    saved["rate"].clone()
}

/// Runs `sync` to the end, each answer `latency_ms` after its request; `watch` sees the
/// engine and the platform after every answer (and may change the platform's limit).
fn run(
    sync: &mut SyncEngine,
    sim: &mut FoundrySim,
    latency_ms: u64,
    mut watch: impl FnMut(&SyncEngine, &mut FoundrySim, u64),
) -> Vec<Sent> {
    let mut now = 0;
    let mut sent = Vec::new();
    let mut pending: Vec<(u64, Request, Response)> = Vec::new();
    sync.start(now).unwrap();
    for _ in 0..1_000_000 {
        while let Some(req) = sync.poll_transmit(now) {
            let answer = sim.handle(&req, now).expect("no transport faults here");
            sent.push(Sent { at: now, status: answer.status });
            pending.push((now + latency_ms, req, answer));
        }
        if sync.is_finished() {
            let report = sync.report(now);
            assert_eq!((report.counts.failed, report.error), (0, None));
            return sent;
        }
        pending.sort_by_key(|p| p.0);
        let next = [pending.first().map(|p| p.0), sync.poll_timeout(now)].into_iter().flatten().min();
        now = next.expect("the sync waits for something");
        while pending.first().is_some_and(|p| p.0 <= now) {
            let (_, req, answer) = pending.remove(0);
            sync.handle_response(req.id, now, Ok(answer));
            watch(sync, sim, now);
        }
    }
    panic!("the sync did not end");
}

#[test]
fn requests_are_spread_no_more_than_the_burst_in_any_tenth_of_a_second() {
    let mut sync = engine(150, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 4}));
    let mut sim = platform(150, 40, 4000);
    let sent = run(&mut sync, &mut sim, 30, |_, _, _| {});
    assert!(sent.iter().all(|s| s.status != 429), "a lone client at the platform's budget meets no 429");
    for (i, s) in sent.iter().enumerate() {
        let soon = sent[i..].iter().take_while(|t| t.at < s.at + 100).count();
        assert!(soon <= 4, "{soon} requests within 100 ms of {} ms: more than the burst", s.at);
    }
    // Spread, not sent a window's worth at once: the first window's 40 take most of it.
    let first_window = sent.iter().take_while(|s| s.at < 4000).count();
    assert!(first_window <= 40, "{first_window}");
    assert!(sent[..40].last().unwrap().at >= 3000, "40 requests spread over 4 s, not one burst");
}

#[test]
fn a_run_of_429s_in_one_pause_lowers_the_rate_once() {
    // The platform allows half the configured budget: the first 429 finds four requests in
    // flight (round trips of 300 ms at 10 a second), all refused.
    let mut sync = engine(150, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 4}));
    let mut sim = platform(150, 20, 4000);
    let mut limits = vec![40.0];
    let mut drops_at_first_event = None;
    let sent = run(&mut sync, &mut sim, 300, |sync, _, _| {
        let limit = bucket(sync)["limit"].as_f64().unwrap();
        if limit != *limits.last().unwrap() {
            limits.push(limit);
        }
        let rate = bucket(sync);
        if drops_at_first_event.is_none()
            && rate["refusals"].as_u64() > Some(0)
            && !rate["congested"].as_bool().unwrap()
        {
            // The event is over (a request sent after it was accepted): count its decreases.
            drops_at_first_event = Some(limits.windows(2).filter(|w| w[1] < w[0]).count());
        }
    });
    let refused = sent.iter().filter(|s| s.status == 429).count();
    assert!(refused >= 2, "the first event is a run of 429s ({refused})");
    assert_eq!(drops_at_first_event, Some(1), "one decrease for the whole run of 429s: {limits:?}");
    let first_drop = limits[1];
    assert!(first_drop <= 20.0 * 0.95 + 1e-9, "at most 95% of what the platform allowed: {first_drop}");
    assert!(first_drop >= 40.0 * 0.25, "multiplicative, not to the floor: {first_drop}");
}

#[test]
fn after_a_pause_one_probe_goes_first() {
    let mut sync = engine(150, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 4}));
    let mut sim = platform(150, 20, 4000);
    sim.faults.retry_after = true;
    let sent = run(&mut sync, &mut sim, 30, |_, _, _| {});
    let first_429 = sent.iter().position(|s| s.status == 429).expect("the platform refuses");
    // The refused run: the 429s and the requests already in flight when the first came.
    let run_end = first_429 + sent[first_429..].iter().take_while(|s| s.status == 429).count();
    let probe = &sent[run_end];
    assert!(probe.at >= sent[first_429].at + 1000, "the pause is waited out");
    let with_probe = sent[run_end..].iter().take_while(|s| s.at < probe.at + 30).count();
    assert_eq!(with_probe, 1, "nothing goes beside the probe until its answer: {:?}", &sent[run_end..run_end + 5]);
    assert!(sent[run_end + 1].at >= probe.at + 30, "the next request follows the probe's answer");
}

#[test]
fn the_rate_climbs_back_within_two_minutes_after_the_platform_limit_rises() {
    // Halved for the first 30 s, then the whole budget again.
    let mut sync = engine(1_500, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 4}));
    let mut sim = platform(1_500, 20, 4000);
    let sent = run(&mut sync, &mut sim, 30, |_, sim, now| {
        if now >= 30_000 {
            sim.limit = 40;
        }
    });
    let accepted_in = |from: u64| sent.iter().filter(|s| s.status != 429 && s.at >= from && s.at < from + 4000).count();
    let back = (30_000..sent.last().unwrap().at).step_by(1000).find(|&t| accepted_in(t) >= 36);
    let back = back.expect("the rate came back to 90% of the platform's");
    assert!(back <= 30_000 + 120_000, "back at 90% {} s after the rise", (back - 30_000) / 1000);
    // And the rise cost no burst of 429s: only the first event's.
    let after_first = sent.iter().skip_while(|s| s.status != 429).skip_while(|s| s.status == 429);
    let later_bursts =
        after_first.collect::<Vec<_>>().windows(2).filter(|w| w[0].status != 429 && w[1].status == 429).count();
    assert!(later_bursts <= 1, "{later_bursts} more bursts of 429s");
}

#[test]
fn ratelimit_headers_set_the_rate_and_no_429_is_met() {
    // Configured at twice what the platform allows, but the platform says so in every answer.
    let mut sync = engine(150, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 4}));
    let mut sim = platform(150, 20, 4000);
    sim.faults.rate_limit_headers = true;
    let mut limit = None;
    let sent = run(&mut sync, &mut sim, 30, |sync, _, _| limit = bucket(sync)["limit"].as_f64());
    assert_eq!(sent.iter().filter(|s| s.status == 429).count(), 0, "taught by the headers, not by 429s");
    assert_eq!(limit, Some(19.0), "95% of the policy's 20 per 4 s");
    let span = sent.last().unwrap().at as f64 / 1000.0;
    let rate = sent.len() as f64 / span;
    assert!(rate >= 4.5 * 0.9, "{rate:.2} requests a second: about the platform's 5");
}

#[test]
fn a_429_saying_the_budget_is_spent_pauses_until_its_reset() {
    // No Retry-After: X-RateLimit-Remaining 0 and a reset 7 s ahead say how long to wait.
    let mut sync = engine(20, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 1}));
    sync.start(0).unwrap();
    let token = sync.poll_transmit(0).unwrap();
    let mut sim = platform(20, 40, 4000);
    sync.handle_response(token.id, 10, sim.handle(&token, 0));
    let at = sync.poll_timeout(10).unwrap();
    let list = sync.poll_transmit(at).unwrap();
    let spent = Response::new(429, "{}")
        .with_header("X-RateLimit-Remaining", "0")
        .with_header("X-RateLimit-Reset", "7")
        .with_header("X-RateLimit-Limit", "40");
    sync.handle_response(list.id, at + 10, Ok(spent));
    assert!(sync.poll_transmit(at + 10).is_none());
    assert_eq!(sync.poll_timeout(at + 10), Some(at + 7010), "until the reset, not an exponential guess");
    assert!(sync.poll_transmit(at + 7010).is_some(), "the probe after it");
}

#[test]
fn a_rate_share_spreads_at_the_configured_rate_times_the_share() {
    // Half of 40 per 4 s: 20 per 4 s, one request every 200 ms after the burst.
    let mut sync = engine(100, json!({"rate": {"limit": 40, "windowMs": 4000, "share": 0.5}, "concurrency": 4}));
    let mut sim = platform(100, 40, 4000);
    let sent = run(&mut sync, &mut sim, 30, |_, _, _| {});
    for (i, s) in sent.iter().enumerate() {
        let in_window = sent[i..].iter().take_while(|t| t.at < s.at + 4000).count();
        assert!(in_window <= 20, "{in_window} requests within 4 s of {} ms: more than the share", s.at);
    }
    let span = (sent.last().unwrap().at - sent[0].at) as f64 / 1000.0;
    assert!(sent.len() as f64 / span >= 4.5, "{:.2} a second: about the share's 5", sent.len() as f64 / span);
}

/// The requests of `sent` after the first run of 429s, and how many runs of 429s there were.
fn after_first_event(sent: &[Sent]) -> (&[Sent], usize) {
    let bursts = sent.windows(2).filter(|w| w[0].status != 429 && w[1].status == 429).count()
        + usize::from(sent.first().is_some_and(|s| s.status == 429));
    let first = sent.iter().position(|s| s.status == 429).unwrap_or(sent.len());
    let end = first + sent[first..].iter().take_while(|s| s.status == 429).count();
    (&sent[end..], bursts)
}

#[test]
fn a_429_measures_the_budget_and_the_rate_goes_to_it_not_a_margin_below() {
    // No Retry-After, the platform's window the configured one: what was accepted in it when
    // the 429 came is the budget, and the probe sent when a place is free by that count goes
    // through. The rate then is the platform's 5 a second, not 95% of it.
    let mut sync = engine(300, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 4}));
    let mut sim = platform(300, 20, 4000);
    let sent = run(&mut sync, &mut sim, 30, |_, _, _| {});
    let (after, bursts) = after_first_event(&sent);
    assert_eq!(bursts, 1, "one burst of 429s, when the budget was found");
    let span = (after.last().unwrap().at - after[0].at) as f64 / 1000.0;
    let rate = after.len() as f64 / span;
    assert!(rate >= 5.0 * 0.98, "{rate:.3} a second after the 429: the platform's 5, not 95% of it");
    assert_eq!(bucket(&sync)["exact"], json!(true));
}

#[test]
fn the_budget_halving_mid_run_costs_one_burst_of_429s() {
    // Foundry's 200 per minute, the client at its default, and the platform halves its budget
    // after 250 requests: one burst finds the new budget, and no probe past it follows.
    let mut sync = engine(700, json!({}));
    let mut sim = platform(700, 200, 60_000);
    let sent = run(&mut sync, &mut sim, 30, |_, sim, _| {
        if sim.stats.requests >= 250 {
            sim.limit = 100;
        }
    });
    let (after, bursts) = after_first_event(&sent);
    assert_eq!(bursts, 1, "one burst for one change of the platform's limit");
    // At the platform's new rate from the pause's end: 100 a minute.
    let span = (after.last().unwrap().at - after[0].at) as f64 / 60_000.0;
    let per_minute = after.len() as f64 / span;
    assert!(per_minute >= 95.0, "{per_minute:.1} a minute after the 429");
}

#[test]
fn retry_after_teaches_the_platform_window() {
    // 60 per 12 s against a client configured 40 per 4 s: the 429's Retry-After says when the
    // first request of the run leaves the platform's window, so the window is 12 s (less than
    // 13: Retry-After is rounded up to whole seconds) and its budget the 60 accepted in it.
    let mut sync = engine(300, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 4}));
    let mut sim = platform(300, 60, 12_000);
    sim.faults.retry_after = true;
    let sent = run(&mut sync, &mut sim, 30, |_, _, _| {});
    let window = bucket(&sync)["platformWindowMs"].as_u64().unwrap_or(0);
    assert!((12_000..13_100).contains(&window), "learned a window of {window} ms");
    let (after, bursts) = after_first_event(&sent);
    assert_eq!(bursts, 1);
    let span = (after.last().unwrap().at - after[0].at) as f64 / 1000.0;
    let rate = after.len() as f64 / span;
    assert!(rate >= 5.0 * 0.9, "{rate:.2} a second: about the platform's 5 (60 per 12 s)");
    // Never more than the platform's budget in its window, by the platform's own count.
    let accepted: Vec<u64> = sent.iter().filter(|s| s.status != 429).map(|s| s.at).collect();
    for (i, &t) in accepted.iter().enumerate() {
        assert!(accepted[i..].iter().take_while(|&&u| u < t + 12_000).count() <= 60);
    }
}

#[test]
fn a_hostile_retry_after_teaches_no_window() {
    // Each 429 the platform sends carries one of these. Those asking for no wait, or one too
    // short to say anything, or garbage, teach nothing and the sync ends; those asking for
    // a wait past retry.maxWaitMs (a huge count, a far-future date, a date read against the
    // host's clock because the answer's Date is garbage) suspend the run, and teach nothing
    // either. The window stays the configured one.
    for (retry_after, date, suspends) in [
        ("-5", None, false),
        ("soon", None, false),
        ("1.5e1x", None, false),
        ("0", None, false),
        ("1", None, false),
        ("Thu, 01 Jan 1970 00:00:00 GMT", None, false),
        ("Wed, 21 Oct 2015 07:28:00 GMT", Some("Wed, 21 Oct 2015 07:28:01 GMT"), false),
        ("Wed, 21 Oct 2015 07:28:00 GMT", Some("Wed, 21 Oct 2015 07:27:59 GMT"), false),
        ("99999999999", None, true),
        ("Fri, 31 Dec 9999 23:59:59 GMT", Some("Thu, 01 Jan 1970 00:00:00 GMT"), true),
        ("Wed, 21 Oct 2015 07:28:00 GMT", Some("garbage"), true),
    ] {
        let mut sync = engine(120, json!({"rate": {"limit": 40, "windowMs": 4000}, "concurrency": 4}));
        let mut sim = platform(120, 20, 4000);
        let mut now = 0;
        let mut pending: Vec<(u64, Request, Response)> = Vec::new();
        sync.start(0).unwrap();
        for _ in 0..100_000 {
            while let Some(req) = sync.poll_transmit(now) {
                let mut answer = sim.handle(&req, now).unwrap();
                if answer.status == 429 {
                    answer = answer.with_header("Retry-After", retry_after);
                    if let Some(d) = date {
                        answer = answer.with_header("Date", d);
                    }
                }
                pending.push((now + 30, req, answer));
            }
            if sync.is_finished() || sync.report(now).suspended {
                break;
            }
            pending.sort_by_key(|p| p.0);
            let next = [pending.first().map(|p| p.0), sync.poll_timeout(now)].into_iter().flatten().min();
            now = next.unwrap_or_else(|| panic!("{retry_after:?}: the sync waits for nothing: {:?}", sync.report(now)));
            while pending.first().is_some_and(|p| p.0 <= now) {
                let (_, req, answer) = pending.remove(0);
                sync.handle_response(req.id, now, Ok(answer));
            }
        }
        let report = sync.report(now);
        assert_eq!(report.suspended, suspends, "{retry_after:?} {date:?}: {:?}", report.error);
        assert!(suspends || sync.is_finished(), "{retry_after:?}: the sync ends");
        assert_eq!(report.counts.failed, 0, "{retry_after:?}");
        let window = &bucket(&sync)["platformWindowMs"];
        assert!(window == &json!(0) || window == &json!(4000), "{retry_after:?} {date:?}: taught {window}");
    }
}
