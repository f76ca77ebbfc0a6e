//! `pipewright deploy`: the order stacks go in. The bootstrap stack (and what it
//! depends on) first, then the uploads, then every other stack as soon as the stacks
//! it depends on are done (up to `--concurrency` at once), then a second pass for
//! parameters fed by later stacks. What happens to each stack is in `stack`.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::artifacts::upload;
use super::engine::{Engine, build_engine, run_interruptible, runtime};
use super::logic::{self, ParamSource};
use super::{Options, Outcome};
use crate::emit::Output;
use crate::plan::{Plan, StackId};

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
    if !e.bootstrap_first(&mut started, &mut done).await {
        return e.finish_run(start, true);
    }
    let mut failed = deploy_ready(&e, &mut started, &mut done).await;
    if !failed && done.len() == n {
        failed = !e.second_pass().await;
    }
    e.finish_run(start, failed || done.len() < n)
}

/// Every stack not started yet, each as soon as the stacks it depends on are done, up
/// to `--concurrency` at once; after a failure none is started. Whether one failed.
async fn deploy_ready(
    e: &Arc<Engine>,
    started: &mut BTreeSet<usize>,
    done: &mut BTreeSet<usize>,
) -> bool {
    let n = e.units.len();
    let mut failed = false;
    let mut running = tokio::task::JoinSet::new();
    loop {
        if !failed {
            for i in logic::ready(&e.deps, started, done) {
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
    failed
}

impl Engine {
    /// The bootstrap stack (the artifacts bucket) first, then the uploads. Only what
    /// bootstrap itself depends on goes before it: the replica-region stack that holds
    /// the replicas of its buckets (and so needs no upload). `false` when a stack or an
    /// upload failed.
    async fn bootstrap_first(
        &self,
        started: &mut BTreeSet<usize>,
        done: &mut BTreeSet<usize>,
    ) -> bool {
        let Some(b) = self.units.iter().position(|u| u.id == StackId::Bootstrap) else {
            return true;
        };
        let before = logic::ancestors(&self.deps, b);
        while let Some(i) = logic::ready(&self.deps, started, done)
            .into_iter()
            .find(|i| before.contains(i))
        {
            started.insert(i);
            match self.deploy_one(i).await {
                Outcome::Failed | Outcome::Refused => return false,
                _ => {
                    done.insert(i);
                }
            }
        }
        started.insert(b);
        if self.deploy_one(b).await == Outcome::Failed {
            return false;
        }
        done.insert(b);
        let ups = std::mem::take(&mut *self.uploads.lock().expect("lock"));
        for u in &ups {
            if let Err(m) = upload(&self.aws, &self.bucket, u, &self.rep).await {
                self.rep.error(&m);
                return false;
            }
        }
        true
    }

    /// Outputs of the stacks that feed a late parameter and already exist, so that a
    /// redeploy passes their values from the start (and never turns off what a
    /// previous run's second pass turned on).
    pub(super) async fn preload_late_outputs(&self) -> Result<(), String> {
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
    pub(super) async fn second_pass(&self) -> bool {
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
}
