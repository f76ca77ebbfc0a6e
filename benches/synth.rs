//! `cargo bench --bench synth`: wall time of load + validate + lower + emit (in
//! memory, no file writes) for the reference spec and for a generated spec with 100
//! sources and 50 transforms. Targets (issue 3): under 50 ms and under 1 s.

use std::path::Path;
use std::time::{Duration, Instant};

use pipewright::spec::{self, MemFiles, RealFiles};
use pipewright::{emit, plan};

fn synth_all(v: &spec::Validated) -> usize {
    let mut files = 0;
    for env in v.spec.environments.keys() {
        let p = plan::lower(v, env).expect("lowers");
        files += emit::synth(&p).expect("emits").files.len();
    }
    files
}

fn time<F: FnMut() -> usize>(name: &str, runs: u32, mut f: F) {
    f(); // warm up
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    let mut files = 0;
    for _ in 0..runs {
        let t = Instant::now();
        files = f();
        let d = t.elapsed();
        best = best.min(d);
        total += d;
    }
    println!(
        "{name:<44} best {:>8.2} ms   mean {:>8.2} ms   ({files} files, {runs} runs)",
        best.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3 / f64::from(runs)
    );
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    time("reference spec: check + synth (2 envs)", 20, || {
        let c = spec::check(&root.join("pipeline.yaml"), &RealFiles).unwrap();
        synth_all(&c.validated().unwrap())
    });
    let big = spec::generate::spec(100, 50);
    time("100 sources, 50 transforms: check + synth", 5, || {
        let c = spec::check_bytes(
            Path::new("big.yaml"),
            big.clone().into_bytes(),
            &MemFiles::default(),
        );
        synth_all(&c.validated().unwrap())
    });
}
