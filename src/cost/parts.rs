//! The priced lines of one estimate: one function per plan component, each adding
//! [`Line`]s through one pricing context. Not the estimate's shape, its levers or
//! its rendering (`cost`), nor the price book (`cost::prices`).

use super::prices::RegionPrices;
use super::{Assumptions, DAYS, GB, HOURS, Inputs, Line, Regions, TB, dpus, job_runs, tiers};
use crate::plan::{BucketId, BucketPlan, Plan};
use crate::spec::model::{Architecture, ArchiveClass};
use crate::spec::schedule::Schedule;

struct Cx<'a> {
    plan: &'a Plan,
    p: &'a RegionPrices,
    replica: Option<&'a RegionPrices>,
    i: &'a Inputs,
    a: &'a Assumptions,
    arch: Architecture,
    raw_archive: Option<(u32, ArchiveClass)>,
    lines: Vec<Line>,
}

impl Cx<'_> {
    fn line(
        &mut self,
        component: &str,
        item: impl Into<String>,
        quantity: f64,
        unit: &str,
        (price, unit_price): (&'static str, f64),
        per: f64,
    ) {
        self.lines.push(Line {
            component: component.to_owned(),
            item: item.into(),
            quantity,
            unit: unit.to_owned(),
            price,
            unit_price,
            monthly: quantity / per * unit_price,
            source: String::new(),
        });
    }

    /// API requests a month (an average: the last request of a day may be short).
    fn requests(&self) -> f64 {
        self.i.events_per_day / f64::from(self.i.batch.max(1)) * DAYS
    }

    /// GB of raw objects written a day.
    fn raw_gb_per_day(&self) -> f64 {
        self.i.events_per_day * self.i.event_bytes * self.a.raw_compression_ratio / GB
    }

    fn curated_gb_per_day(&self) -> f64 {
        self.i.events_per_day * self.i.event_bytes * self.a.parquet_ratio / GB
    }
}

fn storage_price(p: &RegionPrices, class: Option<ArchiveClass>) -> (&'static str, f64) {
    match class {
        None => ("s3_standard_gb_month", p.s3_standard_gb_month),
        Some(ArchiveClass::StandardIa) => ("s3_standard_ia_gb_month", p.s3_standard_ia_gb_month),
        Some(ArchiveClass::GlacierIr) => ("s3_glacier_ir_gb_month", p.s3_glacier_ir_gb_month),
        Some(ArchiveClass::Glacier) => ("s3_glacier_gb_month", p.s3_glacier_gb_month),
        Some(ArchiveClass::DeepArchive) => ("s3_deep_archive_gb_month", p.s3_deep_archive_gb_month),
    }
}

fn transition_price(p: &RegionPrices, class: ArchiveClass) -> (&'static str, f64) {
    match class {
        ArchiveClass::StandardIa => (
            "s3_transition_standard_ia_per_1000",
            p.s3_transition_standard_ia_per_1000,
        ),
        ArchiveClass::GlacierIr => (
            "s3_transition_glacier_ir_per_1000",
            p.s3_transition_glacier_ir_per_1000,
        ),
        ArchiveClass::Glacier => (
            "s3_transition_glacier_per_1000",
            p.s3_transition_glacier_per_1000,
        ),
        ArchiveClass::DeepArchive => (
            "s3_transition_deep_archive_per_1000",
            p.s3_transition_deep_archive_per_1000,
        ),
    }
}

fn api(cx: &mut Cx<'_>) {
    let r = cx.requests();
    cx.line(
        "API Gateway",
        format!("REST requests ({} routes)", cx.plan.routes.len()),
        r,
        "requests",
        ("apigw_rest_per_million", cx.p.apigw_rest_per_million),
        1e6,
    );
}

/// The stage's cache cluster: the PCI-DSS posture encrypts one of the smallest size,
/// billed by the hour whether or not anything is cached.
fn api_cache(cx: &mut Cx<'_>) {
    if !cx.plan.pci() {
        return;
    }
    cx.line(
        "API Gateway cache",
        format!(
            "{} GB encrypted cache cluster × {HOURS} h",
            crate::emit::stacks::API_CACHE_CLUSTER_SIZE
        ),
        HOURS,
        "hours",
        ("apigw_cache_0_5_gb_hour", cx.p.apigw_cache_0_5_gb_hour),
        1.0,
    );
}

/// The alarms on the ingest path: one standard-resolution metric each.
fn alarms(cx: &mut Cx<'_>) {
    let n = crate::emit::stacks::INGEST_ALARMS as f64;
    cx.line(
        "CloudWatch alarms",
        format!("{n} standard-resolution alarms (function, dead letters, API)"),
        n,
        "alarm-months",
        ("cloudwatch_alarm_month", cx.p.cloudwatch_alarm_month),
        1.0,
    );
}

fn function(cx: &mut Cx<'_>) {
    let r = cx.requests();
    cx.line(
        "Lambda (ingest)",
        "invocations",
        r,
        "requests",
        (
            "lambda_requests_per_million",
            cx.p.lambda_requests_per_million,
        ),
        1e6,
    );
    let ms = cx.a.lambda_base_ms + cx.a.lambda_ms_per_event * f64::from(cx.i.batch);
    let gbs = r * ms / 1000.0 * f64::from(cx.plan.memory_mb) / 1024.0;
    let (field, price) = match cx.arch {
        Architecture::X86_64 => ("lambda_gb_second_x86_64", cx.p.lambda_gb_second_x86_64),
        Architecture::Arm64 => ("lambda_gb_second_arm64", cx.p.lambda_gb_second_arm64),
    };
    cx.line(
        "Lambda (ingest)",
        format!(
            "duration, {} MB × {ms:.0} ms, {}",
            cx.plan.memory_mb,
            cx.arch.as_str()
        ),
        gbs,
        "GB-seconds",
        (field, price),
        1.0,
    );
}

fn bucket_storage(
    cx: &mut Cx<'_>,
    b: &BucketPlan,
    gb_per_day: f64,
    p: &RegionPrices,
    archive: Option<(u32, ArchiveClass)>,
    objects_per_day: f64,
) {
    let component = &bucket_component(b);
    let (hot, cold) = tiers(
        gb_per_day,
        b.expire_days,
        archive,
        cx.a.unexpiring_months * DAYS,
    );
    let kept = b.expire_days.map_or_else(
        || format!("{} months, never expires", cx.a.unexpiring_months),
        |d| format!("{d} days"),
    );
    let (f, price) = storage_price(p, None);
    cx.line(
        component,
        format!("S3 Standard at full retention ({kept})"),
        hot,
        "GB-months",
        (f, price),
        1.0,
    );
    if let Some((class, gb)) = cold {
        let (f, price) = storage_price(p, Some(class));
        cx.line(
            component,
            format!(
                "{} after {} days",
                class.as_str(),
                archive.map_or(0, |a| a.0)
            ),
            gb,
            "GB-months",
            (f, price),
            1.0,
        );
        let (f, price) = transition_price(p, class);
        cx.line(
            component,
            format!("lifecycle transitions to {}", class.as_str()),
            objects_per_day * DAYS,
            "requests",
            (f, price),
            1000.0,
        );
    }
}

fn raw(cx: &mut Cx<'_>) {
    let Some(b) = cx.plan.buckets.get(&BucketId::Raw).cloned() else {
        return;
    };
    let r = cx.requests();
    cx.line(
        "S3 raw",
        "PUT (one object per request)",
        r,
        "requests",
        ("s3_put_per_1000", cx.p.s3_put_per_1000),
        1000.0,
    );
    cx.line(
        "S3 raw",
        "GET (Glue reads each object once)",
        r,
        "requests",
        ("s3_get_per_1000", cx.p.s3_get_per_1000),
        1000.0,
    );
    let gb = cx.raw_gb_per_day();
    let p = cx.p;
    let archive = cx.raw_archive;
    bucket_storage(cx, &b, gb, p, archive, r / DAYS);
}

fn curated(cx: &mut Cx<'_>, runs: &[f64]) {
    let Some(b) = cx.plan.buckets.get(&BucketId::Curated).cloned() else {
        return;
    };
    if cx.plan.transforms.is_empty() {
        return;
    }
    let files: f64 = runs.iter().sum::<f64>() * cx.a.glue_files_per_run;
    cx.line(
        "S3 curated",
        "PUT (Parquet files written by jobs)",
        files,
        "requests",
        ("s3_put_per_1000", cx.p.s3_put_per_1000),
        1000.0,
    );
    let gb = cx.curated_gb_per_day();
    let p = cx.p;
    bucket_storage(cx, &b, gb, p, None, files / DAYS);
}

fn index(cx: &mut Cx<'_>) {
    let r = cx.requests();
    let lk = &cx.plan.ingest_config.lookups;
    let devices = if lk.by_device {
        cx.a.devices_per_request
            .min(f64::from(cx.plan.ingest_config.max_device_ids))
    } else {
        0.0
    };
    // One transaction a request: the object's item, one pointer per device (for
    // `by_device`) and the idempotency record; transactional writes cost 2 WRUs per
    // KB. Every GSI that holds a written item costs 1 WRU more (projection ALL).
    let units = (cx.a.index_item_bytes / 1024.0).ceil().max(1.0);
    let items = 2.0 + devices;
    let object_gsis = f64::from(u8::from(lk.by_source_date) + u8::from(lk.by_schema_version));
    let wru = items * 2.0 * units + object_gsis * units + devices;
    cx.line(
        "DynamoDB index",
        format!(
            "on-demand writes ({items} items a request in a transaction, {} GSI copies)",
            object_gsis + devices
        ),
        r * wru,
        "write request units",
        (
            "dynamodb_write_per_million",
            cx.p.dynamodb_write_per_million,
        ),
        1e6,
    );
    cx.line(
        "DynamoDB index",
        "on-demand reads (consistent idempotency lookup per request)",
        r,
        "read request units",
        ("dynamodb_read_per_million", cx.p.dynamodb_read_per_million),
        1e6,
    );
    let ttl = f64::from(cx.plan.index_ttl_days.unwrap_or(365));
    let idem = f64::from(cx.plan.ingest_config.idempotency_ttl_days);
    let per_day = r / DAYS;
    // The table itself; each GSI holds another copy of the items it indexes.
    let base_gb = per_day
        * (ttl * cx.a.index_item_bytes
            + devices * ttl * cx.a.pointer_item_bytes
            + idem * cx.a.index_item_bytes)
        / GB;
    let gb = base_gb
        + per_day
            * (object_gsis * ttl * cx.a.index_item_bytes + devices * ttl * cx.a.pointer_item_bytes)
            / GB;
    cx.line(
        "DynamoDB index",
        format!("storage (items kept {ttl} days, with their GSI copies)"),
        gb,
        "GB-months",
        ("dynamodb_storage_gb_month", cx.p.dynamodb_storage_gb_month),
        1.0,
    );
    // Point-in-time recovery is on for the table (its continuous backups are billed
    // per GB-month of the table's size, GSIs excluded).
    cx.line(
        "DynamoDB index",
        "point-in-time recovery (continuous backups of the table)",
        base_gb,
        "GB-months",
        ("dynamodb_pitr_gb_month", cx.p.dynamodb_pitr_gb_month),
        1.0,
    );
    if let Some(s) = &cx.plan.index_export {
        let exports = Schedule::parse(s).map_or(0.0, |s| s.runs_per_month());
        cx.line(
            "DynamoDB index",
            format!("full export to S3 ({s})"),
            exports * base_gb,
            "GB",
            ("dynamodb_export_gb", cx.p.dynamodb_export_gb),
            1.0,
        );
    }
}

fn glue(cx: &mut Cx<'_>, runs: &[f64]) {
    let plan = cx.plan;
    for (t, n) in plan.transforms.iter().zip(runs) {
        let dpu_hours =
            n * f64::from(t.workers) * dpus(t.worker_type) * cx.a.glue_minutes_per_run / 60.0;
        cx.line(
            &format!("Glue job {}", t.name),
            format!(
                "{n:.0} runs × {} {} workers × {} min",
                t.workers,
                t.worker_type.as_str(),
                cx.a.glue_minutes_per_run
            ),
            dpu_hours,
            "DPU-hours",
            ("glue_dpu_hour", cx.p.glue_dpu_hour),
            1.0,
        );
    }
    if !plan.transforms.is_empty() {
        let crawls = match &plan.crawler_schedule {
            Some(s) => Schedule::parse(s).map_or(0.0, |s| s.runs_per_month()),
            None => runs.iter().sum(),
        };
        let how = if plan.crawler_schedule.is_some() {
            "scheduled"
        } else {
            "after every job run"
        };
        cx.line(
            "Glue crawler",
            format!("{crawls:.0} runs ({how})"),
            crawls * cx.a.crawler_dpus * cx.a.crawler_minutes_per_run / 60.0,
            "DPU-hours",
            ("glue_crawler_dpu_hour", cx.p.glue_crawler_dpu_hour),
            1.0,
        );
    }
}

fn athena(cx: &mut Cx<'_>) {
    if cx.plan.quicksight.is_empty() && !cx.plan.buckets.contains_key(&BucketId::Results) {
        return;
    }
    let datasets = cx.plan.transforms.len().max(1) as f64;
    let per_query = (cx.curated_gb_per_day() / datasets * GB).max(10.0 * 1024.0 * 1024.0);
    let bytes = cx.a.athena_queries_per_day * DAYS * per_query;
    cx.line(
        "Athena",
        format!(
            "{} queries a day over one day of a dataset (10 MB minimum each)",
            cx.a.athena_queries_per_day
        ),
        bytes / TB,
        "TB scanned",
        ("athena_per_tb", cx.p.athena_per_tb),
        1.0,
    );
}

fn kms(cx: &mut Cx<'_>, runs: &[f64]) {
    let keys = 2.0
        + if cx.plan.replica_region.is_some() {
            1.0
        } else {
            0.0
        };
    cx.line(
        "KMS",
        "customer managed keys (bootstrap, data, replica)",
        keys,
        "keys",
        ("kms_key_month", cx.p.kms_key_month),
        1.0,
    );
    let s3 = cx.requests() * 2.0 + runs.iter().sum::<f64>() * cx.a.glue_files_per_run;
    let requests = s3 / 1000.0 * cx.a.kms_requests_per_1000_s3 + runs.iter().sum::<f64>() * 2.0;
    cx.line(
        "KMS",
        "requests (S3 Bucket Keys; Glue bookmarks)",
        requests,
        "requests",
        ("kms_per_10000", cx.p.kms_per_10000),
        10000.0,
    );
}

fn logs(cx: &mut Cx<'_>, runs: &[f64]) -> f64 {
    let r = cx.requests();
    let bytes = r * (cx.a.log_bytes_per_invocation + cx.a.log_bytes_per_api_request)
        + runs.iter().sum::<f64>() * cx.a.log_bytes_per_glue_run;
    let gb = bytes / GB;
    cx.line(
        "CloudWatch Logs",
        "ingestion (function, API access logs, Glue)",
        gb,
        "GB",
        ("logs_ingest_gb", cx.p.logs_ingest_gb),
        1.0,
    );
    let kept = f64::from(cx.plan.log_retention_days) / DAYS;
    cx.line(
        "CloudWatch Logs",
        format!("storage ({} days retention)", cx.plan.log_retention_days),
        gb * kept,
        "GB-months",
        ("logs_storage_gb_month", cx.p.logs_storage_gb_month),
        1.0,
    );
    gb
}

/// Interface endpoints of the network plan (S3 and DynamoDB use free gateway
/// endpoints).
fn interface_endpoints(plan: &Plan) -> usize {
    if plan.network.is_some() {
        crate::emit::stacks::INTERFACE_ENDPOINTS.len()
    } else {
        0
    }
}

fn network(cx: &mut Cx<'_>, log_gb: f64) {
    let Some(n) = &cx.plan.network else { return };
    let endpoints = interface_endpoints(cx.plan) as f64;
    let azs = n.subnets.len() as f64;
    cx.line(
        "VPC endpoints",
        format!("{endpoints} interface endpoints × {azs} AZs × {HOURS} h"),
        endpoints * azs * HOURS,
        "endpoint-hours",
        ("vpc_endpoint_hour", cx.p.vpc_endpoint_hour),
        1.0,
    );
    cx.line(
        "VPC endpoints",
        "data processed (logs and API calls)",
        log_gb,
        "GB",
        ("vpc_endpoint_gb", cx.p.vpc_endpoint_gb),
        1.0,
    );
}

fn replication(cx: &mut Cx<'_>, runs: &[f64]) {
    let Some(rp) = cx.replica else { return };
    let gb = (cx.raw_gb_per_day() + cx.curated_gb_per_day()) * DAYS;
    cx.line(
        "S3 replication",
        "inter-region transfer (raw and curated; the other buckets are small)",
        gb,
        "GB",
        ("inter_region_gb", cx.p.inter_region_gb),
        1.0,
    );
    let objects = cx.requests() + runs.iter().sum::<f64>() * cx.a.glue_files_per_run;
    cx.line(
        "S3 replication",
        "replica PUTs",
        objects,
        "requests",
        ("s3_put_per_1000", rp.s3_put_per_1000),
        1000.0,
    );
    let plan = cx.plan;
    if let Some(b) = plan.buckets.get(&BucketId::RawReplica).cloned() {
        let g = cx.raw_gb_per_day();
        let archive = cx.raw_archive;
        let objects_per_day = cx.requests() / DAYS;
        bucket_storage(cx, &b, g, rp, archive, objects_per_day);
    }
    if let Some(b) = plan.buckets.get(&BucketId::CuratedReplica).cloned() {
        let g = cx.curated_gb_per_day();
        bucket_storage(cx, &b, g, rp, None, 0.0);
    }
}

/// The buckets that hold what the pipeline writes beside its data: access logs,
/// query results and deployment artefacts (and their replicas).
fn support_buckets(cx: &mut Cx<'_>) {
    let s3_requests = cx.requests() * 2.0;
    let logs = s3_requests / DAYS * cx.a.access_log_bytes_per_request / GB;
    let results = cx.a.athena_queries_per_day * cx.a.athena_result_bytes_per_query / GB;
    let buckets: Vec<BucketPlan> = cx.plan.buckets.values().cloned().collect();
    for b in &buckets {
        let (home, replica) = match b.id {
            BucketId::Logs | BucketId::LogsReplica => (BucketId::Logs, b.id != BucketId::Logs),
            BucketId::Results | BucketId::ResultsReplica => {
                (BucketId::Results, b.id != BucketId::Results)
            }
            BucketId::Artifacts | BucketId::ArtifactsReplica => {
                (BucketId::Artifacts, b.id != BucketId::Artifacts)
            }
            _ => continue,
        };
        let p = match (replica, cx.replica) {
            (false, _) => cx.p,
            (true, Some(rp)) => rp,
            (true, None) => cx.p,
        };
        if home == BucketId::Artifacts {
            let (f, price) = storage_price(p, None);
            cx.line(
                &bucket_component(b),
                "S3 Standard: function packages, Glue scripts, templates",
                cx.a.artifacts_gb,
                "GB-months",
                (f, price),
                1.0,
            );
        } else {
            let gb_per_day = if home == BucketId::Logs {
                logs
            } else {
                results
            };
            bucket_storage(cx, b, gb_per_day, p, b.archive, 0.0);
        }
    }
}

/// The component a bucket's lines are summed under: `S3 <bucket key>`.
fn bucket_component(b: &BucketPlan) -> String {
    format!("S3 {}", b.id.key())
}

pub(super) fn lines(
    plan: &Plan,
    prices: &Regions<'_>,
    i: &Inputs,
    a: &Assumptions,
    arch: Architecture,
    raw_archive: Option<(u32, ArchiveClass)>,
) -> Vec<Line> {
    let mut cx = Cx {
        plan,
        p: prices.home,
        replica: prices.replica,
        i,
        a,
        arch,
        raw_archive,
        lines: Vec::new(),
    };
    let runs = job_runs(plan, a);
    api(&mut cx);
    api_cache(&mut cx);
    function(&mut cx);
    raw(&mut cx);
    curated(&mut cx, &runs);
    index(&mut cx);
    glue(&mut cx, &runs);
    athena(&mut cx);
    kms(&mut cx, &runs);
    let log_gb = logs(&mut cx, &runs);
    network(&mut cx, log_gb);
    replication(&mut cx, &runs);
    support_buckets(&mut cx);
    alarms(&mut cx);
    cx.lines
}
