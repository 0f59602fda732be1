//! The requests each platform's wire format sends, and how answers are read, checked with a
//! scripted platform on a simulated clock.

mod support;

use learner_sync::sync::{Method, Request, Response, State};
use serde_json::{json, Value};
use support::drive;

/// Runs a sync against a scripted platform; returns the report and every request sent.
fn run(
    options: &str,
    config: Value,
    source: &str,
    mut answer: impl FnMut(&Request) -> Response,
) -> (learner_sync::sync::SyncReport, Vec<Request>) {
    let mut sent = Vec::new();
    let run = drive(options, config, source, 10, |r, _| {
        sent.push(r.clone());
        Ok(answer(r))
    });
    (run.report, sent)
}

fn body(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

const SRC: &str =
    "ssoId,firstName,lastName,email,active\n1,Ann,Lee,ann@x.org,true\n2,Bo,Ek,bo@x.org,false\n3,Cy,Ng,cy@x.org,true\n";

#[test]
fn learnifier_pages_by_x_more_creates_with_200_updates_with_201_and_locks() {
    let page1 = json!([
        {"id": "L1", "externalId": "1", "firstName": "Ann", "lastName": "Leigh", "primaryEmail": "ann@x.org", "hardLock": false},
    ]);
    let page2 = json!([
        {"id": "L2", "externalId": "2", "firstName": "Bo", "lastName": "Ek", "primaryEmail": "bo@x.org", "hardLock": false},
        {"id": "L9", "firstName": "Hand", "lastName": "Made", "primaryEmail": "h@x.org", "hardLock": false},
    ]);
    let cfg = json!({"baseUrl": "https://acme.learnifier.test/api", "credentials": {"key": "k1", "secret": "s3cr3t-value"}, "pageSize": 1});
    let (report, sent) =
        run(r#"{"platform":"learnifier","orphans":"delete"}"#, cfg, SRC, |r| match (r.method, r.url.as_str()) {
            (Method::Get, u) if u.ends_with("offset=0") => {
                Response::new(200, page1.to_string()).with_header("X-More", "true")
            }
            (Method::Get, u) if u.ends_with("offset=1") => {
                Response::new(200, page2.to_string()).with_header("X-More", "false")
            }
            (Method::Post, _) => Response::new(200, r#"{"userId":"L3"}"#),
            (Method::Patch, _) => Response::new(201, ""),
            other => panic!("unexpected {other:?}"),
        });
    let urls: Vec<String> = sent.iter().map(|r| r.describe()).collect();
    assert_eq!(
        urls,
        [
            "GET https://acme.learnifier.test/api/users?limit=1&offset=0",
            "GET https://acme.learnifier.test/api/users?limit=1&offset=1",
            "PATCH https://acme.learnifier.test/api/users/L1",
            "PATCH https://acme.learnifier.test/api/users/L2",
            "POST https://acme.learnifier.test/api/users",
        ]
    );
    assert_eq!(body(&sent[2]), json!({"lastName": "Lee"}), "only the changed field");
    assert_eq!(body(&sent[3]), json!({"hardLock": true}), "deactivation locks");
    assert_eq!(
        body(&sent[4]),
        json!({"externalId": "3", "primaryEmail": "cy@x.org", "firstName": "Cy", "lastName": "Ng"})
    );
    let auth = sent[0].headers.iter().find(|(k, _)| k == "authorization").unwrap();
    assert_eq!(auth.1, "Basic azE6czNjcjN0LXZhbHVl");
    assert_eq!(report.counts.done, 3);
    assert_eq!(report.created[0].platform_id, "L3");
    assert!(!format!("{:?}", sent[0]).contains("azE6"), "Debug of a request hides the credential");
}

#[test]
fn learnifier_deletes_orphans_and_settles_lost_creates_by_external_id() {
    let cfg = json!({"baseUrl": "https://acme.learnifier.test", "credentials": {"key": "k", "secret": "s"}, "retry": {"maxAttempts": 4, "maxRateLimited": 5, "baseMs": 10, "maxMs": 100}});
    let existing = json!([{"id": "L7", "externalId": "7", "firstName": "Or", "lastName": "Phan", "primaryEmail": "o@x.org", "hardLock": false}]);
    let mut posts = 0;
    let mut sent = Vec::new();
    let src = "ssoId,firstName,lastName,email,active\n3,Cy,Ng,cy@x.org,true\n";
    let run = drive(r#"{"platform":"learnifier","orphans":"delete"}"#, cfg, src, 10, |r, _| {
        sent.push(r.describe());
        match (r.method, r.url.as_str()) {
            (Method::Get, u) if u.contains("/users?") => {
                Ok(Response::new(200, existing.to_string()).with_header("X-More", "false"))
            }
            (Method::Post, _) => {
                posts += 1;
                // The create takes effect but its answer is lost.
                Err(learner_sync::sync::TransportError::Timeout)
            }
            (Method::Get, u) if u.contains("/extuser?extid=3") => {
                Ok(Response::new(200, r#"{"id":"L3","externalId":"3"}"#))
            }
            (Method::Delete, u) if u.ends_with("/users/L7") => Ok(Response::new(204, "")),
            other => panic!("unexpected {other:?}"),
        }
    });
    assert_eq!(posts, 1, "never re-sent blindly");
    assert!(sent.contains(&"GET https://acme.learnifier.test/extuser?extid=3".to_string()));
    let r = run.report;
    let create = r.outcomes.iter().find(|o| o.action.name() == "create").unwrap();
    assert_eq!((create.state, create.platform_id.as_deref()), (State::Done, Some("L3")));
    assert!(create.reason.as_deref().unwrap().contains("lookup"));
    assert_eq!(r.outcomes.iter().find(|o| o.action.name() == "delete").unwrap().state, State::Done);
}

#[test]
fn scim_sends_patch_ops_and_takes_200_or_204() {
    let list = json!({"totalResults": 2, "startIndex": 1, "itemsPerPage": 2, "Resources": [
        {"id": "s1", "externalId": "1", "userName": "ann@x.org", "name": {"givenName": "Ann", "familyName": "Leigh"}, "emails": [{"value": "ann@x.org", "primary": true}], "active": true},
        {"id": "s2", "externalId": "2", "userName": "bo@x.org", "name": {"givenName": "Bo", "familyName": "Ek"}, "active": true}
    ]});
    let cfg = json!({"baseUrl": "https://scim.test/v2/", "credentials": {"token": "tok-abcdef"}});
    let (report, sent) = run(r#"{"platform":"scim"}"#, cfg, SRC, |r| match (r.method, r.url.as_str()) {
        (Method::Get, _) => Response::new(200, list.to_string()),
        (Method::Patch, u) if u.ends_with("/s1") => Response::new(200, r#"{"id":"s1"}"#),
        (Method::Patch, _) => Response::new(204, ""),
        (Method::Post, _) => Response::new(201, r#"{"id":"s3"}"#),
        other => panic!("unexpected {other:?}"),
    });
    assert_eq!(sent[0].describe(), "GET https://scim.test/v2/Users?startIndex=1&count=100");
    assert_eq!(body(&sent[1])["Operations"], json!([{"op": "replace", "path": "name.familyName", "value": "Lee"}]));
    assert_eq!(body(&sent[2])["Operations"], json!([{"op": "replace", "path": "active", "value": false}]));
    let created = body(&sent[3]);
    assert_eq!(created["externalId"], "3");
    assert_eq!(created["userName"], "cy@x.org");
    assert_eq!(created["emails"][0], json!({"value": "cy@x.org", "type": "work", "primary": true}));
    assert_eq!(sent[3].headers.iter().find(|(k, _)| k == "content-type").unwrap().1, "application/scim+json");
    assert_eq!(report.counts.done, 3);
}

#[test]
fn foundry_updates_carry_only_the_user_registration_with_changed_fields() {
    let page = json!({"data": [
        {"id": "f1", "type": "users", "attributes": {"active": true, "email": "ann@x.org", "first_name": "Ann", "last_name": "Leigh", "sso_id": "1",
          "user_rule_set_roles": [{"rule_set": "cc_learner", "role": "default"}, {"rule_set": "cc_admin", "role": "default"}]}}
    ], "links": {"next": null}});
    let cfg = json!({"baseUrl": "https://api.fifoundry-sandbox.net", "credentials": {"clientId": "id", "clientSecret": "secret-xyz"}, "foundry": {"ruleSet": "he_learner", "role": "undergrad"}});
    let (report, sent) = run(r#"{"platform":"foundry"}"#, cfg, SRC, |r| match (r.method, r.url.as_str()) {
        (Method::Post, u) if u.ends_with("/oauth/token") => {
            Response::new(200, r#"{"access_token":"at-1","token_type":"Bearer","expires_in":7200,"created_at":0}"#)
        }
        (Method::Get, u) if u.contains("filter[active]=false") => {
            Response::new(200, r#"{"data":[],"links":{"next":null}}"#)
        }
        (Method::Get, _) => Response::new(200, page.to_string()),
        (Method::Patch, _) => Response::new(200, r#"{"data":{"id":"f1"}}"#),
        (Method::Post, _) => Response::new(201, r#"{"data":{"id":"f3","type":"users"}}"#),
        other => panic!("unexpected {other:?}"),
    });
    let desc: Vec<String> = sent.iter().map(|r| r.describe()).collect();
    assert_eq!(desc[1], "GET https://api.fifoundry-sandbox.net/v1/admin/users?page[page]=1&page[per_page]=100");
    assert_eq!(
        desc[2],
        "GET https://api.fifoundry-sandbox.net/v1/admin/users?page[page]=1&page[per_page]=100&filter[active]=false"
    );
    let patch = body(&sent[3]);
    assert_eq!(
        patch,
        json!({"data": {"type": "registration_sets", "id": "f1", "attributes": {"registrations": [{"rule_set": "user_rule_set", "last_name": "Lee"}]}}}),
        "roles are left as they are"
    );
    let create = body(&sent[4]);
    assert_eq!(
        create["data"]["attributes"]["registrations"],
        json!([{"rule_set": "user_rule_set", "sso_id": "3", "email": "cy@x.org", "first_name": "Cy", "last_name": "Ng"}, {"rule_set": "he_learner", "role": "undergrad"}])
    );
    assert_eq!(sent[3].headers.iter().find(|(k, _)| k == "authorization").unwrap().1, "Bearer at-1");
    assert!(!format!("{:?}", sent[0]).contains("secret-xyz"), "the token request's Debug hides the secret");
    assert_eq!(report.counts.done, 2);
}

#[test]
fn base_urls_must_be_https_except_on_loopback() {
    use learner_sync::sync::options::check_base_url;
    for ok in ["https://api.fifoundry.net", "http://127.0.0.1:8080/v2", "http://localhost:3000", "http://[::1]:9/x"] {
        assert!(check_base_url(ok).is_ok(), "{ok}");
    }
    for bad in
        ["http://api.fifoundry.net", "ftp://x", "http://10.0.0.5", "https://user:pw@host", "http://localhost.evil.com"]
    {
        assert!(check_base_url(bad).is_err(), "{bad}");
    }
    // The password in a URL's user information is never echoed in the error.
    for with_password in ["https://user:pw-9f3a@host", "http://user:pw-9f3a@api.example.org/v2", "user:pw-9f3a@host/x"]
    {
        let message = check_base_url(with_password).unwrap_err().to_string();
        assert!(!message.contains("pw-9f3a") && message.contains("***@"), "{message}");
    }
}

#[test]
fn scim_mapping_can_carry_the_key_in_user_name() {
    let list = json!({"totalResults": 1, "startIndex": 1, "itemsPerPage": 1, "Resources": [
        {"id": "s1", "userName": "1", "name": {"givenName": "Ann", "familyName": "Leigh"}, "emails": [{"value": "ann@x.org", "primary": true}], "active": true}
    ]});
    let opts = r#"{"platform":"scim","scim":{"key":"userName"}}"#;
    let cfg = json!({"baseUrl": "https://scim.test/v2", "credentials": {"token": "tok-abcdef"}});
    let (report, sent) = run(opts, cfg, SRC, |r| match r.method {
        Method::Get => Response::new(200, list.to_string()),
        Method::Patch => Response::new(204, ""),
        _ => Response::new(201, r#"{"id":"s3"}"#),
    });
    assert_eq!(
        body(&sent[1])["Operations"],
        json!([{"op": "replace", "path": "name.familyName", "value": "Lee"}]),
        "s1 matched by userName"
    );
    let created = body(&sent[2]);
    assert_eq!((created["userName"].as_str(), created.get("externalId")), (Some("3"), None));
    assert_eq!(created["emails"][0]["value"], "cy@x.org");
    assert_eq!(report.counts.done, 2);
}

#[test]
fn learnifier_auto_clear_email_is_sent_as_query_and_body_when_enabled() {
    let page = json!([{"id": "L1", "externalId": "1", "firstName": "Ann", "lastName": "Lee", "primaryEmail": "old@x.org", "hardLock": false}]);
    let src = "ssoId,firstName,lastName,email,active\n1,Ann,Lee,ann@x.org,true\n";
    for (enabled, url, flag) in
        [(true, "https://l.test/users/L1?autoClearEmail=true", Some(true)), (false, "https://l.test/users/L1", None)]
    {
        let cfg =
            json!({"baseUrl": "https://l.test", "credentials": {"key": "k", "secret": "s"}, "autoClearEmail": enabled});
        let (_, sent) = run(r#"{"platform":"learnifier"}"#, cfg, src, |r| match r.method {
            Method::Get => Response::new(200, page.to_string()).with_header("X-More", "false"),
            _ => Response::new(201, ""),
        });
        assert_eq!(sent[1].url, url);
        assert_eq!(body(&sent[1]).get("autoClearEmail").and_then(Value::as_bool), flag);
    }
}

#[test]
fn learnifier_with_email_as_the_primary_key_sends_it_as_primary_email_too() {
    // Issue 12 item 5: Learnifier requires primaryEmail; with email as the key, the create body
    // carried it only in externalId, and every create failed 400.
    let page = json!([{"id": "L1", "externalId": "ann@x.org", "firstName": "Ann", "lastName": "Leigh", "primaryEmail": "ann@x.org", "hardLock": false}]);
    let src = "email,firstName,lastName,active\nann@x.org,Ann,Lee,true\nellen.cohen@example.org,Ellen,Cohen,true\n";
    let cfg = json!({"baseUrl": "https://l.test", "credentials": {"key": "k", "secret": "s"}});
    let (report, sent) = run(r#"{"platform":"learnifier","match":["email"]}"#, cfg, src, |r| match r.method {
        Method::Get => Response::new(200, page.to_string()).with_header("X-More", "false"),
        Method::Post => Response::new(200, r#"{"userId":"L2"}"#),
        _ => Response::new(201, ""),
    });
    let post = sent.iter().find(|r| r.method == Method::Post).expect("a create");
    assert_eq!(
        body(post),
        json!({"externalId": "ellen.cohen@example.org", "primaryEmail": "ellen.cohen@example.org", "firstName": "Ellen", "lastName": "Cohen"})
    );
    let patch = sent.iter().find(|r| r.method == Method::Patch).expect("an update");
    assert_eq!(body(patch), json!({"lastName": "Lee"}), "only the changed field");
    assert_eq!(report.counts.done, 2);
}

#[test]
fn a_user_missed_by_shifting_pages_is_not_created_twice() {
    // SCIM paging is not a snapshot: between page 1 and page 2 someone deletes s0, so s2
    // slides from page 2 onto page 1 and is never listed. Its learner then looks new.
    let all: Vec<Value> = (0..4)
        .map(|i| json!({"id": format!("s{i}"), "externalId": i.to_string(), "userName": format!("p{i}@x.org"), "name": {"givenName": "F", "familyName": "L"}, "active": true}))
        .collect();
    let cfg = json!({"baseUrl": "https://scim.test/v2", "credentials": {"token": "tok-abcdef"}, "pageSize": 2});
    let src = "ssoId,firstName,lastName,email,active\n1,F,L,p1@x.org,true\n2,F,L,p2@x.org,true\n3,F,L,p3@x.org,true\n";
    let mut posts = 0;
    let (report, _) = run(r#"{"platform":"scim"}"#, cfg, src, |r| match r.method {
        Method::Get if r.url.contains("startIndex=1&") => Response::new(
            200,
            json!({"totalResults": 4, "startIndex": 1, "itemsPerPage": 2, "Resources": [all[0], all[1]]}).to_string(),
        ),
        // s0 is gone: the list is s1, s2, s3, and index 3 is s3.
        Method::Get if r.url.contains("startIndex=3&") => Response::new(
            200,
            json!({"totalResults": 3, "startIndex": 3, "itemsPerPage": 1, "Resources": [all[3]]}).to_string(),
        ),
        Method::Get => Response::new(200, json!({"totalResults": 1, "Resources": [all[2]]}).to_string()),
        Method::Post => {
            posts += 1;
            Response::new(
                409,
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"externalId taken"}"#,
            )
        }
        _ => Response::new(204, ""),
    });
    assert_eq!(posts, 1, "one create tried, refused as taken, then looked up; never sent again");
    let create = report.outcomes.iter().find(|o| o.action.name() == "create").unwrap();
    assert_eq!((create.state, create.platform_id.as_deref()), (State::Skipped, Some("s2")));
    assert!(create.reason.as_deref().unwrap().contains("the listing missed it"));
}

#[test]
fn retry_settings_left_out_take_their_defaults() {
    use learner_sync::sync::{RetryConfig, SyncOptions};
    let cfg = json!({"baseUrl": "https://api.fifoundry.net", "retry": {"maxAttempts": 3}});
    let cfg = SyncOptions::from_json(cfg.to_string().as_bytes()).unwrap();
    assert_eq!(cfg.retry, RetryConfig { max_attempts: 3, ..RetryConfig::default() });
    let typo = json!({"baseUrl": "https://api.fifoundry.net", "retry": {"maxAtempts": 3}});
    assert!(SyncOptions::from_json(typo.to_string().as_bytes()).unwrap_err().to_string().contains("maxAtempts"));
}
