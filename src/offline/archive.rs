//! The uploaded file as an archive, checked before any spreadsheet parsing: what is not a ZIP
//! archive is refused, every entry is inflated into a counter with a ceiling (a small file that
//! unpacks to gigabytes is refused after reading at most the ceiling), and the shared-strings
//! part is refused when it would make the spreadsheet reader reserve or keep more strings than
//! any form has.

use std::io::{Cursor, Read};

use crate::domain::problem::Problem;

/// The most the archive may unpack to, all entries together.
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;
/// The most entries the archive may hold (a form has about a dozen).
const MAX_ENTRIES: usize = 1_000;
/// The most distinct strings a form may declare (5,000 rows × 13 columns is 65,000).
const MAX_SHARED_STRINGS: u64 = 100_000;

/// The ceilings an archive is checked against: the offline form's ([`FORM`]), or larger ones
/// for files that legitimately hold more (a whole cycle's answers, `crate::import`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most all entries together may unpack to.
    pub max_unpacked_bytes: u64,
    /// The most entries the archive may hold.
    pub max_entries: usize,
    /// The most strings the shared-strings part may declare or hold.
    pub max_shared_strings: u64,
}

/// The offline form's ceilings.
pub const FORM: Limits = Limits {
    max_unpacked_bytes: MAX_UNPACKED_BYTES,
    max_entries: MAX_ENTRIES,
    max_shared_strings: MAX_SHARED_STRINGS,
};

/// Refuses what is not a ZIP archive, and archives that unpack to more than the ceiling.
pub fn check(bytes: &[u8]) -> Result<(), Problem> {
    check_within(bytes, &FORM)
}

/// [`check`] with other ceilings.
pub fn check_within(bytes: &[u8], limits: &Limits) -> Result<(), Problem> {
    let Limits {
        max_unpacked_bytes,
        max_entries,
        max_shared_strings,
    } = *limits;
    let not_xlsx =
        |detail: &dyn std::fmt::Display| Problem::with("file", "offline.problem.not_xlsx", detail);
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| not_xlsx(&e))?;
    let too_large = || {
        Problem::with(
            "file",
            "offline.problem.unpacks_too_large",
            format!("> {} MiB", max_unpacked_bytes / 1024 / 1024),
        )
    };
    if archive.len() > max_entries {
        return Err(too_large());
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| not_xlsx(&e))?;
        let allowance = max_unpacked_bytes - total + 1;
        let shared_strings = entry
            .name()
            .map_err(|e| not_xlsx(&e))?
            .to_lowercase()
            .ends_with("sharedstrings.xml");
        let mut limited = entry.take(allowance);
        if shared_strings {
            // Read whole (within the ceiling) to check the count the reader reserves room for.
            let mut xml = Vec::new();
            total += limited.read_to_end(&mut xml).map_err(|e| not_xlsx(&e))? as u64;
            if total <= max_unpacked_bytes && too_many_shared_strings(&xml, max_shared_strings) {
                return Err(Problem::with(
                    "file",
                    "offline.problem.too_many_strings",
                    max_shared_strings,
                ));
            }
        } else {
            total += std::io::copy(&mut limited, &mut std::io::sink()).map_err(|e| not_xlsx(&e))?;
        }
        if total > max_unpacked_bytes {
            return Err(too_large());
        }
    }
    Ok(())
}

/// Whether a shared-strings part holds, or declares, more strings than any form has. The
/// spreadsheet reader reserves memory for the `uniqueCount` of the first `sst` tag before it
/// reads a string (a forged count would abort the process), then keeps one string per `si`
/// tag (millions of empty ones fit in a few megabytes). Tags are found as an XML reader finds
/// them: comments, processing instructions, declarations and CDATA are skipped, so text that
/// merely mentions `uniqueCount` is not mistaken for the attribute.
fn too_many_shared_strings(xml: &[u8], max: u64) -> bool {
    let mut strings: u64 = 0;
    let mut seen_sst = false;
    let mut at = 0;
    while let Some(offset) = xml[at..].iter().position(|b| *b == b'<') {
        let tag = &xml[at + offset..];
        let skip_to = |end: &[u8]| {
            tag.windows(end.len())
                .position(|w| w == end)
                .map_or(xml.len(), |p| at + offset + p + end.len())
        };
        at = if tag.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if tag.starts_with(b"<![CDATA[") {
            skip_to(b"]]>")
        } else if tag.starts_with(b"<?") {
            skip_to(b"?>")
        } else {
            let next = tag_end(xml, at + offset);
            if !tag.starts_with(b"<!") && !tag.starts_with(b"</") {
                let body = &xml[at + offset + 1..next.saturating_sub(1).max(at + offset + 1)];
                let name_end = body
                    .iter()
                    .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
                    .unwrap_or(body.len());
                let name = &body[..name_end];
                let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
                if local == b"si" {
                    strings += 1;
                    if strings > max {
                        return true;
                    }
                } else if local == b"sst" && !seen_sst {
                    seen_sst = true;
                    if declared_count(&body[name_end..]).is_some_and(|n| n > max) {
                        return true;
                    }
                }
            }
            next
        };
    }
    false
}

/// Where the tag starting at `start` ends (just past its `>`), with `>` inside quoted
/// attribute values not taken for the end, as an XML reader reads it.
fn tag_end(xml: &[u8], start: usize) -> usize {
    let mut quote = None;
    for (i, byte) in xml.iter().enumerate().skip(start) {
        match (quote, *byte) {
            (None, b'"' | b'\'') => quote = Some(*byte),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => return i + 1,
            _ => {}
        }
    }
    xml.len()
}

/// The `uniqueCount` attribute among a tag's attributes, when present: `None` when absent or
/// not a number the spreadsheet reader would read (it then reserves nothing), `u64::MAX` when
/// too long to count.
fn declared_count(attributes: &[u8]) -> Option<u64> {
    const NAME: &[u8] = b"uniqueCount";
    let mut rest = attributes;
    loop {
        let at = rest.windows(NAME.len()).position(|w| w == NAME)?;
        let preceded_by_space = at == 0 || rest[at - 1].is_ascii_whitespace();
        rest = &rest[at + NAME.len()..];
        let after: Vec<u8> = rest
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
            .copied()
            .collect();
        if !preceded_by_space || after.first() != Some(&b'=') {
            continue;
        }
        let value = after[1..]
            .iter()
            .skip_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'')
            .take_while(|b| b.is_ascii_digit());
        let mut count: u64 = 0;
        let mut digits = 0;
        for digit in value {
            digits += 1;
            count = count
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(*digit - b'0')))
                .unwrap_or(u64::MAX);
        }
        return (digits > 0).then_some(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_count_of_shared_strings_is_refused_before_parsing() {
        assert!(too_many_shared_strings(
            br#"<?xml version="1.0"?><sst xmlns="x" count="3" uniqueCount="10000000000000"><si><t>a</t></si></sst>"#, MAX_SHARED_STRINGS
        ));
        assert!(too_many_shared_strings(
            br#"<sst uniqueCount = '100001'>"#,
            MAX_SHARED_STRINGS
        ));
        assert!(too_many_shared_strings(
            br#"<!-- <sst uniqueCount="1"> --><x:sst uniqueCount="99999999999999999999999">"#,
            MAX_SHARED_STRINGS
        ));
        // Many strings under a modest declared count.
        let mut many = br#"<sst uniqueCount="1">"#.to_vec();
        many.extend(b"<si/>".repeat(100_001));
        assert!(too_many_shared_strings(&many, MAX_SHARED_STRINGS));
        // What Excel and LibreOffice write, and text that only mentions the attribute.
        assert!(!too_many_shared_strings(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="40" uniqueCount="35"><si><t>uniqueCount="200000"</t></si><si><t xml:space="preserve"> b </t></si></sst>"#, MAX_SHARED_STRINGS
        ));
        assert!(!too_many_shared_strings(
            br#"<sst count="4"><si><t>a</t></si></sst>"#,
            MAX_SHARED_STRINGS
        ));
        assert!(too_many_shared_strings(
            br#"<sst note="a > b" uniqueCount="9999999999">"#,
            MAX_SHARED_STRINGS
        ));
        assert!(!too_many_shared_strings(
            b"<sst myuniqueCount=\"999999999\">",
            MAX_SHARED_STRINGS
        ));
    }

    #[test]
    fn an_archive_that_unpacks_past_the_ceiling_is_refused() {
        use std::io::Write;
        let mut bytes = Vec::new();
        {
            let mut archive = zip::ZipWriter::new(Cursor::new(&mut bytes));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            archive.start_file("xl/bomb.xml", options).unwrap();
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..=MAX_UNPACKED_BYTES / (1024 * 1024) {
                archive.write_all(&zeros).unwrap();
            }
            archive.finish().unwrap();
        }
        assert!(
            bytes.len() < 1024 * 1024,
            "the bomb is small: {}",
            bytes.len()
        );
        let problem = check(&bytes).unwrap_err();
        assert_eq!(problem.key, "offline.problem.unpacks_too_large");
    }
}
