//! CloudFormation as typed data: templates, resources and intrinsic functions,
//! serialised by one function into canonical JSON (fixed key order, two-space
//! indent, trailing newline). Nothing here knows about pipelines.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

/// A value in a template: plain data or an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Expr>),
    Map(BTreeMap<String, Expr>),
    /// Raw JSON (policy documents and the like, already canonical).
    Json(serde_json::Value),
    Ref(String),
    GetAtt(String, String),
    /// `Fn::Sub` with optional variables.
    Sub(String, BTreeMap<String, Expr>),
    Join(String, Vec<Expr>),
    ImportValue(Box<Expr>),
    /// `Fn::Select [i, Fn::GetAZs ""]`: the i-th availability zone.
    Az(u32),
    /// `Fn::If [condition, then, else]`.
    If(String, Box<Expr>, Box<Expr>),
    /// `Fn::Equals [a, b]` (in `Conditions`).
    Equals(Box<Expr>, Box<Expr>),
    /// `Fn::Not [x]` (in `Conditions`).
    Not(Box<Expr>),
    /// `Fn::And [x, ...]` (in `Conditions`).
    And(Vec<Expr>),
}

impl Expr {
    pub fn s(v: impl Into<String>) -> Expr {
        Expr::Str(v.into())
    }
    pub fn r(v: impl Into<String>) -> Expr {
        Expr::Ref(v.into())
    }
    pub fn att(res: impl Into<String>, attr: impl Into<String>) -> Expr {
        Expr::GetAtt(res.into(), attr.into())
    }
    pub fn sub(v: impl Into<String>) -> Expr {
        Expr::Sub(v.into(), BTreeMap::new())
    }
    pub fn import(name: impl Into<String>) -> Expr {
        Expr::ImportValue(Box::new(Expr::Str(name.into())))
    }
    pub fn list<I: IntoIterator<Item = Expr>>(items: I) -> Expr {
        Expr::List(items.into_iter().collect())
    }
    pub fn strs<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Expr {
        Expr::List(items.into_iter().map(|s| Expr::Str(s.into())).collect())
    }
    /// `value` when `condition` holds, else no property at all (`AWS::NoValue`).
    pub fn when(condition: impl Into<String>, value: Expr) -> Expr {
        Expr::If(
            condition.into(),
            Box::new(value),
            Box::new(Expr::r("AWS::NoValue")),
        )
    }
    /// A condition: the parameter `name` was given a value (it is not `""`).
    pub fn given(name: &str) -> Expr {
        Expr::Not(Box::new(Expr::Equals(
            Box::new(Expr::r(name)),
            Box::new(Expr::s("")),
        )))
    }
}

impl From<&str> for Expr {
    fn from(s: &str) -> Expr {
        Expr::Str(s.to_owned())
    }
}
impl From<String> for Expr {
    fn from(s: String) -> Expr {
        Expr::Str(s)
    }
}
impl From<bool> for Expr {
    fn from(b: bool) -> Expr {
        Expr::Bool(b)
    }
}
impl From<i64> for Expr {
    fn from(i: i64) -> Expr {
        Expr::Int(i)
    }
}
impl From<u32> for Expr {
    fn from(i: u32) -> Expr {
        Expr::Int(i64::from(i))
    }
}

/// Builds a map expression: `obj([("Key", x.into()), ...])`.
pub fn obj<const N: usize>(entries: [(&str, Expr); N]) -> Expr {
    Expr::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let one = |s: S, k: &str, v: &dyn erased::Ser| -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry(k, &erased::Wrap(v))?;
            m.end()
        };
        match self {
            Expr::Str(v) => s.serialize_str(v),
            Expr::Int(v) => s.serialize_i64(*v),
            Expr::Float(v) => s.serialize_f64(*v),
            Expr::Bool(v) => s.serialize_bool(*v),
            Expr::List(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Expr::Map(m) => m.serialize(s),
            Expr::Json(v) => v.serialize(s),
            Expr::Ref(r) => one(s, "Ref", r),
            Expr::GetAtt(a, b) => one(s, "Fn::GetAtt", &[a.as_str(), b.as_str()]),
            Expr::Sub(t, vars) if vars.is_empty() => one(s, "Fn::Sub", t),
            Expr::Sub(t, vars) => one(s, "Fn::Sub", &(t, vars)),
            Expr::Join(sep, parts) => one(s, "Fn::Join", &(sep, parts)),
            Expr::ImportValue(v) => one(s, "Fn::ImportValue", v.as_ref()),
            Expr::Az(i) => one(s, "Fn::Select", &(i, BTreeMap::from([("Fn::GetAZs", "")]))),
            Expr::If(c, a, b) => one(s, "Fn::If", &(c, a.as_ref(), b.as_ref())),
            Expr::Equals(a, b) => one(s, "Fn::Equals", &(a.as_ref(), b.as_ref())),
            Expr::Not(x) => one(s, "Fn::Not", &[x.as_ref()]),
            Expr::And(xs) => one(s, "Fn::And", xs),
        }
    }
}

/// Minimal type erasure so `one` can take any serialisable value.
mod erased {
    use serde::Serialize;

    pub trait Ser {
        fn ser_json(&self) -> serde_json::Value;
    }
    impl<T: Serialize + ?Sized> Ser for T {
        fn ser_json(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("template values serialise")
        }
    }
    pub struct Wrap<'a>(pub &'a dyn Ser);
    impl Serialize for Wrap<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.0.ser_json().serialize(s)
        }
    }
}

/// A resource. Field order is the order in the output.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    #[serde(rename = "Type")]
    pub ty: String,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(rename = "DependsOn", skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(rename = "DeletionPolicy", skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<&'static str>,
    #[serde(
        rename = "UpdateReplacePolicy",
        skip_serializing_if = "Option::is_none"
    )]
    pub update_replace_policy: Option<&'static str>,
    #[serde(rename = "Metadata", skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Expr>,
    #[serde(rename = "Properties", skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Expr>,
}

impl Resource {
    pub fn new(ty: &str) -> Resource {
        Resource {
            ty: ty.to_owned(),
            condition: None,
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            metadata: BTreeMap::new(),
            properties: BTreeMap::new(),
        }
    }

    /// Sets a property.
    pub fn p(mut self, key: &str, value: impl Into<Expr>) -> Resource {
        self.properties.insert(key.to_owned(), value.into());
        self
    }

    /// Sets a property when the value is present.
    pub fn p_opt(self, key: &str, value: Option<impl Into<Expr>>) -> Resource {
        match value {
            Some(v) => self.p(key, v),
            None => self,
        }
    }

    pub fn depends(mut self, on: &str) -> Resource {
        self.depends_on.push(on.to_owned());
        self.depends_on.sort();
        self.depends_on.dedup();
        self
    }

    /// `DeletionPolicy` and `UpdateReplacePolicy` both `Retain` (when `retain`) or `Delete`.
    pub fn retain(mut self, retain: bool) -> Resource {
        let p = if retain { "Retain" } else { "Delete" };
        self.deletion_policy = Some(p);
        self.update_replace_policy = Some(p);
        self
    }

    /// Records that a checkov check does not apply, with the reason (checkov reads
    /// `Metadata.checkov.skip`). Reasons are required: a skip without one is a bug.
    pub fn skip_check(mut self, id: &str, reason: &str) -> Resource {
        assert!(!reason.trim().is_empty(), "a skipped check needs a reason");
        let entry = obj([("comment", Expr::s(reason)), ("id", Expr::s(id))]);
        match self.metadata.get_mut("checkov") {
            Some(Expr::Map(m)) => {
                if let Some(Expr::List(l)) = m.get_mut("skip") {
                    l.push(entry);
                }
            }
            _ => {
                self.metadata
                    .insert("checkov".into(), obj([("skip", Expr::list([entry]))]));
            }
        }
        self
    }

    /// Records that a cfn-lint rule is ignored on this resource, with the reason
    /// (`Metadata.cfn-lint.config.ignore_checks`, the reason beside it as `comment`).
    /// `scripts/judges/cfn-lint` admits only the rules it lists, each with a reason.
    pub fn lint_ignore(mut self, rule: &str, reason: &str) -> Resource {
        assert!(!reason.trim().is_empty(), "an ignored rule needs a reason");
        assert!(
            !self.metadata.contains_key("cfn-lint"),
            "one ignored cfn-lint rule per resource"
        );
        self.metadata.insert(
            "cfn-lint".into(),
            obj([
                ("comment", Expr::s(reason)),
                (
                    "config",
                    obj([("ignore_checks", Expr::list([Expr::s(rule)]))]),
                ),
            ]),
        );
        self
    }

    pub fn meta(mut self, key: &str, value: Expr) -> Resource {
        self.metadata.insert(key.to_owned(), value);
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub ty: &'static str,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "AllowedPattern", skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// A default makes the parameter optional: `deploy` may leave it at the default
    /// until the stack whose output fills it exists (see `deploy::logic::ParamSource`).
    #[serde(rename = "Default", skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Output {
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Value")]
    pub value: Expr,
    #[serde(rename = "Export", skip_serializing_if = "Option::is_none")]
    pub export: Option<Expr>,
}

/// A template. Field order is the order in the output.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    pub version: &'static str,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Metadata", skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Expr>,
    #[serde(rename = "Parameters", skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Parameter>,
    #[serde(rename = "Conditions", skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, Expr>,
    #[serde(rename = "Resources")]
    pub resources: BTreeMap<String, Resource>,
    #[serde(rename = "Outputs", skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Output>,
}

impl Template {
    pub fn new(description: impl Into<String>) -> Template {
        Template {
            version: "2010-09-09",
            description: description.into(),
            ..Template::default()
        }
    }

    /// Adds a resource; a logical id used twice is a bug in an emitter.
    pub fn add(&mut self, logical_id: &str, r: Resource) {
        let prev = self.resources.insert(logical_id.to_owned(), r);
        assert!(prev.is_none(), "logical id {logical_id} used twice");
    }

    pub fn output(&mut self, name: &str, description: &str, value: Expr, export: Option<String>) {
        self.outputs.insert(
            name.to_owned(),
            Output {
                description: description.to_owned(),
                value,
                export: export.map(|e| obj([("Name", Expr::Str(e))])),
            },
        );
    }

    /// The canonical text of the template.
    pub fn to_json(&self) -> String {
        canonical_json(self)
    }
}

/// Two-space pretty JSON with a trailing newline: the one serialiser for every JSON
/// file pipewright writes.
pub fn canonical_json<T: Serialize + ?Sized>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("outputs serialise");
    s.push('\n');
    s
}

/// A CloudFormation logical id from parts: alphanumerics only, each part capitalised
/// (`["pos", "sales"]` → `PosSales`).
pub fn logical_id(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        for word in part.split(|c: char| !c.is_ascii_alphanumeric()) {
            let mut cs = word.chars();
            if let Some(f) = cs.next() {
                out.extend(f.to_uppercase());
                out.push_str(cs.as_str());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_serialise_in_long_form() {
        let e = obj([
            ("A", Expr::r("Bucket")),
            ("B", Expr::att("Key", "Arn")),
            ("C", Expr::import("stack:KeyArn")),
            ("D", Expr::Az(1)),
            (
                "E",
                Expr::Sub(
                    "${X}".into(),
                    BTreeMap::from([("X".to_owned(), Expr::r("Y"))]),
                ),
            ),
        ]);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["A"], serde_json::json!({"Ref": "Bucket"}));
        assert_eq!(v["B"], serde_json::json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(
            v["C"],
            serde_json::json!({"Fn::ImportValue": "stack:KeyArn"})
        );
        assert_eq!(
            v["D"],
            serde_json::json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]})
        );
        assert_eq!(
            v["E"],
            serde_json::json!({"Fn::Sub": ["${X}", {"X": {"Ref": "Y"}}]})
        );
    }

    #[test]
    fn conditions_serialise_in_long_form() {
        let both = Expr::And(vec![Expr::given("A"), Expr::given("B")]);
        assert_eq!(
            serde_json::to_value(&both).unwrap(),
            serde_json::json!({"Fn::And": [
                {"Fn::Not": [{"Fn::Equals": [{"Ref": "A"}, ""]}]},
                {"Fn::Not": [{"Fn::Equals": [{"Ref": "B"}, ""]}]},
            ]})
        );
        assert_eq!(
            serde_json::to_value(Expr::when("On", Expr::s("x"))).unwrap(),
            serde_json::json!({"Fn::If": ["On", "x", {"Ref": "AWS::NoValue"}]})
        );
    }

    #[test]
    fn resources_put_type_first() {
        let mut t = Template::new("d");
        t.add(
            "B",
            Resource::new("AWS::S3::Bucket")
                .p("BucketName", "b")
                .retain(true),
        );
        let s = t.to_json();
        let type_at = s.find("\"Type\"").unwrap();
        let props_at = s.find("\"Properties\"").unwrap();
        assert!(type_at < props_at);
        assert!(s.ends_with("}\n"));
    }

    #[test]
    fn logical_ids() {
        assert_eq!(logical_id(&["transform", "pos_sales"]), "TransformPosSales");
        assert_eq!(logical_id(&["raw-replica", "bucket"]), "RawReplicaBucket");
    }
}
