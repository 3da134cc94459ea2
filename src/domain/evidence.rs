//! Evidence attached to answers: links, files (their type told by their content, never by their
//! name alone) and planned actions.

/// The three kinds of evidence, each in its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    Link,
    File,
    Action,
}

impl EvidenceKind {
    /// As routes name them: `links`, `files`, `actions`.
    pub fn from_route(segment: &str) -> Option<Self> {
        match segment {
            "links" => Some(Self::Link),
            "files" => Some(Self::File),
            "actions" => Some(Self::Action),
            _ => None,
        }
    }

    /// The table that holds it.
    pub fn table(self) -> &'static str {
        match self {
            Self::Link => "evidence_links",
            Self::File => "evidence_files",
            Self::Action => "planned_actions",
        }
    }

    /// Its name in the audit log (`evidence_link.add`, `planned_action.remove`, …).
    pub fn entity(self) -> &'static str {
        match self {
            Self::Link => "evidence_link",
            Self::File => "evidence_file",
            Self::Action => "planned_action",
        }
    }
}

/// File types accepted as evidence, recognised from the first bytes.
pub fn sniff(file_name: &str, content: &[u8]) -> Option<&'static str> {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    // The name must say what the content is: a program named plan.hta that starts like a PDF
    // would otherwise be saved under its own name by whoever downloads it.
    let named = |extensions: &[&str], media_type| {
        extensions
            .contains(&extension.as_str())
            .then_some(media_type)
    };
    if content.starts_with(b"%PDF-") {
        return named(&["pdf"], "application/pdf");
    }
    if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        return named(&["png"], "image/png");
    }
    if content.starts_with(b"\xff\xd8\xff") {
        return named(&["jpg", "jpeg"], "image/jpeg");
    }
    if content.starts_with(b"PK\x03\x04") {
        // Office documents are zip files; other archives are refused (they could hide anything).
        return match extension.as_str() {
            "docx" => {
                Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            }
            "xlsx" => Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            "pptx" => {
                Some("application/vnd.openxmlformats-officedocument.presentationml.presentation")
            }
            _ => None,
        };
    }
    let text = std::str::from_utf8(content).ok()?;
    if text.contains('\0') {
        return None;
    }
    match extension.as_str() {
        "csv" => Some("text/csv"),
        "txt" | "md" => Some("text/plain"),
        _ => None,
    }
}

/// A safe file name to store and offer for download: no path, no control characters.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_format_character(*c) && *c != '"')
        .take(200)
        .collect();
    if cleaned.trim().is_empty() {
        "evidence".to_owned()
    } else {
        cleaned.trim().to_owned()
    }
}

/// Invisible characters that change how a name reads (right-to-left overrides can show
/// `invoice\u{202e}fdp.exe` as "invoiceexe.pdf"), and zero-width ones.
fn is_format_character(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Whether a link may be stored: http or https, at most 2000 characters.
pub fn valid_link(url: &str) -> bool {
    let url = url.trim();
    url.len() <= 2000
        && (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_content_not_the_name() {
        assert_eq!(
            sniff("report.pdf", b"%PDF-1.7 ..."),
            Some("application/pdf")
        );
        assert_eq!(
            sniff("report.pdf", b"MZ\x90\x00 not a pdf"),
            None,
            "a renamed program is refused"
        );
        assert_eq!(
            sniff("scan.jpg", b"\xff\xd8\xff\xe0rest"),
            Some("image/jpeg")
        );
        assert_eq!(
            sniff("plan.docx", b"PK\x03\x04rest"),
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        assert_eq!(sniff("archive.zip", b"PK\x03\x04rest"), None);
        assert_eq!(
            sniff("notes.txt", "Notes — été".as_bytes()),
            Some("text/plain")
        );
        assert_eq!(sniff("data.bin", b"\x00\x01\x02"), None);
        // The name must agree with the content.
        assert_eq!(sniff("plan.hta", b"%PDF-1.7 <script>"), None);
        assert_eq!(sniff("plan.bat", b"\xff\xd8\xff\xe0rest"), None);
        assert_eq!(
            sniff("SCAN.JPEG", b"\xff\xd8\xff\xe0rest"),
            Some("image/jpeg")
        );
    }

    #[test]
    fn names_and_links_are_checked() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\docs\\plan \"v2\".pdf"), "plan v2.pdf");
        assert_eq!(clean_file_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert!(valid_link("https://example.org/report"));
        assert!(!valid_link("javascript:alert(1)"));
        assert!(!valid_link("https://"));
    }
}
