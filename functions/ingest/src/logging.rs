//! Structured JSON logs (one object per line on stdout) with the request id of the
//! current request span, filtered by `PIPEWRIGHT_LOG` or `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber (a second call does nothing).
pub fn init() {
    let filter = EnvFilter::try_from_env("PIPEWRIGHT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stdout)
        .try_init();
}
