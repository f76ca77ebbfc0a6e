//! The review gate on a corpus of spec mutations (#15): each edit of the reference
//! `pipeline.yaml` has the class a security reviewer gives it — broadening, narrowing or
//! neutral — and, where it matters, the kind of grant, the principal's label and the
//! spec path it must be traced to. Every mutation is compared both ways (base → edited
//! must give its class, edited → base the opposite one), in both environments, and the
//! Markdown of the forward direction is snapshotted in `snapshots/iam_diff/corpus/`.
//!
//! The expected classes are written from what each edit means for access (who can do
//! what to which data), not read back from the tool.

use std::path::Path;

use pipewright::review::access::{GrantKind, Who};
use pipewright::review::diff::Class;
use pipewright::review::{Report, Roles, compare, render_markdown};
use pipewright::spec::{self, RealFiles};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What a mutation must produce, read base → edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// At least one broadening change.
    Broadening,
    /// Narrowing changes and no broadening.
    Narrowing,
    /// Neither: no change, or only neutral ones.
    Neutral,
}

impl Expect {
    fn reversed(self) -> Expect {
        match self {
            Expect::Broadening => Expect::Narrowing,
            Expect::Narrowing => Expect::Broadening,
            Expect::Neutral => Expect::Neutral,
        }
    }
}

/// A change the forward report must hold: its grant kind, the principal's label (if it
/// matters) and a fragment of the principal.
struct Must {
    grant: GrantKind,
    who: Option<Who>,
    principal: &'static str,
    spec: &'static str,
}

struct Mutation {
    name: &'static str,
    /// (text to find, its replacement) in the reference spec; each must be found.
    edits: &'static [(&'static str, &'static str)],
    expect: Expect,
    must: &'static [Must],
}

const QS_FERRY: &str =
    "      - principal: group/default/ferry-operations\n        datasets: [ferry_boardings]\n";
const QS_ANALYSTS: &str = "      - principal: group/default/payments-analysts\n        datasets: [pos_sales, ferry_boardings, index]\n";
const READER: &str =
    "    - principal: arn:aws:iam::333333333333:role/fraud-analytics\n      datasets: [pos_sales]";
const DEV_SOURCES: &str =
    "    sources:\n      pos:\n        throttle: { rate_limit: 20, burst_limit: 40 }\n";

#[allow(clippy::too_many_lines)]
fn corpus() -> Vec<Mutation> {
    vec![
        Mutation {
            name: "new_external_reader",
            edits: &[(
                READER,
                "    - principal: arn:aws:iam::333333333333:role/fraud-analytics\n      datasets: [pos_sales]\n    - principal: arn:aws:iam::444444444444:role/partner-bi\n      datasets: [pos_sales, ferry_boardings]",
            )],
            expect: Expect::Broadening,
            must: &[
                Must {
                    grant: GrantKind::BucketPolicy,
                    who: Some(Who::OtherAccount),
                    principal: "444444444444",
                    spec: "security.readers.1",
                },
                Must {
                    grant: GrantKind::KeyPolicy,
                    who: Some(Who::OtherAccount),
                    principal: "444444444444",
                    spec: "security.readers.1",
                },
            ],
        },
        Mutation {
            name: "same_account_reader",
            edits: &[(
                READER,
                "    - principal: arn:aws:iam::333333333333:role/fraud-analytics\n      datasets: [pos_sales]\n    - principal: arn:{partition}:iam::{account}:role/finance-bi\n      datasets: [ferry_boardings]",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::BucketPolicy,
                who: Some(Who::SameAccount),
                principal: "role/finance-bi",
                spec: "security.readers.1",
            }],
        },
        Mutation {
            name: "reader_given_second_dataset",
            edits: &[(
                "role/fraud-analytics\n      datasets: [pos_sales]\n",
                "role/fraud-analytics\n      datasets: [pos_sales, ferry_boardings]\n",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::BucketPolicy,
                who: Some(Who::OtherAccount),
                principal: "fraud-analytics",
                spec: "security.readers.0",
            }],
        },
        Mutation {
            name: "reader_given_raw_events",
            edits: &[(
                READER,
                "    - principal: arn:aws:iam::333333333333:role/fraud-analytics\n      datasets: [pos_sales]\n      sources: [pos]",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::BucketPolicy,
                who: Some(Who::OtherAccount),
                principal: "fraud-analytics",
                spec: "security.readers.0",
            }],
        },
        Mutation {
            name: "quicksight_group_added",
            edits: &[(
                QS_FERRY,
                "      - principal: group/default/ferry-operations\n        datasets: [ferry_boardings]\n      - principal: group/default/auditors\n        datasets: [pos_sales]\n",
            )],
            expect: Expect::Broadening,
            must: &[
                Must {
                    grant: GrantKind::QuicksightDataSet,
                    who: Some(Who::SameAccount),
                    principal: "group/default/auditors",
                    spec: "analytics.quicksight.principals.2",
                },
                Must {
                    grant: GrantKind::QuicksightDataSource,
                    who: Some(Who::SameAccount),
                    principal: "group/default/auditors",
                    spec: "analytics.quicksight.principals.2",
                },
            ],
        },
        Mutation {
            name: "quicksight_group_given_another_dataset",
            edits: &[(
                QS_FERRY,
                "      - principal: group/default/ferry-operations\n        datasets: [ferry_boardings, pos_sales]\n",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::QuicksightDataSet,
                who: Some(Who::SameAccount),
                principal: "ferry-operations",
                spec: "analytics.quicksight.principals.1",
            }],
        },
        Mutation {
            // (A group no dashboard is for: removing one a dashboard names is an error.)
            name: "quicksight_group_removed",
            edits: &[(QS_ANALYSTS, "")],
            expect: Expect::Narrowing,
            must: &[Must {
                grant: GrantKind::QuicksightDataSet,
                who: Some(Who::SameAccount),
                principal: "payments-analysts",
                spec: "analytics.quicksight.principals.0",
            }],
        },
        Mutation {
            name: "quicksight_user_added_to_the_index",
            edits: &[(
                QS_FERRY,
                "      - principal: group/default/ferry-operations\n        datasets: [ferry_boardings]\n      - principal: user/default/alice\n        datasets: [index]\n",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::QuicksightDataSet,
                who: Some(Who::SameAccount),
                principal: "user/default/alice",
                spec: "analytics.quicksight.principals.2",
            }],
        },
        Mutation {
            name: "route_auth_weakened_to_api_key",
            edits: &[(
                DEV_SOURCES,
                "    sources:\n      pos:\n        auth: api_key\n        throttle: { rate_limit: 20, burst_limit: 40 }\n",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::ApiMethod,
                who: Some(Who::Public),
                principal: "*",
                spec: "sources.pos.route",
            }],
        },
        Mutation {
            name: "route_auth_weakened_to_iam_only",
            edits: &[(
                DEV_SOURCES,
                "    sources:\n      pos:\n        auth: iam\n        throttle: { rate_limit: 20, burst_limit: 40 }\n",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::ApiMethod,
                who: Some(Who::SameAccount),
                principal: ":root",
                spec: "sources.pos.route",
            }],
        },
        Mutation {
            name: "route_auth_none",
            edits: &[(
                DEV_SOURCES,
                "    sources:\n      pos:\n        throttle: { rate_limit: 20, burst_limit: 40 }\n      ferry:\n        auth: none\n",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::ApiMethod,
                who: Some(Who::Public),
                principal: "*",
                spec: "sources.ferry.route",
            }],
        },
        Mutation {
            name: "key_admin_in_another_account",
            edits: &[(
                "  kms:\n    rotation_days: 365\n",
                "  kms:\n    admins: [\"arn:{partition}:iam::{account}:root\", \"arn:aws:iam::777777777777:role/kms-admin\"]\n    rotation_days: 365\n",
            )],
            expect: Expect::Broadening,
            must: &[Must {
                grant: GrantKind::KeyPolicy,
                who: Some(Who::OtherAccount),
                principal: "777777777777",
                spec: "security.kms",
            }],
        },
        Mutation {
            name: "key_admin_narrowed_to_a_role",
            edits: &[(
                "  kms:\n    rotation_days: 365\n",
                "  kms:\n    admins: [\"arn:{partition}:iam::{account}:role/key-admins\"]\n    rotation_days: 365\n",
            )],
            expect: Expect::Narrowing,
            must: &[Must {
                grant: GrantKind::KeyPolicy,
                who: Some(Who::SameAccount),
                principal: ":root",
                spec: "security.kms",
            }],
        },
        Mutation {
            name: "boundary_removed",
            edits: &[(
                "  permissions_boundary: arn:{partition}:iam::{account}:policy/payments-workload-boundary\n",
                "",
            )],
            expect: Expect::Broadening,
            must: &[],
        },
        Mutation {
            name: "ml_given_another_dataset",
            edits: &[(
                "  datasets: [pos_sales]\n  index_lookups",
                "  datasets: [pos_sales, ferry_boardings]\n  index_lookups",
            )],
            expect: Expect::Broadening,
            must: &[],
        },
        Mutation {
            name: "ml_source_removed",
            edits: &[(
                "  sources: [pos, ferry]\n  datasets",
                "  sources: [pos]\n  datasets",
            )],
            expect: Expect::Narrowing,
            must: &[],
        },
        // Neutral edits: nobody gains or loses access.
        Mutation {
            name: "source_description",
            edits: &[(
                "Sale transactions from point-of-sale terminals",
                "Sales from point-of-sale terminals",
            )],
            expect: Expect::Neutral,
            must: &[],
        },
        Mutation {
            name: "pipeline_description",
            edits: &[(
                "description: POS sales and ferry boardings",
                "description: Card sales and ferry boardings",
            )],
            expect: Expect::Neutral,
            must: &[],
        },
        Mutation {
            name: "throttle",
            edits: &[
                (
                    "throttle: { rate_limit: 20, burst_limit: 40 }",
                    "throttle: { rate_limit: 30, burst_limit: 60 }",
                ),
                (
                    "throttle: { rate_limit: 500, burst_limit: 1000 }",
                    "throttle: { rate_limit: 800, burst_limit: 1600 }",
                ),
            ],
            expect: Expect::Neutral,
            must: &[],
        },
        Mutation {
            name: "quota",
            edits: &[(
                "quota: { limit: 20000000, period: day }",
                "quota: { limit: 30000000, period: day }",
            )],
            expect: Expect::Neutral,
            must: &[],
        },
        Mutation {
            name: "schedules",
            edits: &[
                (
                    "schedule: cron(15 * * * ? *)",
                    "schedule: cron(45 * * * ? *)",
                ),
                (
                    "index_export_schedule: rate(1 day)",
                    "index_export_schedule: rate(12 hours)",
                ),
            ],
            expect: Expect::Neutral,
            must: &[],
        },
        Mutation {
            name: "retention",
            edits: &[
                ("    retention_days: 2557 ", "    retention_days: 3000 "),
                (
                    "    log_retention_days: 30\n",
                    "    log_retention_days: 60\n",
                ),
                ("results_retention_days: 30", "results_retention_days: 14"),
            ],
            expect: Expect::Neutral,
            must: &[],
        },
        Mutation {
            name: "workers_and_timeouts",
            edits: &[
                (
                    "workers: { type: G.1X, count: 4 }\n    timeout_minutes: 60",
                    "workers: { type: G.2X, count: 6 }\n    timeout_minutes: 90",
                ),
                ("memory_mb: 512", "memory_mb: 1024"),
            ],
            expect: Expect::Neutral,
            must: &[],
        },
        Mutation {
            name: "key_rotation",
            edits: &[("rotation_days: 365", "rotation_days: 180")],
            expect: Expect::Neutral,
            must: &[],
        },
    ]
}

/// The reference spec (and its schemas) in a temporary folder, edited.
fn spec_copy(edits: &[(&str, &str)], name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(Path::new(ROOT).join("pipeline.yaml")).unwrap();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "{name}: the reference spec has no `{from}`"
        );
        text = text.replacen(from, to, 1);
    }
    std::fs::write(dir.path().join("pipeline.yaml"), text).unwrap();
    std::fs::create_dir(dir.path().join("schemas")).unwrap();
    for f in std::fs::read_dir(Path::new(ROOT).join("schemas")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join("schemas").join(f.file_name().unwrap())).unwrap();
    }
    dir
}

fn sides(dir: &Path, label: &str, name: &str) -> Vec<(String, Roles)> {
    let checked = spec::check(&dir.join("pipeline.yaml"), &RealFiles).unwrap();
    let v = checked.validated().unwrap_or_else(|| {
        panic!(
            "{name}: the edited spec is invalid: {:?}",
            checked.diagnostics
        )
    });
    v.spec
        .environments
        .keys()
        .map(|env| {
            let plan = pipewright::plan::lower(&v, env).unwrap();
            (env.clone(), Roles::from_plan(&plan, "pipeline.yaml", label))
        })
        .collect()
}

fn class_of(reports: &[Report]) -> Expect {
    let b: usize = reports.iter().map(|r| r.count(Class::Broadening)).sum();
    let n: usize = reports.iter().map(|r| r.count(Class::Narrowing)).sum();
    match (b, n) {
        (0, 0) => Expect::Neutral,
        (0, _) => Expect::Narrowing,
        _ => Expect::Broadening,
    }
}

fn run(base: &[(String, Roles)], new: &[(String, Roles)]) -> Vec<Report> {
    base.iter()
        .zip(new)
        .map(|((env, b), (_, n))| compare(env, b, n))
        .collect()
}

#[test]
fn every_mutation_has_its_class_both_ways() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 20,
        "the corpus has {} mutations",
        corpus.len()
    );
    let base_dir = spec_copy(&[], "reference");
    let base = sides(base_dir.path(), "HEAD:pipeline.yaml", "reference");
    let mut failures = Vec::new();
    for m in &corpus {
        let dir = spec_copy(m.edits, m.name);
        let new = sides(dir.path(), "pipeline.yaml", m.name);
        let forward = run(&base, &new);
        let got = class_of(&forward);
        if got != m.expect {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}\n{}",
                m.name,
                m.expect,
                render_markdown(&forward)
            ));
        }
        let back = run(&new, &base);
        let got_back = class_of(&back);
        if got_back != m.expect.reversed() {
            failures.push(format!(
                "{} (reversed): expected {:?}, got {got_back:?}\n{}",
                m.name,
                m.expect.reversed(),
                render_markdown(&back)
            ));
        }
        for must in m.must {
            let found = forward.iter().flat_map(|r| &r.access).any(|c| {
                c.grant == must.grant
                    && must.who.is_none_or(|w| c.who == w)
                    && c.principal.contains(must.principal)
                    && c.spec == must.spec
            });
            if !found {
                failures.push(format!(
                    "{}: no {} change for a {:?} principal like `{}` traced to `{}`\n{}",
                    m.name,
                    must.grant.as_str(),
                    must.who,
                    must.principal,
                    must.spec,
                    render_markdown(&forward)
                ));
            }
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots/iam_diff/corpus");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(m.name, render_markdown(&forward)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=pipewright-test",
            "-c",
            "user.email=test@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

fn iam_diff(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(["iam", "diff"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The normal loop — edit the spec, synth, iam diff — compares with the spec committed at
/// HEAD, not with the `policies/` synth has just rewritten.
#[test]
fn the_default_base_is_the_spec_at_git_head() {
    let dir = spec_copy(&[], "reference");
    let d = dir.path();
    git(d, &["init", "-q"]);
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "reference"]);
    let (code, out) = iam_diff(d, &["--fail-on", "any"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("no change"), "{out}");
    let text = std::fs::read_to_string(d.join("pipeline.yaml")).unwrap();
    let edited = text.replacen(
        READER,
        &format!("{READER}\n    - principal: arn:aws:iam::444444444444:role/partner-bi\n      datasets: [pos_sales, ferry_boardings]"),
        1,
    );
    std::fs::write(d.join("pipeline.yaml"), edited).unwrap();
    let synth = std::process::Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(["synth"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(synth.status.success());
    let (code, out) = iam_diff(d, &["--fail-on", "broadening", "--format", "markdown"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("arn:aws:iam::444444444444:role/partner-bi` **[OTHER ACCOUNT]**"),
        "{out}"
    );
    assert!(out.contains("key policy"), "{out}");
    // Against the folder synth just wrote, there is nothing to see: which is why it is not
    // the default.
    let (code, _) = iam_diff(d, &["--base-dir", "policies", "--fail-on", "any"]);
    assert_eq!(code, Some(0));
    // A base folder without access.json cannot be compared in full: the gate fails closed.
    for env in ["dev", "prod"] {
        std::fs::remove_file(d.join("policies").join(env).join("access.json")).unwrap();
    }
    let (code, out) = iam_diff(d, &["--base-dir", "policies", "--fail-on", "broadening"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not compared"), "{out}");
}
