//! `pipewright init` in an empty folder, away from pipewright's checkout: the starter
//! passes `check` and `synth` there, init refuses to overwrite and refuses options the
//! spec's own rules reject (writing nothing either way), and the workflow it writes is
//! the one kept in `examples/` (which `.ci/run` lints with actionlint).

use std::path::Path;
use std::process::{Command, Output};

fn pw(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("pipewright runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn init_then_check_and_synth_in_an_empty_folder() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("Fleet Events");
    std::fs::create_dir(&dir).unwrap();
    let o = pw(&dir, &["init"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        tree(&dir),
        [
            ".github/workflows/pipewright.yml",
            ".gitignore",
            "pipeline.schema.json",
            "pipeline.yaml",
            "schemas/reading.v1.json"
        ]
    );
    let spec = std::fs::read_to_string(dir.join("pipeline.yaml")).unwrap();
    assert!(spec.starts_with("# yaml-language-server: $schema=./pipeline.schema.json\n"));
    assert!(spec.contains("\nname: fleet-events\n"), "{spec}");
    // The schema line resolves: the file it names is the language's schema.
    let schema = pw(&dir, &["schema"]);
    assert_eq!(
        std::fs::read(dir.join("pipeline.schema.json")).unwrap(),
        schema.stdout
    );

    let o = pw(&dir, &["check", "--deny-warnings"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = pw(&dir, &["synth"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let files = tree(&dir);
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("stacks/dev/") && f.ends_with(".json"))
    );
    assert!(files.iter().any(|f| f.starts_with("policies/dev/")));
    let o = pw(&dir, &["synth", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn init_never_overwrites() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("pipeline.yaml"), "mine\n").unwrap();
    let o = pw(d.path(), &["init"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pipeline.yaml"));
    assert_eq!(tree(d.path()), ["pipeline.yaml"]);
    assert_eq!(
        std::fs::read_to_string(d.path().join("pipeline.yaml")).unwrap(),
        "mine\n"
    );
}

#[test]
fn init_refuses_what_check_refuses_and_writes_nothing() {
    for bad in [
        ["--account", "12345"],
        ["--region", "eu-wset-2"],
        ["--name", "Not A Name"],
    ] {
        let d = tempfile::tempdir().unwrap();
        let o = pw(d.path(), &["init", bad[0], bad[1]]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("error["),
            "{bad:?}: a located diagnostic: {err}"
        );
        assert!(tree(d.path()).is_empty(), "{bad:?} wrote files");
    }
}

#[test]
fn the_workflow_init_writes_is_the_example() {
    let d = tempfile::tempdir().unwrap();
    let o = pw(d.path(), &["init"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let written =
        std::fs::read_to_string(d.path().join(".github/workflows/pipewright.yml")).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github-workflow.yml");
    let kept = std::fs::read_to_string(&example).unwrap_or_default();
    assert!(
        written == kept,
        "examples/github-workflow.yml is not what `pipewright init` writes; refresh it with\n  \
         d=$(mktemp -d) && pipewright init \"$d\" && cp \"$d/.github/workflows/pipewright.yml\" examples/github-workflow.yml"
    );
    // The commands the workflow runs are pipewright's own, as the README documents them.
    for step in [
        "pipewright check --deny-warnings",
        "pipewright synth --check",
        "pipewright iam diff --base \"$BASE\" --format markdown >> \"$GITHUB_STEP_SUMMARY\"",
        "pipewright deploy --env dev --yes",
        "id-token: write",
    ] {
        assert!(written.contains(step), "the workflow lacks `{step}`");
    }
}
