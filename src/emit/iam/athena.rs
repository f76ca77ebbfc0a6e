//! Athena: running queries in a workgroup (a QuickSight audience's own).
//! Not the results bucket or the catalog, which come from flows of those kinds.

use super::{Grant, Statement};

/// `QueryAthena`: run and read queries in the flow's workgroup.
pub(super) fn query(g: &Grant<'_>, workgroup: &str) -> Vec<Statement> {
    vec![g.allow(
        "",
        &[
            "athena:GetQueryExecution",
            "athena:GetQueryResults",
            "athena:GetWorkGroup",
            "athena:StartQueryExecution",
            "athena:StopQueryExecution",
        ],
        vec![g.arn("athena", true, &format!("workgroup/{workgroup}"))],
    )]
}
