//! Idempotency keys: the client's `Idempotency-Key` header, or a key derived from the
//! device-supplied event ids.

use sha2::{Digest, Sha256};

/// Longest accepted `Idempotency-Key`.
pub const MAX_KEY_LEN: usize = 255;

/// Prefix of keys derived from event ids.
pub const DERIVED_PREFIX: &str = "ids-sha256:";

/// Checks a client-supplied key: 1–255 visible ASCII characters.
pub fn header_key(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() || v.len() > MAX_KEY_LEN || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "Idempotency-Key must be 1–{MAX_KEY_LEN} visible ASCII characters without spaces"
        ));
    }
    Ok(v.to_string())
}

/// A key for a batch from its event ids: independent of the order of the events
/// (a retry may be re-batched in another order), different for different id sets.
pub fn derived_key(ids: &[String]) -> String {
    let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut h = Sha256::new();
    for id in sorted {
        // Length-prefixed, so ids containing separators cannot collide.
        h.update((id.len() as u64).to_le_bytes());
        h.update(id.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(DERIVED_PREFIX.len() + 64);
    out.push_str(DERIVED_PREFIX);
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn header_keys_are_checked() {
        assert_eq!(header_key(" abc-123 ").unwrap(), "abc-123");
        assert!(header_key("").is_err());
        assert!(header_key("a b").is_err());
        assert!(header_key("ключ").is_err());
        assert!(header_key(&"k".repeat(256)).is_err());
        assert!(header_key(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn derived_keys_ignore_order_but_not_content() {
        let k = derived_key(&ids(&["a", "b", "c"]));
        assert!(
            k.starts_with(DERIVED_PREFIX) && k.len() == DERIVED_PREFIX.len() + 64,
            "{k}"
        );
        assert_eq!(k, derived_key(&ids(&["c", "a", "b"])));
        assert_ne!(k, derived_key(&ids(&["a", "b"])));
        assert_ne!(k, derived_key(&ids(&["a", "b", "c", "c"])));
        // Separators inside ids do not collide.
        assert_ne!(derived_key(&ids(&["a\nb"])), derived_key(&ids(&["a", "b"])));
    }

    #[test]
    fn derived_key_is_stable() {
        // A change here breaks idempotency across a deployment.
        assert_eq!(
            derived_key(&ids(&["x"])),
            "ids-sha256:f91b14e7bbea4c5bfa0e1a704017716659f4910e557b869f226a69652d2a6f12"
        );
    }
}
