//! Benchmark of the ingest request path without network: parse + validate + NDJSON +
//! gzip of a 1 MB batch of POS sale events, at the shipped gzip level. Reports MB/s
//! of wall time (median run) and MB per CPU-second of the thread (user + system, from
//! getrusage, so other load on a shared machine does not count), the compression ratio
//! and the peak heap (a counting global allocator) relative to the body. Compares the
//! function's path (`batch::process`) with the `serde_json::Value` path it falls back
//! on, and sweeps the gzip levels. Run with `cargo bench -p pipewright-ingest`.

use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pipewright_ingest::batch::{self, Options};
use pipewright_ingest::body::{self, Format};
use pipewright_ingest::{Names, Setup};
use pipewright_ingest_config::{CONFIG_VERSION, IngestConfig, Lookups, Partitioning, SourceConfig};
use serde_json::{Value, json};

/// Counts live heap bytes and their high-water mark, over the function's own
/// allocator (mimalloc, as in `main.rs`).
struct Counting;

static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Counting is on only while the peak is measured, so timings are not skewed.
static COUNTING: AtomicBool = AtomicBool::new(false);

fn note_alloc(size: usize) {
    if !COUNTING.load(Ordering::Relaxed) {
        return;
    }
    let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { INNER.alloc(layout) };
        if !p.is_null() {
            note_alloc(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { INNER.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { INNER.realloc(ptr, layout, new_size) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            note_alloc(new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The gzip level synth ships by default (`ingest.gzip_level`).
const SHIPPED_GZIP_LEVEL: u32 = 5;

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_THREAD is Linux's.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, u.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage failed");
    // SAFETY: initialised by the successful call above.
    let u = unsafe { u.assume_init() };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Which implementation of the request path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// `batch::process`: what the function runs.
    Function,
    /// `batch::process_values`: a `serde_json::Value` per event (the fallback).
    Values,
}

fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["event_id", "store_id", "terminal_id", "occurred_at", "currency", "total", "items"],
        "properties": {
            "event_id": {"type": "string", "minLength": 1},
            "store_id": {"type": "string"},
            "terminal_id": {"type": "string"},
            "cashier_id": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "payment": {"type": "string", "enum": ["card", "cash", "mobile"]},
            "total": {"type": "number", "minimum": 0, "multipleOf": 0.01},
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["sku", "qty", "unit_price"],
                    "properties": {
                        "sku": {"type": "string"},
                        "name": {"type": "string"},
                        "qty": {"type": "integer", "minimum": 1},
                        "unit_price": {"type": "number", "minimum": 0, "multipleOf": 0.01}
                    },
                    "additionalProperties": false
                }
            }
        },
        "additionalProperties": false
    })
}

const PAYMENTS: [&str; 3] = ["card", "cash", "mobile"];

const PRODUCTS: &[&str] = &[
    "Espresso beans 1kg",
    "Oat milk 1l",
    "Croissant",
    "Sparkling water 0.5l",
    "Sandwich ham & cheese",
    "Chocolate bar 100g",
    "Newspaper",
    "Phone charger USB-C",
];

/// A POS sale with 1–4 line items, its total the exact sum.
fn sale(i: usize) -> Value {
    let mut cents = 0u64;
    let items: Vec<Value> = (0..1 + i % 4)
        .map(|l| {
            let price = 99 + ((i * 7 + l * 13) % 2000) as u64;
            let qty = 1 + (i + l) % 3;
            cents += price * qty as u64;
            json!({
                "sku": format!("SKU-{:05}", (i * 31 + l) % 50_000),
                "name": PRODUCTS[(i + l) % PRODUCTS.len()],
                "qty": qty,
                "unit_price": price as f64 / 100.0
            })
        })
        .collect();
    json!({
        "event_id": format!("5f1c2a7e-{:04x}-4b1e-9c3d-{:012x}", i % 65_536, i * 7919),
        "store_id": format!("store-{:03}", i % 40),
        "terminal_id": format!("term-{:03}-{:02}", i % 40, i % 6),
        "cashier_id": format!("c-{:04}", i % 300),
        "occurred_at": format!("2026-11-27T{:02}:{:02}:{:02}.{:03}Z", 8 + i / 3600 % 10, i / 60 % 60, i % 60, i % 1000),
        "currency": "EUR",
        "payment": PAYMENTS[i % 3],
        "total": cents as f64 / 100.0,
        "items": items
    })
}

fn setup(gzip_level: u32) -> Setup {
    let mut sources = BTreeMap::new();
    sources.insert(
        "pos".to_string(),
        SourceConfig {
            route: "/v1/pos/sales".into(),
            schema_version: "1.0.0".into(),
            schema: schema(),
            max_body_bytes: 10 * 1024 * 1024,
            max_events: 100_000,
            id_field: Some("event_id".into()),
            time_field: Some("occurred_at".into()),
            device_field: Some("terminal_id".into()),
            start_jobs: vec![],
        },
    );
    let config = IngestConfig {
        version: CONFIG_VERSION,
        pipeline: "bench".into(),
        environment: "bench".into(),
        partitioning: Partitioning::Hour,
        gzip_level,
        max_device_ids: 100,
        index_ttl_days: None,
        idempotency_ttl_days: 1,
        lookups: Lookups::default(),
        sources,
    };
    let names = Names {
        raw_bucket: "b".into(),
        index_table: "t".into(),
        kms_key_arn: None,
    };
    Setup::new(config, names).expect("bench config is valid")
}

/// A pretty-printed-free JSON array of sales of about `target` bytes.
fn body(target: usize) -> (Vec<u8>, usize) {
    let mut out = b"[".to_vec();
    let mut n = 0;
    while out.len() < target {
        if n > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &sale(n)).unwrap();
        n += 1;
    }
    out.push(b']');
    (out, n)
}

struct Figures {
    mb_per_s: f64,
    mb_per_cpu_s: f64,
    median: Duration,
    ratio: f64,
    gz_len: usize,
    ndjson_len: u64,
    peak_extra: usize,
}

fn measure(
    name: &str,
    path: Path,
    level: u32,
    body: &[u8],
    events: usize,
    gz_input: Option<&[u8]>,
    seconds: u64,
) -> Figures {
    let setup = setup(level);
    let source = setup.source("pos").unwrap();
    let opts = Options {
        gzip_level: level,
        max_events: 100_000,
        max_device_ids: 100,
    };
    let run = || {
        let decoded;
        let input: &[u8] = match gz_input {
            Some(gz) => {
                decoded = body::inflate(gz, 10 * 1024 * 1024).unwrap();
                &decoded
            }
            None => body,
        };
        match path {
            Path::Function => batch::process(source, opts, Format::Json, input).unwrap(),
            Path::Values => batch::process_values(source, opts, Format::Json, input).unwrap(),
        }
    };
    // Check once, and measure the peak heap of one run.
    // Only blocks allocated while counting are tracked (frees of older blocks are
    // ignored while off), so LIVE starts at zero: the peak is the run's extra heap.
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
    let p = run();
    let peak_extra = PEAK.load(Ordering::Relaxed);
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(
        (p.accepted.lines, p.failures.len()),
        (events, 0),
        "every event is valid"
    );
    if path == Path::Function {
        assert_eq!(p.fast_events, events, "the fast path stored every event");
    }
    let (gz_len, ndjson_len) = (p.accepted.gz.len(), p.accepted.bytes);
    drop(p);
    for _ in 0..3 {
        black_box(run());
    }
    let mut times = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    let cpu_start = thread_cpu();
    while times.len() < 15 || (Instant::now() < until && times.len() < 400) {
        let t = Instant::now();
        black_box(run());
        times.push(t.elapsed());
    }
    let cpu = thread_cpu() - cpu_start;
    let runs = times.len();
    times.sort();
    let median = times[times.len() / 2];
    let f = Figures {
        mb_per_s: body.len() as f64 / 1e6 / median.as_secs_f64(),
        mb_per_cpu_s: (body.len() * runs) as f64 / 1e6 / cpu.as_secs_f64(),
        median,
        ratio: ndjson_len as f64 / gz_len as f64,
        gz_len,
        ndjson_len,
        peak_extra,
    };
    println!(
        "{name:<44} gzip {level}: median {:>7.2} ms over {:>3} runs = {:>6.1} MB/s wall, \
         {:>6.1} MB/CPU-s; NDJSON {} B -> gzip {} B (ratio {:.2}:1); peak heap +{} B = {:.2}x body",
        f.median.as_secs_f64() * 1e3,
        runs,
        f.mb_per_s,
        f.mb_per_cpu_s,
        f.ndjson_len,
        f.gz_len,
        f.ratio,
        f.peak_extra,
        f.peak_extra as f64 / body.len() as f64,
    );
    f
}

/// Median time of `f` over at least 15 runs (up to 2 s).
fn median_of(mut f: impl FnMut()) -> Duration {
    f();
    let mut times = Vec::new();
    let until = Instant::now() + Duration::from_secs(2);
    while times.len() < 15 || (Instant::now() < until && times.len() < 100) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// Where the time goes: each stage alone, on the same body.
fn breakdown(body: &[u8]) {
    let setup = setup(SHIPPED_GZIP_LEVEL);
    let validator = &setup.source("pos").unwrap().validator;
    let values: Vec<Value> = serde_json::from_slice(body).unwrap();
    let mut ndjson = Vec::new();
    for v in &values {
        serde_json::to_writer(&mut ndjson, v).unwrap();
        ndjson.push(b'\n');
    }
    let mb = body.len() as f64 / 1e6;
    let report = |stage: &str, d: Duration| {
        println!(
            "  stage {stage:<34} {:>7.2} ms = {:>6.1} MB/s",
            d.as_secs_f64() * 1e3,
            mb / d.as_secs_f64()
        )
    };
    report(
        "parse (serde_json::Value)",
        median_of(|| {
            black_box(serde_json::from_slice::<Vec<Value>>(black_box(body)).unwrap());
        }),
    );
    let fast = &setup.source("pos").unwrap().fast;
    let mut tapes = Vec::new();
    {
        let mut sc = pipewright_ingest::tape::Scanner::new(body, Vec::new());
        sc.pos = 1;
        loop {
            let (s, e, _) = sc.value().unwrap();
            tapes.push((s, e, sc.tape().to_vec()));
            sc.skip_ws();
            if sc.peek() == Some(b']') {
                break;
            }
            sc.pos += 1;
        }
    }
    report(
        "scan into tapes (fast path)",
        median_of(|| {
            let mut sc = pipewright_ingest::tape::Scanner::new(black_box(body), Vec::new());
            sc.pos = 1;
            loop {
                black_box(sc.value().unwrap());
                if sc.peek() == Some(b']') {
                    break;
                }
                sc.pos += 1;
            }
        }),
    );
    report(
        "validate tapes (jsonschema, Tape)",
        median_of(|| {
            for (s, e, t) in &tapes {
                let doc = pipewright_ingest::tape::Doc {
                    src: std::str::from_utf8(&body[*s..*e]).unwrap(),
                    entries: t,
                };
                assert!(fast.is_valid(black_box(doc.root())));
            }
        }),
    );
    report(
        "tokenize only (serde IgnoredAny)",
        median_of(|| {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body)).unwrap());
        }),
    );
    report(
        "validate (jsonschema is_valid)",
        median_of(|| {
            for v in &values {
                assert!(validator.is_valid(black_box(v)));
            }
        }),
    );
    report(
        "serialize compact NDJSON",
        median_of(|| {
            let mut out = Vec::with_capacity(ndjson.len());
            for v in &values {
                serde_json::to_writer(&mut out, v).unwrap();
                out.push(b'\n');
            }
            black_box(out);
        }),
    );
    for level in [1, SHIPPED_GZIP_LEVEL] {
        report(
            &format!("gzip level {level} (zlib-rs)"),
            median_of(|| {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
                e.write_all(black_box(&ndjson)).unwrap();
                black_box(e.finish().unwrap());
            }),
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary
    // without it (in debug): then one quick pass on a small body checks it works.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (body, events) = body(if quick { 20_000 } else { 1_000_000 });
    println!(
        "body: {} bytes, {} POS sale events ({} bytes each on average)",
        body.len(),
        events,
        body.len() / events
    );
    if quick {
        measure(
            "smoke",
            Path::Function,
            SHIPPED_GZIP_LEVEL,
            &body,
            events,
            None,
            1,
        );
        measure(
            "smoke (Value path)",
            Path::Values,
            SHIPPED_GZIP_LEVEL,
            &body,
            events,
            None,
            1,
        );
        return;
    }
    // A fixed amount of work for a profiler (valgrind --tool=callgrind counts
    // instructions, unaffected by other load): `BENCH_BINARY --bench profile`.
    if std::env::args().any(|a| a == "profile") {
        let setup = setup(SHIPPED_GZIP_LEVEL);
        let source = setup.source("pos").unwrap();
        let opts = Options {
            gzip_level: SHIPPED_GZIP_LEVEL,
            max_events: 100_000,
            max_device_ids: 100,
        };
        for _ in 0..5 {
            black_box(batch::process(source, opts, Format::Json, &body).unwrap());
        }
        return;
    }
    // Only the level sweep, for a quick look: `cargo bench -p pipewright-ingest -- levels`.
    let only_levels = std::env::args().any(|a| a == "levels");
    if !only_levels {
        for round in 1..=3 {
            println!("round {round}");
            measure(
                "function path (shipped level)",
                Path::Function,
                SHIPPED_GZIP_LEVEL,
                &body,
                events,
                None,
                4,
            );
            measure(
                "Value path (shipped level)",
                Path::Values,
                SHIPPED_GZIP_LEVEL,
                &body,
                events,
                None,
                4,
            );
        }
        breakdown(&body);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(&body).unwrap();
        let gz = e.finish().unwrap();
        measure(
            "gzip request: inflate + function path",
            Path::Function,
            SHIPPED_GZIP_LEVEL,
            &body,
            events,
            Some(&gz),
            4,
        );
    }
    println!("gzip levels (function path)");
    for level in 1..=9 {
        measure(
            "function path",
            Path::Function,
            level,
            &body,
            events,
            None,
            3,
        );
    }
}
