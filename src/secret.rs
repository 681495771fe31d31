//! Holding the API key.
//!
//! The key is stored once, as the bytes of the `Authorization` header value
//! `Bearer <key>`, in a buffer that is wiped when the last request or client
//! holding it is dropped. The header value is marked sensitive, so reqwest
//! and hyper keep it out of their own debug output and HTTP/2 tables.

use bytes::Bytes;
use reqwest::header::HeaderValue;
use zeroize::Zeroize;

use crate::Error;

/// Owns the header bytes and wipes them on drop. `Bytes::from_owner` shares
/// it between requests without copying the key.
struct Wiped(Vec<u8>);

impl AsRef<[u8]> for Wiped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

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
    let mut bytes = Vec::with_capacity(7 + key.len());
    bytes.extend_from_slice(b"Bearer ");
    bytes.extend_from_slice(key.as_bytes());
    let mut value = HeaderValue::from_maybe_shared(Bytes::from_owner(Wiped(bytes)))
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
