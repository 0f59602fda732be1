//! Reading the system of record. A source page is CSV or JSON text; each row becomes a
//! [`Learner`] or, when it cannot be used, an [`InvalidRecord`] naming the row and field.
//!
//! Columns are found by the options' mapping (`{"ssoId": "Employee SSO", "active": {"column":
//! "Status", "activeValues": ["Active"]}}`); fields without a mapping use their own names.

mod csv_page;
mod json_page;
mod text;

use std::borrow::Cow;

pub(crate) use json_page::Scalar;
pub use text::{decode_windows_1252, Encoding as SourceEncoding, SourceText};

use crate::error::Error;
use crate::model::{Field, Fields, InvalidRecord, Learner, Origin, StrArena};
use crate::normalise::{self, excerpt};
use crate::options::{ColumnRule, PlanOptions};

/// The text format of a source page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    /// JSON if the page starts with `[` or `{`, CSV otherwise.
    Auto,
    Csv,
    /// An array of objects whose keys are field names (or mapped column names).
    Json,
}

impl SourceFormat {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" | "" => Some(SourceFormat::Auto),
            "csv" => Some(SourceFormat::Csv),
            "json" => Some(SourceFormat::Json),
            _ => None,
        }
    }
}

/// What a source column feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Field(Field),
    Active,
    /// The platform user ID the system of record stored (used by delta sync).
    PlatformId,
}

impl Target {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Field(f) => f.name(),
            Target::Active => "active",
            Target::PlatformId => "platformId",
        }
    }
}

/// The column layout the options describe.
pub(crate) struct SourceSchema {
    /// (column name, target, explicitly mapped)
    columns: Vec<(String, Target, bool)>,
    active_values: Option<Vec<String>>,
    inactive_values: Option<Vec<String>>,
    primary: Field,
}

impl SourceSchema {
    pub(crate) fn new(opts: &PlanOptions) -> Self {
        let mut columns = Vec::new();
        let mut active_values = None;
        let mut inactive_values = None;
        for f in Field::ALL {
            match opts.mapping.get(f.name()) {
                Some(rule) => columns.push((rule.column().to_string(), Target::Field(f), true)),
                None => columns.push((f.name().to_string(), Target::Field(f), false)),
            }
        }
        match opts.mapping.get("active") {
            Some(rule) => {
                if let ColumnRule::Rule { active_values: a, inactive_values: i, .. } = rule {
                    active_values = a.clone();
                    inactive_values = i.clone();
                }
                columns.push((rule.column().to_string(), Target::Active, true));
            }
            None => columns.push(("active".to_string(), Target::Active, false)),
        }
        match opts.mapping.get("platformId") {
            Some(rule) => columns.push((rule.column().to_string(), Target::PlatformId, true)),
            None => columns.push(("platformId".to_string(), Target::PlatformId, false)),
        }
        SourceSchema { columns, active_values, inactive_values, primary: opts.primary() }
    }

    /// The target of a column name: mapped names match exactly (after trimming); default
    /// names also match without case.
    pub(crate) fn target_of(&self, header: &str) -> Option<Target> {
        let h = header.trim();
        self.columns
            .iter()
            .find(|(name, _, mapped)| name == h || (!mapped && name.eq_ignore_ascii_case(h)))
            .map(|(_, t, _)| *t)
    }

    /// The column expected for a target, for error messages.
    pub(crate) fn column_of(&self, target: Target) -> &str {
        self.columns.iter().find(|(_, t, _)| *t == target).map(|(n, _, _)| n.as_str()).unwrap_or("")
    }

    /// Checks a page's header: the primary key's column must be there, and a mapped column
    /// must be there. Returns whether an `active` column is present.
    pub(crate) fn check_columns(&self, label: &str, present: &[Target]) -> Result<bool, Error> {
        for (name, target, mapped) in &self.columns {
            let needed = *mapped || *target == Target::Field(self.primary);
            if needed && !present.contains(target) {
                let field = target.name();
                return Err(Error::MissingColumn { label: label.into(), field: field.into(), column: name.clone() });
            }
        }
        Ok(present.contains(&Target::Active))
    }

    fn read_active(&self, raw: &str) -> Option<bool> {
        let v = normalise::trim(raw);
        let listed = |l: &Option<Vec<String>>| l.as_ref().map(|l| l.iter().any(|x| x.trim().eq_ignore_ascii_case(v)));
        match (listed(&self.active_values), listed(&self.inactive_values)) {
            (Some(true), _) => Some(true),
            (Some(false), Some(true)) => Some(false),
            (Some(false), Some(false)) => None,
            (Some(false), None) => (!v.is_empty()).then_some(false),
            (None, _) => normalise::parse_bool(v),
        }
    }
}

/// A raw `active` value.
pub(crate) enum ActiveRaw<'a> {
    Text(Cow<'a, str>),
    Bool(bool),
}

/// One row as read, before it is checked.
#[derive(Default)]
pub(crate) struct RowDraft<'a> {
    values: [Option<Cow<'a, str>>; 6],
    active: Option<ActiveRaw<'a>>,
    platform_id: Option<Cow<'a, str>>,
    /// The first fault found while reading (field, value, reason).
    fault: Option<(String, Option<String>, String)>,
}

impl<'a> RowDraft<'a> {
    pub(crate) fn set(&mut self, f: Field, v: Cow<'a, str>) {
        self.values[f.index()] = Some(v);
    }
    pub(crate) fn set_active(&mut self, v: ActiveRaw<'a>) {
        self.active = Some(v);
    }
    pub(crate) fn set_platform_id(&mut self, v: Cow<'a, str>) {
        self.platform_id = Some(v);
    }
    pub(crate) fn fault(&mut self, field: &str, value: Option<&str>, reason: &str) {
        if self.fault.is_none() {
            self.fault = Some((field.into(), value.map(excerpt), reason.into()));
        }
    }

    /// Checks the row and stores it as a learner or an invalid record.
    pub(crate) fn finish(
        self,
        schema: &SourceSchema,
        has_active_column: bool,
        origin: Origin,
        arena: &mut StrArena,
        out: &mut SourceRows,
    ) {
        let mut fields = Fields::default();
        let mut fault = self.fault;
        for f in Field::ALL {
            let Some(raw) = &self.values[f.index()] else { continue };
            let v = normalise::clean(raw);
            if v.is_empty() {
                continue;
            }
            match normalise::check(f, &v) {
                Ok(()) => fields.set(f, arena.push(&v)),
                Err(why) => {
                    if fault.is_none() {
                        fault = Some((f.name().into(), Some(excerpt(&v)), why));
                    }
                }
            }
        }
        let active = match &self.active {
            Some(ActiveRaw::Bool(b)) => Some(*b),
            Some(ActiveRaw::Text(t)) => schema.read_active(t),
            None if has_active_column => None,
            None => Some(true),
        };
        if active.is_none() && fault.is_none() {
            let value = match &self.active {
                Some(ActiveRaw::Text(t)) => Some(excerpt(t)),
                _ => None,
            };
            let why = if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                "is empty".to_string()
            } else if schema.active_values.is_some() {
                format!(
                    "is not one of the values mapped to active/inactive (column {:?})",
                    schema.column_of(Target::Active)
                )
            } else {
                "is not a true/false value (true/false, t/f, yes/no, 1/0)".to_string()
            };
            fault = Some(("active".into(), value, why));
        }
        let mut keyless = false;
        if fields.get(schema.primary).is_empty() && fault.is_none() {
            fault = Some((schema.primary.name().into(), None, "is empty; it is the primary matching key".into()));
            keyless = true;
        }
        let platform_id = match self.platform_id.as_deref().map(normalise::clean) {
            Some(id) if !id.is_empty() => arena.push(&id),
            _ => Default::default(),
        };
        match (fault, active) {
            (None, Some(active)) => out.learners.push(Learner { origin, fields, active, platform_id }),
            (Some((field, value, reason)), _) => {
                let by_platform_id = match active {
                    Some(active) if keyless && !platform_id.is_empty() => Some((platform_id, active)),
                    _ => None,
                };
                out.invalid.push(InvalidRecord { origin, field, value, reason, fields, by_platform_id })
            }
            (None, None) => unreachable!("a missing active value is a fault"),
        }
    }
}

/// The rows read from one source page.
#[derive(Default)]
pub(crate) struct SourceRows {
    pub learners: Vec<Learner>,
    pub invalid: Vec<InvalidRecord>,
}

/// Reads one source page, written as `text` says (or as detected).
pub(crate) fn read_page(
    bytes: &[u8],
    format: SourceFormat,
    text: &SourceText,
    schema: &SourceSchema,
    page: u32,
    label: &str,
    arena: &mut StrArena,
) -> Result<SourceRows, Error> {
    let (bytes, declared) = text::decode(bytes, text, label)?;
    let bytes = &bytes[..];
    let format = match format {
        SourceFormat::Auto => match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') | Some(b'{') => SourceFormat::Json,
            _ => SourceFormat::Csv,
        },
        f => f,
    };
    match format {
        SourceFormat::Json => json_page::read(bytes, schema, page, label, arena),
        _ => {
            let delimiter = match text.delimiter {
                Some(d) => d,
                None => text::detect_delimiter(bytes, label)?,
            };
            csv_page::read(bytes, delimiter, declared, schema, page, label, arena)
        }
    }
}
