//! Every AWS resource name, derived once per environment, and checked against the
//! owning service's naming rules. Emitters take names from here; nothing else
//! formats a resource name.

use crate::diag::Diagnostic;

/// The naming rule a name must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    S3Bucket,
    IamRole,
    LambdaFunction,
    Stack,
    DynamoTable,
    SqsQueue,
    SnsTopic,
    GlueName,
    GlueDatabase,
    AthenaWorkgroup,
    KmsAlias,
    LogGroup,
    SchedulerName,
    ModelPackageGroup,
    ApiName,
}

impl Rule {
    fn describe(self) -> (&'static str, usize) {
        match self {
            Rule::S3Bucket => (
                "S3 bucket names are 3–63 lower-case letters, digits, `.` and `-`",
                63,
            ),
            Rule::IamRole => (
                "IAM role names are at most 64 characters of letters, digits and `+=,.@_-`",
                64,
            ),
            Rule::LambdaFunction => (
                "Lambda function names are at most 64 letters, digits, `-` and `_`",
                64,
            ),
            Rule::Stack => (
                "stack names are at most 128 letters, digits and `-`, starting with a letter",
                128,
            ),
            Rule::DynamoTable => (
                "DynamoDB table names are 3–255 letters, digits, `_`, `-` and `.`",
                255,
            ),
            Rule::SqsQueue => (
                "SQS queue names are at most 80 letters, digits, `-` and `_`",
                80,
            ),
            Rule::SnsTopic => (
                "SNS topic names are at most 256 letters, digits, `-` and `_`",
                256,
            ),
            Rule::GlueName => ("Glue names are at most 255 characters", 255),
            Rule::GlueDatabase => (
                "Glue database names are at most 255 lower-case letters, digits and `_`",
                255,
            ),
            Rule::AthenaWorkgroup => (
                "Athena workgroup names are at most 128 letters, digits, `.`, `_` and `-`",
                128,
            ),
            Rule::KmsAlias => (
                "KMS aliases are at most 256 characters of `alias/` and letters, digits, `/_-`",
                256,
            ),
            Rule::LogGroup => ("log group names are at most 512 characters", 512),
            Rule::SchedulerName => (
                "EventBridge Scheduler names are at most 64 letters, digits, `.`, `_` and `-`",
                64,
            ),
            Rule::ModelPackageGroup => (
                "model package group names are at most 63 letters, digits and `-`",
                63,
            ),
            Rule::ApiName => ("API names are at most 1024 characters", 1024),
        }
    }

    fn char_ok(self, c: char) -> bool {
        let alnum = c.is_ascii_alphanumeric();
        match self {
            Rule::S3Bucket => c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.',
            Rule::IamRole => alnum || "+=,.@_-".contains(c),
            Rule::LambdaFunction | Rule::SqsQueue | Rule::SnsTopic => alnum || c == '-' || c == '_',
            Rule::Stack => alnum || c == '-',
            Rule::DynamoTable => alnum || "_-.".contains(c),
            Rule::GlueName | Rule::ApiName => !c.is_control(),
            Rule::GlueDatabase => c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_',
            Rule::AthenaWorkgroup | Rule::SchedulerName => alnum || "._-".contains(c),
            Rule::KmsAlias => alnum || "/_-".contains(c),
            Rule::LogGroup => alnum || "_-/.#".contains(c),
            Rule::ModelPackageGroup => alnum || c == '-',
        }
    }
}

/// Checks `name` against `rule`; `what` says which resource it is and `fix` which
/// spec value to shorten.
pub fn check(name: &str, rule: Rule, what: &str, fix: &str) -> Option<Diagnostic> {
    let (text, max) = rule.describe();
    let bad_char = name.chars().find(|c| !rule.char_ok(*c));
    let min = match rule {
        Rule::S3Bucket | Rule::DynamoTable => 3,
        _ => 1,
    };
    let len = name.chars().count();
    let problem = if len > max {
        Some(format!("is {len} characters long"))
    } else if len < min {
        Some(format!("is shorter than {min} characters"))
    } else if let Some(c) = bad_char {
        Some(format!("contains `{c}`"))
    } else if rule == Rule::S3Bucket && (name.contains("..") || name.ends_with('-')) {
        Some("has `..` or ends with `-`".to_owned())
    } else {
        None
    };
    problem.map(|p| {
        Diagnostic::error("PW0300", format!("the {what} name `{name}` {p}"))
            .note(text)
            .help(format!("shorten {fix}"))
    })
}
