//! Figures as people read them, in the page's language: the same rounding everywhere a score
//! is shown (pages now, exports later), with the decimal separator of the language.

use super::i18n::Lang;
use crate::domain::scoring::{self, Decimal};

/// How a report shows scores of one scale. The rounding is the scoring module's
/// ([`scoring::shown`], half away from zero, done once): reports already carry figures as shown,
/// so this only puts them in the language's words; a figure that was not rounded yet gets the
/// same rounding, so the text is the same either way.
#[derive(Debug, Clone, Copy)]
pub struct ScoreFormat {
    lang: Lang,
    decimals: u32,
}

impl ScoreFormat {
    /// Scores on 0–`max`: three decimals on 0–1 (weighted means), two on larger scales (sums
    /// of points, like GCI's 0–100).
    pub fn new(lang: Lang, max: Decimal) -> Self {
        Self {
            lang,
            decimals: scoring::shown_decimals(max),
        }
    }

    /// The decimals figures are shown with.
    pub fn decimals(&self) -> u32 {
        self.decimals
    }

    /// A score, or "—" when there is none.
    pub fn score(&self, value: Option<Decimal>) -> String {
        value.map_or_else(|| "—".to_owned(), |v| self.number(v, false))
    }

    /// A change with its sign (+0.125, −0.050), or "—".
    pub fn change(&self, value: Option<Decimal>) -> String {
        value.map_or_else(|| "—".to_owned(), |v| self.number(v, true))
    }

    fn number(&self, value: Decimal, signed: bool) -> String {
        let shown = scoring::shown(value, self.decimals);
        let sign = match (signed, shown.is_sign_negative(), shown.is_zero()) {
            (_, _, true) => "",
            (_, true, false) => "−",
            (true, false, false) => "+",
            (false, false, false) => "",
        };
        localise(self.lang, &format!("{sign}{}", shown.abs()))
    }
}

/// A share in 0–1 as a whole percentage ("83 %" in French, "83%" in English), or "—"; rounded
/// half away from zero ([`scoring::shown_percent`]).
pub fn percent(lang: Lang, share: Option<Decimal>) -> String {
    match (share.map(scoring::shown_percent), lang) {
        (None, _) => "—".to_owned(),
        (Some(p), Lang::Fr) => format!("{p}\u{a0}%"),
        (Some(p), Lang::En) => format!("{p}%"),
    }
}

/// A plain number as entered (a national goal's value), with the language's separator.
pub fn plain(lang: Lang, value: Option<Decimal>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| localise(lang, &v.to_string()))
}

/// A figure as a chart's geometry needs it (a position, a length): never its label, which
/// comes from the figure's text.
pub fn geometry(value: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    value.to_f64().unwrap_or_default()
}

/// A figure's text as every page and file prints it, in `lang` (the JSON API and the files
/// use the English form: a decimal point).
pub fn figure(lang: Lang, value: Decimal) -> String {
    localise(lang, &value.to_string())
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// A calendar date as people write it: "3 December 2026", "3 décembre 2026".
pub fn date(lang: Lang, date: time::Date) -> String {
    let month = usize::from(u8::from(date.month())) - 1;
    let name = match lang {
        Lang::En => MONTHS_EN[month],
        Lang::Fr => MONTHS_FR[month],
    };
    let day = date.day();
    match (lang, day) {
        (Lang::Fr, 1) => format!("1er {name} {}", date.year()),
        _ => format!("{day} {name} {}", date.year()),
    }
}

/// A moment to the minute, in the reader's time zone, naming the zone as it was at that moment:
/// "3 December 2026, 14:05 UTC", "3 décembre 2026 à 15:05 CET", "3 July 2026, 16:05 CEST".
/// Never microseconds.
pub fn moment(lang: Lang, zone: &TimeZone, at: time::OffsetDateTime) -> String {
    let (offset, abbreviation) = zone.at(at);
    let local = at.to_offset(offset);
    let day = date(lang, local.date());
    let clock = format!("{:02}:{:02}", local.hour(), local.minute());
    match lang {
        Lang::En => format!("{day}, {clock} {abbreviation}"),
        Lang::Fr => format!("{day} à {clock} {abbreviation}"),
    }
}

pub use crate::domain::time_zone::{DEFAULT_ZONE, TimeZone};

fn localise(lang: Lang, text: &str) -> String {
    match lang {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_round_by_scale_and_use_the_language_separator() {
        let d = |t: &str| t.parse::<Decimal>().unwrap();
        let unit = ScoreFormat::new(Lang::En, Decimal::ONE);
        assert_eq!(unit.score(Some(d("0.62345"))), "0.623");
        assert_eq!(
            unit.score(Some(d("0.8025"))),
            "0.803",
            "half away from zero"
        );
        assert_eq!(unit.score(Some(d("0.8125"))), "0.813");
        assert_eq!(unit.score(Some(d("0.89"))), "0.890");
        assert_eq!(unit.change(Some(d("0.05"))), "+0.050");
        assert_eq!(unit.change(Some(d("-0.05"))), "−0.050");
        assert_eq!(unit.change(Some(Decimal::ZERO)), "0.000");
        assert_eq!(
            unit.change(Some(d("-0.0001"))),
            "0.000",
            "no sign on a rounded zero"
        );
        assert_eq!(unit.score(None), "—");
        let points = ScoreFormat::new(Lang::Fr, Decimal::ONE_HUNDRED);
        assert_eq!(points.score(Some(d("97.93"))), "97,93");
        assert_eq!(percent(Lang::Fr, Some(d("0.8333"))), "83\u{a0}%");
        assert_eq!(percent(Lang::En, Some(Decimal::ONE)), "100%");
        assert_eq!(percent(Lang::En, Some(d("0.125"))), "13%");
        assert_eq!(plain(Lang::Fr, Some(d("2.5"))), "2,5");
    }

    #[test]
    fn moments_are_shown_to_the_minute_with_their_zone_in_the_language() {
        let at = time::macros::datetime!(2026-12-01 14:05:59.123456 UTC);
        assert_eq!(
            moment(Lang::En, &TimeZone::utc(), at),
            "1 December 2026, 14:05 UTC"
        );
        assert_eq!(
            moment(Lang::Fr, &TimeZone::utc(), at),
            "1er décembre 2026 à 14:05 UTC"
        );
        let paris = TimeZone::named("Europe/Paris").unwrap();
        assert_eq!(moment(Lang::En, &paris, at), "1 December 2026, 15:05 CET");
    }

    #[test]
    fn summer_and_winter_time_follow_the_moment() {
        let paris = TimeZone::named("Europe/Paris").unwrap();
        let july = time::macros::datetime!(2026-07-01 12:05 UTC);
        let january = time::macros::datetime!(2026-01-15 12:05 UTC);
        assert_eq!(moment(Lang::En, &paris, july), "1 July 2026, 14:05 CEST");
        assert_eq!(
            moment(Lang::Fr, &paris, january),
            "15 janvier 2026 à 13:05 CET"
        );
        // The night the clocks go back: 00:30 UTC is still summer time, 01:30 UTC is not.
        let before = time::macros::datetime!(2026-10-25 00:30 UTC);
        let after = time::macros::datetime!(2026-10-25 01:30 UTC);
        assert_eq!(
            moment(Lang::En, &paris, before),
            "25 October 2026, 02:30 CEST"
        );
        assert_eq!(
            moment(Lang::En, &paris, after),
            "25 October 2026, 02:30 CET"
        );
        // The day a moment falls on is the reader's day.
        let late = time::macros::datetime!(2026-12-31 23:30 UTC);
        assert_eq!(moment(Lang::En, &paris, late), "1 January 2027, 00:30 CET");
    }

    #[test]
    fn only_known_zone_names_are_accepted() {
        assert_eq!(
            TimeZone::named("Europe/Brussels").unwrap().name(),
            "Europe/Brussels"
        );
        assert!(TimeZone::named("Europe/Atlantis").is_none());
        assert_eq!(
            TimeZone::named(" europe/paris").unwrap().name(),
            "Europe/Paris"
        );
        assert!(TimeZone::named("").is_none());
        assert_eq!(TimeZone::or_utc("Mars/Olympus"), TimeZone::utc());
        let names = TimeZone::all_names();
        assert!(names.iter().any(|n| n == "America/New_York"));
        assert!(names.iter().any(|n| n == "UTC"));
    }
}
