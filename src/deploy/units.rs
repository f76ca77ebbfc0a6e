//! The stacks of a plan as deploy sees them ([`StackUnit`]s read from synth's output),
//! and the rewrites `--moto-compat` makes to them for the emulator. No AWS calls.

use std::path::PathBuf;

use super::logic::{self, StackUnit};
use crate::emit::Output;
use crate::plan::{Plan, StackId};

/// The stacks of a plan, in deployment order, read from synth's output.
pub fn units(plan: &Plan, out: &Output) -> Result<Vec<StackUnit>, String> {
    let dir = PathBuf::from("stacks").join(&plan.env);
    let mut v = Vec::new();
    for (id, name) in &plan.stacks {
        let path = dir.join(format!("{}.json", id.name()));
        let Some(bytes) = out.files.get(&path) else {
            continue;
        };
        let region = match id {
            StackId::Replica => plan.replica_region.clone().unwrap_or(plan.region.clone()),
            _ => plan.region.clone(),
        };
        let body = String::from_utf8_lossy(bytes);
        v.push(logic::stack_unit(*id, name, &region, &body)?);
    }
    Ok(v)
}

/// moto 5.2.5 answers HTTP 500 to an `AWS::KMS::Key` with `Tags` (it expects KMS's
/// own TagKey/TagValue shape) and to an `AWS::EC2::FlowLog` with `Tags` (it tags a
/// flow log it has not found), and it looks an S3 flow-log destination with a prefix
/// up as a bucket named with the prefix. With `--moto-compat` the tags are dropped
/// from those resources and flow logs go to the bucket's root, and each rewrite is
/// reported; nothing else changes.
pub fn moto_compat(units: &mut [StackUnit]) -> Vec<String> {
    let mut notes = Vec::new();
    for u in units {
        let mut t: serde_json::Value = serde_json::from_str(&u.body).expect("parsed before");
        let mut changed = false;
        if let Some(rs) = t.get_mut("Resources").and_then(|r| r.as_object_mut()) {
            for (id, r) in rs {
                let ty = r
                    .get("Type")
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_owned();
                if matches!(ty.as_str(), "AWS::KMS::Key" | "AWS::EC2::FlowLog")
                    && let Some(p) = r.get_mut("Properties").and_then(|p| p.as_object_mut())
                    && p.remove("Tags").is_some()
                {
                    notes.push(format!("{}: dropped Tags of {ty} {id}", u.name));
                    changed = true;
                }
                if ty == "AWS::EC2::FlowLog"
                    && let Some(d) = r.pointer_mut("/Properties/LogDestination")
                    && let Some(arn) = d
                        .as_str()
                        .and_then(|a| a.split_once('/'))
                        .map(|(b, _)| b.to_owned())
                {
                    notes.push(format!(
                        "{}: flow log {id} delivers to {arn} (no prefix)",
                        u.name
                    ));
                    *d = serde_json::Value::String(arn);
                    changed = true;
                }
            }
        }
        if changed {
            u.body = serde_json::to_string_pretty(&t).expect("json");
        }
    }
    notes
}
