//! Lowering of the network: the VPC block and private subnets that functions, jobs
//! and training run in under the PCI-DSS posture. The flows that attach each role to
//! the VPC belong to the role's own section.

use super::NetworkPlan;
use super::cx::LowerCx;

impl LowerCx<'_> {
    /// The environment's network, under PCI-DSS only.
    pub(super) fn network(&self) -> Option<NetworkPlan> {
        if !self.pci {
            return None;
        }
        let net = &self.env.network;
        let cidr = net.cidr.clone().unwrap_or_else(|| "10.0.0.0/16".into());
        let azs = net.availability_zones.unwrap_or(2);
        Some(NetworkPlan {
            subnets: subnets(&cidr, azs),
            cidr,
        })
    }
}

/// `n` private /20 (or smaller) subnets carved from the start of the VPC block.
pub(super) fn subnets(cidr: &str, n: u32) -> Vec<String> {
    let Ok((octets, len)) = crate::spec::validate::parse_cidr(cidr) else {
        return Vec::new();
    };
    let base = u32::from_be_bytes(octets);
    let sub_len = (len + 4).min(28);
    let size = 1u32 << (32 - sub_len);
    (0..n)
        .map(|i| format!("{}/{sub_len}", std::net::Ipv4Addr::from(base + i * size)))
        .collect()
}
