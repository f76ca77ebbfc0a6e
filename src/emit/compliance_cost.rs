//! The monthly price of the PCI-DSS posture, shown in the synth summary so a team sees
//! what compliance adds before it deploys. A rough, list-price estimate: one place,
//! a few constants, no price feed (a full `pipewright cost` is separate work).
//!
//! Prices are AWS list prices in US East (N. Virginia), USD, as published on the
//! pricing pages named beside each constant; other regions differ by a few percent.

use super::stacks::{API_CACHE_CLUSTER_SIZE, INTERFACE_ENDPOINTS};
use crate::plan::{Access, Plan};

/// Hours in a billing month, as AWS pricing pages count them.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// AWS PrivateLink pricing, "Interface Endpoint": USD per endpoint per AZ per hour.
pub const INTERFACE_ENDPOINT_AZ_HOUR: f64 = 0.01;
/// AWS PrivateLink pricing, "Interface Endpoint": USD per GB processed (first PB).
pub const INTERFACE_ENDPOINT_GB: f64 = 0.01;
/// Amazon S3 pricing, "S3 Standard", first 50 TB: USD per GB-month stored.
pub const S3_STANDARD_GB_MONTH: f64 = 0.023;
/// Amazon API Gateway pricing, "Caching" (REST APIs): USD per hour of a 0.5 GB cache.
pub const API_CACHE_HALF_GB_HOUR: f64 = 0.02;
/// Amazon S3 pricing, "Data transfer": USD per GB replicated to another region.
pub const S3_INTER_REGION_GB: f64 = 0.02;

/// What the posture costs: a fixed monthly part and parts proportional to data.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplianceCost {
    /// Interface endpoints × availability zones.
    pub endpoint_az_pairs: usize,
    /// USD per month for the endpoints, before traffic.
    pub endpoints_per_month: f64,
    /// The API stage's encrypted cache cluster (size in GB, USD per hour and per month).
    pub api_cache_size_gb: &'static str,
    pub api_cache_per_hour: f64,
    pub api_cache_per_month: f64,
    /// Buckets replicated to the replica region.
    pub replicated_buckets: usize,
    /// USD per GB replicated: the inter-region transfer once, then storage each month.
    pub replication_transfer_per_gb: f64,
    pub replica_storage_per_gb_month: f64,
}

/// The estimate of an environment, or `None` when it has no compliance posture.
pub fn estimate(plan: &Plan) -> Option<ComplianceCost> {
    if !plan.pci() {
        return None;
    }
    let azs = plan.network.as_ref().map_or(0, |n| n.subnets.len());
    let pairs = INTERFACE_ENDPOINTS.len() * azs;
    // Buckets copied to the replica region. The way back (replica to source) copies
    // only objects written in the replica region, none in normal operation.
    let replicated = plan
        .flows
        .iter()
        .filter(|f| {
            matches!(f.access, Access::Replicate { from, .. }
                if plan.bucket(from).region == plan.region)
        })
        .count();
    Some(ComplianceCost {
        endpoint_az_pairs: pairs,
        endpoints_per_month: pairs as f64 * INTERFACE_ENDPOINT_AZ_HOUR * HOURS_PER_MONTH,
        api_cache_size_gb: API_CACHE_CLUSTER_SIZE,
        api_cache_per_hour: API_CACHE_HALF_GB_HOUR,
        api_cache_per_month: API_CACHE_HALF_GB_HOUR * HOURS_PER_MONTH,
        replicated_buckets: replicated,
        replication_transfer_per_gb: S3_INTER_REGION_GB,
        replica_storage_per_gb_month: S3_STANDARD_GB_MONTH,
    })
}

impl ComplianceCost {
    /// The summary lines `synth` prints under an environment.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!(
                "  cost  compliance: {} interface endpoint-AZs ≈ ${:.2}/month (+ ${INTERFACE_ENDPOINT_GB}/GB through them)",
                self.endpoint_az_pairs, self.endpoints_per_month
            ),
            format!(
                "  cost  compliance: {} GB encrypted API cache at ${}/hour ≈ ${:.2}/month (caches no POST)",
                self.api_cache_size_gb, self.api_cache_per_hour, self.api_cache_per_month
            ),
            format!(
                "  cost  compliance: {} buckets replicated: ${}/GB transferred once + ${}/GB-month stored in the replica region (the way back copies only what is written there)",
                self.replicated_buckets,
                self.replication_transfer_per_gb,
                self.replica_storage_per_gb_month
            ),
            "  cost  (list prices, us-east-1 USD; see src/emit/compliance_cost.rs)".to_owned(),
        ]
    }
}
