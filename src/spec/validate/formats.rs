//! Formats of the identifiers a spec writes: pipewright names, AWS regions and
//! partitions, e-mail addresses, private CIDR blocks, IAM ARNs, QuickSight principals.
//! Predicates only (plus one ARN check that reports); which key must hold which format
//! is decided by the section modules.

use super::context::Ctx;
use crate::spec::yaml::Seg;

/// Lower-case letters, digits and `_`, starting with a letter, at most `max` bytes.
pub(super) fn is_ident(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && s.len() <= max
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

pub fn valid_region(r: &str) -> bool {
    // eu-west-2, us-gov-west-1, cn-north-1, us-iso-east-1, ap-southeast-5
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|d| d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else {
        "aws"
    }
}

pub(super) fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && e.len() <= 254
}

/// Parses an IPv4 CIDR in a private range, /16 to /24.
pub fn parse_cidr(c: &str) -> Result<([u8; 4], u8), String> {
    let (ip, len) = c.split_once('/').ok_or("a CIDR block needs a `/prefix`")?;
    let len: u8 = len
        .parse()
        .map_err(|_| "the prefix length is not a number")?;
    let octets: Vec<u8> = ip
        .split('.')
        .map(|o| o.parse::<u8>())
        .collect::<Result<_, _>>()
        .map_err(|_| "not an IPv4 address")?;
    let [a, b, c2, d] = <[u8; 4]>::try_from(octets).map_err(|_| "not an IPv4 address")?;
    if !(16..=24).contains(&len) {
        return Err(format!("a /{len} block; use /16 to /24"));
    }
    let private = a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168);
    if !private {
        return Err("not a private (RFC 1918) range".into());
    }
    let v = u32::from_be_bytes([a, b, c2, d]);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    if v & !mask != 0 {
        return Err(format!(
            "host bits are set; the block starts at {}",
            std::net::Ipv4Addr::from(v & mask)
        ));
    }
    Ok(([a, b, c2, d], len))
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum ArnKind {
    Policy,
    Principal,
}

/// Checks an ARN with optional `{account}`, `{region}`, `{partition}` placeholders.
pub(super) fn check_arn(cx: &mut Ctx<'_>, at: &[Seg], arn: &str, kind: ArnKind) {
    let concrete = arn
        .replace("{account}", "123456789012")
        .replace("{region}", "eu-west-2")
        .replace("{partition}", "aws");
    if concrete.contains('{') || concrete.contains('}') {
        cx.err("PW0227", at, format!("`{arn}` uses an unknown placeholder"))
            .help("the placeholders are `{account}`, `{region}` and `{partition}`");
        return;
    }
    let parts: Vec<&str> = concrete.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && match kind {
            ArnKind::Policy => parts[5].starts_with("policy/") && parts[5].len() > 7,
            ArnKind::Principal => {
                parts[5] == "root"
                    || (parts[5].starts_with("role/") && parts[5].len() > 5)
                    || (parts[5].starts_with("user/") && parts[5].len() > 5)
            }
        };
    if !ok {
        let example = match kind {
            ArnKind::Policy => "arn:{partition}:iam::{account}:policy/pipeline-boundary",
            ArnKind::Principal => "arn:aws:iam::123456789012:role/data-science",
        };
        cx.err(
            "PW0227",
            at,
            format!(
                "`{arn}` is not an IAM {} ARN",
                if kind == ArnKind::Policy {
                    "policy"
                } else {
                    "role, user or root"
                }
            ),
        )
        .help(format!("for example `{example}`"));
        return;
    }
    arn_fits_environments(cx, at, arn, kind);
}

/// A literal partition must be each environment's (the ARN could not resolve there), and a
/// boundary policy's literal account each environment's own (IAM attaches only policies of
/// the role's account). A principal of another account is a cross-account grant: allowed.
/// `{partition}` and `{account}` are filled per environment and always fit. Under
/// `environments.<env>`, only that environment is meant.
fn arn_fits_environments(cx: &mut Ctx<'_>, at: &[Seg], arn: &str, kind: ArnKind) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (partition, account) = (parts[1], parts[4]);
    let only = match at {
        [Seg::Key(top), Seg::Key(env), ..] if top == "environments" => Some(env.clone()),
        _ => None,
    };
    let envs: Vec<(String, &'static str, String)> = cx
        .spec
        .environments
        .iter()
        .filter(|(n, _)| only.as_ref().is_none_or(|o| o == *n))
        .map(|(n, e)| (n.clone(), partition_of(&e.region), e.account.clone()))
        .collect();
    for (name, env_partition, env_account) in envs {
        let wrong = if !partition.contains('{') && partition != env_partition {
            format!("partition `{partition}`, but environment `{name}` is in `{env_partition}`")
        } else if kind == ArnKind::Policy && !account.contains('{') && account != env_account {
            format!(
                "account {account}, but environment `{name}` is account {env_account}: IAM attaches only a policy of the role's own account"
            )
        } else {
            continue;
        };
        cx.err("PW0227", at, format!("`{arn}` names {wrong}")).help(
            "write `{partition}` and `{account}` in the ARN: pipewright fills them per environment",
        );
    }
}

pub fn valid_quicksight_principal(s: &str) -> bool {
    let short = |r: &str| {
        let parts: Vec<&str> = r.split('/').collect();
        parts.len() == 3
            && (parts[0] == "user" || parts[0] == "group")
            && parts[1..].iter().all(|x| !x.is_empty())
    };
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        parts.len() == 5 && parts[1] == "quicksight" && parts[3].len() == 12 && short(parts[4])
    } else {
        short(s)
    }
}
