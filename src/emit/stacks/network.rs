//! The network stack (PCI-DSS posture): a private VPC with no internet path, its
//! subnets and route tables, the flow log, the workload and endpoint security groups,
//! and the gateway and interface endpoints the workloads reach AWS through. Not what
//! runs in it (functions and jobs take the exported subnets and security group).

use super::Ctx;
use crate::emit::cfn::{Expr, Parameter, Resource, Template, logical_id, obj};
use crate::emit::iam::bucket_arn;
use crate::plan::{BucketId, NetworkPlan, StackId};

/// The network stack's parameters for the AWS-managed prefix lists of the gateway
/// endpoints' services, which CloudFormation cannot look up: `deploy` passes the ids
/// of `com.amazonaws.<region>.<service>`.
pub const PREFIX_LIST_PARAMETERS: &[(&str, &str)] = &[
    ("S3PrefixListId", "s3"),
    ("DynamodbPrefixListId", "dynamodb"),
];

/// Interface endpoints the workloads need to reach AWS without the internet.
pub const INTERFACE_ENDPOINTS: &[(&str, &str)] = &[
    (
        "glue",
        "Glue jobs' catalog and bookmark calls; the ingest function starting jobs",
    ),
    ("kms", "Glue's client-side encryption of job bookmarks"),
    ("logs", "Glue and SageMaker job logs"),
    ("monitoring", "Glue job metrics"),
    ("sts", "Glue and SageMaker credentials"),
    (
        "sagemaker.api",
        "SageMaker training jobs registering models",
    ),
];

/// The prefix list parameters of the gateway endpoints' services.
fn prefix_list_parameters(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    for (param, svc) in PREFIX_LIST_PARAMETERS {
        t.parameters.insert(
            (*param).into(),
            Parameter {
                ty: "String",
                description: format!(
                    "id of the AWS-managed prefix list {} (looked up by `pipewright deploy`)",
                    crate::aws::prefix_list(svc, &p.region)
                ),
                allowed_pattern: Some("^pl-[0-9a-f]{8,17}$".into()),
                default: None,
            },
        );
    }
}

/// The VPC, and per subnet its route table, both exported; returns the route tables
/// (for the gateway endpoints).
fn vpc_and_subnets(cx: &Ctx<'_>, t: &mut Template, n: &NetworkPlan) -> Vec<Expr> {
    t.add(
        "Vpc",
        Resource::new("AWS::EC2::VPC")
            .p("CidrBlock", Expr::s(&n.cidr))
            .p("EnableDnsHostnames", true)
            .p("EnableDnsSupport", true)
            .p("Tags", cx.tags()),
    );
    let mut route_tables = Vec::new();
    for (i, cidr) in n.subnets.iter().enumerate() {
        let k = i + 1;
        let subnet = format!("PrivateSubnet{k}");
        let rt = format!("PrivateRouteTable{k}");
        t.add(
            &subnet,
            Resource::new("AWS::EC2::Subnet")
                .p("VpcId", Expr::r("Vpc"))
                .p("CidrBlock", Expr::s(cidr))
                .p("AvailabilityZone", Expr::Az(i as u32))
                .p("MapPublicIpOnLaunch", false)
                .p("Tags", cx.tags()),
        );
        t.add(
            &rt,
            Resource::new("AWS::EC2::RouteTable")
                .p("VpcId", Expr::r("Vpc"))
                .p("Tags", cx.tags()),
        );
        t.add(
            &format!("{subnet}RouteTable"),
            Resource::new("AWS::EC2::SubnetRouteTableAssociation")
                .p("SubnetId", Expr::r(&subnet))
                .p("RouteTableId", Expr::r(&rt)),
        );
        route_tables.push(Expr::r(&rt));
        cx.export(
            t,
            StackId::Network,
            &subnet,
            &format!("Private subnet {k}"),
            Expr::r(&subnet),
        );
    }
    route_tables
}

/// The VPC's flow log, to the access-log bucket.
fn flow_log(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    t.add(
        "VpcFlowLog",
        Resource::new("AWS::EC2::FlowLog")
            .p("ResourceId", Expr::r("Vpc"))
            .p("ResourceType", "VPC")
            .p("TrafficType", "ALL")
            .p("LogDestinationType", "s3")
            .p(
                "LogDestination",
                Expr::s(format!("{}/vpc-flow-logs/", bucket_arn(p, BucketId::Logs))),
            )
            .p("Tags", cx.tags()),
    );
}

/// The workloads' security group: HTTPS to the gateway endpoints' prefix lists and to
/// the interface endpoints, and any TCP within the group.
fn workload_security_group(cx: &Ctx<'_>, t: &mut Template) {
    t.add(
        "WorkloadSecurityGroup",
        Resource::new("AWS::EC2::SecurityGroup")
            .p(
                "GroupDescription",
                Expr::s("pipewright workloads: HTTPS to AWS endpoints only"),
            )
            .p("VpcId", Expr::r("Vpc"))
            // HTTPS to S3 and DynamoDB only, through their gateway endpoints: their
            // AWS-managed prefix lists (deploy looks the ids up). The interface
            // endpoints are reached through their own group (WorkloadToEndpoints).
            .p(
                "SecurityGroupEgress",
                Expr::list(PREFIX_LIST_PARAMETERS.iter().map(|(param, svc)| {
                    obj([
                        ("IpProtocol", "tcp".into()),
                        ("FromPort", Expr::Int(443)),
                        ("ToPort", Expr::Int(443)),
                        ("DestinationPrefixListId", Expr::r(*param)),
                        (
                            "Description",
                            Expr::s(format!("HTTPS to {svc} through its gateway endpoint")),
                        ),
                    ])
                })),
            )
            .p("Tags", cx.tags()),
    );
    t.add(
        "WorkloadToEndpoints",
        Resource::new("AWS::EC2::SecurityGroupEgress")
            .p("GroupId", Expr::r("WorkloadSecurityGroup"))
            .p(
                "DestinationSecurityGroupId",
                Expr::r("EndpointSecurityGroup"),
            )
            .p("IpProtocol", "tcp")
            .p("FromPort", Expr::Int(443))
            .p("ToPort", Expr::Int(443))
            .p("Description", "HTTPS to the interface endpoints"),
    );
    // Glue workers talk to each other inside the group.
    t.add(
        "WorkloadSelfIngress",
        Resource::new("AWS::EC2::SecurityGroupIngress")
            .p("GroupId", Expr::r("WorkloadSecurityGroup"))
            .p("SourceSecurityGroupId", Expr::r("WorkloadSecurityGroup"))
            .p("IpProtocol", "tcp")
            .p("FromPort", Expr::Int(0))
            .p("ToPort", Expr::Int(65535))
            .p("Description", "Glue workers within the group"),
    );
    t.add(
        "WorkloadSelfEgress",
        Resource::new("AWS::EC2::SecurityGroupEgress")
            .p("GroupId", Expr::r("WorkloadSecurityGroup"))
            .p(
                "DestinationSecurityGroupId",
                Expr::r("WorkloadSecurityGroup"),
            )
            .p("IpProtocol", "tcp")
            .p("FromPort", Expr::Int(0))
            .p("ToPort", Expr::Int(65535))
            .p("Description", "Glue workers within the group"),
    );
}

/// The S3 and DynamoDB gateway endpoints on every private route table.
fn gateway_endpoints(cx: &Ctx<'_>, t: &mut Template, route_tables: &[Expr]) {
    let p = cx.plan;
    for (svc, lid) in [("s3", "S3Endpoint"), ("dynamodb", "DynamoDbEndpoint")] {
        t.add(
            lid,
            Resource::new("AWS::EC2::VPCEndpoint")
                .p("VpcId", Expr::r("Vpc"))
                .p("VpcEndpointType", "Gateway")
                .p(
                    "ServiceName",
                    Expr::s(crate::aws::gateway_endpoint(svc, &p.region)),
                )
                .p("RouteTableIds", Expr::List(route_tables.to_vec())),
        );
    }
}

/// The interface endpoints in every private subnet, behind their own security group
/// (HTTPS from workloads, no egress).
fn interface_endpoints(cx: &Ctx<'_>, t: &mut Template, n: &NetworkPlan) {
    let p = cx.plan;
    t.add(
        "EndpointSecurityGroup",
        Resource::new("AWS::EC2::SecurityGroup")
            .p(
                "GroupDescription",
                Expr::s("pipewright interface endpoints: HTTPS from workloads"),
            )
            .p("VpcId", Expr::r("Vpc"))
            .p(
                "SecurityGroupIngress",
                Expr::list([obj([
                    ("IpProtocol", "tcp".into()),
                    ("FromPort", Expr::Int(443)),
                    ("ToPort", Expr::Int(443)),
                    ("SourceSecurityGroupId", Expr::r("WorkloadSecurityGroup")),
                    ("Description", "HTTPS from workloads".into()),
                ])]),
            )
            .p(
                "SecurityGroupEgress",
                Expr::list([obj([
                    ("IpProtocol", "icmp".into()),
                    ("FromPort", Expr::Int(-1)),
                    ("ToPort", Expr::Int(-1)),
                    ("CidrIp", "127.0.0.1/32".into()),
                    (
                        "Description",
                        "no egress (placeholder rule replaces the default allow-all)".into(),
                    ),
                ])]),
            )
            .p("Tags", cx.tags()),
    );
    for (svc, _why) in INTERFACE_ENDPOINTS {
        t.add(
            &format!("{}Endpoint", logical_id(&[svc])),
            Resource::new("AWS::EC2::VPCEndpoint")
                .p("VpcId", Expr::r("Vpc"))
                .p("VpcEndpointType", "Interface")
                .p(
                    "ServiceName",
                    Expr::s(crate::aws::interface_endpoint(svc, &p.region)),
                )
                .p("PrivateDnsEnabled", true)
                .p(
                    "SubnetIds",
                    Expr::list((1..=n.subnets.len()).map(|k| Expr::r(format!("PrivateSubnet{k}")))),
                )
                .p(
                    "SecurityGroupIds",
                    Expr::list([Expr::r("EndpointSecurityGroup")]),
                ),
        );
    }
}

/// The private network, its endpoints and security groups.
pub(super) fn template(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let n = p
        .network
        .as_ref()
        .expect("network stack only with a network plan");
    let mut t = Template::new(format!(
        "{} {}: private VPC, subnets and endpoints (no internet path)",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Network);
    prefix_list_parameters(cx, &mut t);
    let route_tables = vpc_and_subnets(cx, &mut t, n);
    flow_log(cx, &mut t);
    workload_security_group(cx, &mut t);
    gateway_endpoints(cx, &mut t, &route_tables);
    interface_endpoints(cx, &mut t, n);
    cx.export(
        &mut t,
        StackId::Network,
        "WorkloadSecurityGroup",
        "Security group of functions and jobs",
        Expr::r("WorkloadSecurityGroup"),
    );
    t.output("VpcId", "The pipeline's VPC", Expr::r("Vpc"), None);
    t
}
