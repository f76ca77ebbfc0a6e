use super::network::subnets;
use super::*;

#[test]
fn subnets_are_carved_in_order() {
    assert_eq!(
        subnets("10.40.0.0/16", 2),
        vec!["10.40.0.0/20", "10.40.16.0/20"]
    );
    assert_eq!(
        subnets("192.168.0.0/24", 3),
        vec!["192.168.0.0/28", "192.168.0.16/28", "192.168.0.32/28"]
    );
}

#[test]
fn a_role_is_identified_by_its_path() {
    let r = RolePlan {
        name: "shop-prod-ingest".into(),
        service: service_principal("lambda"),
        purpose: "the ingest function".into(),
        stack: StackId::Ingest,
        origin: Origin {
            path: "sources".into(),
            line: Some(1),
        },
    };
    assert_eq!(r.path(), "/shop-prod-ingest/");
    assert_eq!(
        r.arn("aws-cn", "123456789012", "shop-prod-ingest-IngestRole-AB12"),
        "arn:aws-cn:iam::123456789012:role/shop-prod-ingest/shop-prod-ingest-IngestRole-AB12"
    );
    assert_eq!(
        r.arn_pattern("aws", "123456789012"),
        "arn:aws:iam::123456789012:role/shop-prod-ingest/*"
    );
}

#[test]
fn placeholders_resolve() {
    assert_eq!(
        placeholders(
            "arn:{partition}:iam::{account}:policy/b",
            "aws-cn",
            "cn-north-1",
            "123456789012"
        ),
        "arn:aws-cn:iam::123456789012:policy/b"
    );
}
