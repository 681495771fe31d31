// Generates the low-level client from `openapi.yaml` with progenitor.
//
// This script is deliberately short and changes nothing in the document:
// every change to the upstream document is made, and recorded, by
// `cargo xtask refresh-spec`, so that `openapi.yaml` is the whole truth about
// what the generated code sends and accepts. It edits progenitor's output of
// each operation method in checked ways (see `edit_operation`): the
// `api-version` header goes, a path parameter is encoded without a copy,
// and the answer is handed back unread, for the crate's one reader of
// answers (`src/call.rs`).

use std::{env, fs, path::Path, process::ExitCode};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TypeImpl, TypePatch};

const SPEC: &str = "openapi.yaml";

fn main() -> ExitCode {
    // Only these two inputs can change the output. In particular, editing
    // `src/` must not rerun this script.
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");

    match generate() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Cargo shows a failing build script's stderr; one line per problem.
            eprintln!("error: {SPEC}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn generate() -> Result<(), String> {
    let text = fs::read_to_string(SPEC).map_err(|e| format!("cannot read: {e}"))?;
    let code = codegen(&text)?;

    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set; run through cargo")?;
    let out = Path::new(&out_dir).join("codegen.rs");
    // Cargo gives every build script its own OUT_DIR, so nothing else reads
    // this file while it is written; still, write beside it and rename so
    // that an interrupted build never leaves a half-written file behind.
    let tmp = out.with_extension("rs.tmp");
    fs::write(&tmp, code).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, &out).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(())
}

/// The client's code for the OpenAPI 3.0 document `text`. The xtask includes
/// this file and calls this function before it writes `openapi.yaml`, so a
/// fragment that the build could not turn into code is never written.
pub(crate) fn codegen(text: &str) -> Result<String, String> {
    let spec: openapiv3::OpenAPI = serde_norway::from_str(text)
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;
    let settings = settings()?;
    let mut generator = Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor could not generate a client: {e}"))?;
    let mut file = syn::parse2::<syn::File>(tokens)
        .map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    edit_operations(&mut file)?;
    Ok(prettyplease::unparse(&file))
}

/// Edits every operation method of the generated client (see
/// `edit_operation`); any other shape is an error, so that a change in
/// progenitor's output is noticed here and not on the wire.
fn edit_operations(file: &mut syn::File) -> Result<(), String> {
    let mut methods = 0;
    for item in &mut file.items {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        for item in &mut block.items {
            let syn::ImplItem::Fn(method) = item else {
                continue;
            };
            let stmts = &mut method.block.stmts;
            if stmts.iter().any(is_api_version_append) {
                methods += 1;
                edit_operation(stmts).map_err(|what| {
                    format!(
                        "`{}`: {what}; progenitor's output changed, so update build.rs",
                        method.sig.ident
                    )
                })?;
            }
        }
    }
    if methods == 0 {
        return Err(
            "no operation method found in the generated code (none adds \
                    the `api-version` header); progenitor's output changed, so update build.rs"
                .to_owned(),
        );
    }
    Ok(())
}

/// The edits of one operation method:
///
/// - The `api-version` header that progenitor adds to every request from
///   the spec's `info.version` goes (no setting turns it off). OpenRouter
///   documents no such header, and building it costs every call a header
///   map of its own. The method starts with
///   `let mut header_map = HeaderMap::with_capacity(n);` and
///   `header_map.append(HeaderName::from_static("api-version"), ..);`: the
///   second goes, and the capacity of the first shrinks by one; when no
///   header is left, the map goes too, with the `.headers(header_map)`
///   that hands it to the request.
/// - A path parameter goes into the URL as `encode_path(&hash.to_string())`:
///   a copy of the string, then a percent-encoded copy of that.
///   `crate::transport::path_segment(hash)` gives the same text, and
///   borrows it when nothing needs encoding (a hash never does).
/// - The method ends with `let response = result?;` and a `match` on the
///   status that decodes the answer. That `match` becomes
///   `Err(Error::UnexpectedResponse(response))`: every answer, success or
///   not, reaches the caller unread, and `src/call.rs` reads it in one
///   place (the status, the wait hint, the body within its cap, and the
///   decoding into the type that this method's signature names). Left in,
///   the `match` would decode error bodies that need not be JSON, and lose
///   their status when they are not.
fn edit_operation(stmts: &mut Vec<syn::Stmt>) -> Result<(), &'static str> {
    let at = stmts
        .iter()
        .position(is_api_version_append)
        .ok_or("no `api-version` header")?;
    let left = at
        .checked_sub(1)
        .and_then(|before| shrink_header_map(&mut stmts[before]))
        .ok_or("the `api-version` header does not follow `HeaderMap::with_capacity(n)`")?;
    stmts.remove(at);
    if left == 0 {
        // No header is left to add: the map, and the call that adds it to
        // the request, go too.
        stmts.remove(at - 1);
        let dropped = stmts.iter_mut().any(|stmt| match stmt {
            syn::Stmt::Local(local) => local
                .init
                .as_mut()
                .is_some_and(|init| drop_headers_call(&mut init.expr)),
            _ => false,
        });
        if !dropped {
            return Err("the request is not built with `.headers(header_map)`");
        }
    }
    for stmt in stmts.iter_mut() {
        encode_path_segments(stmt)?;
    }

    let [.., response, last] = stmts.as_mut_slice() else {
        return Err("the method is too short");
    };
    if !is_response_binding(response) || !is_status_match(last) {
        return Err(
            "the method does not end with `let response = result?;` and a `match` \
                    on `response.status().as_u16()`",
        );
    }
    *last = syn::Stmt::Expr(
        syn::parse_quote!(Err(Error::UnexpectedResponse(response))),
        None,
    );
    Ok(())
}

/// In `let url = format!(..);`, each `encode_path(&x.to_string())` becomes
/// `crate::transport::path_segment(x)`.
fn encode_path_segments(stmt: &mut syn::Stmt) -> Result<(), &'static str> {
    let syn::Stmt::Local(local) = stmt else {
        return Ok(());
    };
    let Some(syn::Expr::Macro(format)) = local.init.as_mut().map(|init| &mut *init.expr) else {
        return Ok(());
    };
    if !matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "url")
        || !format.mac.path.is_ident("format")
    {
        return Ok(());
    }
    let mut args = format
        .mac
        .parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        .map_err(|_| "the URL's `format!` does not parse")?;
    for arg in args.iter_mut() {
        if let Some(param) = encoded_param(arg) {
            *arg = syn::parse_quote!(crate::transport::path_segment(#param));
        }
    }
    *stmt = syn::parse_quote!(let url = format!(#args););
    Ok(())
}

/// `x` of `encode_path(&x.to_string())`.
fn encoded_param(expr: &syn::Expr) -> Option<syn::Expr> {
    let syn::Expr::Call(call) = expr else {
        return None;
    };
    let syn::Expr::Path(func) = &*call.func else {
        return None;
    };
    if !func.path.is_ident("encode_path") || call.args.len() != 1 {
        return None;
    }
    let syn::Expr::Reference(reference) = call.args.first()? else {
        return None;
    };
    let syn::Expr::MethodCall(to_string) = &*reference.expr else {
        return None;
    };
    (to_string.method == "to_string" && to_string.args.is_empty())
        .then(|| (*to_string.receiver).clone())
}

/// `let response = result?;`
fn is_response_binding(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Local(local) = stmt else {
        return false;
    };
    matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "response")
        && matches!(
            local.init.as_ref().map(|init| &*init.expr),
            Some(syn::Expr::Try(_))
        )
}

/// `match response.status().as_u16() { .. }`, as the method's value.
fn is_status_match(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::Match(m), None) = stmt else {
        return false;
    };
    matches!(&*m.expr, syn::Expr::MethodCall(call) if call.method == "as_u16")
}

/// `header_map.append(HeaderName::from_static("api-version"), ..);`
fn is_api_version_append(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = stmt else {
        return false;
    };
    let Some(syn::Expr::Call(name)) = call.args.first() else {
        return false;
    };
    call.method == "append"
        && matches!(
            name.args.first(),
            Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })) if s.value() == "api-version"
        )
}

/// Removes `.headers(header_map)` from the method chain that builds the
/// request (`self.client.patch(url)....headers(header_map).build()?`).
fn drop_headers_call(expr: &mut syn::Expr) -> bool {
    match expr {
        syn::Expr::Try(inner) => drop_headers_call(&mut inner.expr),
        syn::Expr::MethodCall(call)
            if call.method == "headers"
                && matches!(
                    call.args.first(),
                    Some(syn::Expr::Path(arg)) if call.args.len() == 1 && arg.path.is_ident("header_map")
                ) =>
        {
            *expr = (*call.receiver).clone();
            true
        }
        syn::Expr::MethodCall(call) => drop_headers_call(&mut call.receiver),
        _ => false,
    }
}

/// `let mut header_map = HeaderMap::with_capacity(n);` becomes `n - 1`,
/// which it returns.
fn shrink_header_map(stmt: &mut syn::Stmt) -> Option<usize> {
    let syn::Stmt::Local(local) = stmt else {
        return None;
    };
    let syn::Expr::Call(call) = &mut *local.init.as_mut()?.expr else {
        return None;
    };
    let syn::Expr::Path(func) = &*call.func else {
        return None;
    };
    if func.path.segments.last()?.ident != "with_capacity" {
        return None;
    }
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Int(n),
        ..
    }) = call.args.first_mut()?
    else {
        return None;
    };
    let less = n.base10_parse::<usize>().ok()?.checked_sub(1)?;
    *n = syn::LitInt::new(&format!("{less}usize"), n.span());
    Some(less)
}

/// The generation settings, in one place (`codegen` above uses them).
pub(crate) fn settings() -> Result<GenerationSettings, String> {
    let mut settings = GenerationSettings::new();
    settings
        // One method per operation taking its parameters in order; the
        // handwritten layer is the public interface, so builder-style
        // methods would only add code that nobody calls.
        .with_interface(InterfaceStyle::Positional)
        // The generated `Client` carries the handwritten transport state
        // (credentials, retry and timeout configuration) in this field; the
        // `ClientHooks::exec` implementation reads it on every attempt.
        .with_inner_type(
            "crate::transport::Inner"
                .parse()
                .map_err(|e| format!("{e:?}"))?,
        )
        // A missing `impl ClientHooks for Client` must be a compile error,
        // never a silent fall-back to a client without retries or auth.
        .with_hooks(HooksMode::Expected)
        // The request body needs three states per nullable field (absent,
        // null, value), which typify cannot express. The handwritten type
        // serialises exactly what the caller set. The xtask hoists the inline
        // body into this named component so that the replacement can apply.
        .with_replacement(
            "UpdateKeyRequest",
            "crate::request::KeyUpdate",
            std::iter::empty::<TypeImpl>(),
        )
        // The create body: validated before sending, with the expiry held
        // to the one form the API takes (UTC, whole seconds).
        .with_replacement(
            "CreateKeyRequest",
            "crate::request::NewKey",
            std::iter::empty::<TypeImpl>(),
        )
        // Callers compare what they read.
        .with_derive("PartialEq")
        // Every timestamp as the text the API sends (RFC 3339), whatever
        // its `format` says: one type for all of them, and no date library
        // in the public API.
        .with_conversion(
            schemars::schema::SchemaObject {
                instance_type: Some(schemars::schema::InstanceType::String.into()),
                format: Some("date-time".to_owned()),
                ..Default::default()
            },
            "::std::string::String",
            [TypeImpl::Display].into_iter(),
        );
    // The answers the crate re-exports may gain fields in a minor release
    // (see CHANGELOG.md): nobody outside can build one with a struct
    // literal, so a new field breaks no caller.
    let grows = TypePatch::default().with_attr("#[non_exhaustive]").clone();
    for name in [
        "ApiKey",
        "ErrorData",
        "GetCurrentKeyResponseData",
        "GetCurrentKeyResponseDataRateLimit",
    ] {
        settings.with_patch(name, &grows);
    }
    Ok(settings)
}
