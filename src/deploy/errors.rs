//! AWS SDK errors as people read them. The SDK's own `DisplayErrorContext` ends with the
//! error's `Debug` form (`DispatchFailure(DispatchFailure { source: ConnectorError { .. } })`),
//! which is not for users: here a service's answer is its error code and message, an
//! endpoint that cannot be reached says so with the cause, and anything else is the chain of
//! causes, each by its `Display`. `deploy`, `diff`, `destroy` and `iam verify` render every
//! SDK error through [`sdk_error_text`].

use std::error::Error;
use std::fmt::Debug;

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

/// One SDK error in one line. `endpoint` names what was called (a URL, or "the
/// CloudFormation endpoint of eu-west-2") for the message when it cannot be reached.
pub fn sdk_error_text<E, R>(e: &SdkError<E, R>, endpoint: &str) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: Debug,
{
    match e {
        SdkError::ServiceError(_) => match (e.code(), e.message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_string(),
            (None, Some(m)) => m.to_string(),
            (None, None) => causes(e),
        },
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            format!("cannot reach {endpoint}: {}", last_cause(e))
        }
        SdkError::TimeoutError(_) => format!("{endpoint} did not answer in time"),
        _ => causes(e),
    }
}

/// Whether the error is an endpoint that could not be reached (no connection, or none in
/// time), as opposed to an answer.
pub fn unreachable<E, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::DispatchFailure(d) => d.is_io() || d.is_timeout(),
        SdkError::TimeoutError(_) => true,
        _ => false,
    }
}

/// The chain of causes, each by its `Display`, joined by ": " (a cause already said
/// by the one before it is left out).
pub fn causes(e: &dyn Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&dyn Error> = Some(e);
    while let Some(c) = cur {
        let text = c.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = c.source();
    }
    parts.join(": ")
}

/// The innermost cause (for a refused connection: "Connection refused (os error 111)").
fn last_cause(e: &dyn Error) -> String {
    let mut cur: &dyn Error = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sts::error::ConnectorError;
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;

    type E = SdkError<GetCallerIdentityError, ()>;

    #[test]
    fn a_refused_connection_names_the_endpoint_and_the_os_error_without_debug() {
        // The error the SDK's connector builds for a refused TCP connection.
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let want_cause = io.to_string();
        let e: E = SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let text = sdk_error_text(&e, "http://127.0.0.1:1");
        assert_eq!(
            text,
            format!("cannot reach http://127.0.0.1:1: {want_cause}")
        );
        assert!(unreachable(&e));
        // What the SDK's own rendering adds, and this one leaves out.
        let sdk = aws_sdk_sts::error::DisplayErrorContext(&e).to_string();
        assert!(sdk.contains("ConnectorError"), "{sdk}");
        assert!(!text.contains("ConnectorError") && !text.contains('{'));
    }

    #[test]
    fn a_service_error_is_its_code_and_message() {
        let meta = aws_sdk_sts::error::ErrorMetadata::builder()
            .code("ExpiredToken")
            .message("The security token included in the request is expired")
            .build();
        let e: E = SdkError::service_error(GetCallerIdentityError::generic(meta), ());
        assert_eq!(
            sdk_error_text(&e, "x"),
            "ExpiredToken: The security token included in the request is expired"
        );
        assert!(!unreachable(&e));
    }
}
