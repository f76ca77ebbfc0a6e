//! Every JSON output the offline commands print (check, synth, cost, iam diff, iam
//! explain) against its committed, versioned JSON Schema under `docs/schemas/`, on the
//! reference spec, every spec under `tests/specs/ok/` and every refused spec under
//! `tests/specs/err/`. The schemas are written by hand from the outputs' documentation;
//! `deploy`, `diff`, `destroy` and `outputs` are checked in `tests/deploy_moto.rs`,
//! `bundle` in `tests/bundle.rs`, `iam verify` in `tests/iam_verify.rs`.

mod json_schema_common;
mod specs_common;

use std::path::Path;
use std::process::Command;

use json_schema_common::{assert_matches, validator};
use serde_json::{Value, json};
use specs_common::{ok_specs, specs_in};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs pipewright in `cwd`; (exit code, stdout parsed as one JSON document).
fn run(args: &[&str], cwd: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "pipewright {args:?}: stdout is not one JSON document ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

#[test]
fn every_schema_is_valid_draft_2020_12_with_a_versioned_id() {
    let dir = Path::new(ROOT).join("docs/schemas");
    let mut n = 0;
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        let id = schema["$id"].as_str().unwrap_or_default();
        assert!(
            id.ends_with(&format!("/{name}")) && name.ends_with(".v1.json"),
            "{name}: $id {id} must name the file, with its version"
        );
        validator(name.trim_end_matches(".v1.json"));
        n += 1;
    }
    assert_eq!(n, 9, "a schema per JSON output");
}

#[test]
fn check_outputs_match_the_schema_valid_and_refused() {
    let mut refused = 0;
    for spec in ok_specs().into_iter().chain(specs_in("tests/specs/err")) {
        let (code, doc) = run(
            &["check", spec.to_str().unwrap(), "--format", "json"],
            Path::new(ROOT),
        );
        assert_matches("check", &doc);
        assert_eq!(
            doc["valid"] == json!(true),
            code == 0,
            "{}: {doc}",
            spec.display()
        );
        if code != 0 {
            refused += 1;
            assert!(doc["errors"].as_u64().unwrap() > 0, "{doc}");
        }
    }
    assert!(refused >= 50, "the refused specs were checked ({refused})");
}

#[test]
fn the_check_schema_is_strict() {
    let (_, doc) = run(&["check", "--format", "json"], Path::new(ROOT));
    assert_matches("check", &doc);
    let v = validator("check");
    let mut extra = doc.clone();
    extra["undocumented"] = json!(1);
    assert!(!v.is_valid(&extra), "an undocumented field is refused");
    let mut retyped = doc.clone();
    retyped["valid"] = json!("yes");
    assert!(!v.is_valid(&retyped), "a retyped field is refused");
    let mut bad_code = doc;
    bad_code["diagnostics"][0]["code"] = json!("E0001");
    assert!(
        !v.is_valid(&bad_code),
        "a code that is not PWnnnn is refused"
    );
}

#[test]
fn synth_and_cost_outputs_match_their_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let mut unpriced = 0;
    for spec in ok_specs() {
        let s = spec.to_str().unwrap();
        let out = tmp.path().join(spec.file_stem().unwrap());
        let (code, doc) = run(
            &[
                "synth",
                s,
                "--format",
                "json",
                "--out",
                out.to_str().unwrap(),
            ],
            Path::new(ROOT),
        );
        assert_eq!(code, 0, "{doc}");
        assert_matches("synth", &doc);
        for env in doc.as_array().unwrap() {
            let env = env["environment"].as_str().unwrap();
            let (code, cost) = run(
                &["cost", s, "--env", env, "--format", "json"],
                Path::new(ROOT),
            );
            assert_eq!(code, 0, "{cost}");
            assert_matches("cost", &cost);
            unpriced += usize::from(cost["priced"] == json!(false));
        }
    }
    assert!(unpriced > 0, "a region without price data was among them");
}

#[test]
fn iam_explain_outputs_match_the_schema_for_every_role() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, synth) = run(
        &[
            "synth",
            "--format",
            "json",
            "--out",
            tmp.path().to_str().unwrap(),
        ],
        Path::new(ROOT),
    );
    let mut n = 0;
    for env in synth.as_array().unwrap() {
        let e = env["environment"].as_str().unwrap();
        for role in env["roles"].as_array().unwrap() {
            let r = role["name"].as_str().unwrap();
            let (code, doc) = run(
                &[
                    "iam", "explain", "--env", e, "--role", r, "--format", "json",
                ],
                Path::new(ROOT),
            );
            assert_eq!(code, 0, "{doc}");
            assert_matches("iam-explain", &doc);
            assert_eq!(doc["role"], r);
            n += 1;
        }
    }
    assert!(n >= 10, "{n} roles");
}

/// A reviewer's change (an outside reader, a reader given a second data set, a
/// narrower SageMaker lookup) against the
/// files synth wrote for the committed spec: both kinds of change are reported.
#[test]
fn iam_diff_output_matches_the_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::copy(
        Path::new(ROOT).join("pipeline.yaml"),
        dir.join("pipeline.yaml"),
    )
    .unwrap();
    let schemas = dir.join("schemas");
    std::fs::create_dir(&schemas).unwrap();
    for f in std::fs::read_dir(Path::new(ROOT).join("schemas")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, schemas.join(f.file_name().unwrap())).unwrap();
    }
    let (code, _) = run(&["synth", "--format", "json", "--out", "base"], dir);
    assert_eq!(code, 0);
    let spec = std::fs::read_to_string(dir.join("pipeline.yaml")).unwrap();
    let changed = spec
        .replace(
            "    - principal: arn:aws:iam::333333333333:role/fraud-analytics\n      datasets: [pos_sales]\n",
            "    - principal: arn:aws:iam::333333333333:role/fraud-analytics\n      datasets: [pos_sales, ferry_boardings]\n    - principal: arn:aws:iam::444444444444:role/partner-bi\n      datasets: [ferry_boardings]\n",
        )
        .replace(
            "  index_lookups: [by_source_date, by_device]",
            "  index_lookups: [by_source_date]",
        );
    assert_ne!(spec, changed);
    std::fs::write(dir.join("pipeline.yaml"), changed).unwrap();
    let (code, doc) = run(
        &[
            "iam",
            "diff",
            "--base-dir",
            "base/policies",
            "--format",
            "json",
        ],
        dir,
    );
    assert_eq!(code, 0, "{doc}");
    assert_matches("iam-diff", &doc);
    let reports = doc.as_array().unwrap();
    assert!(
        reports
            .iter()
            .any(|r| !r["changes"].as_array().unwrap().is_empty())
    );
    assert!(reports.iter().any(|r| {
        r["access"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["who"] == "other-account")
    }));
}

/// The event schema tells the events apart by `event` and refuses a line without one,
/// or a `stack-start` that does not say whether it deploys or deletes.
#[test]
fn the_event_schema_is_strict() {
    let v = validator("deploy-events");
    let start =
        json!({"event": "stack-start", "stack": "s", "resources": 3, "operation": "delete"});
    assert!(v.is_valid(&start));
    let mut vague = start.clone();
    vague.as_object_mut().unwrap().remove("operation");
    assert!(!v.is_valid(&vague));
    assert!(!v.is_valid(&json!({"environment": "dev", "stacks": []})));
    assert!(v.is_valid(&json!({"event": "diff", "environment": "dev", "stacks": []})));
    let mut unknown = start;
    unknown["event"] = json!("stack-begun");
    assert!(!v.is_valid(&unknown));
}
