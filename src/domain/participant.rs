//! Participants: Allies and partners, named by an ISO 3166-1 alpha-3 code.

use std::fmt;

/// An ISO 3166-1 alpha-3 code: three upper-case ASCII letters, e.g. `FRA`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantCode(String);

impl ParticipantCode {
    /// Accepts three ASCII letters in either case and stores them upper-case.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(text.to_ascii_uppercase()))
        } else {
            Err("must be three letters (ISO 3166-1 alpha-3), e.g. FRA")
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ParticipantCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ParticipantCode;

    #[test]
    fn codes_are_three_letters_stored_upper_case() {
        assert_eq!(ParticipantCode::parse(" fra ").unwrap().as_str(), "FRA");
        for bad in ["", "FR", "FRAN", "F1A", "ÉTA"] {
            assert!(
                ParticipantCode::parse(bad).is_err(),
                "{bad:?} must be refused"
            );
        }
    }
}
