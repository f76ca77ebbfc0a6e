//! The PCI-DSS posture on real specs: which environments have it, what each template
//! records about it, what it costs, and that the replication role reads only the
//! buckets it replicates and writes only their replicas.

use std::collections::BTreeSet;
use std::path::Path;

use pipewright::cost::{self, compliance, prices::PriceBook};
use pipewright::emit::{self, iam};
use pipewright::plan::{self, Access, BucketId, Plan, StackId};
use pipewright::spec::{self, RealFiles};
use serde_json::{Value, json};

fn plan_of(spec_path: &str, env: &str) -> Plan {
    let c = spec::check(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(spec_path),
        &RealFiles,
    )
    .unwrap();
    let v = c.validated().expect("valid spec");
    plan::lower(&v, env).expect("lowers")
}

const RULE_SETS: [&str; 5] = [
    "pci_dss_3_2_1",
    "wa-Security-Pillar",
    "wa-Reliability-Pillar",
    "cfn_nag",
    "nist800_53rev5",
];

#[test]
fn every_template_records_the_rule_sets_it_was_built_for() {
    for (spec_path, env, pci) in [
        ("pipeline.yaml", "prod", true),
        ("pipeline.yaml", "dev", false),
        ("tests/specs/ok/fleet.yaml", "prod", true),
        ("tests/specs/ok/fleet.yaml", "test", false),
    ] {
        let out = emit::synth(&plan_of(spec_path, env)).unwrap();
        let mut templates = 0;
        for (path, bytes) in &out.files {
            if path.extension().is_none_or(|e| e != "json") || !path.starts_with("stacks") {
                continue;
            }
            templates += 1;
            let t: Value = serde_json::from_slice(bytes).unwrap();
            let meta = &t["Metadata"]["pipewright"];
            let sets: Vec<&str> = meta["rule_sets"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: no rule_sets", path.display()))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            if pci {
                assert_eq!(sets, RULE_SETS, "{}", path.display());
                assert_eq!(meta["compliance"], serde_json::json!(["pci-dss"]));
            } else {
                assert!(sets.is_empty(), "{}", path.display());
                assert_eq!(meta["compliance"], serde_json::json!([]));
            }
        }
        assert!(templates >= 6, "{spec_path}#{env}: {templates} templates");
    }
}

#[test]
fn the_price_of_compliance_is_the_cost_estimates_posture_lines() {
    let book = PriceBook::builtin();
    let estimate = |p: &Plan| {
        cost::estimate(
            p,
            &book,
            &cost::Regions::of(&book, p).unwrap(),
            &cost::Inputs::default(),
            &cost::Assumptions::default(),
        )
    };
    let prod = plan_of("pipeline.yaml", "prod");
    let posture = compliance::posture(&prod, &book)
        .unwrap()
        .expect("prod has the posture");
    let e = estimate(&prod);
    // One source: each of synth's figures is the estimate's component, to the cent.
    for c in &posture.components {
        let m = e.components.iter().find(|x| x.component == c.component);
        assert_eq!(m.map(|m| m.monthly), Some(c.monthly), "{}", c.component);
    }
    let names: BTreeSet<&str> = posture
        .components
        .iter()
        .map(|c| c.component.as_str())
        .collect();
    // The reference prod replicates raw, curated, Athena results, artifacts and access logs.
    let expected: BTreeSet<&str> = [
        "API Gateway cache",
        "VPC endpoints",
        "S3 replication",
        "S3 raw-replica",
        "S3 curated-replica",
        "S3 results-replica",
        "S3 artifacts-replica",
        "S3 logs-replica",
    ]
    .into();
    assert_eq!(names, expected);
    let sum: f64 = posture.components.iter().map(|c| c.monthly).sum();
    assert!((posture.monthly_total - sum).abs() < 0.005, "{posture:?}");
    // 6 interface endpoints in 2 zones for 730 hours; fleet's prod has three zones.
    let hours = |e: &cost::Estimate| {
        e.lines
            .iter()
            .find(|l| l.price == "vpc_endpoint_hour")
            .map(|l| l.quantity)
    };
    assert_eq!(hours(&e), Some(6.0 * 2.0 * 730.0));
    let fleet = plan_of("tests/specs/ok/fleet.yaml", "prod");
    assert_eq!(hours(&estimate(&fleet)), Some(6.0 * 3.0 * 730.0));
    // The smallest cache, 730 hours at the book's hourly price for the region.
    let raw: Value = serde_json::from_str(cost::prices::BUILTIN).unwrap();
    let hourly = raw["regions"]["eu-west-2"]["apigw_cache_0_5_gb_hour"]
        .as_f64()
        .unwrap();
    let cache = posture
        .components
        .iter()
        .find(|c| c.component == "API Gateway cache");
    assert!((cache.unwrap().monthly - hourly * 730.0).abs() < 0.005);

    let dev = plan_of("pipeline.yaml", "dev");
    assert!(compliance::posture(&dev, &book).unwrap().is_none());
    assert!(
        estimate(&dev)
            .components
            .iter()
            .all(|c| !c.component.ends_with("-replica")
                && c.component != "API Gateway cache"
                && c.component != "VPC endpoints")
    );
}

#[test]
fn replication_roles_read_only_what_they_replicate() {
    for spec_path in ["pipeline.yaml", "tests/specs/ok/fleet.yaml"] {
        let p = plan_of(spec_path, "prod");
        let roles = iam::roles(&p);
        let out = emit::synth(&p).unwrap();
        // storage's buckets by the storage stack's role; bootstrap's (artifacts, access
        // logs) by a role of the bootstrap stack, which is deployed before storage.
        for (role_id, stack, expected) in [
            (
                "replication",
                "storage",
                vec![BucketId::Raw, BucketId::Curated, BucketId::Results],
            ),
            (
                "bootstrap-replication",
                "bootstrap",
                vec![BucketId::Artifacts, BucketId::Logs],
            ),
            // And back: each replica to its source, by a role of the replica stack.
            (
                "replica-return",
                "replica",
                [
                    BucketId::RawReplica,
                    BucketId::CuratedReplica,
                    BucketId::LogsReplica,
                    BucketId::ResultsReplica,
                    BucketId::ArtifactsReplica,
                ]
                .into_iter()
                .filter(|b| p.buckets.contains_key(b))
                .collect(),
            ),
        ] {
            let pairs: Vec<(BucketId, BucketId)> = p
                .flows_of(role_id)
                .filter_map(|f| match f.access {
                    Access::Replicate { from, to } => Some((from, to)),
                    _ => None,
                })
                .collect();
            let mut froms: Vec<BucketId> = pairs.iter().map(|(f, _)| *f).collect();
            froms.sort();
            assert_eq!(froms, expected, "{spec_path} {role_id}");
            let sources: Vec<String> = pairs.iter().map(|(f, _)| iam::bucket_arn(&p, *f)).collect();
            let replicas: Vec<String> =
                pairs.iter().map(|(_, t)| iam::bucket_arn(&p, *t)).collect();
            for doc in roles[role_id].policies.values() {
                let doc = serde_json::to_value(doc).unwrap();
                for s in doc["Statement"].as_array().unwrap() {
                    let actions = s["Action"].to_string();
                    let resources: Vec<String> = match &s["Resource"] {
                        Value::String(r) => vec![r.clone()],
                        Value::Array(a) => {
                            a.iter().map(|r| r.as_str().unwrap().to_owned()).collect()
                        }
                        other => panic!("{other}"),
                    };
                    for r in resources {
                        let bucket = r.trim_end_matches("/*").to_owned();
                        if actions.contains("s3:Replicate") {
                            assert!(replicas.contains(&bucket), "{role_id} writes {r}");
                        } else if actions.contains("s3:") {
                            assert!(sources.contains(&bucket), "{role_id} reads {r}");
                        }
                    }
                }
            }
            // Each replicated bucket's template names its replica and this role.
            let t: Value = serde_json::from_slice(
                &out.files[&Path::new(&format!("stacks/prod/{stack}.json")).to_path_buf()],
            )
            .unwrap();
            for (from, to) in pairs {
                let name = &p.buckets[&from].name;
                let bucket = t["Resources"]
                    .as_object()
                    .unwrap()
                    .values()
                    .find(|r| r["Properties"]["BucketName"] == *name)
                    .unwrap_or_else(|| panic!("{name} in {stack}"));
                let mut rc = &bucket["Properties"]["ReplicationConfiguration"];
                if stack == "replica" {
                    // The way back holds once deploy has passed the sources' keys.
                    assert_eq!(rc["Fn::If"][0], "ReturnReplication", "{name}");
                    assert_eq!(rc["Fn::If"][2], json!({"Ref": "AWS::NoValue"}), "{name}");
                    rc = &rc["Fn::If"][1];
                    for r in t["Resources"].as_object().unwrap().values() {
                        if r["Type"] == "AWS::IAM::Role" || r["Type"] == "AWS::IAM::ManagedPolicy" {
                            assert_eq!(r["Condition"], "ReturnReplication");
                        }
                    }
                }
                assert_eq!(
                    rc["Rules"][0]["Destination"]["Bucket"],
                    iam::bucket_arn(&p, to)
                );
                assert_eq!(
                    rc["Role"]["Fn::GetAtt"][0],
                    format!("{}Role", role_lid(role_id))
                );
            }
        }
        // The replica stack is deployed first: every replication destination exists
        // before the rule that names it is put.
        let order: Vec<StackId> = p.stacks.keys().copied().collect();
        assert_eq!(order[0], StackId::Replica, "{spec_path}");
        let replica: Value = serde_json::from_slice(
            &out.files[&Path::new("stacks/prod/replica.json").to_path_buf()],
        )
        .unwrap();
        for b in [BucketId::ArtifactsReplica, BucketId::LogsReplica] {
            let name = &p.buckets[&b].name;
            assert!(
                replica["Resources"]
                    .as_object()
                    .unwrap()
                    .values()
                    .any(|r| r["Properties"]["BucketName"] == *name),
                "{name} in the replica stack"
            );
        }
    }
}

fn role_lid(id: &str) -> String {
    id.split('-')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect()
}

#[test]
fn check_explains_each_environments_posture() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pipewright"))
        .args(["check", "pipeline.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = |env: &str| {
        lines
            .iter()
            .position(|l| l.trim_start().starts_with(env))
            .unwrap_or_else(|| panic!("{env} in {text}"))
    };
    let dev = at("dev ");
    assert!(lines[dev].contains("opted out"), "{text}");
    assert!(lines[dev + 1].contains("PW0901"), "{text}");
    let prod = at("prod ");
    assert!(
        lines[prod].contains("pci-dss") && lines[prod].contains("eu-west-1"),
        "{text}"
    );
    for set in RULE_SETS {
        assert!(lines[prod + 1].contains(set), "{set} in {text}");
    }
    // dev's opt-out is a warning on stderr
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning[PW0901]"));
}

/// Every ingest-API stage of an environment's synthesised stacks.
fn api_stages(spec_path: &str, env: &str) -> Vec<Value> {
    api_resources(spec_path, env, "AWS::ApiGateway::Stage")
}

fn api_resources(spec_path: &str, env: &str, ty: &str) -> Vec<Value> {
    let out = emit::synth(&plan_of(spec_path, env)).unwrap();
    let mut stages = Vec::new();
    for (path, bytes) in &out.files {
        if path.extension().is_none_or(|e| e != "json") || !path.starts_with("stacks") {
            continue;
        }
        let t: Value = serde_json::from_slice(bytes).unwrap();
        if let Some(rs) = t["Resources"].as_object() {
            stages.extend(rs.values().filter(|r| r["Type"] == ty).cloned());
        }
    }
    stages
}

#[test]
fn the_api_cache_is_encrypted_and_never_caches_a_post() {
    for spec_path in ["pipeline.yaml", "tests/specs/ok/fleet.yaml"] {
        let stages = api_stages(spec_path, "prod");
        assert_eq!(stages.len(), 1, "{spec_path}");
        let props = &stages[0]["Properties"];
        assert_eq!(props["CacheClusterEnabled"], true, "{spec_path}");
        assert_eq!(props["CacheClusterSize"], "0.5", "{spec_path}");
        let settings = props["MethodSettings"].as_array().unwrap();
        // The stage-wide setting turns the (GET-only by default) cache on, encrypted.
        let all = settings
            .iter()
            .find(|m| m["ResourcePath"] == "/*" && m["HttpMethod"] == "*")
            .unwrap_or_else(|| panic!("{spec_path}: no stage-wide setting"));
        assert_eq!(all["CachingEnabled"], true);
        assert_eq!(all["CacheDataEncrypted"], true);
        // A route without an API key (iam, none) keeps a POST override that says: no cache.
        // API-key routes have no override: their usage plan throttles the POST method.
        let posts: Vec<&Value> = settings.iter().filter(|m| m["HttpMethod"] != "*").collect();
        for m in &posts {
            assert_eq!(m["HttpMethod"], "POST", "{m}");
            assert_eq!(m["CachingEnabled"], false, "{spec_path}: {m}");
        }
        let p = plan_of(spec_path, "prod");
        let keyed = p.routes.iter().filter(|r| r.auth.keyed()).count();
        assert_eq!(
            posts.len(),
            p.routes.len() - keyed,
            "{spec_path}: one override per keyless route"
        );
        let plans = api_resources(spec_path, "prod", "AWS::ApiGateway::UsagePlan");
        assert_eq!(plans.len(), keyed, "{spec_path}");
        for up in plans {
            let throttle = &up["Properties"]["ApiStages"][0]["Throttle"];
            let (method, limits) = throttle.as_object().unwrap().iter().next().unwrap();
            assert!(
                method.starts_with('/') && method.ends_with("/POST"),
                "{method}"
            );
            assert_eq!(
                limits["RateLimit"],
                up["Properties"]["Throttle"]["RateLimit"]
            );
            assert_eq!(
                limits["BurstLimit"],
                up["Properties"]["Throttle"]["BurstLimit"]
            );
        }
    }
    // Without the posture no cache cluster is paid for.
    for (spec_path, env) in [
        ("pipeline.yaml", "dev"),
        ("tests/specs/ok/fleet.yaml", "test"),
    ] {
        for s in api_stages(spec_path, env) {
            assert!(
                s["Properties"].get("CacheClusterEnabled").is_none(),
                "{spec_path}#{env}"
            );
            for m in s["Properties"]["MethodSettings"].as_array().unwrap() {
                assert_ne!(m["CachingEnabled"], true, "{spec_path}#{env}: {m}");
            }
        }
    }
}

#[test]
fn access_log_replication_uses_no_kms_key() {
    // The access-log buckets are SSE-S3 (log delivery cannot use SSE-KMS): their replication
    // rule selects no KMS objects and names no replica key, and the role gets KMS only for the
    // artifacts pair.
    let p = plan_of("pipeline.yaml", "prod");
    let out = emit::synth(&p).unwrap();
    let t: Value =
        serde_json::from_slice(&out.files[&Path::new("stacks/prod/bootstrap.json").to_path_buf()])
            .unwrap();
    let rule = |lid: &str| {
        t["Resources"][lid]["Properties"]["ReplicationConfiguration"]["Rules"][0].clone()
    };
    let logs = rule("LogsBucket");
    assert!(logs.get("SourceSelectionCriteria").is_none(), "{logs}");
    assert!(
        logs["Destination"].get("EncryptionConfiguration").is_none(),
        "{logs}"
    );
    let artifacts = rule("ArtifactsBucket");
    assert_eq!(
        artifacts["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"],
        "Enabled"
    );
    assert_eq!(
        artifacts["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"]["Ref"],
        "ReplicaKeyArn"
    );
    let artifacts_arns = [
        iam::bucket_arn(&p, BucketId::Artifacts),
        iam::bucket_arn(&p, BucketId::ArtifactsReplica),
    ];
    for doc in iam::roles(&p)["bootstrap-replication"].policies.values() {
        let doc = serde_json::to_value(doc).unwrap();
        for s in doc["Statement"].as_array().unwrap() {
            if s["Action"].to_string().contains("kms:") {
                let ctx = &s["Condition"]["StringEquals"]["kms:EncryptionContext:aws:s3:arn"];
                assert!(
                    artifacts_arns.iter().any(|a| ctx == a),
                    "KMS for a non-KMS bucket: {s}"
                );
            }
        }
    }
}

#[test]
fn every_route_of_the_posture_is_signed_and_metered() {
    for spec_path in ["pipeline.yaml", "tests/specs/ok/fleet.yaml"] {
        let methods = api_resources(spec_path, "prod", "AWS::ApiGateway::Method");
        assert!(!methods.is_empty(), "{spec_path}");
        for m in &methods {
            assert_eq!(
                m["Properties"]["AuthorizationType"], "AWS_IAM",
                "{spec_path}: {m}"
            );
            assert_eq!(m["Properties"]["ApiKeyRequired"], true, "{spec_path}: {m}");
        }
        let plans = api_resources(spec_path, "prod", "AWS::ApiGateway::UsagePlan");
        assert_eq!(
            plans.len(),
            methods.len(),
            "{spec_path}: a usage plan per route"
        );
    }
    // Outside the posture an environment may choose: fleet's test rigs use iam, api_key and none.
    let methods = api_resources(
        "tests/specs/ok/fleet.yaml",
        "test",
        "AWS::ApiGateway::Method",
    );
    let mut seen: Vec<(String, bool)> = methods
        .iter()
        .map(|m| {
            (
                m["Properties"]["AuthorizationType"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                m["Properties"]["ApiKeyRequired"].as_bool().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("AWS_IAM".to_owned(), false),
            ("AWS_IAM".to_owned(), true),
            ("NONE".to_owned(), false),
            ("NONE".to_owned(), true),
        ]
    );
}

#[test]
fn workloads_reach_aws_through_endpoints_only_never_the_world() {
    for spec_path in ["pipeline.yaml", "tests/specs/ok/fleet.yaml"] {
        let egress: Vec<Value> = api_resources(spec_path, "prod", "AWS::EC2::SecurityGroup")
            .iter()
            .flat_map(|g| {
                g["Properties"]["SecurityGroupEgress"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .chain(
                api_resources(spec_path, "prod", "AWS::EC2::SecurityGroupEgress")
                    .iter()
                    .map(|r| r["Properties"].clone()),
            )
            .collect();
        assert!(!egress.is_empty(), "{spec_path}");
        for e in &egress {
            assert_ne!(e["CidrIp"], "0.0.0.0/0", "{spec_path}: {e}");
            assert!(e.get("CidrIpv6").is_none(), "{spec_path}: {e}");
            // "Only": every rule goes to an endpoint (a gateway endpoint's prefix list or the
            // interface endpoints' group, HTTPS), to the workload group itself (Glue's
            // documented self-referencing rule), or nowhere (the loopback placeholder that
            // replaces the default allow-all on the endpoints' group).
            let workload = json!({"Ref": "WorkloadSecurityGroup"});
            let to_gateway = e.get("DestinationPrefixListId").is_some() && e["FromPort"] == 443;
            let to_interfaces = e["DestinationSecurityGroupId"]
                == json!({"Ref": "EndpointSecurityGroup"})
                && e["FromPort"] == 443
                && e["ToPort"] == 443;
            let to_itself = e["DestinationSecurityGroupId"] == workload && e["GroupId"] == workload;
            let nowhere = e["CidrIp"] == "127.0.0.1/32";
            let ok = to_gateway || to_interfaces || to_itself || nowhere;
            assert!(ok, "{spec_path}: egress that reaches no endpoint: {e}");
        }
        // S3 and DynamoDB through their gateway endpoints' prefix lists (parameters
        // deploy fills), the interface endpoints through their group.
        let to_lists: Vec<&Value> = egress
            .iter()
            .filter_map(|e| e.get("DestinationPrefixListId"))
            .collect();
        assert_eq!(
            to_lists,
            [
                &json!({"Ref": "S3PrefixListId"}),
                &json!({"Ref": "DynamodbPrefixListId"})
            ],
            "{spec_path}"
        );
        assert!(
            egress.iter().any(|e| e["DestinationSecurityGroupId"]
                == json!({"Ref": "EndpointSecurityGroup"})
                && e["FromPort"] == 443
                && e["ToPort"] == 443),
            "{spec_path}"
        );
    }
}

/// Every `aws:PrincipalArn` condition of the key policies in a template.
fn principal_conditions(t: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for r in t["Resources"].as_object().unwrap().values() {
        if r["Type"] != "AWS::KMS::Key" {
            continue;
        }
        for st in r["Properties"]["KeyPolicy"]["Statement"]
            .as_array()
            .unwrap()
        {
            for (op, keys) in st["Condition"].as_object().into_iter().flatten() {
                if let Some(v) = keys.get("aws:PrincipalArn") {
                    let arns = match v {
                        Value::String(s) => vec![s.clone()],
                        Value::Array(a) => {
                            a.iter().map(|x| x.as_str().unwrap().to_owned()).collect()
                        }
                        other => panic!("{other}"),
                    };
                    out.push((op.clone(), arns));
                }
            }
        }
    }
    out
}

#[test]
fn cloudformation_names_roles_policies_keys_and_the_table_and_key_policies_admit_roles_by_path() {
    use pipewright::review::norm::glob;
    for spec_path in ["pipeline.yaml", "tests/specs/ok/fleet.yaml"] {
        let c = spec::check(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(spec_path),
            &RealFiles,
        )
        .unwrap();
        let v = c.validated().unwrap();
        for env in v.spec.environments.keys() {
            let p = plan::lower(&v, env).unwrap();
            let out = emit::synth(&p).unwrap();
            let mut paths = Vec::new();
            let mut admitted = Vec::new();
            for (file, bytes) in &out.files {
                if file.extension().is_none_or(|e| e != "json") || !file.starts_with("stacks") {
                    continue;
                }
                let t: Value = serde_json::from_slice(bytes).unwrap();
                let text = String::from_utf8_lossy(bytes);
                for named in [
                    format!("table/{}", p.table),
                    format!("tableName\": \"{}\"", p.table),
                    format!("INDEX_TABLE\": \"{}\"", p.table),
                ] {
                    assert!(!text.contains(&named), "{file:?} names the table: {named}");
                }
                for (lid, r) in t["Resources"].as_object().into_iter().flatten() {
                    let props = &r["Properties"];
                    match r["Type"].as_str().unwrap() {
                        "AWS::IAM::Role" => {
                            assert!(props.get("RoleName").is_none(), "{file:?} {lid}");
                            paths.push(props["Path"].as_str().unwrap().to_owned());
                        }
                        "AWS::IAM::ManagedPolicy" => {
                            assert!(props.get("ManagedPolicyName").is_none(), "{file:?} {lid}");
                        }
                        // Other stacks import its name (the storage stack's export).
                        "AWS::DynamoDB::Table" => {
                            assert!(props.get("TableName").is_none(), "{file:?} {lid}");
                        }
                        "AWS::ApiGateway::ApiKey" => {
                            assert!(props.get("Name").is_none(), "{file:?} {lid}");
                        }
                        _ => {}
                    }
                }
                for (op, arns) in principal_conditions(&t) {
                    assert_eq!(op, "ArnLike", "{file:?}");
                    admitted.extend(arns);
                }
            }
            // One role per path, and every role of the plan has its own.
            let mut expected: Vec<String> = p.roles.values().map(|r| r.path()).collect();
            expected.sort();
            paths.sort();
            assert_eq!(paths, expected, "{spec_path} {env}");
            // Key policies admit a role under whatever name CloudFormation gives it, and
            // no role outside the pipeline's paths: not one whose name merely starts the same.
            for pattern in &admitted {
                let role = p
                    .roles
                    .values()
                    .find(|r| *pattern == r.arn_pattern(p.partition, &p.account))
                    .unwrap_or_else(|| panic!("{pattern} is no role's pattern"));
                let arn = |name: &str| role.arn(p.partition, &p.account, name);
                assert!(glob(pattern, &arn("stack-IngestRole-1X2Y3Z4W5V6U")));
                let flat = format!("arn:{}:iam::{}:role/{}", p.partition, p.account, role.name);
                for outside in [flat.clone(), format!("{flat}-copy"), format!("{flat}x/r")] {
                    assert!(!glob(pattern, &outside), "{pattern} admits {outside}");
                }
            }
            if p.pci() {
                assert!(!admitted.is_empty(), "{spec_path} {env}");
            }
        }
    }
}
