//! The request path without network: parses a decoded body event by event, validates
//! each event against its source's schema, and writes accepted events as gzip NDJSON
//! and rejected ones (with their reasons) as another gzip NDJSON stream. Events are
//! streamed: the parsed form of only one event is held at a time.
//!
//! Two paths give the same result. The fast one ([`crate::tape`]) reads each event
//! into a flat borrowed form, validates that, and stores a valid event's own bytes
//! (without whitespace) when they are exactly what serde_json would write. Every
//! other event (invalid, escaped strings, numbers serde_json prints differently,
//! duplicate keys) is parsed into a `serde_json::Value` as before ([`crate::strict`],
//! which also finds duplicate keys: such an event is rejected), which also gives the
//! reasons of a rejected event. Text that does not parse is kept in the rejected
//! stream as it came (`event_base64` when it is not UTF-8). Each accepted line's
//! SHA-256 goes into [`Processed::content`], what a derived idempotency key names. A body the fast path cannot frame (invalid JSON,
//! too deep) is processed again from the start by the `Value` path alone, so parse
//! errors and their positions are serde_json's.

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::Value;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::body::Format;
use crate::setup::Source;
use crate::strict::{self, Checked};
use crate::tape::{Doc, Entry, Scanner, Shape, TapeNode};
use crate::timefmt::parse_rfc3339;
use pipewright_ingest_config::get_path;

/// Most reasons recorded per rejected event.
pub const MAX_ERRORS_PER_EVENT: usize = 10;
/// Longest reason (in bytes) recorded; longer ones are cut.
pub const MAX_ERROR_LEN: usize = 300;

/// Options of one run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub gzip_level: u32,
    pub max_events: usize,
    pub max_device_ids: usize,
}

/// A rejected event: its index in the request and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub index: usize,
    pub errors: Vec<String>,
}

/// A body that is not JSON (or NDJSON framing that failed as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// A gzip stream with its uncompressed byte count.
#[derive(Debug, Default)]
pub struct Stream {
    /// Gzip bytes (empty when nothing was written).
    pub gz: bytes::Bytes,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// Lines written.
    pub lines: usize,
}

/// What a body turned into.
#[derive(Debug, Default)]
pub struct Processed {
    /// Events seen (accepted + rejected).
    pub total: usize,
    pub accepted: Stream,
    pub rejected: Stream,
    pub failures: Vec<Failure>,
    /// Set when the body is not JSON at all; then nothing is accepted and `rejected`
    /// holds the raw body with the parse error.
    pub malformed: Option<Malformed>,
    /// Earliest and latest event time of accepted events (ms since the epoch).
    pub min_event_time: Option<i64>,
    pub max_event_time: Option<i64>,
    /// The first `max_device_ids` distinct device ids of accepted events.
    pub device_ids: Vec<String>,
    /// Distinct device ids of accepted events.
    pub device_count: usize,
    /// The id of every accepted event, when the source has an `id_field` and every
    /// accepted event has one (string or number); otherwise `None`.
    pub event_ids: Option<Vec<String>>,
    /// Which accepted events these are (`None` when nothing was accepted): when every
    /// accepted event has an id, the SHA-256 of their sorted ids (each length-prefixed),
    /// whatever their order; otherwise the SHA-256 of the accepted gzip stream (the
    /// same events in the same order give the same bytes). Cheap either way: ids are
    /// short and the gzip stream is an eighth of the events' size, where hashing every
    /// event's text would cost 0.8 ms per MB (8% of the request path).
    pub content: Option<[u8; 32]>,
    /// Accepted events stored by the fast path (as they came, without a `Value`).
    pub fast_events: usize,
}

/// The request is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessError {
    /// 413.
    TooManyEvents { limit: usize },
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::TooManyEvents { limit } => {
                write!(f, "the body holds more than {limit} events")
            }
        }
    }
}

/// Counts bytes on their way into the compressor.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Bytes gathered before a call into the compressor.
const CHUNK: usize = 64 * 1024;

type Sink = Counting<io::BufWriter<GzEncoder<Vec<u8>>>>;

struct Out {
    w: Option<Sink>,
    lines: usize,
    level: u32,
}

impl Out {
    fn new(level: u32) -> Out {
        Out {
            w: None,
            lines: 0,
            level,
        }
    }
    fn writer(&mut self) -> &mut Sink {
        let level = self.level;
        self.lines += 1;
        self.w.get_or_insert_with(|| Counting {
            inner: io::BufWriter::with_capacity(
                CHUNK,
                GzEncoder::new(Vec::new(), Compression::new(level)),
            ),
            bytes: 0,
        })
    }
    fn finish(self) -> Stream {
        match self.w {
            None => Stream::default(),
            Some(c) => Stream {
                bytes: c.bytes,
                gz: c
                    .inner
                    .into_inner()
                    .map_err(io::IntoInnerError::into_error)
                    .and_then(GzEncoder::finish)
                    .expect("writing to memory cannot fail")
                    .into(),
                lines: self.lines,
            },
        }
    }
}

/// The event that an entry of the rejected stream holds.
enum Rejected<'a> {
    Parsed(&'a Value),
    Raw(&'a [u8]),
}

struct Proc<'s> {
    source: &'s Source,
    opts: Options,
    index: usize,
    accepted: Out,
    rejected: Out,
    failures: Vec<Failure>,
    min_t: Option<i64>,
    max_t: Option<i64>,
    devices_seen: HashSet<String>,
    device_ids: Vec<String>,
    ids: Option<Vec<String>>,
    stop: Option<ProcessError>,
    fast_events: usize,
    /// One line, serialised before it goes to the compressor in a single write:
    /// feeding the compressor serde's many small writes costs more than the JSON.
    line: Vec<u8>,
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// [`scalar_text`] of a tape node.
fn tape_scalar_text(v: TapeNode<'_>) -> Option<String> {
    match (v.str(), v.number()) {
        (Some(s), _) if !s.is_empty() => Some(s.to_owned()),
        (_, Some(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// What the fast path does after an event.
enum Step {
    Go,
    /// Too many events: the request is refused.
    Stop,
    /// Something only the `Value` path reports exactly: process the body again with it.
    Restart,
}

impl<'s> Proc<'s> {
    fn new(source: &'s Source, opts: Options) -> Proc<'s> {
        Proc {
            source,
            opts,
            index: 0,
            accepted: Out::new(opts.gzip_level),
            rejected: Out::new(opts.gzip_level),
            failures: Vec::new(),
            min_t: None,
            max_t: None,
            devices_seen: HashSet::new(),
            device_ids: Vec::new(),
            ids: source.config.id_field.as_ref().map(|_| Vec::new()),
            stop: None,
            fast_events: 0,
            line: Vec::with_capacity(4096),
        }
    }

    /// Room for one more event? Sets `stop` when not.
    fn admit(&mut self) -> bool {
        if self.index >= self.opts.max_events {
            self.stop = Some(ProcessError::TooManyEvents {
                limit: self.opts.max_events,
            });
            return false;
        }
        true
    }

    fn parsed(&mut self, c: Checked) -> io::Result<()> {
        let Checked {
            value: v,
            duplicates,
        } = c;
        let index = self.index;
        self.index += 1;
        let errors: Vec<String> = if !v.is_object() {
            vec!["the event is not a JSON object".to_string()]
        } else if !duplicates.is_empty() {
            // serde_json would keep the last of them; which one the device meant is
            // unknown, so the event is not stored as valid.
            duplicates
                .iter()
                .map(|p| cut(format!("{p}: the key appears more than once in its object")))
                .collect()
        } else if self.source.validator.is_valid(&v) {
            Vec::new()
        } else {
            self.source
                .validator
                .iter_errors(&v)
                .take(MAX_ERRORS_PER_EVENT)
                .map(|e| {
                    let at = e.instance_path().as_str();
                    cut(format!("{}: {e}", if at.is_empty() { "/" } else { at }))
                })
                .collect()
        };
        if errors.is_empty() {
            self.accept(&v)
        } else {
            self.reject(index, errors, Rejected::Parsed(&v))
        }
    }

    /// An array element or NDJSON line read by the scanner: `text` its bytes, `tape` its
    /// entries. Admits it (like the `Value` path: after reading it) unless `admitted`.
    fn scanned(&mut self, text: &[u8], tape: &[Entry], shape: Shape, admitted: bool) -> Step {
        let src = if shape.slow {
            None
        } else {
            std::str::from_utf8(text).ok()
        };
        match src {
            Some(src) => {
                if !admitted && !self.admit() {
                    return Step::Stop;
                }
                let doc = Doc { src, entries: tape };
                self.fast_event(text, &doc, shape.spaced)
            }
            None => {
                let Ok(v) = strict::from_slice(text) else {
                    return Step::Restart;
                };
                if !admitted && !self.admit() {
                    return Step::Stop;
                }
                self.parsed(v).expect("writing to memory cannot fail");
                Step::Go
            }
        }
    }

    /// An admitted event in canonical form: stored as it came when valid; otherwise
    /// (and when not an object) the `Value` path gives its reasons.
    fn fast_event(&mut self, text: &[u8], doc: &Doc<'_>, spaced: bool) -> Step {
        let root = doc.root();
        if !root.is_object() || !self.source.fast.is_valid(root) {
            let Ok(v) = strict::from_slice(text) else {
                return Step::Restart;
            };
            self.parsed(v).expect("writing to memory cannot fail");
            return Step::Go;
        }
        self.index += 1;
        self.fast_events += 1;
        let cfg = &self.source.config;
        if let (Some(ids), Some(field)) = (&mut self.ids, &cfg.id_field) {
            match root.path(field).and_then(tape_scalar_text) {
                Some(id) => ids.push(id),
                None => self.ids = None,
            }
        }
        let time = cfg.time_field.as_ref().and_then(|f| root.path(f));
        if let Some(ms) = time.and_then(|t| t.str()).and_then(parse_rfc3339) {
            self.min_t = Some(self.min_t.map_or(ms, |m| m.min(ms)));
            self.max_t = Some(self.max_t.map_or(ms, |m| m.max(ms)));
        }
        let device = cfg.device_field.as_ref().and_then(|f| root.path(f));
        if let Some(d) = device.and_then(tape_scalar_text)
            && !self.devices_seen.contains(&d)
        {
            if self.device_ids.len() < self.opts.max_device_ids {
                self.device_ids.push(d.clone());
            }
            self.devices_seen.insert(d);
        }
        let w = self.accepted.writer();
        let written = if spaced {
            self.line.clear();
            crate::tape::compact_into(text, &mut self.line);
            self.line.push(b'\n');
            w.write_all(&self.line)
        } else {
            w.write_all(text).and_then(|()| w.write_all(b"\n"))
        };
        written.expect("writing to memory cannot fail");
        Step::Go
    }

    fn unparsed(&mut self, raw: &[u8], error: String) -> io::Result<()> {
        let index = self.index;
        self.index += 1;
        self.reject(index, vec![cut(error)], Rejected::Raw(raw))
    }

    fn accept(&mut self, v: &Value) -> io::Result<()> {
        let cfg = &self.source.config;
        if let (Some(ids), Some(field)) = (&mut self.ids, &cfg.id_field) {
            match get_path(v, field).and_then(scalar_text) {
                Some(id) => ids.push(id),
                None => self.ids = None,
            }
        }
        let time = cfg.time_field.as_ref().and_then(|f| get_path(v, f));
        if let Some(ms) = time.and_then(Value::as_str).and_then(parse_rfc3339) {
            self.min_t = Some(self.min_t.map_or(ms, |m| m.min(ms)));
            self.max_t = Some(self.max_t.map_or(ms, |m| m.max(ms)));
        }
        let device = cfg.device_field.as_ref().and_then(|f| get_path(v, f));
        if let Some(d) = device.and_then(scalar_text)
            && !self.devices_seen.contains(&d)
        {
            if self.device_ids.len() < self.opts.max_device_ids {
                self.device_ids.push(d.clone());
            }
            self.devices_seen.insert(d);
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, v)?;
        self.line.push(b'\n');
        self.accepted.writer().write_all(&self.line)
    }

    fn reject(&mut self, index: usize, errors: Vec<String>, event: Rejected<'_>) -> io::Result<()> {
        let w = &mut self.line;
        w.clear();
        write!(w, "{{\"index\":{index},\"errors\":")?;
        serde_json::to_writer(&mut *w, &errors)?;
        match event {
            Rejected::Parsed(v) => {
                w.extend_from_slice(b",\"event\":");
                serde_json::to_writer(&mut *w, v)?;
            }
            Rejected::Raw(raw) => write_raw(w, raw)?,
        }
        w.extend_from_slice(b"}\n");
        self.rejected.writer().write_all(&self.line)?;
        self.failures.push(Failure { index, errors });
        Ok(())
    }

    /// NDJSON line `n` (0-based, admitted) by the `Value` path.
    fn line_by_value(&mut self, n: usize, line: &[u8]) {
        match strict::from_slice(line) {
            Ok(v) => self.parsed(v),
            Err(e) => self.unparsed(
                line,
                format!(
                    "invalid JSON on line {}, column {}: {}",
                    n + 1,
                    e.column(),
                    bare_message(&e)
                ),
            ),
        }
        .expect("writing to memory cannot fail");
    }

    fn finish(self) -> Processed {
        let accepted = self.accepted.finish();
        let rejected = self.rejected.finish();
        Processed {
            total: self.index,
            failures: self.failures,
            malformed: None,
            min_event_time: self.min_t,
            max_event_time: self.max_t,
            device_count: self.devices_seen.len(),
            device_ids: self.device_ids,
            content: identity(self.ids.as_deref(), &accepted),
            event_ids: self.ids.filter(|ids| !ids.is_empty()),
            fast_events: self.fast_events,
            accepted,
            rejected,
        }
    }
}

/// The `event` member of a rejected line holding text that did not parse: the text as
/// a JSON string when it is UTF-8, else `event_base64` with the bytes as they came.
fn write_raw(w: &mut Vec<u8>, raw: &[u8]) -> io::Result<()> {
    match std::str::from_utf8(raw) {
        Ok(text) => {
            w.extend_from_slice(b",\"event\":");
            serde_json::to_writer(&mut *w, text)?;
        }
        Err(_) => {
            w.extend_from_slice(b",\"event_base64\":\"");
            w.extend_from_slice(BASE64.encode(raw).as_bytes());
            w.push(b'"');
        }
    }
    Ok(())
}

/// [`Processed::content`] of the accepted stream and, when every accepted event had
/// one, their ids.
fn identity(ids: Option<&[String]>, accepted: &Stream) -> Option<[u8; 32]> {
    if accepted.lines == 0 {
        return None;
    }
    let mut h = Sha256::new();
    match ids {
        Some(ids) => {
            let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            for id in sorted {
                // Length-prefixed, so ids containing separators cannot collide.
                h.update((id.len() as u64).to_le_bytes());
                h.update(id.as_bytes());
            }
        }
        None => h.update(&accepted.gz),
    }
    Some(h.finalize().into())
}

/// Drives `Proc` over the elements of a top-level JSON array as they are parsed.
struct Elements<'p, 's>(&'p mut Proc<'s>);

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let mut dups = Vec::new();
            let seed = strict::Seed {
                path: String::new(),
                dups: &mut dups,
            };
            let Some(value) = seq.next_element_seed(seed)? else {
                return Ok(());
            };
            let v = Checked {
                value,
                duplicates: dups,
            };
            if !self.0.admit() {
                return Err(de::Error::custom("too many events"));
            }
            self.0.parsed(v).map_err(de::Error::custom)?;
        }
    }
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

/// `serde_json`'s message without its " at line L column C" suffix.
fn bare_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn malformed(opts: Options, body: &[u8], e: &serde_json::Error) -> Processed {
    let m = Malformed {
        message: format!(
            "the body is not valid JSON: {} at line {}, column {}",
            bare_message(e),
            e.line(),
            e.column()
        ),
        line: e.line(),
        column: e.column(),
    };
    let mut out = Out::new(opts.gzip_level);
    let w = out.writer();
    let written = (|| -> io::Result<()> {
        w.write_all(b"{\"index\":null,\"errors\":")?;
        serde_json::to_writer(&mut *w, &[&m.message])?;
        let mut line = Vec::new();
        write_raw(&mut line, body)?;
        w.write_all(&line)?;
        w.write_all(b"}\n")
    })();
    written.expect("writing to memory cannot fail");
    Processed {
        rejected: out.finish(),
        malformed: Some(m),
        ..Processed::default()
    }
}

/// Processes a decoded body for `source`.
pub fn process(
    source: &Source,
    opts: Options,
    format: Format,
    body: &[u8],
) -> Result<Processed, ProcessError> {
    match process_fast(source, opts, format, body) {
        Some(r) => r,
        None => process_values(source, opts, format, body),
    }
}

/// The fast path; `None` when the body must be processed by the `Value` path.
fn process_fast(
    source: &Source,
    opts: Options,
    format: Format,
    body: &[u8],
) -> Option<Result<Processed, ProcessError>> {
    let mut p = Proc::new(source, opts);
    match format {
        Format::Json => {
            let mut sc = Scanner::new(body, Vec::new());
            sc.skip_ws();
            if sc.peek() == Some(b'[') {
                sc.pos += 1;
                sc.skip_ws();
                if sc.peek() == Some(b']') {
                    sc.pos += 1;
                } else {
                    loop {
                        let (start, end, shape) = sc.value().ok()?;
                        match p.scanned(&body[start..end], sc.tape(), shape, false) {
                            Step::Go => {}
                            Step::Stop => return Some(Err(p.stop.take().expect("set by admit"))),
                            Step::Restart => return None,
                        }
                        sc.skip_ws();
                        match sc.peek() {
                            Some(b',') => {
                                sc.pos += 1;
                                sc.skip_ws();
                            }
                            Some(b']') => {
                                sc.pos += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                sc.skip_ws();
                if sc.pos != body.len() {
                    return None;
                }
            } else {
                // One event: the `Value` path neither admits it nor reads it partly.
                let (start, end, shape) = sc.value().ok()?;
                sc.skip_ws();
                if sc.pos != body.len() || shape.slow {
                    return None;
                }
                let src = std::str::from_utf8(&body[start..end]).ok()?;
                let doc = Doc {
                    src,
                    entries: sc.tape(),
                };
                if let Step::Restart = p.fast_event(&body[start..end], &doc, shape.spaced) {
                    return None;
                }
            }
        }
        Format::Ndjson => {
            let mut tape = Vec::new();
            for (n, line) in body.split(|b| *b == b'\n').enumerate() {
                let line = line.trim_ascii();
                if line.is_empty() {
                    continue;
                }
                if !p.admit() {
                    return Some(Err(p.stop.take().expect("set by admit")));
                }
                let mut sc = Scanner::new(line, tape);
                let read = sc.value();
                let step = match read {
                    Ok((_, end, shape)) if end == line.len() => {
                        p.scanned(line, sc.tape(), shape, true)
                    }
                    _ => Step::Restart,
                };
                tape = sc.into_tape();
                if let Step::Restart = step {
                    p.line_by_value(n, line);
                }
            }
        }
    }
    Some(Ok(p.finish()))
}

/// Processes a decoded body with a `serde_json::Value` per event (the reference path;
/// [`process`] falls back on it).
pub fn process_values(
    source: &Source,
    opts: Options,
    format: Format,
    body: &[u8],
) -> Result<Processed, ProcessError> {
    let mut p = Proc::new(source, opts);
    match format {
        Format::Json => {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            if first == Some(&b'[') {
                let mut de = serde_json::Deserializer::from_slice(body);
                let r = Elements(&mut p)
                    .deserialize(&mut de)
                    .and_then(|()| de.end());
                if let Err(e) = r {
                    if let Some(stop) = p.stop {
                        return Err(stop);
                    }
                    return Ok(malformed(opts, body, &e));
                }
            } else {
                match strict::from_slice(body) {
                    Ok(v) => p.parsed(v).expect("writing to memory cannot fail"),
                    Err(e) => return Ok(malformed(opts, body, &e)),
                }
            }
        }
        Format::Ndjson => {
            for (n, line) in body.split(|b| *b == b'\n').enumerate() {
                let line = line.trim_ascii();
                if line.is_empty() {
                    continue;
                }
                if !p.admit() {
                    return Err(p.stop.take().expect("set by admit"));
                }
                p.line_by_value(n, line);
            }
        }
    }
    Ok(p.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::{Names, Setup};
    use flate2::read::GzDecoder;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::io::Read;

    fn setup(schema: Value) -> Setup {
        let mut sources = BTreeMap::new();
        sources.insert(
            "pos".to_string(),
            pipewright_ingest_config::SourceConfig {
                route: "/v1/pos/sales".into(),
                schema_version: "1.0.0".into(),
                schema,
                max_body_bytes: 1 << 20,
                max_events: 5,
                id_field: Some("id".into()),
                time_field: Some("at".into()),
                device_field: Some("device.id".into()),
                start_jobs: vec![],
            },
        );
        let config = pipewright_ingest_config::IngestConfig {
            version: pipewright_ingest_config::CONFIG_VERSION,
            pipeline: "p".into(),
            environment: "dev".into(),
            partitioning: pipewright_ingest_config::Partitioning::Hour,
            gzip_level: 6,
            max_device_ids: 2,
            index_ttl_days: None,
            idempotency_ttl_days: 7,
            lookups: Default::default(),
            sources,
        };
        let names = Names {
            raw_bucket: "b".into(),
            index_table: "t".into(),
            kms_key_arn: None,
        };
        Setup::new(config, names).unwrap()
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["id", "total"],
            "properties": {
                "id": {"type": "string"},
                "total": {"type": "number", "multipleOf": 0.01, "minimum": 0},
                "at": {"type": "string", "format": "date-time"}
            }
        })
    }

    const OPTS: Options = Options {
        gzip_level: 6,
        max_events: 5,
        max_device_ids: 2,
    };

    fn gunzip(gz: &[u8]) -> String {
        let mut s = String::new();
        GzDecoder::new(gz).read_to_string(&mut s).unwrap();
        s
    }

    fn run(format: Format, body: &str) -> Result<Processed, ProcessError> {
        let s = setup(schema());
        process(s.source("pos").unwrap(), OPTS, format, body.as_bytes())
    }

    #[test]
    fn a_single_object_is_one_event_and_keeps_its_key_order() {
        let p = run(
            Format::Json,
            r#" {"total": 1.5, "id": "a",  "zeta": {"b": 1, "a": 2}} "#,
        )
        .unwrap();
        assert_eq!((p.total, p.accepted.lines, p.rejected.lines), (1, 1, 0));
        let text = gunzip(&p.accepted.gz);
        assert_eq!(
            text,
            "{\"total\":1.5,\"id\":\"a\",\"zeta\":{\"b\":1,\"a\":2}}\n"
        );
        assert_eq!(p.accepted.bytes, text.len() as u64);
        assert!(p.rejected.gz.is_empty());
        assert_eq!(p.event_ids, Some(vec!["a".to_string()]));
    }

    #[test]
    fn an_array_is_split_into_events_and_failures_are_reasoned() {
        let p = run(
            Format::Json,
            r#"[{"id":"a","total":1},{"id":"b","total":-1},7,{"id":"c","total":"x","at":"2026-11-27T10:00:00Z"}]"#,
        )
        .unwrap();
        assert_eq!((p.total, p.accepted.lines, p.rejected.lines), (4, 1, 3));
        let idx: Vec<usize> = p.failures.iter().map(|f| f.index).collect();
        assert_eq!(idx, [1, 2, 3]);
        assert!(
            p.failures[0].errors[0].starts_with("/total: "),
            "{:?}",
            p.failures[0]
        );
        assert_eq!(p.failures[1].errors, ["the event is not a JSON object"]);
        let lines: Vec<Value> = gunzip(&p.rejected.gz)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines[1],
            json!({"index": 2, "errors": ["the event is not a JSON object"], "event": 7})
        );
        assert_eq!(
            lines[2]["event"],
            json!({"id":"c","total":"x","at":"2026-11-27T10:00:00Z"})
        );
        // Times, devices and ids come from accepted events only.
        assert_eq!(p.min_event_time, None);
        assert_eq!(p.event_ids, Some(vec!["a".to_string()]));
    }

    #[test]
    fn multiple_of_a_hundredth_accepts_prices() {
        // Binary floating point cannot hold 0.07 or 19.99 exactly; a naive
        // `value / 0.01` check rejects them. jsonschema 0.61 compares decimals.
        let s = setup(schema());
        let v = &s.source("pos").unwrap().validator;
        for ok in [
            "0.07",
            "19.99",
            "0.1",
            "0.3",
            "1.15",
            "1234567.89",
            "4.35",
            "0",
        ] {
            let e: Value = serde_json::from_str(&format!(r#"{{"id":"a","total":{ok}}}"#)).unwrap();
            assert!(v.is_valid(&e), "{ok} was rejected");
        }
        for bad in ["0.071", "19.999", "0.005"] {
            let e: Value = serde_json::from_str(&format!(r#"{{"id":"a","total":{bad}}}"#)).unwrap();
            assert!(!v.is_valid(&e), "{bad} was accepted");
        }
    }

    #[test]
    fn ndjson_lines_are_events_and_bad_lines_are_kept_raw() {
        let body = "{\"id\":\"a\",\"total\":1,\"at\":\"2026-11-27T10:00:00+01:00\",\"device\":{\"id\":\"d1\"}}\r\n\n  \n{\"id\":\"b\",\"total\":2,\"at\":\"2026-11-27T08:30:00Z\",\"device\":{\"id\":\"d2\"}}\n{oops\n{\"id\":\"c\",\"total\":3,\"device\":{\"id\":\"d3\"}}\n{\"id\":\"d\",\"total\":3,\"device\":{\"id\":\"d1\"}}";
        let p = run(Format::Ndjson, body).unwrap();
        assert_eq!((p.total, p.accepted.lines, p.rejected.lines), (5, 4, 1));
        assert_eq!(p.failures[0].index, 2);
        assert_eq!(
            p.failures[0].errors[0],
            "invalid JSON on line 5, column 2: key must be a string"
        );
        let rejected: Value = serde_json::from_str(gunzip(&p.rejected.gz).trim_end()).unwrap();
        assert_eq!(rejected["event"], json!("{oops"));
        assert_eq!(
            p.min_event_time
                .map(crate::timefmt::format_millis)
                .as_deref(),
            Some("2026-11-27T08:30:00.000Z")
        );
        assert_eq!(
            p.max_event_time
                .map(crate::timefmt::format_millis)
                .as_deref(),
            Some("2026-11-27T09:00:00.000Z")
        );
        assert_eq!(p.device_ids, ["d1", "d2"]);
        assert_eq!(p.device_count, 3);
        // The line that did not parse was rejected: the ids are the accepted events'.
        assert_eq!(
            p.event_ids,
            Some(vec!["a".into(), "b".into(), "c".into(), "d".into()])
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_stored_with_its_position() {
        let p = run(Format::Json, "[{\"id\":\"a\",\"total\":1},\n {\"id\": }]").unwrap();
        let m = p.malformed.unwrap();
        assert_eq!((m.line, m.column), (2, 9));
        assert_eq!(
            m.message,
            "the body is not valid JSON: expected value at line 2, column 9"
        );
        assert_eq!(p.accepted.lines, 0);
        let line: Value = serde_json::from_str(gunzip(&p.rejected.gz).trim_end()).unwrap();
        assert_eq!(line["index"], Value::Null);
        assert_eq!(
            line["event"],
            json!("[{\"id\":\"a\",\"total\":1},\n {\"id\": }]")
        );
        let p = run(Format::Json, "").unwrap();
        assert!(p.malformed.is_some());
        let p = run(Format::Json, "{\"id\":\"a\",\"total\":1} trailing").unwrap();
        assert!(p.malformed.is_some());
    }

    #[test]
    fn too_many_events_stop_early() {
        let six = (0..6)
            .map(|i| format!("{{\"id\":\"{i}\",\"total\":1}}"))
            .collect::<Vec<_>>();
        assert_eq!(
            run(Format::Json, &format!("[{}]", six.join(","))).unwrap_err(),
            ProcessError::TooManyEvents { limit: 5 }
        );
        assert_eq!(
            run(Format::Ndjson, &six.join("\n")).unwrap_err(),
            ProcessError::TooManyEvents { limit: 5 }
        );
        assert_eq!(
            run(Format::Ndjson, &six[..5].join("\n"))
                .unwrap()
                .accepted
                .lines,
            5
        );
    }

    #[test]
    fn ids_are_collected_when_every_event_has_one() {
        let p = run(
            Format::Json,
            r#"[{"id":"b","total":1},{"id":"a","total":-5}]"#,
        )
        .unwrap();
        // "a" was rejected (a negative total): only accepted events have ids here.
        assert_eq!(p.event_ids, Some(vec!["b".to_string()]));
        let p = run(Format::Json, "[]").unwrap();
        assert_eq!((p.total, p.event_ids, p.content), (0, None, None));
        // An event without an id is rejected by this schema: its absence does not
        // take the accepted events' ids away.
        let p = run(Format::Json, r#"[{"id":"b","total":1},{"total":2}]"#).unwrap();
        assert_eq!(p.event_ids, Some(vec!["b".to_string()]));
        assert_eq!((p.total, p.failures.len(), p.accepted.lines), (2, 1, 1));
    }

    /// Runs both paths on `body` and checks they agree on everything; returns the fast
    /// path's result.
    fn same(
        format: Format,
        schema: Value,
        max_events: usize,
        body: &[u8],
    ) -> Result<Processed, ProcessError> {
        let s = setup(schema);
        let src = s.source("pos").unwrap();
        let opts = Options { max_events, ..OPTS };
        let fast = process(src, opts, format, body);
        let slow = process_values(src, opts, format, body);
        let show = String::from_utf8_lossy(body);
        match (&fast, &slow) {
            (Ok(f), Ok(v)) => {
                assert_eq!(
                    gunzip_or_empty(&f.accepted.gz),
                    gunzip_or_empty(&v.accepted.gz),
                    "{show}"
                );
                assert_eq!(
                    gunzip_or_empty(&f.rejected.gz),
                    gunzip_or_empty(&v.rejected.gz),
                    "{show}"
                );
                assert_eq!(
                    (
                        f.total,
                        f.accepted.lines,
                        f.accepted.bytes,
                        f.rejected.lines,
                        f.rejected.bytes
                    ),
                    (
                        v.total,
                        v.accepted.lines,
                        v.accepted.bytes,
                        v.rejected.lines,
                        v.rejected.bytes
                    ),
                    "{show}"
                );
                assert_eq!(f.failures, v.failures, "{show}");
                assert_eq!(f.malformed, v.malformed, "{show}");
                assert_eq!(
                    (f.min_event_time, f.max_event_time),
                    (v.min_event_time, v.max_event_time),
                    "{show}"
                );
                assert_eq!(
                    (&f.device_ids, f.device_count),
                    (&v.device_ids, v.device_count),
                    "{show}"
                );
                assert_eq!(f.event_ids, v.event_ids, "{show}");
                assert_eq!(f.content, v.content, "{show}");
                assert_eq!(v.fast_events, 0);
            }
            (Err(f), Err(v)) => assert_eq!(f, v, "{show}"),
            _ => panic!("{show}: the paths disagree: {fast:?} / {slow:?}"),
        }
        fast
    }

    fn gunzip_or_empty(gz: &[u8]) -> String {
        if gz.is_empty() {
            String::new()
        } else {
            gunzip(gz)
        }
    }

    fn rich_schema() -> Value {
        json!({
            "type": "object",
            "required": ["id", "total"],
            "properties": {
                "id": {"type": ["string", "integer"]},
                "total": {"type": "number", "multipleOf": 0.01, "minimum": 0},
                "at": {"type": "string", "format": "date-time"},
                "pay": {"enum": ["card", "cash", 3, null, true]},
                "tags": {"type": "array", "uniqueItems": true, "maxItems": 3},
                "name": {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[^x]"},
                "device": {"type": "object", "properties": {"id": {"type": "string"}}, "propertyNames": {"maxLength": 4}},
                "qty": {"type": "integer"}
            }
        })
    }

    #[test]
    fn the_fast_path_agrees_with_the_value_path() {
        let events = [
            // canonical and valid: stored as they came
            r#"{"id":"a","total":1.5,"at":"2026-11-27T10:00:00Z","device":{"id":"d1"}}"#,
            r#"{"id":7,"total":0.07,"pay":"cash","tags":[1,"x",{"a":1}],"qty":3}"#,
            r#"{"total":19.99,"id":"é ü 漢字 😀","name":"ok"}"#,
            r#"{"id":"n","total":100.0,"qty":-12,"pay":null}"#,
            r#"{"id":"z","total":0.0001,"qty":18446744073709551615}"#,
            // spaced: compacted
            "{ \"id\" : \"s\",\n\t\"total\" : 2.25 , \"tags\" : [ 1 , 2 ] }",
            // not canonical: the Value path writes them
            r#"{"id":"e","total":1.50}"#,
            r#"{"id":"e","total":1e2}"#,
            r#"{"id":"e","total":1E-2,"qty":-0}"#,
            r#"{"id":"e","total":0.000001}"#,
            r#"{"id":"e","total":12345678901234567}"#,
            r#"{"id":"e","total":123456789012345678901234567890}"#,
            r#"{"id":"e","total":-0.0}"#,
            r#"{"id":"e","total":0.30000000000000004}"#,
            r#"{"id":"e\u00e9\/","total":1,"name":"a\"b\\c\nd"}"#,
            r#"{"id":"dup","total":1,"total":2}"#,
            r#"{"id":"dup","total":1,"device":{"id":"a","id":"b"}}"#,
            // invalid events: reasons from the Value path
            r#"{"id":"i","total":-1}"#,
            r#"{"id":"i","total":0.071,"pay":"gold","tags":[1,1]}"#,
            r#"{"id":"i","total":1,"name":"xyz","at":"yesterday"}"#,
            r#"{"id":"i","total":1,"name":"123456789"}"#,
            r#"{"id":"i","total":1,"device":{"long-name":1}}"#,
            r#"{"id":"i","total":1,"qty":1.5}"#,
            r#"{"id":"i","total":1,"qty":2.0}"#,
            r#"{"total":1}"#,
            r#"[1,2]"#,
            r#""text""#,
            r#"7"#,
            r#"null"#,
        ];
        for format in [Format::Json, Format::Ndjson] {
            let body = match format {
                Format::Json => format!("[{}]", events.join(",")),
                // (one line per event: the spaced event's newline becomes a space)
                Format::Ndjson => events.map(|e| e.replace('\n', " ")).join("\n"),
            };
            let p = same(format, rich_schema(), 100, body.as_bytes()).unwrap();
            assert_eq!(p.malformed, None);
            assert_eq!(p.total, events.len());
            // The six first, and `"qty":2.0` (an integer to JSON Schema, printed as is).
            assert_eq!(p.fast_events, 7, "{format:?}");
            for e in &events {
                same(Format::Json, rich_schema(), 100, e.as_bytes()).unwrap();
                same(
                    Format::Json,
                    rich_schema(),
                    100,
                    format!(" [ {e} ] ").as_bytes(),
                )
                .unwrap();
            }
        }
        // A canonical event is stored byte for byte.
        let p = same(Format::Json, rich_schema(), 100, events[2].as_bytes()).unwrap();
        assert_eq!(p.fast_events, 1);
        assert_eq!(gunzip(&p.accepted.gz), format!("{}\n", events[2]));
    }

    #[test]
    fn bodies_the_fast_path_cannot_frame_are_the_value_paths() {
        let deep = format!(
            "[{{\"id\":\"a\",\"total\":1,\"x\":{}{}}}]",
            "[".repeat(150),
            "]".repeat(150)
        );
        let bodies: Vec<Vec<u8>> = vec![
            b"[{\"id\":\"a\",\"total\":1},]".to_vec(),
            b"[{\"id\":\"a\",\"total\":1}] x".to_vec(),
            b"[{\"id\":\"a\",\"total\":01}]".to_vec(),
            b"[{\"id\":\"a\",\"total\":1.}]".to_vec(),
            b"[{\"id\":\"a\",\"total\":1e999}]".to_vec(),
            b"[{\"id\":\"a\xff\",\"total\":1}]".to_vec(),
            b"[{\"id\":\"a\x01\",\"total\":1}]".to_vec(),
            b"[{\"id\":\"\\ud800\",\"total\":1}]".to_vec(),
            b"[{\"id\":\"\\x\",\"total\":1}]".to_vec(),
            b"[{\"id\":\"a\",\"total\":tru}]".to_vec(),
            b"[{\"id\":\"a\" \"total\":1}]".to_vec(),
            b"[{\"id\":\"a\",\"total\":1}".to_vec(),
            b"[{\"id\":\"a\",\"total\":1}, {\"id\":\"b\",\"total\":1}, {\"id\":".to_vec(),
            b"{\"id\":\"a\",\"total\":1} {}".to_vec(),
            b"[]".to_vec(),
            b"  ".to_vec(),
            b"".to_vec(),
            deep.into_bytes(),
        ];
        for b in &bodies {
            same(Format::Json, rich_schema(), 100, b).unwrap();
            same(Format::Ndjson, rich_schema(), 100, b).unwrap();
        }
        // The event limit stops both paths alike, also when a later part is invalid.
        let six = [r#"{"id":"a","total":1}"#; 6].join(",");
        for body in [
            format!("[{six}]"),
            format!("[{six},oops"),
            format!("[{six}] trailing"),
        ] {
            assert_eq!(
                same(Format::Json, rich_schema(), 5, body.as_bytes()).unwrap_err(),
                ProcessError::TooManyEvents { limit: 5 }
            );
        }
        let five = [r#"{"id":"a","total":1}"#; 5].join(",");
        assert!(
            same(
                Format::Json,
                rich_schema(),
                5,
                format!("[{five},oops").as_bytes()
            )
            .unwrap()
            .malformed
            .is_some()
        );
    }

    #[test]
    fn canonical_numbers_are_what_serde_json_prints() {
        let mut texts: Vec<String> = [
            "0",
            "-1",
            "1",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-922337203685477580",
            "0.1",
            "0.5",
            "0.00001",
            "0.000012",
            "0.000001",
            "1.0",
            "10.0",
            "100000000000000.0",
            "1000000000000000.0",
            "123456789012345.6",
            "12345678901234.56",
            "999999999999999",
            "0.999999999999999",
            "9.999999999999999",
            "2.675",
            "1.005",
            "0.3",
            "-0.5",
            "-12.75",
            "4.35",
            "1234567.89",
            "0.10",
            "1.50",
            "-0",
            "-0.0",
            "0.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Prices and measurements of every shape up to 15 digits.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = 1 + (x % 17) as usize;
            let int: String = (x >> 8).to_string().chars().take(digits).collect();
            let point = (x >> 3) as usize % (int.len() + 5);
            let t = if point == 0 {
                int.clone()
            } else if point <= int.len() {
                let (a, b) = int.split_at(int.len() - point.min(int.len() - 1).max(1));
                format!("{a}.{b}")
            } else {
                format!("0.{}{}", "0".repeat(point - int.len()), int)
            };
            texts.push(if x.is_multiple_of(5) {
                format!("-{t}")
            } else {
                t
            });
        }
        let mut canonical = 0;
        for t in &texts {
            let negative = t.starts_with('-');
            let body = t.trim_start_matches('-');
            let (int, frac) = match body.split_once('.') {
                Some((i, f)) => (i, Some(f.as_bytes())),
                None => (body, None),
            };
            if int.len() > 1 && int.starts_with('0') {
                continue;
            }
            if serde_json::from_str::<Value>(t).is_err() {
                continue; // not a JSON number: the scanner never asks
            }
            let Some(n) = crate::tape::canonical_number(t, negative, int.as_bytes(), frac) else {
                continue;
            };
            canonical += 1;
            let v: Value = serde_json::from_str(t).unwrap();
            assert_eq!(v, Value::Number(n.clone()), "{t}");
            assert_eq!(&serde_json::to_string(&v).unwrap(), t, "{t}");
        }
        assert!(canonical > 10_000, "{canonical}");
    }

    #[test]
    fn long_reasons_are_cut_on_a_char_boundary() {
        let s = cut("é".repeat(400));
        assert!(s.len() <= MAX_ERROR_LEN + '…'.len_utf8());
        assert!(s.ends_with('…'));
    }

    #[test]
    fn duplicate_keys_reject_the_event_with_their_paths() {
        for format in [Format::Json, Format::Ndjson] {
            let body = match format {
                Format::Json => r#"[{"id":"a","total":1},{"id":"b","total":1,"total":2}]"#,
                Format::Ndjson => {
                    "{\"id\":\"a\",\"total\":1}\n{\"id\":\"b\",\"total\":1,\"total\":2}"
                }
            };
            let p = same(format, schema(), 5, body.as_bytes()).unwrap();
            assert_eq!((p.accepted.lines, p.rejected.lines), (1, 1), "{format:?}");
            assert_eq!(p.failures[0].index, 1);
            assert_eq!(
                p.failures[0].errors,
                ["/total: the key appears more than once in its object"]
            );
        }
        let p = same(
            Format::Json,
            schema(),
            5,
            br#"{"id":"a","total":1,"x":{"k":1,"k":1}}"#,
        )
        .unwrap();
        assert_eq!(p.accepted.lines, 0);
        assert_eq!(
            p.failures[0].errors,
            ["/x/k: the key appears more than once in its object"]
        );
    }

    #[test]
    fn text_that_is_not_utf8_is_kept_byte_for_byte() {
        let line = b"{\"id\":\"\xff\xfe\"}";
        let mut body = b"{\"id\":\"a\",\"total\":1}\n".to_vec();
        body.extend_from_slice(line);
        let p = process(
            setup(schema()).source("pos").unwrap(),
            OPTS,
            Format::Ndjson,
            &body,
        )
        .unwrap();
        assert_eq!((p.accepted.lines, p.rejected.lines), (1, 1));
        let rejected: Value = serde_json::from_str(gunzip(&p.rejected.gz).trim_end()).unwrap();
        assert_eq!(rejected.get("event"), None);
        let kept = BASE64
            .decode(rejected["event_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(kept, line);

        // A whole body that is not JSON, with bytes that are not UTF-8.
        let body = b"[{\"id\":\"a\"\x80, ]";
        let p = process(
            setup(schema()).source("pos").unwrap(),
            OPTS,
            Format::Json,
            body,
        )
        .unwrap();
        assert!(p.malformed.is_some());
        let rejected: Value = serde_json::from_str(gunzip(&p.rejected.gz).trim_end()).unwrap();
        let kept = BASE64
            .decode(rejected["event_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(kept, body);
    }

    #[test]
    fn content_is_the_accepted_events_in_any_order() {
        let a = run(
            Format::Json,
            r#"[{"id":"a","total":1},{"id":"b","total":2},{"id":"c","total":-1}]"#,
        )
        .unwrap();
        // Another order, whitespace, and another rejected event: the same events.
        let b = run(
            Format::Ndjson,
            "{\"id\": \"b\", \"total\": 2}\n{\"id\":\"a\",\"total\":1}\n{\"id\":\"x\"}",
        )
        .unwrap();
        assert!(a.content.is_some());
        assert_eq!(a.content, b.content);
        // A corrected event is accepted now: other events.
        let c = run(
            Format::Json,
            r#"[{"id":"a","total":1},{"id":"b","total":2},{"id":"c","total":1}]"#,
        )
        .unwrap();
        assert_ne!(a.content, c.content);
        // Independently: SHA-256 over the sorted ids, each after its length (u64 LE).
        let mut h = Sha256::new();
        for id in ["a", "b"] {
            h.update(1u64.to_le_bytes());
            h.update(id.as_bytes());
        }
        let want: [u8; 32] = h.finalize().into();
        assert_eq!(a.content, Some(want));

        // Without ids: the accepted gzip stream's SHA-256.
        let s = setup(json!({"type": "object"}));
        let src = s.source("pos").unwrap();
        let noid = |body: &str| process(src, OPTS, Format::Json, body.as_bytes()).unwrap();
        let p = noid(r#"[{"v":1},{"v":2}]"#);
        assert_eq!(p.event_ids, None);
        let want: [u8; 32] = Sha256::digest(&p.accepted.gz).into();
        assert_eq!(p.content, Some(want));
        assert_eq!(noid(r#"[{"v":1}, {"v":2}]"#).content, p.content);
        assert_ne!(noid(r#"[{"v":1},{"v":3}]"#).content, p.content);
    }
}
