//! The request handler: API Gateway proxy request in, proxy response out. It decodes
//! and processes the body, answers replays from the idempotency record, writes the raw
//! and rejected objects to S3, then indexes them in one DynamoDB transaction.

use std::time::SystemTime;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_glue::operation::start_job_run::StartJobRunError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use pipewright_ingest_config::index::attr;
use pipewright_ingest_config::layout;
use serde_json::{Value, json};
use tracing::{Instrument, error, info, info_span, warn};

use crate::batch::{self, Options, Processed};
use crate::body;
use crate::emf;
use crate::idempotency;
use crate::items::{self, Item, Stored};
use crate::setup::{MAX_TRANSACTION_ITEMS, Setup, Source};
use crate::timefmt::Received;

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

/// The status and JSON body of a processed request.
pub fn outcome(
    request_id: &str,
    idempotency_key: Option<&str>,
    p: &Processed,
    raw_key: Option<&str>,
    rejected_key: Option<&str>,
) -> (u16, String) {
    let mut body = serde_json::Map::new();
    body.insert("request_id".into(), json!(request_id));
    if let Some(k) = idempotency_key {
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
/// key, store the objects, index them (and start the jobs it triggers), answer.
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
    let idem_key =
        header_key.or_else(|| processed.event_ids.as_deref().map(idempotency::derived_key));
    let claimed = r.claim_key(ctx, idem_key.as_deref(), &processed).await?;
    let keys = r.store(ctx, &processed, claimed).await?;
    let (status, body) = outcome(
        ctx.request_id,
        idem_key.as_deref(),
        &processed,
        keys.raw.as_deref(),
        keys.rejected.as_deref(),
    );
    if let Some(object_key) = &keys.raw {
        let st = Stored {
            source: &source.name,
            schema_version: &source.config.schema_version,
            object_key,
            rejected_key: keys.rejected.as_deref(),
            request_id: ctx.request_id,
            idempotency_key: idem_key.as_deref(),
            received: ctx.received,
            processed: &processed,
        };
        r.index(ctx, &st, claimed, status, &body).await?;
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
        let header_key = header(req, "idempotency-key")
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

    /// A request that will be indexed claims its key before it writes anything, so of
    /// concurrent requests with one key only the claimant writes an object; while
    /// another request holds the key it waits (`CLAIM_WAITS_MS`). One that stores
    /// rejected events only has no record to claim: it just replays a stored one.
    /// Returns the key this request holds.
    async fn claim_key<'k>(
        &self,
        ctx: &mut Ctx<'_>,
        idem_key: Option<&'k str>,
        processed: &Processed,
    ) -> Result<Option<&'k str>, Early> {
        let (clients, setup, source) = (self.clients, self.setup, &self.source.name);
        let (request_id, received) = (ctx.request_id, ctx.received);
        let Some(k) = idem_key else {
            return Ok(None);
        };
        if processed.accepted.lines == 0 {
            return match lookup(clients, setup, source, k).await {
                Ok(Some((status, body))) => Err(ctx.replay(source, status, body)),
                Ok(None) => Ok(None),
                Err(e) => Err(unavailable(request_id, "idempotency lookup", &e)),
            };
        }
        let mut waits = CLAIM_WAITS_MS.iter();
        loop {
            match claim(clients, setup, source, k, request_id, received).await {
                Claim::Won => return Ok(Some(k)),
                Claim::Answered(status, body) => return Err(ctx.replay(source, status, body)),
                Claim::Busy => match waits.next() {
                    Some(ms) => {
                        info!(
                            wait_ms = ms,
                            "another request holds this idempotency key; waiting"
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
                Claim::Failed(e) => return Err(unavailable(request_id, "idempotency claim", &e)),
            }
        }
    }

    /// Writes the accepted and the rejected events' objects side by side; on failure
    /// gives the claim up.
    async fn store(
        &self,
        ctx: &Ctx<'_>,
        processed: &Processed,
        claimed: Option<&str>,
    ) -> Result<Keys, Early> {
        let (clients, setup, source) = (self.clients, self.setup, self.source);
        let (request_id, received) = (ctx.request_id, ctx.received);
        let p = setup.config.partitioning;
        let keys = Keys {
            raw: (processed.accepted.lines > 0).then(|| {
                layout::raw_key(&source.name, p, &received.date, received.hour, request_id)
            }),
            rejected: (processed.rejected.lines > 0).then(|| {
                layout::rejected_key(&source.name, p, &received.date, received.hour, request_id)
            }),
        };
        let put_raw = async {
            match &keys.raw {
                Some(k) => {
                    put_object(
                        clients,
                        setup,
                        source,
                        k,
                        &processed.accepted.gz,
                        request_id,
                    )
                    .await
                }
                None => Ok(()),
            }
        };
        let put_rejected = async {
            match &keys.rejected {
                Some(k) => {
                    put_object(
                        clients,
                        setup,
                        source,
                        k,
                        &processed.rejected.gz,
                        request_id,
                    )
                    .await
                }
                None => Ok(()),
            }
        };
        let (a, b) = tokio::join!(put_raw, put_rejected);
        if let Err(e) = a.and(b) {
            if let Some(k) = claimed {
                release(clients, setup, &source.name, k, request_id, received).await;
            }
            return Err(unavailable(request_id, "s3 put", &e));
        }
        Ok(keys)
    }

    /// One transaction: the object's item, its device pointers and, when the request
    /// holds a claim, the idempotency record with this answer. On failure gives the
    /// claim up; a claim lost meanwhile replays the answer of the request that took it.
    async fn index(
        &self,
        ctx: &mut Ctx<'_>,
        st: &Stored<'_>,
        claimed: Option<&str>,
        status: u16,
        body: &str,
    ) -> Result<(), Early> {
        let (clients, setup, source) = (self.clients, self.setup, &self.source.name);
        let (request_id, received) = (ctx.request_id, ctx.received);
        let processed = st.processed;
        let mut writes = vec![items::object_item(&setup.config, st)];
        let room = MAX_TRANSACTION_ITEMS - 1 - usize::from(st.idempotency_key.is_some());
        let devices = items::device_items(&setup.config, st, room);
        if setup.config.lookups.by_device && devices.len() < processed.device_ids.len() {
            warn!(
                recorded = processed.device_ids.len(),
                pointers = devices.len(),
                "more device ids than fit in one transaction; some have no pointer item"
            );
        }
        writes.extend(devices);
        let record = claimed.map(|k| items::idempotency_item(&setup.config, st, k, status, body));
        match commit(clients, setup, source, claimed, writes, record, request_id).await {
            Commit::Done => Ok(()),
            Commit::LostClaim(status, body) => Err(ctx.replay(source, status, body)),
            Commit::Failed(e) => {
                if let Some(k) = claimed {
                    release(clients, setup, source, k, request_id, received).await;
                }
                Err(unavailable(request_id, "index transaction", &e))
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

/// How claiming an idempotency key went.
enum Claim {
    /// This request holds the key: it writes, then turns the claim into the record.
    Won,
    /// The key's first request has finished: its answer.
    Answered(u16, String),
    /// Another request holds the key and has not finished.
    Busy,
    Failed(String),
}

/// Pauses between claim attempts while another request holds the key (about 4.6 s in
/// all, well under API Gateway's 29 s).
const CLAIM_WAITS_MS: [u64; 8] = [25, 50, 100, 200, 400, 800, 1000, 2000];

/// One conditional PutItem of the claim: it succeeds when the key has no record, or
/// only a claim whose lease has run out or was released.
async fn claim(
    clients: &Clients,
    setup: &Setup,
    source: &str,
    key: &str,
    request_id: &str,
    received: &Received,
) -> Claim {
    let lease_until = received.epoch_secs() + items::CLAIM_LEASE_SECS;
    let item = items::claim_item(
        &setup.config,
        source,
        key,
        request_id,
        received,
        lease_until,
    );
    let result = clients
        .dynamodb
        .put_item()
        .table_name(&setup.names.index_table)
        .set_item(Some(item))
        .condition_expression(
            "attribute_not_exists(#pk) OR (attribute_not_exists(#response) AND #lease < :now)",
        )
        .expression_attribute_names("#pk", pipewright_ingest_config::index::PK)
        .expression_attribute_names("#response", attr::RESPONSE)
        .expression_attribute_names("#lease", attr::LEASE_UNTIL)
        .expression_attribute_values(":now", AttributeValue::N(received.epoch_secs().to_string()))
        .send()
        .await;
    match result {
        Ok(_) => Claim::Won,
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(PutItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            match lookup(clients, setup, source, key).await {
                Ok(Some((status, body))) => Claim::Answered(status, body),
                Ok(None) => Claim::Busy,
                Err(e) => Claim::Failed(e),
            }
        }
        Err(e) => Claim::Failed(DisplayErrorContext(e).to_string()),
    }
}

/// Gives up this request's claim (after a failure, so the device's retry need not wait
/// for the lease): the claim is rewritten with a lease in the past, only while it is
/// still this request's. Best effort: if it fails, the lease runs out.
async fn release(
    clients: &Clients,
    setup: &Setup,
    source: &str,
    key: &str,
    request_id: &str,
    received: &Received,
) {
    let item = items::claim_item(&setup.config, source, key, request_id, received, 0);
    let result = clients
        .dynamodb
        .put_item()
        .table_name(&setup.names.index_table)
        .set_item(Some(item))
        .condition_expression("#rid = :rid AND attribute_not_exists(#response)")
        .expression_attribute_names("#rid", attr::REQUEST_ID)
        .expression_attribute_names("#response", attr::RESPONSE)
        .expression_attribute_values(":rid", AttributeValue::S(request_id.to_string()))
        .send()
        .await;
    if let Err(e) = result {
        warn!(error = %DisplayErrorContext(&e), "could not release the idempotency claim; it expires with its lease");
    }
}

async fn lookup(
    clients: &Clients,
    setup: &Setup,
    source: &str,
    key: &str,
) -> Result<Option<(u16, String)>, String> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&setup.names.index_table)
        .set_key(Some(items::idempotency_key_item(source, key)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    Ok(out.item().and_then(items::stored_response))
}

async fn put_object(
    clients: &Clients,
    setup: &Setup,
    source: &Source,
    key: &str,
    gz: &bytes::Bytes,
    request_id: &str,
) -> Result<(), String> {
    let mut put = clients
        .s3
        .put_object()
        .bucket(&setup.names.raw_bucket)
        .key(key)
        .body(ByteStream::from(gz.clone()))
        .content_type("application/x-ndjson")
        .content_encoding("gzip")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .metadata("request-id", request_id)
        .metadata("schema-version", &source.config.schema_version);
    if let Some(k) = &setup.names.kms_key_arn {
        put = put.ssekms_key_id(k).bucket_key_enabled(true);
    }
    put.send()
        .await
        .map(|_| ())
        .map_err(|e| DisplayErrorContext(e).to_string())
}

enum Commit {
    Done,
    /// The claim was taken over (its lease ran out) and the new holder has answered.
    LostClaim(u16, String),
    Failed(String),
}

fn conditional_put(
    table: &str,
    item: Item,
    condition: &str,
    names: &[(&str, &str)],
    values: &[(&str, &str)],
) -> Result<TransactWriteItem, String> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (k, v) in names {
        put = put.expression_attribute_names(*k, *v);
    }
    for (k, v) in values {
        put = put.expression_attribute_values(*k, AttributeValue::S((*v).to_string()));
    }
    let put = put.build().map_err(|e| e.to_string())?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// One transaction: the new items (which must not exist yet) and, when the request
/// holds a claim, the idempotency record replacing it (only while the claim is still
/// this request's).
async fn commit(
    clients: &Clients,
    setup: &Setup,
    source: &str,
    claimed: Option<&str>,
    writes: Vec<Item>,
    record: Option<Item>,
    request_id: &str,
) -> Commit {
    let table = &setup.names.index_table;
    let mut actions = Vec::with_capacity(writes.len() + 1);
    for item in writes {
        match conditional_put(
            table,
            item,
            "attribute_not_exists(#pk)",
            &[("#pk", pipewright_ingest_config::index::PK)],
            &[],
        ) {
            Ok(a) => actions.push(a),
            Err(e) => return Commit::Failed(e),
        }
    }
    if let Some(item) = record {
        match conditional_put(
            table,
            item,
            "#rid = :rid AND attribute_not_exists(#response)",
            &[("#rid", attr::REQUEST_ID), ("#response", attr::RESPONSE)],
            &[(":rid", request_id)],
        ) {
            Ok(a) => actions.push(a),
            Err(e) => return Commit::Failed(e),
        }
    }
    // The token makes the SDK's own retries of this call idempotent (10 minutes).
    let token: String = request_id.chars().take(36).collect();
    let result = clients
        .dynamodb
        .transact_write_items()
        .set_transact_items(Some(actions))
        .client_request_token(token)
        .send()
        .await;
    let err = match result {
        Ok(_) => return Commit::Done,
        Err(e) => e,
    };
    let condition_failed = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().is_empty()
                || c.cancellation_reasons()
                    .iter()
                    .any(|r| r.code() == Some("ConditionalCheckFailed"))
        }
        _ => false,
    };
    if let (true, Some(key)) = (condition_failed, claimed) {
        // This request's lease ran out and another request took the key over and
        // answered: answer as it did.
        match lookup(clients, setup, source, key).await {
            Ok(Some((status, body))) => return Commit::LostClaim(status, body),
            Ok(None) => {}
            Err(e) => return Commit::Failed(e),
        }
    }
    Commit::Failed(DisplayErrorContext(err).to_string())
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
            Some("k"),
            &processed(2, 1),
            Some("raw/k"),
            Some("rej/k"),
        ));
        assert_eq!(s, 207);
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
