//! The planner's records: [`Learner`]s from the system of record, [`PlatformUser`]s from the
//! learning platform, and the rows that could not be used ([`InvalidRecord`]).
//!
//! Text is kept in one [`StrArena`] per planner and records hold [`Span`]s into it, so a
//! 100,000-learner realm costs a few allocations rather than a million.

use serde::{Deserialize, Serialize};

/// A learner field the planner compares and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    SsoId,
    EmployeeId,
    StudentId,
    Email,
    FirstName,
    LastName,
}

impl Field {
    /// Every field, in the order plans list them.
    pub const ALL: [Field; 6] =
        [Field::SsoId, Field::EmployeeId, Field::StudentId, Field::Email, Field::FirstName, Field::LastName];

    /// The field's name in options, normalised JSON and plans.
    pub fn name(self) -> &'static str {
        match self {
            Field::SsoId => "ssoId",
            Field::EmployeeId => "employeeId",
            Field::StudentId => "studentId",
            Field::Email => "email",
            Field::FirstName => "firstName",
            Field::LastName => "lastName",
        }
    }

    /// The field with this normalised name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether the field can be a matching key (identifiers and email; names cannot).
    pub fn is_key(self) -> bool {
        !matches!(self, Field::FirstName | Field::LastName)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A piece of text in a [`StrArena`]. The empty span stands for "no value".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    len: u32,
}

impl Span {
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

const CHUNK_BITS: u32 = 20;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Append-only text storage in 1 MiB chunks: no chunk is ever moved, so memory grows in
/// steady steps instead of doubling. Strings longer than a chunk are refused by the field
/// length bound long before they get here.
#[derive(Default)]
pub struct StrArena {
    chunks: Vec<String>,
}

impl StrArena {
    /// Stores `s` and returns its span. The empty string gives the empty span.
    pub fn push(&mut self, s: &str) -> Span {
        if s.is_empty() {
            return Span::default();
        }
        assert!(s.len() < CHUNK, "field longer than an arena chunk");
        let need_new = match self.chunks.last() {
            Some(c) => c.len() + s.len() > CHUNK,
            None => true,
        };
        if need_new {
            self.chunks.push(String::with_capacity(CHUNK));
        }
        let idx = self.chunks.len() - 1;
        let chunk = &mut self.chunks[idx];
        let start = ((idx as u32) << CHUNK_BITS) | chunk.len() as u32;
        chunk.push_str(s);
        Span { start, len: s.len() as u32 }
    }

    /// The text of a span (empty for the empty span).
    pub fn get(&self, span: Span) -> &str {
        if span.len == 0 {
            return "";
        }
        let chunk = &self.chunks[(span.start >> CHUNK_BITS) as usize];
        let at = (span.start as usize) & (CHUNK - 1);
        // Chunks are `String`s, so slicing checks only the two char boundaries (O(1)), not
        // the whole text as `from_utf8` would on every comparison.
        &chunk[at..at + span.len as usize]
    }

    /// The text of a span, or `None` for the empty span.
    pub fn opt(&self, span: Span) -> Option<&str> {
        (!span.is_empty()).then(|| self.get(span))
    }

    /// Bytes held, for memory reporting.
    pub fn bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.capacity()).sum()
    }
}

/// The six comparable fields of a record, as spans.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fields(pub [Span; 6]);

impl Fields {
    pub fn get(&self, f: Field) -> Span {
        self.0[f.index()]
    }
    pub fn set(&mut self, f: Field, s: Span) {
        self.0[f.index()] = s;
    }
}

/// Where a record came from: the page it was on and its row there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    /// Index into the planner's page labels.
    pub page: u32,
    /// For CSV, the spreadsheet row (the header is row 1); for JSON, the 1-based element.
    pub row: u32,
}

/// One learner from the system of record, normalised.
#[derive(Clone, Debug)]
pub struct Learner {
    pub origin: Origin,
    pub fields: Fields,
    pub active: bool,
    /// The platform user ID the system of record stored (delta sync); empty when unknown.
    pub platform_id: Span,
}

/// One user of the learning platform, normalised.
#[derive(Clone, Debug)]
pub struct PlatformUser {
    /// The platform's own user ID.
    pub id: Span,
    pub fields: Fields,
    pub active: bool,
    /// Holds an administrator role (never touched by orphan handling).
    pub admin: bool,
    /// Created by the integration (on Learnifier: has an external id). Unmanaged users are
    /// never touched by orphan handling.
    pub managed: bool,
}

/// A source row that cannot be used, and why. Its identifiers (where they could be read) still
/// take part in matching, so the platform user it refers to is left alone rather than treated
/// as an orphan.
#[derive(Clone, Debug)]
pub struct InvalidRecord {
    pub origin: Origin,
    /// The field (or column) at fault.
    pub field: String,
    /// The offending value, where there is one (cut to 100 characters).
    pub value: Option<String>,
    pub reason: String,
    /// Identifiers read from the row before the fault was found.
    pub fields: Fields,
    /// A row whose only fault is an empty primary key, with the platform ID a delta sync
    /// stored for it and whether it is active: a delta can still deactivate it by that ID.
    pub by_platform_id: Option<(Span, bool)>,
}
