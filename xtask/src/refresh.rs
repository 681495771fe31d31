//! `cargo xtask refresh-spec`: upstream document in, `openapi.yaml` out.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::source;
use crate::spec::emit::{self, Provenance};
use crate::spec::select::{self, check_document, find_operations};
use crate::spec::transform::{Applied, errors, hoist, openapi30};
use crate::spec::{drift, unescape_token};

/// The operations the client is generated for. Adding an operation is adding
/// its upstream `operationId` here (and, if it has a request body that the
/// handwritten layer replaces, a `with_replacement` for
/// `<OperationIdPascalCase>Request` in build.rs).
pub const OPERATIONS: &[&str] = &["updateKeys"];

const SELECT_WHY: &str = "the crate wraps these operations only; the rest of the upstream API would only add generated code";
const PRUNE_NAME: &str = "prune-unreferenced";
const PRUNE_WHY: &str = "the transforms above leave the replaced upstream schemas unused, and nothing unreferenced is kept";

/// Options of `refresh-spec`.
#[derive(Debug, Clone)]
pub struct Options {
    pub from: String,
    pub spec: PathBuf,
    pub check: bool,
    pub retrieved: Option<String>,
    pub max_bytes: u64,
}

/// How a run ended (errors aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Unchanged,
    UpToDate,
    OutOfDate,
}

/// `<workspace root>/openapi.yaml`.
pub fn default_spec_path() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .unwrap_or(manifest_dir)
        .join("openapi.yaml")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The document that `source` produces, before the header is added.
pub struct Produced {
    pub doc: Value,
    pub sha256: String,
    pub size: usize,
    pub openapi_version: String,
    pub info_version: String,
    pub operations: Vec<select::Operation>,
    pub transforms: Vec<Applied>,
}

/// Fetches, selects and transforms. Nothing is written.
pub fn produce(from: &str, max_bytes: u64) -> Result<Produced, String> {
    let bytes = source::fetch(from, max_bytes)?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let upstream = source::parse(&bytes, from)?;
    let openapi_version = check_document(&upstream)
        .map_err(|e| format!("{from}: {e}"))?
        .to_owned();
    let info_version = match upstream.get("info").and_then(|i| i.get("version")) {
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
        None => "(none)".to_owned(),
    };
    let operations = find_operations(&upstream, OPERATIONS).map_err(|e| format!("{from}: {e}"))?;
    let mut doc = select::select(&upstream, &operations).map_err(|e| format!("{from}: {e}"))?;
    drop(upstream);

    let mut transforms = Vec::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .map_or(0, |p| p.len());
    let components: usize = doc
        .get("components")
        .and_then(Value::as_object)
        .map_or(0, |c| {
            c.values()
                .filter_map(Value::as_object)
                .map(|m| m.len())
                .sum()
        });
    transforms.push(Applied {
        name: "select-operations",
        why: SELECT_WHY,
        detail: format!(
            "{} operation{} in {paths} path{}, with the {components} components {}",
            operations.len(),
            if operations.len() == 1 { "" } else { "s" },
            if paths == 1 { "" } else { "s" },
            if operations.len() == 1 {
                "it references"
            } else {
                "they reference"
            },
        ),
    });

    let edits = openapi30::to_openapi_3_0_3(&mut doc).map_err(|e| format!("{from}: {e}"))?;
    transforms.push(Applied {
        name: openapi30::NAME,
        why: openapi30::WHY,
        detail: format!(
            "OpenAPI {openapi_version} -> {}, {edits} edit{}",
            openapi30::TARGET_VERSION,
            if edits == 1 { "" } else { "s" }
        ),
    });

    let unified =
        errors::unify_error_envelopes(&mut doc, &operations).map_err(|e| format!("{from}: {e}"))?;
    transforms.push(Applied {
        name: errors::NAME,
        why: errors::WHY,
        detail: unified,
    });

    let hoisted =
        hoist::hoist_request_bodies(&mut doc, &operations).map_err(|e| format!("{from}: {e}"))?;
    transforms.push(Applied {
        name: hoist::NAME,
        why: hoist::WHY,
        detail: hoisted,
    });

    let removed = select::prune(&mut doc).map_err(|e| format!("{from}: {e}"))?;
    let mut removed_names: Vec<String> = removed
        .iter()
        .map(|p| unescape_token(p.rsplit('/').next().unwrap_or(p)))
        .collect();
    removed_names.sort_unstable();
    transforms.push(Applied {
        name: PRUNE_NAME,
        why: PRUNE_WHY,
        detail: if removed.is_empty() {
            "nothing to remove".to_owned()
        } else {
            format!("removed {}", removed_names.join(", "))
        },
    });

    Ok(Produced {
        doc,
        sha256,
        size: bytes.len(),
        openapi_version,
        info_version,
        operations,
        transforms,
    })
}

impl Produced {
    pub fn render(&self, from: &str, retrieved: &str) -> Result<String, String> {
        emit::render(
            &self.doc,
            &Provenance {
                source: from,
                sha256: &self.sha256,
                info_version: &self.info_version,
                openapi_version: &self.openapi_version,
                retrieved,
                operations: &self.operations,
                transforms: &self.transforms,
            },
        )
    }
}

/// Runs `refresh-spec`. Progress and the drift summary go to `out`.
pub fn run(opts: &Options, out: &mut dyn Write) -> Result<Outcome, String> {
    if let Some(date) = &opts.retrieved {
        emit::check_date(date).map_err(|e| format!("--retrieved: {e}"))?;
    }
    let produced = produce(&opts.from, opts.max_bytes)?;
    let spec = &opts.spec;
    let say = |out: &mut dyn Write, text: String| {
        let _ = out.write_all(text.as_bytes());
    };
    say(
        out,
        format!(
            "source:     {} ({} bytes, sha256 {})\nupstream:   OpenAPI {}, info.version {}\noperations: {}\n",
            opts.from,
            produced.size,
            produced.sha256,
            produced.openapi_version,
            produced.info_version,
            produced
                .operations
                .iter()
                .map(|o| format!("{} ({} {})", o.id, o.method.to_uppercase(), o.path))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );

    let previous = match fs::read_to_string(spec) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", spec.display())),
    };
    let previous_date = previous
        .as_deref()
        .and_then(emit::retrieved_of)
        .map(str::to_owned);

    // The date: given, else the previous one if nothing else changes, else today.
    let today = emit::today_utc();
    let mut date = opts
        .retrieved
        .clone()
        .or_else(|| previous_date.clone())
        .unwrap_or_else(|| today.clone());
    if opts.check {
        date = previous_date.clone().unwrap_or(date);
    }
    let mut text = produced.render(&opts.from, &date)?;
    let same_content = previous
        .as_deref()
        .is_some_and(|p| emit::without_retrieved(p) == emit::without_retrieved(&text));
    if !opts.check && opts.retrieved.is_none() && !same_content && date != today {
        date = today;
        text = produced.render(&opts.from, &date)?;
    }

    match &previous {
        None => say(
            out,
            format!("No previous {} to compare with.\n", spec.display()),
        ),
        Some(prev) => match serde_norway::from_str::<Value>(prev) {
            Ok(old) => say(out, drift::render(&drift::drift(&old, &produced.doc))),
            Err(e) => say(
                out,
                format!(
                    "The previous {} is not readable YAML ({e}); no drift summary.\n",
                    spec.display()
                ),
            ),
        },
    }

    if opts.check {
        let Some(prev) = previous else {
            say(out, format!("{} does not exist.\n", spec.display()));
            return Ok(Outcome::OutOfDate);
        };
        if same_content {
            say(
                out,
                format!("{} is up to date with {}.\n", spec.display(), opts.from),
            );
            return Ok(Outcome::UpToDate);
        }
        let diff = similar::TextDiff::from_lines(&prev, &text)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{} (checked in)", spec.display()),
                &format!("{} (from {})", spec.display(), opts.from),
            )
            .to_string();
        say(out, diff);
        return Ok(Outcome::OutOfDate);
    }

    if previous.as_deref() == Some(text.as_str()) {
        say(out, format!("{} is unchanged.\n", spec.display()));
        return Ok(Outcome::Unchanged);
    }
    emit::write_atomically(spec, &text)?;
    say(
        out,
        format!("wrote {} (retrieved {date})\n", spec.display()),
    );
    Ok(Outcome::Written)
}
