//! A 3xx answer is never followed (issue 10, item 1): the host sends every request with
//! `redirect: 'manual'`, and the engine takes a redirect as a sign that the base URL is wrong.
//! The run stops with `REDIRECTED`, naming the status and the target's host (never its path,
//! query or user information); a write whose answer was a redirect was not processed.

mod support;

use learner_sync::sync::{Method, Request, Response, State, TransportError};
use serde_json::json;
use support::drive;
use support::foundry::{user, FoundrySim, BASE};

const FOUNDRY: &str = r#"{"platform":"foundry"}"#;
const TARGET: &str = "https://user:pw-8c1@elsewhere.example:8443/oauth/token?access_token=tok-55#x";

fn source(n: usize) -> String {
    let mut s = String::from("ssoId,firstName,lastName,email,active\n");
    for i in 0..n {
        s.push_str(&format!("{i},F{i},L{i},p{i}@example.org,true\n"));
    }
    s
}

fn config() -> serde_json::Value {
    json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "concurrency": 1})
}

fn redirect(status: u16, location: Option<&str>) -> Response {
    let r = Response::new(status, Vec::new());
    match location {
        Some(l) => r.with_header("location", l),
        None => r,
    }
}

/// Runs a sync where requests that `redirected` picks are answered with `answer`; the rest go
/// to a simulated Foundry holding users 0..10 (so 10..n are created). Returns the report, the
/// simulator and every request sent.
fn run(
    n: usize,
    redirected: impl Fn(&Request) -> bool,
    answer: Response,
) -> (learner_sync::sync::SyncReport, FoundrySim, Vec<Request>) {
    let mut sim = FoundrySim::new((0..10).map(|i| user(i, &format!("L{i}"), true)).collect(), 7);
    let mut sent = Vec::new();
    let run = drive(FOUNDRY, config(), &source(n), 20, |req, now| {
        sent.push(req.clone());
        if redirected(req) {
            Ok(answer.clone())
        } else {
            sim.handle(req, now)
        }
    });
    (run.report, sim, sent)
}

fn assert_names_only_the_host(message: &str) {
    assert!(message.contains("elsewhere.example:8443"), "{message}");
    for hidden in ["pw-8c1", "user:", "access_token", "tok-55", "/oauth/token"] {
        assert!(!message.contains(hidden), "{hidden} in {message}");
    }
}

#[test]
fn a_redirected_token_request_stops_the_run_with_redirected_and_is_never_retried() {
    let (report, sim, sent) = run(12, |r| r.url.ends_with("/oauth/token"), redirect(307, Some(TARGET)));
    let error = report.error.expect("the run stopped");
    assert_eq!(error.code, "REDIRECTED");
    assert!(error.message.contains("HTTP 307"), "{}", error.message);
    assert!(error.message.contains("baseUrl"), "{}", error.message);
    assert_names_only_the_host(&error.message);
    assert_eq!(sent.len(), 1, "one token request, no retry: {sent:?}");
    assert_eq!(sim.stats.creates, 0);
}

#[test]
fn a_redirected_list_page_stops_the_run_before_any_write() {
    for status in [301, 302, 303, 307, 308] {
        let (report, sim, sent) = run(12, |r| r.method == Method::Get, redirect(status, Some(TARGET)));
        let error = report.error.expect("the run stopped");
        assert_eq!(error.code, "REDIRECTED");
        assert!(error.message.contains(&format!("HTTP {status}")), "{}", error.message);
        assert_names_only_the_host(&error.message);
        assert_eq!(sent.iter().filter(|r| r.method == Method::Get).count(), 1, "{status}: the page is not asked again");
        assert!(sent.iter().all(|r| r.method != Method::Post || r.url.ends_with("/oauth/token")), "no write");
        assert_eq!(sim.stats.creates, 0);
    }
}

#[test]
fn a_redirected_create_was_not_processed_and_nothing_else_is_sent_after_it() {
    let is_write = |r: &Request| r.method != Method::Get && !r.url.ends_with("/oauth/token");
    let (report, sim, sent) = run(15, is_write, redirect(308, Some(TARGET)));
    let error = report.error.expect("the run stopped");
    assert_eq!(error.code, "REDIRECTED");
    assert_names_only_the_host(&error.message);
    assert_eq!(sent.iter().filter(|r| is_write(r)).count(), 1, "concurrency 1: one write went, then the run stopped");
    assert_eq!(sim.stats.creates, 0);
    assert_eq!(report.counts.done, 0);
    assert_eq!(report.counts.failed, 5, "every create failed: {:?}", report.outcomes);
    assert!(report.created.is_empty());
    let first = report.outcomes.iter().find(|o| o.attempts == 1).expect("the create that was sent");
    assert_eq!(first.state, State::Failed);
    assert_eq!(first.status, Some(308));
    let why = first.error.as_deref().unwrap();
    assert!(why.contains("not processed"), "{why}");
    assert_names_only_the_host(why);
    for o in report.outcomes.iter().filter(|o| o.attempts == 0) {
        assert!(o.error.as_deref().unwrap().starts_with("not sent:"), "{o:?}");
    }
}

#[test]
fn a_relative_or_missing_location_names_the_platform_host_or_says_none_was_given() {
    let (report, _, _) = run(12, |r| r.method == Method::Get, redirect(302, Some("/login?next=%2Fv1")));
    let message = report.error.unwrap().message;
    assert!(message.contains("foundry.test") && !message.contains("login") && !message.contains("next"), "{message}");
    let (report, _, _) = run(12, |r| r.method == Method::Get, redirect(302, Some("//evil.example/..%2fjs")));
    let message = report.error.unwrap().message;
    assert!(message.contains("evil.example") && !message.contains("%2f"), "{message}");
    let (report, _, _) = run(12, |r| r.method == Method::Get, redirect(301, None));
    let message = report.error.unwrap().message;
    assert!(message.contains("HTTP 301") && message.contains("no Location"), "{message}");
}

#[test]
fn a_hostile_location_is_not_echoed() {
    for location in ["https://ev\u{202e}il.example/", "https://evil.example\r\nSet-Cookie: x=1", "javascript:alert(1)"]
    {
        let (report, _, _) = run(12, |r| r.method == Method::Get, redirect(307, Some(location)));
        let error = report.error.unwrap();
        assert_eq!(error.code, "REDIRECTED");
        let message = error.message;
        assert!(message.chars().all(|c| (' '..='~').contains(&c)), "{message:?}");
        assert!(!message.contains("Set-Cookie") && !message.contains("alert"), "{message}");
    }
}

#[test]
fn a_redirect_the_host_could_not_see_stops_the_run_the_same_way() {
    // A browser's fetch with redirect: 'manual' hides the status and target (an opaque redirect).
    let mut sim = FoundrySim::new(Vec::new(), 7);
    let mut sent = 0;
    let run = drive(FOUNDRY, config(), &source(3), 20, |req, now| {
        sent += 1;
        if req.method == Method::Get {
            Err(TransportError::Redirected)
        } else {
            sim.handle(req, now)
        }
    });
    let error = run.report.error.unwrap();
    assert_eq!(error.code, "REDIRECTED");
    assert!(error.message.contains("redirect"), "{}", error.message);
    assert_eq!(sent, 2, "the token, then one list request");
}
