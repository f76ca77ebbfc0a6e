//! `check` is the contract: on generated specs — 1 to 500 sources, 0 to 50 transforms,
//! environments across the three partitions and many regions, every optional section on
//! and off — a spec `check` accepts lowers and synthesises in every environment, within
//! CloudFormation's quotas and with nothing its region lacks; and when `check` refuses a
//! generated spec, it is only for what `synth` itself refuses (quotas, availability),
//! confirmed by running synth. The generator writes valid specs, so any other refusal
//! is a bug in it or in `check`, and fails the test with the spec.
//!
//! `PROPTEST_CASES` sets the number of cases (default 24) and `PROPTEST_RNG_SEED` the
//! seed (default fixed, so CI tries the same specs each run; set another to explore). With
//! `PIPEWRIGHT_CONTRACT_OUT=DIR`, the accepted specs are also written to DIR, so that
//! `.ci/run` can synthesise a sample with the CLI and run cfn-lint on each environment
//! in its region.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pipewright::spec::{self, MemFiles};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

/// Regions of the three partitions, each with another region of its partition for
/// replication.
const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "us-west-2"),
    ("us-west-2", "us-east-1"),
    ("eu-west-2", "eu-west-1"),
    ("eu-central-1", "eu-west-1"),
    ("ap-southeast-2", "ap-southeast-4"),
    ("ap-southeast-4", "ap-southeast-2"),
    ("ap-northeast-1", "ap-northeast-3"),
    ("sa-east-1", "us-east-1"),
    ("me-central-1", "eu-central-1"),
    ("ca-west-1", "ca-central-1"),
    ("cn-north-1", "cn-northwest-1"),
    ("cn-northwest-1", "cn-north-1"),
    ("us-gov-west-1", "us-gov-east-1"),
    ("us-gov-east-1", "us-gov-west-1"),
];

#[derive(Debug, Clone)]
struct Env {
    region: usize,
    pci: bool,
    network_azs: Option<u8>,
    boundary: bool,
    other_account: bool,
}

#[derive(Debug, Clone)]
struct Transform {
    inputs: Vec<usize>,
    by_device: bool,
    trigger: u8,
}

#[derive(Debug, Clone)]
struct Params {
    sources: usize,
    signed_only: bool,
    quota: bool,
    transforms: Vec<Transform>,
    envs: Vec<Env>,
    athena: bool,
    quicksight: bool,
    ml: bool,
    readers: bool,
    catalog: bool,
    archive: bool,
    lookups: bool,
}

fn env() -> impl Strategy<Value = Env> {
    (
        0..REGIONS.len(),
        any::<bool>(),
        prop::option::of(2u8..=3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(region, pci, network_azs, boundary, other_account)| Env {
            region,
            pci,
            network_azs,
            boundary,
            other_account,
        })
}

fn params() -> impl Strategy<Value = Params> {
    let sources = prop_oneof![6 => 1usize..=12, 3 => 13usize..=150, 1 => 151usize..=500];
    sources
        .prop_flat_map(|n| {
            let transform = (prop::collection::vec(0..n, 1..=2), any::<bool>(), 0u8..4).prop_map(
                |(inputs, by_device, trigger)| Transform {
                    inputs,
                    by_device,
                    trigger,
                },
            );
            (
                Just(n),
                any::<(bool, bool)>(),
                prop::collection::vec(transform, 0..=50),
                prop::collection::vec(env(), 1..=3),
                any::<(bool, bool, bool, bool, bool)>(),
                // QuickSight and SageMaker are missing from some regions (China,
                // us-gov-east-1): less often on, so that most specs are accepted.
                (prop::bool::weighted(0.25), prop::bool::weighted(0.25)),
            )
        })
        .prop_map(
            |(sources, (signed_only, quota), transforms, envs, o, (qs, ml))| Params {
                sources,
                signed_only,
                quota,
                transforms,
                envs,
                athena: o.0,
                quicksight: qs,
                ml,
                readers: o.1,
                catalog: o.2,
                archive: o.3,
                lookups: o.4,
            },
        )
}

fn environments(p: &Params) -> String {
    let mut s = String::from("environments:\n");
    for (i, e) in p.envs.iter().enumerate() {
        let (region, replica) = REGIONS[e.region];
        let account = if e.other_account && i > 0 {
            format!("{:012}", 222_233_334_444u64 + i as u64)
        } else {
            "111122223333".to_owned()
        };
        s += &format!(
            "  e{i}:\n    account: \"{account}\"\n    region: {region}\n    alarm_email: ops@example.com\n"
        );
        if e.pci {
            s += &format!("    replica_region: {replica}\n");
            if let Some(azs) = e.network_azs {
                s +=
                    &format!("    network: {{ cidr: 10.{i}.0.0/16, availability_zones: {azs} }}\n");
            }
        } else {
            s += "    compliance: []\n    retain_data: false\n";
            // Outside the posture, any auth: some sources signed only, one keyed only.
            if p.signed_only {
                s += "    sources:\n      s0: { auth: iam }\n";
                if p.sources > 1 {
                    s += "      s1: { auth: api_key }\n";
                }
            }
        }
        if e.boundary {
            s += "    permissions_boundary: arn:{partition}:iam::{account}:policy/boundary\n";
        }
    }
    s
}

fn sources(p: &Params) -> String {
    let mut s = String::from("sources:\n");
    for i in 0..p.sources {
        s += &format!(
            "  s{i}:\n    route: /v1/g{}/s{i}\n    throttle: {{ rate_limit: {}, burst_limit: {} }}\n",
            i % 7,
            10 + i,
            20 + 2 * i
        );
        if p.quota {
            s += "    quota: { limit: 100000, period: day }\n";
        }
        s += "    fields: { id: id, time: at, device: dev }\n    schema:\n      version: 1.0.0\n      inline:\n        type: object\n        required: [id, at]\n        properties:\n          id: { type: string }\n          at: { type: string, format: date-time }\n          dev: { type: string }\n          value: { type: number }\n";
    }
    s
}

fn transforms(p: &Params) -> String {
    if p.transforms.is_empty() {
        return String::new();
    }
    let mut s = String::from("transforms:\n");
    for (j, t) in p.transforms.iter().enumerate() {
        let mut inputs: Vec<String> = t.inputs.iter().map(|i| format!("s{i}")).collect();
        inputs.dedup();
        let part = if t.by_device {
            "[event_date, dev]"
        } else {
            "[event_date]"
        };
        s += &format!(
            "  t{j}:\n    inputs: [{}]\n    columns: [{{ name: id }}, {{ name: at }}, {{ name: dev }}, {{ name: value }}]\n    partition_by: {part}\n",
            inputs.join(", ")
        );
        s += &match t.trigger {
            0 => format!("    schedule: cron({} * * * ? *)\n", j % 60),
            1 => "    schedule: rate(1 hour)\n".to_owned(),
            2 if j > 0 => format!("    after: [t{}]\n", j - 1),
            _ => "    on_ingest: true\n".to_owned(),
        };
    }
    s
}

fn optional(p: &Params) -> String {
    let mut s = String::new();
    if p.archive {
        s += "storage:\n  raw: { retention_days: 400, archive_after_days: 30, archive_class: GLACIER_IR }\n";
    }
    if p.lookups {
        s += "index:\n  lookups: [by_source_date, by_device]\n";
    }
    if p.catalog {
        s += "catalog:\n  database: generated_db\n";
    }
    let datasets: Vec<String> = (0..p.transforms.len().min(3))
        .map(|j| format!("t{j}"))
        .collect();
    if p.athena || (p.quicksight && !datasets.is_empty()) {
        s += "analytics:\n  athena: { bytes_scanned_cutoff_mb: 1024 }\n";
        if p.quicksight && !datasets.is_empty() {
            s += &format!(
                "  quicksight:\n    principals:\n      - principal: group/default/analysts\n        datasets: [{}]\n",
                datasets.join(", ")
            );
        }
    }
    if p.ml {
        s += "ml:\n  sources: [s0]\n  model_package_group: anomalies\n";
        if p.lookups {
            s += "  index_lookups: [by_source_date]\n";
        }
    }
    if p.readers {
        s += "security:\n  readers:\n    - principal: arn:{partition}:iam::999988887777:role/reader\n      sources: [s0]\n";
    }
    s
}

fn yaml(p: &Params) -> String {
    format!(
        "version: 1\nname: gen\nowner: contract-test\n{}{}{}{}",
        environments(p),
        sources(p),
        transforms(p),
        optional(p)
    )
}

#[derive(Default, Debug)]
struct Tally {
    accepted: usize,
    refused_quota: usize,
    refused_region: usize,
    /// The first message of each refusal code, to read in the test's output.
    seen: BTreeMap<&'static str, String>,
    environments: BTreeMap<&'static str, usize>,
    largest_accepted: usize,
}

/// Codes `check` may refuse a generated (valid) spec with: what synth refuses.
const SYNTH_REFUSALS: &[&str] = &["PW0301", "PW0231"];

fn one(p: &Params, out: Option<&Path>, tally: &mut Tally) -> Result<(), TestCaseError> {
    let text = yaml(p);
    let checked = spec::check_bytes(
        Path::new("pipeline.yaml"),
        text.clone().into_bytes(),
        &MemFiles(BTreeMap::<PathBuf, Vec<u8>>::new()),
    );
    let render = |d: &pipewright::diag::Diagnostics| {
        pipewright::diag::render_human(d, &checked.sources, false)
    };
    let Some(v) = checked.validated() else {
        return Err(TestCaseError::fail(format!(
            "the generator wrote a spec validation refuses:\n{}\n{text}",
            render(&checked.diagnostics)
        )));
    };
    let mut refused = Vec::new();
    for env in v.spec.environments.keys() {
        let found = pipewright::emit::contract::refusals(&v, env);
        // What synth itself does, independently of `refusals`.
        let synthesised = pipewright::plan::lower(&v, env)
            .ok()
            .and_then(|plan| pipewright::emit::synth(&plan).ok().map(|o| (plan, o)));
        let synth_ok = synthesised.as_ref().is_some_and(|(plan, o)| {
            pipewright::emit::availability::unavailable(plan, o).is_empty()
        });
        prop_assert_eq!(
            found.is_empty(),
            synth_ok,
            "env {}: check and synth disagree\n{}",
            env,
            text
        );
        for d in &found {
            prop_assert!(
                SYNTH_REFUSALS.contains(&d.code) && d.is_error(),
                "env {env}: check refused a generated spec with {}: {}\n{text}",
                d.code,
                d.message
            );
        }
        for d in &found {
            tally.seen.entry(d.code).or_insert_with(|| {
                format!(
                    "{} sources, {} transforms: {}",
                    p.sources,
                    p.transforms.len(),
                    d.message
                )
            });
        }
        refused.extend(found.into_iter().map(|d| d.code));
    }
    if refused.is_empty() {
        tally.accepted += 1;
        tally.largest_accepted = tally.largest_accepted.max(p.sources);
        for e in &p.envs {
            let partition = pipewright::aws::partition_of(REGIONS[e.region].0)
                .unwrap()
                .id
                .as_str();
            *tally.environments.entry(partition).or_default() += 1;
        }
        if let Some(dir) = out {
            std::fs::write(dir.join(format!("gen-{:03}.yaml", tally.accepted)), &text).unwrap();
        }
    } else if refused.contains(&"PW0301") {
        tally.refused_quota += 1;
    } else {
        tally.refused_region += 1;
    }
    Ok(())
}

#[test]
fn a_spec_check_accepts_synthesises_in_every_environment() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(24);
    let out = std::env::var_os("PIPEWRIGHT_CONTRACT_OUT").map(PathBuf::from);
    if let Some(d) = &out {
        std::fs::create_dir_all(d).unwrap();
    }
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_203);
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let result = runner.run(&params(), |p| {
        one(&p, out.as_deref(), &mut tally.borrow_mut())
    });
    let tally = tally.into_inner();
    eprintln!("contract: {tally:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    // The property is not vacuous: most generated specs are accepted, in all three
    // partitions, and some are refused for a quota synth really hits.
    assert!(tally.accepted * 2 >= cases as usize, "{tally:?}");
    for partition in ["aws", "aws-cn", "aws-us-gov"] {
        assert!(tally.environments.contains_key(partition), "{tally:?}");
    }
}

/// The boundary the issue found: a source count whose ingest release stack passes 500
/// resources is refused by `check` itself, with the numbers, at `sources`.
#[test]
fn check_refuses_what_synth_cannot_split_with_the_numbers() {
    let text = pipewright::spec::generate::spec(200, 0);
    let checked = spec::check_bytes(
        Path::new("pipeline.yaml"),
        text.into_bytes(),
        &MemFiles(BTreeMap::new()),
    );
    let v = checked.validated().unwrap_or_else(|| {
        panic!(
            "{}",
            pipewright::diag::render_human(&checked.diagnostics, &checked.sources, false)
        )
    });
    let found = pipewright::emit::contract::refusals(&v, "prod");
    let quota: Vec<_> = found.iter().filter(|d| d.code == "PW0301").collect();
    assert!(!quota.is_empty(), "{found:?}");
    assert!(
        quota
            .iter()
            .any(|d| d.message.contains("CloudFormation allows 500")
                || d.message.contains("CloudFormation allows 200")),
        "{quota:?}"
    );
    assert!(
        quota
            .iter()
            .all(|d| !matches!(d.location, pipewright::diag::Location::None))
    );
    // And synth really fails there.
    let plan = pipewright::plan::lower(&v, "prod").unwrap();
    assert!(pipewright::emit::synth(&plan).is_err());
}
