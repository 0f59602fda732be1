//! JSON source pages: an array of objects keyed by field names (or mapped column names).
//! Also home of [`Scalar`], the lenient JSON value reader the platform parsers share.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{ActiveRaw, RowDraft, SourceRows, SourceSchema, Target};
use crate::error::Error;
use crate::model::{Origin, StrArena};

/// A JSON value read as text where text makes sense: strings as they are, numbers and booleans
/// in their JSON spelling, `null` as nothing. Objects and arrays are noted but not kept.
#[derive(Debug, Default)]
pub(crate) enum Scalar<'a> {
    #[default]
    Null,
    Text(Cow<'a, str>),
    Bool(bool),
    /// An object or array where a single value was expected.
    Nested,
}

impl<'a> Scalar<'a> {
    /// The value as text (booleans spelled out), or `None` for null or nested values.
    pub(crate) fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Text(t) => Some(t),
            Scalar::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Scalar::Null | Scalar::Nested => None,
        }
    }
}

impl<'a> Scalar<'a> {
    /// Whether the value is text.
    pub(crate) fn is_text(&self) -> bool {
        matches!(self, Scalar::Text(_))
    }

    /// As [`into_text`](Self::into_text), but an object or array is an error naming `what`
    /// (`data[3].attributes.sso_id`): a value read as nothing would be a silent misreading
    /// (`{"value": "33"}` is not an empty key).
    pub(crate) fn into_value(self, what: impl FnOnce() -> String) -> Result<Option<Cow<'a, str>>, String> {
        match self {
            Scalar::Nested => Err(format!("{}: is an object or array, not a single value", what())),
            other => Ok(other.into_text()),
        }
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Nested)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Nested)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

struct Ctx<'s> {
    schema: &'s SourceSchema,
    page: u32,
    arena: &'s mut StrArena,
    out: SourceRows,
    /// Elements read so far.
    rows: u32,
}

pub(super) fn read(
    bytes: &[u8],
    schema: &SourceSchema,
    page: u32,
    label: &str,
    arena: &mut StrArena,
) -> Result<SourceRows, Error> {
    let mut ctx = Ctx { schema, page, arena, out: SourceRows::default(), rows: 0 };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = RowsSeed(&mut ctx).deserialize(&mut de).and_then(|()| de.end());
    result.map_err(|e| Error::MalformedSource {
        label: label.into(),
        detail: format!("not a JSON array of learner objects: {e}"),
    })?;
    Ok(ctx.out)
}

struct RowsSeed<'c, 's>(&'c mut Ctx<'s>);

impl<'de> DeserializeSeed<'de> for RowsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of learner objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(RowSeed(self.0))?.is_some() {}
        Ok(())
    }
}

struct RowSeed<'c, 's>(&'c mut Ctx<'s>);

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a learner object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        ctx.rows += 1;
        let mut draft = RowDraft::default();
        let mut has_active = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let Some(target) = ctx.schema.target_of(&key) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let value: Scalar<'de> = map.next_value()?;
            match (target, value) {
                (Target::Active, Scalar::Bool(b)) => {
                    has_active = true;
                    draft.set_active(ActiveRaw::Bool(b))
                }
                (Target::Active, Scalar::Text(t)) => {
                    has_active = true;
                    draft.set_active(ActiveRaw::Text(t))
                }
                (Target::Active, Scalar::Null) => has_active = true,
                (t, Scalar::Nested) => {
                    if t == Target::Active {
                        has_active = true;
                    }
                    draft.fault(t.name(), None, "is an object or array, not a single value");
                }
                (Target::PlatformId, v) => {
                    if let Some(t) = v.into_text() {
                        draft.set_platform_id(t);
                    }
                }
                (Target::Field(f), v) => {
                    if let Some(t) = v.into_text() {
                        draft.set(f, t);
                    }
                }
            }
        }
        let origin = Origin { page: ctx.page, row: ctx.rows };
        draft.finish(ctx.schema, has_active, origin, ctx.arena, &mut ctx.out);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_an_object()
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.not_an_object()
    }
}

impl RowSeed<'_, '_> {
    /// A non-object element is an invalid row; the rest of the page is still read.
    fn not_an_object<E>(self) -> Result<(), E> {
        let ctx = self.0;
        ctx.rows += 1;
        let mut draft = RowDraft::default();
        draft.fault("(record)", None, "is not a JSON object");
        let origin = Origin { page: ctx.page, row: ctx.rows };
        draft.finish(ctx.schema, true, origin, ctx.arena, &mut ctx.out);
        Ok(())
    }
}
