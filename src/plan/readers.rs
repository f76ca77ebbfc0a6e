//! Lowering of `security.readers`: IAM principals outside the pipeline that may read
//! raw events and datasets. Their flows are the only ones whose principal is not a
//! role the plan generates; nothing here creates a principal.

use pipewright_ingest_config as contract;

use super::cx::{LowerCx, dataset_prefixes, versioned_id};
use super::{Access, BucketId, Flow, Principal, TransformPlan};

impl LowerCx<'_> {
    /// A flow per reader and source, and per reader, dataset and dataset version.
    pub(super) fn readers(&mut self, transforms: &[TransformPlan]) {
        let spec = self.spec;
        for (i, r) in spec.security.readers.iter().enumerate() {
            let principal = Principal::External(self.placeholders(&r.principal));
            let origin = self.origin(&["security", "readers", &i.to_string()]);
            for s in &r.sources {
                self.flows.push(Flow {
                    id: format!("reader-{i}:read-raw:{s}"),
                    principal: principal.clone(),
                    access: Access::ReadObjects {
                        bucket: BucketId::Raw,
                        prefix: contract::layout::raw_prefix(s),
                    },
                    origin: origin.clone(),
                    why: format!("`security.readers` grants raw `{s}` events"),
                });
            }
            for d in &r.datasets {
                for (n, p) in dataset_prefixes(transforms, d).into_iter().enumerate() {
                    self.flows.push(Flow {
                        id: versioned_id(format!("reader-{i}:read-dataset:{d}"), n),
                        principal: principal.clone(),
                        access: Access::ReadObjects {
                            bucket: BucketId::Curated,
                            prefix: p,
                        },
                        origin: origin.clone(),
                        why: format!("`security.readers` grants the `{d}` dataset"),
                    });
                }
            }
        }
    }
}
