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

pub mod compliance;
mod parts;
pub mod prices;

use serde::Serialize;

use crate::plan::{BucketId, Plan, Trigger};
use crate::spec::model::{Architecture, ArchiveClass, WorkerType};
use crate::spec::schedule::Schedule;
use parts::lines;
use prices::RegionPrices;

/// Days in the month the estimate is for (the same month `runs_per_month` counts).
pub const DAYS: f64 = 30.0;
/// Hours in an average month, as AWS's examples use for hourly prices.
pub const HOURS: f64 = 730.0;
pub(crate) const GB: f64 = 1024.0 * 1024.0 * 1024.0;
pub(crate) const TB: f64 = GB * 1024.0;

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
    /// Bytes of one S3 server access log record (the logs bucket holds one per request
    /// on the data buckets).
    pub access_log_bytes_per_request: f64,
    /// Bytes of result one Athena query leaves in the results bucket.
    pub athena_result_bytes_per_query: f64,
    /// GB of deployment artefacts (function packages, Glue scripts, large templates).
    pub artifacts_gb: f64,
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
            access_log_bytes_per_request: 400.0,
            athena_result_bytes_per_query: 100.0 * 1024.0,
            artifacts_gb: 0.1,
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

impl<'a> Regions<'a> {
    /// The prices of the plan's region and of its replica region, from one book.
    pub fn of(book: &'a prices::PriceBook, plan: &Plan) -> Result<Regions<'a>, prices::PriceError> {
        Ok(Regions {
            home: book.region(&plan.region)?,
            replica: plan
                .replica_region
                .as_deref()
                .map(|r| book.region(r))
                .transpose()?,
        })
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
            training_exclusion(plan),
            "SQS, SNS and EventBridge Scheduler requests (cents at this scale)".into(),
            "VPC flow log delivery to S3 (vended logs, per GB of the VPC's traffic records)".into(),
            "Glue Data Catalog storage and requests (within the first million objects and requests)".into(),
            "KMS charges for rotated key material".into(),
        ],
    }
}

/// SageMaker is priced by what runs; with `ml.training`, the exclusion says how much
/// runs: training runs a month (from the schedule) of at most the job's instances and
/// runtime. The pipeline and the manifest function's invocations are left out too.
fn training_exclusion(plan: &Plan) -> String {
    let Some(t) = &plan.training else {
        return "SageMaker training and hosting (priced by what you run)".into();
    };
    let runs = crate::spec::schedule::Schedule::parse(&t.schedule)
        .map(|s| s.runs_per_month())
        .unwrap_or_default();
    format!(
        "SageMaker training of `{}`: about {runs:.1} runs a month of at most {} × {} for {:.1} h each (priced per instance-second; not in the price book), and hosting",
        t.pipeline_name,
        t.instance_count,
        t.instance_type,
        f64::from(t.max_runtime_seconds) / 3600.0
    )
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

/// An estimate made without prices (`missing`: the regions the book lacks), for people:
/// a note, then each item's quantity, and no money at all.
pub fn quantities_human(e: &Estimate, missing: &[String]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} ({}) in {}: no price data for {}: quantities only (pass --prices FILE with {} to price them)",
        e.pipeline,
        e.environment,
        e.region,
        missing.join(" and "),
        if missing.len() == 1 {
            "that region"
        } else {
            "those regions"
        }
    );
    let _ = writeln!(
        o,
        "for {} events a day of {} bytes, {} events per request\n",
        e.inputs.events_per_day, e.inputs.event_bytes, e.inputs.batch
    );
    let qty: Vec<String> = e
        .lines
        .iter()
        .map(|l| format!("{:.1} {}", l.quantity, short_unit(&l.unit)))
        .collect();
    let cw = e
        .lines
        .iter()
        .map(|l| l.component.chars().count())
        .max()
        .unwrap_or(0)
        .max(9);
    let iw = e
        .lines
        .iter()
        .map(|l| l.item.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let _ = writeln!(o, "{:<cw$} {:<iw$} {:>12}", "component", "item", "quantity");
    for (l, q) in e.lines.iter().zip(&qty) {
        let _ = writeln!(o, "{:<cw$} {:<iw$} {q:>12}", l.component, l.item);
    }
    let _ = writeln!(o, "\nnot included: {}", e.excluded.join("; "));
    o
}

/// [`quantities_human`] for machines: the estimate's JSON without a single amount of
/// money (no totals, no levers, no prices), with `priced: false` and the regions lacking.
pub fn quantities_json(e: &Estimate, missing: &[String]) -> serde_json::Value {
    let mut v = serde_json::to_value(e).expect("an estimate serialises");
    if let Some(o) = v.as_object_mut() {
        for k in [
            "monthly_total",
            "levers",
            "components",
            "currency",
            "prices_read",
            "prices_status",
        ] {
            o.remove(k);
        }
        o.insert("priced".into(), false.into());
        o.insert("no_price_data".into(), serde_json::json!(missing));
        for l in o
            .get_mut("lines")
            .and_then(|l| l.as_array_mut())
            .into_iter()
            .flatten()
        {
            if let Some(l) = l.as_object_mut() {
                for k in ["unit_price", "monthly", "source"] {
                    l.remove(k);
                }
            }
        }
    }
    v
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
