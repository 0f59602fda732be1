//! The planner: collects pages from both sides, then decides what a sync must do.
//!
//! ```text
//! Planner::new(options)
//!   -> add_source(page bytes) ...   (any number, any order, interleaved with add_target)
//!   -> add_target(page bytes) ...
//!   -> finish() -> Plan
//! ```
//!
//! A page that cannot be read at all is refused with an [`Error`] and leaves the planner as it
//! was; a bad row on a good page becomes an `invalid` action and the rest of the page is kept.

mod delta;
mod fingerprint;
pub(crate) mod guards;
mod matching;
pub mod plan;

use std::hash::{Hash, Hasher};

use serde::Serialize;

pub use plan::{
    Action, ActionKind, Change, Changes, ConflictKind, Held, Plan, RowRef, Summary, Values, Withheld, PLAN_FORMAT,
};

use crate::error::Error;
use crate::model::{InvalidRecord, Learner, PlatformUser, StrArena};
use crate::options::PlanOptions;
use crate::platform::{self, ReadContext, TargetFormat};
use crate::source::{self, SourceFormat, SourceSchema, SourceText};

/// Bounds on what a planner takes, so a runaway export or a hostile page fails clearly instead
/// of exhausting the memory of a Worker or a browser tab.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest page, in bytes.
    pub page_bytes: usize,
    /// Learners (source rows) in all.
    pub learners: usize,
    /// Platform users in all.
    pub users: usize,
}

/// The bounds in force. Fields are bounded too: `normalise::MAX_FIELD_CHARS` characters.
pub const LIMITS: Limits = Limits { page_bytes: 256 << 20, learners: 5_000_000, users: 5_000_000 };

// The executor takes no longer answer than a page the planner can read.
const _: () = assert!(LIMITS.page_bytes == crate::http::MAX_RESPONSE_BYTES);

/// What one page held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageStats {
    /// The label the page is known by in the plan and in errors.
    pub label: String,
    /// Records read (for a source page, usable learners).
    pub records: u32,
    /// Source rows that cannot be used (each is an `invalid` action in the plan).
    pub invalid: u32,
    /// Whether the platform says more pages follow; absent where the body does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
    /// For a platform page: how many users the platform says it has in all, where the page
    /// says (Foundry's `meta.total_count`, SCIM's `totalResults`).
    #[serde(skip)]
    pub total: Option<u64>,
    /// For a platform page: a digest of its users' IDs in order, so that the executor can
    /// tell a page it read before (a paging loop). Kept in memory only, never saved.
    #[serde(skip)]
    pub content: u64,
}

/// A short fingerprint (16 hex digits) of some texts, stable across targets and releases.
pub fn fingerprint_of(parts: &[&str]) -> String {
    fingerprint::of_parts(parts.iter().copied())
}

/// A platform user as the planner holds it (every field, whether the platform stores it).
#[derive(Clone, Debug)]
pub struct UserState<'p> {
    pub id: &'p str,
    pub values: Values<'p>,
    pub active: bool,
    pub admin: bool,
    pub managed: bool,
}

fn check_size(bytes: &[u8], label: impl FnOnce() -> String) -> Result<(), Error> {
    if bytes.len() > LIMITS.page_bytes {
        let detail = format!(
            "the page is {} MiB, more than the {} MiB a page may be",
            bytes.len() >> 20,
            LIMITS.page_bytes >> 20
        );
        return Err(Error::TooLarge { label: label(), detail });
    }
    Ok(())
}

/// Collects learners and platform users, and plans.
pub struct Planner {
    options: PlanOptions,
    schema: SourceSchema,
    arena: StrArena,
    labels: Vec<Box<str>>,
    learners: Vec<Learner>,
    invalid: Vec<InvalidRecord>,
    users: Vec<PlatformUser>,
    source_pages: u32,
    target_pages: u32,
    /// Source pages refused as a whole (their labels): their learners are missing, so the
    /// plan withholds every deactivation (see `guards`).
    refused_sources: Vec<Box<str>>,
}

impl Planner {
    /// A planner for these options (checked first).
    pub fn new(options: PlanOptions) -> Result<Self, Error> {
        options.validate()?;
        let schema = SourceSchema::new(&options);
        Ok(Planner {
            options,
            schema,
            arena: StrArena::default(),
            labels: Vec::new(),
            learners: Vec::new(),
            invalid: Vec::new(),
            users: Vec::new(),
            source_pages: 0,
            target_pages: 0,
            refused_sources: Vec::new(),
        })
    }

    /// The options the planner was made with.
    pub fn options(&self) -> &PlanOptions {
        &self.options
    }

    fn label(&mut self, label: &str, side: &str, n: u32) -> (u32, String) {
        let label = if label.is_empty() { format!("{side} page {n}") } else { label.to_string() };
        self.labels.push(label.clone().into_boxed_str());
        ((self.labels.len() - 1) as u32, label)
    }

    /// Reads one page of the system of record (CSV or JSON text). An empty label is replaced
    /// by "source page N".
    pub fn add_source(&mut self, bytes: &[u8], format: SourceFormat, label: &str) -> Result<PageStats, Error> {
        self.add_source_as(bytes, format, &SourceText::default(), label)
    }

    /// As [`add_source`](Self::add_source), for a page whose delimiter or encoding the host
    /// declares (`SourceText::default()` detects both).
    pub fn add_source_as(
        &mut self,
        bytes: &[u8],
        format: SourceFormat,
        text: &SourceText,
        label: &str,
    ) -> Result<PageStats, Error> {
        let result = self.read_source(bytes, format, text, label);
        if let Err(e) = &result {
            // A host may go on without the page; the plan must not act as if its learners left.
            let label = e.label().map_or_else(|| label.to_string(), str::to_string);
            self.refused_sources.push(label.into_boxed_str());
        }
        result
    }

    fn read_source(
        &mut self,
        bytes: &[u8],
        format: SourceFormat,
        text: &SourceText,
        label: &str,
    ) -> Result<PageStats, Error> {
        let named =
            || if label.is_empty() { format!("source page {}", self.source_pages + 1) } else { label.to_string() };
        check_size(bytes, named)?;
        self.source_pages += 1;
        let (page, label) = self.label(label, "source", self.source_pages);
        let rows = match source::read_page(bytes, format, text, &self.schema, page, &label, &mut self.arena) {
            Ok(rows) => rows,
            Err(e) => {
                self.labels.pop();
                self.source_pages -= 1;
                return Err(e);
            }
        };
        let stats = PageStats {
            label,
            records: rows.learners.len() as u32,
            invalid: rows.invalid.len() as u32,
            has_more: None,
            total: None,
            content: 0,
        };
        if self.learners.len() + self.invalid.len() + rows.learners.len() + rows.invalid.len() > LIMITS.learners {
            self.labels.pop();
            self.source_pages -= 1;
            let detail = format!("more than {} learners in all; split the sync", LIMITS.learners);
            return Err(Error::TooLarge { label: stats.label, detail });
        }
        // The first page (often the only one) is taken as it is rather than copied.
        if self.learners.is_empty() {
            self.learners = rows.learners;
        } else {
            self.learners.extend(rows.learners);
        }
        self.invalid.extend(rows.invalid);
        Ok(stats)
    }

    /// Reads one page of platform users: the raw body of a list call, or normalised JSON.
    pub fn add_target(&mut self, bytes: &[u8], format: TargetFormat, label: &str) -> Result<PageStats, Error> {
        let named =
            || if label.is_empty() { format!("target page {}", self.target_pages + 1) } else { label.to_string() };
        check_size(bytes, named)?;
        self.target_pages += 1;
        let (_, label) = self.label(label, "target", self.target_pages);
        let ctx = ReadContext::new(&self.options);
        let page = match platform::read_page(bytes, format, &ctx, &label, &mut self.arena) {
            Ok(page) => page,
            Err(e) => {
                self.labels.pop();
                self.target_pages -= 1;
                return Err(e);
            }
        };
        if self.users.len() + page.users.len() > LIMITS.users {
            self.labels.pop();
            self.target_pages -= 1;
            let detail = format!("more than {} platform users in all", LIMITS.users);
            return Err(Error::TooLarge { label, detail });
        }
        let content = {
            let mut h = rustc_hash::FxHasher::default();
            for u in &page.users {
                self.arena.get(u.id).hash(&mut h);
            }
            h.finish()
        };
        let stats = PageStats {
            label,
            records: page.users.len() as u32,
            invalid: 0,
            has_more: page.has_more,
            total: page.total,
            content,
        };
        // The platform's total (bounded, in case it is wrong) sizes the store once, instead of
        // doubling it page after page (each doubling briefly holds both copies).
        if let Some(total) = page.total {
            let want = (total.min(10_000_000) as usize).saturating_sub(self.users.len());
            if self.users.capacity() - self.users.len() < want {
                self.users.reserve_exact(want);
            }
        }
        self.users.extend(page.users);
        Ok(stats)
    }

    /// Plans the sync from everything read so far. The planner can take more pages and plan
    /// again afterwards.
    pub fn finish(&self) -> Plan<'_> {
        let superseded = self.superseded();
        let fingerprint = fingerprint::of_users(&self.arena, &self.users, &superseded);
        let inputs = matching::Inputs {
            opts: &self.options,
            arena: &self.arena,
            labels: &self.labels,
            learners: &self.learners,
            invalid: &self.invalid,
            users: &self.users,
            twice: self.listed_twice(&superseded),
            superseded,
        };
        let managed = self.managed_among(&inputs.superseded);
        let (actions, summary) = matching::decide(&inputs);
        let mut plan = Plan {
            actions,
            summary,
            options: self.options.clone(),
            fingerprint,
            format: PLAN_FORMAT,
            held: None,
            withheld: None,
        };
        let source = guards::SourceRead {
            rows: (self.learners.len() + self.invalid.len()) as u32,
            learners: self.learners.len() as u32,
            refused: &self.refused_sources,
        };
        guards::apply(&mut plan, &source, managed);
        plan
    }

    /// Managed platform users (the last copy of each), administrators left out: those orphan
    /// handling may touch, which the mass-change guard's share is of.
    pub fn managed_users(&self) -> u32 {
        self.managed_among(&self.superseded())
    }

    fn managed_among(&self, superseded: &[bool]) -> u32 {
        self.users.iter().zip(superseded).filter(|(u, &gone)| !gone && u.managed && !u.admin).count() as u32
    }

    /// Plans a delta sync: the source rows are the learners that changed, carrying the
    /// platform ID stored for them (`platformId`). No platform users are needed.
    pub fn finish_delta(&self) -> Plan<'_> {
        let (actions, summary) = delta::decide(&self.options, &self.arena, &self.labels, &self.learners, &self.invalid);
        let mut plan = Plan {
            actions,
            summary,
            options: self.options.clone(),
            fingerprint: String::new(),
            format: PLAN_FORMAT,
            held: None,
            withheld: None,
        };
        // A delta is the changes only: the completeness guard has nothing to compare, and the
        // platform's size is unknown, so the count limit alone holds a mass deactivation.
        guards::apply(&mut plan, &guards::SourceRead::UNJUDGED, 0);
        plan
    }

    /// Marks each user that a later page lists again (same ID): only the last copy counts.
    fn superseded(&self) -> Vec<bool> {
        let mut last: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
        last.reserve(self.users.len());
        let mut superseded = vec![false; self.users.len()];
        for (i, u) in self.users.iter().enumerate() {
            if let Some(before) = last.insert(self.arena.get(u.id), i) {
                superseded[before] = true;
            }
        }
        superseded
    }

    /// Marks every copy of a user ID listed more than once with different content (a listing
    /// that shifted under a change): the planner does nothing to such a user.
    fn listed_twice(&self, superseded: &[bool]) -> Vec<bool> {
        let mut twice = vec![false; self.users.len()];
        if !superseded.contains(&true) {
            return twice;
        }
        let a = &self.arena;
        let content =
            |u: &PlatformUser| (crate::model::Field::ALL.map(|f| a.get(u.fields.get(f))), u.active, u.admin, u.managed);
        let mut copies: rustc_hash::FxHashMap<&str, Vec<usize>> = rustc_hash::FxHashMap::default();
        for (i, u) in self.users.iter().enumerate() {
            copies.entry(a.get(u.id)).or_default().push(i);
        }
        for list in copies.values().filter(|l| l.len() > 1) {
            let first = content(&self.users[list[0]]);
            if list[1..].iter().any(|&i| content(&self.users[i]) != first) {
                for &i in list {
                    twice[i] = true;
                }
            }
        }
        twice
    }

    /// The platform users read so far (the last copy of each ID).
    pub fn platform_users(&self) -> Vec<UserState<'_>> {
        let superseded = self.superseded();
        self.users
            .iter()
            .zip(superseded)
            .filter(|(_, gone)| !gone)
            .map(|(u, _)| {
                let mut values = Values::default();
                for f in crate::model::Field::ALL {
                    if let Some(v) = self.arena.opt(u.fields.get(f)) {
                        values.set(f, std::borrow::Cow::Borrowed(v));
                    }
                }
                values.active = Some(u.active);
                UserState { id: self.arena.get(u.id), values, active: u.active, admin: u.admin, managed: u.managed }
            })
            .collect()
    }

    /// Source pages read.
    pub fn source_pages(&self) -> u32 {
        self.source_pages
    }

    /// The platform users read so far (the last copy of each ID) as a normalised JSON array,
    /// which [`add_target`](Self::add_target) reads back as [`TargetFormat::Normalised`]: how
    /// a checkpoint keeps a listing that spans invocations.
    pub fn users_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Saved<'a> {
            id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            sso_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            employee_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            student_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            email: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            first_name: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            last_name: Option<&'a str>,
            active: bool,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            admin: bool,
            managed: bool,
        }
        let superseded = self.superseded();
        let a = &self.arena;
        let live = self.users.iter().zip(superseded).filter(|(_, gone)| !gone).map(|(u, _)| {
            let f = |field: crate::model::Field| a.opt(u.fields.get(field));
            use crate::model::Field::*;
            Saved {
                id: a.get(u.id),
                sso_id: f(SsoId),
                employee_id: f(EmployeeId),
                student_id: f(StudentId),
                email: f(Email),
                first_name: f(FirstName),
                last_name: f(LastName),
                active: u.active,
                admin: u.admin,
                managed: u.managed,
            }
        });
        let mut out = Vec::with_capacity(self.users.len() * 96);
        let mut ser = serde_json::Serializer::new(&mut out);
        serde::Serializer::collect_seq(&mut ser, live).expect("users serialise");
        out
    }

    /// Bytes held for records (text and record arrays), for memory reporting.
    pub fn memory_bytes(&self) -> usize {
        self.arena.bytes()
            + self.learners.capacity() * std::mem::size_of::<Learner>()
            + self.users.capacity() * std::mem::size_of::<PlatformUser>()
            + self.invalid.capacity() * std::mem::size_of::<InvalidRecord>()
    }
}
