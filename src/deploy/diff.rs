//! `pipewright diff`: what a deploy would change, from change sets created and deleted
//! again (stacks not deployed yet list every resource as added). Changes nothing.

use std::collections::BTreeMap;

use super::Options;
use super::cfn::Request;
use super::engine::{Engine, build_engine, runtime};
use super::logic::{self, ParamSource, StackUnit};
use crate::emit::Output;
use crate::plan::Plan;

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
        let state = e.cfn(i).describe(&u.name).await?;
        let changes: Vec<logic::Change> = match &state {
            None => all_added(u),
            Some(s) if !logic::is_settled(&s.status) || s.status == "REVIEW_IN_PROGRESS" => {
                return Err(format!(
                    "stack `{}` is {}; diff again when it has settled",
                    u.name, s.status
                ));
            }
            Some(_) => e.pending_changes(i).await?,
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

/// A stack not deployed yet: every resource is added.
fn all_added(u: &StackUnit) -> Vec<logic::Change> {
    u.resources
        .iter()
        .map(|(id, r)| logic::Change {
            action: "Add".into(),
            logical_id: id.clone(),
            resource_type: r.ty.clone(),
            replacement: None,
            forced_by: Vec::new(),
        })
        .collect()
}

impl Engine {
    /// The changes a deploy would make to deployed stack `i`, from a change set created
    /// and deleted again.
    async fn pending_changes(&self, i: usize) -> Result<Vec<logic::Change>, String> {
        let u = &self.units[i];
        let cfn = self.cfn(i);
        let (parameters, previous) = self.known_parameters(i);
        let req = Request {
            name: u.name.clone(),
            template: self.template(i).await?,
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
            None => Ok(Vec::new()),
            Some((id, changes)) => {
                cfn.delete_change_set(&u.name, &id).await?;
                Ok(changes)
            }
        }
    }

    /// The parameter values of stack `i` known now, and the names of those not known
    /// (the stack keeps its previous values for them).
    fn known_parameters(&self, i: usize) -> (BTreeMap<String, String>, Vec<String>) {
        let u = &self.units[i];
        let mut parameters = BTreeMap::new();
        let mut previous = Vec::new();
        for (k, src) in &self.params[i] {
            let v = match src {
                ParamSource::IngestCode => self.code_key.clone(),
                ParamSource::PrefixList { service } => self
                    .shared
                    .lock()
                    .expect("lock")
                    .prefix_lists
                    .get(&(u.region.clone(), service.clone()))
                    .cloned(),
                ParamSource::Output { stack, key } | ParamSource::Late { stack, key } => self
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
        (parameters, previous)
    }
}
