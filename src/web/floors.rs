//! The floor rule of `web/`, enforced: a handler calls a service (`crate::services`, or
//! `crate::auth` for accounts and sessions), never storage. This test reads every file under
//! `src/web/` and fails when one names the storage module, in code or in a comment. A second
//! test keeps the API's shapes out of storage: no record type there derives `ToSchema` or
//! `IntoParams` (the API's own types are in `web::api::bodies`). A third keeps the modules of
//! `web/` from importing each other in a circle. A fourth keeps permission checks out of the
//! handlers: no call of `Principal::require` under `src/web/` outside `permitted.rs` (a permission that depends on
//! no record is an extractor there; one about a record is checked by its service).

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

/// Every line under `src/web/` (but in the files named in `except`) that holds `needle`, as
/// `src/web/<file>:<line>: <text>`.
fn web_lines_holding(needle: &str, except: &[&str]) -> Vec<String> {
    let root = web_dir();
    let mut files = vec![];
    rust_files(&root, &mut files);
    assert!(files.len() > 40, "src/web/ was not read: {root:?}");
    let mut found = vec![];
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if except.contains(&relative.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if line.contains(needle) {
                found.push(format!(
                    "src/web/{relative}:{}: {}",
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn no_file_under_web_names_the_storage_module() {
    // Spelled in two pieces so that this file does not name it either.
    let offending = web_lines_holding(&["storage", "::"].concat(), &[]);
    assert!(
        offending.is_empty(),
        "web/ must call services, not storage (docs/architecture.md):\n{}",
        offending.join("\n")
    );
}

#[test]
fn handlers_check_no_permission_themselves() {
    // Spelled in two pieces so that this file does not hold it either.
    let offending = web_lines_holding(&[".require", "("].concat(), &["permitted.rs"]);
    assert!(
        offending.is_empty(),
        "a permission is an extractor (src/web/permitted.rs) or the service's check:\n{}",
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
        "API shapes belong in web::api (bodies/), not on storage records:\n{}",
        offending.join("\n")
    );
}

/// The modules directly under `src/web/` (a file `x.rs` or a folder `x/`).
fn web_modules(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    match name.strip_suffix(".rs") {
                        Some("mod") => None,
                        Some(stem) => Some(stem.to_owned()),
                        None if entry.path().is_dir() => Some(name),
                        None => None,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The sibling modules of `web/` that one file names in code (comments and doc links left
/// out): `crate::web::x`, `super::x` from a top-level file, `super::super::x` one level down,
/// each also in a `{a, b}` group.
fn named_siblings(text: &str, depth: usize, modules: &[String]) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut prefixes = vec!["crate::web::".to_owned()];
    prefixes.push(format!("{}super::", "super::".repeat(depth)));
    let mut found = vec![];
    for prefix in &prefixes {
        for (at, _) in code.match_indices(prefix.as_str()) {
            // `super::super::x` also contains `super::x`: count only the full path.
            if code[..at].ends_with("super::") {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or_default())
                    .collect(),
                None => vec![
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or_default(),
                ],
            };
            found.extend(
                names
                    .into_iter()
                    .filter(|name| modules.iter().any(|m| m == name))
                    .map(str::to_owned),
            );
        }
    }
    found
}

#[test]
fn the_modules_of_web_import_each_other_one_way() {
    let root = web_dir();
    let modules = web_modules(&root);
    assert!(modules.len() > 10, "src/web/ was not read: {modules:?}");
    let mut files = vec![];
    rust_files(&root, &mut files);
    // module -> the sibling modules it names
    let mut edges: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for file in files {
        let relative = file.strip_prefix(&root).unwrap_or(&file).to_path_buf();
        let parts: Vec<String> = relative
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        let Some(top) = parts.first().map(|p| p.trim_end_matches(".rs").to_owned()) else {
            continue;
        };
        if top == "mod" {
            continue;
        }
        // How far below web/ the file's own module sits: `x.rs` and `x/mod.rs` are one level
        // (super is web), `x/y.rs` two (super::super is web).
        let depth = match parts.len() {
            1 => 0,
            2 if parts[1] == "mod.rs" => 0,
            n => n - 1,
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for sibling in named_siblings(&text, depth, &modules) {
            if sibling != top {
                edges.entry(top.clone()).or_default().insert(sibling);
            }
        }
    }
    // A circle exists when a module reaches itself.
    let mut circles = vec![];
    for start in edges.keys() {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<&String> = edges[start].iter().collect();
        while let Some(module) = stack.pop() {
            if module == start {
                circles.push(start.clone());
                break;
            }
            if seen.insert(module.clone()) {
                stack.extend(edges.get(module).into_iter().flatten());
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules of web/ in an import circle: {circles:?}\n(each names: {edges:?})"
    );
}
