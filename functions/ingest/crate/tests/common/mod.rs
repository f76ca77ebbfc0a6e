//! Test support for the integration tests: AWS clients pinned to a local moto server
//! (static credentials, fixed region, path-style S3; nothing ever looks for real
//! credentials), per-test buckets and tables, a private moto that a test may kill,
//! request builders and readers for what was stored.

#![allow(dead_code)]

pub mod fault;
pub mod rig;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue, Method};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use flate2::read::MultiGzDecoder;
use pipewright_ingest::{Clients, Names, Setup};
use pipewright_ingest_config::{
    CONFIG_VERSION, IngestConfig, Lookups, Partitioning, SourceConfig, index,
};
use serde_json::{Value, json};

pub const REGION: &str = "us-east-1";
pub const ROUTE: &str = "/v1/pos/sales";
pub const FERRY_ROUTE: &str = "/v1/ferry/gates";
pub const KMS_KEY: &str =
    "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

/// The shared emulator's endpoint: `PIPEWRIGHT_MOTO_ENDPOINT`. Panics when unset: these
/// tests must never pass without an emulator.
pub fn endpoint() -> String {
    match std::env::var("PIPEWRIGHT_MOTO_ENDPOINT") {
        Ok(e) if !e.trim().is_empty() => e.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "PIPEWRIGHT_MOTO_ENDPOINT is not set: these tests need a moto server, \
             e.g. `moto_server -H 127.0.0.1 -p 5000` and PIPEWRIGHT_MOTO_ENDPOINT=http://127.0.0.1:5000"
        ),
    }
}

fn creds() -> aws_sdk_s3::config::Credentials {
    aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "pipewright-tests")
}

fn retry() -> aws_sdk_s3::config::retry::RetryConfig {
    aws_sdk_s3::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(20))
}

fn timeouts() -> aws_sdk_s3::config::timeout::TimeoutConfig {
    aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(20))
        .build()
}

pub fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    let c = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(REGION))
        .credentials_provider(creds())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(retry())
        .timeout_config(timeouts())
        .build();
    aws_sdk_s3::Client::from_conf(c)
}

pub fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let c = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .credentials_provider(creds())
        .endpoint_url(endpoint)
        .retry_config(retry())
        .timeout_config(timeouts())
        .build();
    aws_sdk_dynamodb::Client::from_conf(c)
}

pub fn glue(endpoint: &str) -> aws_sdk_glue::Client {
    let c = aws_sdk_glue::Config::builder()
        .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
        .region(aws_sdk_glue::config::Region::new(REGION))
        .credentials_provider(creds())
        .endpoint_url(endpoint)
        .retry_config(retry())
        .timeout_config(timeouts())
        .build();
    aws_sdk_glue::Client::from_conf(c)
}

/// Clients whose requests go through `http` (a fault-injecting client), with
/// `attempt` as the SDK's per-attempt timeout, and a retry partition of their own: the
/// SDK's retry quota (a token bucket per partition, process-wide) is then not drained
/// by another test's faults.
pub fn clients_through(
    endpoint: &str,
    http: aws_sdk_s3::config::SharedHttpClient,
    attempt: Duration,
) -> Clients {
    let partition = aws_sdk_s3::config::retry::RetryPartition::new(unique("partition"));
    // A call queued in the fault connector (its pool, or moto's one transaction at a
    // time) sends no bytes meanwhile; that is not a stalled stream.
    let stalls = aws_sdk_s3::config::StalledStreamProtectionConfig::disabled();
    let t = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(attempt)
        .build();
    let s3 = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(REGION))
        .credentials_provider(creds())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(retry())
        .timeout_config(t.clone())
        .http_client(http.clone())
        .stalled_stream_protection(stalls.clone())
        .retry_partition(partition.clone())
        .build();
    let ddb = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .credentials_provider(creds())
        .endpoint_url(endpoint)
        .retry_config(retry())
        .timeout_config(t.clone())
        .http_client(http.clone())
        .stalled_stream_protection(stalls.clone())
        .retry_partition(partition.clone())
        .build();
    let glue = aws_sdk_glue::Config::builder()
        .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
        .region(aws_sdk_glue::config::Region::new(REGION))
        .credentials_provider(creds())
        .endpoint_url(endpoint)
        .retry_config(retry())
        .timeout_config(t)
        .http_client(http)
        .stalled_stream_protection(stalls.clone())
        .retry_partition(partition)
        .build();
    Clients {
        s3: aws_sdk_s3::Client::from_conf(s3),
        dynamodb: aws_sdk_dynamodb::Client::from_conf(ddb),
        glue: aws_sdk_glue::Client::from_conf(glue),
    }
}

/// Clients with S3 at one endpoint and DynamoDB (and Glue) at another.
pub fn clients_split(s3_endpoint: &str, dynamodb_endpoint: &str) -> Clients {
    Clients {
        s3: s3(s3_endpoint),
        dynamodb: dynamodb(dynamodb_endpoint),
        glue: glue(dynamodb_endpoint),
    }
}

pub fn clients(endpoint: &str) -> Clients {
    clients_split(endpoint, endpoint)
}

/// A unique lowercase name for a bucket or table of one test.
pub fn unique(test: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let t: String = test
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(30)
        .collect();
    format!("pw-{}-{}", t.to_ascii_lowercase(), &id[..12])
}

/// A POS sale schema like the ones synth bundles.
pub fn pos_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["event_id", "store_id", "terminal_id", "occurred_at", "currency", "total", "items"],
        "properties": {
            "event_id": {"type": "string", "minLength": 1},
            "store_id": {"type": "string"},
            "terminal_id": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "total": {"type": "number", "minimum": 0, "multipleOf": 0.01},
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["sku", "qty", "unit_price"],
                    "properties": {
                        "sku": {"type": "string"},
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

pub fn config(glue_jobs: Vec<String>) -> IngestConfig {
    let mut sources = BTreeMap::new();
    sources.insert(
        "pos".to_string(),
        SourceConfig {
            route: ROUTE.into(),
            schema_version: "1.2.0".into(),
            schema: pos_schema(),
            max_body_bytes: 4 * 1024 * 1024,
            max_events: 5000,
            id_field: Some("event_id".into()),
            time_field: Some("occurred_at".into()),
            device_field: Some("terminal_id".into()),
            start_jobs: vec![],
        },
    );
    sources.insert(
        "ferry".to_string(),
        SourceConfig {
            route: FERRY_ROUTE.into(),
            schema_version: "2.0.0".into(),
            schema: json!({"type": "object", "required": ["gate"], "properties": {"gate": {"type": "string"}}}),
            max_body_bytes: 64 * 1024,
            max_events: 100,
            id_field: None,
            time_field: None,
            device_field: Some("gate".into()),
            start_jobs: glue_jobs,
        },
    );
    IngestConfig {
        version: CONFIG_VERSION,
        pipeline: "shop".into(),
        environment: "test".into(),
        partitioning: Partitioning::Hour,
        gzip_level: 6,
        max_device_ids: 5,
        index_ttl_days: Some(30),
        idempotency_ttl_days: 2,
        lookups: Lookups {
            by_source_date: true,
            by_device: true,
            by_schema_version: true,
        },
        sources,
    }
}

/// The fixed receive time of the tests: 2026-11-27T09:54:08.123Z.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_773_248_123)
}

/// A bucket and a table of one test, and the handler's setup for them.
pub struct Env {
    pub clients: Clients,
    pub setup: Setup,
    pub bucket: String,
    pub table: String,
}

impl Env {
    pub async fn new(test: &str) -> Env {
        Env::with(test, &endpoint(), vec![]).await
    }

    pub async fn with(test: &str, endpoint: &str, glue_jobs: Vec<String>) -> Env {
        let bucket = unique(test);
        let table = unique(test);
        let clients = clients(endpoint);
        create_bucket(&clients.s3, &bucket).await;
        create_table(&clients.dynamodb, &table).await;
        let names = Names {
            raw_bucket: bucket.clone(),
            index_table: table.clone(),
            kms_key_arn: Some(KMS_KEY.into()),
        };
        let setup = Setup::new(config(glue_jobs), names).expect("test config is valid");
        Env {
            clients,
            setup,
            bucket,
            table,
        }
    }

    pub async fn send(&self, req: ApiGatewayProxyRequest) -> Resp {
        Resp::from(pipewright_ingest::handle(req, &self.clients, &self.setup, now()).await)
    }

    /// `send`, also returning the request's EMF lines, parsed.
    pub async fn send_metered(&self, req: ApiGatewayProxyRequest) -> (Resp, Vec<Value>) {
        let (r, lines) =
            pipewright_ingest::handler::handle_collecting(req, &self.clients, &self.setup, now())
                .await;
        let lines = lines
            .iter()
            .map(|l| serde_json::from_str(l).expect("an EMF line is JSON"))
            .collect();
        (Resp::from(r), lines)
    }
}

pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
}

/// The index table with the contract's key schema and GSIs.
pub async fn create_table(ddb: &aws_sdk_dynamodb::Client, table: &str) {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let mut b = ddb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(index::PK, KeyType::Hash))
        .key_schema(key(index::SK, KeyType::Range));
    for a in [
        index::PK,
        index::SK,
        index::attr::SOURCE_DATE,
        index::attr::DEVICE_ID,
        index::attr::SOURCE_SCHEMA,
        index::attr::RECEIVED_AT,
    ] {
        b = b.attribute_definitions(attr(a));
    }
    for g in [
        index::BY_SOURCE_DATE,
        index::BY_DEVICE,
        index::BY_SCHEMA_VERSION,
    ] {
        b = b.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(g.name)
                .key_schema(key(g.pk, KeyType::Hash))
                .key_schema(key(g.sk, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    b.send().await.expect("create table");
}

/// A proxy request as API Gateway sends it.
pub fn request(route: &str, body: &str, headers: &[(&str, &str)]) -> ApiGatewayProxyRequest {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    let mut req = ApiGatewayProxyRequest::default();
    req.resource = Some(route.into());
    req.path = Some(route.into());
    req.http_method = Method::POST;
    req.headers = h;
    req.body = Some(body.into());
    req.request_context.request_id = Some(uuid::Uuid::new_v4().to_string());
    req
}

pub fn json_request(body: &Value, headers: &[(&str, &str)]) -> ApiGatewayProxyRequest {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    request(ROUTE, &body.to_string(), &h)
}

/// A response, decoded.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl From<ApiGatewayProxyResponse> for Resp {
    fn from(r: ApiGatewayProxyResponse) -> Resp {
        let text = match r.body {
            Some(Body::Text(t)) => t,
            other => panic!("expected a text body, got {other:?}"),
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status: u16::try_from(r.status_code).unwrap(),
            headers: r.headers,
            text,
            json,
        }
    }
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A realistic POS sale with a few line items; `total` is the exact sum.
pub fn sale(i: usize) -> Value {
    let lines = 1 + i % 4;
    let mut cents = 0u64;
    let items: Vec<Value> = (0..lines)
        .map(|l| {
            let price = 99 + ((i * 7 + l * 13) % 2000) as u64;
            let qty = 1 + (i + l) % 3;
            cents += price * qty as u64;
            json!({"sku": format!("SKU-{:05}", (i * 31 + l) % 50_000), "qty": qty, "unit_price": price as f64 / 100.0})
        })
        .collect();
    json!({
        "event_id": format!("sale-{i:06}"),
        "store_id": format!("store-{:03}", i % 40),
        "terminal_id": format!("term-{:03}", i % 12),
        "occurred_at": format!("2026-11-27T08:{:02}:{:02}Z", (i / 60) % 60, i % 60),
        "currency": "EUR",
        "total": cents as f64 / 100.0,
        "items": items
    })
}

/// Every object under `prefix`, as (key, bytes).
pub async fn objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Vec<(String, Vec<u8>)> {
    let list = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list objects");
    let mut out = Vec::new();
    for o in list.contents() {
        let key = o.key().unwrap().to_string();
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .expect("get object");
        out.push((
            key,
            body.body.collect().await.unwrap().into_bytes().to_vec(),
        ));
    }
    out
}

pub fn gunzip(gz: &[u8]) -> String {
    let mut s = String::new();
    MultiGzDecoder::new(gz)
        .read_to_string(&mut s)
        .expect("object is gzip text");
    s
}

/// The NDJSON text the accepted events must read back as.
pub fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

/// Every item of the table.
pub async fn items(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        out.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return out,
        }
    }
}

pub fn s(item: &HashMap<String, AttributeValue>, k: &str) -> String {
    item.get(k)
        .unwrap_or_else(|| panic!("item has no {k}: {item:?}"))
        .as_s()
        .unwrap()
        .clone()
}

pub fn n(item: &HashMap<String, AttributeValue>, k: &str) -> i64 {
    item.get(k)
        .unwrap_or_else(|| panic!("item has no {k}: {item:?}"))
        .as_n()
        .unwrap()
        .parse()
        .unwrap()
}

pub fn of_kind<'a>(
    items: &'a [HashMap<String, AttributeValue>],
    kind: &str,
) -> Vec<&'a HashMap<String, AttributeValue>> {
    items
        .iter()
        .filter(|i| {
            i.get("kind")
                .and_then(|k| k.as_s().ok())
                .map(String::as_str)
                == Some(kind)
        })
        .collect()
}

/// A moto server of one test, on a free loopback port, killed on drop.
pub struct PrivateMoto {
    child: Option<Child>,
    pub endpoint: String,
}

/// One private moto at a time starts in this process: its port (bound to 0 and released)
/// is held by the new server before the next test picks one, so two tests never pick the
/// same port and end up sharing one server.
static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl PrivateMoto {
    pub fn start() -> PrivateMoto {
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let server = std::env::var("PIPEWRIGHT_MOTO_SERVER").unwrap_or_else(|_| {
            panic!("PIPEWRIGHT_MOTO_SERVER is not set: the path of moto_server, for a private emulator this test stops")
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {server}: {e}"));
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "private moto did not listen on {addr} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut child = child;
        assert!(
            child.try_wait().expect("moto's status").is_none(),
            "private moto exited: {addr} answers, but not from this test's server"
        );
        PrivateMoto {
            child: Some(child),
            endpoint: format!("http://{addr}"),
        }
    }

    /// POSTs JSON to the server's own API (`/moto-api/...`); returns the status line.
    pub fn post(&self, path: &str, body: &str) -> String {
        use std::io::Write;
        let addr = self.endpoint.trim_start_matches("http://");
        let mut c = TcpStream::connect(addr).expect("connect to private moto");
        write!(
            c,
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        out.lines().next().unwrap_or_default().to_string()
    }

    /// Kills the server (by its own pid) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        self.kill();
    }
}
