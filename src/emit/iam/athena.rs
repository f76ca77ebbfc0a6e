//! Athena: running queries in the pipeline's workgroup (QuickSight's data source).
//! Not the results bucket or the catalog, which come from flows of those kinds.

use super::{Grant, Statement};

/// `QueryAthena`: run and read queries in the workgroup.
pub(super) fn query(g: &Grant<'_>) -> Vec<Statement> {
    vec![g.allow(
        "",
        &[
            "athena:GetQueryExecution",
            "athena:GetQueryResults",
            "athena:GetWorkGroup",
            "athena:StartQueryExecution",
            "athena:StopQueryExecution",
        ],
        vec![g.arn("athena", true, &format!("workgroup/{}", g.plan.workgroup))],
    )]
}
