//! graph, cost and docs on real specs: snapshots (`snapshots/explain/`) for the
//! reference spec and `tests/specs/ok/fleet.yaml`, every environment; properties
//! every diagram must have; Graphviz renders the DOT without a word on stderr.

use std::path::Path;
use std::process::Command;

use pipewright::plan::{self, Plan};
use pipewright::spec::{self, RealFiles};

const SPECS: &[&str] = &["pipeline.yaml", "tests/specs/ok/fleet.yaml"];

fn plans() -> Vec<(String, Plan)> {
    let mut out = Vec::new();
    for s in SPECS {
        let c = spec::check(&Path::new(env!("CARGO_MANIFEST_DIR")).join(s), &RealFiles).unwrap();
        let v = c.validated().expect("valid");
        for env in v.spec.environments.keys() {
            let stem = s.replace("tests/specs/ok/", "").replace(".yaml", "");
            out.push((
                format!("{stem}__{env}"),
                plan::lower(&v, env).expect("lowers"),
            ));
        }
    }
    out
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots/explain");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn graph_snapshots() {
    settings().bind(|| {
        for (name, plan) in plans() {
            let g = pipewright::graph::build(&plan);
            insta::assert_snapshot!(format!("{name}__graph.dot"), g.dot());
            insta::assert_snapshot!(format!("{name}__graph.mmd"), g.mermaid());
        }
    });
}

#[test]
fn routes_and_jobs_are_drawn_and_graphs_are_deterministic() {
    for (name, plan) in plans() {
        let g = pipewright::graph::build(&plan);
        assert_eq!(g.dot(), pipewright::graph::build(&plan).dot());
        // Every route is drawn, every role's component appears, every edge joins
        // drawn nodes.
        for r in &plan.routes {
            assert!(
                g.edges.iter().any(|e| e.label.contains(&r.route)),
                "{name}: route {} missing",
                r.route
            );
        }
        for e in &g.edges {
            assert!(g.nodes.contains_key(&e.from), "{name}: {e:?}");
            assert!(g.nodes.contains_key(&e.to), "{name}: {e:?}");
        }
        for t in &plan.transforms {
            assert!(g.nodes.contains_key(&format!("job:{}", t.name)), "{name}");
        }
        assert!(
            g.edges.len() >= plan.flows.len() / 3,
            "{name}: too few edges"
        );
    }
}

/// Graphviz must accept the DOT as is: exit 0 and nothing on stderr (a warning
/// would mean a label or attribute it had to guess at).
#[test]
fn graphviz_renders_dot_without_warnings() {
    if Command::new("dot").arg("-V").output().is_err() {
        if std::env::var_os("PIPEWRIGHT_REQUIRE_DOT").is_some() {
            panic!("Graphviz `dot` is not installed (.ci/run installs it)");
        }
        eprintln!("skipped: Graphviz `dot` is not installed");
        return;
    }
    for (name, plan) in plans() {
        let dot = pipewright::graph::build(&plan).dot();
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dot.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{name}: dot failed");
        assert!(
            out.stderr.is_empty(),
            "{name}: dot warned: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
    }
}

#[test]
fn cost_snapshots() {
    use pipewright::cost::{self, prices::PriceBook};
    let book = PriceBook::builtin();
    settings().bind(|| {
        for (name, plan) in plans() {
            let home = book.region(&plan.region).expect("region priced");
            let replica = plan
                .replica_region
                .as_deref()
                .map(|r| book.region(r).expect("replica region priced"));
            let e = cost::estimate(
                &plan,
                &book,
                &cost::Regions { home, replica },
                &cost::Inputs::default(),
                &cost::Assumptions::default(),
            );
            insta::assert_json_snapshot!(format!("{name}__cost"), e);
        }
    });
}

fn pipewright(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn cost_cli_prices_and_errors() {
    let o = pipewright(&[
        "cost", "--env", "prod", "--format", "json", "--batch", "500",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["inputs"]["batch"], 500);
    assert_eq!(v["region"], "eu-west-2");
    assert!(String::from_utf8_lossy(&o.stderr).contains("unverified"));

    // A price book without the environment's region: exit 2, saying which.
    let dir = tempfile::tempdir().unwrap();
    let mut book: serde_json::Value =
        serde_json::from_str(pipewright::cost::prices::BUILTIN).unwrap();
    book["regions"].as_object_mut().unwrap().remove("eu-west-2");
    let f = dir.path().join("p.json");
    std::fs::write(&f, book.to_string()).unwrap();
    // A price book without the environment's region: a note saying which, and the
    // quantities without a single amount of money (exit 0).
    let o = pipewright(&["cost", "--env", "prod", "--prices", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no price data for eu-west-2") && err.contains("--prices"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("quantities only") && !text.contains("USD"),
        "{text}"
    );
    let o = pipewright(&[
        "cost",
        "--env",
        "prod",
        "--format",
        "json",
        "--batch",
        "500",
        "--prices",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let q: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(q["priced"], false);
    assert_eq!(q["no_price_data"], serde_json::json!(["eu-west-2"]));
    assert!(q.get("monthly_total").is_none() && q.get("levers").is_none());
    // The quantities are the priced estimate's: prices do not change what is used.
    let lines = |x: &serde_json::Value| -> Vec<(String, String, f64)> {
        x["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                assert!(l.get("monthly").is_none() || x.get("priced").is_none());
                let s = |k: &str| l[k].as_str().unwrap().to_owned();
                (s("component"), s("item"), l["quantity"].as_f64().unwrap())
            })
            .collect()
    };
    assert_eq!(lines(&q), lines(&v));

    // The same book with the region back, status `read`: no warning.
    let mut book: serde_json::Value =
        serde_json::from_str(pipewright::cost::prices::BUILTIN).unwrap();
    for r in ["eu-west-2", "eu-west-1"] {
        book["regions"][r]["status"] = "read".into();
    }
    std::fs::write(&f, book.to_string()).unwrap();
    let o = pipewright(&["cost", "--env", "prod", "--prices", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = pipewright(&["cost", "--env", "prod", "--batch", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = pipewright(&["cost", "--env", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    let o = pipewright(&["cost"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "two environments: --env is needed"
    );
}

#[test]
fn docs_snapshots() {
    settings().bind(|| {
        for (name, plan) in plans() {
            // The SVG depends on the Graphviz installed; the snapshot holds the rest.
            let files = pipewright::docs::render(&plan, None, None).expect("renders");
            let readme = files
                .iter()
                .find(|(p, _)| p.ends_with("README.md"))
                .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
                .unwrap();
            insta::assert_snapshot!(format!("{name}__docs.md"), readme);
        }
    });
}

#[test]
fn docs_cover_every_flow_role_and_component_and_cite_lines() {
    for (name, plan) in plans() {
        let files = pipewright::docs::render(&plan, None, None).unwrap();
        let md = String::from_utf8(
            files
                .iter()
                .find(|(p, _)| p.ends_with("README.md"))
                .unwrap()
                .1
                .clone(),
        )
        .unwrap();
        for f in &plan.flows {
            assert!(
                md.contains(&format!("| {} |", f.id)),
                "{name}: flow {}",
                f.id
            );
            if let Some(l) = f.origin.line {
                assert!(md.contains(&format!("(line {l})")), "{name}: line {l}");
            }
        }
        for r in plan.roles.values() {
            assert!(
                md.contains(&format!("### {}", r.name)),
                "{name}: role {}",
                r.name
            );
        }
        for t in &plan.transforms {
            assert!(md.contains(&t.job_name), "{name}: job {}", t.job_name);
        }
        for section in [
            "## Diagram",
            "```mermaid",
            "## IAM summary",
            "## Cost",
            "### Replay rejected events",
            "### Rotate keys",
            "### Roll back",
            "### Deploy",
        ] {
            assert!(md.contains(section), "{name}: {section}");
        }
        // Markdown tables stay tables: every row of the flows table has its 6 pipes.
        for line in md
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains(":put-raw:"))
        {
            assert_eq!(line.matches(" | ").count() + 2, 6, "{name}: {line}");
        }
    }
}

#[test]
fn committed_reference_docs_are_current() {
    let o = pipewright(&["docs", "--check"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "docs/ is stale: run `cargo run -- docs` and commit\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn docs_check_finds_stale_and_extra_files_and_writes_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = pipewright(&["docs", "--env", "dev", "--check", "--out", out]);
    assert_eq!(o.status.code(), Some(1), "nothing written yet");
    let o = pipewright(&["docs", "--env", "dev", "--out", out]);
    assert_eq!(o.status.code(), Some(0));
    let o = pipewright(&["docs", "--env", "dev", "--check", "--out", out]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let readme = dir.path().join("docs/dev/README.md");
    std::fs::write(&readme, "edited").unwrap();
    std::fs::write(dir.path().join("docs/dev/extra.md"), "x").unwrap();
    let o = pipewright(&["docs", "--env", "dev", "--check", "--out", out]);
    assert_eq!(o.status.code(), Some(1));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("differs") && s.contains("not generated"), "{s}");
    let o = pipewright(&["docs", "--env", "dev", "--out", out]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!dir.path().join("docs/dev/extra.md").exists());
    assert!(
        std::fs::read_to_string(&readme)
            .unwrap()
            .contains("## Runbook")
    );
}

#[test]
fn readme_shows_the_current_reference_diagram() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let o = pipewright(&["graph", "--env", "prod"]);
    assert_eq!(o.status.code(), Some(0));
    let block = format!("```mermaid\n{}```", String::from_utf8(o.stdout).unwrap());
    assert!(
        readme.contains(&block),
        "README.md's diagram is stale: run scripts/readme-diagram"
    );
}

#[test]
fn formats_belong_to_their_commands() {
    assert_eq!(
        pipewright(&["check", "--format", "dot"]).status.code(),
        Some(2)
    );
    assert_eq!(
        pipewright(&["cost", "--env", "dev", "--format", "mermaid"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        pipewright(&["graph", "--env", "dev", "--format", "json"])
            .status
            .code(),
        Some(2)
    );
    let o = pipewright(&["graph", "--env", "dev", "--format", "dot"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("digraph pipeline {"));
    let o = pipewright(&["graph"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "two environments: --env is needed"
    );
    // Every cost line cites the page its price was read from.
    let o = pipewright(&["cost", "--env", "prod", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for l in v["lines"].as_array().unwrap() {
        assert!(
            l["source"]
                .as_str()
                .unwrap()
                .starts_with("https://aws.amazon.com/"),
            "{l}"
        );
    }
}

#[test]
fn docs_show_judge_results_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("judges.txt");
    std::fs::write(
        &summary,
        "ENV    JUDGE                        STATUS          TIME  LAST LINE\n\
         prod   checkov                      pass             21s  Passed checks: 412, Failed checks: 0\n\
         dev    checkov                      FAIL             20s  Failed checks: 1\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = pipewright(&[
        "docs",
        "--env",
        "prod",
        "--out",
        out.to_str().unwrap(),
        "--judges",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = std::fs::read_to_string(out.join("docs/prod/README.md")).unwrap();
    assert!(
        md.contains("| checkov | pass | Passed checks: 412, Failed checks: 0 |"),
        "{md}"
    );
    assert!(
        !md.contains("Failed checks: 1"),
        "dev's row stays out of prod's document"
    );
    let o = pipewright(&[
        "docs",
        "--env",
        "prod",
        "--out",
        out.to_str().unwrap(),
        "--judges",
        "/nonexistent",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
