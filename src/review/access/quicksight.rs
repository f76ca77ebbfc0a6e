//! QuickSight in the access model: who may use the Athena data source and each data
//! set, with the actions the analytics stack grants them (`emit::stacks`'s
//! `DATA_SOURCE_ACTIONS` and `DATA_SET_ACTIONS`), from the plan's data sets.

use std::collections::BTreeMap;

use super::{Entry, GrantKind, Source, entry};
use crate::emit::stacks::{DATA_SET_ACTIONS, DATA_SOURCE_ACTIONS, data_source_id};
use crate::plan::{Origin, Plan};
use crate::review::norm::Conditions;

fn qs_arn(p: &Plan, what: &str, id: &str) -> String {
    format!(
        "arn:{}:quicksight:{}:{}:{what}/{id}",
        p.partition, p.region, p.account
    )
}

pub(super) fn entries(p: &Plan, out: &mut Vec<Entry>) {
    if !p.roles.contains_key("quicksight") {
        return;
    }
    let source = data_source_id(p);
    // Every principal of any data set may use the data source.
    let mut all: BTreeMap<&String, &Origin> = BTreeMap::new();
    for d in &p.quicksight {
        for (pr, o) in &d.origins {
            all.entry(pr).or_insert(o);
        }
        for pr in &d.principals {
            let src = d
                .origins
                .get(pr)
                .map(|o| Source::of(o, Vec::new()))
                .unwrap_or_else(|| Source::setting(p, "analytics.quicksight", Vec::new()));
            out.push(entry(
                GrantKind::QuicksightDataSet,
                &d.id,
                format!("QuickSight:{pr}"),
                DATA_SET_ACTIONS,
                vec![qs_arn(p, "dataset", &d.id)],
                Conditions::new(),
                &src,
            ));
        }
    }
    for (pr, o) in all {
        out.push(entry(
            GrantKind::QuicksightDataSource,
            &source,
            format!("QuickSight:{pr}"),
            DATA_SOURCE_ACTIONS,
            vec![qs_arn(p, "datasource", &source)],
            Conditions::new(),
            &Source::of(o, Vec::new()),
        ));
    }
}
