//! Tests of `aws` against its sources, not against its own output: botocore's
//! endpoints.json and cfn-lint's provider files when they are installed (paths from
//! `PIPEWRIGHT_BOTOCORE_ENDPOINTS` and `PIPEWRIGHT_CFNLINT_PROVIDERS`; skipped with a
//! message otherwise), and literal values quoted from the documentation cited in
//! `data/aws/facts.json`.

use std::path::PathBuf;

use serde_json::Value;

use super::*;

const COVERED: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

fn source(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            // CI sets the sources; there a missing one is a failure, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "{var} is not set under CI (.ci/run sets it)"
            );
            println!("skipped: set {var} to compare with the source (see scripts/gen-aws-data)");
            None
        }
    }
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// botocore's host for a service in a region: the endpoint's own hostname, else the
/// service's default, else the partition's, with the placeholders filled.
fn botocore_host(part: &Value, service: &str, region: &str) -> String {
    let svc = &part["services"][service];
    let template = svc["endpoints"][region]["hostname"]
        .as_str()
        .or_else(|| svc["defaults"]["hostname"].as_str())
        .or_else(|| part["defaults"]["hostname"].as_str())
        .expect("a hostname template");
    template
        .replace("{service}", service)
        .replace("{region}", region)
        .replace("{dnsSuffix}", part["dnsSuffix"].as_str().unwrap())
}

#[test]
fn partitions_and_regions_match_botocore() {
    let Some(path) = source("PIPEWRIGHT_BOTOCORE_ENDPOINTS") else {
        return;
    };
    let endpoints = read_json(&path);
    for part in endpoints["partitions"].as_array().unwrap() {
        let id = part["partition"].as_str().unwrap();
        let Some(ours) = partition(id) else {
            assert!(
                !COVERED.contains(&id),
                "{id} is missing from data/aws/partitions.json"
            );
            continue;
        };
        assert_eq!(
            ours.dns_suffix,
            part["dnsSuffix"].as_str().unwrap(),
            "{id} dnsSuffix"
        );
        assert_eq!(
            ours.name,
            part["partitionName"].as_str().unwrap(),
            "{id} name"
        );
        assert_eq!(
            ours.region_regex,
            part["regionRegex"].as_str().unwrap(),
            "{id} regionRegex"
        );
        let regions = part["regions"].as_object().unwrap();
        let theirs: Vec<(&str, &str)> = regions
            .iter()
            .map(|(r, v)| (r.as_str(), v["description"].as_str().unwrap_or(r)))
            .collect();
        let mine: Vec<(&str, &str)> = ours
            .regions
            .iter()
            .map(|(r, d)| (r.as_str(), d.as_str()))
            .collect();
        assert_eq!(mine, theirs, "{id} regions");
        for region in regions.keys() {
            assert_eq!(
                partition_of(region).map(|p| p.id.as_str()),
                Some(id),
                "{region}"
            );
            assert_eq!(
                partition_by_shape(region).map(|p| p.id.as_str()),
                Some(id),
                "shape of {region}"
            );
        }
    }
}

#[test]
fn service_regions_and_hosts_match_botocore() {
    let Some(path) = source("PIPEWRIGHT_BOTOCORE_ENDPOINTS") else {
        return;
    };
    let endpoints = read_json(&path);
    let services = [
        "apigateway",
        "api.sagemaker",
        "athena",
        "cloudtrail",
        "dynamodb",
        "ec2",
        "events",
        "glue",
        "kms",
        "lakeformation",
        "lambda",
        "logs",
        "monitoring",
        "quicksight",
        "runtime.sagemaker",
        "s3",
        "scheduler",
        "sns",
        "sqs",
        "states",
        "sts",
    ];
    let mut checked = 0;
    for part in endpoints["partitions"].as_array().unwrap() {
        if !COVERED.contains(&part["partition"].as_str().unwrap()) {
            continue;
        }
        for region in part["regions"].as_object().unwrap().keys() {
            for service in services {
                let listed = part["services"][service]["endpoints"].get(region).is_some();
                assert_eq!(
                    service_available(service, region),
                    listed,
                    "{service} in {region}"
                );
                if listed {
                    let host = endpoint_host(service, region);
                    assert_eq!(
                        host,
                        Some(botocore_host(part, service, region)),
                        "{service} host in {region}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked > 500,
        "only {checked} service/region pairs compared"
    );
}

#[test]
fn resource_types_match_cfn_lint() {
    let Some(dir) = source("PIPEWRIGHT_CFNLINT_PROVIDERS") else {
        return;
    };
    let mut checked = 0;
    for region in known_regions() {
        let file = dir.join(format!("{region}.json"));
        // cfn-lint itself reads us-east-1 for a region it has no file for.
        let file = if file.exists() {
            file
        } else {
            dir.join("us-east-1.json")
        };
        let types = read_json(&file);
        let types = types.as_object().unwrap();
        for cfn_type in types.keys().filter(|t| tracked_namespace(t)) {
            assert!(
                resource_type_available(cfn_type, region),
                "{cfn_type} exists in {region}"
            );
            checked += 1;
        }
        for tracked in AVAILABILITY
            .resource_types
            .everywhere
            .iter()
            .chain(AVAILABILITY.resource_types.missing.keys())
            .chain(AVAILABILITY.resource_types.only_in.keys())
        {
            assert_eq!(
                resource_type_available(tracked, region),
                types.contains_key(tracked),
                "{tracked} in {region}"
            );
        }
    }
    assert!(checked > 5_000, "only {checked} type/region pairs compared");
}

// Literal expectations, each quoted from a page cited in data/aws/facts.json.

#[test]
fn china_endpoints_page() {
    // https://docs.amazonaws.cn/en_us/general/latest/gr/endpoints-arns.md: "For example,
    // `dynamodb.cn-north-1.amazonaws.com.cn` is the endpoint for the Amazon DynamoDB service
    // in the Beijing Region, and `dynamodb.cn-northwest-1.amazonaws.com.cn` ... Ningxia".
    assert_eq!(
        endpoint_host("dynamodb", "cn-north-1").unwrap(),
        "dynamodb.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        endpoint_host("dynamodb", "cn-northwest-1").unwrap(),
        "dynamodb.cn-northwest-1.amazonaws.com.cn"
    );
    // https://docs.amazonaws.cn/en_us/aws/latest/userguide/endpoints-Beijing.html: "Amazon API
    // Gateway | apigateway.cn-north-1.amazonaws.com.cn", "API Gateway Dataplane |
    // execute-api.cn-north-1.amazonaws.com.cn".
    assert_eq!(
        endpoint_host("apigateway", "cn-north-1").unwrap(),
        "apigateway.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        execute_api_host("abc123", "cn-north-1").unwrap(),
        "abc123.execute-api.cn-north-1.amazonaws.com.cn"
    );
    // The finding: kms:ViaService must name the .com.cn host in China.
    assert_eq!(
        endpoint_host("s3", "cn-north-1").unwrap(),
        "s3.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        endpoint_host("s3", "eu-west-2").unwrap(),
        "s3.eu-west-2.amazonaws.com"
    );
    assert_eq!(
        endpoint_host("kms", "us-gov-west-1").unwrap(),
        "kms.us-gov-west-1.amazonaws.com"
    );
    assert_eq!(
        partition_of("cn-north-1").unwrap().regions["cn-north-1"],
        "China (Beijing)"
    );
}

#[test]
fn api_gateway_and_console_pages() {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html:
    // "https://{restapi_id}.execute-api.{region}.amazonaws.com/{stage_name}/".
    assert_eq!(
        execute_api_host("${IngestApi}", "ap-southeast-2").unwrap(),
        "${IngestApi}.execute-api.ap-southeast-2.amazonaws.com"
    );
    // https://docs.aws.amazon.com/general/latest/gr/mgmt-console.html: "For example,
    // https://us-west-2.console.aws.amazon.com is the endpoint ... in the US West (Oregon) Region".
    assert_eq!(
        console_host("us-west-2").unwrap(),
        "us-west-2.console.aws.amazon.com"
    );
    assert_eq!(
        console_host("cn-northwest-1").unwrap(),
        "console.amazonaws.cn"
    );
}

#[test]
fn interface_endpoint_names() {
    // aws-cdk vpc-endpoint.test.ts: "ServiceName: 'cn.com.amazonaws.cn-north-1.ecr.api'".
    assert_eq!(
        interface_endpoint_service("ecr.api", "cn-north-1").unwrap(),
        "cn.com.amazonaws.cn-north-1.ecr.api"
    );
    // Issue 16: monitoring, sts and sagemaker.api have other names in China; the CDK's
    // exception list agrees, and keeps logs, kms and glue on com.amazonaws.
    for service in [
        "monitoring",
        "sts",
        "sagemaker.api",
        "lambda",
        "execute-api",
        "states",
    ] {
        for region in ["cn-north-1", "cn-northwest-1"] {
            assert_eq!(
                interface_endpoint_service(service, region).unwrap(),
                format!("cn.com.amazonaws.{region}.{service}")
            );
        }
    }
    for service in ["logs", "kms", "glue", "dynamodb", "sns"] {
        assert_eq!(
            interface_endpoint_service(service, "cn-north-1").unwrap(),
            format!("com.amazonaws.cn-north-1.{service}")
        );
    }
    assert_eq!(
        interface_endpoint_service("sagemaker.api", "eu-west-2").unwrap(),
        "com.amazonaws.eu-west-2.sagemaker.api"
    );
    assert_eq!(
        interface_endpoint_service("sts", "us-gov-east-1").unwrap(),
        "com.amazonaws.us-gov-east-1.sts"
    );
    // The gateway endpoint keeps com.amazonaws in China (S3 has both: gateway
    // com.amazonaws.cn-north-1.s3, interface cn.com.amazonaws.cn-north-1.s3).
    assert_eq!(
        gateway_endpoint_service("s3", "cn-north-1").unwrap(),
        "com.amazonaws.cn-north-1.s3"
    );
    assert_eq!(
        interface_endpoint_service("s3", "cn-north-1").unwrap(),
        "cn.com.amazonaws.cn-north-1.s3"
    );
}

#[test]
fn prefix_list_names() {
    // https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html:
    // "Amazon S3 | com.amazonaws.region.s3", "Amazon DynamoDB | com.amazonaws.region.dynamodb";
    // the China page lists "com.amazonaws.{{region}}.dynamodb".
    assert_eq!(
        prefix_list_name("s3", "eu-west-2").unwrap(),
        "com.amazonaws.eu-west-2.s3"
    );
    assert_eq!(
        prefix_list_name("dynamodb", "cn-north-1").unwrap(),
        "com.amazonaws.cn-north-1.dynamodb"
    );
    assert_eq!(prefix_list_name("sqs", "eu-west-2"), None);
}

#[test]
fn service_principals() {
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html:
    // "Principal": {"Service": "logs.region.amazonaws.com"}; the CDK's default.ts makes it
    // regional and partitional ("{s}.{r}.{urlSuffix}"), as issue 16 expects for China.
    assert_eq!(
        service_principal("logs", "eu-west-2").unwrap(),
        "logs.eu-west-2.amazonaws.com"
    );
    assert_eq!(
        service_principal("logs", "cn-north-1").unwrap(),
        "logs.cn-north-1.amazonaws.com.cn"
    );
    // "Service principals are now globally <SERVICE>.amazonaws.com" (CDK default.ts), and IAM in
    // China refuses "monitoring.rds.amazonaws.com.cn" (terraform-aws-rds-aurora#437).
    for service in [
        "lambda",
        "glue",
        "apigateway",
        "s3",
        "sagemaker",
        "quicksight",
        "scheduler",
        "events",
    ] {
        for region in ["cn-north-1", "us-gov-west-1", "eu-west-2"] {
            assert_eq!(
                service_principal(service, region).unwrap(),
                format!("{service}.amazonaws.com")
            );
        }
    }
    assert_eq!(
        service_principal("delivery.logs", "cn-north-1").unwrap(),
        "delivery.logs.amazonaws.com"
    );
    assert_eq!(
        service_principal("states", "ap-southeast-2").unwrap(),
        "states.ap-southeast-2.amazonaws.com"
    );
}

#[test]
fn regions_by_list_and_by_shape() {
    // Issue 16: "`eu-wset-2` and `eu-west-9` pass `check`".
    assert!(!known_region("eu-wset-2") && !known_region("eu-west-9"));
    assert_eq!(suggest_region("eu-wset-2"), Some("eu-west-2"));
    assert_eq!(suggest_region("eu-west-9"), Some("eu-west-1"));
    assert_eq!(suggest_region("eu-west-2"), None);
    assert_eq!(suggest_region("mars-north-1"), None);
    assert_eq!(
        partition_by_shape("eu-west-9").map(|p| p.id.as_str()),
        Some("aws")
    );
    assert_eq!(
        partition_by_shape("us-gov-south-7").map(|p| p.id.as_str()),
        Some("aws-us-gov")
    );
    assert_eq!(
        partition_by_shape("cn-south-3").map(|p| p.id.as_str()),
        Some("aws-cn")
    );
    for bad in [
        "eu-west",
        "eu-west-",
        "eu--1",
        "xx-west-1",
        "eu-west-1a",
        "",
        "cn-north-1-1",
    ] {
        assert!(partition_by_shape(bad).is_none(), "{bad}");
    }
    // botocore's own regex for aws, ^(us|eu|...)\-\w+\-\d+$, admits "us-gov-1".
    assert_eq!(
        partition_by_shape("us-gov-1").map(|p| p.id.as_str()),
        Some("aws")
    );
    assert_eq!(
        partition_of("ap-southeast-2").map(|p| p.id.as_str()),
        Some("aws")
    );
    assert!(endpoint_host("s3", "eu-west-9").is_none());
}

#[test]
fn availability() {
    // Issue 16: "cfn-lint reports that `AWS::SageMaker::ModelPackageGroup` does not exist in cn-north-1".
    assert!(!resource_type_available(
        "AWS::SageMaker::ModelPackageGroup",
        "cn-north-1"
    ));
    assert!(resource_type_available(
        "AWS::SageMaker::ModelPackageGroup",
        "eu-west-2"
    ));
    assert!(resource_type_available("AWS::S3::Bucket", "cn-northwest-1"));
    assert!(!resource_type_available("AWS::S3::Bucket", "eu-west-9"));
    assert!(!resource_type_available(
        "AWS::S3::NoSuchThing",
        "us-east-1"
    ));
    assert!(
        tracked_namespace("AWS::StepFunctions::StateMachine")
            && !tracked_namespace("AWS::ECS::Service")
    );
    // botocore lists QuickSight in cn-north-1 but not cn-northwest-1.
    assert!(service_available("quicksight", "cn-north-1"));
    assert!(!service_available("quicksight", "cn-northwest-1"));
    assert!(service_available("api.sagemaker", "us-gov-east-1"));
    assert!(!service_available("sagemaker", "us-east-1") && tracked_service("sagemaker"));
    assert!(!tracked_service("ecs"));
}
