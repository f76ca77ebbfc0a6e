//! The request handler: API Gateway proxy request in, proxy response out. It decodes
//! and processes the body, answers replays from the idempotency record, writes the raw
//! and rejected objects to S3, then indexes them in one DynamoDB transaction.

use std::time::SystemTime;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_glue::operation::start_job_run::StartJobRunError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use pipewright_ingest_config::layout;
use serde_json::{Value, json};
use tracing::{Instrument, error, info, info_span, warn};

use crate::batch::{self, Options, Processed};
use crate::body;
use crate::claim::{Claim, Commit, Table};
use crate::emf;
use crate::idempotency;
use crate::items::{self, Held, Stored};
use crate::setup::{MAX_TRANSACTION_ITEMS, Setup, Source};
use crate::timefmt::Received;

/// What a 207 to a request with an `Idempotency-Key` says about corrected events.
pub const RESEND_HINT: &str = "this Idempotency-Key now names the accepted events; send the rejected events, corrected, with a new key";

/// Header on a response replayed from the idempotency record.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// `Retry-After` seconds on 503.
pub const RETRY_AFTER_SECS: u32 = 2;
/// Budget (bytes of JSON) for the per-event failures listed in a response; the full
/// list is always in the rejected object.
pub const FAILURES_BUDGET: usize = 128 * 1024;

/// The AWS clients the handler uses.
#[derive(Debug, Clone)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub glue: aws_sdk_glue::Client,
}

impl Clients {
    /// Clients from a loaded SDK config. When the config overrides the endpoint (a
    /// local emulator), S3 uses path-style addressing.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Clients {
        let s3 = aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(conf.endpoint_url().is_some())
            .build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            glue: aws_sdk_glue::Client::new(conf),
        }
    }
}

/// Handles one request. Never fails: every outcome is a response. Prints the
/// request's EMF metric lines on stdout.
pub async fn handle(
    req: ApiGatewayProxyRequest,
    clients: &Clients,
    setup: &Setup,
    now: SystemTime,
) -> ApiGatewayProxyResponse {
    let (resp, metrics) = handle_collecting(req, clients, setup, now).await;
    for line in metrics {
        println!("{line}");
    }
    resp
}

/// [`handle`], returning the EMF lines instead of printing them.
pub async fn handle_collecting(
    req: ApiGatewayProxyRequest,
    clients: &Clients,
    setup: &Setup,
    now: SystemTime,
) -> (ApiGatewayProxyResponse, Vec<String>) {
    let request_id = request_id(req.request_context.request_id.as_deref());
    let span = info_span!("request", request_id = %request_id);
    let received = Received::at(now);
    let mut ctx = Ctx {
        pipeline: &setup.config.pipeline,
        request_id: &request_id,
        received: &received,
        metrics: Vec::new(),
    };
    let mut resp = match handle_in_span(&req, clients, setup, &mut ctx)
        .instrument(span)
        .await
    {
        Ok(resp) => resp,
        Err(early) => *early,
    };
    resp.headers
        .insert("x-request-id", header_value(&request_id));
    (resp, ctx.metrics)
}

/// An answer given before the request's last step: a refusal, a replay, or a 503
/// (boxed: it is the error side of every step's `Result`).
type Early = Box<ApiGatewayProxyResponse>;

/// What every answer of one request needs: its id, its receive time, and the EMF
/// lines gathered so far.
struct Ctx<'a> {
    pipeline: &'a str,
    request_id: &'a str,
    received: &'a Received,
    metrics: Vec<String>,
}

impl Ctx<'_> {
    /// A whole-request refusal, counted as `RequestsRefused`.
    fn refuse(
        &mut self,
        status: u16,
        source: Option<&str>,
        message: &str,
        extra: &[(&'static str, String)],
    ) -> Early {
        info!(status, reason = message, "request refused");
        self.metrics.push(emf::refused_line(
            self.pipeline,
            source.unwrap_or(emf::UNROUTED),
            self.request_id,
            self.received.epoch_millis,
            status,
        ));
        Box::new(response(
            status,
            json!({"request_id": self.request_id, "error": message}).to_string(),
            extra,
        ))
    }

    /// The stored first answer of an idempotency key, counted as `RequestsReplayed`.
    fn replay(&mut self, source: &str, status: u16, body: String) -> Early {
        info!(status, "replaying the first response");
        self.metrics.push(emf::replayed_line(
            self.pipeline,
            source,
            self.request_id,
            self.received.epoch_millis,
            status,
        ));
        Box::new(response(
            status,
            body,
            &[(REPLAYED_HEADER, "true".to_string())],
        ))
    }
}

/// A request id usable in an object key: the API Gateway one when it is safe, else a
/// new UUID.
pub fn request_id(from_gateway: Option<&str>) -> String {
    match from_gateway {
        Some(id)
            if !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            id.to_string()
        }
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn header<'a>(req: &'a ApiGatewayProxyRequest, name: &str) -> Option<&'a str> {
    req.headers
        .get(name)
        .or_else(|| req.multi_value_headers.get(name))
        .and_then(|v| v.to_str().ok())
}

/// A header's bytes as they came, visible ASCII or not (a key that is not must be
/// refused with its reason, not ignored).
fn header_bytes<'a>(req: &'a ApiGatewayProxyRequest, name: &str) -> Option<&'a [u8]> {
    req.headers
        .get(name)
        .or_else(|| req.multi_value_headers.get(name))
        .map(HeaderValue::as_bytes)
}

/// A JSON response.
pub fn response(
    status: u16,
    body: String,
    extra: &[(&'static str, String)],
) -> ApiGatewayProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (k, v) in extra {
        headers.insert(*k, header_value(v));
    }
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = i64::from(status);
    r.headers = headers;
    r.body = Some(Body::Text(body));
    r
}

fn unavailable(request_id: &str, what: &str, err: &str) -> Early {
    error!(step = what, error = err, "AWS call failed after retries");
    Box::new(response(
        503,
        json!({"request_id": request_id, "error": "storage is unavailable; retry later with the same Idempotency-Key"}).to_string(),
        &[("retry-after", RETRY_AFTER_SECS.to_string())],
    ))
}

/// The status and JSON body of a processed request. `idempotency_key`: the key and
/// whether the client sent it (a 207 then says how to resend corrected events).
pub fn outcome(
    request_id: &str,
    idempotency_key: Option<(&str, bool)>,
    p: &Processed,
    raw_key: Option<&str>,
    rejected_key: Option<&str>,
) -> (u16, String) {
    let mut body = serde_json::Map::new();
    body.insert("request_id".into(), json!(request_id));
    if let Some((k, _)) = idempotency_key {
        body.insert("idempotency_key".into(), json!(k));
    }
    body.insert("accepted".into(), json!(p.accepted.lines));
    body.insert("rejected".into(), json!(p.failures.len()));
    if let Some(k) = raw_key {
        body.insert("object_key".into(), json!(k));
    }
    if let Some(k) = rejected_key {
        body.insert("rejected_key".into(), json!(k));
    }
    let status = if let Some(m) = &p.malformed {
        body.insert("error".into(), json!(m.message));
        400
    } else if p.accepted.lines == 0 {
        body.insert("error".into(), json!("every event was rejected"));
        400
    } else if p.failures.is_empty() {
        200
    } else {
        if let Some((_, true)) = idempotency_key {
            body.insert("resend".into(), json!(RESEND_HINT));
        }
        207
    };
    if !p.failures.is_empty() {
        let mut used = 0;
        let mut listed = Vec::new();
        for f in &p.failures {
            let v = json!({"index": f.index, "errors": f.errors});
            used += v.to_string().len() + 1;
            if used > FAILURES_BUDGET {
                break;
            }
            listed.push(v);
        }
        if listed.len() < p.failures.len() {
            body.insert("failures_truncated".into(), json!(true));
        }
        body.insert("failures".into(), Value::Array(listed));
    }
    (status, Value::Object(body).to_string())
}

/// The request's steps, in order: route, decode and validate, claim the idempotency
/// key, store the objects, index them (and start the jobs it triggers), answer. The
/// protocol and what each failure leaves behind: functions/ingest/README.md.
async fn handle_in_span(
    req: &ApiGatewayProxyRequest,
    clients: &Clients,
    setup: &Setup,
    ctx: &mut Ctx<'_>,
) -> Result<ApiGatewayProxyResponse, Early> {
    let source = route(req, setup, ctx)?;
    let r = Routed {
        clients,
        setup,
        source,
    };
    let Decoded {
        header_key,
        processed,
        bytes_received,
    } = r.decode(req, ctx)?;
    let from_header = header_key.is_some();
    let idem_key = header_key.or_else(|| {
        processed
            .event_ids
            .as_ref()
            .and(processed.content.as_ref())
            .map(idempotency::derived_key)
    });
    let held = r.claim_key(ctx, idem_key.as_deref(), &processed).await?;
    // A retry that took a claim over stores under the first attempt's keys and date.
    let received = match &held {
        Some(h) => Received::from_millis(h.received_millis),
        None => ctx.received.clone(),
    };
    let keys = match &held {
        Some(h) => Keys {
            raw: Some(h.object_key.clone()),
            rejected: h.rejected_key.clone(),
        },
        None => r.fresh_keys(ctx.request_id, &received, &processed),
    };
    r.store(ctx, &processed, &keys, held.as_ref()).await?;
    let (status, body) = outcome(
        ctx.request_id,
        idem_key.as_deref().map(|k| (k, from_header)),
        &processed,
        keys.raw.as_deref(),
        keys.rejected.as_deref(),
    );
    if let Some(object_key) = &keys.raw {
        let content = processed.content.as_ref().map(|c| idempotency::hex(c));
        let st = Stored {
            source: &source.name,
            schema_version: &source.config.schema_version,
            object_key,
            rejected_key: keys.rejected.as_deref(),
            request_id: ctx.request_id,
            idempotency_key: idem_key.as_deref(),
            content: content.as_deref(),
            received: &received,
            processed: &processed,
        };
        r.index(ctx, &st, held.as_ref(), status, &body).await?;
        start_jobs(clients, source).await;
    }
    Ok(r.answer(ctx, &processed, bytes_received, &keys, status, body))
}

/// The source whose route the request names; only POST is served.
fn route<'s>(
    req: &ApiGatewayProxyRequest,
    setup: &'s Setup,
    ctx: &mut Ctx<'_>,
) -> Result<&'s Source, Early> {
    let path = req
        .resource
        .as_deref()
        .filter(|r| !r.is_empty() && !r.contains('{'))
        .or(req.path.as_deref())
        .unwrap_or("");
    let Some(source) = setup.source_for_route(path) else {
        return Err(ctx.refuse(404, None, &format!("no source has the route {path}"), &[]));
    };
    if req.http_method != Method::POST {
        return Err(ctx.refuse(
            405,
            Some(source.name.as_str()),
            "only POST is supported",
            &[("allow", "POST".into())],
        ));
    }
    Ok(source)
}

/// A decoded and validated body.
struct Decoded {
    /// The `Idempotency-Key` header's key, if the request sent one.
    header_key: Option<String>,
    processed: Processed,
    /// Bytes of the body after decoding.
    bytes_received: u64,
}

/// The object keys a request stores under (none where it has no such events).
struct Keys {
    raw: Option<String>,
    rejected: Option<String>,
}

/// A routed request's surroundings: the clients, the setup and its source.
struct Routed<'a> {
    clients: &'a Clients,
    setup: &'a Setup,
    source: &'a Source,
}

impl Routed<'_> {
    fn name(&self) -> Option<&str> {
        Some(self.source.name.as_str())
    }

    /// Headers and body: content type and encoding, the idempotency key, the body
    /// decoded within the source's limit and every event validated.
    fn decode(&self, req: &ApiGatewayProxyRequest, ctx: &mut Ctx<'_>) -> Result<Decoded, Early> {
        let (setup, source, name) = (self.setup, self.source, self.name());
        let cfg = &source.config;
        let format = body::format_for(header(req, "content-type"))
            .map_err(|e| ctx.refuse(e.status(), name, &e.to_string(), &[]))?;
        let gzip = body::is_gzip(header(req, "content-encoding"))
            .map_err(|e| ctx.refuse(e.status(), name, &e.to_string(), &[]))?;
        let header_key = header_bytes(req, "idempotency-key")
            .map(idempotency::header_key)
            .transpose()
            .map_err(|e| ctx.refuse(400, name, &e, &[]))?;
        let limit = usize::try_from(cfg.max_body_bytes).unwrap_or(usize::MAX);
        let decoded = body::decode(
            req.body.as_deref().unwrap_or(""),
            req.is_base64_encoded,
            gzip,
            limit,
        )
        .map_err(|e| ctx.refuse(e.status(), name, &e.to_string(), &[]))?;
        let opts = Options {
            gzip_level: setup.config.gzip_level,
            max_events: usize::try_from(cfg.max_events).unwrap_or(usize::MAX),
            max_device_ids: usize::try_from(setup.config.max_device_ids).unwrap_or(usize::MAX),
        };
        let processed = batch::process(source, opts, format, &decoded)
            .map_err(|e| ctx.refuse(413, name, &e.to_string(), &[]))?;
        let bytes_received = decoded.len() as u64;
        drop(decoded);
        if processed.total == 0 && processed.malformed.is_none() {
            return Err(ctx.refuse(400, name, "the body holds no events", &[]));
        }
        Ok(Decoded {
            header_key,
            processed,
            bytes_received,
        })
    }

    /// The object keys of a request that holds no claim (or is about to claim): named
    /// by this request's id under its receive time's partition.
    fn fresh_keys(&self, request_id: &str, received: &Received, processed: &Processed) -> Keys {
        let (name, p) = (&self.source.name, self.setup.config.partitioning);
        Keys {
            raw: (processed.accepted.lines > 0)
                .then(|| layout::raw_key(name, p, &received.date, received.hour, request_id)),
            rejected: (processed.rejected.lines > 0)
                .then(|| layout::rejected_key(name, p, &received.date, received.hour, request_id)),
        }
    }

    fn table(&self) -> Table<'_> {
        Table {
            client: &self.clients.dynamodb,
            setup: self.setup,
            source: &self.source.name,
        }
    }

    /// A request that will be indexed claims its key before it writes anything, so of
    /// concurrent requests with one key only the claimant writes; while another
    /// attempt holds the key it waits (`CLAIM_WAITS_MS`). One that stores rejected
    /// events only has no record to claim: it just replays a stored one. Returns the
    /// claim this request holds: its own, or one taken over with the first attempt's
    /// object keys and receive time.
    async fn claim_key(
        &self,
        ctx: &mut Ctx<'_>,
        idem_key: Option<&str>,
        processed: &Processed,
    ) -> Result<Option<Held>, Early> {
        let source = &self.source.name;
        let (Some(k), Some(content)) = (idem_key, processed.content.as_ref()) else {
            let Some(k) = idem_key else {
                return Ok(None);
            };
            return match self.table().lookup(k).await {
                Ok(Some((status, body))) => Err(ctx.replay(source, status, body)),
                Ok(None) => Ok(None),
                Err(e) => Err(unavailable(ctx.request_id, "idempotency lookup", &e)),
            };
        };
        let keys = self.fresh_keys(ctx.request_id, ctx.received, processed);
        let fresh = Held {
            key: k.to_string(),
            holder: ctx.request_id.to_string(),
            content: idempotency::hex(content),
            object_key: keys
                .raw
                .expect("a request with accepted events has a raw key"),
            rejected_key: keys.rejected,
            received_millis: ctx.received.epoch_millis,
            lease_until: ctx.received.epoch_secs() + items::CLAIM_LEASE_SECS,
        };
        let mut waits = CLAIM_WAITS_MS.iter();
        loop {
            match self.table().claim(&fresh, ctx.received.epoch_secs()).await {
                Claim::Won(held) => return Ok(Some(held)),
                Claim::Answered(status, body) => return Err(ctx.replay(source, status, body)),
                Claim::Mismatch => {
                    return Err(ctx.refuse(
                        422,
                        self.name(),
                        "this Idempotency-Key was first used for other events; a key names one batch: send these events with a new key",
                        &[],
                    ));
                }
                Claim::Busy => match waits.next() {
                    Some(ms) => {
                        info!(
                            wait_ms = ms,
                            "another attempt holds this idempotency key; waiting"
                        );
                        tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
                    }
                    None => {
                        return Err(ctx.refuse(
                            409,
                            self.name(),
                            "a request with this Idempotency-Key is still being stored; retry later with the same key",
                            &[("retry-after", RETRY_AFTER_SECS.to_string())],
                        ));
                    }
                },
                Claim::Failed(e) => {
                    return Err(unavailable(ctx.request_id, "idempotency claim", &e));
                }
            }
        }
    }

    /// Writes the accepted and the rejected events' objects side by side; under a
    /// claim only where no object is yet (`If-None-Match: *`: an earlier attempt's
    /// object with the same content stays, and is the one indexed). On failure gives
    /// the claim up.
    async fn store(
        &self,
        ctx: &Ctx<'_>,
        processed: &Processed,
        keys: &Keys,
        held: Option<&Held>,
    ) -> Result<(), Early> {
        let (clients, setup, source) = (self.clients, self.setup, self.source);
        let request_id = ctx.request_id;
        let once = held.is_some();
        let put = |key: Option<&String>, gz: &bytes::Bytes| {
            let gz = gz.clone();
            let key = key.cloned();
            async move {
                match key {
                    Some(k) => put_object(clients, setup, source, &k, gz, request_id, once).await,
                    None => Ok(()),
                }
            }
        };
        let (a, b) = tokio::join!(
            put(keys.raw.as_ref(), &processed.accepted.gz),
            put(keys.rejected.as_ref(), &processed.rejected.gz)
        );
        if let Err(e) = a.and(b) {
            if let Some(h) = held {
                self.table().release(h).await;
            }
            return Err(unavailable(request_id, "s3 put", &e));
        }
        Ok(())
    }

    /// One transaction: the object's item, its device pointers and, when the request
    /// holds a claim, the idempotency record with this answer. On failure gives the
    /// claim up; a key answered meanwhile replays that answer.
    async fn index(
        &self,
        ctx: &mut Ctx<'_>,
        st: &Stored<'_>,
        held: Option<&Held>,
        status: u16,
        body: &str,
    ) -> Result<(), Early> {
        let (setup, source) = (self.setup, &self.source.name);
        let processed = st.processed;
        let mut writes = vec![items::object_item(&setup.config, st)];
        let room = MAX_TRANSACTION_ITEMS - 1 - usize::from(held.is_some());
        let devices = items::device_items(&setup.config, st, room);
        if setup.config.lookups.by_device && devices.len() < processed.device_ids.len() {
            warn!(
                recorded = processed.device_ids.len(),
                pointers = devices.len(),
                "more device ids than fit in one transaction; some have no pointer item"
            );
        }
        writes.extend(devices);
        let record = held.map(|h| items::idempotency_item(&setup.config, st, &h.key, status, body));
        let table = self.table();
        match table.commit(held, writes, record, ctx.request_id).await {
            Commit::Done => Ok(()),
            Commit::Answered(status, body) => Err(ctx.replay(source, status, body)),
            Commit::Failed(e) => {
                if let Some(h) = held {
                    table.release(h).await;
                }
                Err(unavailable(ctx.request_id, "index transaction", &e))
            }
        }
    }

    /// The request's metrics, its log line and its answer.
    fn answer(
        &self,
        ctx: &mut Ctx<'_>,
        processed: &Processed,
        bytes_received: u64,
        keys: &Keys,
        status: u16,
        body: String,
    ) -> ApiGatewayProxyResponse {
        let source = &self.source.name;
        let m = emf::Metrics {
            events_accepted: processed.accepted.lines as u64,
            events_rejected: processed.failures.len() as u64,
            malformed_bodies: u64::from(processed.malformed.is_some()),
            bytes_received,
            bytes_stored: (processed.accepted.gz.len() + processed.rejected.gz.len()) as u64,
        };
        ctx.metrics.push(emf::line(
            &self.setup.config.pipeline,
            source,
            ctx.request_id,
            ctx.received.epoch_millis,
            &m,
        ));
        info!(
            status,
            source = %source,
            accepted = m.events_accepted,
            rejected = m.events_rejected,
            object_key = keys.raw.as_deref().unwrap_or(""),
            rejected_key = keys.rejected.as_deref().unwrap_or(""),
            "request stored"
        );
        response(status, body, &[])
    }
}

/// Pauses between claim attempts while another attempt holds the key (about 4.6 s in
/// all, well under API Gateway's 29 s).
const CLAIM_WAITS_MS: [u64; 8] = [25, 50, 100, 200, 400, 800, 1000, 2000];

/// One object put. `once`: only if the key has no object yet; an object already there
/// (412) was written by an earlier attempt of the same idempotency key, whose claim
/// fixed this key for the same accepted content, so it counts as stored.
async fn put_object(
    clients: &Clients,
    setup: &Setup,
    source: &Source,
    key: &str,
    gz: bytes::Bytes,
    request_id: &str,
    once: bool,
) -> Result<(), String> {
    let mut put = clients
        .s3
        .put_object()
        .bucket(&setup.names.raw_bucket)
        .key(key)
        .body(ByteStream::from(gz))
        .content_type("application/x-ndjson")
        .content_encoding("gzip")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .metadata("request-id", request_id)
        .metadata("schema-version", &source.config.schema_version);
    if let Some(k) = &setup.names.kms_key_arn {
        put = put.ssekms_key_id(k).bucket_key_enabled(true);
    }
    if once {
        put = put.if_none_match("*");
    }
    match put.send().await {
        Ok(_) => Ok(()),
        Err(e) if once && e.raw_response().map(|r| r.status().as_u16()) == Some(412) => {
            info!(
                object_key = key,
                "object already stored by an earlier attempt"
            );
            Ok(())
        }
        Err(e) => Err(DisplayErrorContext(e).to_string()),
    }
}

async fn start_jobs(clients: &Clients, source: &Source) {
    for job in &source.config.start_jobs {
        match clients.glue.start_job_run().job_name(job).send().await {
            Ok(out) => {
                info!(job = %job, run_id = out.job_run_id().unwrap_or(""), "started Glue job")
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(StartJobRunError::ConcurrentRunsExceededException(_))
                ) =>
            {
                info!(job = %job, "Glue job is already running at its concurrency limit; not started")
            }
            // The events are stored and indexed; failing the request now would only
            // make the device retry into a replay. The job picks them up next run.
            Err(e) => {
                error!(job = %job, error = %DisplayErrorContext(&e), "could not start Glue job")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{Failure, Malformed, Stream};

    #[test]
    fn request_ids_are_safe_for_object_keys() {
        assert_eq!(
            request_id(Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef")),
            "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
        );
        for bad in [None, Some(""), Some("../../etc"), Some("a/b")] {
            let id = request_id(bad);
            assert_eq!(id.len(), 36, "{bad:?} → {id}");
            assert!(uuid::Uuid::parse_str(&id).is_ok());
        }
    }

    fn processed(accepted: usize, failures: usize) -> Processed {
        Processed {
            total: accepted + failures,
            accepted: Stream {
                lines: accepted,
                ..Stream::default()
            },
            failures: (0..failures)
                .map(|i| Failure {
                    index: i,
                    errors: vec!["x".repeat(200)],
                })
                .collect(),
            ..Processed::default()
        }
    }

    #[test]
    fn statuses_follow_the_outcome() {
        let v = |(s, b): (u16, String)| (s, serde_json::from_str::<Value>(&b).unwrap());
        let (s, b) = v(outcome("r", None, &processed(2, 0), Some("raw/k"), None));
        assert_eq!(s, 200);
        assert_eq!(
            b,
            json!({"request_id": "r", "accepted": 2, "rejected": 0, "object_key": "raw/k"})
        );
        let (s, b) = v(outcome(
            "r",
            Some(("k", true)),
            &processed(2, 1),
            Some("raw/k"),
            Some("rej/k"),
        ));
        assert_eq!(s, 207);
        assert_eq!(b["resend"], RESEND_HINT);
        assert_eq!(b["failures"][0]["index"], 0);
        assert_eq!(b["idempotency_key"], "k");
        let (s, b) = v(outcome("r", None, &processed(0, 3), None, Some("rej/k")));
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("every event was rejected"))
        );
        let mut m = processed(0, 0);
        m.malformed = Some(Malformed {
            message: "bad".into(),
            line: 1,
            column: 2,
        });
        assert_eq!(v(outcome("r", None, &m, None, Some("rej/k"))).0, 400);
    }

    #[test]
    fn long_failure_lists_are_cut_to_the_budget() {
        let (_, b) = outcome("r", None, &processed(1, 5000), Some("raw/k"), Some("rej/k"));
        assert!(b.len() < FAILURES_BUDGET + 1024, "{}", b.len());
        let v: Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["failures_truncated"], true);
        assert_eq!(v["rejected"], 5000);
        assert!(v["failures"].as_array().unwrap().len() > 100);
    }
}
