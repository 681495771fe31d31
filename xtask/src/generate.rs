//! Generating the client from a fragment exactly as the build does (the
//! crate's build script is included here, settings and all), so that a
//! fragment that cannot build is never written; and telling the maintainer
//! what a new fragment changes in the generated code and for crate users.

use std::collections::BTreeMap;
use std::panic;
use std::path::Path;

use serde_json::Value;

use crate::spec::select::Operation;
use crate::spec::unescape_token;
use crate::spec::walk::{self, Node};

#[allow(dead_code)]
mod build_script {
    include!("../../build.rs");
}

/// The code build.rs generates from `text`, or why it cannot. A panic inside
/// progenitor becomes an error; the default panic hook is silenced meanwhile.
pub fn codegen(text: &str) -> Result<String, String> {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(|| build_script::codegen(text));
    panic::set_hook(hook);
    result.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        Err(format!(
            "progenitor panicked: {}",
            message.lines().next().unwrap_or_default()
        ))
    })
}

/// The crates that `code` names by absolute path (`::uuid::Uuid`) and that
/// the `[dependencies]` (target-specific ones included) of `manifest`, the
/// crate's Cargo.toml, lack.
fn missing_crates(code: &str, manifest: &str) -> Result<Vec<String>, String> {
    let mut named: Vec<String> = code
        .match_indices("::")
        .filter(|(i, _)| {
            !code[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
        })
        .filter_map(|(i, _)| {
            let rest = &code[i + 2..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            rest[name.len()..].starts_with("::").then_some(name)
        })
        .filter(|name| !["std", "core", "alloc"].contains(&name.as_str()))
        .collect();
    named.sort();
    named.dedup();
    let manifest: toml::Table = manifest.parse().map_err(|e| format!("{e}"))?;
    let targets = manifest.get("target").and_then(toml::Value::as_table);
    let declared: Vec<String> = std::iter::once(&manifest)
        .chain(
            targets
                .into_iter()
                .flat_map(|t| t.values().filter_map(toml::Value::as_table)),
        )
        .filter_map(|t| t.get("dependencies")?.as_table())
        .flat_map(|deps| deps.keys().map(|name| name.replace('-', "_")))
        .collect();
    named.retain(|name| !declared.contains(name));
    Ok(named)
}

/// Generates `doc` (rendered as `text`) and checks that the crate under
/// `root` depends on every crate the code names. On failure, the error
/// names the reason and the constructs without which the fragment would
/// generate: an operation, or the parameter, body or response of one.
pub fn check(
    doc: &Value,
    text: &str,
    operations: &[Operation],
    root: &Path,
) -> Result<String, String> {
    let reason = match codegen(text) {
        Ok(code) => {
            let path = root.join("Cargo.toml");
            let missing = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|manifest| missing_crates(&code, &manifest))
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if missing.is_empty() {
                return Ok(code);
            }
            return Err(format!(
                "the fragment would not build: the generated code uses the crate(s) {}, which the crate's \
                 Cargo.toml lacks in [dependencies]; add them first",
                missing.join(", ")
            ));
        }
        Err(reason) => reason,
    };
    let generates_without = |pointer: &str| {
        let mut copy = doc.clone();
        remove(&mut copy, pointer);
        serde_norway::to_string(&copy).is_ok_and(|t| codegen(&t).is_ok())
    };
    let mut found = Vec::new();
    for op in operations {
        let at = op.pointer();
        let Some(value) = doc.pointer(&at).filter(|_| generates_without(&at)) else {
            continue;
        };
        let parts: Vec<String> = walk::children(value, Node::Operation, &at)
            .into_iter()
            .map(|(pointer, _, _)| pointer)
            .filter(|pointer| generates_without(pointer))
            .collect();
        found.extend(if parts.is_empty() { vec![at] } else { parts });
    }
    let place = match found.as_slice() {
        [] => "no single operation is to blame".to_owned(),
        [one] => format!("at {one} (the fragment generates without it)"),
        several => format!(
            "at one of {} (the fragment generates without any one of them)",
            several.join(", ")
        ),
    };
    Err(format!("the fragment would not build: {reason}\n  {place}"))
}

/// Removes the value at `pointer`, if there is one.
fn remove(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = unescape_token(last);
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.shift_remove(&key);
        }
        Some(Value::Array(list)) => {
            if let Some(i) = key.parse::<usize>().ok().filter(|i| *i < list.len()) {
                list.remove(i);
            }
        }
        _ => {}
    }
}

/// The generated types (`type X`) and client methods (`method x`), each as
/// its code (attributes included, documentation left out). prettyplease
/// writes each item of `mod types` and each method of `impl Client` at the
/// first indentation, ending with `    }` unless it is a one-line item.
fn items(code: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let (mut attrs, mut current) = (String::new(), None::<(String, String)>);
    for line in code.lines().filter(|l| !l.trim_start().starts_with("///")) {
        if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        } else if line.starts_with("    #[") {
            attrs.push_str(line);
            attrs.push('\n');
            continue;
        } else if let Some(rest) = [
            "    pub struct ",
            "    pub enum ",
            "    pub fn ",
            "    pub async fn ",
        ]
        .iter()
        .find_map(|head| Some((head.contains("fn"), line.strip_prefix(head)?)))
        {
            let name: String = rest
                .1
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let key = format!("{} {name}", if rest.0 { "method" } else { "type" });
            current = Some((key, format!("{attrs}{line}\n")));
        }
        attrs.clear();
        if line == "    }"
            || (line.starts_with("    pub ") && (line.ends_with(';') || line.ends_with('}')))
        {
            out.extend(current.take());
        }
    }
    out
}

/// (file, generated type, public name) for each `pub use` of a generated
/// type in the crate's top-level modules (`src/*.rs`).
fn reexports(root: &Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let files = std::fs::read_dir(root.join("src"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok);
    for path in files.map(|entry| entry.path()) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let file = format!(
            "src/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let ident = |s: &str| {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        };
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("pub use"))
        {
            if let Some((_, rest)) = line.split_once("generated::types::") {
                let public = rest
                    .split_once(" as ")
                    .map_or_else(|| ident(rest), |(_, alias)| ident(alias.trim()));
                out.push((file.clone(), ident(rest), public));
            }
        }
    }
    out.sort();
    out
}

/// What the maintainer does after a refresh that wrote `openapi.yaml`:
/// accept the codegen snapshot, and what changed for crate users.
/// `breaking` counts the drift changes marked `!`.
pub fn next_steps(previous: Option<&str>, code: &str, breaking: usize, root: &Path) -> String {
    let mut text = String::from(
        "Next steps:\n  1. Accept the new generated code: `EXPECTORATE=overwrite cargo test --test codegen`,\n     \
         then review `git diff tests/snapshots/codegen.rs.txt`.\n",
    );
    let old = previous.ok_or_else(|| "there is no previous openapi.yaml".to_owned());
    let (old, new) = match old.and_then(codegen) {
        Ok(old) => (items(&old), items(code)),
        Err(e) => {
            text.push_str(&format!(
                "  2. The generated code cannot be compared with the previous one ({e}).\n"
            ));
            return text;
        }
    };
    let changed: Vec<&str> = new
        .iter()
        .filter(|(k, v)| old.get(*k).is_some_and(|o| o != *v))
        .map(|(k, _)| k.as_str())
        .collect();
    let only = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| -> Vec<String> {
        a.keys().filter(|k| !b.contains_key(*k)).cloned().collect()
    };
    let (added, removed) = (only(&new, &old), only(&old, &new));
    let list = |names: &[&str]| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    let (added, removed): (Vec<&str>, Vec<&str>) = (
        added.iter().map(String::as_str).collect(),
        removed.iter().map(String::as_str).collect(),
    );
    text.push_str(&format!(
        "  2. Generated code, documentation aside: added {}; removed {}; changed {}.\n",
        list(&added),
        list(&removed),
        list(&changed)
    ));
    if removed
        .iter()
        .chain(&changed)
        .any(|n| n.starts_with("method "))
    {
        text.push_str("     The handwritten layer calls the generated methods: `cargo build` shows what src/ must follow.\n");
    }
    let mut reasons = Vec::new();
    for (file, generated, public) in reexports(root) {
        let key = format!("type {generated}");
        let Some(now) = new.get(&key) else {
            reasons.push(format!(
                "{file} re-exports `{generated}` as `{public}`, which is no longer generated"
            ));
            continue;
        };
        // The same definition under another generated name is no change.
        let renamed =
            |(k, v): (&String, &String)| *v == now.replace(&generated, &k["type ".len()..]);
        if old.get(&key) != Some(now) && !old.iter().any(renamed) {
            reasons.push(format!("the public type `{public}` ({file}, generated `{generated}`) changed; its fields are public"));
        }
    }
    match reasons.is_empty() {
        true => text
            .push_str("  3. Not breaking for crate users: no type the crate re-exports changed.\n"),
        false => text.push_str(&format!(
            "  3. Breaking for crate users (release it as a breaking version):\n     - {}\n",
            reasons.join("\n     - ")
        )),
    }
    if breaking > 0 {
        text.push_str(&format!(
            "     {breaking} change(s) above are marked \"!\": each breaks the handwritten layer or the decoding of \
             answers (which reaches crate users as `Error::Decode`); decide each in src/.\n"
        ));
    }
    text.push_str("  4. Run `cargo test --workspace`; commit openapi.yaml, the snapshot and any src/ change together.\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_the_code_names_must_be_dependencies() {
        let code =
            "pub x: ::uuid::Uuid, y: ::std::string::String, z: Vec<::chrono::DateTime>, w: a::b::c";
        let manifest =
            "[dependencies]\nchrono = { version = \"0.4\" }\n[dev-dependencies]\nuuid = \"1\"\n";
        assert_eq!(missing_crates(code, manifest).unwrap(), ["uuid"]);
        let target =
            format!("{manifest}[target.'cfg(unix)'.dependencies]\nuuid.workspace = true\n");
        assert!(missing_crates(code, &target).unwrap().is_empty());
        let inline = "dependencies = { chrono = \"0.4\", uuid = { version = \"1\" } }\n";
        assert!(missing_crates(code, inline).unwrap().is_empty());
        let err = missing_crates(code, "[dependencies\nuuid = 1\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn removing_by_pointer() {
        let mut doc = serde_json::json!({"a": {"b/c": 1, "d": [1, 2, 3]}});
        remove(&mut doc, "/a/b~1c");
        remove(&mut doc, "/a/d/1");
        remove(&mut doc, "/a/d/9");
        remove(&mut doc, "/nowhere/x");
        assert_eq!(doc, serde_json::json!({"a": {"d": [1, 3]}}));
    }

    #[test]
    fn items_ignore_documentation_and_reexports_are_found() {
        let code = "pub mod types {\n    /// Doc.\n    #[derive(Debug)]\n    pub struct A {\n        /// Field doc.\n        pub x: i64,\n    }\n    \
                    pub struct B(i64);\n    impl A {\n        pub fn x() {}\n    }\n}\nimpl Client {\n    /// Doc.\n    pub async fn get(&self) {}\n}\n";
        let found = items(code);
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            ["method get", "type A", "type B"]
        );
        assert_eq!(
            found["type A"],
            "    #[derive(Debug)]\n    pub struct A {\n        pub x: i64,\n    }\n"
        );
        assert_eq!(found["type B"], "    pub struct B(i64);\n");
        assert_eq!(items(&code.replace("Field doc.", "Other words.")), found);
        let found = reexports(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap());
        assert!(
            found
                .iter()
                .any(|(file, _, public)| file == "src/lib.rs" && public == "ApiKey"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|(_, generated, public)| generated == "ErrorData" && public == "ApiErrorBody"),
            "{found:?}"
        );
    }
}
