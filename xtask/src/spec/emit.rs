//! Writing `openapi.yaml`: the provenance header, the YAML body, the
//! retrieval date, and the atomic replacement of the file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::select::Selected;
use super::transform::Applied;

/// The two header lines that `--check` ignores: they say where and when,
/// not what.
const IGNORED: [&str; 2] = ["source", "retrieved"];

/// What the header records about where the document came from.
pub struct Provenance<'a> {
    /// The source for people: a URL, a path relative to the workspace root,
    /// or a bare file name (see `source::display`).
    pub source: &'a str,
    /// sha256 of the upstream document's bytes, lower-case hex.
    pub sha256: &'a str,
    /// Upstream `info.version`.
    pub info_version: &'a str,
    /// Upstream `openapi` version.
    pub openapi_version: &'a str,
    /// `YYYY-MM-DD`.
    pub retrieved: &'a str,
    pub operations: &'a [Selected],
    pub transforms: &'a [Applied],
}

/// The YAML-comment header.
pub fn header(p: &Provenance) -> String {
    let mut h = String::new();
    let mut line = |text: &str| {
        h.push_str(text.trim_end());
        h.push('\n');
    };
    line("# The part of OpenRouter's OpenAPI description that this crate's client is");
    line("# generated from (build.rs feeds it to progenitor).");
    line("# Produced by `cargo xtask refresh-spec`; do not edit by hand.");
    line("#");
    line(&format!("# source:         {}", p.source));
    line(&format!("# sha256:         {}", p.sha256));
    line(&format!(
        "# info.version:   {} (upstream document is OpenAPI {})",
        p.info_version, p.openapi_version
    ));
    line(&format!("# retrieved:      {}", p.retrieved));
    line("#   The day the source was retrieved from upstream: `--retrieved`, else the");
    line("#   previous date while the source's sha256 is unchanged, else the date in the");
    line("#   file's name, or today for a download. `--check` ignores this line and the");
    line("#   source line: it checks content, wherever the source is.");
    let ops: Vec<String> = p.operations.iter().map(Selected::label).collect();
    line(&format!("# operations:     {}", ops.join(", ")));
    line("# transforms, in order:");
    for (i, t) in p.transforms.iter().enumerate() {
        line(&format!("#   {}. {}: {}", i + 1, t.name, t.detail));
        line(&format!("#      why: {}", t.why));
    }
    line("#");
    line("# To verify: the sha256 above must be that of the source document, and");
    line("# `cargo xtask refresh-spec --from <any copy of it> --check` must pass.");
    h
}

/// Header followed by the document as YAML.
pub fn render(doc: &Value, p: &Provenance) -> Result<String, String> {
    let body = serde_norway::to_string(doc).map_err(|e| format!("cannot write YAML: {e}"))?;
    Ok(format!("{}{body}", header(p)))
}

/// The value of a header line (`sha256`, `retrieved`, `source`) of a
/// previously written file.
pub fn header_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| field(l, key))
        .map(str::trim)
}

/// The rest of a `# <key>:` header line after the colon, if `line` is one.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix("# ")?
        .strip_prefix(key)?
        .strip_prefix(':')
}

/// `text` without the header lines that `--check` ignores.
pub fn without_provenance(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        in_header &= line.starts_with('#');
        let ignored = IGNORED.iter().any(|key| field(line, key).is_some());
        if !(in_header && ignored) {
            out.push_str(line);
        }
    }
    out
}

/// Replaces `path` with `text` atomically: write a temporary file in the
/// same directory, flush it to disk, then rename it over the target.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| format!("{} is not a file path", path.display()))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// The first `YYYY-MM-DD` naming a real day in the file name of `path`.
pub fn date_in_name(path: &str) -> Option<String> {
    let name = Path::new(path).file_name()?.to_str()?;
    let chars: Vec<char> = name.chars().collect();
    chars
        .windows(10)
        .map(|w| w.iter().collect::<String>())
        .find(|w| check_date(w).is_ok())
}

/// Accepts exactly `YYYY-MM-DD` naming a real day: what chrono reads back
/// as the same text (so no missing zeros, signs or extra digits).
pub fn check_date(text: &str) -> Result<(), String> {
    match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) if date.format("%Y-%m-%d").to_string() == text => Ok(()),
        _ => Err(format!("`{text}` is not a date of the form YYYY-MM-DD")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provenance<'a>(
        ops: &'a [Selected],
        transforms: &'a [Applied],
        date: &'a str,
    ) -> Provenance<'a> {
        Provenance {
            source: "upstream.json",
            sha256: "00ff",
            info_version: "1.0.0",
            openapi_version: "3.1.0",
            retrieved: date,
            operations: ops,
            transforms,
        }
    }

    #[test]
    fn header_records_provenance_and_the_date_line_can_be_ignored() {
        let ops = [Selected {
            id: "updateKey".into(),
            upstream_id: None,
            path: "/keys/{hash}".into(),
            method: "patch".into(),
        }];
        let transforms = [Applied {
            name: "t",
            why: "because",
            detail: "did it".into(),
        }];
        let doc = json!({"openapi": "3.0.3", "paths": {"/keys/{hash}": {}}});
        let a = render(&doc, &provenance(&ops, &transforms, "2026-08-22")).unwrap();
        let b = render(&doc, &provenance(&ops, &transforms, "2027-01-01")).unwrap();
        assert!(a.contains("# source:         upstream.json\n"));
        assert!(a.contains("# sha256:         00ff\n"));
        assert!(a.contains("# operations:     updateKey (PATCH /keys/{hash})\n"));
        assert!(a.contains("#   1. t: did it\n#      why: because\n"));
        assert!(
            a.ends_with("openapi: 3.0.3\npaths:\n  /keys/{hash}: {}\n"),
            "{a}"
        );
        assert_eq!(header_value(&a, "retrieved"), Some("2026-08-22"));
        assert_eq!(header_value(&a, "sha256"), Some("00ff"));
        assert_eq!(header_value(&a, "nothing"), None);
        assert_ne!(a, b);
        let moved = a.replace(
            "# source:         upstream.json",
            "# source:         https://example.invalid/x.json",
        );
        assert_eq!(without_provenance(&a), without_provenance(&b));
        assert_eq!(without_provenance(&a), without_provenance(&moved));
        assert!(!without_provenance(&a).contains("2026-08-22"));
        assert!(without_provenance(&a).contains("# sha256:         00ff\n"));
        // Only the header lines are ignored, never body text that looks alike.
        let body_line = format!("{a}# retrieved:      x\n");
        assert!(without_provenance(&body_line).ends_with("# retrieved:      x\n"));
    }

    #[test]
    fn dates() {
        assert!(check_date("2026-08-22").is_ok());
        assert!(check_date("2024-02-29").is_ok());
        for bad in [
            "2025-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-8-22",
            "+2026-08-22",
            "12026-08-22",
            "2026-08-22 ",
            "26-08-22xx",
            "2026-08-00",
            "yyyy-mm-dd",
        ] {
            assert!(check_date(bad).is_err(), "{bad}");
        }
        assert_eq!(
            date_in_name("up/openrouter-openapi-2026-08-22.json").as_deref(),
            Some("2026-08-22")
        );
        assert_eq!(
            date_in_name("2026-02-30-then-2025-11-08.yaml").as_deref(),
            Some("2025-11-08")
        );
        assert_eq!(date_in_name("/tmp/2026-08-22/saved.json"), None);
        assert_eq!(today_utc().len(), 10);
        assert!(check_date(&today_utc()).is_ok());
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-emit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("openapi.yaml");
        fs::write(&path, "old").unwrap();
        write_atomically(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().filter_map(Result::ok).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        assert!(write_atomically(&dir.join("missing").join("x.yaml"), "x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
