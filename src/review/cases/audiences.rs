//! QuickSight audiences are kept apart: for an audience's role, every request another
//! audience's role needs (its datasets' prefixes and tables, its workgroup, its query
//! results) is a case expected **denied**, unless this role needs exactly that itself
//! (a dataset both audiences read). Written from the other roles' flows through
//! `needs`, like every need, never from `emit`.

use super::ctx::{Ctx, Need};
use super::needs;

/// The needs of every other audience's role, each with its flow id and what it is
/// (`another audience (<slug>)`); empty when `role` is not an audience's.
pub(super) fn others_needs(cx: &Ctx, role: &str) -> Vec<(String, String, Need)> {
    let plan = cx.plan;
    if !plan.quicksight_audiences.iter().any(|a| a.role == role) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for other in plan.quicksight_audiences.iter().filter(|a| a.role != role) {
        let service = &plan.roles[&other.role].service;
        for flow in plan.flows_of(&other.role) {
            for n in needs::needs(cx, flow, service) {
                let what = format!("another audience ({})", other.slug);
                out.push((flow.id.clone(), what, n));
            }
        }
    }
    out
}
