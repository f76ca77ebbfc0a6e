//! The binary's interface: exit codes, output formats and generated files.

use std::process::{Command, Output};

fn pipewright(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

#[test]
fn reference_spec_is_valid() {
    let o = pipewright(&["check"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("pipeline.yaml: valid (2 environments, 2 sources, 3 transforms)"),
        "{out}"
    );
    assert!(out.contains("compliance: pci-dss"), "{out}");
}

#[test]
fn warnings_fail_only_when_denied() {
    let o = pipewright(&["check", "--deny-warnings"]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning[PW0901]"));
}

#[test]
fn invalid_spec_exits_1_and_missing_file_exits_2() {
    let o = pipewright(&[
        "check",
        "tests/specs/err/pw0201-transform-input-undefined.yaml",
    ]);
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error[PW0201]") && err.contains("did you mean `pos`?"),
        "{err}"
    );
    let o = pipewright(&["check", "no/such/spec.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read no/such/spec.yaml"));
    let o = pipewright(&["check", "src"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(code(&pipewright(&["check", "--no-such-flag"])), 2);
    assert_eq!(code(&pipewright(&["frobnicate"])), 2);
    assert_eq!(code(&pipewright(&["explain", "PW9999"])), 2);
}

#[test]
fn undefined_environment_is_reported() {
    let o = pipewright(&["check", "--env", "prd"]);
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error[PW0203]") && err.contains("did you mean `prod`?"),
        "{err}"
    );
}

#[test]
fn json_diagnostics_are_machine_readable() {
    let o = pipewright(&[
        "check",
        "tests/specs/err/pw0103-bad-auth.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"], 1);
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "PW0103")
        .expect("PW0103 reported");
    assert_eq!(d["line"], 13);
    assert_eq!(d["column"], 11);
    assert_eq!(d["path"], "sources.pos.auth");
    assert_eq!(d["file"], "tests/specs/err/pw0103-bad-auth.yaml");
    assert_eq!(d["help"], "did you mean `api_key`?");
    let o = pipewright(&["check", "--format", "json", "--env", "prod"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["environments"]["prod"]["compliance"][0], "pci-dss");
    assert!(v["environments"].get("dev").is_none());
}

#[test]
fn the_compiler_and_review_commands_have_an_example_in_their_help() {
    // Not every subcommand: deploy, diff, destroy, iam verify and iam cases have none yet.
    for sub in [
        &["check"][..],
        &["synth"],
        &["bundle"],
        &["schema"],
        &["explain"],
        &["graph"],
        &["cost"],
        &["docs"],
        &["iam", "diff"],
        &["iam", "explain"],
    ] {
        let mut args = sub.to_vec();
        args.push("--help");
        let o = pipewright(&args);
        assert_eq!(code(&o), 0);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("Examples:") && out.contains("pipewright "),
            "{sub:?}: {out}"
        );
    }
    let o = pipewright(&["--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("Exit status:"));
}

#[test]
fn committed_schema_is_current() {
    let o = pipewright(&["schema"]);
    assert_eq!(code(&o), 0);
    let committed =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/pipeline.schema.json")).unwrap();
    assert!(
        o.stdout == committed,
        "pipeline.schema.json is stale: run `cargo run -- schema --out pipeline.schema.json`"
    );
    let first =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipeline.yaml")).unwrap();
    assert!(first.starts_with("# yaml-language-server: $schema=./pipeline.schema.json"));
}

/// Every `"PW0123"` literal in `dir`'s Rust files: the codes the code base can raise.
fn codes_in_source(dir: &std::path::Path, out: &mut std::collections::BTreeSet<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            codes_in_source(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, _) in text.match_indices("\"PW") {
                let code = &text[i + 1..];
                if code.len() > 7
                    && code[2..6].bytes().all(|b| b.is_ascii_digit())
                    && code.as_bytes()[6] == b'"'
                {
                    out.insert(code[..6].to_owned());
                }
            }
        }
    }
}

#[test]
fn explain_documents_every_code() {
    let o = pipewright(&["explain", "undefined-source"]);
    assert_eq!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("PW0201 undefined-source (error)"));
    // Every code written anywhere in src/ (read from the source, not from the rules table)
    // is listed once and explained in prose.
    let mut codes = std::collections::BTreeSet::new();
    codes_in_source(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut codes,
    );
    assert!(codes.len() > 50, "only {} codes found in src/", codes.len());
    let o = pipewright(&["explain"]);
    let listing = String::from_utf8_lossy(&o.stdout).into_owned();
    let listed: std::collections::BTreeSet<String> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert_eq!(
        listed, codes,
        "`pipewright explain` lists other codes than src/ uses"
    );
    assert_eq!(
        listing.lines().count(),
        codes.len(),
        "a code is listed twice"
    );
    for c in &codes {
        let o = pipewright(&["explain", c]);
        assert_eq!(code(&o), 0, "{c}");
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let (head, body) = out.split_once("\n\n").unwrap_or((out.as_str(), ""));
        assert!(head.starts_with(c.as_str()), "{c}: {out}");
        assert!(body.trim().len() >= 20, "{c} has no explanation: {out}");
    }
}
