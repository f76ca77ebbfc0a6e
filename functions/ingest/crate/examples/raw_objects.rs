//! Writes raw objects to a local folder exactly as the ingest function writes them to
//! the raw bucket: each request's body goes through the function's own validation and
//! gzip NDJSON writer (`batch::process`), and lands under the function's key layout
//! (`raw/<source>/dt=YYYY-MM-DD/hour=HH/<request-id>.ndjson.gz`, rejected events under
//! `rejected/<source>/...`). The Glue-script tests and the Spark benchmark use it, so
//! their input cannot drift from what the function stores.
//!
//! ```text
//! cargo run -p pipewright-ingest --example raw_objects -- OUT_DIR SOURCE=SCHEMA.json[:ID[:TIME]]... < requests.ndjson
//! ```
//!
//! Each line of standard input is one request:
//! `{"source": "pos", "request_id": "r1", "received_ms": 1795000000000, "body": [...]}`
//! where `body` is the JSON the device posted (one event or an array of events), or
//! `"body_text"` a body sent as is (for bodies that are not JSON). `--partitioning day`
//! (before the other arguments) switches to daily partitions.
//! Prints one line per object written: `accepted|rejected <lines> <key>`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pipewright_ingest::batch::{self, Options};
use pipewright_ingest::body::Format;
use pipewright_ingest::timefmt::Received;
use pipewright_ingest::{Names, Setup};
use pipewright_ingest_config::{
    CONFIG_VERSION, IngestConfig, Lookups, Partitioning, SourceConfig, layout,
};
use serde_json::Value;

fn usage() -> ExitCode {
    eprintln!(
        "usage: raw_objects [--partitioning hour|day] OUT_DIR SOURCE=SCHEMA.json[:ID_FIELD[:TIME_FIELD]]... < requests.ndjson"
    );
    ExitCode::from(2)
}

fn source_arg(arg: &str) -> Result<(String, SourceConfig), String> {
    let (name, rest) = arg
        .split_once('=')
        .ok_or_else(|| format!("`{arg}`: expected SOURCE=SCHEMA.json[:ID[:TIME]]"))?;
    let mut parts = rest.split(':');
    let file = parts.next().unwrap_or_default();
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let schema: Value =
        serde_json::from_str(&text).map_err(|e| format!("{file} is not JSON: {e}"))?;
    let field = |p: Option<&str>| p.filter(|s| !s.is_empty()).map(str::to_owned);
    let id_field = field(parts.next());
    let time_field = field(parts.next());
    Ok((
        name.to_owned(),
        SourceConfig {
            route: format!("/{name}"),
            schema_version: "1.0.0".into(),
            schema,
            max_body_bytes: u32::MAX,
            max_events: 100_000,
            id_field,
            time_field,
            device_field: None,
            start_jobs: Vec::new(),
        },
    ))
}

fn write(out: &Path, key: &str, gz: &[u8]) -> Result<(), String> {
    let path = out.join(key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&path, gz).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(args: &[String]) -> Result<(), String> {
    let mut args = args.iter().peekable();
    let mut partitioning = Partitioning::Hour;
    if args.peek().map(|a| a.as_str()) == Some("--partitioning") {
        args.next();
        partitioning = match args.next().map(String::as_str) {
            Some("hour") => Partitioning::Hour,
            Some("day") => Partitioning::Day,
            other => return Err(format!("--partitioning: `{other:?}` is not hour or day")),
        };
    }
    let out = PathBuf::from(args.next().ok_or("missing OUT_DIR")?);
    let mut sources = BTreeMap::new();
    for a in args {
        let (name, sc) = source_arg(a)?;
        sources.insert(name, sc);
    }
    let config = IngestConfig {
        version: CONFIG_VERSION,
        pipeline: "fixtures".into(),
        environment: "local".into(),
        partitioning,
        gzip_level: 6,
        max_device_ids: 50,
        index_ttl_days: None,
        idempotency_ttl_days: 7,
        lookups: Lookups::default(),
        sources,
    };
    let setup = Setup::new(
        config,
        Names {
            raw_bucket: "local".into(),
            index_table: "local".into(),
            kms_key_arn: None,
        },
    )?;
    let opts = Options {
        gzip_level: setup.config.gzip_level,
        max_events: 100_000,
        max_device_ids: 50,
    };
    let stdout = io::stdout();
    let mut report = stdout.lock();
    for (n, line) in io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let req: Value =
            serde_json::from_str(&line).map_err(|e| format!("request on line {}: {e}", n + 1))?;
        let text = |k: &str| {
            req.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("request on line {}: `{k}` is missing", n + 1))
        };
        let source_name = text("source")?;
        let request_id = text("request_id")?;
        let received_ms = req
            .get("received_ms")
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("request on line {}: `received_ms` is missing", n + 1))?;
        let source = setup
            .source(source_name)
            .ok_or_else(|| format!("request on line {}: no source `{source_name}`", n + 1))?;
        let body = match (
            req.get("body"),
            req.get("body_text").and_then(Value::as_str),
        ) {
            (Some(b), _) => serde_json::to_vec(b).expect("a value serialises"),
            (None, Some(t)) => t.as_bytes().to_vec(),
            (None, None) => return Err(format!("request on line {}: no `body`", n + 1)),
        };
        let processed = batch::process(source, opts, Format::Json, &body)
            .map_err(|e| format!("request on line {}: {e}", n + 1))?;
        let at = Received::from_millis(received_ms);
        for (kind, stream, key) in [
            (
                "accepted",
                &processed.accepted,
                layout::raw_key(source_name, partitioning, &at.date, at.hour, request_id),
            ),
            (
                "rejected",
                &processed.rejected,
                layout::rejected_key(source_name, partitioning, &at.date, at.hour, request_id),
            ),
        ] {
            if stream.lines > 0 {
                write(&out, &key, &stream.gz)?;
                writeln!(report, "{kind} {} {key}", stream.lines)
                    .map_err(|e| format!("stdout: {e}"))?;
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0] == "--help" {
        return usage();
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
