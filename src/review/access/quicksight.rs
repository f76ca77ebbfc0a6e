//! QuickSight in the access model: who may use each audience's Athena data source and
//! data sets, with the actions the analytics stack grants them (`emit::stacks`'s
//! `DATA_SOURCE_ACTIONS` and `DATA_SET_ACTIONS`), from the plan's audiences and data
//! sets.

use super::{Entry, GrantKind, Source, entry};
use crate::emit::stacks::{DATA_SET_ACTIONS, DATA_SOURCE_ACTIONS};
use crate::plan::Plan;
use crate::review::norm::Conditions;

pub(super) fn qs_arn(p: &Plan, what: &str, id: &str) -> String {
    format!(
        "arn:{}:quicksight:{}:{}:{what}/{id}",
        p.partition, p.region, p.account
    )
}

pub(super) fn entries(p: &Plan, out: &mut Vec<Entry>) {
    for d in &p.quicksight {
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
    for a in &p.quicksight_audiences {
        out.push(entry(
            GrantKind::QuicksightDataSource,
            &a.data_source_id,
            format!("QuickSight:{}", a.principal),
            DATA_SOURCE_ACTIONS,
            vec![qs_arn(p, "datasource", &a.data_source_id)],
            Conditions::new(),
            &Source::of(&a.origin, Vec::new()),
        ));
    }
}
