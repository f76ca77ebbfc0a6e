//! The architecture document of one environment, from its plan: overview, diagram,
//! components and why each exists, data flows with the spec lines that caused them,
//! the IAM summary, the compliance posture, the cost estimate and a runbook.
//!
//! [`render`] returns the files of `docs/<env>/` in memory (Markdown from
//! `templates/docs/architecture.md.hbs`, the diagram as Mermaid and DOT, and the
//! SVG when Graphviz is given); [`write`] swaps the folder in whole and [`drift`]
//! compares it with what is on disk, as `synth` does for `stacks/`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde_json::{Value, json};

use crate::cost;
use crate::emit::{Drift, iam};
use crate::plan::{Access, BucketId, Plan, Principal, Trigger};

mod facts;

pub use facts::log_groups;

const TEMPLATE: &str = include_str!("../../templates/docs/architecture.md.hbs");

/// Markdown escaping for values placed in text and table cells: no line breaks,
/// no cell separators, no HTML.
fn md_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => o.push_str("\\|"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\n' | '\r' => o.push(' '),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

fn registry() -> Handlebars<'static> {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    h.register_escape_fn(md_escape);
    h.register_template_string("docs", TEMPLATE)
        .expect("the docs template parses");
    h
}

fn bucket_purpose(b: BucketId) -> &'static str {
    match b {
        BucketId::Artifacts => "Lambda bundles, Glue scripts and Glue temporary files",
        BucketId::Logs => "S3 server access logs of the other buckets",
        BucketId::Raw => {
            "events as received (gzip NDJSON per request), and rejected events with their reasons"
        }
        BucketId::Curated => {
            "Parquet datasets written by the transforms, the index export and model artifacts"
        }
        BucketId::Results => "Athena query results",
        BucketId::RawReplica => "copy of the raw bucket in the replica region",
        BucketId::CuratedReplica => "copy of the curated bucket in the replica region",
        BucketId::LogsReplica => "copy of the access logs in the replica region",
        BucketId::ResultsReplica => "copy of the Athena query results in the replica region",
        BucketId::ArtifactsReplica => "copy of the artifacts bucket in the replica region",
    }
}

fn spec_ref(path: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("`{path}` (line {l})"),
        None => format!("`{path}`"),
    }
}

fn access_text(plan: &Plan, a: &Access) -> String {
    let b = |id: &BucketId| {
        plan.buckets
            .get(id)
            .map_or_else(|| format!("{id:?}"), |b| b.name.clone())
    };
    match a {
        Access::PutObjects { bucket, prefix } => {
            format!("put objects in s3://{}/{prefix}", b(bucket))
        }
        Access::ReadObjects { bucket, prefix } => {
            format!("read objects in s3://{}/{prefix}", b(bucket))
        }
        Access::ScratchObjects { bucket, prefix } => {
            format!(
                "read, write and delete objects in s3://{}/{prefix}",
                b(bucket)
            )
        }
        Access::WriteItems => format!("write items of table {}", plan.table),
        Access::ReadItems => format!("read items of table {}", plan.table),
        Access::QueryIndex { index } => format!("query index {index} of table {}", plan.table),
        Access::ExportTable { bucket, prefix } => {
            format!("export table {} to s3://{}/{prefix}", plan.table, b(bucket))
        }
        Access::StartJob { job } => format!("start runs of Glue job {job}"),
        Access::WriteLogs { group } => format!("write to log group {group}"),
        Access::SendMessages { queue } => format!("send messages to queue {queue}"),
        Access::ReadCatalog { tables } => {
            format!(
                "read table definitions in {} ({})",
                plan.database,
                tables.join(", ")
            )
        }
        Access::UpdateCatalog { tables } => {
            format!(
                "create and update tables in {} ({})",
                plan.database,
                tables.join(", ")
            )
        }
        Access::QueryAthena { workgroup } => format!("run queries in Athena workgroup {workgroup}"),
        Access::AttachToVpc => "attach network interfaces in the private subnets".into(),
        Access::RegisterModels => format!(
            "register model versions in {}",
            plan.model_package_group
                .as_deref()
                .unwrap_or("the model package group")
        ),
        Access::InvokeFunction { function } => format!("invoke Lambda function {function}"),
        Access::RunTrainingJobs { role } => format!(
            "start, describe and stop the pipeline's training jobs, passing them the {} role",
            plan.roles
                .get(role)
                .map_or(role.as_str(), |r| r.name.as_str())
        ),
        Access::StartPipeline { pipeline } => {
            format!("start executions of SageMaker pipeline {pipeline}")
        }
        Access::Replicate { from, to } => format!("replicate s3://{} to s3://{}", b(from), b(to)),
        Access::EncryptBookmarks => format!("encrypt job bookmarks with {}", plan.key_alias),
        Access::PushApiLogs { group } => format!("write API access logs to {group}"),
        #[allow(unreachable_patterns)]
        other => crate::graph::access_kind(other).replace('-', " "),
    }
}

/// The first origin of a role's flows (where a component's reason is in the spec).
fn origin_of(plan: &Plan, role: &str) -> String {
    plan.roles
        .get(role)
        .map_or_else(String::new, |r| spec_ref(&r.origin.path, r.origin.line))
}

/// The rows of the components table, in the document's order.
struct Rows(Vec<Value>);

impl Rows {
    fn add(&mut self, kind: &str, name: String, why: String, spec: String) {
        self.0
            .push(json!({"kind": kind, "name": name, "why": why, "spec": spec}));
    }
}

fn components(plan: &Plan) -> Vec<Value> {
    let mut rows = Rows(Vec::new());
    ingest_components(&mut rows, plan);
    storage_components(&mut rows, plan);
    processing_components(&mut rows, plan);
    consumer_components(&mut rows, plan);
    network_components(&mut rows, plan);
    rows.0
}

/// Routes, the API, the function and what catches its failures.
fn ingest_components(rows: &mut Rows, plan: &Plan) {
    for r in &plan.routes {
        rows.add(
            "API route",
            format!("POST {}", r.route),
            format!(
                "`{}` devices post events here ({} auth, {} req/s, burst {}, at most {} events and {} bytes per request)",
                r.source,
                serde_json::to_value(r.auth)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                r.rate_limit,
                r.burst_limit,
                r.max_events,
                r.max_body_bytes
            ),
            spec_ref(&r.origin.path, r.origin.line),
        );
    }
    rows.add(
        "API Gateway REST API",
        format!("{} (stage {})", plan.api_name, plan.stage),
        "receives events; validates each request's envelope and throttles per source".into(),
        origin_of(plan, "apigw-logs"),
    );
    rows.add(
        "Lambda function",
        plan.function_name.clone(),
        format!(
            "validates each event against its schema, stores accepted and rejected events, indexes them ({} MB, {}, timeout {} s)",
            plan.memory_mb,
            plan.architecture.as_str(),
            plan.timeout_seconds
        ),
        origin_of(plan, "ingest"),
    );
    rows.add(
        "SQS queue",
        plan.dlq_name.clone(),
        "dead letters of failed asynchronous invocations".into(),
        "`ingest`".into(),
    );
    rows.add(
        "SNS topic",
        plan.alarm_topic.clone(),
        "alarms (errors, throttles, dead letters)".into(),
        "`environments.*.alarm_email`".into(),
    );
}

/// Buckets, the index table and the data key.
fn storage_components(rows: &mut Rows, plan: &Plan) {
    for b in plan.buckets.values() {
        let life = match (b.expire_days, b.archive) {
            (Some(e), Some((a, cl))) => {
                format!("; {} after {a} days, expires after {e} days", cl.as_str())
            }
            (Some(e), None) => format!("; expires after {e} days"),
            (None, Some((a, cl))) => format!("; {} after {a} days", cl.as_str()),
            (None, None) => "; kept".into(),
        };
        rows.add(
            "S3 bucket",
            format!("{} ({})", b.name, b.region),
            format!("{}{life}", bucket_purpose(b.id)),
            "`storage`".into(),
        );
    }
    rows.add(
        "DynamoDB table",
        plan.table.clone(),
        format!(
            "index of stored objects and idempotency records; lookups: {}; items expire after {} days",
            plan.lookups
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            plan.index_ttl_days
                .map_or_else(|| "never".to_owned(), |d| d.to_string())
        ),
        "`index`".into(),
    );
    rows.add(
        "KMS key",
        plan.key_alias.clone(),
        format!(
            "the data key: encrypts the raw, curated and results buckets, the table, queue, topic and log groups; rotated every {} days",
            plan.key_rotation_days
        ),
        "`security.kms`".into(),
    );
    rows.add(
        "KMS key",
        plan.artifacts_key_alias(),
        format!(
            "encrypts the artifacts bucket (Lambda bundles, Glue scripts); rotated every {} days",
            plan.key_rotation_days
        ),
        "`security.kms`".into(),
    );
    if let (true, Some(rr)) = (
        plan.stacks.contains_key(&crate::plan::StackId::Replica),
        &plan.replica_region,
    ) {
        rows.add(
            "KMS key",
            format!("{} ({rr})", plan.replica_key_alias()),
            format!(
                "encrypts the replica buckets in {rr}; rotated every {} days",
                plan.key_rotation_days
            ),
            format!("`environments.{}.replica_region`", plan.env),
        );
    }
}

/// Glue jobs, the crawler and Athena.
fn processing_components(rows: &mut Rows, plan: &Plan) {
    for t in &plan.transforms {
        let trigger = match &t.trigger {
            Trigger::Schedule { cron } => format!("on schedule {cron}"),
            Trigger::After { jobs } => format!("after {}", jobs.join(", ")),
            Trigger::OnIngest => "when events arrive".into(),
            Trigger::Manual => "when started by hand".into(),
        };
        rows.add(
            "Glue job",
            t.job_name.clone(),
            format!(
                "turns raw `{}` events into the `{}` Parquet dataset ({} {} workers, {trigger})",
                t.inputs.join("`, `"),
                t.dataset,
                t.workers,
                t.worker_type.as_str()
            ),
            origin_of(plan, &t.role),
        );
    }
    if !plan.transforms.is_empty() {
        rows.add(
            "Glue crawler and database",
            format!("{} → {}", plan.crawler_name, plan.database),
            format!(
                "keeps the datasets' tables and partitions in the catalog ({})",
                plan.crawler_schedule
                    .as_deref()
                    .map_or_else(|| "after every job run".to_owned(), |s| format!("on {s}"))
            ),
            origin_of(plan, "crawler"),
        );
    }
    if plan.buckets.contains_key(&BucketId::Results) {
        rows.add(
            "Athena workgroup",
            plan.workgroup.clone(),
            format!(
                "SQL over the catalog; queries stop after {} MB scanned",
                plan.bytes_scanned_cutoff / 1024 / 1024
            ),
            "`analytics.athena`".into(),
        );
    }
}

/// QuickSight data sets, the index export and SageMaker.
fn consumer_components(rows: &mut Rows, plan: &Plan) {
    for a in &plan.quicksight_audiences {
        rows.add(
            "QuickSight data source",
            a.data_source_id.clone(),
            format!(
                "{}'s own Athena data source (workgroup {}), reading only {}",
                a.principal,
                a.workgroup,
                a.datasets.join(", ")
            ),
            spec_ref(&a.origin.path, a.origin.line),
        );
    }
    for q in &plan.quicksight {
        let o = q.origins.values().next();
        rows.add(
            "QuickSight data set",
            q.id.clone(),
            format!(
                "dashboards over `{}` for {}",
                q.dataset,
                q.principals.join(", ")
            ),
            o.map_or_else(String::new, |o| spec_ref(&o.path, o.line)),
        );
    }
    for d in &plan.dashboards {
        let visuals: usize = d.sheets.iter().map(|s| s.visuals.len()).sum();
        rows.add(
            "QuickSight dashboard",
            d.id.clone(),
            format!(
                "{}: {} sheet(s), {visuals} visual(s), for {}",
                d.title,
                d.sheets.len(),
                d.principals.join(", ")
            ),
            spec_ref(&d.origin.path, d.origin.line),
        );
    }
    if let Some(s) = &plan.index_export {
        rows.add(
            "Scheduled index export",
            format!("{} ({s})", plan.table),
            "exports the index to S3 so QuickSight can read it".into(),
            origin_of(plan, "index-export"),
        );
    }
    if let Some(m) = &plan.model_package_group {
        rows.add(
            "SageMaker model package group",
            m.clone(),
            "training role and registry for models trained on the pipeline's data".into(),
            origin_of(plan, "sagemaker"),
        );
    }
    if let Some(t) = &plan.training {
        let versions = if t.schema_versions.is_empty() {
            "every schema version".to_owned()
        } else {
            format!("schema versions {}", t.schema_versions.join(", "))
        };
        rows.add(
            "SageMaker training pipeline",
            format!("{} ({})", t.pipeline_name, t.schedule),
            format!(
                "trains {} ({} × {}) on the raw objects of {} from the last {} days ({versions}), listed from the index by the manifest function {} (not deployed yet); registers the model with its manifest and dataset record",
                t.algorithm,
                t.instance_count,
                t.instance_type,
                t.sources.join(", "),
                t.window_days,
                t.function_name
            ),
            origin_of(plan, "training-pipeline"),
        );
    }
}

/// The VPC and its interface endpoints (the compliance posture only).
fn network_components(rows: &mut Rows, plan: &Plan) {
    if let Some(n) = &plan.network {
        rows.add(
            "VPC",
            format!("{} ({} private subnets)", n.cidr, n.subnets.len()),
            "the compliance posture runs the function and jobs without an internet path".into(),
            format!("`environments.{}.network`", plan.env),
        );
        for (svc, why) in crate::emit::stacks::INTERFACE_ENDPOINTS {
            rows.add(
                "VPC interface endpoint",
                crate::aws::interface_endpoint(svc, &plan.region),
                (*why).to_owned(),
                format!("`environments.{}.compliance`", plan.env),
            );
        }
    }
}

fn flows(plan: &Plan) -> Vec<Value> {
    plan.flows
        .iter()
        .map(|f| {
            let who = match &f.principal {
                Principal::Role(r) => plan
                    .roles
                    .get(r)
                    .map_or_else(|| r.clone(), |rp| rp.purpose.clone()),
                Principal::External(arn) => arn.clone(),
            };
            json!({
                "id": f.id,
                "who": who,
                "access": access_text(plan, &f.access),
                "why": f.why,
                "spec": spec_ref(&f.origin.path, f.origin.line),
            })
        })
        .collect()
}

fn iam_summary(plan: &Plan) -> Vec<Value> {
    iam::roles(plan)
        .into_iter()
        .map(|(id, r)| {
            let statements: Vec<Value> = r
                .policies
                .values()
                .flat_map(|d| d.statements.iter())
                .map(|s| {
                    json!({
                        "sid": s.sid,
                        "actions": s.actions.join(", "),
                        "resources": s.resources.join(", "),
                    })
                })
                .collect();
            let mut purpose = r.purpose.clone();
            if let Some(f) = purpose.get(..1) {
                purpose = f.to_uppercase() + &purpose[1..];
            }
            json!({"id": id, "name": r.name, "purpose": purpose, "service": r.service, "statements": statements})
        })
        .collect()
}

fn cost_section(plan: &Plan) -> Value {
    let book = cost::prices::PriceBook::builtin();
    let regions = match cost::Regions::of(&book, plan) {
        Ok(r) => r,
        Err(e) => return json!({"available": false, "reason": e.to_string()}),
    };
    let e = cost::estimate(
        plan,
        &book,
        &regions,
        &cost::Inputs::default(),
        &cost::Assumptions::default(),
    );
    json!({
        "available": true,
        "total": format!("{:.2}", e.monthly_total),
        "currency": e.currency,
        "read": e.prices_read,
        "status": e.prices_status,
        "inputs": {
            "events_per_day": format!("{}", e.inputs.events_per_day),
            "event_bytes": format!("{}", e.inputs.event_bytes),
            "batch": e.inputs.batch,
        },
        "components": e.components.iter().map(|c| json!({"component": c.component, "monthly": format!("{:.2}", c.monthly)})).collect::<Vec<_>>(),
        "levers": e.levers.iter().map(|l| json!({"lever": l.lever, "option": l.option, "difference": format!("{:+.2}", l.difference)})).collect::<Vec<_>>(),
        "excluded": e.excluded.join("; "),
    })
}

/// One environment's rows of the summary table `scripts/judges/all` prints
/// (`ENV JUDGE STATUS TIME LAST-LINE`, fixed columns): judge, status, last line.
pub fn judge_rows(summary: &str, env: &str) -> Vec<(String, String, String)> {
    summary
        .lines()
        .filter(|l| l.get(..7).is_some_and(|h| h.trim_end() == env))
        .map(|l| {
            let judge = l.get(7..35).unwrap_or("").trim().to_owned();
            let rest = l.get(36..).unwrap_or("").trim();
            // `STATUS  <n>s  LAST-LINE`, or a note in place of all three.
            let timed = rest
                .split_once(char::is_whitespace)
                .and_then(|(status, tail)| {
                    let (time, detail) = tail.trim_start().split_once("s  ")?;
                    time.chars()
                        .all(|c| c.is_ascii_digit())
                        .then(|| (status.to_owned(), detail.trim().to_owned()))
                });
            let (status, detail) = timed.unwrap_or_else(|| (rest.to_owned(), String::new()));
            (judge, status, detail)
        })
        .collect()
}

/// The context the template renders.
pub fn context(plan: &Plan, svg: bool) -> Value {
    let g = crate::graph::build(plan);
    let compliance: Vec<String> = plan
        .compliance
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    let raw = plan.bucket(BucketId::Raw);
    let rejected: Vec<String> = plan
        .routes
        .iter()
        .map(|r| pipewright_ingest_config::layout::rejected_prefix(&r.source))
        .collect();
    json!({
        "pipeline": plan.pipeline,
        "env": plan.env,
        "description": plan.description.clone().unwrap_or_default(),
        "account": plan.account,
        "region": plan.region,
        "partition": plan.partition,
        "replica_region": plan.replica_region.clone().unwrap_or_default(),
        "compliance": compliance.join(", "),
        "has_compliance": !compliance.is_empty(),
        "retain": plan.retain,
        "sources": plan.routes.iter().map(|r| r.source.clone()).collect::<Vec<_>>().join(", "),
        "transforms": plan.transforms.len(),
        "mermaid": g.mermaid(),
        "svg": svg,
        "components": components(plan),
        "flows": flows(plan),
        "roles": iam_summary(plan),
        "network": plan.network.as_ref().map(|n| json!({"cidr": n.cidr, "subnets": n.subnets.join(", ")})),
        "endpoints": if plan.network.is_some() { crate::emit::stacks::INTERFACE_ENDPOINTS.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", ") } else { String::new() },
        "key_alias": plan.key_alias,
        "key_rotation_days": plan.key_rotation_days,
        "log_retention_days": plan.log_retention_days,
        "boundary": plan.permissions_boundary.clone().unwrap_or_default(),
        "cost": cost_section(plan),
        "stacks": plan.stacks.values().cloned().collect::<Vec<_>>(),
        "second_pass": plan
            .roles
            .contains_key("replica-return")
            .then(|| plan.stacks.get(&crate::plan::StackId::Replica).cloned())
            .flatten(),
        "signed_routes": plan
            .routes
            .iter()
            .filter(|r| r.auth.signed())
            .map(|r| format!("POST {}", r.route))
            .collect::<Vec<_>>(),
        "function": plan.function_name,
        "raw_bucket": raw.name,
        "rejected": rejected,
        "routes": plan.routes.iter().map(|r| json!({"source": r.source, "route": r.route})).collect::<Vec<_>>(),
        "api_name": plan.api_name,
        "stage": plan.stage,
        "judges": Vec::<Value>::new(),
        "facts": facts::facts(plan),
    })
}

/// Renders `docs/<env>/`: paths relative to the output root, and their bytes.
/// `svg` is Graphviz's rendering of the DOT, when the caller has it.
/// `judges` is the summary `scripts/judges/all` printed, when there is one.
pub fn render(
    plan: &Plan,
    svg: Option<Vec<u8>>,
    judges: Option<&str>,
) -> Result<BTreeMap<PathBuf, Vec<u8>>, String> {
    let dir = PathBuf::from("docs").join(&plan.env);
    let g = crate::graph::build(plan);
    let mut cx = context(plan, svg.is_some());
    if let Some(j) = judges {
        cx["judges"] = judge_rows(j, &plan.env)
            .into_iter()
            .map(|(judge, status, detail)| json!({"judge": judge, "status": status, "detail": detail}))
            .collect();
    }
    let md = registry()
        .render("docs", &cx)
        .map_err(|e| format!("docs template: {e}"))?;
    let mut files = BTreeMap::new();
    files.insert(dir.join("README.md"), md.into_bytes());
    files.insert(dir.join("pipeline.mmd"), g.mermaid().into_bytes());
    files.insert(dir.join("pipeline.dot"), g.dot().into_bytes());
    if let Some(s) = svg {
        files.insert(dir.join("pipeline.svg"), s);
    }
    Ok(files)
}

/// Runs Graphviz on the DOT; `None` when `dot` is not installed, an error when it
/// fails or warns.
pub fn svg_of(dot: &str) -> io::Result<Option<Vec<u8>>> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(dot.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() || !out.stderr.is_empty() {
        return Err(io::Error::other(format!(
            "dot -Tsvg failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(Some(out.stdout))
}

/// The `<title>` of every node, edge and cluster Graphviz drew, sorted: what an SVG
/// shows, whatever its layout.
pub fn svg_titles(svg: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(svg);
    let mut titles: Vec<String> = text
        .split("<title>")
        .skip(1)
        .filter_map(|t| t.split_once("</title>").map(|(x, _)| x.to_string()))
        .collect();
    titles.sort();
    titles
}

/// Files of `docs/<env>/` under `root` that differ from `files`. `skip` names files
/// not compared (the SVG when Graphviz is missing).
pub fn drift(
    files: &BTreeMap<PathBuf, Vec<u8>>,
    env: &str,
    root: &Path,
    skip: &[PathBuf],
) -> io::Result<Vec<Drift>> {
    // Another Graphviz lays the same graph out with other coordinates: an SVG is current
    // when it draws the same nodes and edges (the DOT itself is compared byte for byte).
    let same = |rel: &Path, on_disk: &[u8], generated: &[u8]| {
        on_disk == generated
            || (rel.extension().is_some_and(|e| e == "svg")
                && svg_titles(on_disk) == svg_titles(generated))
    };
    let owned = [PathBuf::from("docs").join(env)];
    crate::emit::drift_of(files, &owned, root, &same, skip)
}

/// Writes `docs/<env>/` under `root` as a whole: staged in a temporary folder and
/// swapped in by rename, so a failure leaves the previous document intact.
pub fn write(files: &BTreeMap<PathBuf, Vec<u8>>, env: &str, root: &Path) -> io::Result<()> {
    let docs = root.join("docs");
    std::fs::create_dir_all(&docs)?;
    let staging = tempfile::Builder::new()
        .prefix(".pipewright-docs-")
        .tempdir_in(&docs)?;
    let staged = staging.path().join("new");
    for (rel, bytes) in files {
        let rel = rel
            .strip_prefix(Path::new("docs").join(env))
            .map_err(|_| io::Error::other(format!("{} is outside docs/{env}", rel.display())))?;
        let p = staged.join(rel);
        std::fs::create_dir_all(p.parent().expect("files are in a folder"))?;
        std::fs::write(&p, bytes)?;
    }
    let target = docs.join(env);
    crate::fsio::swap_dir(&staged, &target, &staging.path().join("old"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge_summary_rows_of_one_environment() {
        let summary = "\n===== judges summary (/x)\n\
ENV    JUDGE                        STATUS          TIME  LAST LINE\n\
dev    cfn-lint                     pass              3s  0 errors\n\
prod   cfn-lint                     pass              4s  0 errors\n\
prod   guard pci_dss_3_2_1          report:FAIL      12s  2 rules failed\n\
prod   guard                        not run (no cfn-guard on PATH or no /y)\n";
        let rows = judge_rows(summary, "prod");
        assert_eq!(
            rows,
            vec![
                ("cfn-lint".into(), "pass".into(), "0 errors".into()),
                (
                    "guard pci_dss_3_2_1".into(),
                    "report:FAIL".into(),
                    "2 rules failed".into()
                ),
                (
                    "guard".into(),
                    "not run (no cfn-guard on PATH or no /y)".into(),
                    String::new()
                ),
            ]
        );
        assert_eq!(judge_rows(summary, "dev").len(), 1);
        assert!(judge_rows(summary, "de").is_empty());
    }

    #[test]
    fn escaping_keeps_tables_and_html_out() {
        assert_eq!(
            md_escape("a|b\n<script>`x`&"),
            "a\\|b &lt;script&gt;`x`&amp;"
        );
    }

    #[test]
    fn write_swaps_the_folder_and_drift_sees_stale_files() {
        let root = tempfile::tempdir().unwrap();
        let mut files = BTreeMap::new();
        files.insert(PathBuf::from("docs/dev/README.md"), b"# x\n".to_vec());
        std::fs::create_dir_all(root.path().join("docs/dev")).unwrap();
        std::fs::write(root.path().join("docs/dev/old.svg"), b"old").unwrap();
        let d = drift(&files, "dev", root.path(), &[]).unwrap();
        assert_eq!(
            d,
            vec![
                Drift::Missing("docs/dev/README.md".into()),
                Drift::Extra("docs/dev/old.svg".into())
            ]
        );
        // A skipped file is not reported.
        let d = drift(&files, "dev", root.path(), &["docs/dev/old.svg".into()]).unwrap();
        assert_eq!(d, vec![Drift::Missing("docs/dev/README.md".into())]);
        write(&files, "dev", root.path()).unwrap();
        assert!(drift(&files, "dev", root.path(), &[]).unwrap().is_empty());
        assert!(!root.path().join("docs/dev/old.svg").exists());
        // Nothing left behind but the document.
        let left: Vec<_> = std::fs::read_dir(root.path().join("docs"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("dev")]);
    }

    #[test]
    fn an_svg_is_current_when_it_draws_the_same_graph() {
        let root = tempfile::tempdir().unwrap();
        let rel = PathBuf::from("docs/dev/pipeline.svg");
        let a = b"<svg><g><title>api</title><text x=\"1\">api</text></g><g><title>api&#45;&gt;fn</title></g></svg>";
        let moved = b"<svg><g><title>api&#45;&gt;fn</title></g><g><title>api</title><text x=\"9\">api</text></g></svg>";
        let other = b"<svg><g><title>api</title></g></svg>";
        std::fs::create_dir_all(root.path().join("docs/dev")).unwrap();
        std::fs::write(root.path().join(&rel), a).unwrap();
        let files = |b: &[u8]| BTreeMap::from([(rel.clone(), b.to_vec())]);
        assert!(
            drift(&files(moved), "dev", root.path(), &[])
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            drift(&files(other), "dev", root.path(), &[]).unwrap(),
            [Drift::Changed(rel.clone())]
        );
    }
}
