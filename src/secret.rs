//! Holding the API key.
//!
//! The key is stored once, as the bytes of the `Authorization` header value
//! `Bearer <key>`, in a buffer that is wiped when the last request or client
//! holding it is dropped. The header value is marked sensitive, so reqwest
//! and hyper keep it out of their own debug output and HTTP/2 tables.

use bytes::Bytes;
use reqwest::header::HeaderValue;
use zeroize::Zeroizing;

use crate::Error;

/// Builds the sensitive `Authorization` value for `key`.
pub(crate) fn bearer(key: &str) -> Result<HeaderValue, Error> {
    if key.is_empty() {
        return Err(Error::Config("the API key is empty".to_owned()));
    }
    // Name the offending position, never the key or the character.
    if let Some(at) = key.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(Error::Config(format!(
            "the API key has a character that cannot be sent in an HTTP header \
             (whitespace, a control character or non-ASCII) at byte {at}"
        )));
    }
    // Allocated at its final size, so that it is never moved (and a copy
    // left behind unwiped) while it is filled.
    let mut bytes = Zeroizing::new(Vec::with_capacity(7 + key.len()));
    bytes.extend_from_slice(b"Bearer ");
    bytes.extend_from_slice(key.as_bytes());
    // `from_owner` shares the buffer between requests without copying it,
    // and drops (so wipes) it with the last of them. `from_maybe_shared`
    // takes those `Bytes` as they are.
    let mut value = HeaderValue::from_maybe_shared(Bytes::from_owner(bytes))
        .map_err(|_| Error::Config("the API key cannot be sent in an HTTP header".to_owned()))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_is_sensitive_and_exact() {
        let value = bearer("sk-or-v1-abc").unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value.as_bytes(), b"Bearer sk-or-v1-abc");
        assert_eq!(format!("{value:?}"), "Sensitive");
    }

    #[test]
    fn bad_keys_are_errors_that_do_not_echo_the_key() {
        for key in ["", "sk or", "sk-or\n", "sk-\u{e9}", "sk\u{0}x"] {
            let err = bearer(key).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(matches!(err, Error::Config(_)), "{text}");
            if key.len() > 3 {
                assert!(!text.contains(key), "{text}");
            }
        }
    }
}
