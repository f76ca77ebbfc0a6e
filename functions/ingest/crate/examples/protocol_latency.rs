//! The latency the idempotency protocol adds, against a moto server: the handler's
//! time for one request of 10 POS sales, sent one at a time, with an `Idempotency-Key`
//! (claim PutItem, two `If-None-Match` puts, the index transaction with the record)
//! and without any key (a source without an id field: two puts and the transaction
//! without a record), and a replay (one conditional PutItem answered with the record).
//! Prints p50 and p99 of each. benches/README.md has the figures.
//!
//! ```text
//! moto_server -H 127.0.0.1 -p 5000 &
//! AWS_EC2_METADATA_DISABLED=true cargo run --release -p pipewright-ingest \
//!     --example protocol_latency -- http://127.0.0.1:5000 300
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use pipewright_ingest::{Clients, Names, Setup};
use pipewright_ingest_config::{CONFIG_VERSION, IngestConfig, Lookups, Partitioning, SourceConfig};
use serde_json::{Value, json};

fn sale(i: usize) -> Value {
    json!({"event_id": format!("sale-{i:08}"), "store_id": "s1", "total": (i % 500) as f64 / 4.0})
}

fn source(route: &str, id_field: Option<&str>) -> SourceConfig {
    SourceConfig {
        route: route.into(),
        schema_version: "1.0.0".into(),
        schema: json!({"type": "object", "required": ["event_id", "total"],
            "properties": {"event_id": {"type": "string"}, "total": {"type": "number", "minimum": 0}}}),
        max_body_bytes: 1 << 20,
        max_events: 1000,
        id_field: id_field.map(Into::into),
        time_field: None,
        device_field: Some("store_id".into()),
        start_jobs: vec![],
    }
}

fn request(route: &str, body: String, key: Option<&str>) -> ApiGatewayProxyRequest {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(k) = key {
        h.insert("idempotency-key", HeaderValue::from_str(k).unwrap());
    }
    let mut req = ApiGatewayProxyRequest::default();
    req.resource = Some(route.into());
    req.http_method = Method::POST;
    req.headers = h;
    req.body = Some(body);
    req.request_context.request_id = Some(uuid::Uuid::new_v4().to_string());
    req
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.50), at(0.99))
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let ep = args.next().expect("usage: protocol_latency ENDPOINT [N]");
    let n: usize = args.next().map_or(300, |v| v.parse().unwrap());
    let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "bench");
    let conf = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(creds))
        .endpoint_url(&ep)
        .build();
    let clients = Clients::from_conf(&conf);
    let stamp = uuid::Uuid::new_v4().simple().to_string();
    let (bucket, table) = (
        format!("pw-lat-{}", &stamp[..12]),
        format!("pw-lat-{}", &stamp[..12]),
    );
    clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .send()
        .await
        .unwrap();
    let mut sources = BTreeMap::new();
    sources.insert("keyed".to_string(), source("/keyed", Some("event_id")));
    sources.insert("plain".to_string(), source("/plain", None));
    let config = IngestConfig {
        version: CONFIG_VERSION,
        pipeline: "bench".into(),
        environment: "bench".into(),
        partitioning: Partitioning::Hour,
        gzip_level: 5,
        max_device_ids: 10,
        index_ttl_days: None,
        idempotency_ttl_days: 1,
        lookups: Lookups::default(),
        sources,
    };
    let names = Names {
        raw_bucket: bucket,
        index_table: table,
        kms_key_arn: None,
    };
    let setup = Setup::new(config, names).unwrap();

    let mut keyed = Vec::new();
    let mut plain = Vec::new();
    let mut replay = Vec::new();
    for i in 0..n {
        let body = Value::Array((0..10).map(|j| sale(i * 10 + j)).collect()).to_string();
        // Alternate, so that moto's state grows alike under both.
        let k = format!("k-{i}");
        for (route, key, out) in [
            ("/keyed", Some(k.as_str()), &mut keyed),
            ("/plain", None, &mut plain),
        ] {
            let t = Instant::now();
            let r = pipewright_ingest::handler::handle_collecting(
                request(route, body.clone(), key),
                &clients,
                &setup,
                SystemTime::now(),
            )
            .await
            .0;
            out.push(t.elapsed());
            assert_eq!(r.status_code, 200);
        }
        let t = Instant::now();
        let r = pipewright_ingest::handler::handle_collecting(
            request("/keyed", body, Some(&k)),
            &clients,
            &setup,
            SystemTime::now(),
        )
        .await
        .0;
        replay.push(t.elapsed());
        assert_eq!(r.status_code, 200);
    }
    for (what, v) in [
        (
            "with a key (claim, If-None-Match puts, transaction with the record)",
            keyed,
        ),
        ("without a key (puts, transaction)", plain),
        ("replay of a stored answer", replay),
    ] {
        let (p50, p99) = percentiles(v);
        println!("{what}: p50 {p50:.2} ms, p99 {p99:.2} ms ({n} requests)");
    }
}
