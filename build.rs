// Generates the low-level client from `openapi.yaml` with progenitor.
//
// This script is deliberately short and does no transformation of its own:
// every change to the upstream document is made, and recorded, by
// `cargo xtask refresh-spec`, so that `openapi.yaml` is the whole truth about
// what the generated code sends and accepts.

use std::{env, fs, path::Path, process::ExitCode};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TypeImpl};

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
    let file = syn::parse2::<syn::File>(tokens)
        .map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    Ok(prettyplease::unparse(&file))
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
        );
    Ok(settings)
}
