//! What the OpenAPI document says beyond the handlers' own annotations: how to authenticate,
//! where the server is, and the framework document's JSON schema.
//!
//! utoipa builds the operations from each handler's `#[utoipa::path]`; [`complete`] adds, once for
//! the whole document:
//! - the two security schemes (the session cookie, a personal token as `Authorization: Bearer`)
//!   required by every operation but those that must work signed out ([`PUBLIC`]);
//! - `servers` (the service itself: every path already starts with `/api/v1` or is a probe);
//! - the error responses every operation may give besides its own (a malformed request, no or
//!   refused credentials, an unknown record, a body too large or of the wrong type, an internal
//!   error or an unavailable database), all with the `ErrorBody` shape (see `api::errors`);
//! - the framework document's schema, `FrameworkDocument`, taken from `docs/framework.schema.json`
//!   (the schema published for authors) so that the two cannot drift: its `$defs` become
//!   components named `Framework.<name>` and its references point at them.
//!
//! The document stays a `serde_json::Value` after this step: JSON Schema keywords such as `const`
//! and `$ref` inside properties have no place in utoipa's own types.

use serde_json::{Map, Value, json};

/// The framework document's JSON schema, as published in `docs/`.
const FRAMEWORK_SCHEMA: &str = include_str!("../../../docs/framework.schema.json");

/// Name of the framework document's schema among the components.
pub const FRAMEWORK_DOCUMENT: &str = "FrameworkDocument";

/// Operations that need no sign-in: `(method, path)`.
pub const PUBLIC: [(&str, &str); 3] = [
    ("post", "/api/v1/session"),
    ("get", "/livez"),
    ("get", "/readyz"),
];

/// The document with security schemes, servers and the framework schema added.
pub fn complete(document: &utoipa::openapi::OpenApi) -> Value {
    let mut document = serde_json::to_value(document).unwrap_or_else(|_| json!({}));
    let Some(root) = document.as_object_mut() else {
        return document;
    };
    root.insert(
        "servers".into(),
        json!([{"url": "/", "description": "This service (paths include /api/v1)"}]),
    );
    let components = root
        .entry("components")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(components) = components {
        components.insert("securitySchemes".into(), security_schemes());
        if let Some(schemas) = components
            .entry("schemas")
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            add_framework_schema(schemas);
        }
    }
    root.insert("security".into(), json!([{"session": []}, {"token": []}]));
    if let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                let public = PUBLIC.contains(&(method.as_str(), path.as_str()));
                if let Some(operation) = operation.as_object_mut() {
                    add_error_responses(operation, public);
                }
            }
        }
        for (method, path) in PUBLIC {
            if let Some(operation) = paths
                .get_mut(path)
                .and_then(|item| item.get_mut(method))
                .and_then(Value::as_object_mut)
            {
                // An empty requirement: callable without credentials.
                operation.insert("security".into(), json!([{}]));
            }
        }
    }
    document
}

/// Adds the error responses an operation may give before or besides its handler's own.
fn add_error_responses(operation: &mut Map<String, Value>, public: bool) {
    let parameters = operation
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let located = |place: &str| parameters.iter().any(|p| p["in"] == place);
    let has_body = operation.contains_key("requestBody");
    let mut statuses: Vec<(&str, &str)> = vec![
        ("500", "Internal error (the cause is logged, never sent)"),
        ("503", "Database unavailable, or the request took too long"),
    ];
    if !public {
        statuses.push(("401", "Not signed in (no or unknown session or token)"));
        statuses.push((
            "403",
            "Not allowed, or the CSRF token is missing (session only)",
        ));
    }
    if located("path") || located("query") || has_body {
        statuses.push((
            "400",
            "A malformed request (a parameter or body that cannot be read)",
        ));
    }
    if located("path") {
        statuses.push(("404", "No such record, or not one the caller may see"));
    }
    if located("query") || has_body {
        statuses.push(("422", "The input is wrong; `fields` names each field"));
    }
    if has_body {
        statuses.push(("413", "The body is larger than allowed"));
        statuses.push(("415", "The body is not of the type the operation takes"));
    }
    let Some(responses) = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    else {
        return;
    };
    for (status, description) in statuses {
        responses.entry(status).or_insert_with(|| {
            json!({
                "description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
            })
        });
    }
}

fn security_schemes() -> Value {
    json!({
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": "pledge_session",
            "description": "The session cookie set by `POST /api/v1/session` (named \
                `__Host-pledge_session` when the service is reached over HTTPS). Calls that \
                change data also need the session's CSRF token in the `X-CSRF-Token` header."
        },
        "token": {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (`POST /api/v1/me/tokens`), sent as \
                `Authorization: Bearer <token>`. No CSRF token is needed."
        }
    })
}

/// Adds `FrameworkDocument` and its parts (`Framework.<name>`) to `schemas`.
fn add_framework_schema(schemas: &mut Map<String, Value>) {
    let Ok(Value::Object(mut schema)) = serde_json::from_str::<Value>(FRAMEWORK_SCHEMA) else {
        return;
    };
    schema.remove("$schema");
    // Generators name the class after `title` when there is one: the standalone file's human
    // title made openapi-python-client call the framework document `Field1`.
    schema.insert("title".into(), Value::String(FRAMEWORK_DOCUMENT.into()));
    let definitions = match schema.remove("$defs") {
        Some(Value::Object(definitions)) => definitions,
        _ => Map::new(),
    };
    for (name, mut definition) in definitions {
        point_references_at_components(&mut definition);
        schemas.insert(format!("Framework.{name}"), definition);
    }
    let mut schema = Value::Object(schema);
    point_references_at_components(&mut schema);
    schemas.insert(FRAMEWORK_DOCUMENT.into(), schema);
}

/// Rewrites `#/$defs/x` references to `#/components/schemas/Framework.x`.
fn point_references_at_components(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/components/schemas/Framework.{name}");
                        }
                    }
                    _ => point_references_at_components(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(point_references_at_components),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framework_schema_keeps_no_reference_to_its_own_root() {
        let mut schemas = Map::new();
        add_framework_schema(&mut schemas);
        assert!(schemas.contains_key(FRAMEWORK_DOCUMENT));
        assert!(
            schemas
                .keys()
                .filter(|k| k.starts_with("Framework."))
                .count()
                > 5
        );
        let text = Value::Object(schemas).to_string();
        assert!(
            !text.contains("#/$defs/"),
            "a reference still points at $defs"
        );
        assert!(text.contains("#/components/schemas/Framework.goal"));
    }
}
