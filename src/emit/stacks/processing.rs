//! The processing layer: the Glue security configuration, catalog database and VPC
//! connection, and (in the same stack, or split for many transforms) each transform's
//! role, log groups and job, their triggers, and the crawler. Not the jobs' scripts
//! (`emit::scripts`).

use serde_json::Value;

use super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template, logical_id, obj};
use crate::plan::{BucketId, Plan, StackId, TransformPlan, Trigger};
use crate::spec::model::{DeleteBehavior, UpdateBehavior};

/// The processing stack's own resources: security configuration, database and (with a
/// VPC) the Glue connection.
fn catalog(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: Glue jobs, the catalog database and the crawler",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Processing);
    let key = || cx.import(StackId::Foundation, "DataKeyArn");
    t.add(
        "GlueSecurityConfiguration",
        Resource::new("AWS::Glue::SecurityConfiguration")
            .p("Name", Expr::s(&p.glue_security_configuration))
            .p(
                "EncryptionConfiguration",
                obj([
                    (
                        "CloudWatchEncryption",
                        obj([
                            ("CloudWatchEncryptionMode", "SSE-KMS".into()),
                            ("KmsKeyArn", key()),
                        ]),
                    ),
                    (
                        "JobBookmarksEncryption",
                        obj([
                            ("JobBookmarksEncryptionMode", "CSE-KMS".into()),
                            ("KmsKeyArn", key()),
                        ]),
                    ),
                    (
                        "S3Encryptions",
                        Expr::list([obj([
                            ("S3EncryptionMode", "SSE-KMS".into()),
                            ("KmsKeyArn", key()),
                        ])]),
                    ),
                ]),
            ),
    );
    t.add(
        "Database",
        Resource::new("AWS::Glue::Database")
            .p("CatalogId", Expr::s(&p.account))
            .p(
                "DatabaseInput",
                obj([
                    ("Name", Expr::s(&p.database)),
                    (
                        "Description",
                        Expr::s(format!("{} {}: curated datasets", p.pipeline, p.env)),
                    ),
                ]),
            ),
    );
    if p.network.is_some() {
        t.add(
            "GlueConnection",
            Resource::new("AWS::Glue::Connection")
                .p("CatalogId", Expr::s(&p.account))
                .p(
                    "ConnectionInput",
                    obj([
                        ("Name", Expr::s(glue_connection_name(p))),
                        ("ConnectionType", "NETWORK".into()),
                        (
                            "PhysicalConnectionRequirements",
                            obj([
                                ("SubnetId", cx.import(StackId::Network, "PrivateSubnet1")),
                                (
                                    "SecurityGroupIdList",
                                    Expr::list([
                                        cx.import(StackId::Network, "WorkloadSecurityGroup")
                                    ]),
                                ),
                                ("AvailabilityZone", Expr::Az(0)),
                            ]),
                        ),
                    ]),
                ),
        );
    }
    t.output(
        "DatabaseName",
        "Glue database of the curated datasets",
        Expr::s(&p.database),
        None,
    );
    t
}

/// The processing layer: security configuration, database and (in one stack, or
/// split for many transforms) the jobs, their triggers and the crawler.
pub(super) fn templates(cx: &Ctx<'_>) -> Vec<(StackId, Template)> {
    let p = cx.plan;
    let t = catalog(cx);
    let split = p.transform_groups.len() > 1;
    let mut parts = vec![(StackId::Processing, t)];
    for (g, group) in p.transform_groups.iter().enumerate() {
        let slot = if split {
            let id = StackId::ProcessingJobs(g as u16 + 1);
            let mut jt = Template::new(format!(
                "{} {}: Glue jobs, part {}",
                p.pipeline,
                p.env,
                g + 1
            ));
            cx.stack_meta(&mut jt, id);
            parts.push((id, jt));
            parts.len() - 1
        } else {
            0
        };
        for &i in group {
            let stack = parts[slot].0;
            glue_job(cx, &mut parts[slot].1, &p.transforms[i], stack);
        }
    }
    let last = if split {
        let mut ct = Template::new(format!(
            "{} {}: Glue triggers and the crawler",
            p.pipeline, p.env
        ));
        cx.stack_meta(&mut ct, StackId::ProcessingCatalog);
        parts.push((StackId::ProcessingCatalog, ct));
        parts.len() - 1
    } else {
        0
    };
    let stack = parts[last].0;
    for tr in &p.transforms {
        glue_trigger(&mut parts[last].1, tr);
    }
    if p.roles.contains_key("crawler") {
        glue_crawler(cx, &mut parts[last].1, stack);
    }
    for (_, t) in &mut parts {
        depend_on_names(t);
    }
    parts
}

/// Glue resources refer to each other by name, which CloudFormation does not see as
/// a dependency: within one template, make each resource depend on the Glue
/// resources whose names it mentions (across stacks, stack order does this).
fn depend_on_names(t: &mut Template) {
    let mut names: Vec<(String, String)> = Vec::new();
    for (lid, r) in &t.resources {
        let v = serde_json::to_value(&r.properties).unwrap_or_default();
        let name = match r.ty.as_str() {
            "AWS::Glue::Job" | "AWS::Glue::SecurityConfiguration" | "AWS::Glue::Crawler" => {
                v.get("Name")
            }
            "AWS::Glue::Connection" => v.pointer("/ConnectionInput/Name"),
            "AWS::Glue::Database" => v.pointer("/DatabaseInput/Name"),
            _ => None,
        };
        if let Some(Value::String(n)) = name {
            names.push((n.clone(), lid.clone()));
        }
    }
    let lids: Vec<String> = t.resources.keys().cloned().collect();
    for lid in lids {
        let text = serde_json::to_string(&t.resources[&lid].properties).unwrap_or_default();
        let mut deps: Vec<String> = names
            .iter()
            .filter(|(n, other)| *other != lid && text.contains(&format!("\"{n}\"")))
            .map(|(_, other)| other.clone())
            .collect();
        // A resource that merely *names* itself elsewhere is not a dependency on
        // that name's owner when it is the owner's own name field.
        deps.sort();
        deps.dedup();
        let r = t.resources.get_mut(&lid).expect("listed above");
        for d in deps {
            if !r.depends_on.contains(&d) {
                r.depends_on.push(d);
            }
        }
        r.depends_on.sort();
    }
}

fn glue_connection_name(p: &Plan) -> String {
    format!("{}-{}-vpc", p.pipeline, p.env)
}

/// One transform's role, log groups and Glue job.
fn glue_job(cx: &Ctx<'_>, t: &mut Template, tr: &TransformPlan, stack: StackId) {
    let p = cx.plan;
    let artifacts = cx.bucket_name(BucketId::Artifacts);
    let role = cx.role(t, &tr.role, stack);
    let job_lid = logical_id(&[&tr.name, "job"]);
    for stream in ["error", "output"] {
        t.add(
            &logical_id(&[&tr.name, stream, "log", "group"]),
            cx.log_group(&format!("{}/{stream}", tr.log_group)),
        );
    }
    let args = obj([
        ("--job-bookmark-option", "job-bookmark-enable".into()),
        (
            "--TempDir",
            Expr::s(format!(
                "s3://{artifacts}/{}",
                crate::plan::prefix::glue_temp(&tr.job_name)
            )),
        ),
        ("--enable-metrics", "true".into()),
        ("--enable-observability-metrics", "true".into()),
        ("--custom-logGroup-prefix", Expr::s(&tr.log_group)),
        ("--raw_bucket", Expr::s(cx.bucket_name(BucketId::Raw))),
        (
            "--curated_bucket",
            Expr::s(cx.bucket_name(BucketId::Curated)),
        ),
        ("--dataset", Expr::s(&tr.dataset)),
        ("--sources", Expr::s(tr.inputs.join(","))),
    ]);
    let mut job = Resource::new("AWS::Glue::Job")
        .p("Name", Expr::s(&tr.job_name))
        .p(
            "Description",
            Expr::s(format!(
                "pipewright transform `{}` → dataset `{}`",
                tr.name, tr.dataset
            )),
        )
        .p("Role", Expr::att(&role, "Arn"))
        .p(
            "Command",
            obj([
                ("Name", "glueetl".into()),
                ("PythonVersion", "3".into()),
                (
                    "ScriptLocation",
                    Expr::s(format!("s3://{artifacts}/{}", cx.script_keys[&tr.job_name])),
                ),
            ]),
        )
        .p("GlueVersion", "5.0")
        .p("WorkerType", Expr::s(tr.worker_type.as_str()))
        .p("NumberOfWorkers", Expr::Int(i64::from(tr.workers)))
        .p("Timeout", Expr::Int(i64::from(tr.timeout_minutes)))
        .p("MaxRetries", Expr::Int(i64::from(tr.max_retries)))
        .p(
            "ExecutionProperty",
            obj([("MaxConcurrentRuns", Expr::Int(1))]),
        )
        .p(
            "SecurityConfiguration",
            Expr::s(&p.glue_security_configuration),
        )
        .p("DefaultArguments", args)
        .p(
            "Tags",
            Expr::Map(
                p.tags
                    .iter()
                    .map(|(k, v)| (k.clone(), Expr::s(v)))
                    .collect(),
            ),
        );
    if p.network.is_some() {
        job = job.p(
            "Connections",
            obj([(
                "Connections",
                Expr::list([Expr::s(glue_connection_name(p))]),
            )]),
        );
    }
    for lid in t
        .resources
        .keys()
        .filter(|k| k.starts_with(&logical_id(&[&tr.role, "policy"])))
        .cloned()
        .collect::<Vec<_>>()
    {
        job = job.depends(&lid);
    }
    t.add(&job_lid, job);
}

/// The trigger that starts a transform (schedule or after other jobs), by job name.
fn glue_trigger(t: &mut Template, tr: &TransformPlan) {
    match &tr.trigger {
        Trigger::Schedule { cron } => t.add(
            &logical_id(&[&tr.name, "schedule"]),
            Resource::new("AWS::Glue::Trigger")
                .p("Name", Expr::s(format!("{}-schedule", tr.job_name)))
                .p("Type", "SCHEDULED")
                .p("Schedule", Expr::s(cron))
                .p("StartOnCreation", true)
                .p(
                    "Actions",
                    Expr::list([obj([("JobName", Expr::s(&tr.job_name))])]),
                ),
        ),
        Trigger::After { jobs } => t.add(
            &logical_id(&[&tr.name, "after"]),
            after_succeeded(
                format!("{}-after", tr.job_name),
                jobs,
                obj([("JobName", Expr::s(&tr.job_name))]),
            ),
        ),
        Trigger::OnIngest | Trigger::Manual => {}
    }
}

/// The crawler over the curated datasets, its role, and the trigger that starts it
/// after the transforms.
fn glue_crawler(cx: &Ctx<'_>, t: &mut Template, stack: StackId) {
    let p = cx.plan;
    let role = cx.role(t, "crawler", stack);
    let curated = cx.bucket_name(BucketId::Curated);
    let mut crawler = Resource::new("AWS::Glue::Crawler")
        .p("Name", Expr::s(&p.crawler_name))
        .p("Description", Expr::s("pipewright: catalogues the curated datasets"))
        .p("Role", Expr::att(&role, "Arn"))
        .p("DatabaseName", Expr::s(&p.database))
        .p(
            "Targets",
            obj([(
                "S3Targets",
                // Every major version's dataset: each is its own table, and all stay queryable.
                Expr::list(p.transforms.iter().flat_map(|tr| &tr.prefixes).map(|prefix| {
                    obj([("Path", Expr::s(format!("s3://{curated}/{prefix}")))])
                })),
            )]),
        )
        .p(
            "SchemaChangePolicy",
            obj([
                (
                    "UpdateBehavior",
                    Expr::s(if p.on_change == UpdateBehavior::Update { "UPDATE_IN_DATABASE" } else { "LOG" }),
                ),
                (
                    "DeleteBehavior",
                    Expr::s(match p.on_delete {
                        DeleteBehavior::Deprecate => "DEPRECATE_IN_DATABASE",
                        DeleteBehavior::Log => "LOG",
                        DeleteBehavior::Delete => "DELETE_FROM_DATABASE",
                    }),
                ),
            ]),
        )
        .p("CrawlerSecurityConfiguration", Expr::s(&p.glue_security_configuration))
        .p(
            "Configuration",
            // One prefix only ever holds compatible schemas (a breaking change comes under
            // a new major version, in a new prefix and table), so the crawler's update
            // adds the new columns and takes widened types (`MergeNewColumns` would keep
            // an `int` column `int` after its files became `bigint`).
            Expr::s(r#"{"Version":1.0,"CrawlerOutput":{"Partitions":{"AddOrUpdateBehavior":"InheritFromTable"}},"Grouping":{"TableGroupingPolicy":"CombineCompatibleSchemas"}}"#),
        )
        .p("Tags", Expr::Map(p.tags.iter().map(|(k, v)| (k.clone(), Expr::s(v))).collect()));
    if let Some(s) = &p.crawler_schedule {
        crawler = crawler.p("Schedule", obj([("ScheduleExpression", Expr::s(s))]));
    }
    t.add("Crawler", crawler);
    if p.crawler_schedule.is_none() {
        t.add(
            "CrawlAfterTransforms",
            after_succeeded(
                format!("{}-after-transforms", p.crawler_name),
                p.transforms.iter().map(|tr| &tr.job_name),
                obj([("CrawlerName", Expr::r("Crawler"))]),
            ),
        );
    }
}

/// A conditional Glue trigger: `action` once any of `jobs` has succeeded.
fn after_succeeded<S: AsRef<str>>(
    name: String,
    jobs: impl IntoIterator<Item = S>,
    action: Expr,
) -> Resource {
    let conditions = jobs.into_iter().map(|j| {
        obj([
            ("JobName", Expr::s(j.as_ref())),
            ("LogicalOperator", "EQUALS".into()),
            ("State", "SUCCEEDED".into()),
        ])
    });
    Resource::new("AWS::Glue::Trigger")
        .p("Name", Expr::s(name))
        .p("Type", "CONDITIONAL")
        .p("StartOnCreation", true)
        .p(
            "Predicate",
            obj([
                ("Logical", "ANY".into()),
                ("Conditions", Expr::list(conditions)),
            ]),
        )
        .p("Actions", Expr::list([action]))
}
