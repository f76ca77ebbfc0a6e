//! synth on real specs: every template and policy of the reference spec and of
//! `tests/specs/ok/fleet.yaml` is snapshotted (`snapshots/synth/`), output is
//! deterministic, the committed `stacks/` and `policies/` are current, and the IAM
//! invariants reviewers rely on hold for every role.

use std::path::Path;

use pipewright::emit::{self, iam};
use pipewright::plan::{self, Access, Plan};
use pipewright::spec::{self, RealFiles, Validated};

const SPECS: &[&str] = &["pipeline.yaml", "tests/specs/ok/fleet.yaml"];

fn validated(path: &str) -> Validated {
    let c = spec::check(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(path),
        &RealFiles,
    )
    .unwrap();
    c.validated()
        .unwrap_or_else(|| panic!("{path} is invalid: {:?}", c.diagnostics))
}

fn plans() -> Vec<(String, Plan)> {
    let mut out = Vec::new();
    for s in SPECS {
        let v = validated(s);
        for env in v.spec.environments.keys() {
            out.push((format!("{s}#{env}"), plan::lower(&v, env).expect("lowers")));
        }
    }
    out
}

#[test]
fn snapshots_of_every_template_and_policy() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/synth");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, plan) in plans() {
            let out = emit::synth(&plan).expect("emits");
            let stem = name
                .replace("tests/specs/ok/", "")
                .replace(".yaml", "")
                .replace('#', "__");
            for (path, bytes) in &out.files {
                let snap = format!("{stem}__{}", path.to_string_lossy().replace('/', "__"));
                insta::assert_snapshot!(snap, String::from_utf8(bytes.clone()).unwrap());
            }
        }
    });
}

#[test]
fn output_is_deterministic() {
    for s in SPECS {
        let a = validated(s);
        let b = validated(s);
        for env in a.spec.environments.keys() {
            let x = emit::synth(&plan::lower(&a, env).unwrap()).unwrap();
            let y = emit::synth(&plan::lower(&b, env).unwrap()).unwrap();
            assert_eq!(x.files, y.files, "{s} {env}");
        }
    }
}

#[test]
fn committed_stacks_and_policies_are_current() {
    let v = validated("pipeline.yaml");
    for env in v.spec.environments.keys() {
        let plan = plan::lower(&v, env).unwrap();
        let mut out = emit::synth(&plan).unwrap();
        pipewright::review::access::add_to(&mut out, &plan);
        let drift = emit::drift(&out, Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(
            drift.is_empty(),
            "stale generated files (run `cargo run -- synth`): {drift:?}"
        );
    }
}

#[test]
fn iam_invariants_hold_for_every_role() {
    let star_only: Vec<&str> = iam::STAR_ONLY.iter().map(|(a, _)| *a).collect();
    for (name, plan) in plans() {
        let roles = iam::roles(&plan);
        assert!(!roles.is_empty());
        for (id, r) in &roles {
            let flows: Vec<_> = plan.flows_of(id).collect();
            assert!(!flows.is_empty(), "{name}: role {id} has no flow");
            assert_eq!(
                r.boundary, plan.permissions_boundary,
                "{name}: {id} boundary"
            );
            for doc in r.policies.values() {
                // Once deployed: placeholders are replaced by key ARNs, ids and names.
                let len = iam::deployed_len(&plan, doc);
                assert!(
                    len <= iam::MANAGED_POLICY_LIMIT,
                    "{name}: {id} policy is up to {len} chars once deployed"
                );
                for st in &doc.statements {
                    assert!(
                        r.sources.contains_key(&st.sid),
                        "{name}: {} has no flow",
                        st.sid
                    );
                    assert!(
                        st.sid.chars().all(|c| c.is_ascii_alphanumeric()),
                        "{}",
                        st.sid
                    );
                    for a in &st.actions {
                        let (svc, action) = a.split_once(':').expect("service:action");
                        assert!(!svc.is_empty() && !action.is_empty());
                        assert!(
                            !action.contains('*'),
                            "{name}: wildcard action {a} in {}",
                            st.sid
                        );
                    }
                    if st.resources.iter().any(|r| r == "*") {
                        assert_eq!(st.resources, vec!["*"]);
                        for a in &st.actions {
                            assert!(
                                star_only.contains(&a.as_str()),
                                "{name}: {a} on * in {}",
                                st.sid
                            );
                        }
                    }
                }
            }
        }
        // Writers cannot delete: only scratch space grants s3:DeleteObject.
        for f in &plan.flows {
            for st in iam::statements(&plan, f) {
                if st.actions.iter().any(|a| a == "s3:DeleteObject") {
                    assert!(
                        matches!(f.access, Access::ScratchObjects { .. }),
                        "{name}: {} deletes",
                        f.id
                    );
                }
                if matches!(f.access, Access::PutObjects { .. }) {
                    assert!(
                        !st.actions.iter().any(|a| a == "s3:GetObject"),
                        "{name}: writer {} reads",
                        f.id
                    );
                }
            }
        }
    }
}

#[test]
fn ingest_puts_are_scoped_to_its_route_prefixes() {
    let v = validated("pipeline.yaml");
    let plan = plan::lower(&v, "prod").unwrap();
    let roles = iam::roles(&plan);
    let ingest = &roles["ingest"];
    let mut puts: Vec<&String> = ingest
        .policies
        .values()
        .flat_map(|d| d.statements.iter())
        .filter(|s| s.actions.contains(&"s3:PutObject".to_owned()))
        .flat_map(|s| s.resources.iter())
        .collect();
    puts.sort();
    assert_eq!(
        puts,
        vec![
            "arn:aws:s3:::transit-payments-prod-raw-222222222222/raw/ferry/*",
            "arn:aws:s3:::transit-payments-prod-raw-222222222222/raw/pos/*",
            "arn:aws:s3:::transit-payments-prod-raw-222222222222/rejected/ferry/*",
            "arn:aws:s3:::transit-payments-prod-raw-222222222222/rejected/pos/*",
        ]
    );
    let all: Vec<String> = iam::actions_of(ingest).into_iter().collect();
    for forbidden in [
        "s3:GetObject",
        "s3:DeleteObject",
        "dynamodb:DeleteItem",
        "dynamodb:Scan",
    ] {
        assert!(
            !all.contains(&forbidden.to_owned()),
            "ingest has {forbidden}"
        );
    }
}

#[test]
fn glue_scripts_compile_as_python() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (name, plan) in plans() {
        let out = emit::synth(&plan).unwrap();
        for (path, bytes) in out
            .files
            .iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "py"))
        {
            let f = dir.path().join(format!("s{n}.py"));
            n += 1;
            std::fs::write(&f, bytes).unwrap();
            let o = std::process::Command::new("python3")
                .args(["-m", "py_compile"])
                .arg(&f)
                .output()
                .expect("python3 runs");
            assert!(
                o.status.success(),
                "{name} {}: {}",
                path.display(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    assert!(n >= 6, "only {n} scripts");
}

#[test]
fn many_sources_split_into_stacks_within_quotas() {
    let text = spec::generate::spec(100, 50);
    let c = spec::check_bytes(
        Path::new("big.yaml"),
        text.into_bytes(),
        &spec::MemFiles::default(),
    );
    let v = c
        .validated()
        .unwrap_or_else(|| panic!("{:?}", c.diagnostics));
    let plan = plan::lower(&v, "prod").unwrap();
    assert_eq!(plan.route_groups.len(), 3);
    assert_eq!(plan.transform_groups.len(), 4);
    let out = emit::synth(&plan).expect("fits the quotas");
    let names: Vec<&String> = out.summary.stacks.iter().map(|(n, _, _)| n).collect();
    for want in [
        "big-fleet-prod-ingest",
        "big-fleet-prod-ingest-routes-1",
        "big-fleet-prod-ingest-routes-3",
        "big-fleet-prod-ingest-release",
    ] {
        assert!(
            names.iter().any(|n| *n == want),
            "{want} missing from {names:?}"
        );
    }
    for (name, resources, bytes) in &out.summary.stacks {
        assert!(*resources <= emit::MAX_RESOURCES, "{name}: {resources}");
        assert!(*bytes <= emit::TEMPLATE_MAX_BYTES, "{name}: {bytes}");
    }
    // Every route's method exists exactly once across the stacks.
    let all: String = out
        .files
        .values()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    for i in 0..100 {
        assert_eq!(
            all.matches(&format!("\"S{i}PostMethod\": {{")).count(),
            1,
            "source s{i}"
        );
    }
}

#[test]
fn committed_large_spec_matches_the_generator() {
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs/large/big-fleet.yaml"),
    )
    .unwrap();
    assert_eq!(
        committed,
        spec::generate::spec(100, 50),
        "regenerate tests/specs/large/big-fleet.yaml"
    );
}
