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
fn every_flow_is_an_edge_and_graphs_are_deterministic() {
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
