//! What changed between the previous `openapi.yaml` and the new one, as seen
//! by callers: operations (matched by method and path, so that a new name is
//! a rename, not a removal and an addition), parameters, and the JSON
//! bodies of requests and responses (following `$ref`s), field by field,
//! with the changes that can break callers or response decoding marked.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::select::UPSTREAM_ID;
use super::walk::{self, Node, deref};
use super::{HTTP_METHODS, pointer_of, push_token, ref_of, unescape_token};

/// Which way data flows, which decides what breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// Sent by callers (parameters, request bodies).
    Request,
    /// Decoded by the client (responses).
    Response,
}

/// `request` or `response`, by side.
fn pick<T>(side: Side, request: T, response: T) -> T {
    match side {
        Side::Request => request,
        Side::Response => response,
    }
}

/// One field of a flattened schema.
#[derive(Clone, Debug, PartialEq)]
struct Field {
    /// `string`, `number(double)`, `object`, `array`, `any`, `oneOf(2)`, ...
    ty: String,
    nullable: bool,
    /// Whether the parent requires it (array items count as required).
    required: bool,
    /// Allowed values, when an `enum` restricts them.
    values: Option<Vec<Value>>,
    /// The enclosing field's path, if any.
    parent: Option<String>,
}

/// One change, in one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `data.creator_user_id`, or empty for the scope as a whole.
    pub path: String,
    pub text: String,
    /// Why it can break callers or response decoding; `None` if it cannot.
    pub breaks: Option<&'static str>,
}

/// Changes under a heading such as `updateKey response 200`. An operation
/// that did not change is a section, headed by its id, without changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub changes: Vec<Change>,
}

/// How many changes can break callers or response decoding.
pub fn breaking(sections: &[Section]) -> usize {
    sections
        .iter()
        .flat_map(|s| &s.changes)
        .filter(|c| c.breaks.is_some())
        .count()
}

fn whole(text: &str, breaks: Option<&'static str>) -> Change {
    Change {
        path: String::new(),
        text: text.to_owned(),
        breaks,
    }
}

/// One operation of a fragment.
struct Op<'a> {
    id: String,
    upstream_id: String,
    at: String,
    value: &'a Value,
}

/// The operations of `doc` by (METHOD, path), in document order.
fn operations(doc: &Value) -> Vec<((String, String), Op<'_>)> {
    let mut out = Vec::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for method in HTTP_METHODS {
            let Some(value) = item.get(method) else {
                continue;
            };
            let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
            let id =
                text("operationId").unwrap_or_else(|| format!("{} {path}", method.to_uppercase()));
            let upstream_id = text(UPSTREAM_ID).unwrap_or_else(|| id.clone());
            let at = pointer_of(&["paths", path, method]);
            out.push((
                (method.to_uppercase(), path.clone()),
                Op {
                    id,
                    upstream_id,
                    at,
                    value,
                },
            ));
        }
    }
    out
}

/// All changes from `old` to `new`, operation by operation.
pub fn drift(old: &Value, new: &Value) -> Vec<Section> {
    let (old_ops, new_ops) = (operations(old), operations(new));
    let mut sections: Vec<Section> = Vec::new();
    for ((method, path), n) in &new_ops {
        let Some((_, o)) = old_ops
            .iter()
            .find(|(k, _)| *k == (method.clone(), path.clone()))
        else {
            let text = format!("operation added ({method} {path})");
            push(&mut sections, n.id.clone(), vec![whole(&text, None)]);
            continue;
        };
        let before = sections.len();
        let mut renames = Vec::new();
        if o.id != n.id {
            let text = format!("operationId changed: {} -> {}", o.id, n.id);
            renames.push(whole(
                &text,
                Some("the generated method is renamed; the handwritten layer must follow"),
            ));
        }
        if o.upstream_id != n.upstream_id {
            let text = format!(
                "upstream operationId changed: {} -> {} (the fragment keeps {})",
                o.upstream_id, n.upstream_id, n.id
            );
            renames.push(whole(&text, None));
        }
        push(&mut sections, n.id.clone(), renames);
        let (so, sn) = (scopes(old, o), scopes(new, n));
        let mut names: Vec<&String> = sn.keys().collect();
        names.extend(so.keys().filter(|k| !sn.contains_key(*k)));
        for scope in names {
            let side = if scope.starts_with("response") {
                Side::Response
            } else {
                Side::Request
            };
            let changes = match (so.get(scope), sn.get(scope)) {
                (None, _) if side == Side::Response => vec![whole("response added", None)],
                (_, None) if side == Side::Response => {
                    let breaks = scope
                        .starts_with("response 2")
                        .then_some("callers lose the success value they decode");
                    vec![whole("response removed", breaks)]
                }
                // A request body added or removed is its root field added or removed.
                (o, n) => compare(
                    o.unwrap_or(&BTreeMap::new()),
                    n.unwrap_or(&BTreeMap::new()),
                    side,
                ),
            };
            push(&mut sections, format!("{} {scope}", n.id), changes);
        }
        if sections.len() == before {
            sections.push(Section {
                heading: n.id.clone(),
                changes: Vec::new(),
            });
        }
    }
    for ((method, path), o) in old_ops
        .iter()
        .filter(|(k, _)| !new_ops.iter().any(|(n, _)| n == k))
    {
        let text = format!("operation removed ({method} {path})");
        push(
            &mut sections,
            o.id.clone(),
            vec![whole(&text, Some("callers of it break"))],
        );
    }
    merge_identical(sections)
}

fn push(out: &mut Vec<Section>, heading: String, changes: Vec<Change>) {
    if !changes.is_empty() {
        out.push(Section { heading, changes });
    }
}

/// The object a Reference Object stands for (itself if none resolves).
fn resolved<'a>(doc: &'a Value, at: &str, value: &'a Value) -> (String, &'a Value) {
    deref(doc, at, value).unwrap_or_else(|_| (at.to_owned(), value))
}

/// (name, pointer, object) of each entry of `value`'s `under` (`responses`,
/// `parameters`, `content`), references resolved.
fn parts<'a>(
    doc: &'a Value,
    at: &str,
    value: &'a Value,
    node: Node,
    under: &str,
) -> Vec<(String, String, &'a Value)> {
    let base = push_token(at, under);
    walk::children(value, node, at)
        .into_iter()
        .filter_map(|(pointer, _, child)| {
            let name = unescape_token(pointer.strip_prefix(&base)?.strip_prefix('/')?);
            let (pointer, child) = resolved(doc, &pointer, child);
            Some((name, pointer, child))
        })
        .collect()
}

/// The fields an operation exposes, by scope: `parameters` (each parameter
/// a field `name (in)`), `request body` and `response <code>` (the JSON
/// body; the root field, path "", stands for the body itself).
fn scopes(doc: &Value, op: &Op) -> BTreeMap<String, BTreeMap<String, Field>> {
    let mut params = BTreeMap::new();
    for (_, at, p) in parts(doc, &op.at, op.value, Node::Operation, "parameters") {
        let text = |key: &str| p.get(key).and_then(Value::as_str).unwrap_or("?");
        let label = format!("{} ({})", text("name"), text("in"));
        let required = p.get("required") == Some(&Value::Bool(true));
        let schema = p.get("schema").unwrap_or(&Value::Null);
        params.append(
            &mut Flat::of(doc, &push_token(&at, "schema"), schema, &label, required).fields,
        );
    }
    let mut out = BTreeMap::from([("parameters".to_owned(), params)]);
    let bodies = op.value.get("requestBody").map(|b| {
        let (at, body) = resolved(doc, &push_token(&op.at, "requestBody"), b);
        ("request body".to_owned(), at, body)
    });
    let responses = parts(doc, &op.at, op.value, Node::Operation, "responses");
    let responses = responses
        .into_iter()
        .map(|(code, at, r)| (format!("response {code}"), at, r));
    for (scope, at, body) in bodies.into_iter().chain(responses) {
        let required = scope != "request body" || body.get("required") == Some(&Value::Bool(true));
        let media = parts(doc, &at, body, Node::Response, "content");
        let json = media
            .into_iter()
            .find(|(m, _, _)| m.starts_with("application/json"));
        let fields = match json.and_then(|(_, at, media)| Some((at, media.get("schema")?))) {
            Some((at, schema)) => {
                Flat::of(doc, &push_token(&at, "schema"), schema, "", required).fields
            }
            None => Flat::of(doc, &at, &Value::Null, "", required).fields,
        };
        out.insert(scope, fields);
    }
    out
}

/// A schema's fields, flattened: the root (path "") and its descendants,
/// properties (`a.b`), array items (`a[]`), typed additional properties
/// (`a{}`) and the members of `anyOf`, `oneOf` and `allOf` (`a<1>`).
struct Flat<'a> {
    doc: &'a Value,
    fields: BTreeMap<String, Field>,
    /// The schemas entered through a `$ref` on the way to the current one.
    stack: Vec<String>,
}

impl<'a> Flat<'a> {
    fn of(doc: &'a Value, at: &str, schema: &'a Value, path: &str, required: bool) -> Flat<'a> {
        let mut flat = Flat {
            doc,
            fields: BTreeMap::new(),
            stack: Vec::new(),
        };
        flat.add(at, schema, path.to_owned(), required, None);
        flat
    }

    fn add(
        &mut self,
        at: &str,
        schema: &'a Value,
        path: String,
        required: bool,
        parent: Option<String>,
    ) {
        let through_ref = ref_of(schema).is_some();
        let (at, schema) = resolved(self.doc, at, schema);
        let recursive = through_ref && self.stack.contains(&at);
        let map = schema.as_object().filter(|_| !recursive);
        let get = |key: &str| map.and_then(|m| m.get(key));
        let types: Vec<&str> = match get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let named: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
        let children = if map.is_some() {
            walk::children(schema, Node::Schema, &at)
        } else {
            Vec::new()
        };
        let keyword = |pointer: &str| {
            pointer[at.len()..]
                .split('/')
                .nth(1)
                .unwrap_or_default()
                .to_owned()
        };
        let variants: Vec<String> = children
            .iter()
            .map(|(p, _, _)| keyword(p))
            .filter(|k| k.ends_with("Of"))
            .collect();
        let ty = match (recursive, named.is_empty(), variants.first()) {
            (true, _, _) => format!(
                "recursive {}",
                unescape_token(at.rsplit('/').next().unwrap_or_default())
            ),
            (false, false, _) => match get("format").and_then(Value::as_str) {
                Some(format) => format!("{}({format})", named.join("|")),
                None => named.join("|"),
            },
            (false, true, Some(kind)) => format!("{kind}({})", variants.len()),
            (false, true, None) if get("properties").is_some() => "object".to_owned(),
            (false, true, None) => "any".to_owned(),
        };
        let nullable = types.contains(&"null") || get("nullable") == Some(&Value::Bool(true));
        let values = get("enum").and_then(Value::as_array).cloned();
        self.fields.insert(
            path.clone(),
            Field {
                ty,
                nullable,
                required,
                values,
                parent,
            },
        );
        let names: Vec<&str> = get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if through_ref {
            self.stack.push(at.clone());
        }
        let mut variant = 0;
        for (pointer, _, child) in children {
            let name = unescape_token(pointer.rsplit('/').next().unwrap_or_default());
            let (child_path, child_required) = match keyword(&pointer).as_str() {
                "properties" if path.is_empty() => (name.clone(), names.contains(&name.as_str())),
                "properties" => (format!("{path}.{name}"), names.contains(&name.as_str())),
                "items" => (format!("{path}[]"), true),
                "additionalProperties"
                    if child
                        .as_object()
                        .is_some_and(|m| m.keys().any(|k| k != "nullable")) =>
                {
                    (format!("{path}{{}}"), false)
                }
                k if k.ends_with("Of") => {
                    variant += 1;
                    (format!("{path}<{variant}>"), false)
                }
                _ => continue,
            };
            self.add(
                &pointer,
                child,
                child_path,
                child_required,
                Some(path.clone()),
            );
        }
        if through_ref {
            self.stack.pop();
        }
    }
}

fn describe(f: &Field) -> String {
    let mut parts = vec![f.ty.clone()];
    if f.nullable {
        parts.push("nullable".to_owned());
    }
    if let Some(values) = &f.values {
        parts.push(format!("one of {}", show_values(values)));
    }
    parts.join(", ")
}

fn show_values(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Changes between two flattened schemas.
fn compare(
    old: &BTreeMap<String, Field>,
    new: &BTreeMap<String, Field>,
    side: Side,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut paths: BTreeSet<&String> = old.keys().collect();
    paths.extend(new.keys());
    for path in paths {
        let label = if path.is_empty() { "(body)" } else { path };
        let (field, added) = match (old.get(path), new.get(path)) {
            (Some(o), Some(n)) => {
                changes.extend(field_changes(label, o, n, side));
                continue;
            }
            (None, Some(n)) => (n, true),
            (Some(o), None) => (o, false),
            (None, None) => continue,
        };
        // Inside something added or removed: that one line says it.
        let other = if added { old } else { new };
        if field
            .parent
            .as_ref()
            .is_some_and(|p| !other.contains_key(p))
        {
            continue;
        }
        let breaks = match (added, field.required) {
            (true, true) => Some(pick(
                side,
                "callers must now send it",
                "a response without it no longer decodes",
            )),
            (true, false) => None,
            (false, _) => Some(pick(
                side,
                "callers that set it break",
                "callers that read it break",
            )),
        };
        let text = format!(
            "{} as {} ({})",
            if added { "added" } else { "removed" },
            if field.required {
                "required"
            } else {
                "optional"
            },
            describe(field)
        );
        changes.push(Change {
            path: label.to_owned(),
            text,
            breaks,
        });
    }
    changes
}

/// Both forms give the same generated Rust type (f64, i64).
fn same_rust_type(a: &str, b: &str) -> bool {
    let norm = |t: &str| {
        t.replace("number(double)", "number")
            .replace("integer(int64)", "integer")
    };
    norm(a) == norm(b)
}

/// What changed in one field, each change with why it breaks a caller
/// (request side) or the decoding of a response (response side), if it can.
fn field_changes(path: &str, o: &Field, n: &Field, side: Side) -> Vec<Change> {
    let missing = |a: &Option<Vec<Value>>, b: &Option<Vec<Value>>| -> Vec<Value> {
        let (Some(a), Some(b)) = (a, b) else {
            return Vec::new();
        };
        a.iter().filter(|v| !b.contains(v)).cloned().collect()
    };
    let (added, removed) = (missing(&n.values, &o.values), missing(&o.values, &n.values));
    let retyped = !same_rust_type(&o.ty, &n.ty);
    let optional = "a response without it no longer decodes, and its type loses the Option";
    let rules = [
        (
            o.ty != n.ty,
            format!("type changed: {} -> {}", o.ty, n.ty),
            retyped.then_some("callers send a different type"),
            retyped.then_some("the decoded type changes"),
        ),
        (
            !o.required && n.required,
            "now required (was optional)".to_owned(),
            Some("callers must now send it"),
            Some(optional),
        ),
        (
            o.required && !n.required,
            "now optional (was required)".to_owned(),
            None,
            Some("its type becomes an Option"),
        ),
        (
            !o.nullable && n.nullable,
            "now nullable".to_owned(),
            None,
            Some("a null value fails to decode into the current type"),
        ),
        (
            o.nullable && !n.nullable,
            "no longer nullable".to_owned(),
            Some("callers can no longer send null"),
            Some("its type loses the Option"),
        ),
        (
            !added.is_empty(),
            format!("enum values added: {}", show_values(&added)),
            None,
            Some("a response with the new value fails to decode into the current enum"),
        ),
        (
            !removed.is_empty(),
            format!("enum values removed: {}", show_values(&removed)),
            Some("callers sending the removed value are rejected"),
            None,
        ),
        (
            o.values.is_none() && n.values.is_some(),
            format!(
                "now restricted to {}",
                show_values(n.values.as_deref().unwrap_or_default())
            ),
            Some("callers sending other values are rejected"),
            None,
        ),
        (
            o.values.is_some() && n.values.is_none(),
            "no longer restricted to an enum".to_owned(),
            None,
            Some("a response with another value fails to decode into the current enum"),
        ),
    ];
    rules
        .into_iter()
        .filter(|rule| rule.0)
        .map(|(_, text, request, response)| Change {
            path: path.to_owned(),
            text,
            breaks: pick(side, request, response),
        })
        .collect()
}

/// Puts consecutive response sections with identical changes together
/// (`updateKey responses 400, 401, 404`).
fn merge_identical(sections: Vec<Section>) -> Vec<Section> {
    let mut out: Vec<(Section, Vec<String>)> = Vec::new();
    for section in sections {
        let split = section
            .heading
            .rsplit_once(" response ")
            .map(|(op, code)| (op.to_owned(), code.to_owned()));
        if let (Some((op, code)), Some((last, codes))) = (&split, out.last_mut())
            && last.changes == section.changes
            && !codes.is_empty()
            && last.heading.starts_with(&format!("{op} response"))
        {
            codes.push(code.clone());
            last.heading = format!("{op} responses {}", codes.join(", "));
            continue;
        }
        let codes = split.map(|(_, code)| vec![code]).unwrap_or_default();
        out.push((section, codes));
    }
    out.into_iter().map(|(s, _)| s).collect()
}

/// The summary printed after a refresh: the changes, then the operations
/// that did not change.
pub fn render(sections: &[Section]) -> String {
    let unchanged: Vec<&str> = sections
        .iter()
        .filter(|s| s.changes.is_empty())
        .map(|s| s.heading.as_str())
        .collect();
    let total: usize = sections.iter().map(|s| s.changes.len()).sum();
    if total == 0 {
        let compared = if unchanged.is_empty() {
            "no operations".to_owned()
        } else {
            unchanged.join(", ")
        };
        return format!(
            "No changes to operations, parameters, request or response schemas ({compared}).\n"
        );
    }
    let mut text = String::from(
        "Changes to operations, parameters, request and response schemas\n\
         (\"!\" marks a change that can break callers or response decoding):\n",
    );
    for section in sections.iter().filter(|s| !s.changes.is_empty()) {
        text.push_str(&format!("  {}:\n", section.heading));
        for c in &section.changes {
            let what = if c.path.is_empty() {
                c.text.clone()
            } else {
                format!("{}: {}", c.path, c.text)
            };
            match c.breaks {
                Some(why) => text.push_str(&format!("  ! {what} -- {why}\n")),
                None => text.push_str(&format!("    {what}\n")),
            }
        }
    }
    if !unchanged.is_empty() {
        text.push_str(&format!("  unchanged: {}\n", unchanged.join(", ")));
    }
    text.push_str(&format!(
        "{total} change{}, {} of which can break callers or response decoding.\n",
        if total == 1 { "" } else { "s" },
        breaking(sections)
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(data: Value, body: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "paths": {"/keys/{hash}": {"patch": {
                "operationId": "updateKey",
                "parameters": [{"name": "hash", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateKeyRequest"}}}},
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["data"], "properties": {"data": data}
                    }}}},
                    "400": {"description": "e", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}},
                    "404": {"description": "e", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
                }
            }}},
            "components": {"schemas": {
                "UpdateKeyRequest": body,
                "ErrorResponse": {"type": "object", "properties": {"error": {"$ref": "#/components/schemas/ErrorData"}}},
                "ErrorData": {"type": "object", "properties": {"code": {"type": "integer"}}}
            }}
        })
    }

    fn lines(sections: &[Section]) -> Vec<String> {
        let line = |s: &Section, c: &Change| {
            format!(
                "{} | {} | {} | {}",
                s.heading,
                c.path,
                c.text,
                if c.breaks.is_some() { "!" } else { "-" }
            )
        };
        sections
            .iter()
            .flat_map(|s| s.changes.iter().map(move |c| line(s, c)))
            .collect()
    }

    #[test]
    fn identical_documents_have_no_drift() {
        let d = doc(json!({"type": "object"}), json!({"type": "object"}));
        let sections = drift(&d, &d);
        assert_eq!(
            sections,
            [Section {
                heading: "updateKey".into(),
                changes: vec![]
            }]
        );
        assert_eq!(
            render(&sections),
            "No changes to operations, parameters, request or response schemas (updateKey).\n"
        );
    }

    #[test]
    fn response_field_changes_are_classified() {
        let old = doc(
            json!({"type": "object", "required": ["a"], "properties": {
                "a": {"type": "string"},
                "b": {"type": "number"},
                "gone": {"type": "string"},
                "kind": {"type": "string", "enum": ["x"]},
                "n": {"type": "integer"}
            }}),
            json!({"type": "object"}),
        );
        let new = doc(
            json!({"type": "object", "required": ["a", "b", "new_req"], "properties": {
                "a": {"type": "string", "nullable": true},
                "b": {"type": "number", "format": "double"},
                "new_req": {"type": "string"},
                "new_opt": {"type": "string", "format": "date-time", "nullable": true},
                "kind": {"type": "string", "enum": ["x", "y"]},
                "n": {"type": "string"}
            }}),
            json!({"type": "object"}),
        );
        assert_eq!(
            lines(&drift(&old, &new)),
            [
                "updateKey response 200 | data.a | now nullable | !",
                "updateKey response 200 | data.b | type changed: number -> number(double) | -",
                "updateKey response 200 | data.b | now required (was optional) | !",
                "updateKey response 200 | data.gone | removed as optional (string) | !",
                "updateKey response 200 | data.kind | enum values added: \"y\" | !",
                "updateKey response 200 | data.n | type changed: integer -> string | !",
                "updateKey response 200 | data.new_opt | added as optional (string(date-time), nullable) | -",
                "updateKey response 200 | data.new_req | added as required (string) | !",
            ]
        );
    }

    #[test]
    fn request_field_changes_are_classified_the_other_way() {
        let old = doc(
            json!({"type": "object"}),
            json!({"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"},
                "limit": {"type": "number", "nullable": true},
                "reset": {"type": "string", "enum": ["daily", "weekly"]},
                "old": {"type": "boolean"}
            }}),
        );
        let new = doc(
            json!({"type": "object"}),
            json!({"type": "object", "required": ["limit"], "properties": {
                "name": {"type": "string"},
                "limit": {"type": "number"},
                "reset": {"type": "string", "enum": ["daily", "monthly", null], "nullable": true},
                "extra": {"type": "boolean"}
            }}),
        );
        assert_eq!(
            lines(&drift(&old, &new)),
            [
                "updateKey request body | extra | added as optional (boolean) | -",
                "updateKey request body | limit | now required (was optional) | !",
                "updateKey request body | limit | no longer nullable | !",
                "updateKey request body | name | now optional (was required) | -",
                "updateKey request body | old | removed as optional (boolean) | !",
                "updateKey request body | reset | now nullable | -",
                "updateKey request body | reset | enum values added: \"monthly\", null | -",
                "updateKey request body | reset | enum values removed: \"weekly\" | !",
            ]
        );
    }

    #[test]
    fn shared_error_schema_changes_are_reported_once_for_all_statuses() {
        let old = doc(json!({"type": "object"}), json!({"type": "object"}));
        let mut new = old.clone();
        new["components"]["schemas"]["ErrorResponse"]["properties"]["user_id"] =
            json!({"type": "string"});
        let sections = drift(&old, &new);
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].heading, "updateKey responses 400, 404");
        assert_eq!(breaking(&sections), 0);
        let text = render(&sections);
        assert!(
            text.contains("    user_id: added as optional (string)\n"),
            "{text}"
        );
        assert!(
            text.ends_with("1 change, 0 of which can break callers or response decoding.\n"),
            "{text}"
        );
    }

    #[test]
    fn operations_parameters_and_bodies() {
        let old = doc(json!({"type": "object"}), json!({"type": "object"}));
        let mut new = old.clone();
        let op = &mut new["paths"]["/keys/{hash}"]["patch"];
        op["parameters"][0]["schema"] = json!({"type": "integer"});
        op["parameters"].as_array_mut().unwrap().push(
            json!({"name": "dry", "in": "query", "required": true, "schema": {"type": "boolean"}}),
        );
        op["responses"].as_object_mut().unwrap().shift_remove("404");
        op["responses"]["204"] = json!({"description": "none"});
        op["requestBody"]["required"] = json!(false);
        assert_eq!(
            lines(&drift(&old, &new)),
            [
                "updateKey parameters | dry (query) | added as required (boolean) | !",
                "updateKey parameters | hash (path) | type changed: string -> integer | !",
                "updateKey request body | (body) | now optional (was required) | -",
                "updateKey response 204 |  | response added | -",
                "updateKey response 404 |  | response removed | -",
            ]
        );
        let mut moved = old.clone();
        let op = moved["paths"]["/keys/{hash}"]
            .as_object_mut()
            .unwrap()
            .shift_remove("patch")
            .unwrap();
        moved["paths"]["/keys/{hash}"]["put"] = op;
        assert_eq!(
            lines(&drift(&old, &moved)),
            [
                "updateKey |  | operation added (PUT /keys/{hash}) | -",
                "updateKey |  | operation removed (PATCH /keys/{hash}) | !"
            ]
        );
    }

    #[test]
    fn renames_are_one_line_each_and_the_rest_is_compared_by_method_and_path() {
        let old = doc(json!({"type": "object"}), json!({"type": "object"}));
        let mut new = old.clone();
        let op = new["paths"]["/keys/{hash}"]["patch"]
            .as_object_mut()
            .unwrap();
        op.insert("operationId".into(), json!("patchKey"));
        op.insert(UPSTREAM_ID.into(), json!("update"));
        new["paths"]["/keys"] = json!({"get": {"operationId": "listKeys", "responses": {}}});
        assert_eq!(
            lines(&drift(&old, &new)),
            [
                "patchKey |  | operationId changed: updateKey -> patchKey | !",
                "patchKey |  | upstream operationId changed: updateKey -> update (the fragment keeps patchKey) | -",
                "listKeys |  | operation added (GET /keys) | -",
            ]
        );
        let mut renamed_upstream = old.clone();
        renamed_upstream["paths"]["/keys/{hash}"]["patch"][UPSTREAM_ID] = json!("update");
        let text = render(&drift(&old, &renamed_upstream));
        assert!(
            text.contains("  updateKey:\n    upstream operationId changed: updateKey -> update (the fragment keeps updateKey)\n"),
            "{text}"
        );
    }

    #[test]
    fn children_of_added_objects_are_not_listed_and_recursion_terminates() {
        let old = doc(
            json!({"type": "object", "properties": {}}),
            json!({"type": "object"}),
        );
        let new = doc(
            json!({"type": "object", "properties": {"meta": {"type": "object", "properties": {"x": {"type": "string"}}}}}),
            json!({"type": "object"}),
        );
        assert_eq!(
            lines(&drift(&old, &new)),
            ["updateKey response 200 | data.meta | added as optional (object) | -"]
        );

        let mut d = doc(
            json!({"$ref": "#/components/schemas/Node"}),
            json!({"type": "object"}),
        );
        d["components"]["schemas"]["Node"] = json!({"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}});
        let mut e = d.clone();
        e["components"]["schemas"]["Node"]["properties"]["v"] = json!({"type": "string"});
        assert_eq!(
            lines(&drift(&d, &e)),
            ["updateKey response 200 | data.v | added as optional (string) | -"]
        );
    }
}
