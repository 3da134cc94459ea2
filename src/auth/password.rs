//! Password hashing with argon2id (OWASP minimum: m=19 MiB, t=2, p=1), always off the async
//! runtime, with a bound on how many hashes run at once so a burst of sign-ins cannot exhaust
//! memory or starve the runtime.

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Memory cost in KiB (19 MiB).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Iterations.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// At most this many hashes at once (each takes 19 MiB and one core for tens of milliseconds).
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(4));

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .unwrap_or_else(|_| Params::default()); // allowed: the constants above are valid
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashing failed (only on an internal error of the library or the runtime).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password into a PHC string, off the async runtime.
pub async fn hash(password: String) -> Result<String, HashError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| HashError(e.to_string()))?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

/// Hashes on the current thread (for commands that are not on a runtime's worker).
pub fn hash_blocking(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks a password against a PHC string, off the async runtime. A malformed hash never matches.
pub async fn verify(password: String, phc: String) -> Result<bool, HashError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| HashError(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                hasher()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|e| HashError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_required_cost_and_verify() {
        let phc = hash("correct horse battery staple".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            verify("correct horse battery staple".into(), phc.clone())
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), phc).await.unwrap());
        assert!(!verify("x".into(), "not a hash".into()).await.unwrap());
    }
}

/// Why a new password is refused (a catalogue key suffix: `field.password.<reason>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    TooCommon,
}

impl PasswordProblem {
    /// Catalogue key of the message.
    pub fn message_key(self) -> &'static str {
        match self {
            Self::TooShort => "field.password.too_short",
            Self::TooLong => "field.password.too_long",
            Self::TooCommon => "field.password.too_common",
        }
    }
}

/// Shortest password accepted (characters).
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (characters); long passphrases are welcome, megabytes are not.
pub const MAX_LENGTH: usize = 256;

/// Checks a new password: 12 to 256 characters, and not guessable — not a common password, a
/// dictionary word with decorations, a keyboard pattern, or built from the user's own name or
/// address (zxcvbn's estimate, which carries a list of 30,000 common passwords, must reach 3 of 4).
pub fn check_new(password: &str, user_inputs: &[&str]) -> Result<(), PasswordProblem> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordProblem::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordProblem::TooLong);
    }
    // zxcvbn matches whole inputs; the parts of a name or address ("camille", "contributor")
    // are what people build passwords from.
    let parts: Vec<&str> = user_inputs
        .iter()
        .flat_map(|input| input.split(|c: char| !c.is_alphanumeric()))
        .filter(|part| part.chars().count() >= 3)
        .chain(user_inputs.iter().copied())
        .collect();
    let lowered = password.to_lowercase();
    if parts
        .iter()
        .any(|part| part.chars().count() >= 4 && lowered.contains(&part.to_lowercase()))
    {
        return Err(PasswordProblem::TooCommon);
    }
    let estimate = zxcvbn::zxcvbn(password, &parts);
    if u8::from(estimate.score()) < 3 {
        return Err(PasswordProblem::TooCommon);
    }
    Ok(())
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn short_common_and_personal_passwords_are_refused() {
        assert_eq!(check_new("short", &[]), Err(PasswordProblem::TooShort));
        assert_eq!(
            check_new("password1234", &[]),
            Err(PasswordProblem::TooCommon)
        );
        assert_eq!(
            check_new("qwertyuiop123", &[]),
            Err(PasswordProblem::TooCommon)
        );
        assert_eq!(
            check_new(
                "camille.contributor2026",
                &["camille.contributor@example.org", "Camille Contributor"]
            ),
            Err(PasswordProblem::TooCommon)
        );
        assert_eq!(
            check_new(&"x".repeat(300), &[]),
            Err(PasswordProblem::TooLong)
        );
    }

    #[test]
    fn long_unguessable_passwords_are_accepted() {
        assert_eq!(check_new("violet-harbour-engine-47", &[]), Ok(()));
        assert_eq!(check_new("Tq8#vL2@pZ9!mW4", &[]), Ok(()));
    }
}

/// A hash of a random password, verified against when the account does not exist, so that an
/// unknown account costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking(&crate::auth::secrets::random_hex(16)).unwrap_or_default());

/// Verifies against the account's hash, or against a dummy hash of the same cost when there is
/// no account; false in the second case, always.
pub async fn verify_or_dummy(password: String, phc: Option<String>) -> Result<bool, HashError> {
    let known = phc.is_some();
    let phc = match phc {
        Some(phc) => phc,
        None => tokio::task::spawn_blocking(|| DUMMY_HASH.clone())
            .await
            .map_err(|e| HashError(e.to_string()))?,
    };
    Ok(verify(password, phc).await? && known)
}
