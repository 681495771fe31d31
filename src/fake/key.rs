//! The fake's model of an API key, the `POST` body that creates one and the
//! `PATCH` body that updates one.

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeZone, Utc};
use serde_json::{Map, Number, Value, json};

use crate::LimitReset;

/// Hash of the key that every new [`FakeOpenRouter`](super::FakeOpenRouter)
/// holds: the one used in the examples of OpenRouter's API description.
///
/// [`FakeKey::example`] returns the key as it is seeded.
pub const EXAMPLE_KEY_HASH: &str =
    "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";

/// The workspace of the example key, which the fake takes for the account's
/// default workspace: a key created without a `workspace_id` goes there, and
/// listing keys without a `workspace_id` shows the keys there.
pub const DEFAULT_WORKSPACE_ID: &str = "0df9e665-d932-5740-b2c7-b52af166bc11";

/// One API key as the fake stores it.
///
/// The fields mirror the `data` object of the API's response, except
/// `limit_remaining`, which the fake always derives (see
/// [`FakeKey::limit_remaining`]). Build your own keys from the example:
///
/// ```
/// use openrouter_keys::fake::FakeKey;
///
/// let key = FakeKey {
///     hash: "my-test-key".to_owned(),
///     limit: None,
///     ..FakeKey::example()
/// };
/// assert_eq!(key.limit_remaining(), None);
/// ```
///
/// Money amounts must be finite: a non-finite amount would be sent as `null`.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeKey {
    /// The key's identifier, used in the request path (`/keys/{hash}`).
    pub hash: String,
    /// The name the key's owner chose; `PATCH` can change it.
    pub name: String,
    /// A short masked form of the secret (such as `sk-or-v1-0e6...1c96`),
    /// assigned by the server. `PATCH` never changes it.
    pub label: String,
    /// Whether the key is disabled.
    pub disabled: bool,
    /// Spending limit in USD; `None` means no limit.
    pub limit: Option<f64>,
    /// When the limit resets; `None` means never.
    pub limit_reset: Option<LimitReset>,
    /// Whether external BYOK usage counts against the limit.
    pub include_byok_in_limit: bool,
    /// Total OpenRouter credit usage in USD.
    pub usage: f64,
    /// Usage in USD for the current UTC day.
    pub usage_daily: f64,
    /// Usage in USD for the current UTC week.
    pub usage_weekly: f64,
    /// Usage in USD for the current UTC month.
    pub usage_monthly: f64,
    /// Total external BYOK usage in USD.
    pub byok_usage: f64,
    /// External BYOK usage in USD for the current UTC day.
    pub byok_usage_daily: f64,
    /// External BYOK usage in USD for the current UTC week.
    pub byok_usage_weekly: f64,
    /// External BYOK usage in USD for the current UTC month.
    pub byok_usage_monthly: f64,
    /// When the key was created. Sent with seconds precision.
    pub created_at: DateTime<Utc>,
    /// When the key was last updated; every successful `PATCH` sets it.
    /// Sent with seconds precision.
    pub updated_at: Option<DateTime<Utc>>,
    /// The user who created the key, if known.
    pub creator_user_id: Option<String>,
    /// The workspace the key belongs to.
    pub workspace_id: String,
    /// When the key expires; `None` means never. Sent with seconds precision.
    pub expires_at: Option<DateTime<Utc>>,
}

impl FakeKey {
    /// The key every fake starts with: hash [`EXAMPLE_KEY_HASH`] and the
    /// values of the example `data` object in the API description
    /// (`"My Production Key"`, limit 100 of which 74.5 remain, monthly reset,
    /// usage 25.5, BYOK usage 17.38, expiring at the end of 2027).
    pub fn example() -> FakeKey {
        FakeKey {
            hash: EXAMPLE_KEY_HASH.to_owned(),
            name: "My Production Key".to_owned(),
            label: "sk-or-v1-0e6...1c96".to_owned(),
            disabled: false,
            limit: Some(100.0),
            limit_reset: Some(LimitReset::Monthly),
            include_byok_in_limit: false,
            usage: 25.5,
            usage_daily: 25.5,
            usage_weekly: 25.5,
            usage_monthly: 25.5,
            byok_usage: 17.38,
            byok_usage_daily: 17.38,
            byok_usage_weekly: 17.38,
            byok_usage_monthly: 17.38,
            created_at: utc(2025, 8, 24, 10, 30, 0),
            updated_at: Some(utc(2025, 8, 24, 15, 45, 0)),
            creator_user_id: Some("user_2dHFtVWx2n56w6HkM0000000000".to_owned()),
            workspace_id: DEFAULT_WORKSPACE_ID.to_owned(),
            expires_at: Some(utc(2027, 12, 31, 23, 59, 59)),
        }
    }

    /// What is left of the limit: `limit - usage`, floored at 0, or `None`
    /// when the key has no limit.
    ///
    /// BYOK usage is not subtracted, even with `include_byok_in_limit`; this
    /// follows the API description's example (limit 75, usage 25.5, BYOK
    /// usage 17.38, `include_byok_in_limit: true`, 49.5 remaining). The floor
    /// at 0 means a key that has overspent reports nothing left rather than a
    /// negative amount.
    pub fn limit_remaining(&self) -> Option<f64> {
        self.limit.map(|limit| (limit - self.usage).max(0.0))
    }

    /// The key as the API sends it: the value of `data` in a `200` response.
    ///
    /// Whole amounts are sent as JSON integers (`100`, not `100.0`), as a
    /// JavaScript server would; timestamps are RFC 3339 in UTC with seconds
    /// precision and a `Z` suffix.
    pub fn to_json(&self) -> Value {
        json!({
            "hash": self.hash,
            "name": self.name,
            "label": self.label,
            "disabled": self.disabled,
            "limit": self.limit.map(amount),
            "limit_remaining": self.limit_remaining().map(amount),
            "limit_reset": self.limit_reset.map(LimitReset::as_str),
            "include_byok_in_limit": self.include_byok_in_limit,
            "usage": amount(self.usage),
            "usage_daily": amount(self.usage_daily),
            "usage_weekly": amount(self.usage_weekly),
            "usage_monthly": amount(self.usage_monthly),
            "byok_usage": amount(self.byok_usage),
            "byok_usage_daily": amount(self.byok_usage_daily),
            "byok_usage_weekly": amount(self.byok_usage_weekly),
            "byok_usage_monthly": amount(self.byok_usage_monthly),
            "created_at": timestamp(self.created_at),
            "updated_at": self.updated_at.map(timestamp),
            "creator_user_id": self.creator_user_id,
            "workspace_id": self.workspace_id,
            "expires_at": self.expires_at.map(timestamp),
        })
    }

    /// The key as `GET /key` describes it when the key itself makes the call:
    /// the value of `data` in that `200` response.
    ///
    /// It has the usage fields of [`to_json`](Self::to_json) and, in place of
    /// the identifiers and dates, `is_free_tier`, `is_management_key` and
    /// `is_provisioning_key` (all `false`: the fake's stored keys are ordinary
    /// keys) and the deprecated `rate_limit`, always
    /// `{"interval": "1h", "note": "This field is deprecated and safe to ignore.", "requests": 1000}`.
    pub fn to_current_json(&self) -> Value {
        json!({
            "label": self.label,
            "limit": self.limit.map(amount),
            "limit_remaining": self.limit_remaining().map(amount),
            "limit_reset": self.limit_reset.map(LimitReset::as_str),
            "include_byok_in_limit": self.include_byok_in_limit,
            "usage": amount(self.usage),
            "usage_daily": amount(self.usage_daily),
            "usage_weekly": amount(self.usage_weekly),
            "usage_monthly": amount(self.usage_monthly),
            "byok_usage": amount(self.byok_usage),
            "byok_usage_daily": amount(self.byok_usage_daily),
            "byok_usage_weekly": amount(self.byok_usage_weekly),
            "byok_usage_monthly": amount(self.byok_usage_monthly),
            "is_free_tier": false,
            "is_management_key": false,
            "is_provisioning_key": false,
            "creator_user_id": self.creator_user_id,
            "expires_at": self.expires_at.map(timestamp),
            "rate_limit": rate_limit(),
        })
    }

    /// A fresh key with nothing spent, as `POST /keys` makes one.
    fn fresh(hash: String, label: String, workspace_id: String, now: DateTime<Utc>) -> FakeKey {
        FakeKey {
            hash,
            name: String::new(),
            label,
            disabled: false,
            limit: None,
            limit_reset: None,
            include_byok_in_limit: false,
            usage: 0.0,
            usage_daily: 0.0,
            usage_weekly: 0.0,
            usage_monthly: 0.0,
            byok_usage: 0.0,
            byok_usage_daily: 0.0,
            byok_usage_weekly: 0.0,
            byok_usage_monthly: 0.0,
            created_at: now,
            updated_at: None,
            creator_user_id: None,
            workspace_id,
            expires_at: None,
        }
    }

    /// Key number `n` of the endless listing: hash `n` in 64 hex digits, in
    /// `workspace_id`, never stored.
    pub(crate) fn endless(n: u128, workspace_id: &str, now: DateTime<Utc>) -> FakeKey {
        let hash = format!("{n:064x}");
        let label = masked(&hash);
        FakeKey {
            name: format!("Endless key {n}"),
            ..FakeKey::fresh(hash, label, workspace_id.to_owned(), now)
        }
    }
}

/// `GET /key`'s `data` for a management key (the required key, or any key the
/// fake accepts when none is required).
pub(crate) fn management_current_json() -> Value {
    // An unspent key with no limit, as `to_current_json` describes it, but for
    // the two flags. Setting existing members keeps their order.
    let label = "Management key".to_owned();
    let key = FakeKey::fresh(String::new(), label, String::new(), DateTime::UNIX_EPOCH);
    let mut json = key.to_current_json();
    json["is_management_key"] = json!(true);
    json["is_provisioning_key"] = json!(true);
    json
}

/// The deprecated `rate_limit` object, with the API description's example
/// values.
fn rate_limit() -> Value {
    json!({
        "interval": "1h",
        "note": "This field is deprecated and safe to ignore.",
        "requests": 1000,
    })
}

/// 64 random lower-case hex digits.
pub(crate) fn random_hex() -> String {
    (0..4)
        .map(|_| format!("{:016x}", fastrand::u64(..)))
        .collect()
}

/// The masked form of a secret's hex part that the API shows as `label`:
/// `sk-or-v1-` and its first three and last four digits (`sk-or-v1-0e6...1c96`).
pub(crate) fn masked(hex: &str) -> String {
    let head = hex.get(..3).unwrap_or(hex);
    let tail = hex.get(hex.len().saturating_sub(4)..).unwrap_or("");
    format!("sk-or-v1-{head}...{tail}")
}

fn utc(year: i32, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, min, sec)
        .single()
        .expect("a valid UTC date")
}

/// RFC 3339, UTC, whole seconds, `Z`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A money amount as a JSON number, integral amounts without a fraction.
fn amount(value: f64) -> Value {
    match crate::request::whole(value) {
        Some(n) => Value::Number(Number::from(n)),
        None => Number::from_f64(value).map_or(Value::Null, Value::Number),
    }
}

/// The fields a `PATCH` body can set. The outer `Option` is "present"; the
/// inner one, for nullable fields, is "not null".
#[derive(Debug, Default)]
pub(crate) struct KeyPatch {
    name: Option<String>,
    disabled: Option<bool>,
    limit: Option<Option<f64>>,
    limit_reset: Option<Option<LimitReset>>,
    include_byok_in_limit: Option<bool>,
}

/// The request fields the fake understands, in the order it checks them.
pub(crate) const PATCH_FIELDS: [&str; 5] = [
    "name",
    "disabled",
    "limit",
    "limit_reset",
    "include_byok_in_limit",
];

impl KeyPatch {
    /// Validates a decoded body. Unknown members are ignored; the error is the
    /// message for the first problem, checking fields in [`PATCH_FIELDS`]
    /// order.
    pub(crate) fn from_json(body: &Value) -> Result<KeyPatch, String> {
        let object = body
            .as_object()
            .ok_or_else(|| "Request body must be a JSON object".to_owned())?;
        let patch = KeyPatch {
            name: field(object, "name", "a string", |v| {
                v.as_str().map(str::to_owned)
            })?,
            disabled: field(object, "disabled", "a boolean", Value::as_bool)?,
            limit: field(object, "limit", LIMIT, limit)?,
            limit_reset: field(object, "limit_reset", LIMIT_RESET, limit_reset)?,
            include_byok_in_limit: field(
                object,
                "include_byok_in_limit",
                "a boolean",
                Value::as_bool,
            )?,
        };
        if PATCH_FIELDS.iter().all(|name| !object.contains_key(*name)) {
            return Err(format!(
                "Request body sets none of the updatable fields: {}",
                PATCH_FIELDS.join(", ")
            ));
        }
        Ok(patch)
    }

    /// Applies the update and stamps `updated_at`.
    pub(crate) fn apply(self, key: &mut FakeKey, now: DateTime<Utc>) {
        if let Some(name) = self.name {
            key.name = name;
        }
        if let Some(disabled) = self.disabled {
            key.disabled = disabled;
        }
        if let Some(limit) = self.limit {
            key.limit = limit;
        }
        if let Some(limit_reset) = self.limit_reset {
            key.limit_reset = limit_reset;
        }
        if let Some(include) = self.include_byok_in_limit {
            key.include_byok_in_limit = include;
        }
        key.updated_at = Some(now);
    }
}

/// A valid `POST /keys` body.
#[derive(Debug)]
pub(crate) struct NewKey {
    name: String,
    limit: Option<f64>,
    limit_reset: Option<LimitReset>,
    include_byok_in_limit: bool,
    expires_at: Option<DateTime<Utc>>,
    creator_user_id: Option<String>,
    workspace_id: Option<String>,
}

impl NewKey {
    /// Validates a decoded body. Unknown members are ignored; the error is the
    /// message for the first problem, checking fields in the order `name`,
    /// `limit`, `limit_reset`, `include_byok_in_limit`, `expires_at`,
    /// `creator_user_id`, `workspace_id`.
    pub(crate) fn from_json(body: &Value) -> Result<NewKey, String> {
        let object = body
            .as_object()
            .ok_or_else(|| "Request body must be a JSON object".to_owned())?;
        let name = field(object, "name", "a non-empty string", |v| {
            v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
        })?
        .ok_or_else(|| "Missing required field 'name'".to_owned())?;
        Ok(NewKey {
            name,
            limit: field(object, "limit", LIMIT, limit)?.flatten(),
            limit_reset: field(object, "limit_reset", LIMIT_RESET, limit_reset)?.flatten(),
            include_byok_in_limit: field(
                object,
                "include_byok_in_limit",
                "a boolean",
                Value::as_bool,
            )?
            .unwrap_or(false),
            expires_at: field(
                object,
                "expires_at",
                "an RFC 3339 date-time in UTC (such as \"2027-12-31T23:59:59Z\") or null",
                |v| match v {
                    Value::Null => Some(None),
                    Value::String(s) => DateTime::parse_from_rfc3339(s)
                        .ok()
                        .filter(|at| at.offset().local_minus_utc() == 0)
                        .map(|at| Some(at.to_utc().trunc_subsecs(0))),
                    _ => None,
                },
            )?
            .flatten(),
            creator_user_id: field(
                object,
                "creator_user_id",
                "a non-empty string or null",
                |v| match v {
                    Value::Null => Some(None),
                    Value::String(s) if !s.is_empty() => Some(Some(s.clone())),
                    _ => None,
                },
            )?
            .flatten(),
            workspace_id: field(object, "workspace_id", "a UUID", |v| {
                v.as_str()
                    .filter(|s| is_uuid(s))
                    .map(str::to_ascii_lowercase)
            })?,
        })
    }

    /// The key this body creates, with its hash and the hex part of its
    /// secret; `now` (whole seconds) is its `created_at`.
    pub(crate) fn build(self, hash: String, secret_hex: &str, now: DateTime<Utc>) -> FakeKey {
        let workspace_id = self
            .workspace_id
            .unwrap_or_else(|| DEFAULT_WORKSPACE_ID.to_owned());
        FakeKey {
            name: self.name,
            limit: self.limit,
            limit_reset: self.limit_reset,
            include_byok_in_limit: self.include_byok_in_limit,
            expires_at: self.expires_at,
            creator_user_id: self.creator_user_id,
            ..FakeKey::fresh(hash, masked(secret_hex), workspace_id, now)
        }
    }
}

/// Whether `s` is a UUID in its usual text form
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits in either case).
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

const LIMIT: &str = "a non-negative number or null";
const LIMIT_RESET: &str = "one of \"daily\", \"weekly\", \"monthly\" or null";

/// A `limit` value: `Some(None)` for null, `None` if not acceptable.
fn limit(value: &Value) -> Option<Option<f64>> {
    match value {
        Value::Null => Some(None),
        // `+ 0.0` turns -0 into 0.
        Value::Number(n) => n
            .as_f64()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .map(|x| Some(x + 0.0)),
        _ => None,
    }
}

/// A `limit_reset` value: `Some(None)` for null, `None` if not acceptable.
fn limit_reset(value: &Value) -> Option<Option<LimitReset>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) => s.parse::<LimitReset>().ok().map(Some),
        _ => None,
    }
}

/// `Ok(None)` when absent, `Ok(Some(_))` when `convert` accepts the value.
fn field<T>(
    object: &Map<String, Value>,
    name: &str,
    expected: &str,
    convert: impl FnOnce(&Value) -> Option<T>,
) -> Result<Option<T>, String> {
    match object.get(name) {
        None => Ok(None),
        Some(value) => convert(value)
            .map(Some)
            .ok_or_else(|| format!("Invalid value for '{name}': expected {expected}")),
    }
}
