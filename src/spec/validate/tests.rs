use super::formats::*;

#[test]
fn regions_and_partitions() {
    for ok in [
        "eu-west-2",
        "us-gov-west-1",
        "cn-north-1",
        "ap-southeast-5",
        "us-iso-east-1",
    ] {
        assert!(valid_region(ok), "{ok}");
    }
    for bad in ["eu-west", "EU-WEST-2", "euwest2", "eu-west-2a", "x-y-1"] {
        assert!(!valid_region(bad), "{bad}");
    }
    assert_eq!(partition_of("cn-northwest-1"), "aws-cn");
    assert_eq!(partition_of("us-gov-east-1"), "aws-us-gov");
    assert_eq!(partition_of("eu-west-1"), "aws");
}

#[test]
fn cidrs() {
    assert!(parse_cidr("10.40.0.0/16").is_ok());
    assert!(parse_cidr("172.20.0.0/20").is_ok());
    assert!(parse_cidr("8.8.0.0/16").is_err());
    assert!(parse_cidr("10.0.0.1/16").is_err());
    assert!(parse_cidr("10.0.0.0/8").is_err());
    assert!(parse_cidr("10.0.0/16").is_err());
}

#[test]
fn emails_and_principals() {
    assert!(valid_email("oncall@example.com"));
    assert!(!valid_email("oncall"));
    assert!(!valid_email("a@b"));
    assert!(valid_quicksight_principal("group/default/analysts"));
    assert!(valid_quicksight_principal(
        "arn:aws:quicksight:eu-west-2:123456789012:user/default/alice"
    ));
    assert!(!valid_quicksight_principal("analysts"));
}
