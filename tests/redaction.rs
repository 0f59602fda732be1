//! Secrets never reach a report (issue 10, item 5), natively: a platform that echoes what it
//! was sent (the Authorization header and the body, raw, URL-encoded once and twice, JSON-
//! escaped, base64 and base64url, and cut part-way) leaves no credential, access token or
//! base64 of key:secret in any outcome's error or the run's error. Failures name the leak's
//! form and place, never the secret.

mod support;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use learner_sync::sync::redact::{base64_forms, encodings, WINDOW};
use learner_sync::sync::{Method, Request, Response, SyncReport, TransportError};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;
use support::foundry::{FoundrySim, BASE};

const SOURCE: &str = "ssoId,firstName,lastName,email,active\n686,Ellen,Cohen,ellen@example.org,true\n687,Ola,Berg,ola@example.org,true\n";

/// What a careless platform says back: everything it was sent, in every form, and a part.
fn echo(req: &Request) -> Response {
    let auth = req.headers.iter().find(|(k, _)| k == "authorization").map_or("", |(_, v)| v.as_str());
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let mut parts = Vec::new();
    for sent in [auth, body.as_str()] {
        let once = utf8_percent_encode(sent, NON_ALPHANUMERIC).to_string();
        parts.push(sent.to_string());
        parts.push(utf8_percent_encode(&once, NON_ALPHANUMERIC).to_string());
        parts.push(once.to_ascii_lowercase());
        parts.push(serde_json::to_string(sent).unwrap());
        parts.push(STANDARD.encode(sent));
        parts.push(URL_SAFE_NO_PAD.encode(sent));
        let cut = sent.char_indices().nth(sent.chars().count() * 3 / 5).map_or(sent.len(), |(i, _)| i);
        parts.push(format!("{}…", &sent[..cut]));
    }
    let text = format!("bad request from {}", parts.join(" | "));
    Response::new(400, json!({"errors": [{"title": text}], "message": text}).to_string())
}

/// Which form of which secret shows [`WINDOW`] characters in `text`, if any. An `id:secret`
/// pair (`:` in it) counts in its base64 forms only: its text forms are the ID, a readable name
/// ordinary text may share runs with, and the secret, checked on its own.
fn leak(text: &str, secrets: &[&str]) -> Option<String> {
    let hay = text.to_ascii_lowercase();
    for (s, secret) in secrets.iter().enumerate() {
        let forms = if secret.contains(':') { base64_forms(secret) } else { encodings(secret) };
        for (f, form) in forms.iter().enumerate() {
            let form = form.to_ascii_lowercase();
            for i in 0..=form.len().saturating_sub(WINDOW) {
                if form.is_char_boundary(i) && form.is_char_boundary(i + WINDOW) && hay.contains(&form[i..i + WINDOW]) {
                    return Some(format!("form {f} of secret {s} at character {i}"));
                }
            }
        }
    }
    None
}

fn texts(report: &SyncReport) -> String {
    let mut out: Vec<String> = report.outcomes.iter().filter_map(|o| o.error.clone()).collect();
    out.extend(report.error.as_ref().map(|e| e.message.clone()));
    out.join("\n")
}

#[test]
fn a_foundry_that_echoes_each_writes_bearer_token_in_every_encoding_leaves_no_token_in_the_report() {
    let token = "AbC9+x/Yz=acc3ss-t0ken-55e1";
    let config = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "retry": {"maxAttempts": 1}});
    let run = support::drive(r#"{"platform":"foundry"}"#, config, SOURCE, 10, |req, _| {
        Ok(match req.method {
            _ if req.url.ends_with("/oauth/token") => Response::new(
                200,
                json!({"access_token": token, "token_type": "Bearer", "expires_in": 7200}).to_string(),
            ),
            Method::Get => Response::new(200, r#"{"data":[],"links":{"next":null},"meta":{"total_count":0}}"#),
            _ => echo(req),
        })
    });
    let text = texts(&run.report);
    assert_eq!(run.report.counts.failed, 2, "{:?}", run.report.counts);
    assert!(text.contains("[redacted]"), "the echo reached the report, redacted");
    assert_eq!(leak(&text, &[token, "sim-secret-3f9a", "sim-client:sim-secret-3f9a"]), None);
}

#[test]
fn a_foundry_that_echoes_the_token_request_leaves_no_client_secret_in_the_runs_error() {
    let secret = "Zq+9/Kx=SECRET\"V\\al-77f3";
    let config = json!({"baseUrl": BASE, "credentials": {"clientId": "sim-client", "clientSecret": secret}});
    let run = support::drive(r#"{"platform":"foundry"}"#, config, SOURCE, 10, |req, _| {
        assert!(req.url.ends_with("/oauth/token"), "nothing else is sent");
        let mut r = echo(req);
        r.status = 401;
        Ok(r)
    });
    let error = run.report.error.as_ref().expect("the run stops");
    assert_eq!(error.code, "AUTH_FAILED");
    assert!(error.message.contains("[redacted]"));
    assert_eq!(leak(&texts(&run.report), &[secret, &format!("sim-client:{secret}")]), None);
}

#[test]
fn a_learnifier_that_echoes_the_basic_header_leaves_neither_key_secret_nor_the_secret_in_the_report() {
    let (key, secret) = ("lrn-key-8842", "S3CR3T-XK/9+q=lrn-4d2c");
    let config = json!({"baseUrl": "https://acme.learnifier.test", "credentials": {"key": key, "secret": secret}});
    let run = support::drive(r#"{"platform":"learnifier"}"#, config, SOURCE, 10, |req, _| {
        Ok(match req.method {
            Method::Get => Response::new(200, "[]").with_header("x-more", "false"),
            _ => echo(req),
        })
    });
    let text = texts(&run.report);
    assert_eq!(run.report.counts.failed, 2, "{:?}", run.report.counts);
    assert!(text.contains("[redacted]"));
    assert_eq!(leak(&text, &[secret, &format!("{key}:{secret}")]), None);
}

#[test]
fn a_lost_connection_whose_message_quotes_the_secret_leaves_none_in_the_report() {
    let secret = "tok-Zq+9/Kx=SECRETVALUE";
    let config =
        json!({"baseUrl": "https://scim.test/v2", "credentials": {"token": secret}, "retry": {"maxAttempts": 1}});
    let run = support::drive(r#"{"platform":"scim"}"#, config, SOURCE, 10, |req, _| {
        let quoted = utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string();
        Err(TransportError::Network(format!("socket hang up sending {} with {quoted}", req.url)))
    });
    assert!(run.report.error.is_some());
    assert_eq!(leak(&texts(&run.report), &[secret]), None);
}

#[test]
fn an_error_that_echoes_a_token_since_replaced_leaves_no_trace_of_it() {
    let tokens = ["AbC9+x/Yz=first-t0ken-55e1", "Qr7/second-t0ken+99ab=x"];
    let (mut issued, mut refused) = (0, false);
    let config = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "retry": {"maxAttempts": 1}, "concurrency": 1});
    let run = support::drive(r#"{"platform":"foundry"}"#, config, SOURCE, 10, |req, _| {
        Ok(match req.method {
            _ if req.url.ends_with("/oauth/token") => {
                issued += 1;
                let token = tokens[(issued - 1).min(1)];
                Response::new(
                    200,
                    json!({"access_token": token, "token_type": "Bearer", "expires_in": 7200}).to_string(),
                )
            }
            Method::Get => Response::new(200, r#"{"data":[],"links":{"next":null},"meta":{"total_count":0}}"#),
            // The first write meets an expired token; the platform then logs the old one.
            _ if !refused => {
                refused = true;
                Response::new(401, r#"{"errors":[{"title":"token expired"}]}"#)
            }
            _ => {
                let text = format!("request after {} was refused", STANDARD.encode(format!("Bearer {}", tokens[0])));
                Response::new(400, json!({"errors": [{"title": text}]}).to_string())
            }
        })
    });
    assert_eq!(issued, 2, "a second token after the 401");
    let text = texts(&run.report);
    assert!(text.contains("[redacted]"));
    assert_eq!(leak(&text, &tokens), None);
}

#[test]
fn a_token_handed_in_by_the_hosts_cache_that_the_platform_echoes_leaves_no_trace_in_the_report() {
    let token = "Kc7+q/Vw=cach3d-t0ken-91b4";
    let config = json!({"baseUrl": BASE, "credentials": FoundrySim::credentials(), "retry": {"maxAttempts": 1}});
    let opts = learner_sync::PlanOptions::from_json(br#"{"platform":"foundry"}"#).unwrap();
    let mut sync = learner_sync::sync::SyncEngine::new(
        opts,
        learner_sync::sync::SyncOptions::from_json(config.to_string().as_bytes()).unwrap(),
    )
    .unwrap();
    sync.add_source(SOURCE.as_bytes(), learner_sync::SourceFormat::Auto, "source.csv").unwrap();
    assert!(sync.use_token(token, 7_200_000, 0));
    let run = support::drive_engine(sync, 10, |req, _| {
        assert!(!req.url.ends_with("/oauth/token"), "the token handed in serves");
        Ok(match req.method {
            Method::Get => Response::new(200, r#"{"data":[],"links":{"next":null},"meta":{"total_count":0}}"#),
            _ => echo(req),
        })
    });
    let text = texts(&run.report);
    assert_eq!(run.report.counts.failed, 2, "{:?}", run.report.counts);
    assert!(text.contains("[redacted]"), "the echo reached the report, redacted");
    assert_eq!(leak(&text, &[token]), None);
}
