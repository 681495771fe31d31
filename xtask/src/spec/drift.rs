//! What changed between the previous `openapi.yaml` and the new one, as seen
//! by callers: operations, parameters, request and response schemas
//! (following `$ref`s), field by field, with the changes that can break
//! callers or response decoding marked.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{HTTP_METHODS, ref_of, resolve};

/// Which way data flows, which decides what breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// Sent by callers (parameters, request bodies).
    Request,
    /// Decoded by the client (responses).
    Response,
}

/// One field of a flattened schema.
#[derive(Clone, Debug, PartialEq)]
struct Field {
    /// `string`, `number(double)`, `object`, `array`, `any`, `oneOf(2)`, ...
    ty: String,
    nullable: bool,
    /// Whether the parent requires it (the root and array items count as required).
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

/// Changes grouped under a heading such as `updateKeys response 200`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub changes: Vec<Change>,
}

/// All changes from `old` to `new`, by operation.
pub fn drift(old: &Value, new: &Value) -> Vec<Section> {
    let old_ops = operations(old);
    let new_ops = operations(new);
    let mut sections: Vec<Section> = Vec::new();
    let mut ids: Vec<&String> = new_ops.keys().collect();
    ids.extend(old_ops.keys().filter(|k| !new_ops.contains_key(*k)));
    for id in ids {
        match (old_ops.get(id), new_ops.get(id)) {
            (None, Some((where_, _))) => sections.push(Section {
                heading: id.clone(),
                changes: vec![Change {
                    path: String::new(),
                    text: format!("operation added ({where_})"),
                    breaks: None,
                }],
            }),
            (Some((where_, _)), None) => sections.push(Section {
                heading: id.clone(),
                changes: vec![Change {
                    path: String::new(),
                    text: format!("operation removed ({where_})"),
                    breaks: Some("callers of it break"),
                }],
            }),
            (Some((old_where, o)), Some((new_where, n))) => {
                if old_where != new_where {
                    sections.push(Section {
                        heading: id.clone(),
                        changes: vec![Change {
                            path: String::new(),
                            text: format!("moved from {old_where} to {new_where}"),
                            breaks: Some("requests go to a different endpoint"),
                        }],
                    });
                }
                operation_drift(id, old, o, new, n, &mut sections);
            }
            (None, None) => {}
        }
    }
    merge_identical(sections)
}

/// operationId -> ("PATCH /keys/{hash}", operation), sorted by operationId.
fn operations(doc: &Value) -> BTreeMap<String, (String, &Value)> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(paths)) = doc.get("paths") {
        for (path, item) in paths {
            for method in HTTP_METHODS {
                if let Some(op) = item.get(method)
                    && let Some(id) = op.get("operationId").and_then(Value::as_str)
                {
                    out.insert(
                        id.to_owned(),
                        (format!("{} {path}", method.to_uppercase()), op),
                    );
                }
            }
        }
    }
    out
}

fn operation_drift(
    id: &str,
    old_doc: &Value,
    old: &Value,
    new_doc: &Value,
    new: &Value,
    out: &mut Vec<Section>,
) {
    // Parameters, keyed by "name (in)".
    let params = |doc: &Value, op: &Value| -> BTreeMap<String, BTreeMap<String, Field>> {
        let mut map = BTreeMap::new();
        if let Some(Value::Array(list)) = op.get("parameters") {
            for p in list {
                let p = deref(doc, p);
                let (Some(name), Some(location)) = (
                    p.get("name").and_then(Value::as_str),
                    p.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let label = format!("{name} ({location})");
                let mut fields = BTreeMap::new();
                let required = p.get("required") == Some(&Value::Bool(true));
                if let Some(schema) = p.get("schema") {
                    flatten(
                        doc,
                        schema,
                        String::new(),
                        required,
                        None,
                        &mut fields,
                        &mut Vec::new(),
                    );
                }
                map.insert(label, fields);
            }
        }
        map
    };
    let (po, pn) = (params(old_doc, old), params(new_doc, new));
    let mut changes = Vec::new();
    for (label, fields) in &pn {
        match po.get(label) {
            None => changes.push(added_or_removed(label, fields.get(""), true, Side::Request)),
            Some(old_fields) => changes.extend(compare(old_fields, fields, Side::Request, label)),
        }
    }
    for (label, fields) in &po {
        if !pn.contains_key(label) {
            changes.push(added_or_removed(
                label,
                fields.get(""),
                false,
                Side::Request,
            ));
        }
    }
    push(out, format!("{id} parameters"), changes);

    // Request body.
    let body = |doc: &Value, op: &Value| op.get("requestBody").map(|b| deref(doc, b).clone());
    let (bo, bn) = (body(old_doc, old), body(new_doc, new));
    let mut changes = Vec::new();
    let required = |b: &Option<Value>| {
        b.as_ref()
            .is_some_and(|b| b.get("required") == Some(&Value::Bool(true)))
    };
    match (&bo, &bn) {
        (None, Some(_)) => changes.push(Change {
            path: String::new(),
            text: format!(
                "request body added{}",
                if required(&bn) { ", required" } else { "" }
            ),
            breaks: required(&bn).then_some("callers must now send a body"),
        }),
        (Some(_), None) => changes.push(Change {
            path: String::new(),
            text: "request body removed".to_owned(),
            breaks: Some("callers that send a body break"),
        }),
        _ => {}
    }
    if bo.is_some() && bn.is_some() && !required(&bo) && required(&bn) {
        changes.push(Change {
            path: String::new(),
            text: "request body now required".to_owned(),
            breaks: Some("callers must now send a body"),
        });
    }
    changes.extend(content_drift(
        old_doc,
        bo.as_ref(),
        new_doc,
        bn.as_ref(),
        Side::Request,
    ));
    push(out, format!("{id} request body"), changes);

    // Responses.
    let responses = |op: &Value| -> Vec<String> {
        op.get("responses")
            .and_then(Value::as_object)
            .map(|m| m.keys().filter(|k| !k.starts_with("x-")).cloned().collect())
            .unwrap_or_default()
    };
    let (ro, rn) = (responses(old), responses(new));
    let mut codes = rn.clone();
    codes.extend(ro.iter().filter(|c| !rn.contains(c)).cloned());
    for code in codes {
        let get = |doc: &Value, op: &Value| {
            op.get("responses")
                .and_then(|r| r.get(&code))
                .map(|r| deref(doc, r).clone())
        };
        let (o, n) = (get(old_doc, old), get(new_doc, new));
        let success = code.starts_with('2');
        let mut changes = Vec::new();
        match (&o, &n) {
            (None, Some(_)) => changes.push(Change {
                path: String::new(),
                text: "response added".to_owned(),
                breaks: None,
            }),
            (Some(_), None) => changes.push(Change {
                path: String::new(),
                text: "response removed".to_owned(),
                breaks: success.then_some("callers lose the success value they decode"),
            }),
            _ => changes.extend(content_drift(
                old_doc,
                o.as_ref(),
                new_doc,
                n.as_ref(),
                Side::Response,
            )),
        }
        push(out, format!("{id} response {code}"), changes);
    }
}

fn push(out: &mut Vec<Section>, heading: String, changes: Vec<Change>) {
    if !changes.is_empty() {
        out.push(Section { heading, changes });
    }
}

/// Compares the schemas of the media types of a request body or response.
fn content_drift(
    old_doc: &Value,
    old: Option<&Value>,
    new_doc: &Value,
    new: Option<&Value>,
    side: Side,
) -> Vec<Change> {
    let media = |v: Option<&Value>| -> Vec<(String, Value)> {
        v.and_then(|v| v.get("content"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.get("schema").cloned().unwrap_or(Value::Null)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (mo, mn) = (media(old), media(new));
    let mut changes = Vec::new();
    let several = mo.len().max(mn.len()) > 1;
    for (media_type, schema) in &mn {
        let prefix = if several {
            format!("[{media_type}] ")
        } else {
            String::new()
        };
        match mo.iter().find(|(m, _)| m == media_type) {
            None => changes.push(Change {
                path: String::new(),
                text: format!("media type {media_type} added"),
                breaks: None,
            }),
            Some((_, old_schema)) => {
                let mut fo = BTreeMap::new();
                let mut fnew = BTreeMap::new();
                flatten(
                    old_doc,
                    old_schema,
                    String::new(),
                    true,
                    None,
                    &mut fo,
                    &mut Vec::new(),
                );
                flatten(
                    new_doc,
                    schema,
                    String::new(),
                    true,
                    None,
                    &mut fnew,
                    &mut Vec::new(),
                );
                for mut c in compare(&fo, &fnew, side, "") {
                    c.path = format!("{prefix}{}", c.path);
                    changes.push(c);
                }
            }
        }
    }
    for (media_type, _) in &mo {
        if !mn.iter().any(|(m, _)| m == media_type) {
            changes.push(Change {
                path: String::new(),
                text: format!("media type {media_type} removed"),
                breaks: Some(match side {
                    Side::Request => "callers sending it are rejected",
                    Side::Response => "such responses no longer decode",
                }),
            });
        }
    }
    changes
}

/// Follows `$ref`s (up to a sane depth).
fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match ref_of(value).and_then(|r| resolve(doc, r)) {
            Some(next) => value = next,
            None => break,
        }
    }
    value
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_owned()
    } else {
        format!("{path}.{segment}")
    }
}

/// Records `schema` at `path` and its descendants: properties
/// (`a.b`), array items (`a[]`), typed additional properties (`a{}`) and
/// `anyOf`/`oneOf` variants (`a<1>`). `allOf` members merge into one view.
fn flatten(
    doc: &Value,
    schema: &Value,
    path: String,
    required: bool,
    parent: Option<String>,
    out: &mut BTreeMap<String, Field>,
    stack: &mut Vec<String>,
) {
    let mut view = View::default();
    view.collect(doc, schema, stack);
    if let Some(name) = &view.recursive {
        out.insert(
            path,
            Field {
                ty: format!("recursive {name}"),
                nullable: false,
                required,
                values: None,
                parent,
            },
        );
        return;
    }
    let ty = match (&view.ty, view.variants.is_empty()) {
        (Some(t), _) => match &view.format {
            Some(f) => format!("{t}({f})"),
            None => t.clone(),
        },
        (None, false) => format!("{}({})", view.variant_kind, view.variants.len()),
        (None, true) if !view.properties.is_empty() => "object".to_owned(),
        (None, true) => "any".to_owned(),
    };
    out.insert(
        path.clone(),
        Field {
            ty,
            nullable: view.nullable,
            required,
            values: view.values.clone(),
            parent: parent.clone(),
        },
    );
    let here = Some(path.clone());
    for (name, child) in &view.properties {
        let child_required = view.required.contains(name);
        stack_guarded(
            doc,
            child,
            join(&path, name),
            child_required,
            here.clone(),
            out,
            stack,
            &view.names,
        );
    }
    if let Some(items) = &view.items {
        stack_guarded(
            doc,
            items,
            format!("{path}[]"),
            true,
            here.clone(),
            out,
            stack,
            &view.names,
        );
    }
    if let Some(extra) = &view.additional {
        stack_guarded(
            doc,
            extra,
            format!("{path}{{}}"),
            false,
            here.clone(),
            out,
            stack,
            &view.names,
        );
    }
    for (i, variant) in view.variants.iter().enumerate() {
        stack_guarded(
            doc,
            variant,
            format!("{path}<{}>", i + 1),
            false,
            here.clone(),
            out,
            stack,
            &view.names,
        );
    }
}

/// Flattens a child while the names of the components entered on the way
/// to it stay on the stack (to stop at recursion).
#[allow(clippy::too_many_arguments)]
fn stack_guarded(
    doc: &Value,
    schema: &Value,
    path: String,
    required: bool,
    parent: Option<String>,
    out: &mut BTreeMap<String, Field>,
    stack: &mut Vec<String>,
    names: &[String],
) {
    let depth = stack.len();
    stack.extend(names.iter().cloned());
    flatten(doc, schema, path, required, parent, out, stack);
    stack.truncate(depth);
}

/// A schema with its `$ref`s and `allOf` members merged.
#[derive(Default)]
struct View {
    ty: Option<String>,
    format: Option<String>,
    nullable: bool,
    values: Option<Vec<Value>>,
    properties: Vec<(String, Value)>,
    required: BTreeSet<String>,
    items: Option<Value>,
    additional: Option<Value>,
    variants: Vec<Value>,
    variant_kind: &'static str,
    /// Components entered while building the view.
    names: Vec<String>,
    /// Set when a `$ref` leads back to a component on the stack.
    recursive: Option<String>,
}

impl View {
    fn collect(&mut self, doc: &Value, schema: &Value, stack: &[String]) {
        let mut schema = schema;
        while let Some(target) = ref_of(schema) {
            let name = target.rsplit('/').next().unwrap_or(target).to_owned();
            if stack.contains(&name) || self.names.contains(&name) {
                self.recursive = Some(name);
                return;
            }
            self.names.push(name);
            match resolve(doc, target) {
                Some(next) => schema = next,
                None => return,
            }
        }
        let Some(map) = schema.as_object() else {
            return;
        };
        match map.get("type") {
            Some(Value::String(t)) => self.ty = Some(t.clone()),
            Some(Value::Array(types)) => {
                let names: Vec<&str> = types
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect();
                self.nullable |= names.len() < types.len();
                self.ty = Some(names.join("|"));
            }
            _ => {}
        }
        if let Some(Value::String(f)) = map.get("format") {
            self.format = Some(f.clone());
        }
        self.nullable |= map.get("nullable") == Some(&Value::Bool(true));
        if let Some(Value::Array(values)) = map.get("enum") {
            self.values = Some(values.clone());
        }
        if let Some(Value::Object(props)) = map.get("properties") {
            for (name, child) in props {
                match self.properties.iter_mut().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = child.clone(),
                    None => self.properties.push((name.clone(), child.clone())),
                }
            }
        }
        if let Some(Value::Array(required)) = map.get("required") {
            self.required
                .extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(items) = map.get("items") {
            self.items = Some(items.clone());
        }
        if let Some(extra @ Value::Object(m)) = map.get("additionalProperties")
            && !m.is_empty()
            && !(m.len() == 1 && m.contains_key("nullable"))
        {
            self.additional = Some(extra.clone());
        }
        for kind in ["oneOf", "anyOf"] {
            if let Some(Value::Array(variants)) = map.get(kind) {
                self.variant_kind = if kind == "oneOf" { "oneOf" } else { "anyOf" };
                self.variants.extend(variants.iter().cloned());
            }
        }
        // A single variant (how a nullable reference is written) is that variant.
        if self.variants.len() == 1 && self.ty.is_none() {
            let only = self.variants.remove(0);
            self.collect(doc, &only, stack);
        }
        if let Some(Value::Array(members)) = map.get("allOf") {
            for member in members {
                self.collect(doc, member, stack);
            }
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

fn added_or_removed(path: &str, field: Option<&Field>, added: bool, side: Side) -> Change {
    let required = field.is_some_and(|f| f.required);
    let what = field.map(describe).unwrap_or_else(|| "any".to_owned());
    let requiredness = if required { "required" } else { "optional" };
    let breaks = match (added, side, required) {
        (true, Side::Request, true) => Some("callers must now send it"),
        (true, Side::Response, true) => Some("a response without it no longer decodes"),
        (true, _, false) => None,
        (false, Side::Request, _) => Some("callers that set it break"),
        (false, Side::Response, _) => Some("callers that read it break"),
    };
    Change {
        path: path.to_owned(),
        text: format!(
            "{} as {requiredness} ({what})",
            if added { "added" } else { "removed" }
        ),
        breaks,
    }
}

/// Changes between two flattened schemas. `prefix` names the scope when
/// the root itself is a named thing (a parameter).
fn compare(
    old: &BTreeMap<String, Field>,
    new: &BTreeMap<String, Field>,
    side: Side,
    prefix: &str,
) -> Vec<Change> {
    let label = |path: &str| -> String {
        match (prefix.is_empty(), path.is_empty()) {
            (true, true) => "(body)".to_owned(),
            (true, false) => path.to_owned(),
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{path}"),
        }
    };
    let mut changes = Vec::new();
    let mut paths: BTreeSet<&String> = old.keys().collect();
    paths.extend(new.keys());
    for path in paths {
        match (old.get(path), new.get(path)) {
            (None, Some(n)) => {
                if n.parent.as_ref().is_some_and(|p| !old.contains_key(p)) {
                    continue; // inside something added
                }
                changes.push(added_or_removed(&label(path), Some(n), true, side));
            }
            (Some(o), None) => {
                if o.parent.as_ref().is_some_and(|p| !new.contains_key(p)) {
                    continue; // inside something removed
                }
                changes.push(added_or_removed(&label(path), Some(o), false, side));
            }
            (Some(o), Some(n)) => changes.extend(field_changes(&label(path), o, n, side)),
            (None, None) => {}
        }
    }
    changes
}

/// Both forms give the same generated Rust type (f64, i64).
fn same_rust_type(a: &str, b: &str) -> bool {
    let norm = |t: &str| match t {
        "number(double)" => "number".to_owned(),
        "integer(int64)" => "integer".to_owned(),
        other => other.to_owned(),
    };
    norm(a) == norm(b)
}

fn field_changes(path: &str, o: &Field, n: &Field, side: Side) -> Vec<Change> {
    let mut out = Vec::new();
    let mut change = |text: String, breaks: Option<&'static str>| {
        out.push(Change {
            path: path.to_owned(),
            text,
            breaks,
        });
    };
    if o.ty != n.ty {
        let breaks = (!same_rust_type(&o.ty, &n.ty)).then_some(match side {
            Side::Request => "callers send a different type",
            Side::Response => "the decoded type changes",
        });
        change(format!("type changed: {} -> {}", o.ty, n.ty), breaks);
    }
    if o.required != n.required {
        let (text, breaks) = match (n.required, side) {
            (true, Side::Request) => (
                "now required (was optional)",
                Some("callers must now send it"),
            ),
            (false, Side::Request) => ("now optional (was required)", None),
            (true, Side::Response) => (
                "now required (was optional)",
                Some("a response without it no longer decodes, and its type loses the Option"),
            ),
            (false, Side::Response) => (
                "now optional (was required)",
                Some("its type becomes an Option"),
            ),
        };
        change(text.to_owned(), breaks);
    }
    if o.nullable != n.nullable {
        let (text, breaks) = match (n.nullable, side) {
            (true, Side::Request) => ("now nullable", None),
            (false, Side::Request) => (
                "no longer nullable",
                Some("callers can no longer send null"),
            ),
            (true, Side::Response) => (
                "now nullable",
                Some("a null value fails to decode into the current type"),
            ),
            (false, Side::Response) => ("no longer nullable", Some("its type loses the Option")),
        };
        change(text.to_owned(), breaks);
    }
    match (&o.values, &n.values) {
        (Some(a), Some(b)) if a != b => {
            let added: Vec<Value> = b.iter().filter(|v| !a.contains(v)).cloned().collect();
            let removed: Vec<Value> = a.iter().filter(|v| !b.contains(v)).cloned().collect();
            if !added.is_empty() {
                let breaks = match side {
                    Side::Request => None,
                    Side::Response => {
                        Some("a response with the new value fails to decode into the current enum")
                    }
                };
                change(
                    format!("enum values added: {}", show_values(&added)),
                    breaks,
                );
            }
            if !removed.is_empty() {
                let breaks = match side {
                    Side::Request => Some("callers sending the removed value are rejected"),
                    Side::Response => None,
                };
                change(
                    format!("enum values removed: {}", show_values(&removed)),
                    breaks,
                );
            }
        }
        (None, Some(b)) => change(
            format!("now restricted to {}", show_values(b)),
            (side == Side::Request).then_some("callers sending other values are rejected"),
        ),
        (Some(_), None) => change(
            "no longer restricted to an enum".to_owned(),
            (side == Side::Response)
                .then_some("a response with another value fails to decode into the current enum"),
        ),
        _ => {}
    }
    out
}

/// Puts consecutive response sections with identical changes together
/// (`updateKeys responses 400, 401, 404`).
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

/// The summary printed after a refresh.
pub fn render(sections: &[Section]) -> String {
    if sections.is_empty() {
        return "No changes to operations, parameters, request or response schemas.\n".to_owned();
    }
    let mut text = String::from(
        "Changes to operations, parameters, request and response schemas\n\
         (\"!\" marks a change that can break callers or response decoding):\n",
    );
    let mut total = 0;
    let mut breaking = 0;
    for section in sections {
        text.push_str(&format!("  {}:\n", section.heading));
        for c in &section.changes {
            total += 1;
            let mark = if c.breaks.is_some() { "!" } else { " " };
            let what = if c.path.is_empty() {
                c.text.clone()
            } else {
                format!("{}: {}", c.path, c.text)
            };
            match c.breaks {
                Some(why) => {
                    breaking += 1;
                    text.push_str(&format!("  {mark} {what} -- {why}\n"));
                }
                None => text.push_str(&format!("  {mark} {what}\n")),
            }
        }
    }
    text.push_str(&format!(
        "{total} change{}, {breaking} of which can break callers or response decoding.\n",
        if total == 1 { "" } else { "s" }
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
                "operationId": "updateKeys",
                "parameters": [{"name": "hash", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateKeysRequest"}}}},
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["data"], "properties": {"data": data}
                    }}}},
                    "400": {"description": "e", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}},
                    "404": {"description": "e", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
                }
            }}},
            "components": {"schemas": {
                "UpdateKeysRequest": body,
                "ErrorResponse": {"type": "object", "properties": {"error": {"$ref": "#/components/schemas/ErrorData"}}},
                "ErrorData": {"type": "object", "properties": {"code": {"type": "integer"}}}
            }}
        })
    }

    fn lines(sections: &[Section]) -> Vec<String> {
        sections
            .iter()
            .flat_map(|s| {
                s.changes.iter().map(move |c| {
                    format!(
                        "{} | {} | {} | {}",
                        s.heading,
                        c.path,
                        c.text,
                        if c.breaks.is_some() { "!" } else { "-" }
                    )
                })
            })
            .collect()
    }

    #[test]
    fn identical_documents_have_no_drift() {
        let d = doc(json!({"type": "object"}), json!({"type": "object"}));
        assert!(drift(&d, &d).is_empty());
        assert!(render(&[]).starts_with("No changes"));
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
        let got = lines(&drift(&old, &new));
        assert_eq!(
            got,
            [
                "updateKeys response 200 | data.a | now nullable | !",
                "updateKeys response 200 | data.b | type changed: number -> number(double) | -",
                "updateKeys response 200 | data.b | now required (was optional) | !",
                "updateKeys response 200 | data.gone | removed as optional (string) | !",
                "updateKeys response 200 | data.kind | enum values added: \"y\" | !",
                "updateKeys response 200 | data.n | type changed: integer -> string | !",
                "updateKeys response 200 | data.new_opt | added as optional (string(date-time), nullable) | -",
                "updateKeys response 200 | data.new_req | added as required (string) | !",
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
        let got = lines(&drift(&old, &new));
        assert_eq!(
            got,
            [
                "updateKeys request body | extra | added as optional (boolean) | -",
                "updateKeys request body | limit | now required (was optional) | !",
                "updateKeys request body | limit | no longer nullable | !",
                "updateKeys request body | name | now optional (was required) | -",
                "updateKeys request body | old | removed as optional (boolean) | !",
                "updateKeys request body | reset | now nullable | -",
                "updateKeys request body | reset | enum values added: \"monthly\", null | -",
                "updateKeys request body | reset | enum values removed: \"weekly\" | !",
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
        assert_eq!(sections[0].heading, "updateKeys responses 400, 404");
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
    fn children_of_added_objects_are_not_listed_separately() {
        let old = doc(
            json!({"type": "object", "properties": {}}),
            json!({"type": "object"}),
        );
        let new = doc(
            json!({"type": "object", "properties": {"meta": {"type": "object", "properties": {"x": {"type": "string"}}}}}),
            json!({"type": "object"}),
        );
        let got = lines(&drift(&old, &new));
        assert_eq!(
            got,
            ["updateKeys response 200 | data.meta | added as optional (object) | -"]
        );
    }

    #[test]
    fn operations_and_parameters() {
        let old = doc(json!({"type": "object"}), json!({"type": "object"}));
        let mut new = old.clone();
        new["paths"]["/keys/{hash}"]["patch"]["parameters"][0]["schema"] =
            json!({"type": "integer"});
        new["paths"]["/keys/{hash}"]["patch"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "dry", "in": "query", "required": true, "schema": {"type": "boolean"}}));
        new["paths"]["/keys/{hash}"]["patch"]["responses"]
            .as_object_mut()
            .unwrap()
            .shift_remove("404");
        let got = lines(&drift(&old, &new));
        assert_eq!(
            got,
            [
                "updateKeys parameters | dry (query) | added as required (boolean) | !",
                "updateKeys parameters | hash (path) | type changed: string -> integer | !",
                "updateKeys response 404 |  | response removed | -",
            ]
        );
        let mut gone = old.clone();
        gone["paths"]["/keys/{hash}"]["patch"]["operationId"] = json!("renamed");
        let got = lines(&drift(&old, &gone));
        assert!(
            got.contains(&"renamed |  | operation added (PATCH /keys/{hash}) | -".to_owned()),
            "{got:?}"
        );
        assert!(
            got.contains(&"updateKeys |  | operation removed (PATCH /keys/{hash}) | !".to_owned()),
            "{got:?}"
        );
    }

    #[test]
    fn recursive_schemas_terminate() {
        let mut d = doc(
            json!({"$ref": "#/components/schemas/Node"}),
            json!({"type": "object"}),
        );
        d["components"]["schemas"]["Node"] = json!({"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}});
        let mut e = d.clone();
        e["components"]["schemas"]["Node"]["properties"]["v"] = json!({"type": "string"});
        let got = lines(&drift(&d, &e));
        assert_eq!(
            got,
            ["updateKeys response 200 | data.v | added as optional (string) | -"]
        );
    }
}
