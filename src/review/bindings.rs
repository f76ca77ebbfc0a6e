//! Test values for the deploy-time placeholders (`${DataKeyArn}`, `${PrivateSubnet1}`,
//! ...) of the plan's partition, account and region, and their substitution into
//! documents. Shared by the expectations (`cases`) and the subject (`subject`); neither
//! computes nor checks a permission.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::plan::Plan;

/// Example values of the shape AWS gives them, for the plan's partition, account and regions.
pub fn bindings(plan: &Plan) -> BTreeMap<String, String> {
    let kms = |region: &str, n: u8| {
        format!(
            "arn:{}:kms:{region}:{}:key/0d5e1a4b-7c2f-4e8a-9b3d-00000000000{n}",
            plan.partition, plan.account
        )
    };
    let mut b = BTreeMap::from([
        ("DataKeyArn".to_owned(), kms(&plan.region, 1)),
        ("ArtifactsKeyArn".to_owned(), kms(&plan.region, 2)),
        (
            "ReplicaKeyArn".to_owned(),
            kms(plan.replica_region.as_deref().unwrap_or(&plan.region), 3),
        ),
        (
            "WorkloadSecurityGroup".to_owned(),
            "sg-0b1c2d3e4f5a6b7c8".to_owned(),
        ),
        // A name of the shape CloudFormation gives the table (`<stack>-IndexTable-<suffix>`).
        (
            "IndexTableName".to_owned(),
            format!(
                "{}-IndexTable-1KX8W3PZ0Q7M",
                plan.stacks
                    .get(&crate::plan::StackId::Storage)
                    .map_or("storage", String::as_str)
            ),
        ),
    ]);
    for i in 1..=3 {
        b.insert(
            format!("PrivateSubnet{i}"),
            format!("subnet-0a1b2c3d4e5f6a7b{i}"),
        );
    }
    b
}

/// A string with every `${Name}` replaced by its value.
fn bind(bindings: &BTreeMap<String, String>, s: &str) -> String {
    let mut out = s.to_owned();
    for (k, v) in bindings {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// A document with every `${Name}` in its strings replaced by its value.
pub fn bind_value(bindings: &BTreeMap<String, String>, v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(bind(bindings, s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| bind_value(bindings, x)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), bind_value(bindings, x)))
                .collect(),
        ),
        other => other.clone(),
    }
}
