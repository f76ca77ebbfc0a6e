//! The facts the generated docs state (keys and what each encrypts, replication, log
//! groups, what is kept on delete) against an independent reading of the synthesised
//! CloudFormation templates, for the reference spec and every spec under
//! `tests/specs/ok/`, in every environment. The docs derive them from the plan
//! (`docs::facts`); here they are counted in the templates (`AWS::KMS::Key` resources,
//! buckets' `BucketEncryption` and `ReplicationConfiguration`, `AWS::Logs::LogGroup`,
//! `DeletionPolicy`), following `Ref`, `Fn::GetAtt`, `Fn::ImportValue` and parameters
//! fed by another stack's output of the same name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pipewright::plan::Plan;
use serde_json::Value;

mod specs_common;
use specs_common::plans;

/// The templates of one environment: (file stem, template).
fn templates(plan: &Plan) -> Vec<(String, Value)> {
    let out = pipewright::emit::synth(plan).unwrap();
    out.files
        .iter()
        .filter(|(p, _)| p.starts_with("stacks") && p.extension().is_some_and(|e| e == "json"))
        .filter_map(|(p, b)| {
            let v: Value = serde_json::from_slice(b).ok()?;
            v.get("Resources")?;
            Some((p.file_stem()?.to_string_lossy().into_owned(), v))
        })
        .collect()
}

/// What the templates say.
#[derive(Default, Debug)]
struct Found {
    /// alias → (template stem, rotation days)
    keys: BTreeMap<String, (String, i64)>,
    key_count: usize,
    retained_keys: BTreeSet<String>,
    /// bucket → key alias
    bucket_key: BTreeMap<String, String>,
    sse_s3: BTreeSet<String>,
    pairs: BTreeSet<(String, String)>,
    back: usize,
    retained_buckets: BTreeSet<String>,
    table_retained: bool,
    /// key aliases of the table, queues, topics and log groups
    other_keys: BTreeSet<String>,
    others: usize,
    log_groups: usize,
    retention: BTreeSet<i64>,
    vpc: Option<String>,
    subnets: Vec<String>,
    interface: Vec<String>,
    gateway: BTreeSet<String>,
    internet: usize,
    unversioned: Vec<String>,
    no_pitr: usize,
}

struct Tpls<'a>(&'a [(String, Value)]);

impl Tpls<'_> {
    fn res(&self, t: usize) -> &serde_json::Map<String, Value> {
        self.0[t].1["Resources"].as_object().unwrap()
    }

    fn alias_of(&self, t: usize, key: &str) -> Option<String> {
        self.res(t).values().find_map(|r| {
            (r["Type"] == "AWS::KMS::Alias" && r["Properties"]["TargetKeyId"]["Ref"] == key)
                .then(|| r["Properties"]["AliasName"].as_str().unwrap().to_owned())
        })
    }

    fn output(&self, pred: impl Fn(&str, &Value) -> bool) -> Option<(usize, Value)> {
        self.0.iter().enumerate().find_map(|(u, (_, v))| {
            v.get("Outputs")?
                .as_object()?
                .iter()
                .find(|(k, o)| pred(k, o))
                .map(|(_, o)| (u, o["Value"].clone()))
        })
    }

    /// The alias of the key an expression in template `t` names.
    fn key(&self, e: &Value, t: usize) -> Option<String> {
        if let Some(att) = e.get("Fn::GetAtt") {
            return self.alias_of(t, att[0].as_str()?);
        }
        if let Some(r) = e.get("Ref").and_then(Value::as_str) {
            if self.res(t).contains_key(r) {
                return self.alias_of(t, r);
            }
            let (u, v) = self.output(|k, _| k == r)?;
            return self.key(&v, u);
        }
        if let Some(name) = e.get("Fn::ImportValue").and_then(Value::as_str) {
            let (u, v) = self.output(|_, o| o["Export"]["Name"] == name)?;
            return self.key(&v, u);
        }
        None
    }
}

fn read(tpls: &[(String, Value)]) -> Found {
    let t = Tpls(tpls);
    let mut f = Found::default();
    for (i, (stem, _)) in tpls.iter().enumerate() {
        for (lid, r) in t.res(i) {
            let p = &r["Properties"];
            let retained = r["DeletionPolicy"] == "Retain";
            let other = |prop: &Value, f: &mut Found| {
                f.others += 1;
                f.other_keys.insert(t.key(prop, i).unwrap_or_default());
            };
            match r["Type"].as_str().unwrap() {
                "AWS::KMS::Key" => {
                    f.key_count += 1;
                    let alias = t.alias_of(i, lid).expect("every key has an alias");
                    assert_eq!(p["EnableKeyRotation"], true, "{alias}");
                    let days = p["RotationPeriodInDays"].as_i64().unwrap_or(365);
                    if retained {
                        f.retained_keys.insert(alias.clone());
                    }
                    f.keys.insert(alias, (stem.clone(), days));
                }
                "AWS::S3::Bucket" => bucket(&t, i, r, &mut f),
                "AWS::DynamoDB::Table" => {
                    f.table_retained |= retained;
                    if p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] != true {
                        f.no_pitr += 1;
                    }
                    other(&p["SSESpecification"]["KMSMasterKeyId"], &mut f);
                }
                "AWS::SQS::Queue" | "AWS::SNS::Topic" => other(&p["KmsMasterKeyId"], &mut f),
                "AWS::Logs::LogGroup" => {
                    f.log_groups += 1;
                    f.retention.insert(p["RetentionInDays"].as_i64().unwrap());
                    other(&p["KmsKeyId"], &mut f);
                }
                "AWS::EC2::VPC" => f.vpc = p["CidrBlock"].as_str().map(str::to_owned),
                "AWS::EC2::Subnet" => f.subnets.push(p["CidrBlock"].as_str().unwrap().into()),
                "AWS::EC2::VPCEndpoint" => {
                    // `com.amazonaws.<region>.<service>` (or a partition's own prefix).
                    let name = p["ServiceName"].as_str().unwrap();
                    let region = name.split('.').find(|x| x.contains('-')).unwrap();
                    let svc = name.split_once(&format!("{region}.")).unwrap().1.to_owned();
                    if p["VpcEndpointType"] == "Gateway" {
                        f.gateway.insert(svc);
                    } else {
                        f.interface.push(svc);
                    }
                }
                "AWS::EC2::InternetGateway"
                | "AWS::EC2::NatGateway"
                | "AWS::EC2::EgressOnlyInternetGateway" => f.internet += 1,
                _ => {}
            }
        }
    }
    f
}

fn bucket(t: &Tpls, i: usize, r: &Value, f: &mut Found) {
    let p = &r["Properties"];
    let name = p["BucketName"].as_str().unwrap().to_owned();
    let sse = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"];
    if sse["SSEAlgorithm"] == "AES256" {
        f.sse_s3.insert(name.clone());
    } else {
        let k = t.key(&sse["KMSMasterKeyID"], i).expect("the bucket's key");
        f.bucket_key.insert(name.clone(), k);
    }
    let rc = &p["ReplicationConfiguration"];
    if rc.get("Fn::If").is_some() {
        f.back += 1;
    } else if let Some(d) = rc["Rules"][0]["Destination"]["Bucket"].as_str() {
        let to = d.rsplit(":::").next().unwrap().to_owned();
        f.pairs.insert((name.clone(), to));
    }
    if p["VersioningConfiguration"]["Status"] != "Enabled" {
        f.unversioned.push(name.clone());
    }
    if r["DeletionPolicy"] == "Retain" {
        f.retained_buckets.insert(name);
    }
}

/// The text between backticks.
fn ticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The leading number of `s`.
fn number(s: &str) -> usize {
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn check(plan: &Plan, md: &str, f: &Found) {
    let at = format!("{} {}", plan.pipeline, plan.env);
    let line = |start: &str| -> &str {
        md.lines()
            .find_map(|l| l.strip_prefix(start))
            .unwrap_or_else(|| panic!("{at}: no line `{start}`"))
    };
    // Keys: how many, which, where, rotation, what each encrypts.
    let enc = line("- Encryption: ");
    assert_eq!(number(enc), f.key_count, "{at}: {enc}");
    let days: i64 = enc
        .rsplit("every ")
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let key_lines: Vec<&str> = md.lines().filter_map(|l| l.strip_prefix("  - `")).collect();
    assert_eq!(key_lines.len(), f.key_count, "{at}");
    let mut doc_bucket_key = BTreeMap::new();
    for l in key_lines {
        let alias = l.split('`').next().unwrap();
        let (stem, rot) = &f.keys[alias];
        assert_eq!(*rot, days, "{at}: {alias}");
        let region = l.split(['(', ')']).nth(1).unwrap();
        let want_region = if stem == "replica" {
            plan.replica_region.as_deref().unwrap()
        } else {
            plan.region.as_str()
        };
        assert_eq!(region, want_region, "{at}: {alias}");
        let full = format!("`{l}");
        let (buckets, rest) = full.split_once(';').unwrap_or((&full, ""));
        for b in ticked(buckets).into_iter().skip(1) {
            doc_bucket_key.insert(b, alias.to_owned());
        }
        if rest
            .contains("the index table, the dead-letter queue, the alarm topic and the log groups")
        {
            assert!(f.others >= 3, "{at}");
            assert_eq!(f.other_keys, BTreeSet::from([alias.to_owned()]), "{at}");
        }
    }
    assert_eq!(
        doc_bucket_key, f.bucket_key,
        "{at}: which key encrypts which bucket"
    );
    let sse: BTreeSet<String> = md
        .lines()
        .find_map(|l| l.strip_prefix("- S3-managed keys"))
        .map(|l| ticked(l).into_iter().collect())
        .unwrap_or_default();
    assert_eq!(sse, f.sse_s3, "{at}: SSE-S3 buckets");
    // Replication.
    match md.lines().find_map(|l| l.strip_prefix("- Replication: ")) {
        Some(r) => {
            let pairs: Vec<String> = ticked(r);
            let pairs: BTreeSet<(String, String)> = pairs
                .chunks(2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect();
            assert_eq!(number(r), f.pairs.len(), "{at}: {r}");
            assert_eq!(pairs, f.pairs, "{at}");
            let back = r.rsplit(". ").next().unwrap();
            assert_eq!(number(back), f.back, "{at}: {back}");
        }
        None => assert!(
            f.pairs.is_empty() && f.back == 0,
            "{at}: replication not said"
        ),
    }
    // Log groups.
    let logs = line("- Logs: ");
    assert_eq!(number(logs), f.log_groups, "{at}: {logs}");
    let kept_days: i64 = logs
        .split("keeping events ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(f.retention, BTreeSet::from([kept_days]), "{at}");
    assert_eq!(ticked(logs).len(), f.log_groups, "{at}");
    // Kept on delete.
    let kept = line("- Kept when the stacks are deleted: ");
    let mut buckets = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for part in kept.trim_end_matches('.').split("; ") {
        let names: BTreeSet<String> = ticked(part).into_iter().collect();
        if part.starts_with("bucket") {
            buckets = names;
        } else if part.starts_with("key") {
            keys = names;
        }
    }
    assert_eq!(buckets, f.retained_buckets, "{at}: retained buckets");
    assert_eq!(keys, f.retained_keys, "{at}: retained keys");
    assert_eq!(kept.contains("the index table"), f.table_retained, "{at}");
    // Roll back: versioned buckets, the table's point-in-time recovery.
    if md.contains("buckets are versioned and the table has point-in-time recovery") {
        assert!(f.unversioned.is_empty() && f.no_pitr == 0, "{at}: {f:?}");
    }
    network(&at, md, f);
}

/// `- Network: VPC <cidr>, private subnets <a>, <b>, no route to the internet; interface
/// endpoints: <services> (S3 and DynamoDB through gateway endpoints).`
fn network(at: &str, md: &str, f: &Found) {
    let Some(n) = md.lines().find_map(|l| l.strip_prefix("- Network: VPC ")) else {
        assert!(f.vpc.is_none(), "{at}: a VPC the docs do not mention");
        return;
    };
    let (cidr, rest) = n.split_once(", private subnets ").unwrap();
    assert_eq!(Some(cidr), f.vpc.as_deref(), "{at}");
    let (subnets, rest) = rest.split_once(", no route to the internet; ").unwrap();
    assert_eq!(subnets.split(", ").collect::<Vec<_>>(), f.subnets, "{at}");
    assert_eq!(f.internet, 0, "{at}: no route to the internet");
    let (ifaces, rest) = rest
        .strip_prefix("interface endpoints: ")
        .unwrap()
        .split_once(" (")
        .unwrap();
    let mut said: Vec<&str> = ifaces.split(", ").collect();
    let mut have: Vec<&str> = f.interface.iter().map(String::as_str).collect();
    said.sort();
    have.sort();
    assert_eq!(said, have, "{at}: interface endpoints");
    assert!(
        rest.starts_with("S3 and DynamoDB through gateway endpoints"),
        "{at}"
    );
    assert_eq!(
        f.gateway,
        BTreeSet::from(["s3".to_owned(), "dynamodb".to_owned()]),
        "{at}"
    );
}

#[test]
fn the_docs_facts_are_the_templates_facts() {
    let plans = plans();
    assert!(plans.len() >= 4);
    for plan in &plans {
        let files = pipewright::docs::render(plan, None, None).unwrap();
        let md =
            String::from_utf8(files[&Path::new("docs").join(&plan.env).join("README.md")].clone())
                .unwrap();
        let tpls = templates(plan);
        let found = read(&tpls);
        check(plan, &md, &found);
    }
}
