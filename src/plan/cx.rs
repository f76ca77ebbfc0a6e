//! The lowering context: the one value every section of `lower` works on. It holds
//! the validated spec, the environment being resolved, and what the sections share
//! as they build the plan (flows, roles, stacks, buckets, diagnostics), with the
//! helpers that add to them. It lowers no section itself, and it does no I/O.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::spec::model::{Compliance, Environment, Spec};
use crate::spec::validate::partition_of;
use crate::spec::yaml::Seg;
use crate::spec::{Validated, fmt_path};

use super::names::{self, Rule};
use super::{
    Access, BucketId, BucketPlan, Flow, Origin, Principal, RolePlan, StackId, TransformPlan,
    prefix, service_principal,
};

/// What to tell someone whose derived name breaks a service's rule, when the name is
/// made of the pipeline and environment names only.
pub(super) const FIX_BASE: &str = "the pipeline `name` or the environment name";

/// One environment of one validated spec, being lowered.
pub(super) struct LowerCx<'a> {
    pub v: &'a Validated,
    pub spec: &'a Spec,
    pub env: &'a Environment,
    /// The environment's name (also the API stage's).
    pub env_name: &'a str,
    /// `<pipeline>-<environment>`: the prefix of every derived name.
    pub base: String,
    pub partition: &'static str,
    /// Whether the environment is built for the PCI-DSS posture (network, replicas).
    pub pci: bool,
    pub diags: Diagnostics,
    /// Every flow, in the order the sections add them (the plan sorts them by id).
    pub flows: Vec<Flow>,
    pub roles: BTreeMap<String, RolePlan>,
    pub stacks: BTreeMap<StackId, String>,
    pub buckets: BTreeMap<BucketId, BucketPlan>,
}

impl<'a> LowerCx<'a> {
    /// The context for `env_name`, or the error that the spec does not define it.
    pub fn new(v: &'a Validated, env_name: &'a str) -> Result<Self, Diagnostics> {
        let spec = &v.spec;
        let Some(env) = spec.environments.get(env_name) else {
            let mut d = Diagnostics::default();
            d.push(Diagnostic::error(
                "PW0203",
                format!("environment `{env_name}` is not defined"),
            ));
            return Err(d);
        };
        Ok(LowerCx {
            v,
            spec,
            env,
            env_name,
            base: format!("{}-{env_name}", spec.name),
            partition: partition_of(&env.region),
            pci: spec.compliance(env).contains(&Compliance::PciDss),
            diags: Diagnostics::default(),
            flows: Vec::new(),
            roles: BTreeMap::new(),
            stacks: BTreeMap::new(),
            buckets: BTreeMap::new(),
        })
    }

    /// The environment's account id.
    pub fn account(&self) -> &'a str {
        &self.env.account
    }

    /// Where a dotted path of spec keys is: the path, and its line when known.
    pub fn origin(&self, keys: &[&str]) -> Origin {
        let path: Vec<Seg> = keys.iter().map(|k| Seg::Key((*k).to_owned())).collect();
        Origin {
            path: fmt_path(&path),
            line: self.v.doc.span_of(&path).map(|s| s.line),
        }
    }

    /// A derived name, checked against `rule`; a violation is reported at `at`.
    pub fn name(&mut self, name: String, rule: Rule, what: &str, fix: &str, at: &[&str]) -> String {
        if let Some(d) = names::check(&name, rule, what, fix) {
            let path: Vec<Seg> = at.iter().map(|k| Seg::Key((*k).to_owned())).collect();
            self.diags.push(
                d.at_opt(self.v.doc.span_of(&path))
                    .with_path(fmt_path(&path)),
            );
        }
        name
    }

    /// Adds a flow whose principal is the generated role `role`.
    pub fn flow(
        &mut self,
        id: String,
        role: &str,
        access: Access,
        origin: Origin,
        why: impl Into<String>,
    ) {
        self.flows.push(Flow {
            id,
            principal: Principal::Role(role.to_owned()),
            access,
            origin,
            why: why.into(),
        });
    }

    /// Adds the generated role `id` (named `<base>-<id>`), assumed by `service`,
    /// owned by `stack`, caused by the spec path `at`.
    pub fn role(&mut self, id: &str, service: &str, purpose: &str, stack: StackId, at: &[&str]) {
        let name = self.name(
            format!("{}-{id}", self.base),
            Rule::IamRole,
            "role",
            FIX_BASE,
            at,
        );
        let origin = self.origin(at);
        self.roles.insert(
            id.to_owned(),
            RolePlan {
                name,
                service: service_principal(service),
                purpose: purpose.to_owned(),
                stack,
                origin,
            },
        );
    }

    /// Names the stack `id` (`<base>-<stack>`) and adds it.
    pub fn stack(&mut self, id: StackId) {
        let name = self.name(
            format!("{}-{}", self.base, id.name()),
            Rule::Stack,
            "stack",
            FIX_BASE,
            &["name"],
        );
        self.stacks.insert(id, name);
    }
}

/// The curated prefixes of a dataset: one per event-schema major version of the
/// transform that writes it (just `curated/<dataset>/` when none does).
pub(super) fn dataset_prefixes(transforms: &[TransformPlan], dataset: &str) -> Vec<String> {
    transforms
        .iter()
        .find(|t| t.dataset == dataset)
        .map_or_else(|| vec![prefix::curated(dataset)], |t| t.prefixes.clone())
}

/// A flow id for the `n`th version of a dataset (the first keeps the plain id).
pub(super) fn versioned_id(id: String, n: usize) -> String {
    if n == 0 {
        id
    } else {
        format!("{id}:v{}", n + 1)
    }
}
