//! `pipewright outputs`: the outputs of an environment's deployed stacks (API URL, API
//! key ids, bucket and table names), read back from CloudFormation after the account
//! check. Changes nothing.

use super::Options;
use super::engine::{build_engine, runtime};
use crate::emit::Output;
use crate::plan::Plan;

/// The stacks' outputs as deploy's `--outputs-file` has them, each stack with its
/// CloudFormation status instead of a result (`null` and no outputs when it is not
/// deployed). `Err` is an exit code and a message: 2 for credentials, the account check
/// or an API error.
pub fn outputs(plan: Plan, out: &Output, o: Options) -> Result<serde_json::Value, (u8, String)> {
    let rt = runtime();
    let e = rt
        .block_on(build_engine(plan, out, o, false))
        .map_err(|m| (2, m))?;
    let mut stacks = serde_json::Map::new();
    for (i, u) in e.units.iter().enumerate() {
        let state = rt
            .block_on(e.cfn(i).describe(&u.name))
            .map_err(|m| (2, m))?;
        stacks.insert(
            u.name.clone(),
            serde_json::json!({
                "region": u.region,
                "status": state.as_ref().map(|s| s.status.clone()),
                "outputs": state.map(|s| s.outputs).unwrap_or_default(),
            }),
        );
    }
    Ok(serde_json::json!({
        "pipeline": e.plan.pipeline,
        "environment": e.plan.env,
        "stacks": stacks,
    }))
}
