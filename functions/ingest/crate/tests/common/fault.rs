//! A fault-injecting HTTP connector in front of the real one: the SDK's requests reach
//! moto through it, and connector call `k` (and the `n - 1` after it, which are the
//! SDK's own retries of that call when the handler makes its calls one at a time) can
//! fail before reaching moto, lose the response of a request moto carried out, answer
//! slowly, or stop the handler there ("kill"), before or after moto acted. The calls
//! made are recorded by operation name.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
    http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use tokio::sync::{Notify, Semaphore};

/// moto 5.2.5 runs a TransactWriteItems by deep-copying its tables for rollback
/// without a lock: two at once (any tables) fail with HTTP 500 "dictionary changed
/// size during iteration" (seen in its log under the load test). DynamoDB has no such
/// failure, so this process sends moto one transaction at a time; every other call
/// goes through at once.
static MOTO_TRANSACTIONS: Semaphore = Semaphore::const_new(1);

/// What happens to a faulted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The connection fails before the request is sent: moto never sees it.
    Fail,
    /// moto carries the request out; its response is lost (a connection reset).
    Lost,
    /// moto carries the request out; its response comes after `Duration`.
    Slow(Duration),
    /// The process dies before the request is sent (the handler is aborted).
    KillBefore,
    /// The process dies after moto carried the request out, before the handler sees it.
    KillAfter,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<String>,
    plan: Option<(usize, Mode, usize)>,
    /// (modulus, remainder, mode): call `i` with `i % modulus == remainder` gets `mode`.
    every: Vec<(usize, usize, Mode)>,
}

/// The fault plan and the record of calls, shared by every client of one test.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    /// At most this many calls in flight to moto at once (a connection pool's limit).
    pool: Arc<Mutex<Option<Arc<Semaphore>>>>,
    /// Signalled when a kill fault fires; the test then aborts the handler.
    pub killed: Arc<Notify>,
}

impl Faults {
    /// Connector calls from index `first` on, `n` of them, get `mode`.
    pub fn plan(&self, first: usize, mode: Mode, n: usize) {
        self.state.lock().unwrap().plan = Some((first, mode, n));
    }
    /// Faults spread over many calls: call `i` with `i % m == r` gets `mode`, for each
    /// `(m, r, mode)` (the first rule that matches).
    pub fn every(&self, rules: Vec<(usize, usize, Mode)>) {
        self.state.lock().unwrap().every = rules;
    }
    /// At most `n` calls in flight to moto at once: a pool of `n` connections, which
    /// the test's many concurrent requests share.
    pub fn limit(&self, n: usize) {
        *self.pool.lock().unwrap() = Some(Arc::new(Semaphore::new(n)));
    }
    /// No faults from now on.
    pub fn clear(&self) {
        let mut st = self.state.lock().unwrap();
        st.plan = None;
        st.every.clear();
    }
    /// Operation names of the calls made so far.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }
    pub fn reset_calls(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    /// Records the call and says what to do with it.
    fn next(&self, op: String) -> Option<Mode> {
        let mut st = self.state.lock().unwrap();
        let i = st.calls.len();
        st.calls.push(op);
        match st.plan {
            Some((first, mode, n)) if i >= first && i < first + n => Some(mode),
            _ => st
                .every
                .iter()
                .find(|(m, r, _)| i % m == *r)
                .map(|(_, _, mode)| *mode),
        }
    }

    /// An HTTP client that sends through `inner` (the real connector), with faults.
    pub fn client(&self) -> SharedHttpClient {
        let inner = aws_smithy_http_client::Builder::new().build_http();
        let faults = self.clone();
        http_client_fn(move |settings, components| {
            SharedHttpConnector::new(FaultConnector {
                inner: inner.http_connector(settings, components),
                faults: faults.clone(),
            })
        })
    }
}

#[derive(Debug)]
struct FaultConnector {
    inner: SharedHttpConnector,
    faults: Faults,
}

/// The operation a request is: the JSON protocols' target, else S3's method and key.
fn operation(req: &HttpRequest) -> String {
    if let Some(t) = req.headers().get("x-amz-target") {
        return t.rsplit('.').next().unwrap_or(t).to_string();
    }
    match req.method() {
        "PUT" => "PutObject".into(),
        m => format!("S3 {m}"),
    }
}

fn io(what: &'static str) -> ConnectorError {
    ConnectorError::io(what.into())
}

impl HttpConnector for FaultConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = operation(&request);
        let mode = self.faults.next(op.clone());
        let inner = self.inner.clone();
        let killed = self.faults.killed.clone();
        let pool = self.faults.pool.lock().unwrap().clone();
        HttpConnectorFuture::new(async move {
            let _slot = match &pool {
                Some(p) => Some(p.clone().acquire_owned().await.expect("never closed")),
                None => None,
            };
            let _one = if op == "TransactWriteItems" {
                Some(MOTO_TRANSACTIONS.acquire().await.expect("never closed"))
            } else {
                None
            };
            match mode {
                None => inner.call(request).await,
                Some(Mode::Fail) => Err(io("injected: connection refused")),
                Some(Mode::Lost) => {
                    let _ = inner.call(request).await;
                    Err(io("injected: connection reset after the request was sent"))
                }
                Some(Mode::Slow(d)) => {
                    let r = inner.call(request).await;
                    tokio::time::sleep(d).await;
                    r
                }
                Some(Mode::KillBefore) => {
                    killed.notify_one();
                    std::future::pending().await
                }
                Some(Mode::KillAfter) => {
                    let _ = inner.call(request).await;
                    killed.notify_one();
                    std::future::pending().await
                }
            }
        })
    }
}
