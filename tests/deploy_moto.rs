//! `pipewright deploy`, `diff` and `destroy` against a real moto server
//! (`PIPEWRIGHT_MOTO_ENDPOINT`, which `.ci/run` sets; these tests fail without it).
//!
//! moto's CloudFormation skips Glue, Athena, QuickSight, API Gateway stages and
//! usage plans and CloudWatch alarms, and its change sets have no outputs, so the
//! reference spec is deployed with `--method direct`, and what moto models is checked
//! through each service's own API against the plan. moto 5.2.5 cannot create KMS
//! keys or flow logs with tags from CloudFormation, nor a flow log to an S3 prefix, so
//! `--moto-compat` drops those tags and the prefix (and says so). The change-set
//! method is in `deploy_change_set.rs`, Ctrl-C in `deploy_interrupt.rs`.
#![cfg(feature = "aws")]

use std::path::{Path, PathBuf};

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Credentials, Region};
use pipewright::plan::{BucketId, StackId};
use serde_json::Value;

mod deploy_common;
use deploy_common::*;

#[tokio::test(flavor = "multi_thread")]
async fn deploy_redeploy_change_and_destroy_the_reference_spec() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("pwd{}", std::process::id() % 100_000);
    let spec = spec_copy(dir.path(), &name, 512);
    let plan = plan_of(&spec, "dev");
    let zip = stand_in_zip(dir.path());
    let zip_bytes = std::fs::read(&zip).unwrap();
    let outputs = dir.path().join("outputs.json");
    let deploy = |spec: &Path, extra: &[&str]| {
        let mut args = vec![
            "deploy",
            spec.to_str().unwrap(),
            "--env",
            "dev",
            "--method",
            "direct",
            "--moto-compat",
            "--yes",
            "--concurrency",
            "3",
            "--lambda-zip",
            zip.to_str().unwrap(),
            "--outputs-file",
            outputs.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        pipewright(&args, dir.path())
    };

    // 0. Nothing deployed yet: `outputs` lists every stack as not deployed and exits 1.
    let r = outputs_run(&spec, dir.path(), "json");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let before: Value = serde_json::from_str(&r.stdout).unwrap();
    for stack in plan.stacks.values() {
        assert!(before["stacks"][stack]["status"].is_null(), "{before}");
    }
    assert!(r.stderr.contains("not deployed"), "{}", r.stderr);

    // 1. First deploy: every stack created.
    let r = deploy(&spec, &["--format", "json"]);
    assert_eq!(r.code, 0, "deploy failed:\n{}\n{}", r.stdout, r.stderr);
    let doc = results(&outputs);
    for stack in plan.stacks.values() {
        assert_eq!(result_of(&doc, stack), "created", "{stack}");
    }
    // Every line is one JSON object; the zip and the Glue scripts were uploaded.
    let events: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let uploads: Vec<&Value> = events.iter().filter(|e| e["event"] == "upload").collect();
    let code_key = format!(
        "lambda/ingest/{}.zip",
        pipewright::emit::sha256_hex(&zip_bytes)
    );
    assert!(
        uploads
            .iter()
            .any(|u| u["key"] == code_key.as_str() && u["skipped"] == false),
        "{uploads:?}"
    );
    // The function and one script per job; templates too large to send inline
    // (over 51,200 bytes: the reference processing stack) are uploaded as well.
    let artifacts = uploads
        .iter()
        .filter(|u| {
            !u["key"]
                .as_str()
                .unwrap_or_default()
                .starts_with("templates/")
        })
        .count();
    assert_eq!(artifacts, 1 + plan.transforms.len(), "{uploads:?}");

    let conf = sdk().await;
    outputs_match_cloudformation(&spec, dir.path(), &plan, &conf).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let artifacts = &plan.buckets[&BucketId::Artifacts].name;
    s3.head_object()
        .bucket(artifacts)
        .key(&code_key)
        .send()
        .await
        .expect("the zip is in the artifacts bucket");

    // Buckets: SSE-KMS with the data key exported by the foundation stack.
    let data_key = doc["stacks"][&plan.stacks[&pipewright::plan::StackId::Foundation]]["outputs"]
        ["DataKeyArn"]
        .as_str()
        .unwrap()
        .to_string();
    for id in [BucketId::Raw, BucketId::Curated] {
        let b = &plan.buckets[&id].name;
        let enc = s3
            .get_bucket_encryption()
            .bucket(b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("bucket {b}: {e:?}"));
        let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
        let d = rule.apply_server_side_encryption_by_default().unwrap();
        assert_eq!(d.sse_algorithm().as_str(), "aws:kms", "{b}");
        assert_eq!(d.kms_master_key_id(), Some(data_key.as_str()), "{b}");
    }

    // The index table, named by CloudFormation (the storage stack's output): keys and
    // one GSI per lookup.
    let table = doc["stacks"][&plan.stacks[&pipewright::plan::StackId::Storage]]["outputs"]
        ["IndexTableName"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(table, plan.table);
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let t = ddb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let t = t.table().unwrap();
    let keys: Vec<(&str, &str)> = t
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
    let mut gsis: Vec<&str> = t
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    gsis.sort();
    let mut want: Vec<String> = plan
        .lookups
        .iter()
        .map(|l| {
            serde_json::to_value(l)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    want.sort();
    assert_eq!(gsis, want);

    // The function: the zip from the artifacts bucket, the table and bucket in its environment.
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let f = lambda
        .get_function_configuration()
        .function_name(&plan.function_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        f.code_size(),
        zip_bytes.len() as i64,
        "code taken from the uploaded zip"
    );
    assert_eq!(f.memory_size(), Some(512));
    let vars = f.environment().unwrap().variables().unwrap();
    assert!(
        vars.values()
            .any(|v| v == &plan.buckets[&BucketId::Raw].name),
        "{vars:?}"
    );
    assert!(vars.values().any(|v| *v == table), "{vars:?}");
    // CloudFormation named the role, under the path that identifies it.
    let role_arn = f.role().unwrap();
    let (path_and_name, role_name) = role_arn.rsplit_once('/').unwrap();
    assert!(
        path_and_name.ends_with(&format!(
            ":role{}",
            plan.roles["ingest"].path().trim_end_matches('/')
        )),
        "{role_arn}"
    );
    assert!(
        !role_name.is_empty() && role_name != plan.roles["ingest"].name,
        "{role_arn}"
    );
    let role_name = role_name.to_string();

    // Its role: managed policies that let it write raw objects.
    let iam = aws_sdk_iam::Client::new(&conf);
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role_name)
        .send()
        .await
        .unwrap();
    let mut docs = String::new();
    for p in attached.attached_policies() {
        let arn = p.policy_arn().unwrap();
        let pol = iam.get_policy().policy_arn(arn).send().await.unwrap();
        let ver = pol.policy().unwrap().default_version_id().unwrap();
        let v = iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(ver)
            .send()
            .await
            .unwrap();
        docs.push_str(v.policy_version().unwrap().document().unwrap());
    }
    let docs = urlencoding_decode(&docs);
    assert!(docs.contains("s3:PutObject"), "{docs}");
    assert!(
        docs.contains(&format!(
            "arn:aws:s3:::{}/raw/",
            plan.buckets[&BucketId::Raw].name
        )),
        "{docs}"
    );

    // The dead-letter queue.
    let sqs = aws_sdk_sqs::Client::new(&conf);
    sqs.get_queue_url()
        .queue_name(&plan.dlq_name)
        .send()
        .await
        .expect("the DLQ exists");

    // The API: one resource path and POST method per route.
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let apis = apigw.get_rest_apis().send().await.unwrap();
    let api = apis
        .items()
        .iter()
        .find(|a| a.name() == Some(plan.api_name.as_str()))
        .expect("the REST API");
    let res = apigw
        .get_resources()
        .rest_api_id(api.id().unwrap())
        .embed("methods")
        .send()
        .await
        .unwrap();
    for route in &plan.routes {
        let r = res
            .items()
            .iter()
            .find(|r| r.path() == Some(route.route.as_str()))
            .unwrap_or_else(|| panic!("no resource {}", route.route));
        assert!(
            r.resource_methods().is_some_and(|m| m.contains_key("POST")),
            "{} has no POST",
            route.route
        );
    }
    // API keys come from a type moto skips: their outputs are absent, not invented.
    let ingest = &doc["stacks"][&plan.stacks[&pipewright::plan::StackId::Ingest]]["outputs"];
    assert!(ingest.get("PosApiKeyId").is_none(), "{ingest}");

    // Data stacks carry a stack policy denying replacement and deletion of their data.
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let storage = &plan.stacks[&pipewright::plan::StackId::Storage];
    let pol = cfn
        .get_stack_policy()
        .stack_name(storage)
        .send()
        .await
        .unwrap();
    let pol: Value = serde_json::from_str(pol.stack_policy_body().unwrap()).unwrap();
    assert_eq!(pol["Statement"][1]["Effect"], "Deny");
    assert!(
        pol["Statement"][1]["Action"]
            .to_string()
            .contains("Update:Replace")
    );

    // 2. Again, unchanged: nothing updated, nothing uploaded.
    let r = deploy(&spec, &["--format", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let doc = results(&outputs);
    for stack in plan.stacks.values() {
        assert_eq!(result_of(&doc, stack), "no-change", "{stack}");
    }
    assert!(
        r.stdout
            .lines()
            .filter(|l| l.contains("\"upload\""))
            .all(|l| l.contains("\"skipped\":true")),
        "{}",
        r.stdout
    );

    // 3. More memory for the function: only the ingest stack changes.
    let dir2 = dir.path().join("changed");
    let spec2 = spec_copy(&dir2, &name, 640);
    let r = deploy(&spec2, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let doc = results(&outputs);
    for (id, stack) in &plan.stacks {
        let want = if *id == pipewright::plan::StackId::Ingest {
            "updated"
        } else {
            "no-change"
        };
        assert_eq!(result_of(&doc, stack), want, "{stack}");
    }
    let f = lambda
        .get_function_configuration()
        .function_name(&plan.function_name)
        .send()
        .await
        .unwrap();
    assert_eq!(f.memory_size(), Some(640));

    // 4. diff of the original spec against what runs now: the ingest function.
    let r = pipewright(
        &[
            "diff",
            spec.to_str().unwrap(),
            "--env",
            "dev",
            "--moto-compat",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let d: Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    for s in d["stacks"].as_array().unwrap() {
        let changes = s["changes"].as_array().unwrap();
        if s["stack"] == plan.stacks[&pipewright::plan::StackId::Ingest].as_str() {
            assert!(
                changes
                    .iter()
                    .any(|c| c["kind"] == "modify" && c["type"] == "AWS::Lambda::Function"),
                "{s}"
            );
        } else {
            assert!(changes.is_empty(), "{s}");
        }
    }

    // 5. destroy: stacks gone, retained buckets stay.
    let r = pipewright(
        &[
            "destroy",
            spec.to_str().unwrap(),
            "--env",
            "dev",
            "--moto-compat",
            "--concurrency",
            "3",
        ],
        dir.path(),
    );
    assert_eq!(r.code, 1, "no terminal and no --yes: refused\n{}", r.stderr);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    detach_managed_policies(&plan, &iam).await;
    let r = pipewright(
        &[
            "destroy",
            spec.to_str().unwrap(),
            "--env",
            "dev",
            "--moto-compat",
            "--yes",
            "--concurrency",
            "3",
        ],
        dir.path(),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for stack in plan.stacks.values() {
        let e = cfn.describe_stacks().stack_name(stack).send().await;
        let gone = match e {
            Err(_) => true,
            Ok(o) => o
                .stacks()
                .iter()
                .all(|s| s.stack_status().map(|x| x.as_str()) == Some("DELETE_COMPLETE")),
        };
        assert!(gone, "{stack} still exists");
    }
    for id in [BucketId::Raw, BucketId::Curated, BucketId::Logs] {
        let b = &plan.buckets[&id].name;
        s3.head_bucket()
            .bucket(b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("retained bucket {b} is gone: {e:?}"));
        assert!(
            r.stderr.contains(b.as_str()),
            "destroy names kept {b}:\n{}",
            r.stderr
        );
    }
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The fleet spec's `test` environment (ap-southeast-2) has a processing template over
/// 51,200 bytes: it is uploaded to the artifacts bucket and deployed by URL.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_template_is_deployed_from_the_artifacts_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let name = format!("pwf{}", std::process::id() % 100_000);
    let text = std::fs::read_to_string(root.join("tests/specs/ok/fleet.yaml"))
        .unwrap()
        .replacen("name: fleet-telematics", &format!("name: {name}"), 1);
    let spec = dir.path().join("fleet.yaml");
    std::fs::write(&spec, text).unwrap();
    let plan = plan_of(&spec, "test");
    let out = pipewright::emit::synth(&plan).unwrap();
    let processing = &out.files[&PathBuf::from("stacks/test/processing.json")];
    assert!(processing.len() > pipewright::emit::TEMPLATE_INLINE_BYTES);
    let key = format!(
        "templates/{}/{}.json",
        plan.stacks[&pipewright::plan::StackId::Processing],
        pipewright::emit::sha256_hex(processing)
    );
    let zip = stand_in_zip(dir.path());
    let args = [
        "deploy",
        spec.to_str().unwrap(),
        "--env",
        "test",
        "--method",
        "direct",
        "--moto-compat",
        "--yes",
        "--format",
        "json",
        "--lambda-zip",
        zip.to_str().unwrap(),
    ];
    let r = pipewright(&args, dir.path());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("\"upload\"") && l.contains(&key)),
        "{}",
        r.stdout
    );
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(plan.region.clone()))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let obj = s3
        .get_object()
        .bucket(&plan.buckets[&BucketId::Artifacts].name)
        .key(&key)
        .send()
        .await
        .expect("the template is in the artifacts bucket");
    let body = obj.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], &processing[..]);
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let s = cfn
        .describe_stacks()
        .stack_name(&plan.stacks[&pipewright::plan::StackId::Processing])
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.stacks()[0].stack_status().map(|x| x.as_str()),
        Some("CREATE_COMPLETE")
    );
    // Unchanged: nothing is updated, the template is not uploaded again.
    let r = pipewright(&args, dir.path());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("\"result\":\"updated\""), "{}", r.stdout);
    assert!(!r.stdout.contains("\"skipped\":false"), "{}", r.stdout);
    // Without --yes, direct deploys of a change are refused (nothing to review).
    let no_yes: Vec<&str> = args.iter().copied().filter(|a| *a != "--yes").collect();
    let changed = std::fs::read_to_string(&spec).unwrap().replacen(
        "raw_retention_days: 14",
        "raw_retention_days: 15",
        1,
    );
    std::fs::write(&spec, changed).unwrap();
    let r = pipewright(&no_yes, dir.path());
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("pass --yes"), "{}", r.stdout);
}

/// The PCI-DSS environment: the replica-region stack goes first (it holds the
/// destinations of the sources' replication rules), every other stack follows, and a
/// second pass gives the replica stack the source keys, which turns the way back on:
/// the return role exists only then. A redeploy reads those keys before it starts, so
/// the replica stack is left as it is.
#[tokio::test(flavor = "multi_thread")]
async fn prod_deploys_the_replica_region_first_and_turns_the_way_back_on_in_a_second_pass() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("pwp{}", std::process::id() % 100_000);
    let spec = spec_copy(dir.path(), &name, 512);
    let plan = plan_of(&spec, "prod");
    let zip = stand_in_zip(dir.path());
    let outputs = dir.path().join("outputs.json");
    let deploy = || {
        pipewright(
            &[
                "deploy",
                spec.to_str().unwrap(),
                "--env",
                "prod",
                "--method",
                "direct",
                "--moto-compat",
                "--yes",
                "--concurrency",
                "2",
                "--lambda-zip",
                zip.to_str().unwrap(),
                "--outputs-file",
                outputs.to_str().unwrap(),
                "--format",
                "json",
            ],
            dir.path(),
        )
    };
    let stack = |id: StackId| plan.stacks[&id].clone();
    let (replica, bootstrap, foundation) = (
        stack(StackId::Replica),
        stack(StackId::Bootstrap),
        stack(StackId::Foundation),
    );

    let r = deploy();
    assert_eq!(r.code, 0, "deploy failed:\n{}\n{}", r.stdout, r.stderr);
    let events: Vec<Value> = r
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let at = |kind: &str, s: &str| -> Vec<usize> {
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| e["event"] == kind && e["stack"] == s)
            .map(|(i, _)| i)
            .collect()
    };
    let replica_starts = at("stack-start", &replica);
    assert_eq!(replica_starts.len(), 2, "two passes:\n{}", r.stdout);
    assert!(at("stack-done", &replica)[0] < at("stack-start", &bootstrap)[0]);
    for s in plan.stacks.values().filter(|s| **s != replica) {
        assert!(
            at("stack-done", s)[0] < replica_starts[1],
            "{s} is done before the second pass"
        );
    }
    let doc = results(&outputs);
    assert_eq!(result_of(&doc, &replica), "created");

    // The replica stack now runs with the keys the later stacks output.
    let conf = sdk().await;
    let rr = plan.replica_region.clone().unwrap();
    let cfn = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&conf)
            .region(Region::new(rr))
            .build(),
    );
    let params = cfn_parameters(&cfn, &replica).await;
    let output = |s: &str, k: &str| doc["stacks"][s]["outputs"][k].as_str().unwrap().to_owned();
    assert_eq!(params["DataKeyArn"], output(&foundation, "DataKeyArn"));
    assert_eq!(
        params["ArtifactsKeyArn"],
        output(&bootstrap, "ArtifactsKeyArn")
    );
    // ... so its conditional return role exists, with its policies attached.
    let role = cfn
        .describe_stack_resources()
        .stack_name(&replica)
        .send()
        .await
        .unwrap()
        .stack_resources()
        .iter()
        .find(|r| r.logical_resource_id() == Some("ReplicaReturnRole"))
        .and_then(|r| r.physical_resource_id().map(str::to_owned))
        .expect("the return role after the second pass");
    let iam = aws_sdk_iam::Client::new(&conf);
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert!(!attached.attached_policies().is_empty(), "{role}");

    // The network stack got the ids of the AWS-managed prefix lists of S3 and DynamoDB,
    // looked up by deploy, for its egress rules.
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let network = stack(StackId::Network);
    let params = cfn_parameters(&aws_sdk_cloudformation::Client::new(&conf), &network).await;
    for svc in ["s3", "dynamodb"] {
        let name = format!("com.amazonaws.{}.{svc}", plan.region);
        let lists = ec2
            .describe_managed_prefix_lists()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("prefix-list-name")
                    .values(&name)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let id = lists.prefix_lists()[0].prefix_list_id().unwrap();
        let param = if svc == "s3" {
            "S3PrefixListId"
        } else {
            "DynamodbPrefixListId"
        };
        assert_eq!(params[param], id, "{name}");
    }
    // (moto 5.2.5 keeps a group's default allow-all egress whatever the template says,
    // so the rules themselves are checked on the template: tests/compliance.rs.)

    // A redeploy passes the keys from the start: the replica stack does not change.
    let r = deploy();
    assert_eq!(r.code, 0, "redeploy failed:\n{}\n{}", r.stdout, r.stderr);
    let doc = results(&outputs);
    for s in plan.stacks.values() {
        assert_eq!(result_of(&doc, s), "no-change", "{s}");
    }
}

/// moto's credentials belong to its own account (123456789012), not the spec's: without
/// `--moto-compat`, deploy refuses before it creates anything, and says why.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_of_another_account_deploy_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("pwa{}", std::process::id() % 100_000);
    let spec = spec_copy(dir.path(), &name, 512);
    let plan = plan_of(&spec, "dev");
    let zip = stand_in_zip(dir.path());
    let r = pipewright(
        &[
            "deploy",
            spec.to_str().unwrap(),
            "--env",
            "dev",
            "--method",
            "direct",
            "--yes",
            "--lambda-zip",
            zip.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("the credentials are for account 123456789012")
            && r.stderr
                .contains(&format!("deploys to account {}", plan.account)),
        "{}",
        r.stderr
    );
    let cfn = aws_sdk_cloudformation::Client::new(&sdk().await);
    let stacks = cfn.list_stacks().send().await.unwrap();
    assert!(
        stacks
            .stack_summaries()
            .iter()
            .all(|s| !s.stack_name().unwrap_or_default().starts_with(&name)),
        "nothing was created"
    );
}

/// `pipewright outputs SPEC --env dev` (moto's account is not the spec's: --moto-compat).
fn outputs_run(spec: &Path, dir: &Path, format: &str) -> Run {
    pipewright(
        &[
            "outputs",
            spec.to_str().unwrap(),
            "--env",
            "dev",
            "--moto-compat",
            "--format",
            format,
        ],
        dir,
    )
}

/// `outputs` (JSON and the table) against CloudFormation's own answer for each stack.
async fn outputs_match_cloudformation(
    spec: &Path,
    dir: &Path,
    plan: &pipewright::plan::Plan,
    conf: &aws_config::SdkConfig,
) {
    let r = outputs_run(spec, dir, "json");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let got: Value = serde_json::from_str(&r.stdout).unwrap();
    let table = outputs_run(spec, dir, "human");
    assert_eq!(table.code, 0, "{}", table.stderr);
    let cfn = aws_sdk_cloudformation::Client::new(conf);
    let mut seen = 0;
    for stack in plan.stacks.values() {
        let d = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let s = &d.stacks()[0];
        let want: serde_json::Map<String, Value> = s
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap().to_owned(),
                    Value::from(o.output_value().unwrap()),
                )
            })
            .collect();
        assert_eq!(
            got["stacks"][stack]["outputs"],
            Value::Object(want.clone()),
            "{stack}"
        );
        assert_eq!(
            got["stacks"][stack]["status"],
            s.stack_status().unwrap().as_str(),
            "{stack}"
        );
        for (k, v) in &want {
            seen += 1;
            let line = table
                .stdout
                .lines()
                .find(|l| {
                    let mut w = l.split_whitespace();
                    w.next() == Some(stack.as_str()) && w.next() == Some(k.as_str())
                })
                .unwrap_or_else(|| panic!("no row for {stack} {k}:\n{}", table.stdout));
            assert!(line.ends_with(v.as_str().unwrap()), "{line}");
        }
    }
    assert!(seen > 0, "moto gave no outputs at all: {got}");
    assert_eq!(got["environment"], "dev");
}
