//! Lowering of the stacks: which stacks an environment deploys and their names, and
//! the split of many routes and many transforms into stacks of their own. It does not
//! decide what goes into a stack (the emitters do, from `StackId`).

use super::cx::LowerCx;
use super::{ROUTES_PER_STACK, StackId, TRANSFORMS_PER_STACK};

impl LowerCx<'_> {
    /// The stacks every environment has, and under PCI-DSS the network and replica
    /// stacks; analytics and ml only when the spec has those sections.
    pub(super) fn stacks(&mut self) {
        for s in [
            StackId::Bootstrap,
            StackId::Foundation,
            StackId::Storage,
            StackId::Ingest,
            StackId::Processing,
            StackId::Analytics,
            StackId::Ml,
        ] {
            self.stack(s);
        }
        if self.pci {
            self.stack(StackId::Network);
            self.stack(StackId::Replica);
        }
        if self.spec.analytics.is_none() {
            self.stacks.remove(&StackId::Analytics);
        }
        if self.spec.ml.is_none() {
            self.stacks.remove(&StackId::Ml);
        }
    }

    /// Route indices per route stack; more than one group adds the route stacks and
    /// the release stack.
    pub(super) fn route_stacks(&mut self, routes: usize) -> Vec<Vec<usize>> {
        self.split(
            routes,
            ROUTES_PER_STACK,
            StackId::IngestRoutes,
            StackId::IngestRelease,
        )
    }

    /// Transform indices per job stack; more than one group adds the job stacks and
    /// the catalog stack.
    pub(super) fn job_stacks(&mut self, transforms: usize) -> Vec<Vec<usize>> {
        self.split(
            transforms,
            TRANSFORMS_PER_STACK,
            StackId::ProcessingJobs,
            StackId::ProcessingCatalog,
        )
    }

    fn split(
        &mut self,
        n: usize,
        size: usize,
        part: fn(u16) -> StackId,
        after: StackId,
    ) -> Vec<Vec<usize>> {
        let groups = groups(n, size);
        if groups.len() > 1 {
            for i in 1..=groups.len() {
                self.stack(part(i as u16));
            }
            self.stack(after);
        }
        groups
    }
}

/// Indices `0..n` in chunks of `size` (one chunk, possibly empty, when `n <= size`).
fn groups(n: usize, size: usize) -> Vec<Vec<usize>> {
    if n <= size {
        return vec![(0..n).collect()];
    }
    (0..n)
        .collect::<Vec<_>>()
        .chunks(size)
        .map(<[usize]>::to_vec)
        .collect()
}
