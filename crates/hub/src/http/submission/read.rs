//! Reading a job body without a generic JSON tree: `content` into one string, every
//! other member kept as the raw JSON text it was (borrowed from the body) until it is
//! checked, with [`MAX_OTHER_BYTES`] for all of them. A value past that limit, or a
//! `content` that is not a string, is only scanned for its syntax, never kept.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The members of a body other than `content` may hold this much JSON text in all.
pub const MAX_OTHER_BYTES: usize = 1024 * 1024;

/// `content`, or what stood in its place.
pub enum Content {
    Text(String),
    /// Anything but a string (its value was skipped, not kept).
    NotText,
}

/// The body as read: `content` apart, the other members as raw JSON borrowed from it.
pub struct RawBody<'a> {
    pub content: Option<Content>,
    /// A repeated member counts once, the last, as in a JSON object read into a map.
    pub members: BTreeMap<String, &'a RawValue>,
    /// The first member that went over [`MAX_OTHER_BYTES`].
    pub oversized: Option<String>,
}

impl RawBody<'_> {
    /// A member, read as `T` (the error in words when it is not one).
    pub fn member<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<Result<T, String>> {
        self.members
            .get(name)
            .map(|raw| serde_json::from_str::<T>(raw.get()).map_err(|e| e.to_string()))
    }

    /// A member that may be absent or null.
    pub fn optional<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, String> {
        match self.member::<Option<T>>(name) {
            None => Ok(None),
            Some(result) => result,
        }
    }
}

impl<'de> Deserialize<'de> for RawBody<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = RawBody<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body = RawBody {
            content: None,
            members: BTreeMap::new(),
            oversized: None,
        };
        let mut other_bytes = 0usize;
        while let Some(name) = map.next_key::<String>()? {
            if name == "content" {
                body.content = Some(map.next_value::<Content>()?);
            } else if body.oversized.is_some() {
                // Past the limit: only the syntax is still read.
                map.next_value::<IgnoredAny>()?;
            } else {
                let raw: &'de RawValue = map.next_value()?;
                other_bytes = other_bytes.saturating_add(name.len() + raw.get().len());
                if other_bytes > MAX_OTHER_BYTES {
                    body.oversized = Some(name);
                } else {
                    body.members.insert(name, raw);
                }
            }
        }
        Ok(body)
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContentVisitor)
    }
}

/// Takes a string; skips anything else without keeping it.
struct ContentVisitor;

impl<'de> Visitor<'de> for ContentVisitor {
    type Value = Content;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Content, E> {
        Ok(Content::Text(text.to_owned()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Content, E> {
        Ok(Content::Text(text))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Content, E> {
        Ok(Content::NotText)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Content, E> {
        Ok(Content::NotText)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Content, E> {
        Ok(Content::NotText)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Content, E> {
        Ok(Content::NotText)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Content, E> {
        Ok(Content::NotText)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Content::NotText)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Content, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Content::NotText)
    }
}
