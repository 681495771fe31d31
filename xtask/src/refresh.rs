//! `cargo xtask refresh-spec`: upstream document in, `openapi.yaml` out.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::operation::Operation;
use crate::spec::drift;
use crate::spec::emit::{self, Provenance};
use crate::spec::select::{self, Selected, check_document, find_operations};
use crate::spec::transform::{Applied, errors, hoist, openapi30};
use crate::{generate, source};

/// The operations the client is generated for: every `Operation` of the
/// crate's one list (`src/operation.rs`), found by method and path and
/// given its stable operationId whatever upstream calls it. The generated
/// methods are named after these (`update_key`), and a request body becomes
/// `<StableIdPascalCase>Request`.
fn wanted() -> Vec<(&'static str, &'static str, &'static str)> {
    Operation::ALL
        .iter()
        .map(|op| (op.id(), op.method(), op.path()))
        .collect()
}

/// The inline key objects that become the one `ApiKey`: where each is in
/// the JSON body schema of the operation's success answer. (Create's 201
/// also carries the plaintext `key` beside `data`; `GET /key` describes the
/// calling key with other fields and stays apart.)
const KEY_OBJECTS: [(Operation, &str); 4] = [
    (Operation::List, "/properties/data/items"),
    (Operation::Create, "/properties/data"),
    (Operation::Get, "/properties/data"),
    (Operation::Update, "/properties/data"),
];

/// A transform: name, why it is needed, and what it does to the document
/// (returning one line for the header).
type Transform = (
    &'static str,
    &'static str,
    fn(&mut Value, &[Selected]) -> Result<String, String>,
);

/// The transforms after the selection, in order.
const TRANSFORMS: [Transform; 6] = [
    (IDS_NAME, IDS_WHY, |doc, ops| {
        Ok(select::stable_ids(doc, ops))
    }),
    (openapi30::NAME, openapi30::WHY, |doc, _| {
        openapi30::to_openapi_3_0_3(doc)
    }),
    (errors::NAME, errors::WHY, errors::unify_error_envelopes),
    (hoist::KEY_NAME, hoist::KEY_WHY, |doc, ops| {
        let sites = KEY_OBJECTS.map(|(op, within)| (op.id(), op.success_status(), within));
        hoist::unify_key_objects(doc, ops, &sites)
    }),
    (hoist::NAME, hoist::WHY, hoist::hoist_request_bodies),
    (PRUNE_NAME, PRUNE_WHY, |doc, _| select::prune(doc)),
];

const SELECT_WHY: &str = "the crate wraps these operations only; the rest of the upstream API would only add generated code";
const IDS_NAME: &str = "stable-operation-ids";
const IDS_WHY: &str = "generated method and type names follow operationId; these stay put when upstream renames an operation (upstream's is kept as x-upstream-operation-id)";
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Unchanged,
    UpToDate,
    /// `--check` found a difference; the message says which and what to do.
    OutOfDate(String),
}

/// The workspace root (where `openapi.yaml` and `src/` live).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// `<workspace root>/openapi.yaml`.
pub fn default_spec_path() -> PathBuf {
    workspace_root().join("openapi.yaml")
}

/// The document that `source` produces, before the header is added.
pub struct Produced {
    pub doc: Value,
    pub sha256: String,
    pub size: usize,
    pub openapi_version: String,
    pub info_version: String,
    pub operations: Vec<Selected>,
    pub transforms: Vec<Applied>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Fetches, selects and transforms. Nothing is written.
pub fn produce(from: &str, max_bytes: u64) -> Result<Produced, String> {
    let bytes = source::fetch(from, max_bytes)?;
    let sha256: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let upstream = source::parse(&bytes, from)?;
    let openapi_version = check_document(&upstream)
        .map_err(|e| format!("{from}: {e}"))?
        .to_owned();
    let info_version = match upstream.pointer("/info/version") {
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
        None => "(none)".to_owned(),
    };
    let operations = find_operations(&upstream, &wanted()).map_err(|e| format!("{from}: {e}"))?;
    let mut doc = select::select(upstream, &operations).map_err(|e| format!("{from}: {e}"))?;

    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .map_or(0, |p| p.len());
    let components = doc
        .get("components")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    let components: usize = components
        .filter_map(|(_, c)| c.as_object())
        .map(|c| c.len())
        .sum();
    let mut transforms = vec![Applied {
        name: "select-operations",
        why: SELECT_WHY,
        detail: format!(
            "{} in {}, with the {components} components {} reference",
            plural(operations.len(), "operation", "operations"),
            plural(paths, "path", "paths"),
            if operations.len() == 1 { "it" } else { "they" },
        ),
    }];
    for (name, why, apply) in TRANSFORMS {
        let detail = apply(&mut doc, &operations).map_err(|e| format!("{from}: {e}"))?;
        transforms.push(Applied { name, why, detail });
    }
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
    pub fn render(&self, source: &str, retrieved: &str) -> Result<String, String> {
        emit::render(
            &self.doc,
            &Provenance {
                source,
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

/// The `retrieved` date of a refresh: `--retrieved`; else the previous date
/// while the source's sha256 is unchanged; else today for a download, or
/// the date in the file's name. An old document never gets today's date.
fn retrieved(
    opts: &Options,
    unchanged_source: bool,
    previous: Option<&str>,
    shown: &str,
) -> Result<String, String> {
    if let Some(date) = &opts.retrieved {
        return Ok(date.clone());
    }
    if let (true, Some(date)) = (unchanged_source, previous) {
        return Ok(date.to_owned());
    }
    if source::is_url(&opts.from) {
        return Ok(emit::today_utc());
    }
    emit::date_in_name(&opts.from).ok_or_else(|| {
        format!(
            "cannot tell when {shown} was retrieved from upstream: its file name holds no date (YYYY-MM-DD) \
             and it is not the document the previous openapi.yaml was made from; pass --retrieved YYYY-MM-DD"
        )
    })
}

/// Runs `refresh-spec`. Progress, the drift summary and the next steps go
/// to `out`.
pub fn run(opts: &Options, out: &mut dyn Write) -> Result<Outcome, String> {
    if let Some(date) = &opts.retrieved {
        emit::check_date(date).map_err(|e| format!("--retrieved: {e}"))?;
    }
    let produced = produce(&opts.from, opts.max_bytes)?;
    let spec = &opts.spec;
    let root = workspace_root();
    let (shown, findable) = source::display(&opts.from, &root);
    let mut say = |text: String| {
        let _ = out.write_all(text.as_bytes());
    };
    say(format!(
        "source:     {} ({} bytes, sha256 {})\nupstream:   OpenAPI {}, info.version {}\noperations: {}\n",
        opts.from,
        produced.size,
        produced.sha256,
        produced.openapi_version,
        produced.info_version,
        produced
            .operations
            .iter()
            .map(Selected::label)
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let previous = match fs::read_to_string(spec) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", spec.display())),
    };
    let header = |key| previous.as_deref().and_then(|p| emit::header_value(p, key));
    let unchanged_source = header("sha256") == Some(produced.sha256.as_str());
    let text = if opts.check {
        // Where and when are not checked: keep the file's own lines, so that
        // the diff shows only what is.
        let date = header("retrieved").map_or_else(emit::today_utc, str::to_owned);
        produced.render(header("source").unwrap_or(&shown), &date)?
    } else {
        produced.render(
            &shown,
            &retrieved(opts, unchanged_source, header("retrieved"), &shown)?,
        )?
    };
    let code = generate::check(&produced.doc, &text, &produced.operations, &root)?;

    let sections = match previous.as_deref().map(serde_norway::from_str::<Value>) {
        None => {
            say(format!("No previous {} to compare with.\n", spec.display()));
            Vec::new()
        }
        Some(Err(e)) => {
            say(format!(
                "The previous {} is not readable YAML ({e}); no drift summary.\n",
                spec.display()
            ));
            Vec::new()
        }
        Some(Ok(old)) => {
            let sections = drift::drift(&old, &produced.doc);
            say(drift::render(&sections));
            sections
        }
    };
    let same_content = previous
        .as_deref()
        .is_some_and(|p| emit::without_provenance(p) == emit::without_provenance(&text));

    if opts.check {
        let Some(prev) = previous else {
            return Ok(Outcome::OutOfDate(format!(
                "{} does not exist",
                spec.display()
            )));
        };
        if same_content {
            say(format!(
                "{} is up to date: {shown} produces it.\n",
                spec.display()
            ));
            return Ok(Outcome::UpToDate);
        }
        let diff = similar::TextDiff::from_lines(&prev, &text)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("{} (checked in)", spec.display()),
                &format!("{} (from {shown})", spec.display()),
            )
            .to_string();
        say(diff);
        return Ok(Outcome::OutOfDate(out_of_date(
            spec,
            &prev,
            &text,
            &produced.sha256,
            &shown,
            findable,
        )));
    }

    if same_content
        && (opts.retrieved.is_none() || opts.retrieved.as_deref() == header("retrieved"))
    {
        say(format!("{} is unchanged; nothing to do.\n", spec.display()));
        return Ok(Outcome::Unchanged);
    }
    emit::write_atomically(spec, &text)?;
    say(format!(
        "wrote {} (retrieved {})\n",
        spec.display(),
        emit::header_value(&text, "retrieved").unwrap_or("?")
    ));
    say(generate::next_steps(
        previous.as_deref(),
        &code,
        drift::breaking(&sections),
        &root,
    ));
    Ok(Outcome::Written)
}

/// What `--check` says when the file is not what the source produces.
fn out_of_date(
    spec: &Path,
    previous: &str,
    text: &str,
    sha256: &str,
    shown: &str,
    findable: bool,
) -> String {
    let spec = spec.display();
    let recorded = emit::header_value(previous, "sha256").unwrap_or("(none)");
    let advice = if findable {
        format!("run `cargo xtask refresh-spec --from {shown}` and commit the result")
    } else {
        format!(
            "to make {shown} the source, save it under xtask/tests/fixtures/upstream/ with its date in the name \
             and refresh from there (`cargo xtask refresh-spec --from xtask/tests/fixtures/upstream/<file>`), \
             so that the header names where it is kept"
        )
    };
    if recorded == sha256 {
        return format!(
            "{spec} is out of date: {shown} is the document it was made from (sha256 {sha256}), \
             but the xtask now makes another fragment of it; {advice}"
        );
    }
    let without_hash = |t: &str| {
        emit::without_provenance(t)
            .replace(recorded, "")
            .replace(sha256, "")
    };
    if without_hash(previous) == without_hash(text) {
        return format!(
            "{shown} is not the document {spec} records: its sha256 is {sha256}, the header records {recorded}. \
             The fragment is otherwise what it produces, so it may be another rendering of the same document \
             (YAML instead of JSON, other formatting), which has other bytes; the check vouches for the recorded \
             bytes only. Check against the document with sha256 {recorded}, or, to record this one, {advice}"
        );
    }
    format!(
        "{spec} is out of date: {shown} (sha256 {sha256}) is not the document it was made from (sha256 {recorded}), \
         and produces another fragment; {advice}"
    )
}
