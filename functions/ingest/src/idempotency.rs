//! Idempotency keys: the client's `Idempotency-Key` header, or a key derived from
//! the ids of the accepted events when each of them carries one.

/// Longest accepted `Idempotency-Key`.
pub const MAX_KEY_LEN: usize = 255;

/// Prefix of keys derived from the accepted events' ids. (Before issue 18 the derived
/// key covered the ids of every event, rejected ones included, under `ids-sha256:`.)
pub const DERIVED_PREFIX: &str = "accepted-ids-sha256:";

/// Checks a client-supplied key as it arrived (bytes): 1–255 visible ASCII characters
/// after trimming spaces and tabs at either end. The error says what is wrong and where.
pub fn header_key(value: &[u8]) -> Result<String, String> {
    let v = value.trim_ascii();
    if v.is_empty() {
        return Err(
            "Idempotency-Key is empty; send 1–255 visible ASCII characters or leave the header out"
                .into(),
        );
    }
    if let Some(pos) = v.iter().position(|b| !b.is_ascii_graphic()) {
        let b = v[pos];
        let what = if b == b' ' {
            "a space".to_string()
        } else if b.is_ascii() {
            format!("the control byte 0x{b:02x}")
        } else {
            format!("the non-ASCII byte 0x{b:02x}")
        };
        return Err(format!(
            "Idempotency-Key has {what} at byte {pos}; it must be 1–{MAX_KEY_LEN} visible ASCII characters (0x21–0x7e)"
        ));
    }
    if v.len() > MAX_KEY_LEN {
        return Err(format!(
            "Idempotency-Key is {} bytes long; the most is {MAX_KEY_LEN}",
            v.len()
        ));
    }
    Ok(String::from_utf8(v.to_vec()).expect("visible ASCII is UTF-8"))
}

/// Lowercase hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The key of a request without `Idempotency-Key` whose accepted events all carry an
/// id: their identity ([`crate::batch::Processed::content`], the SHA-256 of their
/// sorted ids). A retry of the same events, in any order, has the same key; a
/// corrected resend (a rejected event fixed, so now accepted) has another, so it is
/// stored rather than replayed.
pub fn derived_key(content: &[u8; 32]) -> String {
    format!("{DERIVED_PREFIX}{}", hex(content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keys_are_checked_with_a_reason() {
        assert_eq!(header_key(b" abc-123 ").unwrap(), "abc-123");
        let err = |v: &[u8]| header_key(v).unwrap_err();
        assert!(err(b"").contains("empty"));
        assert!(err(b"a b").contains("a space at byte 1"), "{}", err(b"a b"));
        let e = err("ключ".as_bytes());
        assert!(e.contains("non-ASCII byte 0xd0 at byte 0"), "{e}");
        assert!(err(b"k\x01").contains("control byte 0x01"));
        assert!(err(&[b'k'; 256]).contains("256 bytes long"));
        assert!(header_key(&[b'k'; 255]).is_ok());
    }

    #[test]
    fn derived_keys_name_the_content() {
        let k = derived_key(&[0xab; 32]);
        assert_eq!(k, format!("accepted-ids-sha256:{}", "ab".repeat(32)));
        assert_ne!(k, derived_key(&[0xac; 32]));
    }
}
