//! Figures as people read them, in the page's language: the same rounding everywhere a score
//! is shown (pages now, exports later), with the decimal separator of the language.

use super::i18n::Lang;

/// How a report shows scores of one scale.
#[derive(Debug, Clone, Copy)]
pub struct ScoreFormat {
    lang: Lang,
    decimals: usize,
}

impl ScoreFormat {
    /// Scores on 0–`max`: three decimals on 0–1 (weighted means), two on larger scales (sums
    /// of points, like GCI's 0–100).
    pub fn new(lang: Lang, max: f64) -> Self {
        Self {
            lang,
            decimals: if max <= 1.0 { 3 } else { 2 },
        }
    }

    /// A score, or "—" when there is none.
    pub fn score(&self, value: Option<f64>) -> String {
        value.map_or_else(|| "—".to_owned(), |v| self.number(v, false))
    }

    /// A change with its sign (+0.125, −0.050), or "—".
    pub fn change(&self, value: Option<f64>) -> String {
        value.map_or_else(|| "—".to_owned(), |v| self.number(v, true))
    }

    fn number(&self, value: f64, signed: bool) -> String {
        let text = format!("{:.*}", self.decimals, value.abs());
        let sign = match (signed, value) {
            (_, v) if v < 0.0 && text.chars().any(|c| ('1'..='9').contains(&c)) => "−",
            (true, v) if v > 0.0 && text.chars().any(|c| ('1'..='9').contains(&c)) => "+",
            _ => "",
        };
        localise(self.lang, &format!("{sign}{text}"))
    }
}

/// A share in 0–1 as a whole percentage ("83 %" in French, "83%" in English), or "—".
pub fn percent(lang: Lang, share: Option<f64>) -> String {
    match (share, lang) {
        (None, _) => "—".to_owned(),
        (Some(s), Lang::Fr) => format!("{:.0}\u{a0}%", s * 100.0),
        (Some(s), Lang::En) => format!("{:.0}%", s * 100.0),
    }
}

/// A plain number as entered (a national goal's value), with the language's separator.
pub fn plain(lang: Lang, value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| localise(lang, &format!("{v}")))
}

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
        let unit = ScoreFormat::new(Lang::En, 1.0);
        assert_eq!(unit.score(Some(0.62345)), "0.623");
        assert_eq!(unit.change(Some(0.05)), "+0.050");
        assert_eq!(unit.change(Some(-0.05)), "−0.050");
        assert_eq!(unit.change(Some(0.0)), "0.000");
        assert_eq!(
            unit.change(Some(-0.0001)),
            "0.000",
            "no sign on a rounded zero"
        );
        assert_eq!(unit.score(None), "—");
        let points = ScoreFormat::new(Lang::Fr, 100.0);
        assert_eq!(points.score(Some(97.93)), "97,93");
        assert_eq!(percent(Lang::Fr, Some(0.8333)), "83\u{a0}%");
        assert_eq!(percent(Lang::En, Some(1.0)), "100%");
        assert_eq!(plain(Lang::Fr, Some(2.5)), "2,5");
    }
}
