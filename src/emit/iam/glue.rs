//! Glue: starting job runs and reading or updating the catalog database's tables.
//! Not the jobs' own S3 and logs access, which come from flows of those kinds.

use super::{Grant, Statement};
use crate::spec::model::DeleteBehavior;

/// `StartJob`: start runs of one job.
pub(super) fn start_job(g: &Grant<'_>, job: &str) -> Vec<Statement> {
    vec![g.allow(
        "",
        &["glue:StartJobRun"],
        vec![g.arn("glue", true, &format!("job/{job}"))],
    )]
}

/// The catalog, the database and the named tables.
fn catalog(g: &Grant<'_>, tables: &[String]) -> Vec<String> {
    let db = &g.plan.database;
    let mut resources = vec![
        g.arn("glue", true, "catalog"),
        g.arn("glue", true, &format!("database/{db}")),
    ];
    resources.extend(
        tables
            .iter()
            .map(|t| g.arn("glue", true, &format!("table/{db}/{t}"))),
    );
    resources
}

/// `ReadCatalog`: read table definitions and partitions.
pub(super) fn read_catalog(g: &Grant<'_>, tables: &[String]) -> Vec<Statement> {
    let actions = [
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:GetTables",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:BatchGetPartition",
    ];
    vec![g.allow("", &actions, catalog(g, tables))]
}

/// `UpdateCatalog`: the crawler creates and updates tables and partitions (and deletes
/// them when the spec's `on_delete` says so).
pub(super) fn update_catalog(g: &Grant<'_>, tables: &[String]) -> Vec<Statement> {
    let mut actions = vec![
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:GetTables",
        "glue:CreateTable",
        "glue:UpdateTable",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:BatchGetPartition",
        "glue:CreatePartition",
        "glue:BatchCreatePartition",
        "glue:UpdatePartition",
        "glue:BatchUpdatePartition",
    ];
    if g.plan.on_delete == DeleteBehavior::Delete {
        actions.extend([
            "glue:DeleteTable",
            "glue:DeletePartition",
            "glue:BatchDeletePartition",
        ]);
    }
    vec![g.allow("", &actions, catalog(g, tables))]
}
