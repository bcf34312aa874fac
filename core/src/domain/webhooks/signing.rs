//! Standard Webhooks signing (<https://www.standardwebhooks.com/>): secrets are `whsec_` and the
//! base64 of random bytes; a message is signed as HMAC-SHA256 over `{id}.{timestamp}.{body}`,
//! keyed with the decoded bytes, and sent as `v1,<base64 signature>`.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
/// Accepted key sizes, in bytes; generated keys use the largest.
pub const MIN_KEY_BYTES: usize = 24;
pub const MAX_KEY_BYTES: usize = 32;

/// A fresh `whsec_...` secret.
pub fn generate_secret() -> String {
    let mut key = [0u8; MAX_KEY_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// What a secret must look like, as the document states it: the prefix, then the standard
/// (padded) base64 of `MIN_KEY_BYTES` to `MAX_KEY_BYTES` bytes, which is 4 characters for
/// every 3 bytes, rounded up, before the padding.
pub fn secret_pattern() -> String {
    let chars = |bytes: usize| (bytes * 4).div_ceil(3);
    format!(
        "^{SECRET_PREFIX}[A-Za-z0-9+/]{{{},{}}}={{0,2}}$",
        chars(MIN_KEY_BYTES),
        chars(MAX_KEY_BYTES)
    )
}

/// The key bytes of a well-formed secret.
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    (MIN_KEY_BYTES..=MAX_KEY_BYTES)
        .contains(&key.len())
        .then_some(key)
}

/// The `webhook-signature` value for one message.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret of each key size matches the documented pattern exactly when it decodes.
    #[test]
    fn the_documented_pattern_is_the_check() {
        let pattern = regex::Regex::new(&secret_pattern()).unwrap();
        for bytes in 0..=MAX_KEY_BYTES + 8 {
            let secret = format!("{SECRET_PREFIX}{}", STANDARD.encode(vec![0xA5u8; bytes]));
            let decodes = decode_secret(&secret).is_some();
            assert_eq!(
                decodes,
                pattern.is_match(&secret),
                "{bytes} bytes: {secret}"
            );
        }
        assert!(pattern.is_match(&generate_secret()));
        for bad in [
            "whsec_",
            "whsec_!!!!",
            "wh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                !pattern.is_match(bad) && decode_secret(bad).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn generated_secrets_decode() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(decode_secret(&secret).unwrap().len(), 32);
        assert!(decode_secret("whsec_c2hvcnQ=").is_none(), "too short");
        assert!(decode_secret("nope").is_none());
    }

    /// The example of the Standard Webhooks reference libraries.
    #[test]
    fn matches_the_reference_signature() {
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
