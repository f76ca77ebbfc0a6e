//! The engine of one run: the stacks, their parameter sources and dependencies, the
//! AWS clients, and the state shared between stacks deployed side by side (outputs so
//! far, operations in flight, results). Building it, running it under Ctrl-C, and the
//! run's summary. What happens to one stack is in `stack` and `change_set`, the order
//! in `order`, `destroy` and `diff`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::artifacts::{Upload, artifacts_bucket, ingest_zip, script_uploads};
use super::aws::{Aws, check_account, connect};
use super::cfn::Cfn;
use super::logic::{self, ParamSource, StackUnit};
use super::report::Reporter;
use super::units::{moto_compat, units};
use super::{Options, Outcome};
use crate::emit::Output;
use crate::plan::Plan;

/// The shared state of one run: stack outputs so far, and operations in flight
/// (for Ctrl-C).
#[derive(Default)]
pub(super) struct Shared {
    pub(super) outputs: BTreeMap<usize, BTreeMap<String, String>>,
    /// AWS-managed prefix-list ids by (region, service).
    pub(super) prefix_lists: BTreeMap<(String, String), String>,
    pub(super) in_flight: BTreeSet<String>,
    pub(super) results: BTreeMap<usize, Outcome>,
}

/// One run of `deploy`, `diff` or `destroy`.
pub(super) struct Engine {
    pub(super) plan: Plan,
    pub(super) units: Vec<StackUnit>,
    pub(super) params: Vec<BTreeMap<String, ParamSource>>,
    pub(super) deps: Vec<BTreeSet<usize>>,
    pub(super) aws: Aws,
    pub(super) o: Options,
    pub(super) rep: Reporter,
    pub(super) code_key: Option<String>,
    pub(super) bucket: String,
    pub(super) shared: Mutex<Shared>,
    pub(super) prompt: tokio::sync::Mutex<()>,
    /// The ingest zip and the Glue scripts, uploaded once the bootstrap stack exists.
    pub(super) uploads: Mutex<Vec<Upload>>,
}

impl Engine {
    pub(super) fn cfn(&self, i: usize) -> &Cfn {
        &self.aws.cfn[&self.units[i].region]
    }

    /// Parameter values of stack `i`; `None` values are unknown yet (for diff).
    pub(super) fn parameters(&self, i: usize) -> Result<BTreeMap<String, String>, String> {
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

    /// Reports the run's summary (and writes `--outputs-file`); returns the exit code.
    pub(super) fn finish_run(&self, start: std::time::Instant, failed: bool) -> u8 {
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

/// Reads the stacks (rewritten under `--moto-compat`), their parameter sources and
/// dependencies; connects and checks the account; then, only when the credentials are
/// the environment's, bundles the ingest zip when `need_zip` and a stack takes it.
pub(super) async fn build_engine(
    plan: Plan,
    out: &Output,
    o: Options,
    need_zip: bool,
) -> Result<Engine, String> {
    let mut units = units(&plan, out)?;
    let rep = Reporter::new(o.style, o.quiet);
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
    let bucket = artifacts_bucket(&plan)?;
    let aws = connect(&plan, &o).await;
    check_account(&aws, &plan, &o, &rep).await?;
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

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `fut`; on Ctrl-C says which operations keep running and returns 130.
pub(super) fn run_interruptible<F>(rt: &tokio::runtime::Runtime, e: Arc<Engine>, fut: F) -> u8
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
