//! The idempotency protocol's DynamoDB side (functions/ingest/README.md, "The
//! protocol"): claiming a key, recognising one's own claim, taking over a claim whose
//! holder failed or died, giving a claim up, and the one transaction that indexes a
//! request's objects and turns its claim into the answer.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use pipewright_ingest_config::index::{PK, attr};
use tracing::{info, warn};

use crate::items::{self, Held, Item, Record};
use crate::setup::Setup;

/// The index table of one source's requests.
pub struct Table<'a> {
    pub client: &'a aws_sdk_dynamodb::Client,
    pub setup: &'a Setup,
    pub source: &'a str,
}

/// How claiming an idempotency key went.
#[derive(Debug)]
pub enum Claim {
    /// This request holds the key: a new claim, its own claim found again (a write
    /// whose response was lost), or one taken over from an attempt that failed or died.
    /// Write where it says, then [`Table::commit`].
    Won(Held),
    /// The key's request has been stored and answered: its answer.
    Answered(u16, String),
    /// Another attempt holds the key and its lease runs.
    Busy,
    /// The key names other accepted content: it was used for another batch.
    Mismatch,
    Failed(String),
}

/// How the index transaction went.
pub enum Commit {
    Done,
    /// The key was answered meanwhile (this request's own transaction whose response
    /// was lost, or an attempt that took the claim over): that answer.
    Answered(u16, String),
    Failed(String),
}

fn is_conditional(e: &PutItemError) -> bool {
    matches!(e, PutItemError::ConditionalCheckFailedException(_))
}

impl Table<'_> {
    fn table(&self) -> &str {
        &self.setup.names.index_table
    }

    /// One step of claiming: a conditional put of `fresh` (this request's claim), then,
    /// when the key already has an item, what it says. `now` is epoch seconds.
    pub async fn claim(&self, fresh: &Held, now: i64) -> Claim {
        let item = items::claim_item(&self.setup.config, self.source, fresh);
        let put = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match put {
            Ok(_) => return Claim::Won(fresh.clone()),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(c) => c.item,
                other => return Claim::Failed(DisplayErrorContext(other).to_string()),
            },
        };
        // Moto and DynamoDB return the item; read it if a condition failure did not.
        let old = match old {
            Some(item) => Some(item),
            None => match self.get(&fresh.key).await {
                Ok(item) => item,
                Err(e) => return Claim::Failed(e),
            },
        };
        let record = match old.as_ref() {
            Some(item) => match items::record_of(item) {
                Some(r) => r,
                None => match items::legacy_claim(item, fresh) {
                    Some(h) => Record::Claimed(h),
                    None => return Claim::Failed("unreadable idempotency record".into()),
                },
            },
            // Gone meanwhile (its TTL): the next round claims it afresh.
            None => return Claim::Busy,
        };
        self.decide(fresh, record, now).await
    }

    /// What an existing item means for `fresh`.
    async fn decide(&self, fresh: &Held, record: Record, now: i64) -> Claim {
        match record {
            Record::Answered {
                status,
                body,
                content,
            } => match content {
                Some(c) if c != fresh.content => Claim::Mismatch,
                _ => Claim::Answered(status, body),
            },
            Record::Claimed(old) if old.content != fresh.content => Claim::Mismatch,
            // This request's own claim: an earlier attempt of this very call (or of the
            // take-over below) succeeded and its response was lost.
            Record::Claimed(old) if old.holder == fresh.holder => Claim::Won(old),
            Record::Claimed(old) if old.lease_until < now => self.take_over(fresh, old).await,
            Record::Claimed(_) => Claim::Busy,
        }
    }

    /// Takes over a claim whose holder gave it up or whose lease ran out, keeping its
    /// object keys and receive time; only while it is still that holder's claim.
    async fn take_over(&self, fresh: &Held, old: Held) -> Claim {
        let mine = Held {
            holder: fresh.holder.clone(),
            lease_until: fresh.lease_until,
            ..old.clone()
        };
        let item = items::claim_item(&self.setup.config, self.source, &mine);
        let put = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression(
                "#rid = :rid AND #lease = :lease AND attribute_not_exists(#response)",
            )
            .expression_attribute_names("#rid", attr::REQUEST_ID)
            .expression_attribute_names("#lease", attr::LEASE_UNTIL)
            .expression_attribute_names("#response", attr::RESPONSE)
            .expression_attribute_values(":rid", AttributeValue::S(old.holder.clone()))
            .expression_attribute_values(":lease", AttributeValue::N(old.lease_until.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => {
                info!(from = %old.holder, object_key = %old.object_key, "took over the idempotency claim");
                Claim::Won(mine)
            }
            // Someone else moved first, or this very put landed and its response was
            // lost: the next round reads which.
            Err(e) if e.as_service_error().is_some_and(is_conditional) => Claim::Busy,
            Err(e) => Claim::Failed(DisplayErrorContext(e).to_string()),
        }
    }

    /// Gives this request's claim up after a failure, so that the device's retry
    /// proceeds at once: the same claim with its lease at 0, only while it is still
    /// this request's and unanswered. Best effort: if it fails, the lease runs out.
    pub async fn release(&self, held: &Held) {
        let released = Held {
            lease_until: 0,
            ..held.clone()
        };
        let item = items::claim_item(&self.setup.config, self.source, &released);
        let result = self
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("#rid = :rid AND attribute_not_exists(#response)")
            .expression_attribute_names("#rid", attr::REQUEST_ID)
            .expression_attribute_names("#response", attr::RESPONSE)
            .expression_attribute_values(":rid", AttributeValue::S(held.holder.clone()))
            .send()
            .await;
        if let Err(e) = result {
            warn!(error = %DisplayErrorContext(&e), "could not release the idempotency claim; it expires with its lease");
        }
    }

    /// The idempotency item of `key`, read consistently.
    pub async fn get(&self, key: &str) -> Result<Option<Item>, String> {
        let out = self
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(items::idempotency_key_item(self.source, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        Ok(out.item)
    }

    /// The stored answer of `key`, if it has one.
    pub async fn lookup(&self, key: &str) -> Result<Option<(u16, String)>, String> {
        Ok(self
            .get(key)
            .await?
            .as_ref()
            .and_then(items::stored_response))
    }

    /// One transaction: the new items (which must not exist yet) and, when the request
    /// holds a claim, the record with the answer replacing it (only while the claim is
    /// still this request's and unanswered).
    pub async fn commit(
        &self,
        held: Option<&Held>,
        writes: Vec<Item>,
        record: Option<Item>,
        request_id: &str,
    ) -> Commit {
        let table = self.table();
        let mut actions = Vec::with_capacity(writes.len() + 1);
        for item in writes {
            match conditional_put(
                table,
                item,
                "attribute_not_exists(#pk)",
                &[("#pk", PK)],
                &[],
            ) {
                Ok(a) => actions.push(a),
                Err(e) => return Commit::Failed(e),
            }
        }
        if let Some(item) = record {
            match conditional_put(
                table,
                item,
                "#rid = :rid AND attribute_not_exists(#response)",
                &[("#rid", attr::REQUEST_ID), ("#response", attr::RESPONSE)],
                &[(":rid", request_id)],
            ) {
                Ok(a) => actions.push(a),
                Err(e) => return Commit::Failed(e),
            }
        }
        // The token makes the SDK's own retries of this call idempotent on DynamoDB
        // (10 minutes); where it is not honoured, the condition failure below is.
        let token: String = request_id.chars().take(36).collect();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .client_request_token(token)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Commit::Done,
            Err(e) => e,
        };
        let condition_failed = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                c.cancellation_reasons().is_empty()
                    || c.cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed"))
            }
            _ => false,
        };
        if let (true, Some(h)) = (condition_failed, held) {
            match self.lookup(&h.key).await {
                Ok(Some((status, body))) => return Commit::Answered(status, body),
                Ok(None) => {}
                Err(e) => return Commit::Failed(e),
            }
        }
        Commit::Failed(DisplayErrorContext(err).to_string())
    }
}

fn conditional_put(
    table: &str,
    item: Item,
    condition: &str,
    names: &[(&str, &str)],
    values: &[(&str, &str)],
) -> Result<TransactWriteItem, String> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (k, v) in names {
        put = put.expression_attribute_names(*k, *v);
    }
    for (k, v) in values {
        put = put.expression_attribute_values(*k, AttributeValue::S((*v).to_string()));
    }
    let put = put.build().map_err(|e| e.to_string())?;
    Ok(TransactWriteItem::builder().put(put).build())
}
