//! One stack's deploy: what to do in the state CloudFormation reports, creating and
//! updating directly, waiting for the stack to settle, the root cause of a failure,
//! stack policies and termination protection. Change sets are in `change_set`; the
//! order stacks go in is in `order`.

use super::cfn::{self, Request};
use super::engine::Engine;
use super::logic::{self, Approval, StackAction};
use super::{Method, Outcome, REFUSED};

impl Engine {
    fn protects(&self, i: usize) -> bool {
        !self.o.moto_compat
            && self.plan.retain
            && self.units[i]
                .resources
                .values()
                .any(|r| logic::is_data_type(&r.ty))
    }

    pub(super) async fn request(&self, i: usize) -> Result<Request, String> {
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
    pub(super) async fn deploy_one(&self, i: usize) -> Outcome {
        let name = self.units[i].name.clone();
        self.rep
            .start(&name, self.units[i].resources.len() as u64, "deploying");
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

    pub(super) async fn deploy_inner(&self, i: usize) -> Result<Outcome, String> {
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
                    // Not ours, but running: Ctrl-C now leaves it running.
                    self.in_flight(&name);
                    self.settle(i, None).await?;
                }
                StackAction::DeleteThenCreate => {
                    self.rep.note(
                        &name,
                        "a previous create failed and rolled back (ROLLBACK_COMPLETE); deleting the empty stack to create it again",
                    );
                    let marker = cfn.newest_event(&name).await?;
                    self.in_flight(&name);
                    cfn.delete(&name).await?;
                    self.settle(i, marker).await?;
                }
                StackAction::CreateInShell if self.o.method == Method::Direct => {
                    self.rep.note(
                        &name,
                        "the stack is an empty shell left by a change set (REVIEW_IN_PROGRESS); deleting it",
                    );
                    self.in_flight(&name);
                    cfn.delete(&name).await?;
                    self.settle(i, None).await?;
                }
                a @ (StackAction::Create | StackAction::CreateInShell) => {
                    if matches!(a, StackAction::CreateInShell) {
                        // CloudFormation drops the shell's other change sets once ours runs.
                        self.rep.note(
                            &name,
                            "the stack is an empty shell left by a change set (REVIEW_IN_PROGRESS); creating it through a new change set",
                        );
                    }
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
    pub(super) async fn settle(
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
    pub(super) async fn finish(
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
        self.in_flight(&req.name);
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
        self.in_flight(&req.name);
        if !cfn.update(&req, during).await? {
            return Ok(Outcome::NoChange);
        }
        self.finish(i, marker, Outcome::Updated).await
    }

    /// Records a CloudFormation operation running on `name`, for Ctrl-C to report;
    /// `deploy_one` forgets it when the stack is done.
    pub(super) fn in_flight(&self, name: &str) {
        self.shared
            .lock()
            .expect("lock")
            .in_flight
            .insert(name.to_string());
    }

    /// Sets the stack policy when it differs from the one the stack should have.
    pub(super) async fn ensure_policy(&self, i: usize, want: &str) -> Result<(), String> {
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
}
