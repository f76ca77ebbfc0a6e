//! Request bodies: content type and encoding negotiation, base64 and gzip decoding, and
//! the size limit (enforced while inflating, so a gzip bomb stops at the limit).

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use base64::Engine;
use flate2::read::MultiGzDecoder;

/// How the events in a body are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object, or a JSON array of them.
    Json,
    /// One JSON value per line.
    Ndjson,
}

/// Why a body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// 415.
    UnsupportedMediaType(String),
    /// 415.
    UnsupportedEncoding(String),
    /// 413: more than `limit` bytes (after decompression).
    TooLarge { limit: usize },
    /// 400: `isBase64Encoded` but not base64.
    BadBase64(String),
    /// 400: `Content-Encoding: gzip` but not gzip.
    BadGzip(String),
}

impl BodyError {
    pub fn status(&self) -> u16 {
        match self {
            BodyError::UnsupportedMediaType(_) | BodyError::UnsupportedEncoding(_) => 415,
            BodyError::TooLarge { .. } => 413,
            BodyError::BadBase64(_) | BodyError::BadGzip(_) => 400,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::UnsupportedMediaType(t) => write!(
                f,
                "unsupported content type `{t}`: send application/json (an event or an array of events) or application/x-ndjson, in UTF-8"
            ),
            BodyError::UnsupportedEncoding(e) => {
                write!(
                    f,
                    "unsupported content encoding `{e}`: send gzip or no encoding"
                )
            }
            BodyError::TooLarge { limit } => write!(
                f,
                "the body is larger than {limit} bytes (after decompression)"
            ),
            BodyError::BadBase64(e) => write!(f, "the body is not valid base64: {e}"),
            BodyError::BadGzip(e) => write!(f, "the body is not valid gzip: {e}"),
        }
    }
}

/// The framing for a `Content-Type` header value (none: JSON).
pub fn format_for(content_type: Option<&str>) -> Result<Format, BodyError> {
    let Some(ct) = content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Format::Json);
    };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if name.trim().eq_ignore_ascii_case("charset") {
            let v = value.trim().trim_matches('"');
            if !v.eq_ignore_ascii_case("utf-8") && !v.eq_ignore_ascii_case("utf8") {
                return Err(BodyError::UnsupportedMediaType(ct.to_string()));
            }
        }
    }
    match media.as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonl"
        | "application/x-jsonlines" => Ok(Format::Ndjson),
        _ => Err(BodyError::UnsupportedMediaType(ct.to_string())),
    }
}

/// Whether a `Content-Encoding` header value means gzip (`None`: identity).
pub fn is_gzip(content_encoding: Option<&str>) -> Result<bool, BodyError> {
    match content_encoding.map(|e| e.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(e) if e.is_empty() || e == "identity" => Ok(false),
        Some(e) if e == "gzip" || e == "x-gzip" => Ok(true),
        Some(e) => Err(BodyError::UnsupportedEncoding(e)),
    }
}

/// The body's bytes: base64-decoded when API Gateway encoded it, inflated when gzip,
/// at most `limit` bytes. Inflation reads at most `limit + 1` bytes, so its memory is
/// bounded by the limit whatever the compression ratio.
pub fn decode<'a>(
    body: &'a str,
    is_base64: bool,
    gzip: bool,
    limit: usize,
) -> Result<Cow<'a, [u8]>, BodyError> {
    let bytes: Cow<'a, [u8]> = if is_base64 {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|e| BodyError::BadBase64(e.to_string()))?;
        Cow::Owned(decoded)
    } else {
        Cow::Borrowed(body.as_bytes())
    };
    if !gzip {
        if bytes.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        return Ok(bytes);
    }
    inflate(&bytes, limit).map(Cow::Owned)
}

/// Inflates gzip (one or more members) up to `limit` bytes.
pub fn inflate(gz: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    // The gzip trailer's ISIZE (size mod 2^32 of the last member) is the usual exact
    // size: reserving it avoids the doubling copies of a growing buffer. It is only a
    // hint (a bomb may lie), so it is capped by the limit and reading still grows.
    let hint = gz
        .last_chunk::<4>()
        .map_or(0, |b| u32::from_le_bytes(*b) as usize)
        .max(gz.len())
        .min(limit.saturating_add(1));
    let mut out = Vec::with_capacity(hint.saturating_add(1));
    MultiGzDecoder::new(gz)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::BadGzip(e.to_string()))?;
    if out.len() > limit {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::new(6));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn content_types() {
        assert_eq!(format_for(None), Ok(Format::Json));
        assert_eq!(
            format_for(Some("application/json; charset=UTF-8")),
            Ok(Format::Json)
        );
        assert_eq!(format_for(Some("Application/X-NDJSON")), Ok(Format::Ndjson));
        assert_eq!(
            format_for(Some("text/plain")).unwrap_err(),
            BodyError::UnsupportedMediaType("text/plain".into())
        );
        assert_eq!(
            format_for(Some("application/json; charset=latin1"))
                .unwrap_err()
                .status(),
            415
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(is_gzip(None), Ok(false));
        assert_eq!(is_gzip(Some("identity")), Ok(false));
        assert_eq!(is_gzip(Some("GZIP")), Ok(true));
        assert_eq!(is_gzip(Some("br")).unwrap_err().status(), 415);
    }

    #[test]
    fn plain_bodies_are_borrowed_and_limited() {
        let d = decode("[1,2]", false, false, 5).unwrap();
        assert!(matches!(d, Cow::Borrowed(_)));
        assert_eq!(
            decode("[1,2,3]", false, false, 5).unwrap_err(),
            BodyError::TooLarge { limit: 5 }
        );
    }

    #[test]
    fn base64_gzip_bodies_are_inflated() {
        let text = b"{\"a\":1}\n{\"a\":2}\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(gz(text));
        assert_eq!(decode(&b64, true, true, 100).unwrap().as_ref(), text);
        assert_eq!(decode("%%%", true, false, 100).unwrap_err().status(), 400);
        assert!(matches!(
            inflate(b"not gzip", 100),
            Err(BodyError::BadGzip(_))
        ));
    }

    #[test]
    fn concatenated_gzip_members_are_read() {
        let mut both = gz(b"{\"a\":1}\n");
        both.extend(gz(b"{\"a\":2}\n"));
        assert_eq!(inflate(&both, 100).unwrap(), b"{\"a\":1}\n{\"a\":2}\n");
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        // 16 MiB of zeros compress to a few dozen KiB.
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..16 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        assert_eq!(
            inflate(&bomb, 1 << 20).unwrap_err(),
            BodyError::TooLarge { limit: 1 << 20 }
        );
        // Exactly at the limit is fine.
        assert_eq!(inflate(&gz(&zeros), 1 << 20).unwrap().len(), 1 << 20);
    }
}
