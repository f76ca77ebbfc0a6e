//! Deploying one stack through a change set: create it, show the changes, refuse
//! replacing data resources unless allowed, ask for approval, execute. Not `diff`,
//! which creates change sets only to read them.

use super::engine::Engine;
use super::logic;
use super::{Outcome, REFUSED};

impl Engine {
    pub(super) async fn via_change_set(&self, i: usize, create: bool) -> Result<Outcome, String> {
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
        if let Err(m) = self.refuse_or_approve(&req.name, &changes).await {
            cfn.delete_change_set(&req.name, &id).await?;
            return Err(m);
        }
        let allowed: Vec<String> = changes
            .iter()
            .filter(|c| self.o.allow_replace.contains(&c.logical_id))
            .map(|c| c.logical_id.clone())
            .collect();
        let mut loosened = false;
        if !create && let Some(p) = logic::stack_policy(&self.units[i], &allowed) {
            cfn.set_policy(&req.name, &p).await?;
            loosened = !allowed.is_empty();
        }
        let started = async {
            let marker = cfn.newest_event(&req.name).await?;
            self.in_flight(&req.name);
            cfn.execute(&req.name, &id).await?;
            Ok::<_, String>(marker)
        }
        .await;
        let marker = match started {
            Ok(m) => m,
            Err(m) => {
                // Nothing ran: the resources --allow-replace let go are protected again.
                if loosened
                    && let Some(p) = &req.policy
                    && let Err(e) = cfn.set_policy(&req.name, p).await
                {
                    return Err(format!("{m}; and {e}"));
                }
                return Err(m);
            }
        };
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

    /// Refuses replacing data resources not allowed with `--allow-replace`, then asks
    /// for approval where `--require-approval` wants it. `Err` when the change set must
    /// not run.
    async fn refuse_or_approve(
        &self,
        stack: &str,
        changes: &[logic::Change],
    ) -> Result<(), String> {
        let refused = logic::refusals(stack, changes, &self.o.allow_replace);
        if !refused.is_empty() {
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
        let needed = logic::needs_approval(changes, self.o.approval);
        let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
        match logic::approval_outcome(needed, self.o.yes, interactive, &self.o.approval_name) {
            logic::ApprovalOutcome::Proceed => Ok(()),
            logic::ApprovalOutcome::Fail(m) => Err(m),
            logic::ApprovalOutcome::Ask => {
                let _g = self.prompt.lock().await;
                let ok = self
                    .rep
                    .ask(&format!("Deploy these changes to {stack}? [y/N] "));
                if ok {
                    Ok(())
                } else {
                    Err(format!("changes to `{stack}` not approved"))
                }
            }
        }
    }
}
