// Generates the low-level client from `openapi.yaml` with progenitor.
//
// This script is deliberately short and changes nothing in the document:
// every change to the upstream document is made, and recorded, by
// `cargo xtask refresh-spec`, so that `openapi.yaml` is the whole truth about
// what the generated code sends and accepts. The one edit it makes is to
// progenitor's output: the `api-version` header progenitor adds from
// `info.version` is removed (see `drop_api_version_header`).

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
    drop_api_version_header(&mut file)?;
    Ok(prettyplease::unparse(&file))
}

/// Removes the `api-version` header that progenitor adds to every request
/// from the spec's `info.version` (no setting turns it off). OpenRouter
/// documents no such header, so it is not sent; and building it costs every
/// call a header map of its own (two allocations) that would only be thrown
/// away. Each operation method starts with
/// `let mut header_map = HeaderMap::with_capacity(n);` and
/// `header_map.append(HeaderName::from_static("api-version"), ..);`: the
/// second goes, and the capacity of the first shrinks by one. Anything else
/// is an error, so that a change in progenitor's output is noticed here and
/// not on the wire.
fn drop_api_version_header(file: &mut syn::File) -> Result<(), String> {
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
            let Some(at) = stmts.iter().position(is_api_version_append) else {
                continue;
            };
            methods += 1;
            let shrunk = at
                .checked_sub(1)
                .and_then(|before| shrink_header_map(&mut stmts[before]));
            if shrunk.is_none() {
                return Err(format!(
                    "`{}`: the `api-version` header is not added right after \
                     `HeaderMap::with_capacity(n)` as build.rs expects; progenitor's \
                     output changed, so update `drop_api_version_header`",
                    method.sig.ident
                ));
            }
            stmts.remove(at);
        }
    }
    if methods == 0 {
        return Err(
            "no `api-version` header found in the generated methods; progenitor's \
                    output changed, so update `drop_api_version_header`"
                .to_owned(),
        );
    }
    Ok(())
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

/// `let mut header_map = HeaderMap::with_capacity(n);` becomes `n - 1`.
fn shrink_header_map(stmt: &mut syn::Stmt) -> Option<()> {
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
    Some(())
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
