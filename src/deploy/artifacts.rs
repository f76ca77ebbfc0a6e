//! What deploy uploads to the artifacts bucket, content-addressed: the ingest zip, the
//! Glue scripts, and templates too large to pass inline. Uploads are skipped when the
//! key already exists. Not the bootstrap stack that creates the bucket (`order`).

use std::path::PathBuf;

use aws_sdk_s3::primitives::ByteStream;

use super::Options;
use super::aws::Aws;
use super::cfn::TemplateSource;
use super::engine::Engine;
use super::report::Reporter;
use crate::emit::{self, Output, TEMPLATE_INLINE_BYTES};
use crate::plan::{BucketId, Plan};

/// Something uploaded to the artifacts bucket.
pub(super) struct Upload {
    pub(super) key: String,
    pub(super) bytes: Vec<u8>,
    pub(super) what: String,
}

pub(super) fn artifacts_bucket(plan: &Plan) -> Result<String, String> {
    plan.buckets
        .get(&BucketId::Artifacts)
        .map(|b| b.name.clone())
        .ok_or_else(|| "the plan has no artifacts bucket".to_string())
}

/// The URL CloudFormation reads a template from.
pub(super) fn template_url(aws: &Aws, plan: &Plan, bucket: &str, key: &str) -> String {
    match &aws.endpoint {
        // moto resolves `localhost` URLs to itself but not `127.0.0.1` ones.
        Some(ep) => format!(
            "{}/{bucket}/{key}",
            ep.trim_end_matches('/')
                .replace("://127.0.0.1", "://localhost")
        ),
        None => {
            let suffix = if plan.partition == "aws-cn" {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            format!("https://{bucket}.s3.{}.{suffix}/{key}", plan.region)
        }
    }
}

pub(super) async fn upload(
    aws: &Aws,
    bucket: &str,
    u: &Upload,
    rep: &Reporter,
) -> Result<bool, String> {
    match aws.s3.head_object().bucket(bucket).key(&u.key).send().await {
        Ok(_) => {
            rep.upload(&u.key, &u.what, u.bytes.len(), true);
            return Ok(false);
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
        Err(e) => {
            return Err(format!(
                "checking s3://{bucket}/{}: {}",
                u.key,
                super::errors::sdk_error_text(&e, "the S3 endpoint")
            ));
        }
    }
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(&u.key)
        .body(ByteStream::from(u.bytes.clone()))
        .send()
        .await
        .map_err(|e| {
            format!(
                "uploading {} to s3://{bucket}/{}: {}",
                u.what,
                u.key,
                super::errors::sdk_error_text(&e, "the S3 endpoint")
            )
        })?;
    rep.upload(&u.key, &u.what, u.bytes.len(), false);
    Ok(true)
}

/// The ingest zip: given, or built now.
pub(super) fn ingest_zip(plan: &Plan, o: &Options) -> Result<Upload, String> {
    let path = match &o.lambda_zip {
        Some(p) => p.clone(),
        None => {
            crate::bundle::check_cargo_lambda().map_err(|e| e.to_string())?;
            let cache = crate::bundle::source::cache_root()?;
            crate::bundle::bundle_ingest(plan, &cache, &o.build_dir, plan.architecture)
                .map_err(|e| e.to_string())?
                .path
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let sha = emit::sha256_hex(&bytes);
    Ok(Upload {
        key: format!("lambda/ingest/{sha}.zip"),
        bytes,
        what: format!("the ingest function ({})", path.display()),
    })
}

/// Glue scripts, under the keys the templates name.
pub(super) fn script_uploads(plan: &Plan, out: &Output) -> Vec<Upload> {
    plan.transforms
        .iter()
        .filter_map(|t| {
            let path = PathBuf::from("stacks")
                .join(&plan.env)
                .join("glue")
                .join(format!("{}.py", t.job_name));
            let bytes = out.files.get(&path)?.clone();
            Some(Upload {
                key: format!("{}{}.py", t.script_key, emit::sha256_hex(&bytes)),
                bytes,
                what: format!("Glue script of {}", t.job_name),
            })
        })
        .collect()
}

impl Engine {
    /// The template of stack `i`: inline when small enough, else uploaded and named by URL.
    pub(super) async fn template(&self, i: usize) -> Result<TemplateSource, String> {
        let u = &self.units[i];
        if u.body.len() <= TEMPLATE_INLINE_BYTES {
            return Ok(TemplateSource::Body(u.body.clone()));
        }
        if u.region != self.plan.region {
            return Err(format!(
                "the template of `{}` is {} bytes (over {TEMPLATE_INLINE_BYTES}), and its region \
                 {} has no artifacts bucket to upload it to",
                u.name,
                u.body.len(),
                u.region
            ));
        }
        let up = Upload {
            key: format!(
                "templates/{}/{}.json",
                u.name,
                emit::sha256_hex(u.body.as_bytes())
            ),
            bytes: u.body.clone().into_bytes(),
            what: format!("template of {}", u.name),
        };
        upload(&self.aws, &self.bucket, &up, &self.rep).await?;
        Ok(TemplateSource::Url(template_url(
            &self.aws,
            &self.plan,
            &self.bucket,
            &up.key,
        )))
    }
}
