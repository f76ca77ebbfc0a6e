//! Athena requests: running and reading queries in the flow's workgroup.

use crate::review::cases::ctx::{Ctx, Need};

pub(super) fn query(cx: &Ctx, workgroup: &str, out: &mut Vec<Need>) {
    let wg = cx.arn("athena", &format!("workgroup/{workgroup}"));
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
