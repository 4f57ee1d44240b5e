//! PKCE (RFC 7636, S256 only) and the random `state` and `nonce` of one sign-in attempt, made
//! by openidconnect (32 random bytes for the verifier, 16 for `state` and `nonce`).

use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge};

use crate::secret::Secret;

/// The per-attempt secrets of an authorization request. Used once, then dropped.
#[derive(Debug)]
pub struct AuthRequestSecrets {
    /// 43 characters of the unreserved set (32 random bytes, base64url).
    pub verifier: Secret,
    pub challenge: PkceCodeChallenge,
    pub state: Secret,
    pub nonce: Secret,
}

impl AuthRequestSecrets {
    pub fn generate() -> Self {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        AuthRequestSecrets {
            verifier: Secret::new(verifier.into_secret()),
            challenge,
            state: Secret::new(CsrfToken::new_random().into_secret()),
            nonce: Secret::new(Nonce::new_random().secret().clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::PkceCodeVerifier;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let v = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(
            PkceCodeChallenge::from_code_verifier_sha256(&v).as_str(),
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
        assert_eq!(a.challenge.method().as_str(), "S256");
        let again =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(v.to_owned()));
        assert_eq!(a.challenge.as_str(), again.as_str());
    }
}
