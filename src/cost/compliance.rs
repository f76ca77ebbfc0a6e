//! What the compliance posture adds to an environment's month, read off the priced
//! lines of [`super::estimate`] (the same lines `pipewright cost` prints, so `synth`'s
//! figure and `cost` cannot disagree). Not a price list of its own.

use serde::Serialize;

use super::prices::{PriceBook, PriceError};
use super::{Assumptions, ComponentCost, Inputs, Regions, estimate};
use crate::plan::Plan;

/// The posture's part of the estimate at the default traffic profile.
#[derive(Debug, Clone, Serialize)]
pub struct Posture {
    pub region: String,
    pub currency: String,
    /// `read` or `unverified`: as the price book marks the regions used.
    pub prices_status: String,
    pub events_per_day: f64,
    /// The estimate's components that exist because of the posture.
    pub components: Vec<ComponentCost>,
    pub monthly_total: f64,
}

/// Whether a component of the estimate is there for the posture: the network's
/// interface endpoints, the API's encrypted cache, and replication with its replica
/// buckets.
fn of_posture(component: &str) -> bool {
    matches!(
        component,
        "VPC endpoints" | "API Gateway cache" | "S3 replication"
    ) || (component.starts_with("S3 ") && component.ends_with("-replica"))
}

/// The posture's cost, `None` for an environment without one; an error when the
/// book has no prices for a region the environment uses.
pub fn posture(plan: &Plan, book: &PriceBook) -> Result<Option<Posture>, PriceError> {
    if !plan.pci() {
        return Ok(None);
    }
    let regions = Regions::of(book, plan)?;
    let inputs = Inputs::default();
    let e = estimate(plan, book, &regions, &inputs, &Assumptions::default());
    let components: Vec<ComponentCost> = e
        .components
        .into_iter()
        .filter(|c| of_posture(&c.component))
        .collect();
    let total = components.iter().map(|c| c.monthly).sum::<f64>();
    Ok(Some(Posture {
        region: e.region,
        currency: e.currency,
        prices_status: e.prices_status,
        events_per_day: inputs.events_per_day,
        components,
        monthly_total: (total * 100.0).round() / 100.0,
    }))
}

impl Posture {
    /// The summary lines `synth` prints under an environment.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "  cost  compliance ≈ {:.2} {}/month at {} events a day ({} prices, {}; `pipewright cost` prints every line):",
            self.monthly_total, self.currency, self.events_per_day, self.region, self.prices_status
        )];
        for c in &self.components {
            out.push(format!("  cost    {:<28} {:>10.2}", c.component, c.monthly));
        }
        out
    }
}
