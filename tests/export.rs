//! Plans and reports as CSV: the columns, the walkthrough's rows, values that need quoting,
//! and cells a spreadsheet would run as formulas.

mod support;

use std::borrow::Cow;

use learner_sync::export::{inert, plan_to_csv, report_to_csv, PLAN_COLUMNS, REPORT_COLUMNS};
use learner_sync::planner::{Action, ActionKind, Plan, Values};
use learner_sync::sync::SyncReport;
use learner_sync::{PlanOptions, Platform, SourceFormat, Summary, TargetFormat};
use support::plans::*;

const SOURCE: &str = include_str!("../examples/walkthrough/source.csv");
const FOUNDRY: &str = include_str!("../examples/walkthrough/foundry-users.json");

/// Reads CSV back as header + rows of cells, with the csv crate's reader.
fn read(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|rec| rec.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

/// The cells of `row` by column name.
fn cells<'a>(header: &'a [String], row: &'a [String]) -> impl Fn(&str) -> &'a str + 'a {
    move |name| {
        let i = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
        row[i].as_str()
    }
}

fn walkthrough_csv(options: &str, sources: &[(&str, &str)]) -> Vec<u8> {
    let mut p = planner(options);
    for (label, page) in sources {
        p.add_source(page.as_bytes(), SourceFormat::Auto, label).unwrap();
    }
    p.add_target(FOUNDRY.as_bytes(), TargetFormat::Auto, "foundry-users.json").unwrap();
    plan_to_csv(&p.finish())
}

#[test]
fn the_walkthrough_plan_as_rows() {
    let bytes = walkthrough_csv(r#"{"platform":"foundry"}"#, &[("hr.csv", SOURCE)]);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with(&format!("{}\r\n", PLAN_COLUMNS.join(","))), "header, CRLF: {text}");
    assert!(!text.starts_with('\u{feff}'), "no byte-order mark");
    let (header, rows) = read(&bytes);
    assert_eq!(header, PLAN_COLUMNS);
    let kinds: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(kinds, [("update", "33"), ("deactivate", "55"), ("create", "686"), ("review", "787")]);

    let update = cells(&header, &rows[0]);
    assert_eq!(update("platformId"), "dek\u{2011}123");
    assert_eq!(update("changes"), "lastName: Smith → Smith\u{2011}Evans");
    assert_eq!(update("lastName"), "Smith\u{2011}Evans", "the value after the update");
    // Who this is about (issue 12 item 8): the fields left alone come from the platform user.
    assert_eq!(
        (update("email"), update("firstName"), update("active"), update("orphan")),
        ("geoff.smith@example.org", "Geoff", "true", ""),
        "an update row names its user"
    );
    assert_eq!((update("source"), update("row")), ("hr.csv", "2"));

    let leaver = cells(&header, &rows[1]);
    assert_eq!(
        (leaver("platformId"), leaver("changes"), leaver("active")),
        ("iux\u{2011}332", "active: true → false", "false")
    );
    assert_eq!(leaver("row"), "4");
    assert_eq!((leaver("email"), leaver("firstName"), leaver("lastName")), ("leo.later@example.org", "Leo", "Later"));

    let create = cells(&header, &rows[2]);
    let got: Vec<&str> =
        ["email", "firstName", "lastName", "ssoId", "active", "platformId", "changes", "source", "row"]
            .into_iter()
            .map(&create)
            .collect();
    assert_eq!(got, ["ellen.cohen@example.org", "Ellen", "Cohen", "686", "true", "", "", "hr.csv", "5"]);

    let orphan = cells(&header, &rows[3]);
    assert_eq!(
        (orphan("platformId"), orphan("orphan"), orphan("firstName"), orphan("lastName")),
        ("qai\u{2011}928", "yes", "Dan", "Dismayed")
    );
    assert!(!orphan("reason").is_empty(), "a review says why");
    assert_eq!((orphan("source"), orphan("row")), ("", ""));
}

#[test]
fn an_orphan_deactivated_by_policy_shows_its_values_and_the_change() {
    let bytes = walkthrough_csv(r#"{"platform":"foundry","orphans":"deactivate"}"#, &[("hr.csv", SOURCE)]);
    let (header, rows) = read(&bytes);
    let row = rows.iter().find(|r| r[1] == "787").expect("787");
    let orphan = cells(&header, row);
    assert_eq!(orphan("action"), "deactivate");
    assert_eq!(
        (orphan("orphan"), orphan("changes"), orphan("active"), orphan("lastName")),
        ("yes", "active: true → false", "false", "Dismayed")
    );
}

#[test]
fn the_same_plan_gives_the_same_bytes_whatever_the_page_order() {
    let mut lines: Vec<&str> = SOURCE.lines().collect();
    let head = lines.remove(0);
    let p1 = format!("{head}\n{}\n", lines[..2].join("\n"));
    let p2 = format!("{head}\n{}\n", lines[2..].join("\n"));
    let a = walkthrough_csv(r#"{"platform":"foundry"}"#, &[("a.csv", &p1), ("b.csv", &p2)]);
    let b = walkthrough_csv(r#"{"platform":"foundry"}"#, &[("b.csv", &p2), ("a.csv", &p1)]);
    assert_eq!(a, b);
    assert_eq!(a, walkthrough_csv(r#"{"platform":"foundry"}"#, &[("a.csv", &p1), ("b.csv", &p2)]));
}

#[test]
fn quotes_commas_and_line_breaks_round_trip() {
    // A name with quotes and a comma is created; one with a line break is refused by the
    // planner, and the refused value is shown as it was.
    let quoted = "Ann \"Nan\", Jr.";
    let broken = "Bo, \"B\"\r\nsecond line";
    let cell = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
    let src = format!(
        "ssoId,firstName,lastName,email,active\n1,{},Lee,ann@example.org,true\n2,{},Ek,bo@example.org,true\n",
        cell(quoted),
        cell(broken)
    );
    let mut p = planner(r#"{"platform":"foundry"}"#);
    p.add_source(src.as_bytes(), SourceFormat::Csv, "hr, 2024 \"final\".csv").unwrap();
    p.add_target(b"[]", TargetFormat::Auto, "").unwrap();
    let (header, rows) = read(&plan_to_csv(&p.finish()));
    assert_eq!(rows.len(), 2);
    let create = rows.iter().find(|r| r[0] == "create").map(|r| cells(&header, r)).expect("a create");
    assert_eq!((create("firstName"), create("source")), (quoted, "hr, 2024 \"final\".csv"));
    let invalid = rows.iter().find(|r| r[0] == "invalid").map(|r| cells(&header, r)).expect("an invalid row");
    assert_eq!((invalid("field"), invalid("value")), ("firstName", broken));
}

#[test]
fn ambiguous_values_are_quoted_in_the_changes_column() {
    let src = "ssoId,firstName,lastName,email,active\n1,\"a; b\",x → y,ann@example.org,true\n";
    let tgt = users(&[user("u1", "1", "(none)", "Say \\\"hi\\\"", "ann@example.org", true)]);
    let mut p = planner(r#"{"platform":"foundry"}"#);
    p.add_source(src.as_bytes(), SourceFormat::Csv, "hr.csv").unwrap();
    p.add_target(tgt.as_bytes(), TargetFormat::Auto, "").unwrap();
    let (header, rows) = read(&plan_to_csv(&p.finish()));
    let update = cells(&header, &rows[0]);
    assert_eq!(update("changes"), r#"firstName: "(none)" → "a; b"; lastName: "Say \"hi\"" → "x → y""#);
}

#[test]
fn conflicts_and_invalid_rows_name_what_is_at_fault() {
    let src = "ssoId,firstName,lastName,email,active\n1,Ann,Lee,ann@example.org,true\n1,Annie,Lee,annie@example.org,true\n2,Bo,Ek,bo@example.org,sometimes\n";
    let tgt = users(&[user("u1", "1", "Ann", "Lee", "ann@example.org", true)]);
    let mut p = planner(r#"{"platform":"foundry"}"#);
    p.add_source(src.as_bytes(), SourceFormat::Csv, "hr.csv").unwrap();
    p.add_target(tgt.as_bytes(), TargetFormat::Auto, "").unwrap();
    let (header, rows) = read(&plan_to_csv(&p.finish()));
    let conflict = rows.iter().find(|r| r[0] == "conflict").map(|r| cells(&header, r)).expect("a conflict");
    assert_eq!(
        [conflict("conflict"), conflict("field"), conflict("value"), conflict("rows"), conflict("platformIds")],
        ["duplicateLearnerKey", "ssoId", "1", "hr.csv:2, hr.csv:3", "u1"]
    );
    assert!(!conflict("reason").is_empty());
    let invalid = rows.iter().find(|r| r[0] == "invalid").map(|r| cells(&header, r)).expect("an invalid row");
    assert_eq!(
        [invalid("source"), invalid("row"), invalid("field"), invalid("value")],
        ["hr.csv", "4", "active", "sometimes"]
    );
    assert!(invalid("reason").contains("true/false"), "{}", invalid("reason"));
}

#[test]
fn cells_a_spreadsheet_would_run_are_made_inert() {
    for formula in [
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "\nx",
        "  =1+1",
        "\u{FF1D}1+1",
        "-",
        "+44 20 7946 0000",
        "-1e5",
    ] {
        assert_eq!(inert(formula), format!("'{formula}"), "{formula:?}");
    }
    // Plain numbers start with a sign legitimately (an identifier "-5") and are never formulas.
    for plain in ["-5", "+44", "-0.5", "5", "a-b", "", "Smith\u{2011}Evans", "'quoted", "x=1"] {
        assert_eq!(inert(plain), plain, "{plain:?}");
    }
}

#[test]
fn hostile_source_values_reach_the_spreadsheet_inert() {
    let src = "ssoId,firstName,lastName,email,active\n-5,=1+1,@SUM(A1),ann@example.org,true\n";
    let mut p = planner(r#"{"platform":"foundry"}"#);
    p.add_source(src.as_bytes(), SourceFormat::Csv, "=evil.csv").unwrap();
    p.add_target(b"[]", TargetFormat::Auto, "").unwrap();
    let (header, rows) = read(&plan_to_csv(&p.finish()));
    let create = cells(&header, &rows[0]);
    assert_eq!(
        [create("key"), create("ssoId"), create("firstName"), create("lastName"), create("source")],
        ["-5", "-5", "'=1+1", "'@SUM(A1)", "'=evil.csv"]
    );
}

#[test]
fn an_empty_plan_is_the_header_alone() {
    let plan = Plan {
        actions: Vec::new(),
        summary: Summary::default(),
        options: PlanOptions::new(Platform::Foundry),
        fingerprint: String::new(),
        format: 1,
        held: None,
        withheld: None,
    };
    assert_eq!(plan_to_csv(&plan), format!("{}\r\n", PLAN_COLUMNS.join(",")).into_bytes());
}

#[test]
fn a_withheld_link_says_so_and_by_which_key() {
    let mut a = Action::new(ActionKind::Deactivate);
    a.key = Some(Cow::Borrowed("9"));
    a.withheld = true;
    let mut link = Action::new(ActionKind::Link);
    link.matched_by = Some(learner_sync::Field::Email);
    link.user = Some(Box::new(Values { email: Some(Cow::Borrowed("x@example.org")), ..Values::default() }));
    let plan = Plan {
        actions: vec![a, link],
        summary: Summary::default(),
        options: PlanOptions::new(Platform::Foundry),
        fingerprint: String::new(),
        format: 1,
        held: None,
        withheld: None,
    };
    let (header, rows) = read(&plan_to_csv(&plan));
    assert_eq!(cells(&header, &rows[0])("withheld"), "yes");
    assert_eq!(cells(&header, &rows[1])("matchedBy"), "email");
    assert_eq!(cells(&header, &rows[1])("email"), "x@example.org");
}

#[test]
fn report_outcomes_as_rows() {
    let report: SyncReport = serde_json::from_value(serde_json::json!({
        "mode": "full", "dryRun": false, "finished": true,
        "counts": {"done": 1, "failed": 1, "skipped": 1},
        "requests": 4, "retries": 1, "rateLimited": 0, "pagesRead": 1, "elapsedMs": 120,
        "created": [{"key": "686", "platformId": "new-1", "source": "hr.csv", "row": 5}],
        "outcomes": [
            {"action": "create", "key": "686", "platformId": "new-1", "source": "hr.csv", "row": 5, "state": "done", "attempts": 1},
            {"action": "update", "key": "33", "platformId": "dek-123", "source": "hr.csv", "row": 2, "state": "failed",
             "status": 422, "error": "=cmd|' /C calc'!A0, \"taken\"", "attempts": 2},
            {"action": "review", "key": "787", "platformId": "qai-928", "state": "skipped", "reason": "orphan: listed for review", "attempts": 0}
        ]
    }))
    .unwrap();
    let bytes = report_to_csv(&report);
    let (header, rows) = read(&bytes);
    assert_eq!(header, REPORT_COLUMNS);
    let flat: Vec<String> = rows.iter().map(|r| r.join("|")).collect();
    assert_eq!(
        flat,
        [
            "create|686|new-1|done||||1|hr.csv|5".to_string(),
            "update|33|dek-123|failed|422|'=cmd|' /C calc'!A0, \"taken\"||2|hr.csv|2".to_string(),
            "review|787|qai-928|skipped|||orphan: listed for review|0||".to_string(),
        ]
    );
    assert_eq!(bytes, report_to_csv(&report), "deterministic");
}

#[test]
fn every_write_of_a_held_plan_is_marked_held() {
    // Issue 12 item 7: a held plan's rows say so (nothing of it is sent until approved).
    let src = "ssoId,firstName,lastName,email,active\n1,A,B,a@x.org,false\n2,C,D,c@x.org,true\n3,E,F,e@x.org,true\n";
    let tgt = r#"[{"id":"u1","ssoId":"1","firstName":"A","lastName":"B","email":"a@x.org","active":true},
                  {"id":"u3","ssoId":"3","firstName":"E","lastName":"F","email":"e@x.org","active":true}]"#;
    let plan_with = |options: &str| {
        let mut p = learner_sync::Planner::new(PlanOptions::from_json(options.as_bytes()).unwrap()).unwrap();
        p.add_source(src.as_bytes(), SourceFormat::Auto, "hr.csv").unwrap();
        p.add_target(tgt.as_bytes(), TargetFormat::Auto, "t").unwrap();
        read(&plan_to_csv(&p.finish()))
    };
    let (header, rows) =
        plan_with(r#"{"platform":"foundry","guards":{"maxDeactivatePercent":0,"maxDeactivateCount":0}}"#);
    let got: Vec<(String, String)> =
        rows.iter().map(|r| (cells(&header, r)("action").to_string(), cells(&header, r)("held").to_string())).collect();
    assert_eq!(got, [("deactivate".to_string(), "yes".to_string()), ("create".to_string(), "yes".to_string())]);
    let (header, rows) = plan_with(r#"{"platform":"foundry"}"#);
    assert!(rows.iter().all(|r| cells(&header, r)("held").is_empty()), "a plan that is not held marks nothing");
}
