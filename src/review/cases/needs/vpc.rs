//! What a service needs from EC2 to run in the plan's VPC, written down from AWS's
//! documentation (each entry cites its pages), and the requests that follow from it:
//! interfaces created in the plan's subnets with the workload security group, managed
//! afterwards in those subnets, and the reads EC2 authorises only on `*`. Not the
//! statements `emit` grants for it: those are the subject under test.

use crate::review::cases::ctx::{Ctx, Need};

/// The Service Authorization Reference page for EC2: which actions take the
/// `network-interface`, `subnet` and `security-group` resource types (and the
/// `ec2:Subnet` condition key), and which (the `Describe*` reads) take none, so are
/// authorised only on `*`.
pub const EC2_AUTHORIZATION: &str =
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html";

/// What one service documents for running in a VPC.
pub struct VpcNeeds {
    /// The principal that assumes the role (`lambda.amazonaws.com`).
    pub service: &'static str,
    /// Actions on the interfaces it creates (`network-interface/*`).
    pub create: &'static [&'static str],
    /// Actions on its interfaces afterwards, in the plan's subnets (`ec2:Subnet`).
    pub manage: &'static [&'static str],
    /// Reads with no resource type, authorised only on `*`.
    pub star: &'static [&'static str],
    /// The pages the lists are written from.
    pub sources: &'static [&'static str],
    /// Actions listed above that the cited pages do not list. They are kept so that the
    /// cases stay what they were until someone decides (reported on issue #14); each must
    /// be taken out, or given a source, rather than added to.
    pub not_in_sources: &'static [&'static str],
}

/// Per service. A service not listed is held to Glue's entry, the widest.
pub const VPC_NEEDS: &[VpcNeeds] = &[
    VpcNeeds {
        service: "lambda.amazonaws.com",
        create: &["ec2:CreateNetworkInterface"],
        manage: &[
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
        star: &["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        sources: &[
            // "Required IAM permissions": the execution role's network interface permissions.
            "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
            // The managed policy those permissions are published as (v3, 2024-01-05).
            "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html",
            EC2_AUTHORIZATION,
        ],
        not_in_sources: &[],
    },
    VpcNeeds {
        service: "sagemaker.amazonaws.com",
        create: &["ec2:CreateNetworkInterface"],
        manage: &[
            "ec2:DeleteNetworkInterface",
            "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterfacePermission",
        ],
        star: &[
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcs",
            "ec2:DescribeDhcpOptions",
        ],
        sources: &[
            // "CreateTrainingJob API: Execution Role Permissions", "If you specify a private VPC
            // for your training job, add the following permissions" (the same nine actions for
            // processing jobs and models).
            "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createtrainingjob-perms",
            // "Give SageMaker access to resources in your Amazon VPC": the interfaces SageMaker
            // creates in the given subnets with the given security groups.
            "https://docs.aws.amazon.com/sagemaker/latest/dg/infrastructure-give-access.html",
            EC2_AUTHORIZATION,
        ],
        not_in_sources: &[],
    },
    VpcNeeds {
        service: "glue.amazonaws.com",
        create: &["ec2:CreateNetworkInterface", "ec2:CreateTags"],
        manage: &[
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
        star: &[
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcEndpoints",
            "ec2:DescribeRouteTables",
            "ec2:DescribeVpcs",
        ],
        sources: &[
            // "Step 1: Create an IAM policy for the AWS Glue service" (the AWSGlueServiceRole
            // policy): the EC2 actions on `*`, and `ec2:CreateTags` on the network interfaces
            // Glue tags `aws-glue-service-resource`.
            "https://docs.aws.amazon.com/glue/latest/dg/create-service-policy.html",
            "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSGlueServiceRole.html",
            EC2_AUTHORIZATION,
        ],
        // The Glue pages list `ec2:DescribeVpcAttribute` (not `ec2:DescribeVpcs`) and
        // `ec2:DeleteTags`, and no private IP address actions.
        not_in_sources: &[
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
            "ec2:DescribeVpcs",
        ],
    },
];

/// The entry for a service (Glue's for a service not listed).
pub fn vpc_needs(service: &str) -> &'static VpcNeeds {
    VPC_NEEDS
        .iter()
        .find(|n| n.service == service)
        .unwrap_or_else(|| {
            VPC_NEEDS
                .iter()
                .find(|n| n.service == "glue.amazonaws.com")
                .expect("Glue's entry")
        })
}

/// The requests of running in the VPC: create an interface (on the interface, the
/// security group and each subnet), manage it in the plan's subnets, and the `*` reads.
pub(super) fn attach(cx: &Ctx, out: &mut Vec<Need>, service: &str) {
    let needs = vpc_needs(service);
    let n = cx.plan.network.as_ref().map_or(0, |n| n.subnets.len());
    let eni = cx.arn("ec2", "network-interface/eni-0123456789abcdef0");
    let sg = cx.arn(
        "ec2",
        &format!("security-group/{}", cx.bindings["WorkloadSecurityGroup"]),
    );
    let subnets: Vec<String> = (1..=n).map(|i| cx.subnet(i)).collect();
    for a in needs.create {
        let mut m = cx.plain(a, eni.clone());
        m.pattern = cx.arn("ec2", "network-interface/*");
        out.push(m);
    }
    out.push(cx.plain("ec2:CreateNetworkInterface", sg));
    for s in &subnets {
        out.push(cx.plain("ec2:CreateNetworkInterface", s.clone()));
    }
    for a in needs.manage {
        for s in &subnets {
            let mut m = cx.plain(a, eni.clone());
            m.pattern = cx.arn("ec2", "network-interface/*");
            m.context.insert("ec2:Subnet".into(), s.clone());
            m.constraints.insert("ec2:Subnet".into(), subnets.clone());
            out.push(m);
        }
    }
    for a in needs.star {
        out.push(cx.plain(a, "*".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_cites_its_pages_and_flags_only_its_own_actions() {
        for n in VPC_NEEDS {
            assert!(
                n.sources
                    .iter()
                    .all(|s| s.starts_with("https://docs.aws.amazon.com/")),
                "{}",
                n.service
            );
            let listed: Vec<&str> = [n.create, n.manage, n.star].concat();
            for a in n.not_in_sources {
                assert!(listed.contains(a), "{}: {a} is not in the lists", n.service);
            }
        }
        assert_eq!(
            vpc_needs("states.amazonaws.com").service,
            "glue.amazonaws.com"
        );
    }
}
