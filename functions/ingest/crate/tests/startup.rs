//! The executable refuses to start, with a clear message and exit status 1, when its
//! config file or environment is missing or wrong. (No AWS call is made before that.)

mod common;

use std::process::Command;

use pipewright_ingest_config::env;

fn run(config: Option<&std::path::Path>, names: bool, args: &[&str]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pipewright-ingest"));
    c.args(args)
        .env_remove(env::RAW_BUCKET)
        .env_remove(env::INDEX_TABLE)
        .env_remove(env::KMS_KEY_ARN)
        .env_remove(env::CONFIG_PATH)
        .env_remove("PIPEWRIGHT_LOCAL_ADDR")
        .env_remove("AWS_LAMBDA_RUNTIME_API");
    if let Some(p) = config {
        c.env(env::CONFIG_PATH, p);
    }
    if names {
        c.env(env::RAW_BUCKET, "raw").env(env::INDEX_TABLE, "index");
    }
    let out = c.output().expect("run the function binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_or_missing_config_stops_start_up() {
    let dir = std::env::temp_dir().join(format!("pw-ingest-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let missing = dir.join("missing.json");
    let (code, err) = run(Some(&missing), true, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot read the ingest config") && err.contains("missing.json"),
        "{err}"
    );

    let mut cfg = common::config(vec![]);
    let good = dir.join("good.json");
    std::fs::write(&good, cfg.to_canonical_json()).unwrap();
    let (code, err) = run(Some(&good), false, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(env::RAW_BUCKET), "{err}");

    cfg.version += 1;
    let newer = dir.join("newer.json");
    std::fs::write(&newer, cfg.to_canonical_json()).unwrap();
    let (code, err) = run(Some(&newer), true, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not supported"), "{err}");

    cfg.version -= 1;
    cfg.sources.get_mut("pos").unwrap().schema = serde_json::json!({"type": 12});
    let bad_schema = dir.join("bad-schema.json");
    std::fs::write(&bad_schema, cfg.to_canonical_json()).unwrap();
    let (code, err) = run(Some(&bad_schema), true, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("source `pos`: its event schema does not compile"),
        "{err}"
    );

    let (code, err) = run(Some(&good), true, &["--bogus"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unknown argument `--bogus`"), "{err}");

    std::fs::remove_dir_all(&dir).unwrap();
}
