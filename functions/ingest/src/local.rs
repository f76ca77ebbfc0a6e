//! Local mode for demos: a plain HTTP/1.1 server that turns each request into the API
//! Gateway proxy event the deployed function would get, and calls the same handler.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, Method, StatusCode, request::Parts};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::handler::{Clients, handle, response};
use crate::setup::Setup;

/// Largest body accepted in local mode: API Gateway's payload limit.
pub const MAX_LOCAL_BODY: usize = 10 * 1024 * 1024;

/// Binds `addr` and serves until the process ends.
pub async fn serve(
    addr: SocketAddr,
    clients: Arc<Clients>,
    setup: Arc<Setup>,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_on(listener, clients, setup).await
}

/// Serves on a bound listener (tests bind port 0).
pub async fn serve_on(
    listener: TcpListener,
    clients: Arc<Clients>,
    setup: Arc<Setup>,
) -> std::io::Result<()> {
    info!(addr = %listener.local_addr()?, "local mode: serving plain HTTP");
    loop {
        let (stream, peer) = listener.accept().await?;
        let (clients, setup) = (clients.clone(), setup.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (clients, setup) = (clients.clone(), setup.clone());
                async move { Ok::<_, Infallible>(serve_one(req, &clients, &setup).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                warn!(%peer, error = %e, "local connection failed");
            }
        });
    }
}

async fn serve_one(
    req: hyper::Request<Incoming>,
    clients: &Clients,
    setup: &Setup,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_LOCAL_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let r = response(
                413,
                format!("{{\"error\":\"the body is larger than {MAX_LOCAL_BODY} bytes\"}}"),
                &[],
            );
            return to_http(r);
        }
    };
    let event = proxy_event(&parts, &bytes, setup, &uuid::Uuid::new_v4().to_string());
    to_http(handle(event, clients, setup, SystemTime::now()).await)
}

/// The proxy event API Gateway would send for this request: `resource` is the
/// matching source's route, and a body that is not UTF-8 text (or is compressed) is
/// base64-encoded, as with binary media types enabled.
pub fn proxy_event(
    parts: &Parts,
    body: &[u8],
    setup: &Setup,
    request_id: &str,
) -> ApiGatewayProxyRequest {
    let path = parts.uri.path().to_string();
    let mut req = ApiGatewayProxyRequest::default();
    req.resource = Some(
        setup
            .source_for_route(&path)
            .map_or_else(|| path.clone(), |s| s.config.route.clone()),
    );
    req.path = Some(path);
    req.http_method = parts.method.clone();
    req.headers = parts.headers.clone();
    req.multi_value_headers = HeaderMap::new();
    req.request_context.request_id = Some(request_id.to_string());
    req.request_context.http_method = parts.method.clone();
    let encoded = parts.headers.contains_key("content-encoding");
    match std::str::from_utf8(body) {
        Ok(text) if !encoded => req.body = Some(text.to_string()),
        _ => {
            req.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
            req.is_base64_encoded = true;
        }
    }
    if parts.method == Method::GET && body.is_empty() {
        req.body = None;
    }
    req
}

fn to_http(r: ApiGatewayProxyResponse) -> hyper::Response<Full<Bytes>> {
    let body = match r.body {
        Some(Body::Text(t)) => Bytes::from(t),
        Some(Body::Binary(b)) => Bytes::from(b),
        _ => Bytes::new(),
    };
    let mut out = hyper::Response::new(Full::new(body));
    *out.status_mut() = u16::try_from(r.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *out.headers_mut() = r.headers;
    out
}
