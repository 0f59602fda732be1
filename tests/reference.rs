//! An independent reference planner, written from MISSION.md's table and issue 12's rules and
//! sharing no code with `src/planner`, and a property comparing the product's decision for
//! every learner row and every platform user with it, on generated cases with duplicate keys,
//! identifiers shared between users, administrators, unmanaged users (made by hand), keyless
//! users, emails in other cases and names in other Unicode forms.
//!
//! The reference is quadratic and plain on purpose: it should be obviously right.
//!
//! Rules (issue 12), in the order the reference applies them:
//! 1. Keys are tried in order (`match`, then the email when linking by email is on). At each
//!    key, among records not yet decided, a value held by exactly one learner and one user pairs
//!    them; held by two learners, or by one learner and two users, it is a conflict of exactly
//!    those; held by users only it decides nothing.
//! 2. A pair found by a later key onto a user with another primary key is a conflict. Otherwise
//!    MISSION's table: inactive learner and active user: deactivate; active learner and inactive
//!    user: reactivate (link when found by a later key); both active and a field differs:
//!    update (link when found by a later key). A write onto an unmanaged user (made by hand),
//!    or a deactivation of an administrator, is `review` instead.
//! 3. An active learner left over is created, unless a user holds (after the plan's writes)
//!    one of its keys or its email: a conflict.
//! 4. A user left over that shares a key value or its email with a learner is reviewed (it
//!    may be that learner's account); otherwise it is an orphan: administrators, unmanaged and protected
//!    users are left alone, the rest follow the policy.
//!
//! Deliberate differences from the product, each with its reason:
//! - The product also reports users sharing a key value that decided nothing
//!   (`sharedPlatformKey`), beside their own actions. It is a note, not a decision, so it is
//!   left out of the comparison (and the reference does not compute it).
//! - The product's `keyTaken` conflict names the user that holds the value; that user is
//!   planned on its own, so only the learner's row is compared.
//! - Learners always carry the primary key and the fields Foundry requires here, so no row is
//!   `invalid`: the source checks are tested on their own (tests/sources.rs), and modelling them
//!   here would copy the product's parser rather than check its decisions.

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

const KEYS: [&str; 4] = ["ssoId", "employeeId", "studentId", "email"];

#[derive(Clone, Debug)]
struct Learner {
    row: u64,
    sso: String,
    employee: Option<String>,
    email: String,
    first: String,
    last: String,
    active: bool,
}

#[derive(Clone, Debug)]
struct User {
    id: String,
    sso: Option<String>,
    employee: Option<String>,
    email: Option<String>,
    first: String,
    last: String,
    active: bool,
    admin: bool,
    managed: bool,
}

/// A field's value as the rules compare it: emails without case, names in NFC, identifiers
/// exactly.
fn norm(field: &str, v: &str) -> String {
    match field {
        "email" => v.to_lowercase(),
        "firstName" | "lastName" => v.nfc().collect(),
        _ => v.to_string(),
    }
}

impl Learner {
    fn get(&self, f: &str) -> Option<String> {
        let v = match f {
            "ssoId" => Some(self.sso.clone()),
            "employeeId" => self.employee.clone(),
            "email" => Some(self.email.clone()),
            "firstName" => Some(self.first.clone()),
            "lastName" => Some(self.last.clone()),
            _ => None,
        };
        v.map(|v| norm(f, &v))
    }
}

impl User {
    fn get(&self, f: &str) -> Option<String> {
        let v = match f {
            "ssoId" => self.sso.clone(),
            "employeeId" => self.employee.clone(),
            "email" => self.email.clone(),
            "firstName" => Some(self.first.clone()),
            "lastName" => Some(self.last.clone()),
            _ => None,
        };
        v.map(|v| norm(f, &v))
    }
}

#[derive(Clone, Debug)]
struct Options {
    platform: &'static str,
    keys: Vec<&'static str>,
    link_by_email: bool,
    orphans: &'static str,
    protect: Vec<String>,
}

impl Options {
    fn tried(&self) -> Vec<&'static str> {
        let mut k = self.keys.clone();
        if self.link_by_email && !k.contains(&"email") {
            k.push("email");
        }
        k
    }
    /// The fields the platform keeps (Foundry all; SCIM the primary key, email and names).
    fn stored(&self) -> Vec<&'static str> {
        let all = ["ssoId", "employeeId", "email", "firstName", "lastName"];
        all.into_iter()
            .filter(|f| {
                self.platform == "foundry" || *f == self.keys[0] || matches!(*f, "email" | "firstName" | "lastName")
            })
            .collect()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Open,
    Pair(usize, usize), // the other side, the key's index
    Conflict,
}

/// The reference: for every learner row and every user ID, the kind of its action (records
/// with no action are absent).
fn reference(o: &Options, ls: &[Learner], us: &[User]) -> BTreeMap<String, String> {
    let tried = o.tried();
    let primary = o.keys[0];
    let mut lf = vec![Fate::Open; ls.len()];
    let mut uf = vec![Fate::Open; us.len()];
    for (ki, &k) in tried.iter().enumerate() {
        let (lf0, uf0) = (lf.clone(), uf.clone());
        for (li, l) in ls.iter().enumerate() {
            let Some(v) = l.get(k) else { continue };
            if lf0[li] != Fate::Open {
                continue;
            }
            let same_l: Vec<usize> =
                (0..ls.len()).filter(|&j| lf0[j] == Fate::Open && ls[j].get(k).as_ref() == Some(&v)).collect();
            let same_u: Vec<usize> =
                (0..us.len()).filter(|&j| uf0[j] == Fate::Open && us[j].get(k).as_ref() == Some(&v)).collect();
            if same_l.len() == 1 && same_u.len() == 1 {
                lf[li] = Fate::Pair(same_u[0], ki);
                uf[same_u[0]] = Fate::Pair(li, ki);
            } else if same_l.len() >= 2 || same_u.len() >= 2 {
                for &j in &same_l {
                    lf[j] = Fate::Conflict;
                }
                for &j in &same_u {
                    uf[j] = Fate::Conflict;
                }
            }
        }
    }

    let mut out = BTreeMap::new();
    let mut put = |who: String, kind: &str| {
        out.insert(who, kind.to_string());
    };
    let row = |l: &Learner| format!("row {}", l.row);
    // What each user holds once the pairs' writes are made.
    let mut after: Vec<BTreeMap<&str, String>> =
        us.iter().map(|u| KEYS.iter().filter_map(|&k| u.get(k).map(|v| (k, v))).collect()).collect();

    for (li, l) in ls.iter().enumerate() {
        match lf[li] {
            Fate::Conflict => put(row(l), "conflict"),
            Fate::Pair(ui, ki) => {
                let u = &us[ui];
                let later = tried[ki] != primary;
                let kind = if later && u.get(primary).is_some() {
                    Some("conflict")
                } else {
                    let differs = o.stored().iter().any(|&f| l.get(f).is_some_and(|v| u.get(f) != Some(v)));
                    match (l.active, u.active) {
                        (false, true) => Some("deactivate"),
                        (true, false) if later => Some("link"),
                        (true, false) => Some("reactivate"),
                        (true, true) if differs && later => Some("link"),
                        (true, true) if differs => Some("update"),
                        _ => None,
                    }
                };
                let kind = match kind {
                    Some(k) if k != "conflict" && (!u.managed || (u.admin && k == "deactivate")) => Some("review"),
                    k => k,
                };
                if let Some(k) = kind {
                    put(row(l), k);
                    put(u.id.clone(), k);
                    if matches!(k, "update" | "link" | "reactivate") {
                        for f in o.stored() {
                            if let Some(v) = l.get(f) {
                                after[ui].insert(f, v);
                            }
                        }
                    }
                }
            }
            Fate::Open => {}
        }
    }
    for (li, l) in ls.iter().enumerate() {
        if lf[li] != Fate::Open || !l.active {
            continue;
        }
        let mut fields = tried.clone();
        if !fields.contains(&"email") {
            fields.push("email");
        }
        let taken = fields.iter().any(|&f| l.get(f).is_some_and(|v| after.iter().any(|a| a.get(f) == Some(&v))));
        put(row(l), if taken { "conflict" } else { "create" });
    }
    for (ui, u) in us.iter().enumerate() {
        match uf[ui] {
            Fate::Conflict => put(u.id.clone(), "conflict"),
            Fate::Open => {
                let shares = ls
                    .iter()
                    .any(|l| tried.iter().chain(["email"].iter()).any(|&k| u.get(k).is_some() && u.get(k) == l.get(k)));
                let protected = o.protect.iter().any(|p| *p == u.id || Some(p.clone()) == u.get(primary));
                if shares {
                    put(u.id.clone(), "review");
                } else if u.admin || !u.managed || protected {
                } else {
                    match (o.orphans, u.active) {
                        ("delete", _) => put(u.id.clone(), "delete"),
                        ("deactivate", true) => put(u.id.clone(), "deactivate"),
                        ("review", true) => put(u.id.clone(), "review"),
                        _ => {}
                    }
                }
            }
            Fate::Pair(..) => {}
        }
    }
    out
}

/// The product's plan, read the same way.
fn product(plan: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for a in plan["actions"].as_array().unwrap() {
        let kind = a["action"].as_str().unwrap().to_string();
        if a["conflict"] == "sharedPlatformKey" {
            continue;
        }
        if let Some(r) = a["row"].as_u64() {
            out.insert(format!("row {r}"), kind.clone());
        }
        for r in a["rows"].as_array().into_iter().flatten() {
            out.insert(format!("row {}", r["row"]), kind.clone());
        }
        if let Some(id) = a["platformId"].as_str() {
            out.insert(id.to_string(), kind.clone());
        }
        if a["conflict"] != "keyTaken" {
            for id in a["platformIds"].as_array().into_iter().flatten() {
                out.insert(id.as_str().unwrap().to_string(), kind.clone());
            }
        }
    }
    out
}

fn source_csv(ls: &[Learner]) -> String {
    let mut s = String::from("ssoId,employeeId,firstName,lastName,email,active\n");
    for l in ls {
        let e = l.employee.clone().unwrap_or_default();
        s.push_str(&format!("{},{},{},{},{},{}\n", l.sso, e, l.first, l.last, l.email, l.active));
    }
    s
}

fn target_json(us: &[User]) -> String {
    let v: Vec<Value> = us
        .iter()
        .map(|u| {
            json!({"id": u.id, "ssoId": u.sso, "employeeId": u.employee, "email": u.email, "firstName": u.first,
                   "lastName": u.last, "active": u.active, "admin": u.admin, "managed": u.managed})
        })
        .collect();
    Value::Array(v).to_string()
}

fn options_json(o: &Options) -> String {
    let keys: Vec<String> = o.keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!(
        r#"{{"platform":"{}","match":[{}],"linkByEmail":{},"orphans":"{}","protect":{}}}"#,
        o.platform,
        keys.join(","),
        o.link_by_email,
        o.orphans,
        serde_json::to_string(&o.protect).unwrap()
    )
}

/// Names in two Unicode forms (composed and decomposed é), so that "differs" is tested after NFC.
fn name(n: u8) -> String {
    match n {
        0 => "Jos\u{e9}".into(),
        1 => "Jose\u{301}".into(),
        _ => format!("N{n}"),
    }
}

fn email(n: u8, upper: bool) -> String {
    let e = format!("e{n}@x.org");
    if upper {
        e.to_uppercase()
    } else {
        e
    }
}

fn learners() -> impl Strategy<Value = Vec<Learner>> {
    prop::collection::vec(
        (0u8..10, prop::option::weighted(0.5, 0u8..6), 0u8..10, any::<bool>(), 0u8..3, 0u8..3, any::<bool>()),
        0..14,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (sso, emp, em, up, first, last, active))| Learner {
                row: i as u64 + 2,
                sso: sso.to_string(),
                employee: emp.map(|e| format!("E{e}")),
                email: email(em, up),
                first: name(first),
                last: name(last),
                active,
            })
            .collect()
    })
}

fn users() -> impl Strategy<Value = Vec<User>> {
    prop::collection::vec(
        (
            prop::option::weighted(0.7, 0u8..10),
            prop::option::weighted(0.5, 0u8..6),
            prop::option::weighted(0.9, 0u8..10),
            any::<bool>(),
            0u8..3,
            0u8..3,
            any::<bool>(),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.85),
        ),
        0..14,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (sso, emp, em, up, first, last, active, admin, managed))| User {
                id: format!("p{i}"),
                sso: sso.map(|s| s.to_string()),
                employee: emp.map(|e| format!("E{e}")),
                email: em.map(|e| email(e, up)),
                first: name(first),
                last: name(last),
                active,
                admin,
                managed,
            })
            .collect()
    })
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop::sample::select(vec![
            vec!["ssoId"],
            vec!["ssoId", "email"],
            vec!["ssoId", "employeeId"],
            vec!["ssoId", "employeeId", "email"],
            vec!["ssoId", "email", "employeeId"],
        ]),
        prop::sample::select(vec!["foundry", "scim"]),
        any::<bool>(),
        prop::sample::select(vec!["review", "deactivate", "delete"]),
        prop::option::of(0u8..10),
    )
        .prop_filter_map("Foundry has no delete", |(keys, platform, link_by_email, orphans, protect)| {
            // SCIM keeps only the primary key: a second identifier would never be stored.
            if (platform == "foundry" && orphans == "delete") || (platform == "scim" && keys.contains(&"employeeId")) {
                return None;
            }
            let protect = protect.map(|p| vec![format!("p{p}")]).unwrap_or_default();
            Some(Options { platform, keys, link_by_email, orphans, protect })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_product_decides_every_record_as_the_reference_does(o in options(), ls in learners(), us in users()) {
        let plan = support::plans::plan(&options_json(&o), &[&source_csv(&ls)], &[&target_json(&us)]);
        let want = reference(&o, &ls, &us);
        let got = product(&plan);
        prop_assert_eq!(&got, &want, "\noptions {}\nsource\n{}\ntarget {}\nplan {}", options_json(&o), source_csv(&ls), target_json(&us), plan);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Issue 12 item 6: the same pages in another order give the same bytes, conflicts and all.
    #[test]
    fn plans_are_the_same_bytes_whatever_the_order_of_pages(
        o in options(), ls in learners(), us in users(), cut_l in 0usize..14, cut_u in 0usize..14
    ) {
        let (l1, l2) = ls.split_at(cut_l.min(ls.len()));
        let (u1, u2) = us.split_at(cut_u.min(us.len()));
        let sources = [("a.csv", source_csv(l1)), ("b.csv", source_csv(l2))];
        let targets = [("t1", target_json(u1)), ("t2", target_json(u2))];
        let run = |order: [usize; 2]| {
            let mut p = support::plans::planner(&options_json(&o));
            for &i in &order {
                p.add_source(sources[i].1.as_bytes(), learner_sync::SourceFormat::Auto, sources[i].0).unwrap();
            }
            for &i in &order {
                p.add_target(targets[i].1.as_bytes(), learner_sync::TargetFormat::Auto, targets[i].0).unwrap();
            }
            String::from_utf8(p.finish().to_json()).unwrap()
        };
        prop_assert_eq!(run([0, 1]), run([1, 0]));
    }
}

#[test]
fn the_reference_plans_the_walkthrough_as_mission_says() {
    let l = |row, sso: &str, first: &str, last: &str, active| Learner {
        row,
        sso: sso.into(),
        employee: None,
        email: format!("{}@x.org", first.to_lowercase()),
        first: first.into(),
        last: last.into(),
        active,
    };
    let u = |id: &str, sso: &str, first: &str, last: &str| User {
        id: id.into(),
        sso: Some(sso.into()),
        employee: None,
        email: Some(format!("{}@x.org", first.to_lowercase())),
        first: first.into(),
        last: last.into(),
        active: true,
        admin: false,
        managed: true,
    };
    let ls = [
        l(2, "33", "Geoff", "Smith\u{2011}Evans", true),
        l(3, "44", "Kate", "Jones", true),
        l(4, "55", "Leo", "Later", false),
        l(5, "686", "Ellen", "Cohen", true),
        l(6, "77", "Mike", "Morris", false),
    ];
    let us = [
        u("dek\u{2011}123", "33", "Geoff", "Smith"),
        u("zak\u{2011}928", "44", "Kate", "Jones"),
        u("iux\u{2011}332", "55", "Leo", "Later"),
        u("qai\u{2011}928", "787", "Dan", "Dismayed"),
    ];
    let o =
        Options { platform: "foundry", keys: vec!["ssoId"], link_by_email: true, orphans: "review", protect: vec![] };
    let want: BTreeMap<String, String> = [
        ("row 2", "update"),
        ("dek\u{2011}123", "update"),
        ("row 4", "deactivate"),
        ("iux\u{2011}332", "deactivate"),
        ("row 5", "create"),
        ("qai\u{2011}928", "review"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(reference(&o, &ls, &us), want);
}
