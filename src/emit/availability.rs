//! Whether the region offers what the templates create: every resource type of an
//! environment's templates against CloudFormation's types in that region (cfn-lint's
//! per-region schemas, through `crate::aws`), each unavailable one named with the spec
//! section that brings it. Not a judge of the spec itself: it reads the emitted templates.

use std::collections::BTreeSet;

use crate::diag::Diagnostic;
use crate::plan::Plan;

use super::Output;

/// A resource type the templates create that the region does not have.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unavailable {
    pub cfn_type: String,
    /// The spec section that makes the templates create it (`ml`, `analytics.quicksight`).
    pub section: &'static str,
}

/// The spec section behind a resource type's namespace.
fn section_of(cfn_type: &str) -> &'static str {
    let ns = cfn_type.split("::").take(2).collect::<Vec<_>>().join("::");
    match ns.as_str() {
        "AWS::SageMaker" => "ml",
        "AWS::QuickSight" => "analytics.quicksight",
        "AWS::Scheduler" => "analytics.quicksight.index_export_schedule",
        "AWS::Athena" => "analytics.athena",
        "AWS::Glue" => "transforms",
        "AWS::EC2" => "compliance",
        _ => "environments",
    }
}

/// The tracked resource types of `out`'s templates that `plan`'s region lacks.
pub fn unavailable(plan: &Plan, out: &Output) -> Vec<Unavailable> {
    let mut found = BTreeSet::new();
    for (path, bytes) in &out.files {
        if !path.starts_with("stacks") || path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(t) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            continue;
        };
        // The replica stack is deployed in the replica region; every other in the plan's.
        let region = match (path.file_stem(), &plan.replica_region) {
            (Some(stem), Some(r)) if stem == "replica" => r.clone(),
            _ => plan.region.clone(),
        };
        for r in t["Resources"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.values())
        {
            let Some(ty) = r["Type"].as_str() else {
                continue;
            };
            if crate::aws::tracked_namespace(ty)
                && crate::aws::known_region(&region)
                && !crate::aws::resource_type_available(ty, &region)
            {
                found.insert((region.clone(), ty.to_owned()));
            }
        }
    }
    found
        .into_iter()
        .map(|(_, ty)| Unavailable {
            section: section_of(&ty),
            cfn_type: ty,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// PW0231 for each unavailable type: what, where, and the section that brings it.
pub fn diagnostics(plan: &Plan, found: &[Unavailable]) -> Vec<Diagnostic> {
    found
        .iter()
        .map(|u| {
            Diagnostic::error(
                "PW0231",
                format!(
                    "environment `{}`: CloudFormation has no `{}` in {}",
                    plan.env, u.cfn_type, plan.region
                ),
            )
            .note(format!("`{}` makes the templates create it", u.section))
            .help(format!(
                "deploy this environment to a region that has it, or leave `{}` out of the spec",
                u.section
            ))
        })
        .collect()
}
