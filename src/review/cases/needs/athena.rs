//! Athena requests: running and reading queries in the pipeline's workgroup.

use crate::review::cases::ctx::{Ctx, Need};

pub(super) fn query(cx: &Ctx, out: &mut Vec<Need>) {
    let wg = cx.arn("athena", &format!("workgroup/{}", cx.plan.workgroup));
    for a in [
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
        "athena:GetWorkGroup",
    ] {
        out.push(cx.plain(a, wg.clone()));
    }
}
