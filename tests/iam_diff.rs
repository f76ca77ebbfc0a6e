//! `iam diff` on pairs of real specs (golden Markdown reports in `snapshots/iam_diff/`),
//! and the command's exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pipewright::review::diff::{Class, Kind};
use pipewright::review::{Roles, compare, render_human, render_markdown};
use pipewright::spec::{self, RealFiles};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A copy of the reference spec (and its schemas) in a temporary folder, edited.
fn spec_copy(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(Path::new(ROOT).join("pipeline.yaml")).unwrap();
    let edited = edit(text.clone());
    std::fs::write(dir.path().join("pipeline.yaml"), edited).unwrap();
    std::fs::create_dir(dir.path().join("schemas")).unwrap();
    for f in std::fs::read_dir(Path::new(ROOT).join("schemas")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.path().join("schemas").join(f.file_name().unwrap())).unwrap();
    }
    dir
}

fn plan_of(spec_path: &Path, env: &str) -> pipewright::plan::Plan {
    let checked = spec::check(spec_path, &RealFiles).unwrap();
    let v = checked.validated().unwrap_or_else(|| {
        panic!(
            "{} is invalid: {:?}",
            spec_path.display(),
            checked.diagnostics
        )
    });
    pipewright::plan::lower(&v, env).unwrap()
}

fn roles_of(dir: &Path, env: &str, label: &str) -> Roles {
    Roles::from_plan(
        &plan_of(&dir.join("pipeline.yaml"), env),
        "pipeline.yaml",
        label,
    )
}

/// The role files synth writes for `env`, into a fresh folder; `edit` may change each.
fn role_files(
    dir: &Path,
    env: &str,
    edit: impl Fn(&str, serde_json::Value) -> serde_json::Value,
) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let plan = plan_of(&dir.join("pipeline.yaml"), env);
    let files = pipewright::emit::synth(&plan).unwrap().files;
    for (p, bytes) in files {
        if p.starts_with(format!("policies/{env}")) && p.extension().is_some_and(|e| e == "json") {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            let v = edit(&name, v);
            std::fs::write(
                out.path().join(&name),
                serde_json::to_string_pretty(&v).unwrap(),
            )
            .unwrap();
        }
    }
    out
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/iam_diff");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

const TRAM: &str = "  tram:
    description: Tram stop validators
    route: /v1/tram/validations
    auth: iam_and_api_key
    throttle: { rate_limit: 100, burst_limit: 200 }
    limits: { max_body_bytes: 524288, max_events: 2000 }
    fields:
      id: event_id
      time: occurred_at
      device: gate_id
    schema:
      version: 1.0.0
      file: schemas/ferry-boarding.v1.json

storage:";

#[test]
fn adding_a_source_broadens_ingest_and_names_the_new_spec_lines() {
    let base = spec_copy(|t| t);
    let new = spec_copy(|t| t.replacen("\nstorage:", &format!("\n{TRAM}"), 1));
    let r = compare(
        "dev",
        &roles_of(base.path(), "dev", "base"),
        &roles_of(new.path(), "dev", "new"),
    );
    assert!(r.count(Class::Broadening) > 0);
    assert_eq!(r.count(Class::Narrowing), 0);
    for c in &r.changes {
        assert_eq!(c.change.kind, Kind::ResourceAdded, "{c:?}");
        assert!(c.change.detail.contains("/tram/"), "{c:?}");
        assert!(
            c.causes
                .iter()
                .all(|x| x.path == "sources.tram" && x.flow.ends_with(":tram")),
            "{c:?}"
        );
    }
    snapshot("add_source", &render_markdown(&[r]));
}

#[test]
fn removing_the_boundary_broadens_every_role() {
    let base = spec_copy(|t| t);
    let new = spec_copy(|t| {
        t.lines()
            .filter(|l| !l.trim_start().starts_with("permissions_boundary:"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let r = compare(
        "dev",
        &roles_of(base.path(), "dev", "base"),
        &roles_of(new.path(), "dev", "new"),
    );
    let roles = roles_of(base.path(), "dev", "base").roles.len();
    assert_eq!(r.changes.len(), roles);
    assert!(
        r.changes
            .iter()
            .all(|c| c.change.kind == Kind::BoundaryRemoved && c.change.class == Class::Broadening)
    );
    snapshot("remove_boundary", &render_markdown(&[r]));
}

#[test]
fn widening_a_prefix_in_a_role_file_is_reported_against_the_spec() {
    // The spec language derives every prefix, so a wider one can only come from an edited
    // role file: the committed policies are the base, a hand-edited copy the new side.
    let spec = spec_copy(|t| t);
    let edited = role_files(spec.path(), "dev", |name, v| {
        if name.ends_with("-ingest.json") {
            let s = v.to_string().replace("/raw/pos/*", "/raw/*");
            serde_json::from_str(&s).unwrap()
        } else {
            v
        }
    });
    let base = roles_of(spec.path(), "dev", "pipeline.yaml");
    let mut new = Roles::from_dir(edited.path()).unwrap();
    new.label = "edited policies/dev".into();
    let r = compare("dev", &base, &new);
    assert_eq!(r.changes.len(), 1, "{r:?}");
    let c = &r.changes[0].change;
    assert_eq!(
        (c.class, c.kind),
        (Class::Broadening, Kind::ResourceWidened)
    );
    assert!(
        c.detail.contains("/raw/pos/*")
            && c.detail
                .ends_with(" → arn:aws:s3:::transit-payments-dev-raw-111111111111/raw/*"),
        "{}",
        c.detail
    );
    snapshot("widen_prefix", &render_markdown(&[r]));

    // And the other way round, it narrows.
    let r = compare("dev", &new, &base);
    assert_eq!(r.changes.len(), 1);
    assert_eq!(r.changes[0].change.kind, Kind::ResourceNarrowed);
}

#[test]
fn reordered_and_split_statements_are_no_change() {
    let spec = spec_copy(|t| t);
    // Each role's statements reversed and spread over two policies, actions upper-cased.
    let shuffled = role_files(spec.path(), "dev", |_, mut v| {
        let mut all: Vec<serde_json::Value> = Vec::new();
        for (_, doc) in v["Policies"].as_object().unwrap() {
            all.extend(doc["Statement"].as_array().unwrap().iter().cloned());
        }
        all.reverse();
        for st in &mut all {
            let acts: Vec<String> = st["Action"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .map(|a| a.as_str().unwrap().to_ascii_uppercase())
                .collect();
            st["Action"] = serde_json::json!(acts);
        }
        let half = all.len() / 2;
        v["Policies"] = serde_json::json!({
            "b": {"Version": "2012-10-17", "Statement": all[half..]},
            "a": {"Version": "2012-10-17", "Statement": all[..half]},
        });
        v
    });
    let mut base = Roles::from_dir(shuffled.path()).unwrap();
    // Role files only (no access.json): the report says the rest was not compared.
    base.label = "reordered policies/dev".into();
    let new = roles_of(spec.path(), "dev", "pipeline.yaml");
    let r = compare("dev", &base, &new);
    assert!(r.changes.is_empty(), "{r:?}");
    assert!(r.not_compared.is_some());
    snapshot("reorder_statements", &render_human(&[r]));

    // Reordering the spec's transforms and sources changes nothing either.
    let reordered = spec_copy(|t| {
        let (head, rest) = t.split_once("\ntransforms:\n").unwrap();
        let (transforms, tail) = rest.split_once("\ncatalog:").unwrap();
        let (pos, ferry) = transforms.split_once("  ferry_boardings:").unwrap();
        format!("{head}\ntransforms:\n  ferry_boardings:{ferry}\n{pos}\ncatalog:{tail}")
    });
    let r = compare(
        "prod",
        &roles_of(spec.path(), "prod", "a"),
        &roles_of(reordered.path(), "prod", "b"),
    );
    assert!(r.changes.is_empty(), "{r:?}");
}

fn pipewright(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_command_compares_with_a_git_ref_and_fails_on_request() {
    let dir = spec_copy(|t| t);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    let o = pipewright(
        dir.path(),
        &["iam", "diff", "--base", "HEAD", "--fail-on", "any"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("no change"));

    let text = std::fs::read_to_string(dir.path().join("pipeline.yaml")).unwrap();
    std::fs::write(
        dir.path().join("pipeline.yaml"),
        text.replacen("\nstorage:", &format!("\n{TRAM}"), 1),
    )
    .unwrap();
    let o = pipewright(
        dir.path(),
        &[
            "iam",
            "diff",
            "--base",
            "HEAD",
            "--env",
            "prod",
            "--fail-on",
            "broadening",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = v[0]["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|c| c["class"] == "broadening"));
    assert!(
        changes[0]["causes"][0]["at"]
            .as_str()
            .unwrap()
            .starts_with("pipeline.yaml:")
    );

    // Narrowing only: --fail-on broadening passes, --fail-on any fails.
    git(dir.path(), &["commit", "-qam", "tram"]);
    std::fs::write(dir.path().join("pipeline.yaml"), &text).unwrap();
    let o = pipewright(
        dir.path(),
        &["iam", "diff", "--base", "HEAD", "--fail-on", "broadening"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("narrowing"));
    let o = pipewright(
        dir.path(),
        &["iam", "diff", "--base", "HEAD", "--fail-on", "any"],
    );
    assert_eq!(o.status.code(), Some(1));
    let o = pipewright(
        dir.path(),
        &["iam", "diff", "--base", "HEAD", "--format", "markdown"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains(
        "| class | grant | change | principal | actions | resources | conditions | spec |"
    ));
}

#[test]
fn a_missing_or_malformed_base_exits_2_with_the_reason() {
    let dir = spec_copy(|t| t);
    let o = pipewright(dir.path(), &["iam", "diff", "--base-dir", "nowhere"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nowhere does not exist"));

    // Not a git repository / no such revision.
    let o = pipewright(dir.path(), &["iam", "diff", "--base", "main"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`main` is not a commit"));

    // A role file that is not JSON, and one without Policies.
    let base = dir.path().join("base");
    std::fs::create_dir_all(base.join("dev")).unwrap();
    std::fs::write(base.join("dev/x.json"), "{ not json").unwrap();
    let o = pipewright(
        dir.path(),
        &["iam", "diff", "--base-dir", "base", "--env", "dev"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("x.json: not valid JSON"), "{err}");
    std::fs::write(
        base.join("dev/x.json"),
        r#"{"Role": "x", "TrustPolicy": {"Statement": []}}"#,
    )
    .unwrap();
    let o = pipewright(
        dir.path(),
        &["iam", "diff", "--base-dir", "base", "--env", "dev"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing \"Policies\""));
    // The base has an environment the spec no longer has: its roles are removed.
    let stale = dir.path().join("stale");
    std::fs::create_dir_all(stale.join("qa")).unwrap();
    std::fs::create_dir_all(stale.join("dev")).unwrap();
    std::fs::create_dir_all(stale.join("prod")).unwrap();
    for env in ["dev", "prod"] {
        for f in std::fs::read_dir(Path::new(ROOT).join("policies").join(env)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, stale.join(env).join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::copy(
        Path::new(ROOT).join("policies/dev/transit-payments-dev-ingest.json"),
        stale.join("qa/ingest.json"),
    )
    .unwrap();
    let o = pipewright(
        dir.path(),
        &["iam", "diff", "--base-dir", "stale", "--fail-on", "any"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("iam diff qa:") && out.contains("role removed"),
        "{out}"
    );

    // The base lacks the environment.
    let o = pipewright(
        dir.path(),
        &["iam", "diff", "--base-dir", "base", "--env", "prod"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no environment `prod`"));
}

#[test]
fn committed_policies_are_no_change() {
    let o = pipewright(
        Path::new(ROOT),
        &["iam", "diff", "--base-dir", "policies", "--fail-on", "any"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn explain_names_flows_lines_and_resources() {
    let root = PathBuf::from(ROOT);
    let o = pipewright(
        &root,
        &[
            "iam",
            "explain",
            "--role",
            "ingest",
            "--action",
            "s3:PutObject",
            "--env",
            "dev",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("flow ingest:put-raw:pos"), "{out}");
    assert!(out.contains("declared at pipeline.yaml:"), "{out}");
    assert!(
        out.contains("on arn:aws:s3:::transit-payments-dev-raw-111111111111/raw/pos/*"),
        "{out}"
    );
    assert!(
        !out.contains("dynamodb"),
        "only statements granting the action: {out}"
    );

    let o = pipewright(
        &root,
        &[
            "iam",
            "explain",
            "pipeline.yaml",
            "--role",
            "transit-payments-prod-ingest",
            "--env",
            "prod",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["assumed_by"], "lambda.amazonaws.com");
    let perms = v["permissions"].as_array().unwrap();
    assert!(perms.iter().any(|p| p["flow"] == "ingest:write-index"));

    // Not granted: exit 1; unknown role or no --env with two environments: exit 2.
    let o = pipewright(
        &root,
        &[
            "iam",
            "explain",
            "--role",
            "ingest",
            "--action",
            "s3:DeleteObject",
            "--env",
            "dev",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not granted `s3:DeleteObject`"));
    let o = pipewright(
        &root,
        &["iam", "explain", "--role", "nobody", "--env", "dev"],
    );
    assert_eq!(o.status.code(), Some(2));
    let o = pipewright(&root, &["iam", "explain", "--role", "ingest"]);
    assert_eq!(o.status.code(), Some(2));
    // The spec is positional as for every command; the old `--spec` still works, with a
    // deprecation warning, and a spec that does not exist is an I/O error.
    let o = pipewright(
        &root,
        &[
            "iam",
            "explain",
            "--spec",
            "pipeline.yaml",
            "--role",
            "ingest",
            "--env",
            "dev",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("deprecated"));
    let o = pipewright(
        &root,
        &["iam", "explain", "no-such.yaml", "--role", "ingest"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such.yaml"));
}
