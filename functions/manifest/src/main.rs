//! The manifest Lambda: the raw bucket, index table and key from the environment (the
//! ingest function's variables), one run per invocation.

use lambda_runtime::{LambdaEvent, service_fn};
use pipewright_ingest_config::env;
use pipewright_manifest::{Names, Request, Response, run};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let var = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
    let names = Names {
        raw_bucket: var(env::RAW_BUCKET)?,
        index_table: var(env::INDEX_TABLE)?,
        kms_key_arn: std::env::var(env::KMS_KEY_ARN).ok(),
    };
    let config = aws_config::load_from_env().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let (names, s3, ddb) = (&names, &s3, &ddb);
    lambda_runtime::run(service_fn(move |e: LambdaEvent<Request>| async move {
        run(s3, ddb, names, &e.payload)
            .await
            .map_err(lambda_runtime::Error::from) as Result<Response, _>
    }))
    .await
}
