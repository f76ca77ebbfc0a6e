//! The JSON Schemas committed under `docs/schemas/`, which document the shape of every
//! JSON output; tests validate real outputs against them.

use serde_json::Value;

/// The committed schema `docs/schemas/<name>.v1.json`, compiled (formats checked).
pub fn validator(name: &str) -> jsonschema::Validator {
    let path = format!("{}/docs/schemas/{name}.v1.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{path} does not compile: {e}"))
}

/// Panics with every error when `doc` does not match the schema `name`.
#[allow(dead_code)]
pub fn assert_matches(name: &str, doc: &Value) {
    let v = validator(name);
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(20)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match docs/schemas/{name}.v1.json: {errors:#?}\n{doc:#}"
    );
}

/// Every line of a JSON-lines output (deploy, diff, destroy) against `deploy-events`;
/// returns the events.
#[allow(dead_code)]
pub fn assert_event_lines(stdout: &str) -> Vec<Value> {
    let v = validator("deploy-events");
    let mut events = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let doc: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .take(5)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "event does not match docs/schemas/deploy-events.v1.json: {errors:#?}\n{line}"
        );
        events.push(doc);
    }
    events
}
