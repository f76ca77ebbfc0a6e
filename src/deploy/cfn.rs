//! The CloudFormation calls of the deploy engine, one function per operation, over
//! an `aws_sdk_cloudformation::Client`. Unit tests drive them with aws-smithy-mocks
//! (responses shaped like real CloudFormation's) for the paths moto cannot produce.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, StackEvent};

use super::logic::{self, Change, Event};

/// Turns an SDK error into one line: AWS's code and message when there is one.
pub fn err_text<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    super::errors::sdk_error_text(e, "the CloudFormation endpoint")
}

/// One of DescribeStackEvents' events as plain data.
pub fn event_of(e: &StackEvent) -> Event {
    Event {
        id: e.event_id().unwrap_or_default().to_string(),
        time_ms: e.timestamp().and_then(|t| t.to_millis().ok()).unwrap_or(0),
        logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
        resource_type: e.resource_type().unwrap_or_default().to_string(),
        status: e
            .resource_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: e.resource_status_reason().map(str::to_string),
    }
}

/// What DescribeStacks says about a stack.
#[derive(Debug, Clone, Default)]
pub struct StackState {
    pub status: String,
    pub reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub termination_protection: bool,
}

/// How one template reaches CloudFormation.
#[derive(Debug, Clone)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}

/// A stack operation's inputs.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: String,
    pub template: TemplateSource,
    pub parameters: BTreeMap<String, String>,
    /// Parameters that keep the value the stack has (diff without a new bundle).
    pub previous: Vec<String>,
    pub policy: Option<String>,
    pub termination_protection: bool,
}

fn params(r: &Request) -> Vec<Parameter> {
    r.parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .chain(r.previous.iter().map(|k| {
            Parameter::builder()
                .parameter_key(k)
                .use_previous_value(true)
                .build()
        }))
        .collect()
}

/// An idempotency token for one operation: the SDK retries a request with the same
/// token, so a retried CreateStack after a lost response cannot act twice.
fn token(op: &str, stack: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let h = crate::emit::sha256_hex(format!("{stack}/{}/{now}", std::process::id()).as_bytes());
    format!("pipewright-{op}-{}", &h[..32])
}

const CAPABILITIES: [Capability; 3] = [
    Capability::CapabilityIam,
    Capability::CapabilityNamedIam,
    Capability::CapabilityAutoExpand,
];

#[derive(Debug, Clone)]
pub struct Cfn {
    pub client: Client,
    pub poll: Duration,
    pub timeout: Duration,
}

impl Cfn {
    /// The stack's state, or `None` when there is no such stack.
    pub async fn describe(&self, name: &str) -> Result<Option<StackState>, String> {
        match self.client.describe_stacks().stack_name(name).send().await {
            Ok(out) => {
                let Some(s) = out.stacks().first() else {
                    return Ok(None);
                };
                let status = s
                    .stack_status()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default();
                if status == "DELETE_COMPLETE" {
                    return Ok(None);
                }
                Ok(Some(StackState {
                    status,
                    reason: s.stack_status_reason().map(str::to_string),
                    outputs: s
                        .outputs()
                        .iter()
                        .filter_map(|o| {
                            Some((o.output_key()?.to_string(), o.output_value()?.to_string()))
                        })
                        .collect(),
                    parameters: s
                        .parameters()
                        .iter()
                        .filter_map(|p| {
                            Some((
                                p.parameter_key()?.to_string(),
                                p.parameter_value().unwrap_or_default().to_string(),
                            ))
                        })
                        .collect(),
                    termination_protection: s.enable_termination_protection().unwrap_or(false),
                }))
            }
            Err(e)
                if e.code() == Some("ValidationError")
                    && e.message().is_some_and(|m| m.contains("does not exist")) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("describing stack `{name}`: {}", err_text(&e))),
        }
    }

    /// Events of a stack newer than `after` (an event id), oldest first.
    pub async fn events_after(
        &self,
        name: &str,
        after: Option<&str>,
    ) -> Result<Vec<Event>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        'pages: for _ in 0..20 {
            let r = self
                .client
                .describe_stack_events()
                .stack_name(name)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| format!("reading events of `{name}`: {}", err_text(&e)))?;
            for e in r.stack_events() {
                let id = e.event_id().unwrap_or_default();
                if Some(id) == after {
                    break 'pages;
                }
                out.push(event_of(e));
            }
            token = r.next_token().map(str::to_string);
            if token.is_none() || after.is_none() {
                // Without a marker the first page (the newest events) is enough.
                break;
            }
        }
        out.reverse();
        Ok(out)
    }

    /// The id of the newest event, the marker for [`Cfn::events_after`].
    pub async fn newest_event(&self, name: &str) -> Result<Option<String>, String> {
        let r = self
            .client
            .describe_stack_events()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| format!("reading events of `{name}`: {}", err_text(&e)))?;
        Ok(r.stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_string))
    }

    /// Polls until the stack settles, calling `on_event` for each new event; returns
    /// the final state (`None`: the stack is gone) and the events of the operation.
    pub async fn wait(
        &self,
        name: &str,
        marker: Option<String>,
        mut on_event: impl FnMut(&Event),
    ) -> Result<(Option<StackState>, Vec<Event>), String> {
        let start = Instant::now();
        let mut marker = marker;
        let mut all = Vec::new();
        loop {
            let state = self.describe(name).await?;
            if state.is_some() {
                let new = self.events_after(name, marker.as_deref()).await?;
                if let Some(last) = new.last() {
                    marker = Some(last.id.clone());
                }
                for e in &new {
                    on_event(e);
                }
                all.extend(new);
            }
            match &state {
                None => return Ok((None, all)),
                Some(s) if logic::is_settled(&s.status) => return Ok((state, all)),
                Some(s) => {
                    if start.elapsed() > self.timeout {
                        return Err(format!(
                            "stack `{name}` is still {} after {} s; the operation keeps running \
                             in CloudFormation, and a later deploy waits for it",
                            s.status,
                            self.timeout.as_secs()
                        ));
                    }
                }
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    pub async fn create(&self, r: &Request) -> Result<(), String> {
        let mut b = self
            .client
            .create_stack()
            .stack_name(&r.name)
            .client_request_token(token("create", &r.name))
            .set_parameters(Some(params(r)))
            .set_capabilities(Some(CAPABILITIES.to_vec()))
            .set_stack_policy_body(r.policy.clone())
            .enable_termination_protection(r.termination_protection);
        b = match &r.template {
            TemplateSource::Body(t) => b.template_body(t),
            TemplateSource::Url(u) => b.template_url(u),
        };
        b.send()
            .await
            .map(|_| ())
            .map_err(|e| format!("creating stack `{}`: {}", r.name, err_text(&e)))
    }

    /// Updates a stack; `Ok(false)` when there was nothing to update.
    pub async fn update(&self, r: &Request, during: Option<String>) -> Result<bool, String> {
        let mut b = self
            .client
            .update_stack()
            .stack_name(&r.name)
            .client_request_token(token("update", &r.name))
            .set_parameters(Some(params(r)))
            .set_capabilities(Some(CAPABILITIES.to_vec()))
            .set_stack_policy_during_update_body(during);
        b = match &r.template {
            TemplateSource::Body(t) => b.template_body(t),
            TemplateSource::Url(u) => b.template_url(u),
        };
        match b.send().await {
            Ok(_) => Ok(true),
            Err(e) if logic::is_no_change(e.code(), e.message()) => Ok(false),
            Err(e) => Err(format!("updating stack `{}`: {}", r.name, err_text(&e))),
        }
    }

    /// The template the stack runs now (as submitted).
    pub async fn template(&self, name: &str) -> Result<String, String> {
        self.client
            .get_template()
            .stack_name(name)
            .send()
            .await
            .map(|o| o.template_body().unwrap_or_default().to_string())
            .map_err(|e| format!("reading the template of `{name}`: {}", err_text(&e)))
    }

    pub async fn delete(&self, name: &str) -> Result<(), String> {
        self.client
            .delete_stack()
            .stack_name(name)
            .client_request_token(token("delete", name))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("deleting stack `{name}`: {}", err_text(&e)))
    }

    pub async fn policy(&self, name: &str) -> Result<Option<String>, String> {
        self.client
            .get_stack_policy()
            .stack_name(name)
            .send()
            .await
            .map(|o| o.stack_policy_body().map(str::to_string))
            .map_err(|e| format!("reading the stack policy of `{name}`: {}", err_text(&e)))
    }

    pub async fn set_policy(&self, name: &str, policy: &str) -> Result<(), String> {
        self.client
            .set_stack_policy()
            .stack_name(name)
            .stack_policy_body(policy)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("setting the stack policy of `{name}`: {}", err_text(&e)))
    }

    pub async fn set_termination_protection(&self, name: &str, on: bool) -> Result<(), String> {
        self.client
            .update_termination_protection()
            .stack_name(name)
            .enable_termination_protection(on)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "turning termination protection of `{name}` {}: {}",
                    if on { "on" } else { "off" },
                    err_text(&e)
                )
            })
    }

    /// Physical ids of a stack's resources, by logical id.
    pub async fn physical_ids(&self, name: &str) -> Result<BTreeMap<String, String>, String> {
        let r = self
            .client
            .describe_stack_resources()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| format!("listing resources of `{name}`: {}", err_text(&e)))?;
        Ok(r.stack_resources()
            .iter()
            .filter_map(|x| {
                Some((
                    x.logical_resource_id()?.to_string(),
                    x.physical_resource_id()?.to_string(),
                ))
            })
            .collect())
    }

    /// Creates a change set and waits for it. `Ok(None)`: it holds no changes (and
    /// has been deleted again).
    pub async fn change_set(
        &self,
        r: &Request,
        create: bool,
        cs_name: &str,
    ) -> Result<Option<(String, Vec<Change>)>, String> {
        let mut b = self
            .client
            .create_change_set()
            .stack_name(&r.name)
            .change_set_name(cs_name)
            .change_set_type(if create {
                ChangeSetType::Create
            } else {
                ChangeSetType::Update
            })
            .set_parameters(Some(params(r)))
            .set_capabilities(Some(CAPABILITIES.to_vec()));
        b = match &r.template {
            TemplateSource::Body(t) => b.template_body(t),
            TemplateSource::Url(u) => b.template_url(u),
        };
        let id = match b.send().await {
            Ok(o) => o.id().unwrap_or(cs_name).to_string(),
            Err(e) if logic::is_no_change(e.code(), e.message()) => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "creating a change set for `{}`: {}",
                    r.name,
                    err_text(&e)
                ));
            }
        };
        let start = Instant::now();
        loop {
            let mut changes = Vec::new();
            let mut token: Option<String> = None;
            let (status, reason) = loop {
                let o = self
                    .client
                    .describe_change_set()
                    .stack_name(&r.name)
                    .change_set_name(&id)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        format!("reading the change set of `{}`: {}", r.name, err_text(&e))
                    })?;
                changes.extend(o.changes().iter().filter_map(change_of));
                token = o.next_token().map(str::to_string);
                let st = o
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                if token.is_none() || st != "CREATE_COMPLETE" {
                    break (st, o.status_reason().map(str::to_string));
                }
            };
            match status.as_str() {
                "CREATE_COMPLETE" => return Ok(Some((id, changes))),
                "FAILED" => {
                    let _ = self.delete_change_set(&r.name, &id).await;
                    if logic::is_no_change(None, reason.as_deref()) {
                        return Ok(None);
                    }
                    return Err(format!(
                        "the change set for `{}` failed: {}",
                        r.name,
                        reason.unwrap_or_default()
                    ));
                }
                _ if start.elapsed() > self.timeout => {
                    return Err(format!(
                        "the change set for `{}` is still {status} after {} s",
                        r.name,
                        self.timeout.as_secs()
                    ));
                }
                _ => tokio::time::sleep(self.poll).await,
            }
        }
    }

    pub async fn delete_change_set(&self, stack: &str, id: &str) -> Result<(), String> {
        self.client
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("deleting the change set of `{stack}`: {}", err_text(&e)))
    }

    pub async fn execute(&self, stack: &str, id: &str) -> Result<(), String> {
        self.client
            .execute_change_set()
            .stack_name(stack)
            .client_request_token(token("execute", stack))
            .change_set_name(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("executing the change set of `{stack}`: {}", err_text(&e)))
    }
}

fn change_of(c: &aws_sdk_cloudformation::types::Change) -> Option<Change> {
    let rc = c.resource_change()?;
    let forced_by = rc
        .details()
        .iter()
        .filter_map(|d| d.target())
        .filter(|t| {
            t.requires_recreation()
                .is_some_and(|r| r.as_str() != "Never")
        })
        .filter_map(|t| t.name().or_else(|| t.attribute().map(|a| a.as_str())))
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Some(Change {
        action: rc
            .action()
            .map(|a| a.as_str().to_string())
            .unwrap_or_default(),
        logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
        resource_type: rc.resource_type().unwrap_or_default().to_string(),
        replacement: rc.replacement().map(|r| r.as_str().to_string()),
        forced_by,
    })
}
