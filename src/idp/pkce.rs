//! PKCE (RFC 7636, S256 only) and the random `state` and `nonce` of one sign-in attempt.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::secret::{Secret, random_token};

/// The per-attempt secrets of an authorization request. Used once, then dropped.
#[derive(Debug)]
pub struct AuthRequestSecrets {
    /// 43 characters of the unreserved set (32 random bytes, base64url).
    pub verifier: Secret,
    pub challenge: String,
    pub state: Secret,
    pub nonce: Secret,
}

impl AuthRequestSecrets {
    pub fn generate() -> Self {
        let verifier = random_token(32);
        let challenge = challenge_s256(&verifier);
        AuthRequestSecrets {
            verifier: Secret::new(verifier),
            challenge,
            state: Secret::new(random_token(16)),
            nonce: Secret::new(random_token(16)),
        }
    }
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2).
pub fn challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_is_43_unreserved_chars_and_values_never_repeat() {
        let a = AuthRequestSecrets::generate();
        let b = AuthRequestSecrets::generate();
        let v = a.verifier.expose();
        assert_eq!(v.len(), 43);
        assert!(
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        assert_ne!(a.verifier, b.verifier);
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.state, a.nonce);
        assert_eq!(a.challenge, challenge_s256(v));
    }
}
