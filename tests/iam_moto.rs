//! The synthesised ingest role, enforced by moto: a moto server of its own with IAM
//! enforcement on (`INITIAL_NO_AUTH_ACTION_COUNT=0`, started from `PIPEWRIGHT_MOTO_SERVER`
//! or `moto_server` on PATH), the role and its generated managed policies created through
//! the IAM API, the role assumed through moto's STS, and the **real ingest handler** run
//! with those credentials against moto S3. It must store the events; with the same
//! credentials, writes outside its prefixes, reads and deletes are denied.
//!
//! moto checks resource ARNs for S3 (and SQS, IAM, STS) only and ignores conditions, so
//! the handler's DynamoDB client uses the admin user; iam-simulate judges the rest.
#![cfg(feature = "aws")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method};
use pipewright::spec::{self, RealFiles};
use pipewright_ingest::{Clients, Names, Setup};
use pipewright_ingest_config::index;
use serde_json::json;

const REGION: &str = "eu-west-2";

mod private_moto;
use private_moto::Moto;

fn http(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// A moto server with IAM enforcement from its first request.
fn enforcing_moto() -> Moto {
    let moto = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http(moto.port, "GET", "/moto-api/data.json", "").is_some_and(|r| r.contains(" 200 ")) {
        assert!(Instant::now() < deadline, "moto's API did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

trait Enforce {
    fn enforce(&self, on: bool);
}

impl Enforce for Moto {
    /// Pauses (`false`) or resumes (`true`) IAM enforcement.
    fn enforce(&self, on: bool) {
        let r = http(
            self.port,
            "POST",
            "/moto-api/reset-auth",
            if on { "0" } else { "inf" },
        )
        .unwrap();
        assert!(r.contains(" 200 "), "reset-auth: {r}");
    }
}

fn creds(ak: &str, sk: &str, token: Option<&str>) -> aws_sdk_s3::config::Credentials {
    aws_sdk_s3::config::Credentials::new(ak, sk, token.map(str::to_owned), None, "iam-moto-test")
}

fn s3(ep: &str, c: aws_sdk_s3::config::Credentials) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(REGION))
            .credentials_provider(c)
            .endpoint_url(ep)
            .force_path_style(true)
            .build(),
    )
}

fn iam(ep: &str, c: aws_sdk_s3::config::Credentials) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new(REGION))
            .credentials_provider(c)
            .endpoint_url(ep)
            .build(),
    )
}

fn sts(ep: &str, c: aws_sdk_s3::config::Credentials) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new(REGION))
            .credentials_provider(c)
            .endpoint_url(ep)
            .build(),
    )
}

fn dynamodb(ep: &str, c: aws_sdk_s3::config::Credentials) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new(REGION))
            .credentials_provider(c)
            .endpoint_url(ep)
            .build(),
    )
}

fn glue(ep: &str, c: aws_sdk_s3::config::Credentials) -> aws_sdk_glue::Client {
    aws_sdk_glue::Client::from_conf(
        aws_sdk_glue::Config::builder()
            .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
            .region(aws_sdk_glue::config::Region::new(REGION))
            .credentials_provider(c)
            .endpoint_url(ep)
            .build(),
    )
}

async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .expect("create bucket");
}

/// The index table with the contract's keys and lookups.
async fn create_table(ddb: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::*;
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

fn sale_request(route: &str) -> ApiGatewayProxyRequest {
    let event = json!({
        "event_id": "3f1d2c4b-5a69-4e7d-8c1b-2a3f4e5d6c7b",
        "occurred_at": "2026-11-27T08:00:01Z",
        "terminal_id": "T000123",
        "store_id": "store-9",
        "currency": "GBP",
        "total_amount": 12.5,
        "payment": {"method": "contactless"},
        "items": [{"sku": "SKU-1", "quantity": 1, "unit_price": 12.5}]
    });
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    let mut req = ApiGatewayProxyRequest::default();
    req.resource = Some(route.into());
    req.path = Some(route.into());
    req.http_method = Method::POST;
    req.headers = h;
    req.body = Some(event.to_string());
    req.request_context.request_id = Some("c0ffee00-0000-4000-8000-000000000001".into());
    req
}

fn denied<T, E: std::fmt::Debug>(r: Result<T, E>) -> bool {
    match r {
        Ok(_) => false,
        Err(e) => {
            let s = format!("{e:?}");
            s.contains("AccessDenied") || s.contains("403")
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ingest_roles_s3_grants_let_the_real_handler_store_and_nothing_more() {
    let moto = enforcing_moto();
    let ep = moto.endpoint();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml");
    let v = spec::check(&path, &RealFiles).unwrap().validated().unwrap();
    let plan = pipewright::plan::lower(&v, "dev").unwrap();
    let role = &pipewright::emit::iam::roles(&plan)["ingest"];
    let raw = plan.bucket(pipewright::plan::BucketId::Raw).name.clone();
    let curated = plan
        .bucket(pipewright::plan::BucketId::Curated)
        .name
        .clone();

    // Set up with enforcement paused: an admin user, the buckets and table, the role.
    moto.enforce(false);
    let boot = creds("testing", "testing", None);
    let iam_boot = iam(&ep, boot.clone());
    let admin = iam_boot
        .create_user()
        .user_name("admin")
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    iam_boot
        .put_user_policy()
        .user_name("admin")
        .policy_name("all")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let key = iam_boot
        .create_access_key()
        .user_name("admin")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let admin_creds = creds(key.access_key_id(), key.secret_access_key(), None);
    let account = admin.arn().split(':').nth(4).unwrap().to_owned();
    let data_key =
        format!("arn:aws:kms:{REGION}:{account}:key/0d5e1a4b-7c2f-4e8a-9b3d-000000000001");

    let s3_admin = s3(&ep, admin_creds.clone());
    create_bucket(&s3_admin, &raw).await;
    create_bucket(&s3_admin, &curated).await;
    let ddb_admin = dynamodb(&ep, admin_creds.clone());
    create_table(&ddb_admin, &plan.table).await;

    // moto cannot assume a role whose trust names only a service principal (HTTP 500), so
    // the trust policy names the admin; the permission policies are synth's, unchanged
    // but for the key placeholder.
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": admin.arn()}, "Action": "sts:AssumeRole"}]});
    // Created as CloudFormation would: a name of its own under the role's path.
    let role_path = plan.roles["ingest"].path();
    let created = iam_boot
        .create_role()
        .role_name("transit-payments-dev-ingest-IngestRole-5UJ2N8D4XK0P")
        .path(&role_path)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let mut policy_arns = Vec::new();
    for (i, doc) in role.policies.values().enumerate() {
        let text = serde_json::to_string(doc)
            .unwrap()
            .replace("${DataKeyArn}", &data_key)
            // The table this test creates (CloudFormation would name it).
            .replace("${IndexTableName}", &plan.table);
        assert!(!text.contains("${"), "unbound placeholder in {text}");
        let p = iam_boot
            .create_policy()
            .policy_name(format!(
                "transit-payments-dev-ingest-IngestPolicy{}-A1B2C3",
                i + 1
            ))
            .policy_document(text)
            .send()
            .await
            .unwrap()
            .policy
            .unwrap();
        iam_boot
            .attach_role_policy()
            .role_name(created.role_name())
            .policy_arn(p.arn().unwrap())
            .send()
            .await
            .unwrap();
        policy_arns.push(p.arn().unwrap().to_owned());
    }
    moto.enforce(true);

    // The boot credentials are refused now: enforcement is on.
    assert!(
        s3(&ep, boot).list_buckets().send().await.is_err(),
        "moto does not enforce IAM"
    );

    let assumed = sts(&ep, admin_creds.clone())
        .assume_role()
        .role_arn(created.arn())
        .role_session_name("ingest")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let role_creds = creds(
        assumed.access_key_id(),
        assumed.secret_access_key(),
        Some(assumed.session_token()),
    );
    let s3_role = s3(&ep, role_creds);
    let clients = Clients {
        s3: s3_role.clone(),
        dynamodb: ddb_admin.clone(),
        glue: glue(&ep, admin_creds.clone()),
    };
    let setup = Setup::new(
        plan.ingest_config.clone(),
        Names {
            raw_bucket: raw.clone(),
            index_table: plan.table.clone(),
            kms_key_arn: Some(data_key.clone()),
        },
    )
    .unwrap();
    let route = plan.ingest_config.sources["pos"].route.clone();

    // The real handler, with the role's credentials for S3, stores the event.
    let resp =
        pipewright_ingest::handle(sale_request(&route), &clients, &setup, SystemTime::now()).await;
    let body = match &resp.body {
        Some(Body::Text(t)) => t.clone(),
        other => panic!("unexpected body {other:?}"),
    };
    assert_eq!(resp.status_code, 200, "{body}");
    let out: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(out["accepted"], 1, "{body}");
    let stored = out["object_key"].as_str().unwrap().to_owned();
    assert!(stored.starts_with("raw/pos/"), "{stored}");
    s3_admin
        .head_object()
        .bucket(&raw)
        .key(&stored)
        .send()
        .await
        .expect("the object is there");

    // Same credentials, outside the role's grants: denied.
    let put = |bucket: &str, key: &str| {
        s3_role
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
            .send()
    };
    assert!(
        put(&raw, "raw/pos/control.txt").await.is_ok(),
        "control write"
    );
    assert!(denied(put(&raw, "raw/posx/x.txt").await), "sibling prefix");
    assert!(denied(put(&raw, "raw/x.txt").await), "parent prefix");
    assert!(
        denied(put(&raw, "curated/pos_sales/x.txt").await),
        "another prefix"
    );
    assert!(
        denied(put(&curated, "raw/pos/x.txt").await),
        "another bucket"
    );
    assert!(
        denied(s3_role.get_object().bucket(&raw).key(&stored).send().await),
        "read instead of write"
    );
    assert!(
        denied(
            s3_role
                .delete_object()
                .bucket(&raw)
                .key(&stored)
                .send()
                .await
        ),
        "delete instead of put"
    );
    assert!(
        denied(s3_role.list_objects_v2().bucket(&raw).send().await),
        "list"
    );

    // Without its policies the role cannot store anything: the handler fails. The role
    // is found as `iam verify` finds it, by its path.
    let iam_admin = iam(&ep, admin_creds);
    let found = pipewright::review::verify::find_role(&iam_admin, &role_path)
        .await
        .unwrap()
        .expect("the role, by its path");
    assert_eq!(found.arn, created.arn());
    for arn in &policy_arns {
        iam_admin
            .detach_role_policy()
            .role_name(&found.name)
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    let mut req = sale_request(&route);
    req.request_context.request_id = Some("c0ffee00-0000-4000-8000-000000000002".into());
    req.body = Some(req.body.unwrap().replace("3f1d2c4b", "4f1d2c4b"));
    let resp = pipewright_ingest::handle(req, &clients, &setup, SystemTime::now()).await;
    assert_ne!(resp.status_code, 200, "stored without any S3 permission");
}
