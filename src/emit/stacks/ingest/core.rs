//! The ingest core stack: the function (its code parameter, role, environment, VPC
//! placement), its log groups and dead-letter queue, the REST API with its body
//! validator and logging role, and the function's alarms. Not the routes (`routes`)
//! nor the stage (`release`).

use std::collections::BTreeMap;

use super::super::Ctx;
use super::alarm;
use crate::emit::cfn::{Expr, Parameter, Resource, Template, obj};
use crate::plan::{BucketId, StackId};

/// The function's and the API's log groups (API Gateway names its execution log group
/// after the API id; creating it here gives it the key and retention every other group
/// has).
fn log_groups(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    t.add("IngestLogGroup", cx.log_group(&p.function_log_group));
    t.add("ApiAccessLogGroup", cx.log_group(&p.api_log_group));
    t.add(
        "ApiExecutionLogGroup",
        cx.log_group_named(Expr::Sub(
            format!(
                "{}${{Api}}/{}",
                crate::plan::API_EXECUTION_LOG_PREFIX,
                p.stage
            ),
            BTreeMap::new(),
        )),
    );
}

/// The function's dead-letter queue, encrypted with the data key, TLS-only.
fn dead_letter_queue(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    t.add(
        "DeadLetterQueue",
        Resource::new("AWS::SQS::Queue")
            .p("QueueName", Expr::s(&p.dlq_name))
            .p(
                "KmsMasterKeyId",
                cx.import(StackId::Foundation, "DataKeyArn"),
            )
            .p("MessageRetentionPeriod", Expr::Int(1_209_600))
            .p("Tags", cx.tags()),
    );
    t.add(
        "DeadLetterQueuePolicy",
        Resource::new("AWS::SQS::QueuePolicy")
            .p("Queues", Expr::list([Expr::r("DeadLetterQueue")]))
            .p(
                "PolicyDocument",
                Expr::Json(crate::emit::resource_policy::document(
                    &crate::emit::resource_policy::queue_policy(p),
                )),
            ),
    );
}

/// The function: its code (a zip whose key deploy passes), environment, role (after its
/// policies), dead-letter queue and logs, and its place in the VPC when there is one.
fn function(cx: &Ctx<'_>, t: &mut Template, role: &str) {
    let p = cx.plan;
    let env_vars = obj([
        (
            pipewright_ingest_config::env::RAW_BUCKET,
            Expr::s(cx.bucket_name(BucketId::Raw)),
        ),
        (
            pipewright_ingest_config::env::INDEX_TABLE,
            cx.import(StackId::Storage, "IndexTableName"),
        ),
        (
            pipewright_ingest_config::env::KMS_KEY_ARN,
            cx.import(StackId::Foundation, "DataKeyArn"),
        ),
    ]);
    let mut function = Resource::new("AWS::Lambda::Function")
        .p("FunctionName", Expr::s(&p.function_name))
        .p("Description", Expr::s("pipewright ingest: validates device events and stores them in the raw bucket and the index"))
        .p("Runtime", "provided.al2023")
        .p("Handler", "bootstrap")
        .p("Architectures", Expr::strs([p.architecture.as_str()]))
        .p("MemorySize", Expr::Int(i64::from(p.memory_mb)))
        .p("Timeout", Expr::Int(i64::from(p.timeout_seconds)))
        .p("Role", Expr::att(role, "Arn"))
        .p(
            "Code",
            obj([("S3Bucket", Expr::s(cx.bucket_name(BucketId::Artifacts))), ("S3Key", Expr::r("IngestCodeKey"))]),
        )
        .p("Environment", obj([("Variables", env_vars)]))
        .p("KmsKeyArn", cx.import(StackId::Foundation, "DataKeyArn"))
        .p("DeadLetterConfig", obj([("TargetArn", Expr::att("DeadLetterQueue", "Arn"))]))
        .p("LoggingConfig", obj([("LogFormat", "JSON".into()), ("LogGroup", Expr::r("IngestLogGroup"))]))
        .p_opt("ReservedConcurrentExecutions", p.reserved_concurrency.map(|r| Expr::Int(i64::from(r))))
        .p("Tags", cx.tags());
    for lid in t
        .resources
        .keys()
        .filter(|k| k.starts_with("IngestPolicy"))
        .cloned()
        .collect::<Vec<_>>()
    {
        function = function.depends(&lid);
    }
    if let Some(n) = &p.network {
        function = function.p(
            "VpcConfig",
            obj([
                (
                    "SecurityGroupIds",
                    Expr::list([cx.import(StackId::Network, "WorkloadSecurityGroup")]),
                ),
                (
                    "SubnetIds",
                    Expr::list(
                        (1..=n.subnets.len())
                            .map(|i| cx.import(StackId::Network, &format!("PrivateSubnet{i}"))),
                    ),
                ),
            ]),
        );
    }
    if p.network.is_none() {
        function = function.skip_check(
            "CKV_AWS_117",
            &format!(
                "environment `{}` opts out of the VPC posture (`compliance: []`, warned by `pipewright check` as PW0901)",
                p.env
            ),
        );
    }
    t.add("IngestFunction", function);
}

/// The REST API, its body validator and the account's logging role.
fn api(cx: &Ctx<'_>, t: &mut Template) {
    let p = cx.plan;
    t.add(
        "Api",
        Resource::new("AWS::ApiGateway::RestApi")
            .p("Name", Expr::s(&p.api_name))
            .p(
                "Description",
                Expr::s(format!("{} {}: device event ingestion", p.pipeline, p.env)),
            )
            .p(
                "EndpointConfiguration",
                obj([("Types", Expr::strs(["REGIONAL"]))]),
            )
            // Every body reaches the function as bytes (base64): a gzip body sent as
            // `application/json` would otherwise be mangled as text. The function
            // decodes, inflates and validates each event itself.
            .p("BinaryMediaTypes", Expr::strs(["*/*"]))
            .p("DisableExecuteApiEndpoint", false)
            .p("Tags", cx.tags()),
    );
    t.add(
        "ApiBodyValidator",
        Resource::new("AWS::ApiGateway::RequestValidator")
            .p("RestApiId", Expr::r("Api"))
            .p("Name", "body")
            .p("ValidateRequestBody", true)
            .p("ValidateRequestParameters", false),
    );
    let logs_role = cx.role(t, "apigw-logs", StackId::Ingest);
    t.add(
        "ApiGatewayAccount",
        Resource::new("AWS::ApiGateway::Account")
            .p("CloudWatchRoleArn", Expr::att(&logs_role, "Arn")),
    );
}

/// The function's alarms (errors, throttles) and the dead-letter queue's.
fn alarms(cx: &Ctx<'_>, t: &mut Template) {
    let fn_dims = || {
        Expr::list([obj([
            ("Name", "FunctionName".into()),
            ("Value", Expr::r("IngestFunction")),
        ])])
    };
    t.add(
        "IngestErrorsAlarm",
        alarm(
            cx,
            "AWS/Lambda",
            "Errors",
            fn_dims(),
            "Sum",
            1,
            "The ingest function failed",
        ),
    );
    t.add(
        "IngestThrottlesAlarm",
        alarm(
            cx,
            "AWS/Lambda",
            "Throttles",
            fn_dims(),
            "Sum",
            1,
            "The ingest function was throttled",
        ),
    );
    t.add(
        "DeadLetterAlarm",
        alarm(
            cx,
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            Expr::list([obj([
                ("Name", "QueueName".into()),
                ("Value", Expr::att("DeadLetterQueue", "QueueName")),
            ])]),
            "Maximum",
            1,
            "Events are waiting in the ingest dead-letter queue",
        ),
    );
}

/// The core template: everything the routes and the stage build on.
pub(super) fn template(cx: &Ctx<'_>) -> Template {
    let p = cx.plan;
    let mut t = Template::new(format!(
        "{} {}: API Gateway and the ingest function",
        p.pipeline, p.env
    ));
    cx.stack_meta(&mut t, StackId::Ingest);
    t.parameters.insert(
        "IngestCodeKey".into(),
        Parameter {
            ty: "String",
            description: "Key of the ingest function's zip in the artifacts bucket (content-hashed; set by `pipewright deploy`)".into(),
            allowed_pattern: Some("^lambda/[a-z0-9_-]+/[a-f0-9]{64}\\.zip$".into()),
            default: None,
        },
    );
    let role = cx.role(&mut t, "ingest", StackId::Ingest);
    log_groups(cx, &mut t);
    dead_letter_queue(cx, &mut t);
    function(cx, &mut t, &role);
    api(cx, &mut t);
    alarms(cx, &mut t);
    t.output(
        "IngestFunctionName",
        "The ingest function",
        Expr::r("IngestFunction"),
        None,
    );
    cx.export(
        &mut t,
        StackId::Ingest,
        "ApiUrl",
        "Base URL devices post to",
        Expr::sub(format!(
            "https://{}/{}",
            crate::aws::execute_api_host("${Api}", &p.region)
                .unwrap_or_else(|| format!("${{Api}}.execute-api.{}.amazonaws.com", p.region)),
            p.stage
        )),
    );
    t
}
