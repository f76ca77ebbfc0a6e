//! Least privilege, judged by an evaluator none of us wrote: the cases pipewright
//! generates from the plan (`review::cases`) are run through `@cloud-copilot/iam-simulate`
//! by `scripts/iam-simulate/check.js` (node, with `npm ci` done, as `.ci/run` does).
//! Every need must be Allowed and every neighbour denied, for the reference spec and for
//! the second spec in another partition (aws-us-gov). Then policies are broken on purpose
//! to show the judge notices.

use std::path::Path;
use std::process::Command;

use pipewright::review::cases::{Cases, Expect, build};
use pipewright::spec::{self, RealFiles};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn cases(spec_path: &str, env: &str) -> Cases {
    let checked = spec::check(&Path::new(ROOT).join(spec_path), &RealFiles).unwrap();
    let v = checked.validated().expect("spec is valid");
    let plan = pipewright::plan::lower(&v, env).unwrap();
    build(&plan).unwrap()
}

/// Runs the judge; (exit code, stdout).
fn judge(c: &Cases) -> (i32, String) {
    assert!(
        Path::new(ROOT)
            .join("node_modules/@cloud-copilot/iam-simulate")
            .is_dir(),
        "node_modules missing: run `npm ci` (as .ci/run does) before this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(&file, serde_json::to_vec(c).unwrap()).unwrap();
    let o = Command::new("node")
        .arg("scripts/iam-simulate/check.js")
        .arg(&file)
        .current_dir(ROOT)
        .output()
        .expect("node runs");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("{out}{}", String::from_utf8_lossy(&o.stderr));
    (o.status.code().unwrap_or(-1), out)
}

fn assert_proven(spec_path: &str, env: &str) {
    let c = cases(spec_path, env);
    for r in &c.roles {
        let allowed = r
            .cases
            .iter()
            .filter(|x| x.expect == Expect::Allowed)
            .count();
        let denied = r.cases.len() - allowed;
        // The outsiders of the resource policies only have requests to deny.
        let needs_allowed = r.role != pipewright::review::cases::outsiders::OUTSIDERS;
        assert!(
            (allowed > 0 || !needs_allowed) && denied > 0,
            "{}: {allowed} allowed, {denied} denied",
            r.role
        );
    }
    let (code, out) = judge(&c);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("0 wrong decision(s), 0 simulator error(s)"),
        "{out}"
    );
}

#[test]
fn reference_spec_dev_is_least_privilege() {
    assert_proven("pipeline.yaml", "dev");
}

#[test]
fn reference_spec_prod_is_least_privilege() {
    assert_proven("pipeline.yaml", "prod");
}

#[test]
fn second_spec_in_govcloud_is_least_privilege() {
    let c = cases("tests/specs/ok/fleet.yaml", "prod");
    assert_eq!(c.partition, "aws-us-gov");
    assert!(c.bindings["DataKeyArn"].starts_with("arn:aws-us-gov:kms:us-gov-west-1:"));
    assert_proven("tests/specs/ok/fleet.yaml", "prod");
}

fn edit_role(c: &mut Cases, role_suffix: &str, edit: impl Fn(String) -> String) {
    let r = c
        .roles
        .iter_mut()
        .find(|r| r.role.ends_with(role_suffix))
        .unwrap();
    for p in &mut r.identity_policies {
        p.policy = serde_json::from_str(&edit(p.policy.to_string())).unwrap();
    }
}

#[test]
fn a_wider_prefix_or_a_lost_condition_is_caught() {
    // Ingest may write anywhere in the raw bucket: sibling and parent prefixes are now allowed.
    let mut c = cases("pipeline.yaml", "dev");
    edit_role(&mut c, "-ingest", |s| s.replace("/raw/pos/*", "/*"));
    let (code, out) = judge(&c);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("WRONG transit-payments-dev-ingest: denied s3:PutObject"),
        "{out}"
    );
    assert!(out.contains("sibling prefix"), "{out}");

    // The key may be used through any service.
    let mut c = cases("pipeline.yaml", "dev");
    edit_role(&mut c, "-ingest", |s| {
        s.replace(
            r#""kms:ViaService":"s3.eu-west-2.amazonaws.com""#,
            r#""kms:ViaService":"*""#,
        )
        .replace("StringEquals", "StringLike")
    });
    let (code, out) = judge(&c);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the key through another service"), "{out}");

    // The trust policy of SageMaker's role loses its aws:SourceAccount pin: the service
    // acting for another account may assume it (the confused deputy).
    let mut c = cases("pipeline.yaml", "dev");
    let arn = c
        .roles
        .iter()
        .find(|r| r.role.ends_with("-sagemaker"))
        .unwrap()
        .principal
        .clone();
    c.resource_policies.get_mut(&arn).unwrap()["Statement"][0]
        .as_object_mut()
        .unwrap()
        .remove("Condition");
    let (code, out) = judge(&c);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the service assumes the role for another account"),
        "{out}"
    );

    // A permission the handler needs is missing: its request is no longer allowed.
    let mut c = cases("pipeline.yaml", "dev");
    edit_role(&mut c, "-ingest", |s| {
        s.replace("dynamodb:PutItem", "dynamodb:GetItem")
    });
    let (code, out) = judge(&c);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("WRONG transit-payments-dev-ingest: allowed dynamodb:PutItem"),
        "{out}"
    );
}

#[test]
fn key_policies_admit_a_role_by_its_path_only() {
    // The cases' role ARNs carry a name of CloudFormation's shape under the role's path,
    // and their key uses are allowed (the proofs above). The same requests, with the same
    // identity policies, from a role outside the path (named like the role, no path) are
    // refused by the key policy's ArnLike.
    let mut c = cases("pipeline.yaml", "dev");
    let r = c
        .roles
        .iter_mut()
        .find(|r| r.role.ends_with("-ingest"))
        .unwrap();
    assert!(
        r.principal
            .contains(":role/transit-payments-dev-ingest/transit-payments-dev-ingest-IngestRole-"),
        "{}",
        r.principal
    );
    let outside = format!(
        "arn:aws:iam::{}:role/transit-payments-dev-ingest-copy",
        c.account
    );
    let old = r.principal.clone();
    r.principal.clone_from(&outside);
    for x in &mut r.cases {
        for v in x.context.values_mut().filter(|v| **v == old) {
            v.clone_from(&outside);
        }
    }
    let (code, out) = judge(&c);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("WRONG transit-payments-dev-ingest: allowed kms:GenerateDataKey"),
        "{out}"
    );
    // Only key uses change: nothing else the role does names it.
    for line in out.lines().filter(|l| l.starts_with("WRONG")) {
        assert!(line.contains(": allowed kms:"), "{line}");
    }
}

/// Issue #15: the resource policies' outsider cases notice a bucket or key policy that
/// admits more than the spec names.
#[test]
fn a_bucket_or_key_policy_open_to_outsiders_is_caught() {
    let c = cases("pipeline.yaml", "dev");
    let bucket = c
        .resource_policies
        .keys()
        .find(|k| k.ends_with("-curated-111111111111"))
        .unwrap()
        .clone();
    let reader = "arn:aws:iam::333333333333:role/fraud-analytics";
    // The reader's statements now name anyone: anonymous callers and other accounts read.
    let mut open = c.clone();
    let doc = open.resource_policies.get_mut(&bucket).unwrap();
    *doc =
        serde_json::from_str(&doc.to_string().replace(&format!("\"{reader}\""), "\"*\"")).unwrap();
    let (code, out) = judge(&open);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("an anonymous caller"), "{out}");
    assert!(out.contains("a principal of another account"), "{out}");
    // The data key admits anyone to decrypt through S3.
    let mut key = c.clone();
    let arn = key.bindings["DataKeyArn"].clone();
    let doc = key.resource_policies.get_mut(&arn).unwrap();
    *doc = serde_json::from_str(&doc.to_string().replace(&format!("[\"{reader}\"]"), "\"*\""))
        .unwrap();
    let (code, out) = judge(&key);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("WRONG outsiders of every bucket and key policy: denied kms:Decrypt"),
        "{out}"
    );
}
