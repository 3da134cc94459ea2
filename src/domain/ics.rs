//! iCalendar (RFC 5545) for the deadline feed: all-day events, lines ended by CRLF and folded
//! at 75 octets (never inside a UTF-8 character), text escaped, a stable UID per event and a
//! DTSTAMP in UTC.

use time::{Date, OffsetDateTime, UtcOffset};

/// One all-day event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable across feeds: the same event keeps its UID, so calendars update it in place.
    pub uid: String,
    pub day: Date,
    pub summary: String,
    pub description: String,
    /// When the event last changed (DTSTAMP).
    pub stamp: OffsetDateTime,
}

/// A calendar with `name` and its events, as the bytes of a `text/calendar` body.
pub fn calendar(name: &str, events: &[Event]) -> String {
    let mut out = String::new();
    let mut line = |text: String| fold_into(&mut out, &text);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Pledge Tracker//Deadlines//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    for event in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&event.uid)));
        line(format!("DTSTAMP:{}", utc_stamp(event.stamp)));
        line(format!("DTSTART;VALUE=DATE:{}", day(event.day)));
        line(format!(
            "DTEND;VALUE=DATE:{}",
            day(event.day.next_day().unwrap_or(event.day))
        ));
        line(format!("SUMMARY:{}", escape(&event.summary)));
        if !event.description.is_empty() {
            line(format!("DESCRIPTION:{}", escape(&event.description)));
        }
        line("TRANSP:TRANSPARENT".into());
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

fn day(date: Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn utc_stamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{}T{:02}{:02}{:02}Z",
        day(at.date()),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// TEXT escaping: backslash, semicolon, comma and line breaks.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded: at most 75 octets per physical line, continuation lines
/// start with a space, every line ends with CRLF.
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// Unfolds and splits a calendar into its content lines (for tests and readers).
pub fn unfold(text: &str) -> Vec<String> {
    text.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn event(summary: &str) -> Event {
        Event {
            uid: "cycle-1@pledge-tracker".into(),
            day: date!(2026 - 12 - 11),
            summary: summary.into(),
            description: "Line one\nline, two; three\\".into(),
            stamp: datetime!(2026-12-03 10:15:30 +01:00),
        }
    }

    #[test]
    fn lines_end_with_crlf_and_never_pass_75_octets_even_in_french() {
        let long = "Date limite : évaluation annuelle du cycle de l'engagement de cyberdéfense — 2026, section « Coopération »";
        let text = calendar("Échéances", &[event(long)]);
        assert!(text.ends_with("\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
        for physical in text.split("\r\n") {
            assert!(
                physical.len() <= 75,
                "{physical:?} is {} octets",
                physical.len()
            );
        }
        let lines = unfold(&text);
        assert!(lines.contains(&format!("SUMMARY:{}", escape(long))));
    }

    #[test]
    fn events_have_uid_stamp_in_utc_and_an_all_day_date() {
        let lines = unfold(&calendar("Deadlines", &[event("Deadline")]));
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
        assert!(lines.contains(&"UID:cycle-1@pledge-tracker".to_owned()));
        assert!(lines.contains(&"DTSTAMP:20261203T091530Z".to_owned()));
        assert!(lines.contains(&"DTSTART;VALUE=DATE:20261211".to_owned()));
        assert!(lines.contains(&"DTEND;VALUE=DATE:20261212".to_owned()));
        assert!(lines.contains(&"DESCRIPTION:Line one\\nline\\, two\\; three\\\\".to_owned()));
    }
}
