//! The multipart upload of a bulk import, read the same way by the import pages and the API
//! (which use it from here: the API leans on pages' upload helpers, never the other way round).

use std::collections::HashMap;

use axum::extract::Multipart;

use crate::import::table::Source;
use crate::import::{MAX_UPLOAD_BYTES, Purpose};
use crate::services::imports::Upload;
use crate::web::error::AppError;

/// An upload as read: its text fields and its file.
pub struct ImportForm {
    pub fields: HashMap<String, String>,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl ImportForm {
    /// A yes/no field: `true`, `1`, `yes` or `on`.
    pub fn flag(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|value| {
            matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        })
    }

    pub fn upload(self) -> Upload {
        Upload {
            file_name: self.file_name,
            source: Source::Bytes(self.bytes),
        }
    }
}

/// Text fields are short; more than this in all is refused.
const TEXT_FIELDS_MAX_BYTES: usize = 16 * 1024;

/// Reads a multipart upload: the `file` field (at most [`MAX_UPLOAD_BYTES`], 422 `fields.file`
/// beyond) and the short text fields beside it.
pub async fn read_form(multipart: &mut Multipart) -> Result<ImportForm, AppError> {
    let bad = |_| AppError::BadRequest("bad_form");
    let mut form = ImportForm {
        fields: HashMap::new(),
        file_name: String::new(),
        bytes: Vec::new(),
    };
    let mut has_file = false;
    let mut text_bytes = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            has_file = true;
            form.file_name = field.file_name().unwrap_or("upload").to_owned();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if form.bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                    return Err(AppError::Validation(
                        [("file".to_owned(), "field.file.too_large".to_owned())].into(),
                    ));
                }
                form.bytes.extend_from_slice(&chunk);
            }
            continue;
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            text_bytes += chunk.len();
            if text_bytes > TEXT_FIELDS_MAX_BYTES {
                return Err(AppError::BadRequest("bad_form"));
            }
            value.extend_from_slice(&chunk);
        }
        form.fields
            .insert(name, String::from_utf8_lossy(&value).into_owned());
    }
    if !has_file || form.bytes.is_empty() {
        return Err(AppError::Validation(
            [("file".to_owned(), "field.file.empty".to_owned())].into(),
        ));
    }
    Ok(form)
}

/// The purpose field: `historical` (the default) or `on_behalf` (`on-behalf`).
pub fn purpose_of(form: &ImportForm) -> Result<Purpose, AppError> {
    match form.fields.get("purpose").map(|p| p.trim()) {
        None | Some("") => Ok(Purpose::Historical),
        Some(text) => Purpose::parse(text).ok_or_else(|| {
            AppError::Validation([("purpose".to_owned(), "import.field.purpose".to_owned())].into())
        }),
    }
}
