//! Reading event schemas (JSON Schema documents) for what pipewright needs from them:
//! is the schema valid, which fields exist at a dotted path, and what column type a
//! field maps to in the curated datasets.
//!
//! Only local references (`#/$defs/...`, `#/definitions/...`) are followed; nothing
//! is ever fetched.

use std::fmt;

use serde_json::Value;

const DRAFTS: &[&str] = &[
    "http://json-schema.org/draft-04/schema",
    "http://json-schema.org/draft-06/schema",
    "http://json-schema.org/draft-07/schema",
    "https://json-schema.org/draft/2019-09/schema",
    "https://json-schema.org/draft/2020-12/schema",
];

/// Problems with an event schema, as (JSON pointer inside the schema, message).
pub fn problems(schema: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some(obj) = schema.as_object() else {
        return vec![(
            String::new(),
            "an event schema must be a JSON object".into(),
        )];
    };
    if let Some(s) = obj.get("$schema") {
        let ok = s
            .as_str()
            .map(|s| s.trim_end_matches('#'))
            .is_some_and(|s| DRAFTS.contains(&s));
        if !ok {
            return vec![(
                "/$schema".into(),
                format!(
                    "`$schema` must name a JSON Schema draft pipewright knows (draft-04 to 2020-12), found {s}"
                ),
            )];
        }
    }
    match jsonschema::meta::validator_for(schema) {
        Ok(meta) => {
            for e in meta.iter_errors(schema).take(20) {
                out.push((e.instance_path().as_str().to_owned(), e.to_string()));
            }
        }
        Err(e) => out.push((String::new(), e.to_string())),
    }
    if out.is_empty()
        && let Err(e) = jsonschema::options().build(schema)
    {
        out.push((String::new(), format!("the schema does not compile: {e}")));
    }
    if out.is_empty() && obj.get("type").and_then(Value::as_str) != Some("object") {
        out.push((
            "/type".into(),
            "events are JSON objects: the schema's top level needs `\"type\": \"object\"`".into(),
        ));
    }
    out
}

/// Resolves a local `$ref` (one level at a time, at most 16 hops).
pub fn deref<'a>(root: &'a Value, mut s: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            return s;
        };
        let Some(ptr) = r.strip_prefix('#') else {
            return s;
        };
        match root.pointer(ptr) {
            Some(t) => s = t,
            None => return s,
        }
    }
    s
}

/// The JSON types a schema allows (`type` as a string or list), without `null`, and
/// whether `null` is allowed.
pub fn types(s: &Value) -> (Vec<&str>, bool) {
    match s.get("type") {
        Some(Value::String(t)) => (vec![t.as_str()], t == "null"),
        Some(Value::Array(ts)) => {
            let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            let null = names.contains(&"null");
            (names.into_iter().filter(|t| *t != "null").collect(), null)
        }
        _ => (Vec::new(), false),
    }
}

/// The properties an object schema declares, with `allOf` branches merged.
pub fn properties<'a>(root: &'a Value, s: &'a Value) -> Vec<(&'a str, &'a Value, bool)> {
    let s = deref(root, s);
    let mut out: Vec<(&str, &Value, bool)> = Vec::new();
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            out.push((k.as_str(), v, required.contains(&k.as_str())));
        }
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for branch in all {
            for (k, v, r) in properties(root, branch) {
                if !out.iter().any(|(n, _, _)| *n == k) {
                    out.push((k, v, r || required.contains(&k)));
                }
            }
        }
    }
    out
}

/// A field found at a dotted path.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    pub schema: &'a Value,
    /// Every step of the path is required (and not nullable).
    pub required: bool,
}

/// Finds the field at `dotted` (`store.id`) in an event schema.
pub fn field<'a>(root: &'a Value, dotted: &str) -> Result<Field<'a>, String> {
    let mut s = deref(root, root);
    let mut required = true;
    let mut walked = String::new();
    for part in dotted.split('.') {
        let props = properties(root, s);
        let Some((_, child, req)) = props.iter().find(|(k, _, _)| *k == part) else {
            let names: Vec<&str> = props.iter().map(|(k, _, _)| *k).collect();
            let at = if walked.is_empty() {
                "the event".to_owned()
            } else {
                format!("`{walked}`")
            };
            return Err(if names.is_empty() {
                format!("{at} has no declared properties, so `{part}` cannot be found")
            } else {
                format!("{at} has no property `{part}` (it has {})", list(&names))
            });
        };
        let child = deref(root, child);
        let (_, nullable) = types(child);
        required &= *req && !nullable;
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
        s = child;
    }
    Ok(Field {
        schema: s,
        required,
    })
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The type of a curated column (Glue/Hive names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Boolean,
    Int,
    BigInt,
    Double,
    Decimal(u8, u8),
    Date,
    Timestamp,
    Array(Box<ColumnType>),
    Struct(Vec<(String, ColumnType)>),
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::String => f.write_str("string"),
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::Int => f.write_str("int"),
            ColumnType::BigInt => f.write_str("bigint"),
            ColumnType::Double => f.write_str("double"),
            ColumnType::Decimal(p, s) => write!(f, "decimal({p},{s})"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::Array(t) => write!(f, "array<{t}>"),
            ColumnType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{n}:{t}")?;
                }
                f.write_str(">")
            }
        }
    }
}

impl ColumnType {
    /// Parses a scalar type name as written in a spec (`decimal(12,2)`, `bigint`, ...).
    pub fn parse(s: &str) -> Result<ColumnType, String> {
        let t = s.trim().to_ascii_lowercase();
        Ok(match t.as_str() {
            "string" => ColumnType::String,
            "boolean" => ColumnType::Boolean,
            "int" => ColumnType::Int,
            "bigint" => ColumnType::BigInt,
            "double" => ColumnType::Double,
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp,
            _ => {
                let inner = t
                    .strip_prefix("decimal(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("`{s}` is not a column type"))?;
                let (p, sc) = inner.split_once(',').ok_or_else(|| {
                    format!("`{s}`: decimal needs a precision and a scale, as in `decimal(12,2)`")
                })?;
                let p: u8 = p
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{s}`: bad precision"))?;
                let sc: u8 = sc.trim().parse().map_err(|_| format!("`{s}`: bad scale"))?;
                if !(1..=38).contains(&p) || sc > p {
                    return Err(format!(
                        "`{s}`: precision must be 1–38 and scale at most the precision"
                    ));
                }
                ColumnType::Decimal(p, sc)
            }
        })
    }

    /// Whether a value of type `from` fits a column of type `self` without loss
    /// (for schema evolution: widening is compatible).
    pub fn widens_from(&self, from: &ColumnType) -> bool {
        use ColumnType::*;
        if self == from {
            return true;
        }
        match (from, self) {
            (Int, BigInt) | (Int, Double) | (BigInt, Double) => true,
            (Int | BigInt, Decimal(p, s)) => p - s >= 19 || (matches!(from, Int) && p - s >= 10),
            (Decimal(p1, s1), Decimal(p2, s2)) => s2 >= s1 && (p2 - s2) >= (p1 - s1),
            (Date, Timestamp) => true,
            (Array(a), Array(b)) => b.widens_from(a),
            (Struct(a), Struct(b)) => a
                .iter()
                .all(|(n, t)| b.iter().any(|(m, u)| m == n && u.widens_from(t))),
            _ => false,
        }
    }
}

/// The column type of a field schema.
pub fn column_type(root: &Value, s: &Value) -> Result<ColumnType, String> {
    column_type_depth(root, s, 0)
}

fn column_type_depth(root: &Value, s: &Value, depth: usize) -> Result<ColumnType, String> {
    if depth > 16 {
        return Err("the schema nests too deeply to map to a column type".into());
    }
    let s = deref(root, s);
    let (ts, _) = types(s);
    let ty = match ts.as_slice() {
        [one] => *one,
        [] if s.get("enum").is_some() || s.get("const").is_some() => "string",
        [] => return Err("the field's schema has no `type`".into()),
        many => {
            if many.iter().all(|t| *t == "integer" || *t == "number") {
                "number"
            } else {
                return Err(format!(
                    "the field may be any of {}; a column needs one type (set `type` on the column)",
                    list(many)
                ));
            }
        }
    };
    Ok(match ty {
        "string" => match s.get("format").and_then(Value::as_str) {
            Some("date-time") => ColumnType::Timestamp,
            Some("date") => ColumnType::Date,
            _ => ColumnType::String,
        },
        "boolean" => ColumnType::Boolean,
        "integer" => {
            let fits_int = |k: &str, lo: bool| {
                s.get(k).and_then(Value::as_f64).is_some_and(|v| {
                    if lo {
                        v >= i32::MIN as f64
                    } else {
                        v <= i32::MAX as f64
                    }
                })
            };
            if fits_int("minimum", true) && fits_int("maximum", false) {
                ColumnType::Int
            } else {
                ColumnType::BigInt
            }
        }
        "number" => match s.get("multipleOf").and_then(Value::as_f64) {
            Some(m) if m < 1.0 && m > 0.0 => {
                let scale = (-m.log10()).round();
                if (10f64.powf(-scale) - m).abs() < 1e-12 && scale <= 18.0 {
                    ColumnType::Decimal(18, scale as u8)
                } else {
                    ColumnType::Double
                }
            }
            _ => ColumnType::Double,
        },
        "array" => {
            let items = s
                .get("items")
                .ok_or("an array field needs `items` to map to a column type")?;
            ColumnType::Array(Box::new(column_type_depth(root, items, depth + 1)?))
        }
        "object" => {
            let props = properties(root, s);
            if props.is_empty() {
                return Err("an object field needs `properties` to map to a column type".into());
            }
            let mut fields = Vec::new();
            for (k, v, _) in props {
                fields.push((k.to_owned(), column_type_depth(root, v, depth + 1)?));
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            ColumnType::Struct(fields)
        }
        other => return Err(format!("type `{other}` cannot be a column")),
    })
}

/// A parsed `MAJOR.MINOR.PATCH` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let mut it = s.split('.');
        let num = |p: Option<&str>| -> Option<u64> {
            let p = p?;
            if p.is_empty()
                || (p.len() > 1 && p.starts_with('0'))
                || !p.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            p.parse().ok()
        };
        let v = Version {
            major: num(it.next())?,
            minor: num(it.next())?,
            patch: num(it.next())?,
        };
        it.next().is_none().then_some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["id", "amount", "store"],
            "properties": {
                "id": {"type": "string"},
                "amount": {"type": "number", "multipleOf": 0.01},
                "at": {"type": "string", "format": "date-time"},
                "qty": {"type": "integer", "minimum": 0, "maximum": 1000},
                "store": {"$ref": "#/$defs/store"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "note": {"type": ["string", "null"]}
            },
            "$defs": {"store": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}}}
        })
    }

    #[test]
    fn fields_and_types() {
        let s = schema();
        let f = field(&s, "store.code").unwrap();
        assert!(f.required);
        assert_eq!(column_type(&s, f.schema).unwrap(), ColumnType::String);
        assert_eq!(
            column_type(&s, field(&s, "amount").unwrap().schema).unwrap(),
            ColumnType::Decimal(18, 2)
        );
        assert_eq!(
            column_type(&s, field(&s, "at").unwrap().schema).unwrap(),
            ColumnType::Timestamp
        );
        assert_eq!(
            column_type(&s, field(&s, "qty").unwrap().schema).unwrap(),
            ColumnType::Int
        );
        assert_eq!(
            column_type(&s, field(&s, "tags").unwrap().schema)
                .unwrap()
                .to_string(),
            "array<string>"
        );
        assert!(!field(&s, "note").unwrap().required);
        assert!(!field(&s, "at").unwrap().required);
        let e = field(&s, "store.name").unwrap_err();
        assert!(e.contains("`store` has no property `name`"), "{e}");
    }

    #[test]
    fn schema_problems() {
        assert!(problems(&schema()).is_empty());
        assert!(!problems(&json!({"type": "nonsense"})).is_empty());
        assert!(!problems(&json!({"type": "array"})).is_empty());
        assert!(
            !problems(&json!({"$schema": "http://evil.example/schema", "type": "object"}))
                .is_empty()
        );
        assert!(!problems(&json!({"type": "object", "properties": {"a": {"$ref": "https://x.example/a.json"}}})).is_empty());
    }

    #[test]
    fn column_type_parsing_and_widening() {
        assert_eq!(
            ColumnType::parse("decimal(12, 2)").unwrap(),
            ColumnType::Decimal(12, 2)
        );
        assert!(ColumnType::parse("decimal(2,3)").is_err());
        assert!(ColumnType::parse("varchar").is_err());
        assert!(ColumnType::BigInt.widens_from(&ColumnType::Int));
        assert!(!ColumnType::Int.widens_from(&ColumnType::BigInt));
        assert!(ColumnType::Decimal(14, 2).widens_from(&ColumnType::Decimal(12, 2)));
        assert!(!ColumnType::Decimal(12, 1).widens_from(&ColumnType::Decimal(12, 2)));
    }

    #[test]
    fn versions() {
        assert_eq!(Version::parse("1.2.3").unwrap().to_string(), "1.2.3");
        for bad in ["1.2", "1.2.3.4", "01.2.3", "a.b.c", "", "1..2"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }
}
