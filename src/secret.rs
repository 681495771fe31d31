//! Holding secrets: the API key the client sends, and the secret of a key
//! it creates.
//!
//! The API key is stored once, as the bytes of the `Authorization` header value
//! `Bearer <key>`, in a buffer that is wiped when the last request or client
//! holding it is dropped. The header value is marked sensitive, so reqwest
//! and hyper keep it out of their own debug output and HTTP/2 tables.

use std::fmt;

use bytes::Bytes;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::{ApiKey, Error};

/// Builds the sensitive `Authorization` value for `key`.
pub(crate) fn bearer(key: &str) -> Result<HeaderValue, Error> {
    if key.is_empty() {
        return Err(Error::config("the API key is empty"));
    }
    // Name the offending position, never the key or the character.
    if let Some(at) = key.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(Error::config(format!(
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
        .map_err(|_| Error::config("the API key cannot be sent in an HTTP header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// A created key: the key as the API describes it, and its secret.
///
/// The secret is the plaintext API key that the new key's holder sends. The
/// API shows it only in the answer to the create request. It is kept in a
/// [`SecretString`]: redacted from `Debug`, reachable only through
/// [`ExposeSecret::expose_secret`], and wiped from memory when dropped.
///
/// ```
/// # fn show(created: openrouter_keys::CreatedKey) {
/// use openrouter_keys::ExposeSecret;
///
/// let secret: &str = created.key.expose_secret();
/// # let _ = secret;
/// # }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct CreatedKey {
    /// The key as the API describes it (its hash, name, limit, ...).
    pub data: ApiKey,
    /// The key's secret.
    pub key: SecretString,
}

impl fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A server could echo the secret into any field of the data.
        let data = format!("{:?}", self.data);
        f.debug_struct("CreatedKey")
            .field(
                "data",
                &format_args!(
                    "{}",
                    crate::redact::text(&data, self.key.expose_secret().as_bytes())
                ),
            )
            .field("key", &"[redacted]")
            .finish()
    }
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
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{text}");
            if key.len() > 3 {
                assert!(!text.contains(key), "{text}");
            }
        }
    }
}
