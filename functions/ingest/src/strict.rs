//! JSON values as `serde_json::Value`, but noticing duplicate object keys: serde_json
//! keeps the last of them silently, and an event with two `total`s is ambiguous, so
//! the batch rejects it with the keys' paths instead of storing one of them.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Most duplicate keys recorded per event.
const MAX_DUPLICATES: usize = 10;

/// One value and the duplicate keys found in it (JSON Pointer of each repeated key).
#[derive(Debug, Default)]
pub struct Checked {
    pub value: Value,
    pub duplicates: Vec<String>,
}

/// Parses one JSON text (the whole slice) like `serde_json::from_slice::<Value>`,
/// recording duplicate keys.
pub fn from_slice(bytes: &[u8]) -> Result<Checked, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut dups = Vec::new();
    let value = Seed {
        path: String::new(),
        dups: &mut dups,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(Checked {
        value,
        duplicates: dups,
    })
}

/// A `DeserializeSeed` building a `Value` at `path`, recording duplicates in `dups`.
pub struct Seed<'d> {
    pub path: String,
    pub dups: &'d mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// RFC 6901 escaping of one reference token.
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let seed = Seed {
                path: format!("{}/{}", self.path, out.len()),
                dups: &mut *self.dups,
            };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}/{}", self.path, pointer_token(&key));
            let seed = Seed {
                path: path.clone(),
                dups: &mut *self.dups,
            };
            let v = map.next_value_seed(seed)?;
            if out.contains_key(&key) {
                if self.dups.len() < MAX_DUPLICATES {
                    self.dups.push(path);
                }
                continue;
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_serde_jsons_and_duplicates_are_found() {
        for text in [
            r#"{"a":1,"b":[1,2.5,-3,"x",null,true],"c":{"d":{}}}"#,
            r#""\u00e9\n""#,
            "18446744073709551615",
        ] {
            let c = from_slice(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
            let v: Result<Value, _> = serde_json::from_str(text);
            if let Ok(v) = v {
                assert_eq!(c.value, v, "{text}");
            }
            assert!(c.duplicates.is_empty());
        }
        let c = from_slice(br#"{"a":1,"a":2,"b":{"x/y":1,"x/y":2},"c":[{"k":1,"k":1}]}"#).unwrap();
        assert_eq!(c.duplicates, ["/a", "/b/x~1y", "/c/0/k"]);
        // The first of the repeated keys is the one kept (it is rejected anyway).
        assert_eq!(c.value["a"], 1);
        assert!(from_slice(b"{\"a\":1} x").is_err());
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(
            from_slice(deep.as_bytes()).is_err(),
            "serde_json's depth limit holds"
        );
    }
}
