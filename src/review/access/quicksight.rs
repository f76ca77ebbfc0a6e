//! QuickSight in the access model: who may use each audience's Athena data source and
//! data sets, and view each dashboard and its analysis, with the actions the analytics stack grants them (`emit::stacks`'s
//! `DATA_SOURCE_ACTIONS`, `DATA_SET_ACTIONS`, `ANALYSIS_ACTIONS`, `DASHBOARD_ACTIONS`),
//! from the plan's audiences, data sets and dashboards.

use super::{Entry, GrantKind, Source, entry};
use crate::emit::stacks::{
    ANALYSIS_ACTIONS, DASHBOARD_ACTIONS, DATA_SET_ACTIONS, DATA_SOURCE_ACTIONS,
};
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
    for d in &p.dashboards {
        let src = Source::of(&d.origin, Vec::new());
        for pr in &d.principals {
            for (grant, what, actions) in [
                (GrantKind::QuicksightAnalysis, "analysis", ANALYSIS_ACTIONS),
                (
                    GrantKind::QuicksightDashboard,
                    "dashboard",
                    DASHBOARD_ACTIONS,
                ),
            ] {
                out.push(entry(
                    grant,
                    &d.id,
                    format!("QuickSight:{pr}"),
                    actions,
                    vec![qs_arn(p, what, &d.id)],
                    Conditions::new(),
                    &src,
                ));
            }
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
