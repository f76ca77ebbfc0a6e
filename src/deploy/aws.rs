//! The AWS side of one run besides CloudFormation's stack calls: the clients (one per
//! region where needed), the account check that runs before anything else, and the
//! lookup of AWS-managed prefix lists. Not the stack operations (`stack`), not uploads
//! (`artifacts`).

use std::collections::{BTreeMap, BTreeSet};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
use std::time::Duration;

use super::cfn::Cfn;
use super::engine::Engine;
use super::report::Reporter;
use super::{Options, errors, logic};
use crate::plan::Plan;

/// AWS clients, one CloudFormation client per region.
pub(super) struct Aws {
    pub(super) cfn: BTreeMap<String, Cfn>,
    /// EC2 clients by region (prefix-list lookups).
    pub(super) ec2: BTreeMap<String, aws_sdk_ec2::Client>,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) sts: aws_sdk_sts::Client,
    pub(super) endpoint: Option<String>,
}

pub(super) async fn connect(plan: &Plan, o: &Options) -> Aws {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(plan.region.clone()))
        .retry_config(RetryConfig::adaptive().with_max_attempts(8));
    if let Some(p) = &o.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &o.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let conf = loader.load().await;
    let endpoint = o.endpoint_url.clone().or_else(|| {
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|s| !s.is_empty())
    });
    let mut regions: BTreeSet<String> = BTreeSet::from([plan.region.clone()]);
    regions.extend(plan.replica_region.clone());
    let ec2 = regions
        .iter()
        .map(|r| {
            let c = aws_sdk_ec2::config::Builder::from(&conf)
                .region(aws_config::Region::new(r.clone()))
                .build();
            (r.clone(), aws_sdk_ec2::Client::from_conf(c))
        })
        .collect();
    let cfn = regions
        .into_iter()
        .map(|r| {
            let c = aws_sdk_cloudformation::config::Builder::from(&conf)
                .region(aws_config::Region::new(r.clone()))
                .build();
            (
                r,
                Cfn {
                    client: aws_sdk_cloudformation::Client::from_conf(c),
                    poll: o.poll,
                    timeout: o.timeout,
                },
            )
        })
        .collect();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(endpoint.is_some())
            .build(),
    );
    let sts = aws_sdk_sts::Client::new(&conf);
    Aws {
        cfn,
        ec2,
        s3,
        sts,
        endpoint,
    }
}

/// Refuses to go on when the credentials belong to another account than the
/// environment's (a prod spec deployed with dev credentials would build a second
/// pipeline in the wrong account). Under `--moto-compat` the emulator's fixed account
/// is only reported.
pub(super) async fn check_account(
    aws: &Aws,
    plan: &Plan,
    o: &Options,
    rep: &Reporter,
) -> Result<(), String> {
    // The first call of a run: a few seconds at most, so that a wrong or unreachable
    // endpoint fails now rather than after the adaptive retries of the other calls.
    let id = aws
        .sts
        .get_caller_identity()
        .customize()
        .config_override(
            aws_sdk_sts::config::Builder::default()
                .retry_config(RetryConfig::standard().with_max_attempts(2))
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(5))
                        .operation_timeout(Duration::from_secs(30))
                        .build(),
                ),
        )
        .send()
        .await
        .map_err(|e| identity_error(&e, aws.endpoint.as_deref(), &plan.region))?;
    let caller = id.account().unwrap_or_default();
    match logic::account_check(&plan.account, caller, id.arn().unwrap_or("?"), &plan.env) {
        Ok(()) => Ok(()),
        Err(m) if o.moto_compat => {
            rep.info(&format!("moto compat: not refused: {m}"));
            Ok(())
        }
        Err(m) => Err(m),
    }
}

/// What went wrong asking STS whose credentials these are, and what to do about it.
fn identity_error<R: std::fmt::Debug>(
    e: &aws_sdk_sts::error::SdkError<GetCallerIdentityError, R>,
    endpoint: Option<&str>,
    region: &str,
) -> String {
    let what = "cannot tell which AWS account the credentials belong to (sts:GetCallerIdentity)";
    match endpoint {
        Some(url) if errors::unreachable(e) => format!(
            "{what}: {}. The endpoint comes from --endpoint-url or AWS_ENDPOINT_URL: start the \
             emulator it names, correct the URL, or unset it to use AWS",
            errors::sdk_error_text(e, url)
        ),
        None if errors::unreachable(e) => format!(
            "{what}: {}. Check the network (and HTTPS_PROXY behind a proxy), and that {region} \
             is the environment's region",
            errors::sdk_error_text(e, &format!("the STS endpoint of {region}"))
        ),
        _ => format!(
            "{what}: {}. Give credentials of the environment's account (AWS_PROFILE or --profile, \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a role assumed by CI)",
            errors::sdk_error_text(e, "STS")
        ),
    }
}

impl Engine {
    /// Looks up the ids of the AWS-managed prefix lists the stacks take as parameters
    /// (CloudFormation cannot): only lists AWS owns, named `com.amazonaws.<region>.<service>`.
    pub(super) async fn resolve_prefix_lists(&self) -> Result<(), String> {
        for (region, service) in logic::prefix_lists_needed(&self.units, &self.params) {
            let name = logic::prefix_list_name(&region, &service);
            let ec2 = self
                .aws
                .ec2
                .get(&region)
                .ok_or_else(|| format!("no EC2 client for {region}"))?;
            let found = ec2
                .describe_managed_prefix_lists()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("prefix-list-name")
                        .values(&name)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "looking up the prefix list {name} (ec2:DescribeManagedPrefixLists): {}",
                        errors::sdk_error_text(&e, "the EC2 endpoint")
                    )
                })?;
            let id = found
                .prefix_lists()
                .iter()
                .find(|p| {
                    p.prefix_list_name() == Some(name.as_str()) && p.owner_id() == Some("AWS")
                })
                .and_then(|p| p.prefix_list_id())
                .ok_or_else(|| {
                    format!(
                        "region {region} has no AWS-managed prefix list {name}, so the workloads' \
                         egress to {service} cannot be limited to it"
                    )
                })?;
            self.shared
                .lock()
                .expect("lock")
                .prefix_lists
                .insert((region, service), id.to_owned());
        }
        Ok(())
    }
}
