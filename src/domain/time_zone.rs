//! The time zone a user reads moments in: a name the IANA zone database knows.

/// The time zone a reader sees moments in: an IANA zone (`Europe/Brussels`) from the zone
/// database bundled with the binary, so summer and winter time are right for each moment.
#[derive(Debug, Clone)]
pub struct TimeZone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl PartialEq for TimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZone {}

/// The zone of a user who chose none (docs/data-model.md, `users.time_zone`).
pub const DEFAULT_ZONE: &str = "UTC";

impl TimeZone {
    /// Coordinated Universal Time, the zone of a reader who chose none.
    pub fn utc() -> Self {
        Self {
            name: DEFAULT_ZONE.to_owned(),
            zone: jiff::tz::TimeZone::UTC,
        }
    }

    /// The zone of that IANA name, if the database knows it; `europe/paris` reads as
    /// `Europe/Paris` (the database's spelling is the one kept).
    pub fn named(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 {
            return None;
        }
        let zone = jiff::tz::TimeZone::get(name).ok()?;
        // The database matches names without regard to case; we keep the spelling it uses.
        let canonical = zone.iana_name().unwrap_or(name).to_owned();
        canonical.eq_ignore_ascii_case(name).then_some(Self {
            name: canonical,
            zone,
        })
    }

    /// The stored zone of a user, or UTC when it is somehow unknown to this build's database.
    pub fn or_utc(name: &str) -> Self {
        Self::named(name).unwrap_or_else(Self::utc)
    }

    /// The IANA name (`Europe/Brussels`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The offset from UTC and the zone's abbreviation (CET, CEST, UTC …) at that moment.
    pub fn at(&self, at: time::OffsetDateTime) -> (time::UtcOffset, String) {
        let Ok(timestamp) = jiff::Timestamp::from_second(at.unix_timestamp()) else {
            return (time::UtcOffset::UTC, "UTC".to_owned());
        };
        let info = self.zone.to_offset_info(timestamp);
        let offset = time::UtcOffset::from_whole_seconds(info.offset().seconds())
            .unwrap_or(time::UtcOffset::UTC);
        (offset, info.abbreviation().to_owned())
    }

    /// Every zone name the database knows, sorted (for the account page's suggestions).
    pub fn all_names() -> Vec<String> {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.as_str().to_owned())
            .filter(|name| name.contains('/') || name == DEFAULT_ZONE)
            .collect();
        names.sort();
        names.dedup();
        names
    }
}
