//! Lowering of the foundation: the data key (its alias and administrators) and the
//! alarm topic. Key policies and the key's uses are not here: the IAM emitter derives
//! each key use from a flow.

use super::cx::{FIX_BASE, LowerCx};
use super::names::Rule;

impl LowerCx<'_> {
    /// The data key's alias, `alias/<base>-data`.
    pub(super) fn key_alias(&mut self) -> String {
        self.name(
            format!("alias/{}-data", self.base),
            Rule::KmsAlias,
            "KMS alias",
            FIX_BASE,
            &["name"],
        )
    }

    /// The alarm topic's name, `<base>-alarms`.
    pub(super) fn alarm_topic(&mut self) -> String {
        self.name(
            format!("{}-alarms", self.base),
            Rule::SnsTopic,
            "topic",
            FIX_BASE,
            &["name"],
        )
    }

    /// Who administers the data key: `security.kms.admins`, or the account's root.
    pub(super) fn key_admins(&self) -> Vec<String> {
        let admins = &self.spec.security.kms.admins;
        if admins.is_empty() {
            vec![format!(
                "arn:{}:iam::{}:root",
                self.partition,
                self.account()
            )]
        } else {
            admins.iter().map(|a| self.placeholders(a)).collect()
        }
    }
}
