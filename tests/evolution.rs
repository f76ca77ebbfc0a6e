//! `pipewright check --against`: event-schema changes between a base spec (a file or
//! a git revision) and this one, on copies of the reference spec.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the reference spec and its schemas in a temporary folder.
fn workspace() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("pipeline.yaml"), d.path().join("pipeline.yaml")).unwrap();
    std::fs::create_dir(d.path().join("schemas")).unwrap();
    for f in ["pos-sale.v1.json", "ferry-boarding.v1.json"] {
        std::fs::copy(
            root().join("schemas").join(f),
            d.path().join("schemas").join(f),
        )
        .unwrap();
    }
    d
}

/// Writes `new.yaml`: the reference spec with the POS schema changed by `edit`, at `version`.
fn evolve(dir: &Path, version: &str, edit: impl FnOnce(&mut Value)) {
    let mut schema: Value =
        serde_json::from_slice(&std::fs::read(dir.join("schemas/pos-sale.v1.json")).unwrap())
            .unwrap();
    edit(&mut schema);
    std::fs::write(
        dir.join("schemas/pos-sale.next.json"),
        serde_json::to_string_pretty(&schema).unwrap(),
    )
    .unwrap();
    let spec = std::fs::read_to_string(dir.join("pipeline.yaml")).unwrap();
    let old = "      version: 1.0.0\n      file: schemas/pos-sale.v1.json";
    assert!(spec.contains(old));
    let new = spec.replace(
        old,
        &format!("      version: {version}\n      file: schemas/pos-sale.next.json"),
    );
    std::fs::write(dir.join("new.yaml"), new).unwrap();
}

fn check(dir: &Path, spec: &str, against: &str) -> (i32, Value) {
    let o: Output = Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(["check", spec, "--against", against, "--format", "json"])
        .current_dir(dir)
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    let doc = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (code, doc)
}

fn codes(doc: &Value) -> Vec<String> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .filter(|c| c.starts_with("PW024"))
        .collect()
}

#[test]
fn compatible_change_with_minor_version_passes() {
    let d = workspace();
    evolve(d.path(), "1.1.0", |s| {
        s["properties"]["channel"] = json!({"type": "string", "enum": ["store", "onboard"]});
    });
    let (code, doc) = check(d.path(), "new.yaml", "pipeline.yaml");
    assert_eq!(code, 0, "{doc:#}");
    assert!(codes(&doc).is_empty());
    assert_eq!(
        doc["schema_changes"],
        json!([{"source": "pos", "from": "1.0.0", "to": "1.1.0", "changes": [
            {"field": "channel", "change": "optional field `channel` added", "breaking": false}
        ]}])
    );
}

#[test]
fn compatible_change_without_a_new_version_warns() {
    let d = workspace();
    evolve(d.path(), "1.0.0", |s| {
        s["properties"]["channel"] = json!({"type": "string"});
    });
    let (code, doc) = check(d.path(), "new.yaml", "pipeline.yaml");
    assert_eq!(code, 0);
    assert_eq!(codes(&doc), ["PW0242"]);
}

#[test]
fn breaking_change_fails_unless_the_major_version_moves() {
    let d = workspace();
    let edit = |s: &mut Value| {
        s["properties"]
            .as_object_mut()
            .unwrap()
            .remove("operator_id");
        s["properties"]["tax_amount"] = json!({"type": "string"});
    };
    evolve(d.path(), "1.1.0", edit);
    let (code, doc) = check(d.path(), "new.yaml", "pipeline.yaml");
    assert_eq!(code, 1);
    assert_eq!(codes(&doc), ["PW0241", "PW0241"]);
    let messages: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "PW0241")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(messages.iter().any(|m| m.contains("`operator_id` removed")));
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`tax_amount` changed type from double to string"))
    );

    evolve(d.path(), "2.0.0", edit);
    let (code, doc) = check(d.path(), "new.yaml", "pipeline.yaml");
    assert_eq!(code, 0, "{doc:#}");
    assert!(codes(&doc).is_empty());
}

#[test]
fn version_going_down_fails() {
    let d = workspace();
    evolve(d.path(), "0.9.0", |_| {});
    let (code, doc) = check(d.path(), "new.yaml", "pipeline.yaml");
    assert_eq!(code, 1);
    assert_eq!(codes(&doc), ["PW0240"]);
}

#[test]
fn against_a_git_revision() {
    let d = workspace();
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "pipeline.yaml", "schemas"]);
    git(&["commit", "-q", "-m", "base"]);
    // The working tree changes the committed schema in place: a field made required.
    let path = d.path().join("schemas/pos-sale.v1.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    s["required"]
        .as_array_mut()
        .unwrap()
        .push(json!("tax_amount"));
    std::fs::write(&path, serde_json::to_string(&s).unwrap()).unwrap();
    let (code, doc) = check(d.path(), "pipeline.yaml", "HEAD");
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(codes(&doc), ["PW0241"]);
    assert_eq!(
        doc["schema_changes"][0]["changes"][0]["change"],
        "field `tax_amount` made required"
    );
    // Unknown revisions are a usage error.
    let (code, _) = check(d.path(), "pipeline.yaml", "no-such-branch");
    assert_eq!(code, 2);
}

#[test]
fn a_new_major_version_writes_a_new_dataset_and_keeps_the_old_one() {
    let d = workspace();
    evolve(d.path(), "2.0.0", |s| {
        s["properties"]["tax_amount"] = json!({"type": "string"});
    });
    let o = Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(["synth", "new.yaml", "--env", "dev", "--out", "out"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = d.path().join("out");
    let script =
        std::fs::read_to_string(out.join("stacks/dev/glue/transit-payments-dev-pos_sales.py"))
            .unwrap();
    assert!(script.contains("\nPREFIX = \"curated/pos_sales_v2/\"\n"));
    let processing: Value =
        serde_json::from_slice(&std::fs::read(out.join("stacks/dev/processing.json")).unwrap())
            .unwrap();
    let crawler = &processing["Resources"]["Crawler"]["Properties"];
    let paths: Vec<&str> = crawler["Targets"]["S3Targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Path"].as_str().unwrap())
        .collect();
    let curated = "s3://transit-payments-dev-curated-111111111111";
    assert_eq!(
        paths,
        [
            format!("{curated}/curated/ferry_boardings/"),
            format!("{curated}/curated/pos_sales/"),
            format!("{curated}/curated/pos_sales_v2/"),
            // The SQL transform reads `pos` too: its dataset gets a new major version.
            format!("{curated}/curated/sailing_hours/"),
            format!("{curated}/curated/sailing_hours_v2/"),
        ]
    );
    assert_eq!(
        crawler["SchemaChangePolicy"]["UpdateBehavior"], "UPDATE_IN_DATABASE",
        "compatible changes reach the table: new columns, widened types"
    );
    // Who reads the dataset reads every version of it: the crawler and SageMaker.
    for role in ["crawler", "sagemaker"] {
        let policy = std::fs::read_to_string(
            out.join(format!("policies/dev/transit-payments-dev-{role}.json")),
        )
        .unwrap();
        assert!(policy.contains("/curated/pos_sales/"), "{role}");
        assert!(policy.contains("/curated/pos_sales_v2/"), "{role}");
    }
}
