//! The model against figures worked by hand from AWS's published prices
//! (us-east-1, first tier, `data/prices.json`). Each test names the price and
//! shows the arithmetic.

use super::*;
use crate::plan::Plan;
use crate::spec::{self, RealFiles};

fn plan(env: &str) -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml");
    let v = spec::check(&path, &RealFiles).unwrap().validated().unwrap();
    crate::plan::lower(&v, env).unwrap()
}

fn us_east_1() -> RegionPrices {
    prices::PriceBook::builtin()
        .region("us-east-1")
        .unwrap()
        .clone()
}

fn run(plan: &Plan, i: &Inputs, a: &Assumptions) -> Vec<Line> {
    let p = us_east_1();
    let regions = Regions {
        home: &p,
        replica: plan.replica_region.as_ref().map(|_| &p),
    };
    lines(
        plan,
        &regions,
        i,
        a,
        plan.architecture,
        plan.bucket(BucketId::Raw).archive,
    )
}

fn line<'a>(ls: &'a [Line], component: &str, price: &str) -> &'a Line {
    ls.iter()
        .find(|l| l.component == component && l.price == price)
        .unwrap_or_else(|| panic!("no {component}/{price} in {ls:#?}"))
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 0.005, "{a} != {b}");
}

/// Inputs giving `requests` API requests a month, one event each.
fn requests(requests: f64) -> Inputs {
    Inputs {
        events_per_day: requests / DAYS,
        event_bytes: 1024.0,
        batch: 1,
    }
}

#[test]
fn api_gateway_requests() {
    // AWS's API Gateway example: 5 million REST calls at $3.50 per million
    // (first 333 million) = 5 × 3.50 = $17.50.
    let ls = run(&plan("dev"), &requests(5e6), &Assumptions::default());
    close(
        line(&ls, "API Gateway", "apigw_rest_per_million").monthly,
        17.50,
    );
}

#[test]
fn lambda_requests_and_duration_both_architectures() {
    // AWS's Lambda example: 512 MB, 3 million invocations of 1 s.
    // Requests: 3 × $0.20 per million = $0.60.
    // Duration: 3,000,000 × 1 s × 0.5 GB = 1,500,000 GB-s;
    //   x86_64 at $0.0000166667 per GB-s = $25.00;
    //   arm64  at $0.0000133334 per GB-s = $20.00.
    let mut p = plan("dev");
    assert_eq!(p.memory_mb, 512);
    let a = Assumptions {
        lambda_base_ms: 1000.0,
        lambda_ms_per_event: 0.0,
        ..Assumptions::default()
    };
    let ls = run(&p, &requests(3e6), &a);
    close(
        line(&ls, "Lambda (ingest)", "lambda_requests_per_million").monthly,
        0.60,
    );
    let d = line(&ls, "Lambda (ingest)", "lambda_gb_second_x86_64");
    close(d.quantity, 1_500_000.0);
    close(d.monthly, 25.00);
    p.architecture = Architecture::Arm64;
    let ls = run(&p, &requests(3e6), &a);
    close(
        line(&ls, "Lambda (ingest)", "lambda_gb_second_arm64").monthly,
        20.00,
    );
}

#[test]
fn raw_bucket_lifecycle_over_retention() {
    // 1 GB of gzip objects a day (the reference raw lifecycle: Standard for 90
    // days, then GLACIER_IR until day 2557). At full retention:
    //   Standard:   90 GB × $0.023   = $2.07
    //   Glacier IR: (2557 − 90) = 2467 GB × $0.004 = $9.868
    // 1,000,000 PUTs × $0.005 per 1,000 = $5.00; as many transitions at $0.02
    // per 1,000 = $20.00.
    let p = plan("prod");
    let b = p.bucket(BucketId::Raw);
    assert_eq!(b.expire_days, Some(2557));
    assert_eq!(b.archive, Some((90, ArchiveClass::GlacierIr)));
    let a = Assumptions {
        raw_compression_ratio: 1.0,
        ..Assumptions::default()
    };
    let i = Inputs {
        events_per_day: 1e6 / DAYS,
        event_bytes: GB * DAYS / 1e6, // 1 GB a day in all
        batch: 1,
    };
    let ls = run(&p, &i, &a);
    let std = line(&ls, "S3 raw", "s3_standard_gb_month");
    close(std.quantity, 90.0);
    close(std.monthly, 2.07);
    let gir = line(&ls, "S3 raw", "s3_glacier_ir_gb_month");
    close(gir.quantity, 2467.0);
    close(gir.monthly, 9.868);
    close(line(&ls, "S3 raw", "s3_put_per_1000").monthly, 5.00);
    close(
        line(&ls, "S3 raw", "s3_transition_glacier_ir_per_1000").monthly,
        20.00,
    );
}

#[test]
fn tiers_without_archive_or_expiry() {
    assert_eq!(tiers(2.0, Some(30), None, 360.0), (60.0, None));
    // Archive age beyond expiry: nothing is archived.
    assert_eq!(
        tiers(1.0, Some(30), Some((90, ArchiveClass::Glacier)), 360.0),
        (30.0, None)
    );
    // Never expires: priced at the horizon.
    assert_eq!(
        tiers(1.0, None, Some((30, ArchiveClass::DeepArchive)), 360.0),
        (30.0, Some((ArchiveClass::DeepArchive, 330.0)))
    );
}

#[test]
fn dynamodb_on_demand() {
    // The reference spec has all three lookups. A request of one device writes 3
    // items in one transaction (object, device pointer, idempotency record) at
    // 2 WRUs each = 6, plus 1 WRU per GSI copy (object → by_source_date and
    // by_schema_version, pointer → by_device) = 3: 9 WRUs a request.
    //   1,000,000 requests × 9 = 9,000,000 WRU × $0.625 per million = $5.625
    //   1,000,000 consistent reads = 1,000,000 RRU × $0.125 per million = $0.125
    // (AWS's on-demand prices for us-east-1.)
    let p = plan("dev");
    let ls = run(&p, &requests(1e6), &Assumptions::default());
    let w = line(&ls, "DynamoDB index", "dynamodb_write_per_million");
    close(w.quantity, 9e6);
    close(w.monthly, 5.625);
    close(
        line(&ls, "DynamoDB index", "dynamodb_read_per_million").monthly,
        0.125,
    );
    // Without lookups: 2 items × 2 WRUs = 4 a request → $2.50.
    let mut p = p;
    p.ingest_config.lookups = Default::default();
    let ls = run(&p, &requests(1e6), &Assumptions::default());
    close(
        line(&ls, "DynamoDB index", "dynamodb_write_per_million").monthly,
        2.50,
    );
}

#[test]
fn glue_dpu_hours_from_schedule_and_workers() {
    // AWS's Glue example: a job of 6 DPUs for 15 minutes costs
    // 6 × 0.25 h × $0.44 = $0.66. Run daily (cron: 30 runs a month) that is
    // 30 × 0.66 = $19.80 (45 DPU-hours).
    let mut p = plan("dev");
    let t = &mut p.transforms[0];
    t.workers = 6;
    t.worker_type = WorkerType::G1X;
    t.trigger = Trigger::Schedule {
        cron: "cron(0 3 * * ? *)".into(),
    };
    let name = format!("Glue job {}", t.name);
    let a = Assumptions {
        glue_minutes_per_run: 15.0,
        ..Assumptions::default()
    };
    let ls = run(&p, &requests(1e6), &a);
    let g = line(&ls, &name, "glue_dpu_hour");
    close(g.quantity, 45.0);
    close(g.monthly, 19.80);
}

#[test]
fn after_chains_follow_their_schedule() {
    let mut p = plan("dev");
    p.transforms[0].trigger = Trigger::Schedule {
        cron: "cron(0 * * * ? *)".into(), // hourly: 24 × 30 = 720
    };
    let upstream = p.transforms[0].job_name.clone();
    p.transforms[1].trigger = Trigger::After {
        jobs: vec![upstream],
    };
    // The reference spec's third transform (`sailing_hours`) runs after the first.
    assert_eq!(
        job_runs(&p, &Assumptions::default()),
        vec![720.0, 720.0, 720.0]
    );
    p.transforms[1].trigger = Trigger::Manual;
    assert_eq!(job_runs(&p, &Assumptions::default())[1..], [0.0, 720.0]);
}

#[test]
fn athena_scanned_bytes() {
    // $5.00 per TB scanned: 10 GB scanned costs 10 / 1024 × 5 = $0.0488.
    // Here: 1 query a day for 30 days, each over 1/3 GB (one day of a dataset).
    let p = plan("dev");
    let n = p.transforms.len() as f64;
    let a = Assumptions {
        athena_queries_per_day: 1.0,
        parquet_ratio: 1.0,
        ..Assumptions::default()
    };
    let i = Inputs {
        events_per_day: 1000.0,
        event_bytes: 10.0 / DAYS * n * GB / 1000.0, // 10 GB over 30 queries
        batch: 1,
    };
    let ls = run(&p, &i, &a);
    close(line(&ls, "Athena", "athena_per_tb").monthly, 0.0488);
}

#[test]
fn kms_keys_and_requests() {
    // $1 per key a month; $0.03 per 10,000 requests. dev has no replica: 2 keys = $2.
    // prod adds the replica key: $3.
    let ls = run(&plan("dev"), &requests(1e6), &Assumptions::default());
    close(line(&ls, "KMS", "kms_key_month").monthly, 2.0);
    let ls = run(&plan("prod"), &requests(1e6), &Assumptions::default());
    close(line(&ls, "KMS", "kms_key_month").monthly, 3.0);
}

#[test]
fn vpc_endpoints_only_with_the_network() {
    // prod (PCI-DSS): 6 interface endpoints × 2 AZs × 730 h × $0.01 = $87.60.
    let ls = run(&plan("prod"), &requests(1e6), &Assumptions::default());
    let v = line(&ls, "VPC endpoints", "vpc_endpoint_hour");
    close(v.quantity, 6.0 * 2.0 * 730.0);
    close(v.monthly, 87.60);
    let ls = run(&plan("dev"), &requests(1e6), &Assumptions::default());
    assert!(ls.iter().all(|l| l.component != "VPC endpoints"));
    assert!(ls.iter().all(|l| l.component != "S3 replication"));
}

#[test]
fn replication_transfer() {
    // prod replicates raw and curated to eu-west-1: inter-region transfer at
    // $0.02 per GB. 1 GB a day of raw objects (curated ratio 0) = 30 GB = $0.60.
    let a = Assumptions {
        raw_compression_ratio: 1.0,
        parquet_ratio: 0.0,
        ..Assumptions::default()
    };
    let i = Inputs {
        events_per_day: 1000.0,
        event_bytes: GB / 1000.0,
        batch: 1,
    };
    let ls = run(&plan("prod"), &i, &a);
    let r = line(&ls, "S3 replication", "inter_region_gb");
    close(r.quantity, 30.0);
    close(r.monthly, 0.60);
}

#[test]
fn cloudwatch_logs_ingestion() {
    // $0.50 per GB ingested. 1,000,000 requests × (1024 + 512) bytes with no
    // Glue logs = 1.536e9 bytes = 1.4305 GiB → $0.715.
    let mut p = plan("dev");
    p.transforms.clear();
    let ls = run(&p, &requests(1e6), &Assumptions::default());
    let l = line(&ls, "CloudWatch Logs", "logs_ingest_gb");
    close(l.quantity, 1.536e9 / GB);
    close(l.monthly, 0.715);
}

#[test]
fn levers_point_the_right_way() {
    let p = plan("prod");
    let book = prices::PriceBook::builtin();
    let us = us_east_1();
    let regions = Regions {
        home: &us,
        replica: Some(&us),
    };
    let e = estimate(
        &p,
        &book,
        &regions,
        &Inputs::default(),
        &Assumptions::default(),
    );
    let arm = e
        .levers
        .iter()
        .find(|l| l.lever == "function architecture")
        .unwrap();
    assert_eq!(arm.option, "arm64");
    assert!(arm.difference < 0.0, "{arm:?}");
    let one = e
        .levers
        .iter()
        .find(|l| l.lever == "events per request" && l.option == "1")
        .unwrap();
    assert!(one.difference > 0.0, "{one:?}");
    let never = e
        .levers
        .iter()
        .find(|l| l.option == "never archive raw data")
        .unwrap();
    assert!(never.difference > 0.0, "{never:?}");
    let sum: f64 = e.components.iter().map(|c| c.monthly).sum();
    assert!((sum - e.monthly_total).abs() < 0.05);
}
