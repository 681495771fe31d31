//! The desired-state file of "keys as code": the API keys that should
//! exist, one `[[key]]` table each, read into [`DesiredKeys`]. A later plan
//! compares them with OpenRouter; this module only reads and checks.
//!
//! ```toml
//! # keys.toml
//! [[key]]
//! name = "ci"
//! limit = 75                    # USD; 2.5 works too, "none" means no limit
//! limit_reset = "monthly"       # daily, weekly, monthly, or "none"
//! include_byok_in_limit = false
//! disabled = false
//! expires_at = 2027-01-01T00:00:00Z   # or "2027-01-01T00:00:00Z"; UTC only
//! workspace_id = "2b9e1c4e-4f3a-4d1e-9a57-0c6b8f1d2e3a"
//!
//! [[key]]
//! name = "customer 42"          # every other setting is left as it is
//! ```
//!
//! A field that is left out is not managed: whatever OpenRouter has stays.
//! Nothing else may appear, at the top level or in a `[[key]]`.
//!
//! The file is walked as the spanned tree that `toml` parses
//! ([`toml::de::DeTable`]) rather than deserialised through serde: every
//! key and value keeps its place in the text, so each message can name the
//! line, the key and the field, and say what was expected and what was
//! found, without reading serde's own messages apart.

use std::{
    collections::HashMap,
    fmt,
    ops::Range,
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use toml::{
    Spanned,
    de::{DeString, DeTable, DeValue},
    value::{Datetime, Offset},
};

use crate::{Error, LimitReset, Patch, error::excerpt};

/// The fields a `[[key]]` may have, in the order messages list them.
const FIELDS: &[&str] = &[
    "name",
    "limit",
    "limit_reset",
    "include_byok_in_limit",
    "disabled",
    "expires_at",
    "workspace_id",
];

/// What an `expires_at` must be, as messages say it.
const UTC: &str = "a date and time in UTC (ending in Z or +00:00)";

/// The keys that should exist, as a desired-state file describes them.
///
/// The file is TOML with one `[[key]]` table per key, and nothing else:
///
/// | field | value | when left out |
/// |---|---|---|
/// | `name` | a non-empty string, unique within the file | (required) |
/// | `limit` | a number of USD, finite and not negative, or `"none"` for no limit | not managed |
/// | `limit_reset` | `"daily"`, `"weekly"`, `"monthly"`, or `"none"` | not managed |
/// | `include_byok_in_limit` | `true` or `false` | not managed |
/// | `disabled` | `true` or `false` | not managed |
/// | `expires_at` | a TOML offset date-time, or an RFC 3339 string, in UTC | not managed |
/// | `workspace_id` | a UUID | not managed |
///
/// `expires_at` must be in UTC (`Z` or `+00:00`): another offset, or a
/// date or date-time without one, is refused. It must be whole seconds, as
/// the API keeps them: a fraction other than zero is refused rather than
/// dropped, so that what the file says is exactly what is compared.
///
/// Every error is [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest),
/// and names the file, the line and the field:
/// `keys.toml:12: key "ci": limit: expected a number of USD or "none", found a boolean`.
/// Quoted values are shortened, and anything that looks like a key's
/// secret (`sk-or-…`) is shown as `[redacted]`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DesiredKeys {
    /// The keys, in the order the file lists them.
    pub keys: Vec<DesiredKey>,
}

/// One `[[key]]`: its name, and the settings it manages (a field left out
/// is not managed).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DesiredKey {
    /// The key's name: not empty, and unique within the file.
    pub name: String,
    /// The spending limit in USD: `Unchanged` when not managed, `Clear`
    /// for `"none"` (no limit), `Set` otherwise (finite, not negative).
    pub limit: Patch<f64>,
    /// How often the limit resets: `Unchanged` when not managed, `Clear`
    /// for `"none"` (it never resets).
    pub limit_reset: Patch<LimitReset>,
    /// Whether BYOK usage counts against the limit; `None` when not managed.
    pub include_byok_in_limit: Option<bool>,
    /// Whether the key is disabled; `None` when not managed.
    pub disabled: Option<bool>,
    /// When the key stops working, in whole seconds; `None` when not managed.
    pub expires_at: Option<SystemTime>,
    /// The workspace the key belongs to: a UUID in the hyphenated, lower
    /// case form that upstream answers with, however the file writes it;
    /// `None` when not managed.
    pub workspace_id: Option<String>,
    /// The line of the key's `[[key]]` header (from 1), for messages.
    pub line: usize,
}

impl DesiredKeys {
    /// Parses a desired-state file's text; `origin` (a path, usually)
    /// names it in errors. An empty file holds no keys.
    ///
    /// ```
    /// use openrouter_keys::{DesiredKeys, Patch};
    ///
    /// let file = "[[key]]\nname = \"ci\"\nlimit = 75\n";
    /// let desired = DesiredKeys::from_toml(file, "keys.toml")?;
    /// assert_eq!(desired.keys[0].name, "ci");
    /// assert_eq!(desired.keys[0].limit, Patch::Set(75.0));
    /// assert_eq!(desired.keys[0].disabled, None); // not managed
    ///
    /// let error = DesiredKeys::from_toml("[[key]]\nname = \"ci\"\nlimt = 75\n", "keys.toml")
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("keys.toml:3: unknown field `limt` in [[key]]"));
    /// # Ok::<(), openrouter_keys::Error>(())
    /// ```
    pub fn from_toml(text: &str, origin: &str) -> Result<DesiredKeys, Error> {
        let file = File {
            text,
            origin: excerpt(origin, 200),
        };
        let root = DeTable::parse(text).map_err(|e| {
            let line = e
                .span()
                .map_or(String::new(), |span| file.line(span).to_string());
            Error::invalid(format!(
                "{}:{line}: not valid TOML: {}",
                file.origin,
                excerpt(e.message(), 200)
            ))
        })?;
        let mut keys = Vec::new();
        // Each name, and the line that gives it.
        let mut names = HashMap::new();
        for (field, value) in in_file_order(root.get_ref()) {
            if field.get_ref() != "key" {
                return Err(file.error(
                    field.span(),
                    format_args!(
                        "unknown field `{}` at the top level; expected only [[key]] tables",
                        excerpt(field.get_ref(), 60)
                    ),
                ));
            }
            let tables = match value.get_ref() {
                DeValue::Array(tables) => tables,
                DeValue::Table(_) => {
                    return Err(file.error(
                        value.span(),
                        "key: expected [[key]] tables, found a single [key] table; \
                         write each key's header as [[key]]",
                    ));
                }
                other => {
                    return Err(file.error(
                        value.span(),
                        format_args!("key: expected [[key]] tables, found {}", found(other)),
                    ));
                }
            };
            for table in tables.iter() {
                let DeValue::Table(fields) = table.get_ref() else {
                    return Err(file.error(
                        table.span(),
                        format_args!(
                            "key: expected [[key]] tables, found {}",
                            found(table.get_ref())
                        ),
                    ));
                };
                let (key, name_line) = file.key(table.span(), fields)?;
                if let Some(first) = names.insert(key.name.clone(), name_line) {
                    return Err(Error::invalid(format!(
                        "{}:{name_line}: key \"{}\": the name is already used at line {first}",
                        file.origin,
                        excerpt(&key.name, 60)
                    )));
                }
                keys.push(key);
            }
        }
        Ok(DesiredKeys { keys })
    }

    /// Reads and parses the file at `path`, which names it in errors. A
    /// file that cannot be read is an error that names the path and the
    /// system's reason.
    pub fn load(path: impl AsRef<Path>) -> Result<DesiredKeys, Error> {
        let path = path.as_ref().display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", excerpt(&path, 200))))?;
        Self::from_toml(&text, &path)
    }

    /// The distinct workspaces the file names, in the order they first
    /// appear. Keys without a `workspace_id` add none.
    pub fn workspaces(&self) -> Vec<String> {
        let mut workspaces: Vec<String> = Vec::new();
        for id in self.keys.iter().filter_map(|key| key.workspace_id.as_ref()) {
            if !workspaces.contains(id) {
                workspaces.push(id.clone());
            }
        }
        workspaces
    }
}

/// The text being read, and what messages call it.
struct File<'a> {
    text: &'a str,
    origin: String,
}

impl File<'_> {
    /// The line (from 1) where `span` starts.
    fn line(&self, span: Range<usize>) -> usize {
        let before = &self.text.as_bytes()[..span.start.min(self.text.len())];
        before.iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// An error at the line where `span` starts.
    fn error(&self, span: Range<usize>, message: impl fmt::Display) -> Error {
        Error::invalid(format!("{}:{}: {message}", self.origin, self.line(span)))
    }

    /// One `[[key]]` whose header is at `header`, and the line of its name.
    fn key(
        &self,
        header: Range<usize>,
        fields: &DeTable<'_>,
    ) -> Result<(DesiredKey, usize), Error> {
        if let Some((field, _)) = in_file_order(fields)
            .into_iter()
            .find(|(f, _)| !FIELDS.contains(&&**f.get_ref()))
        {
            return Err(self.error(
                field.span(),
                format_args!(
                    "unknown field `{}` in [[key]]; expected one of {}",
                    excerpt(field.get_ref(), 60),
                    FIELDS.join(", ")
                ),
            ));
        }
        let Some(name) = fields.get("name") else {
            return Err(self.error(header, "[[key]]: name: missing; every key needs a name"));
        };
        let name_line = self.line(name.span());
        let name = match name.get_ref() {
            DeValue::String(text) if !text.trim().is_empty() => text.to_string(),
            other => {
                return Err(self.error(
                    name.span(),
                    format_args!(
                        "[[key]]: name: expected a non-empty string, found {}",
                        found(other)
                    ),
                ));
            }
        };
        let key = Key {
            file: self,
            fields,
            context: format!("key \"{}\"", excerpt(&name, 60)),
        };
        let key = DesiredKey {
            limit: key.field("limit", limit)?.unwrap_or_default(),
            limit_reset: key.field("limit_reset", limit_reset)?.unwrap_or_default(),
            include_byok_in_limit: key.field("include_byok_in_limit", boolean)?,
            disabled: key.field("disabled", boolean)?,
            expires_at: key.field("expires_at", expires_at)?,
            workspace_id: key.field("workspace_id", workspace)?,
            line: self.line(header),
            name,
        };
        Ok((key, name_line))
    }
}

/// A `[[key]]` whose name is known, to read its other fields.
struct Key<'a, 'i> {
    file: &'a File<'a>,
    fields: &'a DeTable<'i>,
    /// `key "name"`, as messages begin.
    context: String,
}

impl Key<'_, '_> {
    /// The field's value as `read` takes it; `None` when the field is left
    /// out. `read`'s error is the end of a message about the field.
    fn field<T>(
        &self,
        field: &str,
        read: fn(&DeValue<'_>) -> Result<T, String>,
    ) -> Result<Option<T>, Error> {
        let Some(value) = self.fields.get(field) else {
            return Ok(None);
        };
        read(value.get_ref()).map(Some).map_err(|message| {
            self.file.error(
                value.span(),
                format_args!("{}: {field}: {message}", self.context),
            )
        })
    }
}

/// A table's entries in the order the file writes them (the parser keeps
/// them sorted by key).
fn in_file_order<'t, 'i>(
    table: &'t DeTable<'i>,
) -> Vec<(&'t Spanned<DeString<'i>>, &'t Spanned<DeValue<'i>>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(field, _)| field.span().start);
    entries
}

/// What a value is, for "found …": its type, or a string itself, quoted
/// through [`excerpt`].
fn found(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) if text.is_empty() => "an empty string".into(),
        DeValue::String(text) if text.trim().is_empty() => "a blank string".into(),
        DeValue::String(text) => format!("the string \"{}\"", excerpt(text, 60)),
        DeValue::Integer(_) => "an integer".into(),
        DeValue::Float(_) => "a float".into(),
        DeValue::Boolean(_) => "a boolean".into(),
        DeValue::Datetime(_) => "a date-time".into(),
        DeValue::Array(_) => "an array".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

fn limit(value: &DeValue<'_>) -> Result<Patch<f64>, String> {
    let (usd, written) = match value {
        DeValue::String(text) if text == "none" => return Ok(Patch::Clear),
        // An integer beyond i64 is no limit a float could hold either.
        DeValue::Integer(n) => (
            i64::from_str_radix(n.as_str(), n.radix()).map_or(f64::INFINITY, |n| n as f64),
            n.to_string(),
        ),
        DeValue::Float(x) => (x.as_str().parse().unwrap_or(f64::NAN), x.to_string()),
        other => {
            return Err(format!(
                "expected a number of USD or \"none\", found {}",
                found(other)
            ));
        }
    };
    if !usd.is_finite() {
        Err(format!(
            "expected a finite number of USD, found {}",
            excerpt(&written, 40)
        ))
    } else if usd < 0.0 {
        Err(format!(
            "must not be negative, found {}",
            excerpt(&written, 40)
        ))
    } else {
        Ok(Patch::Set(usd))
    }
}

fn limit_reset(value: &DeValue<'_>) -> Result<Patch<LimitReset>, String> {
    match value {
        DeValue::String(text) if text == "none" => return Ok(Patch::Clear),
        DeValue::String(text) => {
            if let Ok(reset) = text.parse() {
                return Ok(Patch::Set(reset));
            }
        }
        _ => {}
    }
    let mut expected = String::new();
    for reset in LimitReset::ALL {
        expected.push_str(&format!("\"{reset}\", "));
    }
    Err(format!(
        "expected {expected}or \"none\", found {}",
        found(value)
    ))
}

fn boolean(value: &DeValue<'_>) -> Result<bool, String> {
    match value {
        DeValue::Boolean(b) => Ok(*b),
        other => Err(format!("expected true or false, found {}", found(other))),
    }
}

fn workspace(value: &DeValue<'_>) -> Result<String, String> {
    // Whichever way it is written (upper case, without hyphens, in braces,
    // as a URN), the form that upstream answers with.
    match value {
        DeValue::String(id) => uuid::Uuid::try_parse(id).ok(),
        _ => None,
    }
    .map(|id| id.hyphenated().to_string())
    .ok_or_else(|| format!("expected a UUID, found {}", found(value)))
}

fn expires_at(value: &DeValue<'_>) -> Result<SystemTime, String> {
    let at = match value {
        DeValue::Datetime(at) => *at,
        DeValue::String(text) => text
            .parse::<Datetime>()
            .map_err(|_| format!("expected {UTC}, found {}", found(value)))?,
        other => return Err(format!("expected {UTC}, found {}", found(other))),
    };
    let (Some(date), Some(time)) = (at.date, at.time) else {
        let what = if at.date.is_some() {
            "a date without a time"
        } else {
            "a time without a date"
        };
        return Err(format!("expected {UTC}, found {what}"));
    };
    match at.offset {
        Some(Offset::Z | Offset::Custom { minutes: 0 }) => {}
        Some(offset) => return Err(format!("expected {UTC}, found the offset {offset}")),
        None => {
            return Err(format!(
                "expected {UTC}, found a local date-time, without an offset"
            ));
        }
    }
    if time.nanosecond.is_some_and(|n| n != 0) {
        return Err(
            "expected whole seconds, as the API keeps them, found a fraction of a second".into(),
        );
    }
    let seconds =
        chrono::NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
            .and_then(|day| {
                day.and_hms_opt(
                    time.hour.into(),
                    time.minute.into(),
                    time.second.unwrap_or(0).into(),
                )
            })
            .ok_or_else(|| format!("{at} is not a time a clock shows (a leap second?)"))?
            .and_utc()
            .timestamp();
    u64::try_from(seconds)
        .ok()
        .and_then(|seconds| UNIX_EPOCH.checked_add(Duration::from_secs(seconds)))
        .ok_or_else(|| format!("expected a time from 1970 on, found {at}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module's example file, as its documentation shows it.
    fn documented_example() -> String {
        include_str!("desired.rs")
            .lines()
            .skip_while(|line| *line != "//! ```toml")
            .skip(1)
            .take_while(|line| *line != "//! ```")
            .map(|line| line.trim_start_matches("//!").trim_start_matches(' '))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_documented_example_reads_into_exactly_these_keys() {
        let desired = DesiredKeys::from_toml(&documented_example(), "keys.toml").unwrap();
        let full = DesiredKey {
            name: "ci".into(),
            limit: Patch::Set(75.0),
            limit_reset: Patch::Set(LimitReset::Monthly),
            include_byok_in_limit: Some(false),
            disabled: Some(false),
            expires_at: Some(UNIX_EPOCH + Duration::from_secs(1_798_761_600)),
            workspace_id: Some("2b9e1c4e-4f3a-4d1e-9a57-0c6b8f1d2e3a".into()),
            line: 2,
        };
        let bare = DesiredKey {
            name: "customer 42".into(),
            limit: Patch::Unchanged,
            limit_reset: Patch::Unchanged,
            include_byok_in_limit: None,
            disabled: None,
            expires_at: None,
            workspace_id: None,
            line: 11,
        };
        assert_eq!(
            desired,
            DesiredKeys {
                keys: vec![full, bare]
            }
        );
    }

    #[test]
    fn lines_count_from_one_and_never_pass_the_end() {
        let file = File {
            text: "a\nb\n",
            origin: String::new(),
        };
        assert_eq!(file.line(0..1), 1);
        assert_eq!(file.line(2..3), 2);
        assert_eq!(file.line(4..4), 3);
        assert_eq!(file.line(99..100), 3);
    }
}
