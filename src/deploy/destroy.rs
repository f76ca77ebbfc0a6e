//! `pipewright destroy`: the stacks deleted in reverse dependency order, after a
//! confirmation; retained resources are listed with where they are. Not the
//! delete-and-recreate of a stack whose create rolled back (`stack`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::engine::{Engine, build_engine, run_interruptible, runtime};
use super::logic;
use super::{Options, Outcome};
use crate::emit::Output;
use crate::plan::Plan;

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
        self.rep
            .start(&u.name, u.resources.len() as u64, "deleting");
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
