//! The API's routes: the path resources (shared parents in the core stack), and per
//! source its request model, `POST` method, the function's invoke permission and its
//! stage method setting. Not the API itself (`core`) nor its deployment (`release`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::super::Ctx;
use crate::emit::cfn::{Expr, Resource, Template, logical_id, obj};
use crate::plan::{Plan, RoutePlan, StackId};
use crate::spec::model::Auth;

/// What the routes leave for the release: each method's shape (hashed into the
/// deployment's id), the slot and logical id of each method, and the stage's
/// per-method settings.
#[derive(Default)]
pub(super) struct Methods {
    pub(super) shapes: Vec<String>,
    pub(super) ids: Vec<(usize, String)>,
    pub(super) settings: Vec<Expr>,
}

/// A reference to a core resource from a slot: `Ref` inside core, an import elsewhere.
fn core_ref(cx: &Ctx<'_>, slot: usize, lid: &str, export: &str) -> Expr {
    if slot == 0 {
        Expr::r(lid)
    } else {
        cx.import(StackId::Ingest, export)
    }
}

fn path_lid(path: &str) -> String {
    format!(
        "ApiPath{}",
        logical_id(&path.split('/').collect::<Vec<_>>())
    )
}

/// Paths that are a proper prefix of some route: they live in core (shared parents).
fn shared_paths(p: &Plan) -> BTreeSet<String> {
    let mut shared = BTreeSet::new();
    for r in &p.routes {
        let segs: Vec<&str> = r.route.trim_start_matches('/').split('/').collect();
        for n in 1..segs.len() {
            shared.insert(format!("/{}", segs[..n].join("/")));
        }
    }
    shared
}

/// The routes of every group, each in its group's slot (core when not split).
pub(super) fn add(cx: &Ctx<'_>, parts: &mut [(StackId, Template)], split: bool) -> Methods {
    let p = cx.plan;
    let shared = shared_paths(p);
    let mut created = BTreeSet::new();
    let mut methods = Methods::default();
    for (g, group) in p.route_groups.iter().enumerate() {
        let slot = if split { 1 + g } else { 0 };
        for &ri in group {
            let r = &p.routes[ri];
            path_resources(cx, parts, &shared, &mut created, r, slot, split);
            let route_res = if shared.contains(&r.route) {
                core_ref(
                    cx,
                    slot,
                    &path_lid(&r.route),
                    &format!("{}Id", path_lid(&r.route)),
                )
            } else {
                Expr::r(path_lid(&r.route))
            };
            let t = &mut parts[slot].1;
            let model_lid = logical_id(&[&r.source, "envelope", "model"]);
            t.add(&model_lid, model(cx, r, slot));
            let method_lid = logical_id(&[&r.source, "post", "method"]);
            let method = method(cx, r, slot, route_res, &model_lid);
            methods
                .shapes
                .push(serde_json::to_string(&method.properties).unwrap_or_default());
            t.add(&method_lid, method);
            t.add(
                &logical_id(&[&r.source, "invoke", "permission"]),
                permission(cx, r, slot),
            );
            methods.ids.push((slot, method_lid));
            // In the PCI-DSS posture a route with a key is throttled by its usage plan, per key
            // and per method, with the same limits; a stage override here would have to state
            // `CachingEnabled: false` and so break the stage-wide encrypted-cache setting (which
            // is why `check` admits only `iam_and_api_key` there). Routes without a key (iam,
            // none) have no usage plan and keep their override.
            if p.pci() && r.auth.keyed() {
                continue;
            }
            methods.settings.push(method_setting(r));
        }
    }
    methods
}

/// The path resources of a route not created yet: shared parents in core (exported
/// when split), the rest in the route's slot.
fn path_resources(
    cx: &Ctx<'_>,
    parts: &mut [(StackId, Template)],
    shared: &BTreeSet<String>,
    created: &mut BTreeSet<String>,
    r: &RoutePlan,
    slot: usize,
    split: bool,
) {
    let segs: Vec<&str> = r.route.trim_start_matches('/').split('/').collect();
    let mut parent_path = String::new();
    for (k, seg) in segs.iter().enumerate() {
        let path = format!("/{}", segs[..=k].join("/"));
        let lid = path_lid(&path);
        let in_core = shared.contains(&path);
        let home = if in_core { 0 } else { slot };
        if created.insert(path.clone()) {
            let parent = if parent_path.is_empty() {
                if home == 0 {
                    Expr::att("Api", "RootResourceId")
                } else {
                    cx.import(StackId::Ingest, "ApiRootResourceId")
                }
            } else {
                core_ref(
                    cx,
                    home,
                    &path_lid(&parent_path),
                    &format!("{}Id", path_lid(&parent_path)),
                )
            };
            parts[home].1.add(
                &lid,
                Resource::new("AWS::ApiGateway::Resource")
                    .p("RestApiId", core_ref(cx, home, "Api", "ApiId"))
                    .p("ParentId", parent)
                    .p("PathPart", Expr::s(*seg)),
            );
            if in_core && split {
                cx.export(
                    &mut parts[0].1,
                    StackId::Ingest,
                    &format!("{lid}Id"),
                    &format!("API resource {path}"),
                    Expr::r(&lid),
                );
            }
        }
        parent_path = path;
    }
}

/// The request model: an envelope of one event object or a bounded list of them.
fn model(cx: &Ctx<'_>, r: &RoutePlan, slot: usize) -> Resource {
    Resource::new("AWS::ApiGateway::Model")
        .p("RestApiId", core_ref(cx, slot, "Api", "ApiId"))
        .p("Name", Expr::s(logical_id(&[&r.source, "envelope"])))
        .p("ContentType", "application/json")
        .p(
            "Description",
            Expr::s(format!(
                "`{}` requests: one event object or a list of at most {} (each event is validated by the function, which keeps rejects)",
                r.source, r.max_events
            )),
        )
        .p(
            "Schema",
            Expr::Json(json!({
                "$schema": "http://json-schema.org/draft-04/schema#",
                "title": format!("{} batch", r.source),
                "oneOf": [
                    {"type": "object"},
                    {"type": "array", "minItems": 1, "maxItems": r.max_events, "items": {"type": "object"}}
                ]
            })),
        )
}

/// The route's `POST` method: its auth, body validation, and the function as proxy.
fn method(cx: &Ctx<'_>, r: &RoutePlan, slot: usize, route_res: Expr, model_lid: &str) -> Resource {
    let p = cx.plan;
    let fn_arn = cx.arn("lambda", &format!("function:{}", p.function_name));
    let mut method = Resource::new("AWS::ApiGateway::Method")
        .p("RestApiId", core_ref(cx, slot, "Api", "ApiId"))
        .p("ResourceId", route_res)
        .p("HttpMethod", "POST")
        .p("AuthorizationType", if r.auth.signed() { "AWS_IAM" } else { "NONE" })
        .p("ApiKeyRequired", r.auth.keyed())
        .p("OperationName", Expr::s(logical_id(&["ingest", &r.source])))
        .p("RequestValidatorId", core_ref(cx, slot, "ApiBodyValidator", "ApiBodyValidatorId"))
        .p("RequestModels", obj([("application/json", Expr::r(model_lid))]))
        .p(
            "Integration",
            obj([
                ("Type", "AWS_PROXY".into()),
                ("IntegrationHttpMethod", "POST".into()),
                (
                    "Uri",
                    Expr::s(format!(
                        "arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{fn_arn}/invocations",
                        p.partition, p.region
                    )),
                ),
                ("TimeoutInMillis", Expr::Int(29_000)),
            ]),
        );
    if slot == 0 {
        method = method.depends("IngestFunction");
    }
    if r.auth == Auth::None {
        method = method.skip_check(
            "CKV_AWS_59",
            &format!(
                "the spec declares `auth: none` for source `{}` (warned by `pipewright check` as PW0900)",
                r.source
            ),
        );
    }
    method
}

/// API Gateway's permission to invoke the function for this route.
fn permission(cx: &Ctx<'_>, r: &RoutePlan, slot: usize) -> Resource {
    let p = cx.plan;
    let api_id = if slot == 0 {
        BTreeMap::new()
    } else {
        BTreeMap::from([("Api".to_owned(), cx.import(StackId::Ingest, "ApiId"))])
    };
    let mut permission = Resource::new("AWS::Lambda::Permission")
        .p("FunctionName", Expr::s(&p.function_name))
        .p("Action", "lambda:InvokeFunction")
        .p(
            "Principal",
            Expr::s(crate::aws::principal("apigateway", &p.region)),
        )
        .p("SourceAccount", Expr::s(&p.account))
        .p(
            "SourceArn",
            Expr::Sub(
                format!(
                    "arn:{}:execute-api:{}:{}:${{Api}}/*/POST{}",
                    p.partition, p.region, p.account, r.route
                ),
                api_id,
            ),
        );
    if slot == 0 {
        permission = permission.depends("IngestFunction");
    }
    permission
}

/// A route as a stage's method settings name it: a `/`, then the path with every `/`
/// written `~1` (the Stage resource's `MethodSetting.ResourcePath`: `/resource/subresource`
/// is `/~1resource~1subresource`), and so `~` as `~0`, as in a JSON Pointer. The root is `/`.
pub(crate) fn method_setting_path(route: &str) -> String {
    if route == "/" {
        return "/".to_owned();
    }
    format!("/{}", route.replace('~', "~0").replace('/', "~1"))
}

/// The stage's setting for this route's method: its throttle, metrics, error logs, no
/// cache.
fn method_setting(r: &RoutePlan) -> Expr {
    obj([
        ("ResourcePath", Expr::s(method_setting_path(&r.route))),
        ("HttpMethod", "POST".into()),
        ("ThrottlingRateLimit", Expr::Float(r.rate_limit)),
        ("ThrottlingBurstLimit", Expr::Int(i64::from(r.burst_limit))),
        ("MetricsEnabled", true.into()),
        ("DataTraceEnabled", false.into()),
        // Execution logs of failures only (never request bodies: data tracing is off).
        ("LoggingLevel", "ERROR".into()),
        // Every POST stores a batch of events: a cached answer would drop the next
        // batch. Stated, so this override never inherits the stage-wide cache setting.
        ("CachingEnabled", false.into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::method_setting_path;

    #[test]
    fn method_setting_paths_are_encoded_as_api_gateway_documents() {
        // The example of the AWS::ApiGateway::Stage MethodSetting reference.
        assert_eq!(
            method_setting_path("/resource/subresource"),
            "/~1resource~1subresource"
        );
        assert_eq!(method_setting_path("/v1/pos/sales"), "/~1v1~1pos~1sales");
        assert_eq!(method_setting_path("/"), "/");
        assert_eq!(method_setting_path("/a~b"), "/~1a~0b");
    }
}
