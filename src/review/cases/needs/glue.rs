//! Glue requests: starting a job, and reading or updating the Data Catalog (Glue
//! authorises a table request on the catalog, the database and the table).

use crate::review::cases::ctx::{Ctx, Need};

pub(super) fn start_job(cx: &Ctx, out: &mut Vec<Need>, job: &str) {
    out.push(cx.plain("glue:StartJobRun", cx.arn("glue", &format!("job/{job}"))));
}

/// Reading the catalog, or (`update`) also creating and updating tables and partitions,
/// and deleting them where the plan deletes data with the stacks.
pub(super) fn catalog(cx: &Ctx, out: &mut Vec<Need>, tables: &[String], update: bool) {
    let plan = cx.plan;
    let db = &plan.database;
    let mut db_actions = vec!["glue:GetDatabase"];
    let mut table_actions = vec![
        "glue:GetTable",
        "glue:GetTables",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:BatchGetPartition",
    ];
    if update {
        table_actions.extend([
            "glue:CreateTable",
            "glue:UpdateTable",
            "glue:CreatePartition",
            "glue:BatchCreatePartition",
            "glue:UpdatePartition",
            "glue:BatchUpdatePartition",
        ]);
        if plan.on_delete == crate::spec::model::DeleteBehavior::Delete {
            table_actions.extend([
                "glue:DeleteTable",
                "glue:DeletePartition",
                "glue:BatchDeletePartition",
            ]);
        }
    }
    db_actions.sort();
    let catalog = cx.arn("glue", "catalog");
    let database = cx.arn("glue", &format!("database/{db}"));
    for a in &db_actions {
        out.push(cx.plain(a, catalog.clone()));
        out.push(cx.plain(a, database.clone()));
    }
    for a in &table_actions {
        out.push(cx.plain(a, catalog.clone()));
        out.push(cx.plain(a, database.clone()));
        for t in tables {
            out.push(cx.plain(a, cx.arn("glue", &format!("table/{db}/{t}"))));
        }
    }
}
