//! Tests of the request cases against the reference spec.

use super::*;

fn plan(env: &str) -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipeline.yaml");
    let checked = crate::spec::check(&path, &crate::spec::RealFiles).unwrap();
    crate::plan::lower(&checked.validated().unwrap(), env).unwrap()
}

#[test]
fn neighbours_come_from_the_plan_and_never_repeat_a_need() {
    let c = build(&plan("prod")).unwrap();
    let ingest = c
        .roles
        .iter()
        .find(|r| r.role.ends_with("-ingest"))
        .unwrap();
    let kinds: BTreeSet<&str> = ingest
        .cases
        .iter()
        .filter(|x| x.expect == Expect::Denied)
        .map(|x| x.kind.as_str())
        .collect();
    for k in [
        "sibling prefix",
        "parent prefix",
        "delete instead of put",
        "read instead of write",
        "another table",
        "the key through another service",
        "another queue",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
    assert!(kinds.iter().any(|k| k.starts_with("another bucket (")));
    let pos = c
        .roles
        .iter()
        .find(|r| r.role.ends_with("-transform-pos_sales"))
        .unwrap();
    // Every other transform's job is a neighbour of the one a role may start, if any.
    let jobs = c
        .roles
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|x| x.kind == "another Glue job")
        .count();
    assert!(jobs > 0 || !pos.cases.iter().any(|x| x.action == "glue:StartJobRun"));
    for r in &c.roles {
        let key = |x: &Case| {
            (
                x.action.clone(),
                x.resource.clone(),
                x.context.clone(),
                x.principal.clone(),
            )
        };
        let allowed: BTreeSet<_> = r
            .cases
            .iter()
            .filter(|x| x.expect == Expect::Allowed)
            .map(key)
            .collect();
        for d in r.cases.iter().filter(|x| x.expect == Expect::Denied) {
            assert!(
                !allowed.contains(&key(d)),
                "{}: {d:?} is both a need and a neighbour",
                r.role
            );
        }
    }
}

#[test]
fn a_deployed_role_arn_replaces_the_example_one() {
    let mut c = build(&plan("dev")).unwrap();
    let old = c
        .roles
        .iter()
        .find(|r| r.role.ends_with("-ingest"))
        .unwrap()
        .principal
        .clone();
    assert!(
        old.starts_with("arn:aws:iam::111111111111:role/transit-payments-dev-ingest/transit-payments-dev-ingest-IngestRole-"),
        "{old}"
    );
    let deployed = "arn:aws:iam::111111111111:role/transit-payments-dev-ingest/Deployed-1";
    c.set_principal("transit-payments-dev-ingest", deployed);
    let r = c
        .roles
        .iter()
        .find(|r| r.role.ends_with("-ingest"))
        .unwrap();
    assert_eq!(r.principal, deployed);
    let text = serde_json::to_string(&c).unwrap();
    assert!(!text.contains(&old), "the example ARN is left somewhere");
    assert!(
        c.resource_policies.contains_key(deployed),
        "the trust policy"
    );
    let trust: Vec<&Case> = r.cases.iter().filter(|x| x.flow == "trust").collect();
    assert!(!trust.is_empty());
    assert!(trust.iter().all(|x| x.resource == deployed));
    assert!(
        r.cases
            .iter()
            .filter(|x| x.flow != "trust")
            .all(|x| x.context["aws:PrincipalArn"] == deployed)
    );
    // Other roles keep theirs.
    let crawler = c
        .roles
        .iter()
        .find(|r| r.role.ends_with("-crawler"))
        .unwrap();
    assert!(
        crawler
            .principal
            .contains(":role/transit-payments-dev-crawler/")
    );
}

#[test]
fn placeholders_are_bound_for_the_partition() {
    let c = build(&plan("dev")).unwrap();
    let text = serde_json::to_string(&c).unwrap();
    assert!(!text.contains("${DataKeyArn}"));
    assert!(c.resource_policies.contains_key(&c.bindings["DataKeyArn"]));
    assert!(
        c.resource_policies
            .keys()
            .any(|k| k.starts_with("arn:aws:s3:::transit-payments-dev-raw-"))
    );
}

/// The reference spec's `ferry-operations` audience reads `ferry_boardings` only; the
/// `payments-analysts` audience also reads `pos_sales` and the index. The operations
/// role must be denied the other audience's prefixes, tables, workgroup and results,
/// and must not be denied the dataset both read (that is its own need).
#[test]
fn an_audience_role_is_denied_every_other_audiences_data() {
    let dev = plan("dev");
    let c = build(&dev).unwrap();
    let ops = c
        .roles
        .iter()
        .find(|r| r.role.ends_with("-quicksight-ferry-operations"))
        .expect("the operations audience has its own role");
    // Denied whatever case found it first: a sibling dataset's prefix is also every
    // object request's neighbour (the same request is not listed twice).
    let denied: Vec<&Case> = ops
        .cases
        .iter()
        .filter(|x| x.expect == Expect::Denied)
        .collect();
    assert!(
        denied
            .iter()
            .any(|x| x.kind == "another audience (payments-analysts)")
    );
    let hit = |action: &str, part: &str| {
        denied
            .iter()
            .any(|x| x.action.eq_ignore_ascii_case(action) && x.resource.contains(part))
    };
    assert!(hit("s3:GetObject", "/curated/pos_sales/"), "{denied:#?}");
    assert!(hit("s3:GetObject", "index-export/"), "{denied:#?}");
    assert!(hit("glue:GetTable", "/pos_sales"));
    assert!(hit("glue:GetTable", "/index_export"));
    assert!(hit("athena:StartQueryExecution", "-qs-payments-analysts"));
    assert!(hit("s3:PutObject", "/athena/quicksight-payments-analysts/"));
    // The dataset both audiences read is a need: its reads are never denied (writes are).
    let curated = &dev.bucket(crate::plan::BucketId::Curated).name;
    let ferry: Vec<_> = denied
        .iter()
        .filter(|x| {
            x.resource
                .contains(&format!("{curated}/curated/ferry_boardings/"))
                && x.action.eq_ignore_ascii_case("s3:GetObject")
        })
        .map(|x| (&x.kind, &x.resource))
        .collect();
    assert!(ferry.is_empty(), "{ferry:#?}");
    assert!(
        ops.cases.iter().any(
            |x| x.expect == Expect::Allowed && x.resource.contains("/curated/ferry_boardings/")
        )
    );
}

/// A transform's role reads exactly its inputs: the prefixes of the other sources and
/// datasets are denied neighbours, its own inputs are needs.
#[test]
fn a_multi_input_transform_reads_exactly_its_inputs() {
    let p = plan("dev");
    let c = build(&p).unwrap();
    let role = |suffix: &str| c.roles.iter().find(|r| r.role.ends_with(suffix)).unwrap();
    let raw = format!("{}/", p.bucket(crate::plan::BucketId::Raw).name);
    let curated = format!("{}/", p.bucket(crate::plan::BucketId::Curated).name);
    let reads = |r: &RoleCases, expect: Expect, at: &str| {
        r.cases.iter().any(|x| {
            x.expect == expect
                && x.action == "s3:GetObject"
                && x.resource.ends_with(&format!("{at}pipewright-sample.bin"))
        })
    };
    let sql = role("-transform-sailing_hours");
    for input in ["raw/ferry/", "raw/pos/"] {
        assert!(
            reads(sql, Expect::Allowed, &format!("{raw}{input}")),
            "{input} should be read"
        );
        assert!(
            !reads(sql, Expect::Denied, &format!("{raw}{input}")),
            "{input} is a need"
        );
    }
    for other in ["curated/pos_sales/", "curated/ferry_boardings/"] {
        assert!(
            reads(sql, Expect::Denied, &format!("{curated}{other}")),
            "{other} should be denied"
        );
    }
    let pos = role("-transform-pos_sales");
    assert!(reads(pos, Expect::Denied, &format!("{raw}raw/ferry/")));
}
