//! The floor rule of `web/`, enforced: a handler calls a service (`crate::services`, or
//! `crate::auth` for accounts and sessions), never storage. This test reads every file under
//! `src/web/` and fails when one names the storage module, in code or in a comment. A second
//! test keeps the API's shapes out of storage: no record type there derives `ToSchema` or
//! `IntoParams` (the API's own types are in `web::api::bodies`).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("web")
}

#[test]
fn no_file_under_web_names_the_storage_module() {
    // Spelled in two pieces so that this file does not name it either.
    let needle = ["storage", "::"].concat();
    let root = web_dir();
    let mut files = vec![];
    rust_files(&root, &mut files);
    assert!(files.len() > 40, "src/web/ was not read: {root:?}");
    let mut offending = vec![];
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if line.contains(&needle) {
                offending.push(format!(
                    "src/web/{relative}:{}: {}",
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "web/ must call services, not storage (docs/architecture.md):\n{}",
        offending.join("\n")
    );
}

#[test]
fn no_storage_record_is_an_api_shape() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("storage");
    let mut files = vec![];
    rust_files(&root, &mut files);
    assert!(files.len() > 15, "src/storage/ was not read: {root:?}");
    let mut offending = vec![];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if line.contains("ToSchema") || line.contains("IntoParams") {
                offending.push(format!(
                    "{}:{}: {}",
                    file.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offending.is_empty(),
        "API shapes belong in web::api (bodies.rs), not on storage records:\n{}",
        offending.join("\n")
    );
}
