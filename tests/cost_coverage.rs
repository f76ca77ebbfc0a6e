//! Every billable resource in the generated templates has a cost line.
//!
//! For the reference spec and every spec under `tests/specs/ok/`, each environment is
//! synthesised and estimated by the real binary (`synth --format json`, `cost --format
//! json`), and each resource of the templates is matched to the estimate by what the
//! template says (its type, names, counts and properties), not by what `cost` was told:
//! a bucket by its name, a Glue job by its name, KMS keys, alarms and interface
//! endpoint-zones by count, the API cache and point-in-time recovery by the property
//! that turns them on. A type that is not billed, or is left out on purpose, is listed
//! below with the reason; any other type fails the test, so a new component cannot
//! ship unpriced. The same run checks that synth's compliance figures are the
//! estimate's own components.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Types AWS does not bill for themselves (what they configure is priced where it is used).
const FREE: &[(&str, &str)] = &[
    ("AWS::IAM::Role", "IAM is free"),
    ("AWS::IAM::ManagedPolicy", "IAM is free"),
    ("AWS::KMS::Alias", "aliases are free"),
    ("AWS::S3::BucketPolicy", "configuration"),
    ("AWS::SQS::QueuePolicy", "configuration"),
    ("AWS::SNS::TopicPolicy", "configuration"),
    (
        "AWS::SNS::Subscription",
        "delivery is priced per message (excluded below)",
    ),
    ("AWS::Lambda::Permission", "configuration"),
    ("AWS::ApiGateway::Account", "configuration"),
    (
        "AWS::ApiGateway::Resource",
        "requests are priced on the API",
    ),
    ("AWS::ApiGateway::Method", "requests are priced on the API"),
    ("AWS::ApiGateway::Model", "configuration"),
    ("AWS::ApiGateway::RequestValidator", "configuration"),
    ("AWS::ApiGateway::Deployment", "configuration"),
    ("AWS::ApiGateway::ApiKey", "free"),
    ("AWS::ApiGateway::UsagePlan", "free"),
    ("AWS::ApiGateway::UsagePlanKey", "free"),
    (
        "AWS::Glue::Trigger",
        "free (the job runs it starts are priced)",
    ),
    ("AWS::Glue::SecurityConfiguration", "configuration"),
    ("AWS::Glue::Connection", "configuration"),
    (
        "AWS::SageMaker::ModelPackageGroup",
        "the model registry is free",
    ),
    ("AWS::EC2::VPC", "free"),
    ("AWS::EC2::Subnet", "free"),
    ("AWS::EC2::RouteTable", "free"),
    ("AWS::EC2::SubnetRouteTableAssociation", "free"),
    ("AWS::EC2::SecurityGroup", "free"),
    ("AWS::EC2::SecurityGroupIngress", "free"),
    ("AWS::EC2::SecurityGroupEgress", "free"),
];

/// Billed types the estimate leaves out on purpose: each must be named in the
/// estimate's own `excluded` list (the word on the right), so the user reads why.
const EXCLUDED: &[(&str, &str)] = &[
    ("AWS::QuickSight::DataSet", "QuickSight"),
    ("AWS::QuickSight::DataSource", "QuickSight"),
    ("AWS::QuickSight::Analysis", "QuickSight"),
    ("AWS::QuickSight::Dashboard", "QuickSight"),
    ("AWS::SQS::Queue", "SQS"),
    ("AWS::SNS::Topic", "SNS"),
    ("AWS::Scheduler::Schedule", "EventBridge Scheduler"),
    ("AWS::SageMaker::Pipeline", "SageMaker training"),
    ("AWS::EC2::FlowLog", "flow log"),
    ("AWS::Glue::Database", "Glue Data Catalog"),
    ("AWS::Glue::Table", "Glue Data Catalog"),
];

fn pipewright(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "pipewright {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn specs() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = vec!["pipeline.yaml".to_owned()];
    let mut ok: Vec<String> = std::fs::read_dir(root.join("tests/specs/ok"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    ok.sort();
    v.extend(ok);
    v
}

/// The estimate's lines, looked up by price field and by component.
struct Estimate<'a>(&'a Value);

impl Estimate<'_> {
    fn lines(&self) -> impl Iterator<Item = &Value> {
        self.0["lines"].as_array().unwrap().iter()
    }
    fn quantity(&self, price: &str) -> f64 {
        self.lines()
            .filter(|l| l["price"] == price)
            .map(|l| l["quantity"].as_f64().unwrap())
            .sum()
    }
    fn has_price(&self, price: &str) -> bool {
        self.lines().any(|l| l["price"] == price)
    }
    fn components(&self) -> BTreeSet<String> {
        self.lines()
            .map(|l| l["component"].as_str().unwrap().to_owned())
            .collect()
    }
    fn excluded(&self) -> String {
        self.0["excluded"].to_string()
    }
}

/// A literal string property (names are literal in our templates; a bucket named by
/// an expression would fail here rather than be skipped).
fn literal<'a>(r: &'a Value, prop: &str) -> &'a str {
    r["Properties"][prop]
        .as_str()
        .unwrap_or_else(|| panic!("{prop} is not a literal: {r}"))
}

/// Checks one environment's templates against its estimate; returns the types seen.
fn check_env(spec: &str, env: &str, dir: &Path, e: &Estimate<'_>) -> BTreeSet<String> {
    let what = format!("{spec}#{env}");
    let components = e.components();
    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut templates = 0;
    for f in std::fs::read_dir(dir).unwrap() {
        let path = f.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        templates += 1;
        let t: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for (lid, r) in t["Resources"].as_object().unwrap() {
            let ty = r["Type"].as_str().unwrap();
            seen.insert(ty.to_owned());
            let at = format!("{what} {}:{lid}", path.file_name().unwrap().display());
            match ty {
                "AWS::S3::Bucket" => {
                    let name = literal(r, "BucketName");
                    let priced = components.iter().any(|c| {
                        c.strip_prefix("S3 ").is_some_and(|k| {
                            name.contains(&format!("-{k}-")) && !c.ends_with(" replication")
                        }) && (name.contains("-replica-") == c.ends_with("-replica"))
                    });
                    assert!(priced, "{at}: bucket {name} has no `S3 <key>` lines");
                }
                "AWS::Glue::Job" => {
                    let name = literal(r, "Name");
                    let priced = components.iter().any(|c| {
                        c.strip_prefix("Glue job ")
                            .is_some_and(|t| name.ends_with(&format!("-{t}")))
                    });
                    assert!(priced, "{at}: Glue job {name} has no line");
                    *counts.entry("glue jobs").or_default() += 1.0;
                }
                "AWS::DynamoDB::Table" => {
                    assert!(e.has_price("dynamodb_write_per_million"), "{at}");
                    assert!(e.has_price("dynamodb_storage_gb_month"), "{at}");
                    let pitr = &r["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"];
                    assert_eq!(
                        *pitr == Value::Bool(true),
                        e.has_price("dynamodb_pitr_gb_month"),
                        "{at}: point-in-time recovery and its cost line"
                    );
                }
                "AWS::ApiGateway::RestApi" => {
                    assert!(e.has_price("apigw_rest_per_million"), "{at}")
                }
                "AWS::ApiGateway::Stage" => {
                    let cached = r["Properties"]["CacheClusterEnabled"] == Value::Bool(true);
                    if cached {
                        assert_eq!(
                            literal(r, "CacheClusterSize"),
                            "0.5",
                            "{at}: priced as 0.5 GB"
                        );
                    }
                    assert_eq!(
                        cached,
                        e.has_price("apigw_cache_0_5_gb_hour"),
                        "{at}: cache"
                    );
                }
                "AWS::Lambda::Function" => *counts.entry("functions").or_default() += 1.0,
                "AWS::Glue::Crawler" => assert!(e.has_price("glue_crawler_dpu_hour"), "{at}"),
                "AWS::Athena::WorkGroup" => assert!(e.has_price("athena_per_tb"), "{at}"),
                "AWS::Logs::LogGroup" => {
                    assert!(
                        e.has_price("logs_ingest_gb") && e.has_price("logs_storage_gb_month"),
                        "{at}"
                    )
                }
                "AWS::KMS::Key" => *counts.entry("kms keys").or_default() += 1.0,
                "AWS::CloudWatch::Alarm" => *counts.entry("alarms").or_default() += 1.0,
                "AWS::EC2::VPCEndpoint" => {
                    if r["Properties"]["VpcEndpointType"] == "Interface" {
                        let zones = r["Properties"]["SubnetIds"].as_array().unwrap().len();
                        *counts.entry("endpoint-zones").or_default() += zones as f64;
                    }
                }
                _ if FREE.iter().any(|(t, _)| *t == ty) => {}
                _ => match EXCLUDED.iter().find(|(t, _)| *t == ty) {
                    Some((_, word)) => assert!(
                        e.excluded().to_lowercase().contains(&word.to_lowercase()),
                        "{at}: {ty} is neither priced nor named in the estimate's `excluded`"
                    ),
                    None => panic!(
                        "{at}: {ty} has no cost line and is not listed as free here: price it in src/cost or say why it is free"
                    ),
                },
            }
        }
    }
    assert!(templates > 0, "{what}: no templates in {}", dir.display());
    let count = |k: &str| counts.get(k).copied().unwrap_or(0.0);
    assert_eq!(
        count("kms keys"),
        e.quantity("kms_key_month"),
        "{what}: KMS keys"
    );
    assert_eq!(
        count("alarms"),
        e.quantity("cloudwatch_alarm_month"),
        "{what}: alarms"
    );
    assert_eq!(
        count("endpoint-zones") * 730.0,
        e.quantity("vpc_endpoint_hour"),
        "{what}: interface endpoint-hours"
    );
    let lambdas = components
        .iter()
        .filter(|c| c.starts_with("Lambda ("))
        .count();
    assert_eq!(count("functions"), lambdas as f64, "{what}: functions");
    let jobs = components
        .iter()
        .filter(|c| c.starts_with("Glue job "))
        .count();
    assert_eq!(count("glue jobs"), jobs as f64, "{what}: Glue jobs");
    seen
}

/// synth's compliance figures are the estimate's components of the same names.
fn check_posture(what: &str, posture: &Value, e: &Value) {
    if posture.is_null() {
        return;
    }
    // A region the price book lacks: `cost` gives quantities only, and synth says why.
    if e["priced"] == Value::Bool(false) {
        let err = posture["error"].as_str().unwrap_or_default();
        assert!(err.contains("no price data"), "{what}: {posture}");
        assert!(
            e.get("monthly_total").is_none(),
            "{what}: no money without prices"
        );
        return;
    }
    let comps = posture["components"].as_array().expect("components");
    assert!(!comps.is_empty(), "{what}: a posture with no cost");
    for c in comps {
        let same = e["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["component"] == c["component"]);
        assert_eq!(
            same.map(|x| &x["monthly"]),
            Some(&c["monthly"]),
            "{what}: {c}"
        );
    }
}

#[test]
fn every_billable_resource_in_the_templates_has_a_cost_line() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    for spec in specs() {
        let out = tmp.path().join(spec.replace('/', "_"));
        let out_s = out.display().to_string();
        let summary = pipewright(&["synth", &spec, "--out", &out_s, "--format", "json"]);
        for env_summary in summary.as_array().unwrap() {
            let env = env_summary["environment"].as_str().unwrap();
            let e = pipewright(&["cost", &spec, "--env", env, "--format", "json"]);
            let dir = out.join("stacks").join(env);
            seen.extend(check_env(&spec, env, &dir, &Estimate(&e)));
            check_posture(
                &format!("{spec}#{env}"),
                &env_summary["compliance_cost"],
                &e,
            );
        }
    }
    // The corpus exercises the priced types, so the matching above is not vacuous.
    for ty in [
        "AWS::S3::Bucket",
        "AWS::Glue::Job",
        "AWS::DynamoDB::Table",
        "AWS::ApiGateway::Stage",
        "AWS::KMS::Key",
        "AWS::CloudWatch::Alarm",
        "AWS::EC2::VPCEndpoint",
    ] {
        assert!(seen.contains(ty), "no spec produces {ty}");
    }
}
