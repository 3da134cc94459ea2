//! The time-based one-time password second factor (RFC 6238: SHA-1, 6 digits, 30-second steps,
//! one step of clock drift either way), and one-time recovery codes.

use std::time::{SystemTime, UNIX_EPOCH};

use totp_rs::{Algorithm, Secret, TOTP};

use super::secrets::{constant_time_eq, random_bytes};

/// Seconds per step.
const STEP: u64 = 30;
/// Recovery codes given at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// A new random secret (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> Vec<u8> {
    random_bytes(20)
}

/// The secret in base32, as authenticator apps take it.
pub fn secret_base32(secret: &[u8]) -> String {
    match Secret::Raw(secret.to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => String::new(),
    }
}

/// Reads a base32 secret back (from the enrolment form).
pub fn secret_from_base32(text: &str) -> Option<Vec<u8>> {
    let bytes = Secret::Encoded(text.trim().to_owned()).to_bytes().ok()?;
    (bytes.len() >= 16).then_some(bytes)
}

fn totp(secret: &[u8], account: &str, issuer: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        secret.to_vec(),
        Some(issuer.replace(':', " ")),
        account.replace(':', " "),
    )
    .ok()
}

/// The `otpauth://` URI an authenticator app reads (from the QR code).
pub fn provisioning_uri(secret: &[u8], account: &str, issuer: &str) -> String {
    totp(secret, account, issuer)
        .map(|t| t.get_url())
        .unwrap_or_default()
}

/// The QR code of the provisioning URI, as an inline SVG image.
pub fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build();
            // Inline in HTML: drop the XML declaration.
            svg.find("<svg")
                .map_or(svg.clone(), |start| svg[start..].to_owned())
        }
        Err(_) => String::new(),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The current time step.
pub fn current_step() -> i64 {
    (now() / STEP) as i64
}

/// The step a code matches (current, previous or next), if any. The caller must refuse a step
/// that is not later than the last one accepted, so a code cannot be used twice.
pub fn matching_step(secret: &[u8], code: &str) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "", "pledge")?;
    let current = now() / STEP;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| constant_time_eq(totp.generate(step * STEP).as_bytes(), code.as_bytes()))
        .map(|step| step as i64)
}

/// The code for a step (tests and the enrolment check use it).
pub fn code_at(secret: &[u8], step: i64) -> String {
    totp(secret, "", "pledge")
        .map(|t| t.generate(step.max(0) as u64 * STEP))
        .unwrap_or_default()
}

/// Fresh recovery codes, e.g. `k7m2-q9xh-4tpa` (about 60 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<char> = random_bytes(12)
                .into_iter()
                .map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char)
                .collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// Recovery codes are compared without dashes, spaces or case.
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_code_matches_and_a_wrong_one_does_not() {
        let secret = new_secret();
        let step = current_step();
        assert_eq!(matching_step(&secret, &code_at(&secret, step)), Some(step));
        assert_eq!(
            matching_step(&secret, &code_at(&secret, step - 1)),
            Some(step - 1)
        );
        assert_eq!(matching_step(&secret, &code_at(&secret, step - 5)), None);
        assert_eq!(matching_step(&secret, "12345"), None);
        assert_eq!(matching_step(&secret, "abcdef"), None);
    }

    #[test]
    fn secrets_round_trip_through_base32_and_the_uri_names_the_issuer() {
        let secret = new_secret();
        assert_eq!(
            secret_from_base32(&secret_base32(&secret)),
            Some(secret.clone())
        );
        let uri = provisioning_uri(&secret, "a@b.example", "Pledge Tracker");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(qr_svg(&uri).contains("<svg"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(normalise_recovery_code(" K7M2-q9xh 4tpa "), "k7m2q9xh4tpa");
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
    }
}
