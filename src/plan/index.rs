//! Lowering of the index: the DynamoDB table's name, its lookups (global secondary
//! indexes) and how long items live. The ingest function's access to the table is a
//! flow of the ingest section.

use crate::spec::model::Lookup;

use super::cx::{FIX_BASE, LowerCx};
use super::names::Rule;

/// The index table of a plan.
pub(super) struct IndexPart {
    /// The table's name for people (CloudFormation names the deployed table).
    pub table: String,
    /// Sorted, without repeats.
    pub lookups: Vec<Lookup>,
    pub ttl_days: Option<u32>,
}

impl LowerCx<'_> {
    pub(super) fn index(&mut self) -> IndexPart {
        let table = self.name(
            format!("{}-index", self.base),
            Rule::DynamoTable,
            "table",
            FIX_BASE,
            &["name"],
        );
        let (spec, env) = (self.spec, self.env);
        let mut lookups = spec.index.lookups.clone();
        lookups.sort();
        lookups.dedup();
        let (raw_days, _) = spec.raw_lifecycle(env);
        IndexPart {
            table,
            lookups,
            ttl_days: env
                .index_ttl_days
                .or(spec.index.ttl_days)
                .or(Some(raw_days)),
        }
    }
}
