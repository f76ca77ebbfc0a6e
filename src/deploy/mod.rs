//! Phase 6, deploy: synthesised stacks → running infrastructure through the
//! CloudFormation API. The only module that links the AWS SDK (feature `aws`).
//!
//! - `logic`: pure decisions (order, stack states, change classification, refusals,
//!   approval, root cause), unit-tested.
//! - `cfn`: one function per CloudFormation call.
//! - this file: the engine (bootstrap, uploads, scheduling, reporting) and the
//!   `deploy`, `diff` and `destroy` commands.

pub mod cfn;
pub mod logic;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;

use crate::emit::{self, Output, TEMPLATE_INLINE_BYTES};
use crate::plan::{BucketId, Plan, StackId};
use cfn::{Cfn, Request, TemplateSource};
use logic::{Approval, ParamSource, StackAction, StackUnit};
pub use report::{Reporter, Style};

/// How stacks are created and updated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Method {
    ChangeSet,
    Direct,
}

/// Everything `deploy`, `diff` and `destroy` take besides the plan.
#[derive(Debug, Clone)]
pub struct Options {
    pub method: Method,
    pub approval: Approval,
    pub approval_name: String,
    pub concurrency: usize,
    pub allow_replace: Vec<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub yes: bool,
    pub outputs_file: Option<PathBuf>,
    /// A prebuilt ingest zip; otherwise the function is bundled with cargo-lambda.
    pub lambda_zip: Option<PathBuf>,
    pub workspace: PathBuf,
    pub build_dir: PathBuf,
    pub poll: Duration,
    pub timeout: Duration,
    /// Rewrites for the moto emulator (see [`moto_compat`]).
    pub moto_compat: bool,
    pub style: Style,
}

/// How a refusal to lose data starts.
const REFUSED: &str = "refused before anything ran";

/// The result of one stack's deploy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    Updated,
    NoChange,
    Deleted,
    Absent,
    Failed,
    Refused,
    Skipped,
}

/// AWS clients, one CloudFormation client per region.
struct Aws {
    cfn: BTreeMap<String, Cfn>,
    /// EC2 clients by region (prefix-list lookups).
    ec2: BTreeMap<String, aws_sdk_ec2::Client>,
    s3: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
    endpoint: Option<String>,
}

async fn connect(plan: &Plan, o: &Options) -> Aws {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(plan.region.clone()))
        .retry_config(RetryConfig::adaptive().with_max_attempts(8));
    if let Some(p) = &o.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &o.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let conf = loader.load().await;
    let endpoint = o.endpoint_url.clone().or_else(|| {
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|s| !s.is_empty())
    });
    let mut regions: BTreeSet<String> = BTreeSet::from([plan.region.clone()]);
    regions.extend(plan.replica_region.clone());
    let ec2 = regions
        .iter()
        .map(|r| {
            let c = aws_sdk_ec2::config::Builder::from(&conf)
                .region(aws_config::Region::new(r.clone()))
                .build();
            (r.clone(), aws_sdk_ec2::Client::from_conf(c))
        })
        .collect();
    let cfn = regions
        .into_iter()
        .map(|r| {
            let c = aws_sdk_cloudformation::config::Builder::from(&conf)
                .region(aws_config::Region::new(r.clone()))
                .build();
            (
                r,
                Cfn {
                    client: aws_sdk_cloudformation::Client::from_conf(c),
                    poll: o.poll,
                    timeout: o.timeout,
                },
            )
        })
        .collect();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(endpoint.is_some())
            .build(),
    );
    let sts = aws_sdk_sts::Client::new(&conf);
    Aws {
        cfn,
        ec2,
        s3,
        sts,
        endpoint,
    }
}

/// Refuses to go on when the credentials belong to another account than the
/// environment's (a prod spec deployed with dev credentials would build a second
/// pipeline in the wrong account). Under `--moto-compat` the emulator's fixed account
/// is only reported.
async fn check_account(aws: &Aws, plan: &Plan, o: &Options, rep: &Reporter) -> Result<(), String> {
    let id = aws.sts.get_caller_identity().send().await.map_err(|e| {
        format!(
            "cannot tell which AWS account the credentials belong to (sts:GetCallerIdentity): {}",
            aws_sdk_sts::error::DisplayErrorContext(&e)
        )
    })?;
    let caller = id.account().unwrap_or_default();
    match logic::account_check(&plan.account, caller, id.arn().unwrap_or("?"), &plan.env) {
        Ok(()) => Ok(()),
        Err(m) if o.moto_compat => {
            rep.info(&format!("moto compat: not refused: {m}"));
            Ok(())
        }
        Err(m) => Err(m),
    }
}

/// The stacks of a plan, in deployment order, read from synth's output.
pub fn units(plan: &Plan, out: &Output) -> Result<Vec<StackUnit>, String> {
    let dir = PathBuf::from("stacks").join(&plan.env);
    let mut v = Vec::new();
    for (id, name) in &plan.stacks {
        let path = dir.join(format!("{}.json", id.name()));
        let Some(bytes) = out.files.get(&path) else {
            continue;
        };
        let region = match id {
            StackId::Replica => plan.replica_region.clone().unwrap_or(plan.region.clone()),
            _ => plan.region.clone(),
        };
        let body = String::from_utf8_lossy(bytes);
        v.push(logic::stack_unit(*id, name, &region, &body)?);
    }
    Ok(v)
}

/// moto 5.2.5 answers HTTP 500 to an `AWS::KMS::Key` with `Tags` (it expects KMS's
/// own TagKey/TagValue shape) and to an `AWS::EC2::FlowLog` with `Tags` (it tags a
/// flow log it has not found), and it looks an S3 flow-log destination with a prefix
/// up as a bucket named with the prefix. With `--moto-compat` the tags are dropped
/// from those resources and flow logs go to the bucket's root, and each rewrite is
/// reported; nothing else changes.
pub fn moto_compat(units: &mut [StackUnit]) -> Vec<String> {
    let mut notes = Vec::new();
    for u in units {
        let mut t: serde_json::Value = serde_json::from_str(&u.body).expect("parsed before");
        let mut changed = false;
        if let Some(rs) = t.get_mut("Resources").and_then(|r| r.as_object_mut()) {
            for (id, r) in rs {
                let ty = r
                    .get("Type")
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_owned();
                if matches!(ty.as_str(), "AWS::KMS::Key" | "AWS::EC2::FlowLog")
                    && let Some(p) = r.get_mut("Properties").and_then(|p| p.as_object_mut())
                    && p.remove("Tags").is_some()
                {
                    notes.push(format!("{}: dropped Tags of {ty} {id}", u.name));
                    changed = true;
                }
                if ty == "AWS::EC2::FlowLog"
                    && let Some(d) = r.pointer_mut("/Properties/LogDestination")
                    && let Some(arn) = d
                        .as_str()
                        .and_then(|a| a.split_once('/'))
                        .map(|(b, _)| b.to_owned())
                {
                    notes.push(format!(
                        "{}: flow log {id} delivers to {arn} (no prefix)",
                        u.name
                    ));
                    *d = serde_json::Value::String(arn);
                    changed = true;
                }
            }
        }
        if changed {
            u.body = serde_json::to_string_pretty(&t).expect("json");
        }
    }
    notes
}

/// Something uploaded to the artifacts bucket.
struct Upload {
    key: String,
    bytes: Vec<u8>,
    what: String,
}

fn artifacts_bucket(plan: &Plan) -> Result<String, String> {
    plan.buckets
        .get(&BucketId::Artifacts)
        .map(|b| b.name.clone())
        .ok_or_else(|| "the plan has no artifacts bucket".to_string())
}

/// The URL CloudFormation reads a template from.
fn template_url(aws: &Aws, plan: &Plan, bucket: &str, key: &str) -> String {
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

async fn upload(aws: &Aws, bucket: &str, u: &Upload, rep: &Reporter) -> Result<bool, String> {
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
                e.message().map_or_else(
                    || aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                    str::to_string
                )
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
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
    rep.upload(&u.key, &u.what, u.bytes.len(), false);
    Ok(true)
}

/// The ingest zip: given, or built now.
fn ingest_zip(plan: &Plan, o: &Options) -> Result<Upload, String> {
    let path = match &o.lambda_zip {
        Some(p) => p.clone(),
        None => {
            crate::bundle::check_cargo_lambda(&o.workspace).map_err(|e| e.to_string())?;
            crate::bundle::bundle_ingest(plan, &o.workspace, &o.build_dir, plan.architecture)
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
fn script_uploads(plan: &Plan, out: &Output) -> Vec<Upload> {
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

/// The shared state of one run: stack outputs so far, and operations in flight
/// (for Ctrl-C).
#[derive(Default)]
struct Shared {
    outputs: BTreeMap<usize, BTreeMap<String, String>>,
    /// AWS-managed prefix-list ids by (region, service).
    prefix_lists: BTreeMap<(String, String), String>,
    in_flight: BTreeSet<String>,
    results: BTreeMap<usize, Outcome>,
}

struct Engine {
    plan: Plan,
    units: Vec<StackUnit>,
    params: Vec<BTreeMap<String, ParamSource>>,
    deps: Vec<BTreeSet<usize>>,
    aws: Aws,
    o: Options,
    rep: Reporter,
    code_key: Option<String>,
    bucket: String,
    shared: Mutex<Shared>,
    prompt: tokio::sync::Mutex<()>,
    /// The ingest zip and the Glue scripts, uploaded once the bootstrap stack exists.
    uploads: Mutex<Vec<Upload>>,
}

impl Engine {
    fn cfn(&self, i: usize) -> &Cfn {
        &self.aws.cfn[&self.units[i].region]
    }

    /// Parameter values of stack `i`; `None` values are unknown yet (for diff).
    fn parameters(&self, i: usize) -> Result<BTreeMap<String, String>, String> {
        let sh = self.shared.lock().expect("lock");
        let mut m = BTreeMap::new();
        for (k, src) in &self.params[i] {
            let v = match src {
                ParamSource::IngestCode => self.code_key.clone(),
                ParamSource::Output { stack, key } => {
                    sh.outputs.get(stack).and_then(|o| o.get(key)).cloned()
                }
                ParamSource::PrefixList { service } => sh
                    .prefix_lists
                    .get(&(self.units[i].region.clone(), service.clone()))
                    .cloned(),
                // The later stack's output once it exists, else the default.
                ParamSource::Late { stack, key } => sh
                    .outputs
                    .get(stack)
                    .and_then(|o| o.get(key))
                    .or_else(|| self.units[i].optional.get(k))
                    .cloned(),
            };
            let v = v.ok_or_else(|| match src {
                ParamSource::Output { stack, key } => format!(
                    "stack `{}` takes `{k}` from output `{key}` of stack `{}`, which has no such output \
                     (on an emulator: deploy with --method direct, whose stacks have outputs)",
                    self.units[i].name, self.units[*stack].name
                ),
                ParamSource::IngestCode => "no ingest zip".to_string(),
                ParamSource::Late { key, .. } => format!("no default for `{key}`"),
                ParamSource::PrefixList { service } => format!(
                    "the prefix list of {service} in {} was not looked up",
                    self.units[i].region
                ),
            })?;
            m.insert(k.clone(), v);
        }
        Ok(m)
    }

    async fn template(&self, i: usize) -> Result<TemplateSource, String> {
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

    fn protects(&self, i: usize) -> bool {
        !self.o.moto_compat
            && self.plan.retain
            && self.units[i]
                .resources
                .values()
                .any(|r| logic::is_data_type(&r.ty))
    }

    async fn request(&self, i: usize) -> Result<Request, String> {
        Ok(Request {
            name: self.units[i].name.clone(),
            template: self.template(i).await?,
            parameters: self.parameters(i)?,
            previous: Vec::new(),
            policy: logic::stack_policy(&self.units[i], &[]),
            termination_protection: self.protects(i),
        })
    }

    /// Deploys stack `i` and records its outputs.
    async fn deploy_one(&self, i: usize) -> Outcome {
        let name = self.units[i].name.clone();
        self.rep.start(&name, self.units[i].resources.len() as u64);
        let r = self.deploy_inner(i).await;
        self.shared.lock().expect("lock").in_flight.remove(&name);
        let outcome = match r {
            Ok(o) => o,
            Err(msg) => {
                self.rep.failed(&name, &msg);
                if msg.starts_with(REFUSED) {
                    Outcome::Refused
                } else {
                    Outcome::Failed
                }
            }
        };
        if matches!(
            outcome,
            Outcome::Created | Outcome::Updated | Outcome::NoChange
        ) {
            match self.cfn(i).describe(&name).await {
                Ok(Some(s)) => {
                    self.rep.done(&name, &outcome, &s.outputs);
                    self.shared
                        .lock()
                        .expect("lock")
                        .outputs
                        .insert(i, s.outputs);
                }
                Ok(None) => {
                    self.rep
                        .failed(&name, "the stack disappeared after deploying");
                    return Outcome::Failed;
                }
                Err(e) => {
                    self.rep.failed(&name, &e);
                    return Outcome::Failed;
                }
            }
        }
        self.shared
            .lock()
            .expect("lock")
            .results
            .insert(i, outcome.clone());
        outcome
    }

    async fn deploy_inner(&self, i: usize) -> Result<Outcome, String> {
        let cfn = self.cfn(i);
        let name = self.units[i].name.clone();
        for _ in 0..4 {
            let state = cfn.describe(&name).await?;
            match logic::action_for(&name, state.as_ref().map(|s| s.status.as_str())) {
                StackAction::Refuse(m) => return Err(m),
                StackAction::Wait => {
                    self.rep.note(
                        &name,
                        &format!(
                            "another operation is running ({}); waiting for it",
                            state.map(|s| s.status).unwrap_or_default()
                        ),
                    );
                    self.settle(i, None).await?;
                }
                StackAction::DeleteThenCreate => {
                    self.rep.note(
                        &name,
                        "a previous create failed and rolled back (ROLLBACK_COMPLETE); deleting the empty stack to create it again",
                    );
                    let marker = cfn.newest_event(&name).await?;
                    cfn.delete(&name).await?;
                    self.settle(i, marker).await?;
                }
                StackAction::CreateInShell if self.o.method == Method::Direct => {
                    self.rep.note(
                        &name,
                        "the stack is an empty shell left by a change set (REVIEW_IN_PROGRESS); deleting it",
                    );
                    cfn.delete(&name).await?;
                    self.settle(i, None).await?;
                }
                StackAction::Create | StackAction::CreateInShell => {
                    self.direct_approved()?;
                    return match self.o.method {
                        Method::Direct => self.create_direct(i).await,
                        Method::ChangeSet => self.via_change_set(i, true).await,
                    };
                }
                StackAction::Update => {
                    let protect = self.protects(i);
                    let st = state.expect("update needs a stack");
                    if self.unchanged(i, &st).await? {
                        if let Some(p) = logic::stack_policy(&self.units[i], &[]) {
                            self.ensure_policy(i, &p).await?;
                        }
                        if protect && !st.termination_protection {
                            cfn.set_termination_protection(&name, true).await?;
                        }
                        return Ok(Outcome::NoChange);
                    }
                    self.direct_approved()?;
                    let r = match self.o.method {
                        Method::Direct => self.update_direct(i).await,
                        Method::ChangeSet => self.via_change_set(i, false).await,
                    }?;
                    if protect && !st.termination_protection {
                        cfn.set_termination_protection(&name, true).await?;
                    }
                    return Ok(r);
                }
            }
        }
        Err(format!("stack `{name}` kept changing state; try again"))
    }

    /// `--method direct` changes stacks without a change set to review first, so
    /// approval can only be given up front.
    fn direct_approved(&self) -> Result<(), String> {
        if self.o.method == Method::Direct && self.o.approval != Approval::Never && !self.o.yes {
            return Err(format!(
                "--method direct makes changes without a change set to review, so it cannot ask \
                 for approval (--require-approval {}): pass --yes, or --require-approval never",
                self.o.approval_name
            ));
        }
        Ok(())
    }

    /// Whether the stack already runs this template with these parameters: then there
    /// is nothing to update, and no change set or update is made.
    async fn unchanged(&self, i: usize, st: &cfn::StackState) -> Result<bool, String> {
        let Ok(params) = self.parameters(i) else {
            return Ok(false);
        };
        if params != st.parameters {
            return Ok(false);
        }
        let now = self.cfn(i).template(&self.units[i].name).await?;
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
        Ok(parse(&now).is_some() && parse(&now) == parse(&self.units[i].body))
    }

    /// Waits for stack `i` to settle, reporting its events.
    async fn settle(
        &self,
        i: usize,
        marker: Option<String>,
    ) -> Result<(Option<cfn::StackState>, Vec<logic::Event>), String> {
        let name = &self.units[i].name;
        let mut seen = Vec::new();
        self.cfn(i)
            .wait(name, marker, |e| {
                seen.push(e.clone());
                self.rep.event(name, e, logic::resources_done(&seen) as u64);
            })
            .await
    }

    /// After an operation: success, or the root cause.
    async fn finish(
        &self,
        i: usize,
        marker: Option<String>,
        ok: Outcome,
    ) -> Result<Outcome, String> {
        let name = &self.units[i].name;
        let (state, events) = self.settle(i, marker).await?;
        let Some(state) = state else {
            return Err(format!(
                "stack `{name}` is gone: it was deleted while deploying"
            ));
        };
        if logic::is_success(&state.status) {
            return Ok(ok);
        }
        let cause = match logic::root_cause(&events) {
            Some(e) => format!(
                "{} {} ({}): {}",
                e.status,
                e.logical_id,
                e.resource_type,
                e.reason.as_deref().unwrap_or("no reason given")
            ),
            None => state
                .reason
                .clone()
                .unwrap_or_else(|| "no reason given".into()),
        };
        let next = match state.status.as_str() {
            "ROLLBACK_COMPLETE" => {
                "fix the cause and deploy again (the empty stack is deleted and created anew)"
            }
            "UPDATE_ROLLBACK_COMPLETE" => {
                "the stack is back as it was; fix the cause and deploy again"
            }
            "UPDATE_ROLLBACK_FAILED" => {
                "run `aws cloudformation continue-update-rollback` for the stack, then deploy again"
            }
            _ => "look at the stack's events in the console, fix the cause and deploy again",
        };
        Err(format!(
            "stack `{name}` ended in {}. Root cause: {cause}. Next: {next}",
            state.status
        ))
    }

    async fn create_direct(&self, i: usize) -> Result<Outcome, String> {
        let req = self.request(i).await?;
        self.shared
            .lock()
            .expect("lock")
            .in_flight
            .insert(req.name.clone());
        self.cfn(i).create(&req).await?;
        self.finish(i, None, Outcome::Created).await
    }

    async fn update_direct(&self, i: usize) -> Result<Outcome, String> {
        let req = self.request(i).await?;
        let cfn = self.cfn(i);
        let allowed: Vec<String> = self
            .o
            .allow_replace
            .iter()
            .filter(|a| self.units[i].resources.contains_key(*a))
            .cloned()
            .collect();
        let during = (!allowed.is_empty())
            .then(|| logic::stack_policy(&self.units[i], &allowed))
            .flatten();
        if let Some(p) = &req.policy {
            self.ensure_policy(i, p).await?;
        }
        let marker = cfn.newest_event(&req.name).await?;
        self.shared
            .lock()
            .expect("lock")
            .in_flight
            .insert(req.name.clone());
        if !cfn.update(&req, during).await? {
            return Ok(Outcome::NoChange);
        }
        self.finish(i, marker, Outcome::Updated).await
    }

    /// Sets the stack policy when it differs from the one the stack should have.
    async fn ensure_policy(&self, i: usize, want: &str) -> Result<(), String> {
        let name = &self.units[i].name;
        let have = self.cfn(i).policy(name).await?;
        let same = have
            .as_deref()
            .and_then(|h| serde_json::from_str::<serde_json::Value>(h).ok())
            == serde_json::from_str::<serde_json::Value>(want).ok();
        if !same {
            self.cfn(i).set_policy(name, want).await?;
        }
        Ok(())
    }

    async fn via_change_set(&self, i: usize, create: bool) -> Result<Outcome, String> {
        let req = self.request(i).await?;
        let cfn = self.cfn(i);
        let cs_name = format!("pipewright-{}", std::process::id());
        let Some((id, changes)) = cfn.change_set(&req, create, &cs_name).await? else {
            return Ok(Outcome::NoChange);
        };
        if changes.is_empty() && !create {
            cfn.delete_change_set(&req.name, &id).await?;
            return Ok(Outcome::NoChange);
        }
        self.rep.changes(&req.name, &changes);
        let refused = logic::refusals(&req.name, &changes, &self.o.allow_replace);
        if !refused.is_empty() {
            cfn.delete_change_set(&req.name, &id).await?;
            let list: Vec<String> = refused.iter().map(|r| r.to_string()).collect();
            return Err(format!(
                "{REFUSED}: {}. If that is intended, rerun with --allow-replace {}",
                list.join("; "),
                refused
                    .iter()
                    .map(|r| r.logical_id.as_str())
                    .collect::<Vec<_>>()
                    .join(" --allow-replace ")
            ));
        }
        let needed = logic::needs_approval(&changes, self.o.approval);
        let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
        match logic::approval_outcome(needed, self.o.yes, interactive, &self.o.approval_name) {
            logic::ApprovalOutcome::Proceed => {}
            logic::ApprovalOutcome::Fail(m) => {
                cfn.delete_change_set(&req.name, &id).await?;
                return Err(m);
            }
            logic::ApprovalOutcome::Ask => {
                let _g = self.prompt.lock().await;
                let ok = self
                    .rep
                    .ask(&format!("Deploy these changes to {}? [y/N] ", req.name));
                if !ok {
                    cfn.delete_change_set(&req.name, &id).await?;
                    return Err(format!("changes to `{}` not approved", req.name));
                }
            }
        }
        let allowed: Vec<String> = changes
            .iter()
            .filter(|c| self.o.allow_replace.contains(&c.logical_id))
            .map(|c| c.logical_id.clone())
            .collect();
        if !create && let Some(p) = logic::stack_policy(&self.units[i], &allowed) {
            cfn.set_policy(&req.name, &p).await?;
        }
        let marker = cfn.newest_event(&req.name).await?;
        self.shared
            .lock()
            .expect("lock")
            .in_flight
            .insert(req.name.clone());
        cfn.execute(&req.name, &id).await?;
        let r = self
            .finish(
                i,
                marker,
                if create {
                    Outcome::Created
                } else {
                    Outcome::Updated
                },
            )
            .await;
        if let Some(p) = &req.policy {
            cfn.set_policy(&req.name, p).await?;
        }
        if create && req.termination_protection && r.is_ok() {
            cfn.set_termination_protection(&req.name, true).await?;
        }
        r
    }
}

async fn build_engine(
    plan: Plan,
    out: &Output,
    o: Options,
    need_zip: bool,
) -> Result<Engine, String> {
    let mut units = units(&plan, out)?;
    let rep = Reporter::new(o.style);
    if o.moto_compat {
        if o.endpoint_url.is_none() && std::env::var_os("AWS_ENDPOINT_URL").is_none() {
            return Err(
                "--moto-compat rewrites templates for the moto emulator; it needs --endpoint-url"
                    .into(),
            );
        }
        for n in moto_compat(&mut units) {
            rep.info(&format!("moto compat: {n}"));
        }
        if plan.retain {
            rep.info(
                "moto compat: termination protection is not turned on \
                 (moto 5.2.5 cannot turn it off again, and ignores it anyway)",
            );
        }
    }
    let params = logic::param_sources(&units)?;
    let deps = logic::dependencies(&units, &params);
    let zip = if need_zip
        && params
            .iter()
            .any(|p| p.values().any(|s| *s == ParamSource::IngestCode))
    {
        if o.lambda_zip.is_none() {
            rep.info(&format!(
                "bundling {} ({}) with cargo-lambda",
                plan.function_name,
                plan.architecture.as_str()
            ));
        }
        Some(ingest_zip(&plan, &o)?)
    } else {
        None
    };
    let bucket = artifacts_bucket(&plan)?;
    let aws = connect(&plan, &o).await;
    check_account(&aws, &plan, &o, &rep).await?;
    let code_key = zip.as_ref().map(|z| z.key.clone());
    let mut uploads: Vec<Upload> = zip.into_iter().collect();
    uploads.extend(script_uploads(&plan, out));
    Ok(Engine {
        plan,
        units,
        params,
        deps,
        aws,
        o,
        rep,
        code_key,
        bucket,
        shared: Mutex::new(Shared::default()),
        prompt: tokio::sync::Mutex::new(()),
        uploads: Mutex::new(uploads),
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `fut`; on Ctrl-C says which operations keep running and returns 130.
fn run_interruptible<F>(rt: &tokio::runtime::Runtime, e: Arc<Engine>, fut: F) -> u8
where
    F: std::future::Future<Output = u8>,
{
    rt.block_on(async {
        tokio::select! {
            code = fut => code,
            _ = tokio::signal::ctrl_c() => {
                let running: Vec<String> = e.shared.lock().expect("lock").in_flight.iter().cloned().collect();
                e.rep.interrupted(&running);
                130
            }
        }
    })
}

/// `pipewright deploy`. Returns the exit code.
pub fn deploy(plan: Plan, out: &Output, o: Options) -> u8 {
    let rt = runtime();
    let e = match rt.block_on(build_engine(plan, out, o, true)) {
        Ok(e) => Arc::new(e),
        Err(m) => {
            eprintln!("error: {m}");
            return 2;
        }
    };
    let e2 = e.clone();
    run_interruptible(&rt, e.clone(), async move { deploy_all(e2).await })
}

async fn deploy_all(e: Arc<Engine>) -> u8 {
    let start = std::time::Instant::now();
    let n = e.units.len();
    if let Err(m) = e.resolve_prefix_lists().await {
        e.rep.error(&m);
        return e.finish_run(start, true);
    }
    if let Err(m) = e.preload_late_outputs().await {
        e.rep.error(&m);
        return e.finish_run(start, true);
    }
    let mut started = BTreeSet::new();
    let mut done = BTreeSet::new();
    let mut failed = false;
    // The bootstrap stack (the artifacts bucket) first, then the uploads. Only what
    // bootstrap itself depends on goes before it: the replica-region stack that holds the
    // replicas of its buckets (and so needs no upload).
    if let Some(b) = e.units.iter().position(|u| u.id == StackId::Bootstrap) {
        let before = logic::ancestors(&e.deps, b);
        while let Some(i) = logic::ready(&e.deps, &started, &done)
            .into_iter()
            .find(|i| before.contains(i))
        {
            started.insert(i);
            match e.deploy_one(i).await {
                Outcome::Failed | Outcome::Refused => return e.finish_run(start, true),
                _ => {
                    done.insert(i);
                }
            }
        }
        started.insert(b);
        if e.deploy_one(b).await == Outcome::Failed {
            return e.finish_run(start, true);
        }
        done.insert(b);
        let ups = std::mem::take(&mut *e.uploads.lock().expect("lock"));
        for u in &ups {
            if let Err(m) = upload(&e.aws, &e.bucket, u, &e.rep).await {
                e.rep.error(&m);
                return e.finish_run(start, true);
            }
        }
    }
    let mut running = tokio::task::JoinSet::new();
    loop {
        if !failed {
            for i in logic::ready(&e.deps, &started, &done) {
                if running.len() >= e.o.concurrency.max(1) {
                    break;
                }
                started.insert(i);
                let e = e.clone();
                running.spawn(async move { (i, e.deploy_one(i).await) });
            }
        }
        match running.join_next().await {
            Some(Ok((i, o))) => {
                if o == Outcome::Failed || o == Outcome::Refused {
                    failed = true;
                } else {
                    done.insert(i);
                }
            }
            Some(Err(j)) => {
                e.rep.error(&format!("internal error: {j}"));
                failed = true;
            }
            None => break,
        }
        if done.len() == n {
            break;
        }
    }
    if !failed && done.len() == n {
        failed = !e.second_pass().await;
    }
    e.finish_run(start, failed || done.len() < n)
}

impl Engine {
    /// Looks up the ids of the AWS-managed prefix lists the stacks take as parameters
    /// (CloudFormation cannot): only lists AWS owns, named `com.amazonaws.<region>.<service>`.
    async fn resolve_prefix_lists(&self) -> Result<(), String> {
        for (region, service) in logic::prefix_lists_needed(&self.units, &self.params) {
            let name = logic::prefix_list_name(&region, &service);
            let ec2 = self
                .aws
                .ec2
                .get(&region)
                .ok_or_else(|| format!("no EC2 client for {region}"))?;
            let found = ec2
                .describe_managed_prefix_lists()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("prefix-list-name")
                        .values(&name)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "looking up the prefix list {name} (ec2:DescribeManagedPrefixLists): {}",
                        aws_sdk_ec2::error::DisplayErrorContext(&e)
                    )
                })?;
            let id = found
                .prefix_lists()
                .iter()
                .find(|p| {
                    p.prefix_list_name() == Some(name.as_str()) && p.owner_id() == Some("AWS")
                })
                .and_then(|p| p.prefix_list_id())
                .ok_or_else(|| {
                    format!(
                        "region {region} has no AWS-managed prefix list {name}, so the workloads' \
                         egress to {service} cannot be limited to it"
                    )
                })?;
            self.shared
                .lock()
                .expect("lock")
                .prefix_lists
                .insert((region, service), id.to_owned());
        }
        Ok(())
    }

    /// Outputs of the stacks that feed a late parameter and already exist, so that a
    /// redeploy passes their values from the start (and never turns off what a
    /// previous run's second pass turned on).
    async fn preload_late_outputs(&self) -> Result<(), String> {
        let producers: BTreeSet<usize> = self
            .params
            .iter()
            .flat_map(|m| m.values())
            .filter_map(|p| match p {
                ParamSource::Late { stack, .. } => Some(*stack),
                _ => None,
            })
            .collect();
        for j in producers {
            if let Some(s) = self.cfn(j).describe(&self.units[j].name).await?
                && logic::is_settled(&s.status)
            {
                self.shared
                    .lock()
                    .expect("lock")
                    .outputs
                    .insert(j, s.outputs);
            }
        }
        Ok(())
    }

    /// Deploys again each stack that takes a parameter from a later stack, now that
    /// every stack is deployed; a stack whose values did not change is left alone. The
    /// result first reported for a stack (say, created) is the one kept.
    async fn second_pass(&self) -> bool {
        for i in logic::late_stacks(&self.params) {
            let first = self.shared.lock().expect("lock").results.get(&i).cloned();
            let late: Vec<&str> = self.params[i]
                .iter()
                .filter(|(_, p)| matches!(p, ParamSource::Late { .. }))
                .map(|(k, _)| k.as_str())
                .collect();
            self.rep.info(&format!(
                "second pass over `{}`: {} from stacks deployed after it",
                self.units[i].name,
                late.join(", ")
            ));
            let again = self.deploy_one(i).await;
            if matches!(again, Outcome::Failed | Outcome::Refused) {
                return false;
            }
            if let Some(first @ (Outcome::Created | Outcome::Updated)) = first {
                self.shared.lock().expect("lock").results.insert(i, first);
            }
        }
        true
    }

    fn finish_run(&self, start: std::time::Instant, failed: bool) -> u8 {
        let sh = self.shared.lock().expect("lock");
        let mut stacks = serde_json::Map::new();
        for (i, u) in self.units.iter().enumerate() {
            let outcome = sh.results.get(&i).cloned().unwrap_or(Outcome::Skipped);
            stacks.insert(
                u.name.clone(),
                serde_json::json!({
                    "result": outcome,
                    "region": u.region,
                    "outputs": sh.outputs.get(&i).cloned().unwrap_or_default(),
                }),
            );
        }
        let doc = serde_json::json!({
            "pipeline": self.plan.pipeline,
            "environment": self.plan.env,
            "stacks": stacks,
        });
        self.rep.summary(&doc, start.elapsed(), failed);
        if let Some(f) = &self.o.outputs_file {
            let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
            if let Err(err) = crate::fsio::write_atomic(f, text.as_bytes()) {
                eprintln!("error: cannot write {}: {err}", f.display());
                return 2;
            }
        }
        u8::from(failed)
    }
}

/// `pipewright destroy`: deletes the stacks in reverse dependency order. Retained
/// resources stay; they are listed with where they are.
pub fn destroy(plan: Plan, out: &Output, o: Options) -> u8 {
    let rt = runtime();
    let e = match rt.block_on(build_engine(plan, out, o, false)) {
        Ok(e) => Arc::new(e),
        Err(m) => {
            eprintln!("error: {m}");
            return 2;
        }
    };
    if !e.o.yes {
        let names: Vec<&str> = e.units.iter().rev().map(|u| u.name.as_str()).collect();
        let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
        if !interactive {
            eprintln!(
                "error: destroy deletes {} stacks of environment `{}` ({}); without a terminal to \
                 ask, confirm with --yes",
                names.len(),
                e.plan.env,
                names.join(", ")
            );
            return 1;
        }
        if !e.rep.ask(&format!(
            "Delete the stacks of environment `{}` ({})? Retained data resources stay. [y/N] ",
            e.plan.env,
            names.join(", ")
        )) {
            eprintln!("nothing deleted");
            return 1;
        }
    }
    let e2 = e.clone();
    run_interruptible(&rt, e.clone(), async move { destroy_all(e2).await })
}

async fn destroy_all(e: Arc<Engine>) -> u8 {
    let start = std::time::Instant::now();
    let rdeps = logic::dependents(&e.deps);
    let n = e.units.len();
    let mut started = BTreeSet::new();
    let mut done = BTreeSet::new();
    let mut failed = false;
    let mut kept: Vec<String> = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    loop {
        if !failed {
            for i in logic::ready(&rdeps, &started, &done) {
                if running.len() >= e.o.concurrency.max(1) {
                    break;
                }
                started.insert(i);
                let e = e.clone();
                running.spawn(async move {
                    let r = e.destroy_one(i).await;
                    (i, r)
                });
            }
        }
        match running.join_next().await {
            Some(Ok((i, Ok((outcome, k))))) => {
                kept.extend(k);
                e.shared.lock().expect("lock").results.insert(i, outcome);
                done.insert(i);
            }
            Some(Ok((i, Err(m)))) => {
                e.rep.failed(&e.units[i].name, &m);
                e.shared
                    .lock()
                    .expect("lock")
                    .results
                    .insert(i, Outcome::Failed);
                failed = true;
            }
            Some(Err(j)) => {
                e.rep.error(&format!("internal error: {j}"));
                failed = true;
            }
            None => break,
        }
        if done.len() == n {
            break;
        }
    }
    for k in &kept {
        e.rep.info(&format!("kept {k}"));
    }
    e.finish_run(start, failed || done.len() < n)
}

impl Engine {
    async fn destroy_one(&self, i: usize) -> Result<(Outcome, Vec<String>), String> {
        let u = &self.units[i];
        let cfn = self.cfn(i);
        let Some(mut state) = cfn.describe(&u.name).await? else {
            self.rep.done(&u.name, &Outcome::Absent, &BTreeMap::new());
            return Ok((Outcome::Absent, Vec::new()));
        };
        self.rep.start(&u.name, u.resources.len() as u64);
        if !logic::is_settled(&state.status) {
            self.rep.note(
                &u.name,
                &format!("waiting for the running {}", state.status),
            );
            match self.settle(i, None).await?.0 {
                Some(s) => state = s,
                None => {
                    self.rep.done(&u.name, &Outcome::Deleted, &BTreeMap::new());
                    return Ok((Outcome::Deleted, Vec::new()));
                }
            }
        }
        let ids = cfn.physical_ids(&u.name).await?;
        let kept: Vec<String> = logic::retained(u)
            .into_iter()
            .filter_map(|(id, ty)| {
                ids.get(id)
                    .map(|p| format!("{ty} {p} ({}, from stack {})", u.region, u.name))
            })
            .collect();
        if state.termination_protection {
            self.rep
                .note(&u.name, "turning termination protection off to delete it");
            cfn.set_termination_protection(&u.name, false).await?;
        }
        let marker = cfn.newest_event(&u.name).await?;
        self.shared
            .lock()
            .expect("lock")
            .in_flight
            .insert(u.name.clone());
        cfn.delete(&u.name).await?;
        let (after, events) = self.settle(i, marker).await?;
        self.shared.lock().expect("lock").in_flight.remove(&u.name);
        match after {
            None => {
                self.rep.done(&u.name, &Outcome::Deleted, &BTreeMap::new());
                Ok((Outcome::Deleted, kept))
            }
            Some(s) => {
                let cause = logic::root_cause(&events)
                    .map(|e| {
                        format!(
                            "{} ({}): {}",
                            e.logical_id,
                            e.resource_type,
                            e.reason.as_deref().unwrap_or("")
                        )
                    })
                    .or(s.reason)
                    .unwrap_or_default();
                Err(format!("stack `{}` ended in {}: {cause}", u.name, s.status))
            }
        }
    }
}

/// `pipewright diff`: what a deploy would change, from change sets created and
/// deleted again; stacks not deployed yet list their resources as added.
pub fn diff(plan: Plan, out: &Output, o: Options) -> u8 {
    let rt = runtime();
    let e = match rt.block_on(build_engine(plan, out, o, false)) {
        Ok(e) => e,
        Err(m) => {
            eprintln!("error: {m}");
            return 2;
        }
    };
    match rt.block_on(diff_all(&e)) {
        Ok(doc) => {
            e.rep.diff(&doc);
            0
        }
        Err(m) => {
            eprintln!("error: {m}");
            1
        }
    }
}

async fn diff_all(e: &Engine) -> Result<serde_json::Value, String> {
    e.resolve_prefix_lists().await?;
    let mut stacks = Vec::new();
    for (i, u) in e.units.iter().enumerate() {
        let cfn = e.cfn(i);
        let state = cfn.describe(&u.name).await?;
        let changes: Vec<logic::Change> = match &state {
            None => u
                .resources
                .iter()
                .map(|(id, r)| logic::Change {
                    action: "Add".into(),
                    logical_id: id.clone(),
                    resource_type: r.ty.clone(),
                    replacement: None,
                    forced_by: Vec::new(),
                })
                .collect(),
            Some(s) if !logic::is_settled(&s.status) || s.status == "REVIEW_IN_PROGRESS" => {
                return Err(format!(
                    "stack `{}` is {}; diff again when it has settled",
                    u.name, s.status
                ));
            }
            Some(_) => {
                let mut parameters = BTreeMap::new();
                let mut previous = Vec::new();
                for (k, src) in &e.params[i] {
                    let v = match src {
                        ParamSource::IngestCode => e.code_key.clone(),
                        ParamSource::PrefixList { service } => e
                            .shared
                            .lock()
                            .expect("lock")
                            .prefix_lists
                            .get(&(u.region.clone(), service.clone()))
                            .cloned(),
                        ParamSource::Output { stack, key } | ParamSource::Late { stack, key } => e
                            .shared
                            .lock()
                            .expect("lock")
                            .outputs
                            .get(stack)
                            .and_then(|o| o.get(key))
                            .cloned(),
                    };
                    match v {
                        Some(v) => {
                            parameters.insert(k.clone(), v);
                        }
                        None => previous.push(k.clone()),
                    }
                }
                let req = Request {
                    name: u.name.clone(),
                    template: e.template(i).await?,
                    parameters,
                    previous,
                    policy: None,
                    termination_protection: false,
                };
                match cfn
                    .change_set(
                        &req,
                        false,
                        &format!("pipewright-diff-{}", std::process::id()),
                    )
                    .await?
                {
                    None => Vec::new(),
                    Some((id, changes)) => {
                        cfn.delete_change_set(&u.name, &id).await?;
                        changes
                    }
                }
            }
        };
        if let Some(s) = &state {
            e.shared
                .lock()
                .expect("lock")
                .outputs
                .insert(i, s.outputs.clone());
        }
        let refused = logic::refusals(&u.name, &changes, &e.o.allow_replace);
        stacks.push(serde_json::json!({
            "stack": u.name,
            "deployed": state.is_some(),
            "changes": changes.iter().map(|c| serde_json::json!({
                "kind": c.kind(), "logical_id": c.logical_id, "type": c.resource_type,
                "forced_by": c.forced_by, "iam": logic::is_security_type(&c.resource_type),
            })).collect::<Vec<_>>(),
            "refused": refused.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        }));
    }
    Ok(serde_json::json!({"environment": e.plan.env, "stacks": stacks}))
}

#[cfg(test)]
mod tests;
