//! The access model against the templates (#15): every grant in every synthesised
//! template — each statement of a bucket, key, topic, queue, trust or managed policy,
//! each permissions boundary, Lambda permission, API method's authorization, usage
//! plan and QuickSight permission — is found in the model, read here from the template
//! JSON alone; and a resource that could hold a grant the walk does not know fails the
//! test, so a new kind of grant cannot slip past the model.

use std::collections::{BTreeMap, BTreeSet};

use pipewright::plan::Plan;
use pipewright::review::access::{self, Entry, GrantKind, Model};
use pipewright::review::norm;
use serde_json::Value;

mod specs_common;
use specs_common::plans;

/// A template string: a literal, or the text of an `Fn::Sub`.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => match o.get("Fn::Sub") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_owned),
            _ => None,
        },
        _ => None,
    }
}

fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(text).collect(),
        Some(other) => text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A statement with intrinsic strings replaced by their text.
fn plain(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(plain).collect()),
        Value::Object(o) if o.contains_key("Fn::Sub") => Value::String(text(v).unwrap()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), plain(x))).collect()),
        other => other.clone(),
    }
}

/// The `Properties.<prop>` of the resource a `{"Ref": ...}` points at.
fn ref_prop(resources: &serde_json::Map<String, Value>, r: &Value, prop: &str) -> String {
    if let Some(s) = r.as_str() {
        return s.to_owned();
    }
    let target = r["Ref"].as_str().expect("a Ref");
    resources[target]["Properties"][prop]
        .as_str()
        .unwrap_or_else(|| panic!("{target}.{prop} is not literal"))
        .to_owned()
}

/// Whether the model holds this statement's grant for `principal` (every action and
/// resource, the same conditions and effect).
fn holds(m: &Model, grant: GrantKind, on: &str, principal: &str, st: &Value) -> bool {
    let actions: BTreeSet<String> = texts(st.get("Action"))
        .iter()
        .map(|a| a.to_ascii_lowercase())
        .collect();
    let resources: BTreeSet<String> = texts(st.get("Resource")).into_iter().collect();
    let conds = norm::conditions(st.get("Condition"), "template").unwrap();
    let effect = st["Effect"].as_str().unwrap();
    m.entries.iter().any(|e| {
        e.grant == grant
            && e.on == on
            && e.principal == principal
            && e.effect == effect
            && actions.iter().all(|a| e.actions.contains(a))
            && (grant == GrantKind::TrustPolicy
                || resources.iter().all(|r| e.resources.contains(r)))
            && e.conds() == conds
    })
}

/// Checks every statement of a policy document; returns how many (statement,
/// principal) pairs it checked.
fn check_doc(
    m: &Model,
    grant: GrantKind,
    on: &str,
    doc: &Value,
    role: Option<&str>,
    at: &str,
) -> usize {
    let doc = plain(doc);
    let mut n = 0;
    for st in doc["Statement"].as_array().unwrap() {
        let who = match role {
            Some(r) => vec![format!("Role:{r}")],
            None => access::principals(st),
        };
        assert!(
            !who.is_empty(),
            "{at}: a statement without a principal: {st}"
        );
        for p in who {
            assert!(
                holds(m, grant, on, &p, st),
                "{at}: the access model lacks this {} statement of `{on}` for {p}: {st}",
                grant.as_str()
            );
            n += 1;
        }
    }
    n
}

fn find<'a>(m: &'a Model, grant: GrantKind, on: &str, principal: &str) -> Option<&'a Entry> {
    m.entries
        .iter()
        .find(|e| e.grant == grant && e.on == on && e.principal == principal)
}

/// Properties that hold a grant; a resource type not handled below with one of them
/// fails the test.
const GRANT_PROPERTIES: &[&str] = &[
    "PolicyDocument",
    "KeyPolicy",
    "Policies",
    "AssumeRolePolicyDocument",
    "Permissions",
    "ResourcePolicy",
    "Policy",
    "PermissionsBoundary",
];

#[allow(clippy::too_many_lines)]
fn check_template(plan: &Plan, m: &Model, t: &Value, at: &str) -> BTreeMap<GrantKind, usize> {
    let mut seen: BTreeMap<GrantKind, usize> = BTreeMap::new();
    let empty = serde_json::Map::new();
    let resources = t["Resources"].as_object().unwrap_or(&empty);
    let aliases: BTreeMap<String, String> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::KMS::Alias")
        .map(|r| {
            let p = &r["Properties"];
            (
                p["TargetKeyId"]["Ref"].as_str().unwrap().to_owned(),
                p["AliasName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let role_name = |lid: &str| -> String {
        resources[lid]["Properties"]["Path"]
            .as_str()
            .unwrap()
            .trim_matches('/')
            .to_owned()
    };
    for (lid, r) in resources {
        let p = &r["Properties"];
        let at = format!("{at}: {lid}");
        let ty = r["Type"].as_str().unwrap();
        let mut count = |g: GrantKind, n: usize| *seen.entry(g).or_default() += n;
        match ty {
            "AWS::S3::BucketPolicy" => {
                let on = ref_prop(resources, &p["Bucket"], "BucketName");
                let n = check_doc(
                    m,
                    GrantKind::BucketPolicy,
                    &on,
                    &p["PolicyDocument"],
                    None,
                    &at,
                );
                count(GrantKind::BucketPolicy, n);
            }
            "AWS::KMS::Key" => {
                let on = &aliases[lid];
                let n = check_doc(m, GrantKind::KeyPolicy, on, &p["KeyPolicy"], None, &at);
                count(GrantKind::KeyPolicy, n);
            }
            "AWS::SNS::TopicPolicy" => {
                let on = ref_prop(resources, &p["Topics"][0], "TopicName");
                let n = check_doc(
                    m,
                    GrantKind::TopicPolicy,
                    &on,
                    &p["PolicyDocument"],
                    None,
                    &at,
                );
                count(GrantKind::TopicPolicy, n);
            }
            "AWS::SQS::QueuePolicy" => {
                let on = ref_prop(resources, &p["Queues"][0], "QueueName");
                let n = check_doc(
                    m,
                    GrantKind::QueuePolicy,
                    &on,
                    &p["PolicyDocument"],
                    None,
                    &at,
                );
                count(GrantKind::QueuePolicy, n);
            }
            "AWS::IAM::Role" => {
                let on = role_name(lid);
                let doc = &p["AssumeRolePolicyDocument"];
                let n = check_doc(m, GrantKind::TrustPolicy, &on, doc, None, &at);
                count(GrantKind::TrustPolicy, n);
                if let Some(b) = p.get("PermissionsBoundary").and_then(text) {
                    let e = find(
                        m,
                        GrantKind::PermissionsBoundary,
                        &on,
                        &format!("Role:{on}"),
                    );
                    assert!(
                        e.is_some_and(|e| e.resources == [b.clone()]),
                        "{at}: boundary {b} not in the model"
                    );
                    count(GrantKind::PermissionsBoundary, 1);
                }
            }
            "AWS::IAM::ManagedPolicy" => {
                let role = p["Roles"][0]["Ref"].as_str().unwrap();
                let on = role_name(role);
                let n = check_doc(
                    m,
                    GrantKind::RolePolicy,
                    &on,
                    &p["PolicyDocument"],
                    Some(&on),
                    &at,
                );
                count(GrantKind::RolePolicy, n);
            }
            "AWS::Lambda::Permission" => {
                let on = p["FunctionName"].as_str().unwrap();
                let st = serde_json::json!({
                    "Effect": "Allow",
                    "Action": p["Action"],
                    "Resource": format!("arn:{}:lambda:{}:{}:function:{on}", plan.partition, plan.region, plan.account),
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": p["SourceAccount"]},
                        "ArnLike": {"aws:SourceArn": text(&p["SourceArn"]).unwrap()},
                    },
                });
                let who = format!("Service:{}", p["Principal"].as_str().unwrap());
                assert!(
                    holds(m, GrantKind::LambdaPermission, on, &who, &st),
                    "{at}: Lambda permission not in the model: {p}"
                );
                count(GrantKind::LambdaPermission, 1);
            }
            "AWS::ApiGateway::Method" => {
                let op = p["OperationName"].as_str().unwrap();
                let route = plan
                    .routes
                    .iter()
                    .find(|r| pipewright::emit::cfn::logical_id(&["ingest", &r.source]) == op)
                    .unwrap_or_else(|| panic!("{at}: no route for {op}"));
                let on = format!("{} {}", p["HttpMethod"].as_str().unwrap(), route.route);
                // API Gateway's AWS_IAM without a resource policy admits the IAM principals
                // of the API's account; NONE admits anyone. ApiKeyRequired adds the key.
                let who = match p["AuthorizationType"].as_str().unwrap() {
                    "AWS_IAM" => format!("AWS:arn:{}:iam::{}:root", plan.partition, plan.account),
                    "NONE" => "*".to_owned(),
                    other => panic!("{at}: authorization {other} is not in the access model"),
                };
                let e = find(m, GrantKind::ApiMethod, &on, &who)
                    .unwrap_or_else(|| panic!("{at}: {on} for {who} not in the model"));
                let keyed = p["ApiKeyRequired"].as_bool().unwrap();
                assert_eq!(
                    e.conditions.contains_key("ApiGateway"),
                    keyed,
                    "{at}: API key requirement of {on}"
                );
                count(GrantKind::ApiMethod, 1);
            }
            "AWS::ApiGateway::UsagePlan" => {
                let on = p["UsagePlanName"].as_str().unwrap();
                for stage in p["ApiStages"].as_array().unwrap() {
                    for method in stage["Throttle"].as_object().unwrap().keys() {
                        let (route, verb) = method.rsplit_once('/').unwrap();
                        let suffix = format!("/{verb}{route}");
                        let ok = m.entries.iter().any(|e| {
                            e.grant == GrantKind::UsagePlan
                                && e.on == on
                                && e.resources.iter().any(|r| r.ends_with(&suffix))
                        });
                        assert!(ok, "{at}: usage plan {on} for {method} not in the model");
                    }
                }
                count(GrantKind::UsagePlan, 1);
            }
            "AWS::QuickSight::DataSource"
            | "AWS::QuickSight::DataSet"
            | "AWS::QuickSight::Analysis"
            | "AWS::QuickSight::Dashboard" => {
                let (grant, id) = match ty {
                    "AWS::QuickSight::DataSource" => {
                        (GrantKind::QuicksightDataSource, "DataSourceId")
                    }
                    "AWS::QuickSight::DataSet" => (GrantKind::QuicksightDataSet, "DataSetId"),
                    "AWS::QuickSight::Analysis" => (GrantKind::QuicksightAnalysis, "AnalysisId"),
                    _ => (GrantKind::QuicksightDashboard, "DashboardId"),
                };
                let on = p[id].as_str().unwrap();
                for perm in p["Permissions"].as_array().unwrap() {
                    let who = format!("QuickSight:{}", perm["Principal"].as_str().unwrap());
                    let e = find(m, grant, on, &who)
                        .unwrap_or_else(|| panic!("{at}: {who} on {on} not in the model"));
                    let actions: Vec<String> = texts(perm.get("Actions"))
                        .iter()
                        .map(|a| a.to_ascii_lowercase())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    assert_eq!(e.actions, actions, "{at}: actions of {who} on {on}");
                    count(grant, 1);
                }
            }
            _ => {
                let holder = GRANT_PROPERTIES.iter().find(|k| p.get(**k).is_some());
                assert!(
                    holder.is_none()
                        && !ty.contains("Policy")
                        && !ty.contains("Permission")
                        && !ty.starts_with("AWS::LakeFormation"),
                    "{at}: {ty} holds a grant ({holder:?}) that the access model does not read"
                );
            }
        }
    }
    seen
}

#[test]
fn every_grant_of_every_template_is_in_the_access_model() {
    for plan in plans() {
        let m = access::model(&plan);
        let out = pipewright::emit::synth(&plan).unwrap();
        let mut seen: BTreeMap<GrantKind, usize> = BTreeMap::new();
        for (path, bytes) in &out.files {
            if !path.starts_with("stacks") || path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let t: Value = serde_json::from_slice(bytes).unwrap();
            let at = format!("{} {}", plan.env, path.display());
            for (g, n) in check_template(&plan, &m, &t, &at) {
                *seen.entry(g).or_default() += n;
            }
        }
        // And the other way: the model holds no statement the templates lack.
        for g in [
            GrantKind::BucketPolicy,
            GrantKind::KeyPolicy,
            GrantKind::TopicPolicy,
            GrantKind::QueuePolicy,
            GrantKind::TrustPolicy,
            GrantKind::LambdaPermission,
            GrantKind::ApiMethod,
            GrantKind::UsagePlan,
            GrantKind::QuicksightDataSource,
            GrantKind::QuicksightDataSet,
            GrantKind::QuicksightAnalysis,
            GrantKind::QuicksightDashboard,
            GrantKind::PermissionsBoundary,
        ] {
            let in_model = m.entries.iter().filter(|e| e.grant == g).count();
            assert_eq!(
                seen.get(&g).copied().unwrap_or(0),
                in_model,
                "{} {}: templates and model disagree on how many grants",
                plan.pipeline,
                plan.env
            );
        }
        assert!(seen[&GrantKind::BucketPolicy] > 0 && seen[&GrantKind::KeyPolicy] > 0);
    }
}

#[test]
fn the_model_is_deterministic_and_round_trips() {
    for plan in plans() {
        let a = access::model(&plan).to_json();
        assert_eq!(a, access::model(&plan).to_json());
        let back = Model::from_json(&a, "access.json").unwrap();
        assert_eq!(back.to_json(), a);
        assert!(a.ends_with("}\n"));
    }
}
