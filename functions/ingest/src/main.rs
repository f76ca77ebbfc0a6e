//! The ingest function's executable: loads the config, builds the AWS clients and runs
//! the handler under the Lambda runtime, or as a local HTTP server with `--local ADDR`
//! (or `PIPEWRIGHT_LOCAL_ADDR`).

// The handler's future nests the claim, store and index steps' futures; computing the
// runtime's future's layout takes more than the default 128 query levels under clippy.
#![recursion_limit = "256"]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use pipewright_ingest::{Clients, Setup, handle, local, logging};
use tracing::error;

/// See `mimalloc` in Cargo.toml: the request path is allocation-bound.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Environment variable naming the local-mode address.
const LOCAL_ADDR_ENV: &str = "PIPEWRIGHT_LOCAL_ADDR";

fn local_addr() -> Result<Option<SocketAddr>, String> {
    let mut args = std::env::args().skip(1);
    let mut value = None;
    while let Some(a) = args.next() {
        if a == "--local" {
            value = Some(
                args.next()
                    .ok_or("--local needs an address, as in --local 127.0.0.1:9000")?,
            );
        } else if let Some(v) = a.strip_prefix("--local=") {
            value = Some(v.to_string());
        } else {
            return Err(format!(
                "unknown argument `{a}` (the only option is --local ADDR)"
            ));
        }
    }
    let value = value.or_else(|| std::env::var(LOCAL_ADDR_ENV).ok().filter(|v| !v.is_empty()));
    value
        .map(|v| {
            v.parse()
                .map_err(|e| format!("bad local address `{v}`: {e}"))
        })
        .transpose()
}

#[tokio::main]
async fn main() -> ExitCode {
    logging::init();
    let started = local_addr().and_then(|addr| Setup::from_env().map(|s| (addr, s)));
    let (addr, setup) = match started {
        Ok(v) => v,
        Err(e) => {
            error!(error = %e, "refusing to start");
            eprintln!("pipewright-ingest: {e}");
            return ExitCode::FAILURE;
        }
    };
    // API Gateway waits 29 s; the SDK's three attempts must fit in that.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(8))
        .operation_timeout(Duration::from_secs(25))
        .build();
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await;
    let clients = Clients::from_conf(&conf);

    if let Some(addr) = addr {
        return match local::serve(addr, Arc::new(clients), Arc::new(setup)).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pipewright-ingest: local server on {addr}: {e}");
                ExitCode::FAILURE
            }
        };
    }

    let (clients, setup) = (&clients, &setup);
    let run = lambda_runtime::run(service_fn(
        move |ev: LambdaEvent<ApiGatewayProxyRequest>| async move {
            let mut req = ev.payload;
            if req.request_context.request_id.is_none() {
                req.request_context.request_id = Some(ev.context.request_id.clone());
            }
            Ok::<_, lambda_runtime::Error>(handle(req, clients, setup, SystemTime::now()).await)
        },
    ))
    .await;
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = %e, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
