//! Generating the client from a fragment exactly as the build does (the
//! crate's build script is included here, settings and all), so that a
//! fragment that cannot build is never written; and telling the maintainer
//! what a new fragment changes in the generated code and for crate users.

use std::collections::BTreeMap;
use std::panic;
use std::path::Path;

use serde_json::Value;

use crate::spec::select::Selected;
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
            let before = &code[..*i];
            // Token-printed macro bodies write `crate ::x` for `crate::x`.
            let relative = ["crate", "self", "super"].iter().any(|word| {
                before
                    .trim_end()
                    .strip_suffix(word)
                    .is_some_and(|rest| !rest.ends_with(|c: char| c.is_alphanumeric() || c == '_'))
            });
            !relative && !before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
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
    operations: &[Selected],
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

/// The generated types (`type X`: the structs, enums and aliases of
/// `mod types`) and client methods (`method x`: the functions of
/// `impl Client`), each as its code, attributes included and documentation
/// left out.
fn items(code: &str) -> Result<BTreeMap<String, String>, String> {
    let file = syn::parse_file(code).map_err(|e| format!("it does not parse: {e}"))?;
    let mut out = BTreeMap::new();
    let mut add = |key: String, mut item: syn::Item| {
        undocument(&mut item);
        let file = syn::File {
            shebang: None,
            frontmatter: None,
            attrs: Vec::new(),
            items: vec![item],
        };
        out.insert(key, prettyplease::unparse(&file));
    };
    for item in file.items {
        match item {
            syn::Item::Mod(types) if types.ident == "types" => {
                for item in types.content.map(|(_, items)| items).unwrap_or_default() {
                    match &item {
                        syn::Item::Struct(syn::ItemStruct { ident, .. })
                        | syn::Item::Enum(syn::ItemEnum { ident, .. })
                        | syn::Item::Type(syn::ItemType { ident, .. }) => {
                            add(format!("type {ident}"), item)
                        }
                        _ => {}
                    }
                }
            }
            syn::Item::Impl(block)
                if block.trait_.is_none()
                    && matches!(&*block.self_ty, syn::Type::Path(t) if t.path.is_ident("Client")) =>
            {
                for method in block.items {
                    if let syn::ImplItem::Fn(f) = method {
                        let key = format!("method {}", f.sig.ident);
                        let item = syn::ItemFn {
                            attrs: f.attrs,
                            vis: f.vis,
                            modifiers: f.modifiers,
                            sig: f.sig,
                            block: Box::new(f.block),
                        };
                        add(key, syn::Item::Fn(item));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Removes the documentation of an item, its fields and its variants.
fn undocument(item: &mut syn::Item) {
    let strip = |attrs: &mut Vec<syn::Attribute>| attrs.retain(|a| !a.path().is_ident("doc"));
    let fields = |fields: &mut syn::Fields| fields.iter_mut().for_each(|f| strip(&mut f.attrs));
    match item {
        syn::Item::Struct(s) => {
            strip(&mut s.attrs);
            fields(&mut s.fields);
        }
        syn::Item::Enum(e) => {
            strip(&mut e.attrs);
            for variant in &mut e.variants {
                strip(&mut variant.attrs);
                fields(&mut variant.fields);
            }
        }
        syn::Item::Type(t) => strip(&mut t.attrs),
        syn::Item::Fn(f) => strip(&mut f.attrs),
        _ => {}
    }
}

/// (file, generated type, public name) for each `pub use` of a generated
/// type (`generated::types::X`, alone or in a group, renamed or not) in the
/// crate's top-level modules (`src/*.rs`).
fn reexports(root: &Path) -> Result<Vec<(String, String, String)>, String> {
    fn walk(tree: &syn::UseTree, path: &mut Vec<String>, out: &mut Vec<(String, String)>) {
        let generated = matches!(path.as_slice(), [.., g, t] if g == "generated" && t == "types");
        match tree {
            syn::UseTree::Path(p) => {
                path.push(p.ident.to_string());
                walk(&p.tree, path, out);
                path.pop();
            }
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, path, out)),
            syn::UseTree::Name(n) if generated => {
                out.push((n.ident.to_string(), n.ident.to_string()))
            }
            syn::UseTree::Rename(r) if generated => {
                out.push((r.ident.to_string(), r.rename.to_string()))
            }
            _ => {}
        }
    }
    let src = root.join("src");
    let cannot =
        |path: &Path, e: &dyn std::fmt::Display| format!("cannot read {}: {e}", path.display());
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&src).map_err(|e| cannot(&src, &e))? {
        let path = entry.map_err(|e| cannot(&src, &e))?.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| cannot(&path, &e))?;
        let file = syn::parse_file(&text).map_err(|e| cannot(&path, &e))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        for item in &file.items {
            if let syn::Item::Use(u) = item
                && matches!(u.vis, syn::Visibility::Public(_))
            {
                let mut found = Vec::new();
                walk(&u.tree, &mut Vec::new(), &mut found);
                out.extend(
                    found
                        .into_iter()
                        .map(|(generated, public)| (format!("src/{name}"), generated, public)),
                );
            }
        }
    }
    out.sort();
    Ok(out)
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
    let compared = old
        .and_then(codegen)
        .and_then(|old| Ok((items(&old)?, items(code)?)));
    let (old, new) = match compared {
        Ok(pair) => pair,
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
    let reexports = match reexports(root) {
        Ok(found) => found,
        Err(e) => {
            text.push_str(&format!(
                "  3. Whether crate users break is unknown: {e}.\n"
            ));
            return text;
        }
    };
    let mut reasons = Vec::new();
    for (file, generated, public) in reexports {
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
        let code = "pub x: ::uuid::Uuid, y: ::std::string::String, z: Vec<::chrono::DateTime>, \
                    w: a::b::c, v: &'a ::uuid::Uuid, format!(\"{}\", crate ::transport::x(h))";
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
                    pub struct B(i64);\n    pub enum E {\n        /// Variant doc.\n        V { /** Field doc. */ y: u8 },\n    }\n    \
                    impl A {\n        pub fn x() {}\n    }\n}\nimpl Client {\n    /// Doc.\n    pub async fn get(&self) {}\n}\n\
                    impl ClientInfo for Client {\n    fn api_version() {}\n}\n";
        let found = items(code).unwrap();
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            ["method get", "type A", "type B", "type E"]
        );
        assert_eq!(
            found["type A"],
            "#[derive(Debug)]\npub struct A {\n    pub x: i64,\n}\n"
        );
        assert_eq!(found["type B"], "pub struct B(i64);\n");
        assert_eq!(found["method get"], "pub async fn get(&self) {}\n");
        let reworded = code
            .replace("Field doc.", "Other words.")
            .replace("Variant", "A");
        assert_eq!(items(&reworded).unwrap(), found);
        assert_ne!(items(&code.replace("y: u8", "y: u16")).unwrap(), found);
        assert!(
            items("pub mod types {")
                .unwrap_err()
                .starts_with("it does not parse: ")
        );

        let found = reexports(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()).unwrap();
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
        let root = std::env::temp_dir().join(format!("xtask-reexports-{}", std::process::id()));
        std::fs::create_dir_all(root.join("src/sub")).unwrap();
        let module = "pub use crate::generated::types::{A, B as C};\npub(crate) use generated::types::D;\n\
                      pub use other::types::E;\nuse generated::types::F;\n";
        std::fs::write(root.join("src/m.rs"), module).unwrap();
        std::fs::write(root.join("src/sub/n.rs"), "pub use generated::types::G;").unwrap();
        let pair = |a: &str, b: &str| ("src/m.rs".to_owned(), a.to_owned(), b.to_owned());
        assert_eq!(reexports(&root).unwrap(), [pair("A", "A"), pair("B", "C")]);
        std::fs::write(root.join("src/bad.rs"), "pub use").unwrap();
        let err = reexports(&root).unwrap_err();
        assert!(
            err.starts_with("cannot read ") && err.contains("bad.rs: "),
            "{err}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
