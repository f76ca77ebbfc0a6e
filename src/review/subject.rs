//! The subject under test: the policies synth emits for a plan (each role's identity
//! and trust policies, the bucket and key policies), with placeholders bound, and the
//! role names CloudFormation gives. This is the only part of the request cases read from
//! `emit`; what each role must be able to do is written in `cases`, independently.

use std::collections::BTreeMap;

use serde_json::Value;

use super::bindings::bind_value;
use crate::plan::{Plan, RolePlan};

/// One role as emitted.
pub struct SubjectRole {
    /// The role's plan name.
    pub name: String,
    /// Its managed policies (name → document), placeholders bound.
    pub identity_policies: Vec<(String, Value)>,
    pub trust: Value,
    /// How many distinct actions its policies grant (for the report).
    pub actions_granted: usize,
}

impl SubjectRole {
    /// Whether the trust policy pins `aws:SourceAccount`, which makes the service acting
    /// for another account a case to deny.
    pub fn pins_source_account(&self) -> bool {
        self.trust.to_string().contains("aws:SourceAccount")
    }
}

/// Every role's emitted policies, by role id.
pub fn roles(plan: &Plan, bindings: &BTreeMap<String, String>) -> BTreeMap<String, SubjectRole> {
    crate::emit::iam::roles(plan)
        .into_iter()
        .map(|(id, r)| {
            let identity_policies = r
                .policies
                .iter()
                .map(|(name, doc)| {
                    let v = serde_json::to_value(doc).expect("serialises");
                    (name.clone(), bind_value(bindings, &v))
                })
                .collect();
            let role = SubjectRole {
                actions_granted: crate::emit::iam::actions_of(&r).len(),
                name: r.name,
                identity_policies,
                trust: r.trust,
            };
            (id, role)
        })
        .collect()
}

/// A name of the shape CloudFormation gives a role it names (`<stack>-<LogicalId>-<suffix>`,
/// cut to IAM's 64 characters), for the role's ARN in the cases: key policies must admit
/// it by the role's path, not by a name known in advance.
pub fn generated_role_name(plan: &Plan, id: &str, role: &RolePlan) -> String {
    const SUFFIX: &str = "-Q2X7M4K9T1ZB";
    let stack = plan.stacks.get(&role.stack).map_or("stack", String::as_str);
    let mut head = format!("{stack}-{}", crate::emit::cfn::logical_id(&[id, "role"]));
    // Stack names and logical ids are ASCII.
    head.truncate(64 - SUFFIX.len());
    head + SUFFIX
}

fn has_intrinsic(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| k == "Ref" || k.starts_with("Fn::") || has_intrinsic(x)),
        Value::Array(a) => a.iter().any(has_intrinsic),
        _ => false,
    }
}

/// The bucket and key policies synth generates, by the bucket's or key's ARN.
pub fn resource_policies(
    plan: &Plan,
    bindings: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, String> {
    let out = crate::emit::synth(plan).map_err(|_| "synth failed".to_owned())?;
    let mut policies = BTreeMap::new();
    for (path, bytes) in &out.files {
        if !path.starts_with("stacks") || path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let t: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(resources) = t.get("Resources").and_then(Value::as_object) else {
            continue;
        };
        let at = path.display().to_string();
        for (logical, r) in resources {
            let Some((arn, doc)) = resource_policy(plan, bindings, resources, &at, logical, r)?
            else {
                continue;
            };
            if has_intrinsic(doc) {
                return Err(format!(
                    "{at}: {logical}: the policy uses intrinsic functions, which the cases cannot evaluate"
                ));
            }
            policies.insert(arn, bind_value(bindings, doc));
        }
    }
    Ok(policies)
}

/// A template resource's policy, if it is a bucket policy or a key: (ARN, document).
fn resource_policy<'a>(
    plan: &Plan,
    bindings: &BTreeMap<String, String>,
    resources: &serde_json::Map<String, Value>,
    at: &str,
    logical: &str,
    r: &'a Value,
) -> Result<Option<(String, &'a Value)>, String> {
    let props = &r["Properties"];
    Ok(match r["Type"].as_str() {
        Some("AWS::S3::BucketPolicy") => {
            let name = match &props["Bucket"] {
                Value::String(s) => s.clone(),
                Value::Object(o) if o.contains_key("Ref") => {
                    let target = o["Ref"].as_str().unwrap_or_default();
                    resources
                        .get(target)
                        .and_then(|b| b["Properties"]["BucketName"].as_str())
                        .ok_or_else(|| format!("{at}: {logical}: bucket name not literal"))?
                        .to_owned()
                }
                _ => return Err(format!("{at}: {logical}: bucket not found")),
            };
            Some((
                format!("arn:{}:s3:::{name}", plan.partition),
                &props["PolicyDocument"],
            ))
        }
        Some("AWS::KMS::Key") => {
            let Some(arn) = bindings.get(&format!("{logical}Arn")) else {
                return Err(format!("{at}: key {logical} has no placeholder binding"));
            };
            Some((arn.clone(), &props["KeyPolicy"]))
        }
        _ => None,
    })
}
