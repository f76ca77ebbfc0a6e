//! Neighbours of a need: requests one step away from it that the role must be denied
//! (another action on the same resource, the same action on another resource or under
//! another context), derived mechanically from the need, so a new flow gets its
//! negative cases for free. One function per service; S3 and KMS have their own
//! modules. Not the needs themselves (`super::needs`).

mod kms;
mod s3;

use super::ctx::{Ctx, Need};

/// Neighbours found so far: (request, what differs).
pub(super) struct Found(Vec<(Need, String)>);

impl Found {
    fn push(&mut self, mut m: Need, what: &str) {
        if m.action.starts_with("s3:") {
            m.policy = Some(m.resource.split('/').next().unwrap_or_default().to_owned());
        }
        self.0.push((m, what.to_owned()));
    }
}

/// Actions that a neighbour may try instead, by the action needed: (action, what it is).
fn swaps(action: &str) -> &'static [(&'static str, &'static str)] {
    match action {
        "s3:PutObject" => &[
            ("s3:DeleteObject", "delete instead of put"),
            ("s3:GetObject", "read instead of write"),
            ("s3:PutObjectAcl", "change the ACL instead of put"),
        ],
        "s3:GetObject" => &[
            ("s3:PutObject", "write instead of read"),
            ("s3:DeleteObject", "delete instead of read"),
        ],
        "s3:ListBucket" => &[
            (
                "s3:PutBucketPolicy",
                "change the bucket policy instead of list",
            ),
            ("s3:DeleteBucket", "delete the bucket instead of list"),
        ],
        "dynamodb:PutItem" => &[
            ("dynamodb:DeleteItem", "delete instead of put"),
            ("dynamodb:Scan", "scan instead of put"),
            ("dynamodb:UpdateItem", "update instead of put"),
        ],
        "dynamodb:GetItem" => &[
            ("dynamodb:PutItem", "write instead of read"),
            ("dynamodb:Scan", "scan instead of get"),
        ],
        "dynamodb:Query" => &[
            ("dynamodb:Scan", "scan instead of query"),
            ("dynamodb:PutItem", "write instead of query"),
        ],
        "dynamodb:ExportTableToPointInTime" => &[("dynamodb:DeleteTable", "delete the table")],
        "glue:StartJobRun" => &[
            ("glue:UpdateJob", "change the job instead of start it"),
            ("glue:DeleteJob", "delete the job instead of start it"),
        ],
        "glue:GetTable" => &[
            ("glue:DeleteTable", "delete the table instead of read"),
            ("glue:DeleteDatabase", "delete the database instead of read"),
        ],
        "logs:CreateLogGroup" | "logs:DescribeLogStreams" => &[
            ("logs:DeleteLogGroup", "delete the log group"),
            ("logs:PutRetentionPolicy", "change the retention"),
        ],
        "logs:PutLogEvents" => &[
            ("logs:DeleteLogStream", "delete the stream instead of write"),
            ("logs:GetLogEvents", "read instead of write"),
        ],
        "sqs:SendMessage" => &[
            ("sqs:ReceiveMessage", "receive instead of send"),
            ("sqs:PurgeQueue", "purge instead of send"),
        ],
        "kms:GenerateDataKey" => &[
            ("kms:ScheduleKeyDeletion", "delete the key"),
            ("kms:PutKeyPolicy", "change the key policy"),
        ],
        "kms:Decrypt" => &[("kms:ReEncryptFrom", "re-encrypt instead of decrypt")],
        "athena:StartQueryExecution" => &[
            ("athena:DeleteWorkGroup", "delete the workgroup"),
            ("athena:UpdateWorkGroup", "change the workgroup"),
        ],
        "lambda:InvokeFunction" => &[(
            "lambda:UpdateFunctionCode",
            "change the code instead of invoke",
        )],
        "sagemaker:CreateTrainingJob" => &[(
            "sagemaker:UpdateTrainingJob",
            "change the job instead of create",
        )],
        "sagemaker:StartPipelineExecution" => &[
            (
                "sagemaker:UpdatePipeline",
                "change the pipeline instead of start it",
            ),
            (
                "sagemaker:DeletePipeline",
                "delete the pipeline instead of start it",
            ),
        ],
        "iam:PassRole" => &[(
            "iam:UpdateAssumeRolePolicy",
            "change the role's trust instead of pass it",
        )],
        "sagemaker:CreateModelPackage" => {
            &[("sagemaker:DeleteModelPackage", "delete instead of register")]
        }
        "ec2:CreateNetworkInterface" => &[("ec2:RunInstances", "launch an instance")],
        "ec2:DescribeSubnets" => &[("ec2:DescribeInstances", "describe instances")],
        _ => &[],
    }
}

/// A name that is not the given one, of the same shape.
fn other_name(name: &str) -> String {
    format!("{name}-other")
}

/// Neighbours of a need: (request, what differs).
pub(super) fn neighbours(cx: &Ctx, n: &Need) -> Vec<(Need, String)> {
    let mut out = Found(Vec::new());
    let service = n.action.split(':').next().unwrap_or_default();
    for (a, what) in swaps(&n.action) {
        let mut m = n.clone();
        m.action = (*a).to_owned();
        if !a.starts_with("kms:") && !matches!(*a, "s3:ListBucket") {
            m.context.retain(|k, _| !k.starts_with("s3:prefix"));
        }
        // Only PassRole carries the service a role is passed to.
        m.context.remove("iam:PassedToService");
        m.constraints.remove("iam:PassedToService");
        out.push(m, what);
    }
    match service {
        "s3" => s3::neighbours(cx, n, &mut out),
        "dynamodb" => dynamodb(cx, n, &mut out),
        "glue" => glue(cx, n, &mut out),
        "logs" => logs(n, &mut out),
        "sqs" => {
            let mut m = n.clone();
            m.resource = other_name(&n.resource);
            out.push(m, "another queue");
        }
        "athena" => {
            let mut m = n.clone();
            m.resource = cx.arn("athena", "workgroup/primary");
            out.push(m, "another workgroup");
        }
        "sagemaker" => sagemaker(cx, n, &mut out),
        "lambda" => {
            let mut m = n.clone();
            m.resource = other_name(&n.resource);
            out.push(m, "another function");
        }
        "iam" => iam(n, &mut out),
        "ec2" => ec2(cx, n, &mut out),
        "kms" => kms::neighbours(cx, n, &mut out),
        _ => {}
    }
    out.0
}

/// Another model package group, pipeline, or a training job no pipeline started.
fn sagemaker(cx: &Ctx, n: &Need, out: &mut Found) {
    let mut m = n.clone();
    if let Some((head, _)) = n.resource.split_once(":training-job/") {
        m.resource = format!("{head}:training-job/notebook-job-1");
        out.push(m, "a training job the pipeline did not start");
    } else if let Some((head, p)) = n.resource.split_once(":pipeline/") {
        m.resource = format!("{head}:pipeline/{}", other_name(p));
        out.push(m, "another pipeline");
    } else if let Some(g) = cx.plan.model_package_group.as_deref() {
        m.resource = n.resource.replacen(g, &other_name(g), 1);
        out.push(m, "another model package group");
    }
}

/// Another role; the same role passed to another service.
fn iam(n: &Need, out: &mut Found) {
    if let Some((head, rest)) = n.resource.split_once(":role/")
        && let Some((path, id)) = rest.split_once('/')
    {
        let mut m = n.clone();
        m.resource = format!("{head}:role/{}/{id}", other_name(path));
        out.push(m, "another role");
    }
    if n.context.contains_key("iam:PassedToService") {
        let mut m = n.clone();
        m.context
            .insert("iam:PassedToService".into(), "ec2.amazonaws.com".into());
        out.push(m, "passed to another service");
    }
}

/// Another table; for an index, another index and the table itself.
fn dynamodb(cx: &Ctx, n: &Need, out: &mut Found) {
    let table = cx.table_arn();
    let mut m = n.clone();
    m.resource = n.resource.replacen(&table, &other_name(&table), 1);
    out.push(m, "another table");
    if let Some((t, idx)) = n.resource.split_once("/index/") {
        let mut m = n.clone();
        m.resource = format!("{t}/index/{}", other_name(idx));
        out.push(m, "another index");
        let mut m = n.clone();
        m.resource = t.to_owned();
        out.push(m, "the table instead of the index");
    }
}

/// Every other job of the plan and one that is not; another table or database.
fn glue(cx: &Ctx, n: &Need, out: &mut Found) {
    if let Some((head, job)) = n.resource.split_once(":job/") {
        for t in &cx.plan.transforms {
            if t.job_name != job {
                let mut m = n.clone();
                m.resource = format!("{head}:job/{}", t.job_name);
                out.push(m, "another Glue job");
            }
        }
        let mut m = n.clone();
        m.resource = format!("{head}:job/{}", other_name(job));
        out.push(m, "another Glue job");
    } else if n.resource.contains(":table/") {
        let mut m = n.clone();
        m.resource = format!("{}_other", n.resource);
        out.push(m, "another catalog table");
    } else if n.resource.contains(":database/") {
        let mut m = n.clone();
        m.resource = format!("{}_other", n.resource);
        out.push(m, "another database");
    }
}

fn logs(n: &Need, out: &mut Found) {
    if let Some((head, _)) = n.resource.split_once(":log-group:") {
        let group = n.resource[head.len() + ":log-group:".len()..]
            .split(":log-stream:")
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut m = n.clone();
        m.resource = n.resource.replacen(&group, &other_name(&group), 1);
        out.push(m, "another log group");
    }
}

/// A subnet outside the plan, as the resource or as the interface's subnet.
fn ec2(cx: &Ctx, n: &Need, out: &mut Found) {
    if n.resource.contains(":subnet/") {
        let mut m = n.clone();
        m.resource = cx.arn("ec2", "subnet/subnet-0fffffffffffffff0");
        out.push(m, "another subnet");
    }
    if n.context.contains_key("ec2:Subnet") {
        let mut m = n.clone();
        m.context.insert(
            "ec2:Subnet".into(),
            cx.arn("ec2", "subnet/subnet-0fffffffffffffff0"),
        );
        out.push(m, "an interface in another subnet");
    }
}
