//! The analytics stack: the Athena workgroup; per QuickSight audience its own
//! workgroup, Athena data source and data sets (with its principal's permissions), and the scheduled export of
//! the metadata index with its catalog table. Not the catalog database or the crawler
//! (`processing`), nor the QuickSight role's permissions (IAM, from flows).

use std::collections::BTreeMap;

use serde_json::json;

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template, logical_id, obj};
use crate::emit::iam;
use crate::plan::{BucketId, Plan, QuickSightAudience, QuickSightDataset, StackId};

/// A workgroup: enforced configuration, a per-query scan cutoff, and results
/// encrypted with the data key under `results_prefix` of the results bucket.
fn workgroup(
    cx: &Ctx<'_>,
    t: &mut Template,
    (lid, name, results_prefix): (&str, &str, &str),
    description: String,
) {
    let p = cx.plan;
    let results = cx.bucket_name(BucketId::Results);
    t.add(
        lid,
        Resource::new("AWS::Athena::WorkGroup")
            .p("Name", Expr::s(name))
            .p("Description", Expr::s(description))
            .p("State", "ENABLED")
            .p(
                "WorkGroupConfiguration",
                obj([
                    ("EnforceWorkGroupConfiguration", true.into()),
                    ("PublishCloudWatchMetricsEnabled", true.into()),
                    (
                        "BytesScannedCutoffPerQuery",
                        Expr::Int(p.bytes_scanned_cutoff as i64),
                    ),
                    (
                        "ResultConfiguration",
                        obj([
                            (
                                "OutputLocation",
                                Expr::s(format!("s3://{results}/{results_prefix}")),
                            ),
                            (
                                "EncryptionConfiguration",
                                obj([
                                    ("EncryptionOption", "SSE_KMS".into()),
                                    ("KmsKey", cx.import(StackId::Foundation, "DataKeyArn")),
                                ]),
                            ),
                        ]),
                    ),
                ]),
            )
            .p("Tags", cx.tags()),
    );
}

/// What every QuickSight principal of a data set may do with the Athena data source.
pub const DATA_SOURCE_ACTIONS: &[&str] = &[
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
];

/// What a data set's QuickSight principals may do with it.
pub const DATA_SET_ACTIONS: &[&str] = &[
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:PassDataSet",
];

/// QuickSight permissions: each principal may use the resource with `actions`.
fn permissions<'a>(principals: impl IntoIterator<Item = &'a String>, actions: &[&str]) -> Expr {
    Expr::list(principals.into_iter().map(|pr| {
        obj([
            ("Principal", Expr::s(pr)),
            ("Actions", Expr::strs(actions.iter().copied())),
        ])
    }))
}

/// An audience's Athena data source: through its own workgroup, with its own role,
/// usable by its principal only.
fn data_source(cx: &Ctx<'_>, t: &mut Template, a: &QuickSightAudience, role: &str) {
    let p = cx.plan;
    t.add(
        &data_source_lid(&a.slug),
        Resource::new("AWS::QuickSight::DataSource")
            .p("AwsAccountId", Expr::s(&p.account))
            .p("DataSourceId", Expr::s(&a.data_source_id))
            .p("Name", Expr::s(&a.data_source_id))
            .p("Type", "ATHENA")
            .p(
                "DataSourceParameters",
                obj([(
                    "AthenaParameters",
                    obj([
                        ("WorkGroup", Expr::r(workgroup_lid(&a.slug))),
                        ("RoleArn", Expr::att(role, "Arn")),
                    ]),
                )]),
            )
            .p("SslProperties", obj([("DisableSsl", false.into())]))
            .p(
                "Permissions",
                permissions([&a.principal], DATA_SOURCE_ACTIONS),
            )
            .p("Tags", cx.tags()),
    );
}

fn data_source_lid(slug: &str) -> String {
    logical_id(&["quicksight", slug, "data", "source"])
}

fn workgroup_lid(slug: &str) -> String {
    logical_id(&["quicksight", slug, "workgroup"])
}

/// A data set's logical id (its audience's and its table's names).
pub fn data_set_lid(d: &QuickSightDataset) -> String {
    logical_id(&[&d.audience, &d.dataset, "data", "set"])
}

fn quicksight_type(glue: &str) -> &'static str {
    match glue {
        "int" | "bigint" => "INTEGER",
        "double" => "DECIMAL",
        t if t.starts_with("decimal") => "DECIMAL",
        "boolean" => "BOOLEAN",
        "timestamp" | "date" => "DATETIME",
        t if t.starts_with("array") || t.starts_with("struct") => "JSON",
        _ => "STRING",
    }
}

/// A data set's input columns: the transform's columns and partition columns by their
/// QuickSight types, or the index export's one JSON item.
fn columns(p: &Plan, d: &QuickSightDataset) -> Vec<(String, &'static str)> {
    if d.dataset == "index_export" {
        vec![("item".to_owned(), "JSON")]
    } else {
        let tr = p.transforms.iter().find(|tr| tr.dataset == d.dataset);
        tr.map(|tr| {
            let mut cols: Vec<(String, &str)> = tr
                .columns
                .iter()
                .map(|c| (c.name.clone(), quicksight_type(&c.ty)))
                .collect();
            cols.extend(
                tr.partition_by
                    .iter()
                    .filter(|pcol| !tr.columns.iter().any(|c| &&c.name == pcol))
                    .map(|pcol| (pcol.clone(), "STRING")),
            );
            cols
        })
        .unwrap_or_default()
    }
}

/// One data set, queried directly over the dataset's table.
fn data_set(cx: &Ctx<'_>, t: &mut Template, d: &QuickSightDataset) {
    let p = cx.plan;
    let columns = columns(p, d);
    let physical = obj([(
        "RelationalTable",
        obj([
            (
                "DataSourceArn",
                Expr::att(data_source_lid(&d.audience), "Arn"),
            ),
            ("Catalog", "AwsDataCatalog".into()),
            ("Schema", Expr::s(&p.database)),
            ("Name", Expr::s(&d.dataset)),
            (
                "InputColumns",
                Expr::list(
                    columns
                        .iter()
                        .map(|(n, ty)| obj([("Name", Expr::s(n)), ("Type", Expr::s(*ty))])),
                ),
            ),
        ]),
    )]);
    t.add(
        &data_set_lid(d),
        Resource::new("AWS::QuickSight::DataSet")
            .p("AwsAccountId", Expr::s(&p.account))
            .p("DataSetId", Expr::s(&d.id))
            .p("Name", Expr::s(&d.dataset))
            .p("ImportMode", "DIRECT_QUERY")
            .p(
                "PhysicalTableMap",
                Expr::Map(BTreeMap::from([(logical_id(&[&d.dataset]), physical)])),
            )
            .p("Permissions", permissions(&d.principals, DATA_SET_ACTIONS))
            .p("Tags", cx.tags()),
    );
}

/// The catalog table over the index exports (DynamoDB JSON, one `item` per line).
fn index_export_table(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    let curated = cx.bucket_name(BucketId::Curated);
    t.add(
        "IndexExportTable",
        Resource::new("AWS::Glue::Table")
            .p("CatalogId", Expr::s(&p.account))
            .p("DatabaseName", Expr::s(&p.database))
            .p(
                "TableInput",
                obj([
                    ("Name", "index_export".into()),
                    (
                        "Description",
                        "Daily exports of the metadata index (DynamoDB JSON)".into(),
                    ),
                    ("TableType", "EXTERNAL_TABLE".into()),
                    ("Parameters", obj([("classification", "json".into())])),
                    (
                        "StorageDescriptor",
                        obj([
                            (
                                "Location",
                                Expr::s(format!(
                                    "s3://{curated}/{}AWSDynamoDB/",
                                    crate::plan::prefix::INDEX_EXPORT
                                )),
                            ),
                            (
                                "InputFormat",
                                "org.apache.hadoop.mapred.TextInputFormat".into(),
                            ),
                            (
                                "OutputFormat",
                                "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat".into(),
                            ),
                            (
                                "SerdeInfo",
                                obj([
                                    (
                                        "SerializationLibrary",
                                        "org.openx.data.jsonserde.JsonSerDe".into(),
                                    ),
                                    (
                                        "Parameters",
                                        obj([("ignore.malformed.json", "true".into())]),
                                    ),
                                ]),
                            ),
                            (
                                "Columns",
                                Expr::list([obj([
                                    ("Name", "item".into()),
                                    ("Type", "string".into()),
                                ])]),
                            ),
                        ]),
                    ),
                ]),
            ),
    );
}

/// The schedule exporting the index to the curated bucket, through the Scheduler's
/// universal target for `dynamodb:ExportTableToPointInTime`, with its role.
fn index_export_schedule(cx: &Ctx<'_>, t: &mut Template, schedule: &str) {
    let p = cx.plan;
    let role = cx.role(t, "index-export", StackId::Analytics);
    let curated = cx.bucket_name(BucketId::Curated);
    let input = json!({
        "TableArn": cx.arn("dynamodb", &format!("table/{}", iam::INDEX_TABLE)),
        "S3Bucket": curated,
        "S3Prefix": crate::plan::prefix::INDEX_EXPORT.trim_end_matches('/'),
        "ExportFormat": "DYNAMODB_JSON",
        "S3SseAlgorithm": "KMS",
        "S3SseKmsKeyId": "${DataKeyArn}",
    });
    t.add(
        "IndexExportSchedule",
        Resource::new("AWS::Scheduler::Schedule")
            .p(
                "Name",
                Expr::s(format!("{}-{}-index-export", p.pipeline, p.env)),
            )
            .p(
                "Description",
                Expr::s("Export the metadata index to S3 for QuickSight"),
            )
            .p("ScheduleExpression", Expr::s(schedule))
            .p("FlexibleTimeWindow", obj([("Mode", "OFF".into())]))
            .p("KmsKeyArn", cx.import(StackId::Foundation, "DataKeyArn"))
            .p(
                "Target",
                obj([
                    (
                        "Arn",
                        Expr::s(format!(
                            "arn:{}:scheduler:::aws-sdk:dynamodb:exportTableToPointInTime",
                            p.partition
                        )),
                    ),
                    ("RoleArn", Expr::att(&role, "Arn")),
                    (
                        "Input",
                        cx.resolve(
                            &serde_json::to_string(&input).expect("json"),
                            StackId::Analytics,
                        ),
                    ),
                ]),
            ),
    );
}

/// The workgroup, and the QuickSight data source and sets and the index export when
/// the plan has them.
pub(super) fn template(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: Athena workgroup, QuickSight data sets and the index export",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Analytics);
    let shared = (
        "Workgroup",
        p.workgroup.as_str(),
        &*crate::plan::prefix::athena_results("workgroup"),
    );
    let what = format!(
        "{} {}: queries over the curated datasets",
        p.pipeline, p.env
    );
    workgroup(cx, &mut t, shared, what);
    for a in &p.quicksight_audiences {
        let lid = workgroup_lid(&a.slug);
        let what = format!(
            "{} {}: QuickSight queries of {} (its datasets only)",
            p.pipeline, p.env, a.principal
        );
        workgroup(cx, &mut t, (&lid, &a.workgroup, &a.results_prefix), what);
        let role = cx.role(&mut t, &a.role, StackId::Analytics);
        data_source(cx, &mut t, a, &role);
    }
    for d in &p.quicksight {
        data_set(cx, &mut t, d);
    }
    for d in &p.dashboards {
        super::dashboards::dashboard(cx, &mut t, d);
    }
    if let Some(schedule) = &p.index_export {
        index_export_table(cx, &mut t);
        index_export_schedule(cx, &mut t, schedule);
    }
    t.output(
        "WorkgroupName",
        "Athena workgroup",
        Expr::r("Workgroup"),
        None,
    );
    t
}
