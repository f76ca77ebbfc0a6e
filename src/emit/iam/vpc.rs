//! The VPC: what a service needs to run in the pipeline's private subnets (create and
//! manage its network interfaces there, and the `*`-only reads listed in
//! [`super::STAR_ONLY`]). Not the network itself (`stacks::network`).

use serde_json::json;

use super::{Grant, Statement};

/// What a service does to run inside the VPC, by the service that assumes the role:
/// (actions on the interfaces it creates, actions on them afterwards, `*`-only reads).
/// Lambda's set is its VPC access execution permissions; Glue also tags its interfaces
/// and checks routes to the S3 endpoint; SageMaker also hands the interfaces to its
/// training hosts (interface permissions) and reads DHCP options.
pub(crate) fn vpc_actions(
    service: &str,
) -> (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
) {
    match service {
        "lambda.amazonaws.com" => (
            &["ec2:CreateNetworkInterface"],
            &[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            &["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        ),
        "sagemaker.amazonaws.com" => (
            &["ec2:CreateNetworkInterface"],
            &[
                "ec2:DeleteNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            &[
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
            ],
        ),
        // Glue, and any other service: the widest set.
        _ => (
            &["ec2:CreateNetworkInterface", "ec2:CreateTags"],
            &[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            &[
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeRouteTables",
                "ec2:DescribeVpcs",
            ],
        ),
    }
}

/// `AttachToVpc`: interfaces created in the private subnets with the workload security
/// group, managed only there, and the service's `*`-only reads.
pub(super) fn attach(g: &Grant<'_>) -> Vec<Statement> {
    let n = g.plan.network.as_ref().map_or(0, |n| n.subnets.len());
    let subnets: Vec<String> = (1..=n)
        .map(|i| g.arn("ec2", true, &format!("subnet/${{PrivateSubnet{i}}}")))
        .collect();
    let mut create = vec![
        g.arn("ec2", true, "network-interface/*"),
        g.arn("ec2", true, "security-group/${WorkloadSecurityGroup}"),
    ];
    create.extend(subnets.iter().cloned());
    let (create_actions, manage_actions, star) =
        vpc_actions(g.role.map_or("", |r| r.service.as_str()));
    vec![
        g.allow("Create", create_actions, create),
        g.allow(
            "Manage",
            manage_actions,
            vec![g.arn("ec2", true, "network-interface/*")],
        )
        .when("ArnEquals", "ec2:Subnet", json!(subnets)),
        g.allow("Describe", star, vec!["*".to_owned()]),
    ]
}
