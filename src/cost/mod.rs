//! A monthly cost estimate of one environment, from its plan and a price book.
//!
//! [`estimate`] walks the plan's components and prices each with the region's
//! on-demand list prices (first tier, no free tier) for a traffic profile
//! ([`Inputs`]). What the plan cannot say (how long the function runs, how well
//! events compress, how long a Glue run takes) is an [`Assumptions`] value, printed
//! with the estimate. Each component is one function that adds [`Line`]s, so a new
//! plan component is priced by adding one more.
//!
//! Levers show what a choice is worth by estimating again with one input changed:
//! events per request, the function's architecture, and when raw data is archived.

pub mod prices;

use serde::Serialize;

use crate::plan::{BucketId, BucketPlan, Plan, Trigger};
use crate::spec::model::{Architecture, ArchiveClass, WorkerType};
use crate::spec::schedule::Schedule;
use prices::RegionPrices;

/// Days in the month the estimate is for (the same month `runs_per_month` counts).
pub const DAYS: f64 = 30.0;
/// Hours in an average month, as AWS's examples use for hourly prices.
pub const HOURS: f64 = 730.0;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;
const TB: f64 = GB * 1024.0;

/// The traffic profile.
#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    pub events_per_day: f64,
    /// Bytes of one event as JSON, before compression.
    pub event_bytes: f64,
    /// Events per API request.
    pub batch: u32,
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            events_per_day: 1_000_000.0,
            event_bytes: 1024.0,
            batch: 100,
        }
    }
}

/// What the plan does not say; printed with every estimate.
#[derive(Debug, Clone, Serialize)]
pub struct Assumptions {
    /// Ingest function run time: a fixed part plus a part per event.
    pub lambda_base_ms: f64,
    pub lambda_ms_per_event: f64,
    /// Raw objects are gzip JSON: stored bytes per JSON byte.
    pub raw_compression_ratio: f64,
    /// Curated Parquet bytes per raw JSON byte.
    pub parquet_ratio: f64,
    /// Minutes one Glue job run takes (billed per second).
    pub glue_minutes_per_run: f64,
    /// Output files one job run writes.
    pub glue_files_per_run: f64,
    /// A crawler run: DPUs and minutes.
    pub crawler_dpus: f64,
    pub crawler_minutes_per_run: f64,
    /// Runs a month of a job started on ingest (Glue runs at most one at a time).
    pub on_ingest_runs_per_month: f64,
    /// Athena queries a day, each over one day of one dataset.
    pub athena_queries_per_day: f64,
    /// Log bytes per function invocation, per API request, per Glue run.
    pub log_bytes_per_invocation: f64,
    pub log_bytes_per_api_request: f64,
    pub log_bytes_per_glue_run: f64,
    /// Index item bytes (object items and idempotency records), and device pointers.
    pub index_item_bytes: f64,
    pub pointer_item_bytes: f64,
    /// Distinct devices in one request (each gets a pointer item for `by_device`).
    pub devices_per_request: f64,
    /// KMS requests per 1,000 S3 requests (buckets use S3 Bucket Keys).
    pub kms_requests_per_1000_s3: f64,
    /// Months of data a bucket without expiry is priced at.
    pub unexpiring_months: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            lambda_base_ms: 30.0,
            lambda_ms_per_event: 0.2,
            raw_compression_ratio: 0.2,
            parquet_ratio: 0.1,
            glue_minutes_per_run: 5.0,
            glue_files_per_run: 20.0,
            crawler_dpus: 2.0,
            crawler_minutes_per_run: 2.0,
            on_ingest_runs_per_month: 720.0,
            athena_queries_per_day: 200.0,
            log_bytes_per_invocation: 1024.0,
            log_bytes_per_api_request: 512.0,
            log_bytes_per_glue_run: 5.0 * 1024.0 * 1024.0,
            index_item_bytes: 1024.0,
            pointer_item_bytes: 200.0,
            devices_per_request: 1.0,
            kms_requests_per_1000_s3: 1.0,
            unexpiring_months: 12.0,
        }
    }
}

/// One priced item.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    pub component: String,
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    /// The price book field that prices it.
    pub price: &'static str,
    pub unit_price: f64,
    /// quantity × unit_price, in the book's currency.
    pub monthly: f64,
    /// The page the price was read from (the price book's `sources`).
    pub source: String,
}

/// What changing one choice is worth a month.
#[derive(Debug, Clone, Serialize)]
pub struct Lever {
    pub lever: String,
    pub option: String,
    pub monthly_total: f64,
    /// Against the estimate as configured (negative: saves).
    pub difference: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentCost {
    pub component: String,
    pub monthly: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub pipeline: String,
    pub environment: String,
    pub region: String,
    pub currency: String,
    pub prices_read: String,
    pub prices_status: String,
    pub inputs: Inputs,
    pub assumptions: Assumptions,
    pub lines: Vec<Line>,
    /// Lines summed per component, in the order components are priced.
    pub components: Vec<ComponentCost>,
    pub monthly_total: f64,
    pub levers: Vec<Lever>,
    /// What the estimate leaves out.
    pub excluded: Vec<String>,
}

/// Rounds to a tenth of a cent in JSON, so output does not depend on the last bit
/// of a float.
fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}

/// Prices for the replica region (replicas live there).
pub struct Regions<'a> {
    pub home: &'a RegionPrices,
    pub replica: Option<&'a RegionPrices>,
}

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

/// GB held in each tier once a bucket has reached its retention (steady state):
/// data younger than the archive age in S3 Standard, the rest in the archive class
/// until it expires. Buckets that never expire are priced at `unexpiring_days`.
pub fn tiers(
    gb_per_day: f64,
    expire_days: Option<u32>,
    archive: Option<(u32, ArchiveClass)>,
    unexpiring_days: f64,
) -> (f64, Option<(ArchiveClass, f64)>) {
    let kept = expire_days.map_or(unexpiring_days, f64::from);
    match archive {
        Some((after, class)) if f64::from(after) < kept => {
            let hot = f64::from(after);
            (gb_per_day * hot, Some((class, gb_per_day * (kept - hot))))
        }
        _ => (gb_per_day * kept, None),
    }
}

/// Runs a month of each transform (following `after` chains to their schedule).
pub fn job_runs(plan: &Plan, a: &Assumptions) -> Vec<f64> {
    fn runs(plan: &Plan, a: &Assumptions, i: usize, depth: usize) -> f64 {
        if depth > plan.transforms.len() {
            return 0.0;
        }
        match &plan.transforms[i].trigger {
            Trigger::Schedule { cron } => Schedule::parse(cron).map_or(0.0, |s| s.runs_per_month()),
            Trigger::After { jobs } => jobs
                .iter()
                .filter_map(|j| plan.transforms.iter().position(|t| &t.job_name == j))
                .map(|k| runs(plan, a, k, depth + 1))
                .fold(0.0, f64::max),
            Trigger::OnIngest => a.on_ingest_runs_per_month,
            Trigger::Manual => 0.0,
        }
    }
    (0..plan.transforms.len())
        .map(|i| runs(plan, a, i, 0))
        .collect()
}

pub fn dpus(w: WorkerType) -> f64 {
    match w {
        WorkerType::G025X => 0.25,
        WorkerType::G1X => 1.0,
        WorkerType::G2X => 2.0,
        WorkerType::G4X => 4.0,
        WorkerType::G8X => 8.0,
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
    component: &str,
    gb_per_day: f64,
    p: &RegionPrices,
    archive: Option<(u32, ArchiveClass)>,
    objects_per_day: f64,
) {
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
    bucket_storage(cx, &b, "S3 raw", gb, p, archive, r / DAYS);
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
    bucket_storage(cx, &b, "S3 curated", gb, p, None, files / DAYS);
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
        "inter-region transfer (raw and curated)",
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
        bucket_storage(
            cx,
            &b,
            "S3 raw replica",
            g,
            rp,
            archive,
            cx.requests() / DAYS,
        );
    }
    if let Some(b) = plan.buckets.get(&BucketId::CuratedReplica).cloned() {
        let g = cx.curated_gb_per_day();
        bucket_storage(cx, &b, "S3 curated replica", g, rp, None, 0.0);
    }
}

fn lines(
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
    cx.lines
}

fn total(lines: &[Line]) -> f64 {
    lines.iter().map(|l| l.monthly).sum()
}

/// Estimates one environment's month.
pub fn estimate(
    plan: &Plan,
    book: &prices::PriceBook,
    prices: &Regions<'_>,
    i: &Inputs,
    a: &Assumptions,
) -> Estimate {
    let raw_archive = plan.buckets.get(&BucketId::Raw).and_then(|b| b.archive);
    let base = lines(plan, prices, i, a, plan.architecture, raw_archive);
    let t = total(&base);
    let mut levers = Vec::new();
    let mut lever = |lever: &str, option: String, ls: Vec<Line>| {
        let m = total(&ls);
        levers.push(Lever {
            lever: lever.to_owned(),
            option,
            monthly_total: round(m, 2),
            difference: round(m - t, 2),
        });
    };
    let max_batch = plan
        .routes
        .iter()
        .map(|r| r.max_events)
        .min()
        .unwrap_or(1)
        .max(1);
    let mut batches = vec![1, 10, 100, 1000, max_batch];
    batches.retain(|b| *b <= max_batch && *b != i.batch);
    batches.sort_unstable();
    batches.dedup();
    for b in batches {
        let ii = Inputs {
            batch: b,
            ..i.clone()
        };
        lever(
            "events per request",
            format!("{b}"),
            lines(plan, prices, &ii, a, plan.architecture, raw_archive),
        );
    }
    let other = match plan.architecture {
        Architecture::X86_64 => Architecture::Arm64,
        Architecture::Arm64 => Architecture::X86_64,
    };
    lever(
        "function architecture",
        other.as_str().to_owned(),
        lines(plan, prices, i, a, other, raw_archive),
    );
    if let Some(b) = plan.buckets.get(&BucketId::Raw) {
        let class = raw_archive.map_or(ArchiveClass::GlacierIr, |x| x.1);
        let kept = b.expire_days.unwrap_or(u32::MAX);
        let mut options: Vec<Option<(u32, ArchiveClass)>> = vec![None];
        for d in [30, 90, 180, 365] {
            if d < kept {
                options.push(Some((d, class)));
            }
        }
        for o in options {
            if o == raw_archive {
                continue;
            }
            let label = o.map_or_else(
                || "never archive raw data".to_owned(),
                |(d, c)| format!("archive raw data to {} after {d} days", c.as_str()),
            );
            lever(
                "archive timing",
                label,
                lines(plan, prices, i, a, plan.architecture, o),
            );
        }
    }
    let mut components: Vec<(String, f64)> = Vec::new();
    for l in &base {
        match components.iter_mut().find(|(c, _)| *c == l.component) {
            Some((_, m)) => *m += l.monthly,
            None => components.push((l.component.clone(), l.monthly)),
        }
    }
    let status = if prices.replica.is_some_and(|r| r.status != "read") {
        "unverified".to_owned()
    } else {
        prices.home.status.clone()
    };
    Estimate {
        pipeline: plan.pipeline.clone(),
        environment: plan.env.clone(),
        region: plan.region.clone(),
        currency: book.currency.clone(),
        prices_read: book.read.clone(),
        prices_status: status,
        inputs: i.clone(),
        assumptions: a.clone(),
        lines: base
            .into_iter()
            .map(|l| Line {
                quantity: round(l.quantity, 3),
                monthly: round(l.monthly, 2),
                source: book.sources.get(l.price).cloned().unwrap_or_default(),
                ..l
            })
            .collect(),
        components: components
            .into_iter()
            .map(|(component, m)| ComponentCost {
                component,
                monthly: round(m, 2),
            })
            .collect(),
        monthly_total: round(t, 2),
        levers,
        excluded: vec![
            "free tiers".into(),
            "tiered discounts above the first tier".into(),
            "data transfer out to the internet".into(),
            "QuickSight (priced per user or session)".into(),
            "SageMaker training and hosting (priced by what you run)".into(),
            "SQS, SNS, EventBridge Scheduler and CloudWatch alarms (cents at this scale)".into(),
            "KMS charges for rotated key material".into(),
        ],
    }
}

/// The estimate as a table for people.
pub fn human(e: &Estimate) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} ({}) in {}: about {} {:.2} a month",
        e.pipeline, e.environment, e.region, e.currency, e.monthly_total
    );
    let _ = writeln!(
        o,
        "for {} events a day of {} bytes, {} events per request; prices read {} ({})\n",
        e.inputs.events_per_day,
        e.inputs.event_bytes,
        e.inputs.batch,
        e.prices_read,
        e.prices_status
    );
    let width = |it: &mut dyn Iterator<Item = usize>, min: usize| it.max().unwrap_or(0).max(min);
    let cw = width(&mut e.lines.iter().map(|l| l.component.chars().count()), 9);
    let iw = width(&mut e.lines.iter().map(|l| l.item.chars().count()), 4);
    let qty: Vec<String> = e
        .lines
        .iter()
        .map(|l| format!("{:.1} {}", l.quantity, short_unit(&l.unit)))
        .collect();
    let qw = width(&mut qty.iter().map(|q| q.chars().count()), 8);
    let _ = writeln!(o, "{:<cw$} {:>12}", "component", "per month");
    for c in &e.components {
        let _ = writeln!(o, "{:<cw$} {:>12.2}", c.component, c.monthly);
    }
    let _ = writeln!(
        o,
        "\n{:<cw$} {:<iw$} {:>qw$} {:>10}",
        "component", "item", "quantity", "per month"
    );
    for (l, q) in e.lines.iter().zip(&qty) {
        let _ = writeln!(
            o,
            "{:<cw$} {:<iw$} {:>qw$} {:>10.2}",
            l.component, l.item, q, l.monthly
        );
    }
    let lw = width(&mut e.levers.iter().map(|l| l.lever.chars().count()), 5);
    let ow = width(&mut e.levers.iter().map(|l| l.option.chars().count()), 6);
    let _ = writeln!(o, "\nlevers (total a month, difference):");
    for l in &e.levers {
        let _ = writeln!(
            o,
            "  {:<lw$} {:<ow$} {:>10.2} {:>+10.2}",
            l.lever, l.option, l.monthly_total, l.difference
        );
    }
    let _ = writeln!(o, "\nnot included: {}", e.excluded.join("; "));
    o
}

fn short_unit(u: &str) -> &str {
    match u {
        "requests" => "req",
        "GB-seconds" => "GB-s",
        "GB-months" => "GB-mo",
        "write request units" => "WRU",
        "read request units" => "RRU",
        other => other,
    }
}

#[cfg(test)]
mod tests;
