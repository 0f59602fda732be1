//! Wrong shapes are errors naming the page, the user and the field, never users read as empty.

mod support;

use learner_sync::TargetFormat;
use support::plans::*;

fn refused(options: &str, page: &str, format: TargetFormat) -> String {
    let mut pl = planner(options);
    let err = pl.add_target(page.as_bytes(), format, "users.json").expect_err(page);
    assert_eq!(err.code(), "MALFORMED_PAGE", "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("users.json: "), "{msg}");
    msg
}

#[test]
fn an_object_that_is_not_a_scim_list_response_is_refused() {
    let scim = r#"{"platform":"scim"}"#;
    let msg = refused(scim, "{}", TargetFormat::Auto);
    assert!(msg.contains("no totalResults"), "{msg}");
    let error = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"503","detail":"try later"}"#;
    let msg = refused(scim, error, TargetFormat::Auto);
    assert!(msg.contains("a SCIM Error, not a ListResponse (status 503: try later)"), "{msg}");
    let msg = refused(scim, r#"{"totalResults":3,"startIndex":1}"#, TargetFormat::Scim);
    assert!(msg.contains("no Resources, yet totalResults is 3"), "{msg}");
}

#[test]
fn a_scim_list_response_may_leave_out_resources_when_there_is_nothing_to_list() {
    let mut pl = planner(r#"{"platform":"scim"}"#);
    let empty = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"itemsPerPage":0,"startIndex":1}"#;
    assert_eq!(pl.add_target(empty.as_bytes(), TargetFormat::Auto, "p").unwrap().has_more, Some(false));
    let past_end = r#"{"totalResults":2,"startIndex":3,"itemsPerPage":0}"#;
    assert_eq!(pl.add_target(past_end.as_bytes(), TargetFormat::Auto, "p").unwrap().records, 0);
}

#[test]
fn a_normalised_user_with_a_key_the_form_does_not_have_is_refused_naming_it() {
    let foundry = r#"{"platform":"foundry"}"#;
    for (page, key) in [
        (r#"[{"id":"u1","ssoid":"33","email":"a@x.org"}]"#, "ssoid"),
        (r#"[{"id":"u1","ssoId":"33","Email":"a@x.org"}]"#, "Email"),
        (r#"[{"id":"u1","sso_id":"33","first_name":"A"}]"#, "sso_id"),
    ] {
        let msg = refused(foundry, page, TargetFormat::Auto);
        assert!(msg.contains(&format!("[0]: unknown key {key:?}")), "{msg}");
    }
    // Learnifier's own keys beside the wire form are still ignored.
    let mut pl = planner(r#"{"platform":"learnifier"}"#);
    let wire =
        r#"[{"id":"L1","externalId":"7","primaryEmail":"a@x.org","displayName":"A B","homeOrg":4,"createdAt":"2020"}]"#;
    assert_eq!(pl.add_target(wire.as_bytes(), TargetFormat::Auto, "p").unwrap().records, 1);
}

#[test]
fn a_bare_array_of_foundry_records_is_refused_not_read_as_keyless_users() {
    let page = r#"[{"id":"dek-123","type":"users","attributes":{"sso_id":"33","email":"g@x.org","active":true}}]"#;
    let msg = refused(r#"{"platform":"foundry"}"#, page, TargetFormat::Auto);
    assert!(msg.contains("[0]: unknown key"), "{msg}");
    assert!(msg.contains("a Foundry JSON:API record"), "{msg}");
}

#[test]
fn a_key_given_as_an_object_is_refused_naming_the_user_and_field() {
    let msg = refused(r#"{"platform":"foundry"}"#, r#"[{"id":"u1","ssoId":{"value":"33"}}]"#, TargetFormat::Auto);
    assert!(msg.contains("[0].ssoId: is an object or array"), "{msg}");
    let page = r#"{"data":[{"id":"a","attributes":{}},{"id":"b","attributes":{"sso_id":{"value":"33"}}}],"links":{"next":null}}"#;
    let msg = refused(r#"{"platform":"foundry"}"#, page, TargetFormat::Auto);
    assert!(msg.contains("data[1].attributes.sso_id: is an object or array"), "{msg}");
    let page = r#"{"totalResults":1,"Resources":[{"id":"s1","externalId":["7"]}]}"#;
    let msg = refused(r#"{"platform":"scim"}"#, page, TargetFormat::Auto);
    assert!(msg.contains("Resources[0].externalId: is an object or array"), "{msg}");
}

#[test]
fn a_page_given_as_normalised_users_with_learnifier_keys_is_refused() {
    let page = r#"[{"id":"L1","externalId":"7","primaryEmail":"a@x.org"}]"#;
    let msg = refused(r#"{"platform":"learnifier"}"#, page, TargetFormat::Normalised);
    assert!(msg.contains("[0]: a Learnifier key"), "{msg}");
    // As a Learnifier page (or auto) it is read.
    let mut pl = planner(r#"{"platform":"learnifier"}"#);
    assert_eq!(pl.add_target(page.as_bytes(), TargetFormat::Learnifier, "p").unwrap().records, 1);
}

#[test]
fn a_bare_array_of_foundry_records_without_type_is_refused_for_every_platform() {
    // Issue 12 item 10: `[{"id", "attributes": …}]`, without `{data: …}` and without `type`.
    let page = r#"[{"id":"dek-123","attributes":{"sso_id":"33","email":"g@x.org","active":true}},{"id":"zak-928","attributes":{"sso_id":"44"}}]"#;
    for platform in ["foundry", "learnifier", "scim"] {
        for format in [TargetFormat::Auto, TargetFormat::Normalised] {
            let msg = refused(&format!(r#"{{"platform":"{platform}"}}"#), page, format);
            assert!(msg.contains("[0]: unknown key \"attributes\""), "{platform}: {msg}");
            assert!(msg.contains("give the whole page"), "{platform}: {msg}");
        }
    }
}
