//! The ingest release: the API's deployment (a new one whenever the API's shape
//! changes: its id hashes the methods), the stage (access logs, tracing, the methods'
//! settings and, under PCI-DSS, the encrypted cache), usage plans and keys of keyed
//! sources, and the API's alarm. In the core stack, or its own stack when routes split.
//! Not the routes themselves (`routes`).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::super::Ctx;
use super::alarm;
use super::routes::Methods;
use crate::emit::cfn::{Expr, Resource, Template, logical_id, obj};
use crate::plan::{RoutePlan, StackId};
use crate::spec::model::QuotaPeriod;

/// The smallest API Gateway cache cluster, in GB (priced by `cost`).
pub const API_CACHE_CLUSTER_SIZE: &str = "0.5";

/// The stage-wide method setting of the PCI-DSS posture: cache on and encrypted. API Gateway
/// applies stage caching to GET methods only; other methods cache only through an override.
fn api_cache_stage_setting() -> Expr {
    obj([
        ("ResourcePath", Expr::s("/*")),
        ("HttpMethod", "*".into()),
        ("CachingEnabled", true.into()),
        ("CacheDataEncrypted", true.into()),
        ("MetricsEnabled", true.into()),
        ("DataTraceEnabled", false.into()),
        ("LoggingLevel", "ERROR".into()),
    ])
}

fn quota_period(p: QuotaPeriod) -> &'static str {
    match p {
        QuotaPeriod::Day => "DAY",
        QuotaPeriod::Week => "WEEK",
        QuotaPeriod::Month => "MONTH",
    }
}

/// The API's id from a slot: `Ref` inside core, an import elsewhere.
fn api(cx: &Ctx<'_>, slot: usize) -> Expr {
    if slot == 0 {
        Expr::r("Api")
    } else {
        cx.import(StackId::Ingest, "ApiId")
    }
}

/// The deployment, named after a hash of the methods' shapes, after the methods of its
/// own stack; returns its logical id.
fn deployment(cx: &Ctx<'_>, t: &mut Template, slot: usize, methods: &Methods) -> String {
    let digest = Sha256::digest(methods.shapes.concat().as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let dep_lid = format!("ApiDeployment{hash}");
    let mut dep = Resource::new("AWS::ApiGateway::Deployment")
        .p("RestApiId", api(cx, slot))
        .p("Description", Expr::s(format!("API shape {hash}")));
    for (s, m) in &methods.ids {
        if *s == slot {
            dep = dep.depends(m);
        }
    }
    t.add(&dep_lid, dep);
    dep_lid
}

/// The stage: the deployment, access logs, tracing and the methods' settings.
fn stage(cx: &Ctx<'_>, t: &mut Template, slot: usize, dep_lid: &str, method_settings: Vec<Expr>) {
    let p = cx.plan;
    let mut stage = Resource::new("AWS::ApiGateway::Stage")
        .p("RestApiId", api(cx, slot))
        .p("StageName", Expr::s(&p.stage))
        .p("DeploymentId", Expr::r(dep_lid))
        .p("TracingEnabled", true)
        .p(
            "AccessLogSetting",
            obj([
                ("DestinationArn", Expr::s(cx.arn("logs", &format!("log-group:{}", p.api_log_group)))),
                (
                    "Format",
                    Expr::s(r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","apiKeyId":"$context.identity.apiKeyId","time":"$context.requestTime","method":"$context.httpMethod","path":"$context.resourcePath","status":"$context.status","bytes":"$context.responseLength","latencyMs":"$context.responseLatency","error":"$context.error.message"}"#),
                ),
            ]),
        )
        .p("Tags", cx.tags());
    if p.pci() {
        // PCI-DSS posture: an encrypted cache cluster of the smallest size. API Gateway caches
        // only GET methods by default (the route overrides above keep every POST uncached).
        let mut all = vec![api_cache_stage_setting()];
        all.extend(method_settings);
        stage = stage
            .p("CacheClusterEnabled", true)
            .p("CacheClusterSize", API_CACHE_CLUSTER_SIZE)
            .p("MethodSettings", Expr::List(all));
    } else {
        stage = stage.p("MethodSettings", Expr::List(method_settings)).skip_check(
            "CKV_AWS_120",
            "no compliance posture: the POST-only ingestion API caches nothing, so no cache cluster is paid for",
        );
    }
    if slot == 0 {
        stage = stage
            .depends("ApiGatewayAccount")
            .depends("ApiAccessLogGroup")
            .depends("ApiExecutionLogGroup");
    }
    t.add("ApiStage", stage);
}

/// A keyed source's usage plan (its throttle and quota), API key and their link.
fn usage_plan(cx: &Ctx<'_>, t: &mut Template, slot: usize, r: &RoutePlan) {
    let p = cx.plan;
    let plan_lid = logical_id(&[&r.source, "usage", "plan"]);
    let key_lid = logical_id(&[&r.source, "api", "key"]);
    let mut up = Resource::new("AWS::ApiGateway::UsagePlan")
        .p(
            "UsagePlanName",
            Expr::s(format!("{}-{}-{}", p.pipeline, p.env, r.source)),
        )
        .p(
            "Description",
            Expr::s(format!("Devices of source `{}`", r.source)),
        )
        .p(
            "ApiStages",
            Expr::list([obj([
                ("ApiId", api(cx, slot)),
                ("Stage", Expr::r("ApiStage")),
                (
                    "Throttle",
                    Expr::Map(BTreeMap::from([(
                        format!("{}/POST", r.route),
                        obj([
                            ("RateLimit", Expr::Float(r.rate_limit)),
                            ("BurstLimit", Expr::Int(i64::from(r.burst_limit))),
                        ]),
                    )])),
                ),
            ])]),
        )
        .p(
            "Throttle",
            obj([
                ("RateLimit", Expr::Float(r.rate_limit)),
                ("BurstLimit", Expr::Int(i64::from(r.burst_limit))),
            ]),
        )
        .p("Tags", cx.tags());
    if let Some((limit, period)) = r.quota {
        up = up.p(
            "Quota",
            obj([
                ("Limit", Expr::Int(i64::from(limit))),
                ("Period", Expr::s(quota_period(period))),
            ]),
        );
    }
    t.add(&plan_lid, up);
    t.add(
        &key_lid,
        // CloudFormation names the key; its id is an output, and devices need only
        // its value.
        Resource::new("AWS::ApiGateway::ApiKey")
            .p(
                "Description",
                Expr::s(format!(
                    "{}-{}: API key for `{}` devices",
                    p.pipeline, p.env, r.source
                )),
            )
            .p("Enabled", true)
            .p("Tags", cx.tags()),
    );
    t.add(
        &logical_id(&[&r.source, "usage", "plan", "key"]),
        Resource::new("AWS::ApiGateway::UsagePlanKey")
            .p("KeyId", Expr::r(&key_lid))
            .p("KeyType", "API_KEY")
            .p("UsagePlanId", Expr::r(&plan_lid)),
    );
    t.output(&logical_id(&[&r.source, "api", "key", "id"]), &format!("API key id for `{}` devices (read the value with `aws apigateway get-api-key --include-value`)", r.source), Expr::r(&key_lid), None);
}

/// The deployment, stage, usage plans and the API's alarm, in `t` (the template of
/// `slot`).
pub(super) fn add(cx: &Ctx<'_>, t: &mut Template, slot: usize, methods: Methods) {
    let p = cx.plan;
    let dep_lid = deployment(cx, t, slot, &methods);
    stage(cx, t, slot, &dep_lid, methods.settings);
    for r in p.routes.iter().filter(|r| r.auth.keyed()) {
        usage_plan(cx, t, slot, r);
    }
    t.add(
        "Api5xxAlarm",
        alarm(
            cx,
            "AWS/ApiGateway",
            "5XXError",
            Expr::list([
                obj([("Name", "ApiName".into()), ("Value", Expr::s(&p.api_name))]),
                obj([("Name", "Stage".into()), ("Value", Expr::s(&p.stage))]),
            ]),
            "Sum",
            5,
            "The ingest API returned server errors",
        ),
    );
}
