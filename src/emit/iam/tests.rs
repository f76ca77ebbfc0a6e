//! Unit tests of `emit::iam`: Sids, deployed lengths, `*`-only actions, VPC actions per service.

use serde_json::json;

use super::*;
use crate::plan::{Access, Flow, Principal};

#[test]
fn sids_name_the_flow() {
    let f = Flow {
        id: "transform-pos_sales:read-raw:pos".into(),
        principal: Principal::Role("x".into()),
        access: Access::ReadItems,
        origin: crate::plan::Origin {
            path: "p".into(),
            line: None,
        },
        why: String::new(),
    };
    assert_eq!(sid(&f, "Key"), "TransformPosSalesReadRawPosKey");
}

#[test]
fn deployed_length_counts_placeholders_at_their_longest() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml");
    let checked = crate::spec::check(&path, &crate::spec::RealFiles).unwrap();
    let plan = crate::plan::lower(&checked.validated().unwrap(), "prod").unwrap();
    let plain = json!({"Resource": "arn:aws:s3:::b"});
    assert_eq!(deployed_len(&plan, &plain), plain.to_string().len());
    let doc = json!({"Resource": ["${DataKeyArn}", "${DataKeyArn}"], "T": "${IndexTableName}"});
    let key = "arn:aws:kms:eu-west-2:222222222222:key/0d5e1a4b-7c2f-4e8a-9b3d-000000000001";
    let table = format!(
        "{}-IndexTable-ABCDEFGHIJKLM",
        plan.stacks[&crate::plan::StackId::Storage]
    );
    let real = json!({"Resource": [key, key], "T": table});
    assert_eq!(deployed_len(&plan, &doc), real.to_string().len());
}

#[test]
fn star_only_actions_are_listed_with_reasons() {
    for (a, why) in STAR_ONLY {
        assert!(a.contains(':') && !why.is_empty());
    }
}

#[test]
fn each_service_gets_its_own_vpc_actions_and_stars_only_listed_ones() {
    let star_only: Vec<&str> = STAR_ONLY.iter().map(|(a, _)| *a).collect();
    let lambda = vpc_actions("lambda.amazonaws.com");
    let glue = vpc_actions("glue.amazonaws.com");
    let sagemaker = vpc_actions("sagemaker.amazonaws.com");
    for (c, m, star) in [lambda, glue, sagemaker] {
        assert!(c.contains(&"ec2:CreateNetworkInterface"));
        assert!(m.contains(&"ec2:DeleteNetworkInterface"));
        assert!(star.iter().all(|a| star_only.contains(a)), "{star:?}");
    }
    // A function neither tags its interfaces nor inspects routes or endpoints.
    assert!(!lambda.0.contains(&"ec2:CreateTags"));
    assert!(!lambda.2.contains(&"ec2:DescribeRouteTables"));
    // SageMaker passes interfaces to its hosts; nobody else may.
    assert!(
        sagemaker
            .1
            .contains(&"ec2:CreateNetworkInterfacePermission")
    );
    assert!(!glue.1.contains(&"ec2:CreateNetworkInterfacePermission"));
}
