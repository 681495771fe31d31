//! What a call sends: the fields of an update ([`KeyUpdate`], in three states
//! each) or of a new key ([`NewKey`]), and the options of a listing.

use std::{fmt, time::SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// One nullable field of a PATCH body, in one of its three states.
///
/// OpenRouter reads a PATCH body literally: a field that is absent is left as
/// it is, a field that is `null` is cleared, and a field with a value is set.
/// `Option<T>` can only say two of those things, so nullable fields use this
/// type instead.
///
/// ```
/// use openrouter_keys::Patch;
///
/// assert_eq!(Patch::<f64>::default(), Patch::Unchanged);
/// // An `Option` says only two of the three things: say which `None` means.
/// let maybe: Option<f64> = None;
/// assert_eq!(maybe.map_or(Patch::Unchanged, Patch::Set), Patch::Unchanged);
/// assert_eq!(maybe.map_or(Patch::Clear, Patch::Set), Patch::Clear);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Patch<T> {
    /// Leave the field as it is: it is left out of the request body.
    #[default]
    Unchanged,
    /// Clear the field: it is sent as JSON `null`.
    Clear,
    /// Set the field to this value.
    Set(T),
}

impl<T> Patch<T> {
    /// True when the field is left out of the request.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, Patch::Unchanged)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(value) => value.serialize(serializer),
            // `Unchanged` is skipped by the containing struct; should it
            // ever be serialised on its own, `null` would clear the field,
            // so refuse rather than send the wrong thing.
            Patch::Clear => serializer.serialize_none(),
            Patch::Unchanged => Err(serde::ser::Error::custom(
                "an unchanged field must be left out of the request body",
            )),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    /// A present field is `Clear` when `null` and `Set` otherwise; an absent
    /// field needs `#[serde(default)]` on the containing struct to become
    /// `Unchanged`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|value| value.map_or(Patch::Clear, Patch::Set))
    }
}

/// How often a key's spending limit resets. Resets happen at midnight UTC;
/// weeks run Monday to Sunday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LimitReset {
    /// Every day.
    Daily,
    /// Every Monday.
    Weekly,
    /// On the first day of every month.
    Monthly,
}

impl LimitReset {
    /// Every value, in the order the API lists them. A slice, so that a
    /// value added in a later release changes its length, not its type.
    pub const ALL: &'static [LimitReset] =
        &[LimitReset::Daily, LimitReset::Weekly, LimitReset::Monthly];

    /// The value as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitReset::Daily => "daily",
            LimitReset::Weekly => "weekly",
            LimitReset::Monthly => "monthly",
        }
    }
}

impl fmt::Display for LimitReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LimitReset {
    type Err = ParseLimitResetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LimitReset::ALL
            .iter()
            .find(|reset| reset.as_str() == s)
            .copied()
            .ok_or_else(|| ParseLimitResetError(crate::error::excerpt(s, 40)))
    }
}

/// A string that is not a [`LimitReset`]; its message names every value
/// that is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseLimitResetError(String);

impl fmt::Display for ParseLimitResetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a limit reset; expected ", self.0)?;
        for (i, reset) in LimitReset::ALL.iter().enumerate() {
            let sep = match i {
                0 => "",
                i if i + 1 == LimitReset::ALL.len() => " or ",
                _ => ", ",
            };
            write!(f, "{sep}{reset}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseLimitResetError {}

/// The changes to make to one API key: the body of `PATCH /keys/{hash}`.
///
/// Every field starts out unchanged and is left out of the request. Set
/// the ones to change; at least one must be set.
///
/// ```
/// use openrouter_keys::{KeyUpdate, LimitReset};
///
/// let update = KeyUpdate::new().name("CI key").limit(75.0).limit_reset(LimitReset::Daily);
/// assert_eq!(
///     serde_json::to_string(&update).unwrap(),
///     r#"{"name":"CI key","limit":75,"limit_reset":"daily"}"#
/// );
///
/// // Clearing is explicit, and sends `null`:
/// let update = KeyUpdate::new().clear_limit();
/// assert_eq!(serde_json::to_string(&update).unwrap(), r#"{"limit":null}"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyUpdate {
    /// The new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new disabled state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// The spending limit, in USD.
    #[serde(skip_serializing_if = "Patch::is_unchanged", serialize_with = "usd")]
    pub limit: Patch<f64>,
    /// How often the limit resets.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub limit_reset: Patch<LimitReset>,
    /// Whether BYOK usage counts against the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_byok_in_limit: Option<bool>,
}

/// Writes a whole number of dollars without a fraction (`75`, as the API
/// documents it, rather than `75.0`); both mean the same JSON number.
fn usd<S: Serializer>(limit: &Patch<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    match limit {
        // serde_json writes NaN and infinities as `null`, which would clear
        // the limit instead of setting it.
        Patch::Set(v) if !v.is_finite() => Err(serde::ser::Error::custom(format!(
            "limit must be a finite number of USD, not {v}"
        ))),
        Patch::Set(v) => match whole(*v) {
            Some(n) => serializer.serialize_i64(n),
            None => serializer.serialize_f64(*v),
        },
        other => other.serialize(serializer),
    }
}

/// `amount` as an integer when it is a whole number that an `f64` holds
/// exactly (at most 2^53 from zero), so that it is written as `75`, not
/// `75.0`; `None` otherwise.
pub(crate) fn whole(amount: f64) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    // The guard makes the conversion exact.
    (amount.fract() == 0.0 && amount.abs() <= EXACT).then_some(amount as i64)
}

impl KeyUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames the key.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Disables (`true`) or re-enables (`false`) the key.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// Sets the spending limit, in USD. It must be finite and not negative.
    pub fn limit(self, usd: f64) -> Self {
        self.set_limit(Patch::Set(usd))
    }

    /// Removes the spending limit (sends `"limit": null`).
    pub fn clear_limit(self) -> Self {
        self.set_limit(Patch::Clear)
    }

    /// Sets the spending limit to any of its three states.
    pub fn set_limit(mut self, limit: Patch<f64>) -> Self {
        self.limit = limit;
        self
    }

    /// Sets how often the limit resets.
    pub fn limit_reset(self, reset: LimitReset) -> Self {
        self.set_limit_reset(Patch::Set(reset))
    }

    /// Stops the limit from resetting (sends `"limit_reset": null`).
    pub fn clear_limit_reset(self) -> Self {
        self.set_limit_reset(Patch::Clear)
    }

    /// Sets the limit reset to any of its three states.
    pub fn set_limit_reset(mut self, reset: Patch<LimitReset>) -> Self {
        self.limit_reset = reset;
        self
    }

    /// Whether usage of the caller's own provider keys (BYOK) counts
    /// against the limit.
    pub fn include_byok_in_limit(mut self, include: bool) -> Self {
        self.include_byok_in_limit = Some(include);
        self
    }

    /// True when no field is set, so the request would change nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.disabled.is_none()
            && self.limit.is_unchanged()
            && self.limit_reset.is_unchanged()
            && self.include_byok_in_limit.is_none()
    }

    /// Checks the update before anything is sent: it must set at least one
    /// field (the server answers 400 otherwise), and a limit must be a
    /// finite, non-negative number of dollars. The error is
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    pub fn validate(&self) -> Result<(), Error> {
        if self.is_empty() {
            return Err(Error::invalid(
                "the update sets no field; set at least one of name, disabled, \
                 limit, limit_reset or include_byok_in_limit",
            ));
        }
        if let Patch::Set(limit) = self.limit {
            check_limit(limit)?;
        }
        Ok(())
    }
}

fn check_limit(limit: f64) -> Result<(), Error> {
    if !limit.is_finite() {
        return Err(Error::invalid(format!(
            "limit must be a finite number of USD, not {limit}"
        )));
    }
    if limit < 0.0 {
        return Err(Error::invalid(format!(
            "limit must not be negative, got {limit}"
        )));
    }
    Ok(())
}

/// A key to create: the body of `POST /keys`.
///
/// Only the name is required; every other field is left out of the request
/// unless set, and the server then applies its default (no limit, no reset,
/// no expiry).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use openrouter_keys::{LimitReset, NewKey};
///
/// let key = NewKey::new("customer 42")
///     .limit(20.0)
///     .limit_reset(LimitReset::Monthly)
///     .expires_at(UNIX_EPOCH + Duration::from_secs(1_800_000_000));
/// assert_eq!(
///     serde_json::to_string(&key).unwrap(),
///     r#"{"name":"customer 42","limit":20,"limit_reset":"monthly","expires_at":"2027-01-15T08:00:00Z"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewKey {
    /// The key's name; it must not be empty.
    pub name: String,
    /// The spending limit, in USD.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "usd_set"
    )]
    pub limit: Option<f64>,
    /// How often the limit resets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_reset: Option<LimitReset>,
    /// Whether BYOK usage counts against the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_byok_in_limit: Option<bool>,
    /// When the key stops working. Sent as RFC 3339 in UTC (`Z`), to the
    /// second (a fraction is dropped): the API takes no other form.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "utc_seconds",
        deserialize_with = "from_rfc3339"
    )]
    pub expires_at: Option<SystemTime>,
    /// For organisation keys: the member the key is created for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_user_id: Option<String>,
    /// The workspace the key belongs to (a UUID); the account's default
    /// workspace when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
}

fn from_rfc3339<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SystemTime>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(&text)
                .map(SystemTime::from)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
}

fn usd_set<S: Serializer>(limit: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    usd(&limit.map_or(Patch::Unchanged, Patch::Set), serializer)
}

fn utc_seconds<S: Serializer>(at: &Option<SystemTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match at.and_then(rfc3339) {
        Some(text) => serializer.serialize_str(&text),
        None => Err(serde::ser::Error::custom(
            "expires_at is before 1970 or beyond what a date can hold",
        )),
    }
}

/// `at` as RFC 3339 in UTC, whole seconds; `None` before 1970 or past
/// what a date can hold.
pub(crate) fn rfc3339(at: SystemTime) -> Option<String> {
    let secs = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    chrono::DateTime::<chrono::Utc>::from_timestamp(i64::try_from(secs).ok()?, 0)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

impl NewKey {
    /// A key with this name (it must not be empty) and every other field at
    /// the server's default.
    pub fn new(name: impl Into<String>) -> Self {
        NewKey {
            name: name.into(),
            limit: None,
            limit_reset: None,
            include_byok_in_limit: None,
            expires_at: None,
            creator_user_id: None,
            workspace_id: None,
        }
    }

    /// The spending limit, in USD: finite and not negative.
    pub fn limit(mut self, usd: f64) -> Self {
        self.limit = Some(usd);
        self
    }

    /// How often the limit resets.
    pub fn limit_reset(mut self, reset: LimitReset) -> Self {
        self.limit_reset = Some(reset);
        self
    }

    /// Whether usage of the caller's own provider keys (BYOK) counts
    /// against the limit.
    pub fn include_byok_in_limit(mut self, include: bool) -> Self {
        self.include_byok_in_limit = Some(include);
        self
    }

    /// When the key stops working. Sent in UTC, to the second (a fraction
    /// is dropped), which is the only form the API accepts; a time before
    /// 1970 is refused by [`validate`](Self::validate).
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// For organisation keys: the member the key is created for.
    pub fn creator_user_id(mut self, id: impl Into<String>) -> Self {
        self.creator_user_id = Some(id.into());
        self
    }

    /// The workspace the key belongs to (a UUID).
    pub fn workspace_id(mut self, id: impl Into<String>) -> Self {
        self.workspace_id = Some(id.into());
        self
    }

    /// Checks the key before anything is sent: a non-empty name, a finite,
    /// non-negative limit, an expiry the API can take, and a workspace id
    /// that is a UUID. The error is
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("the key's name is empty"));
        }
        if let Some(limit) = self.limit {
            check_limit(limit)?;
        }
        if self.expires_at.is_some_and(|at| rfc3339(at).is_none()) {
            return Err(Error::invalid(
                "expires_at is before 1970 or beyond what a date can hold",
            ));
        }
        if let Some(id) = &self.workspace_id {
            check_uuid("workspace_id", id)?;
        }
        Ok(())
    }
}

pub(crate) fn check_uuid(what: &str, id: &str) -> Result<uuid::Uuid, Error> {
    uuid::Uuid::try_parse(id).map_err(|_| {
        Error::invalid(format!(
            "{what} `{}` is not a UUID",
            crate::error::excerpt(id, 60)
        ))
    })
}

/// Which keys [`Client::list_keys`](crate::Client::list_keys) returns.
///
/// Without options, OpenRouter lists the enabled keys of the account's
/// default workspace, newest first, a page of 100 at a time.
///
/// ```
/// use openrouter_keys::ListOptions;
///
/// let options = ListOptions::new().include_disabled(true).offset(100);
/// assert_eq!(options.offset, Some(100));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// Whether disabled keys are listed too.
    pub include_disabled: bool,
    /// How many keys to skip.
    pub offset: Option<u64>,
    /// The workspace whose keys are listed (a UUID); the default workspace
    /// when `None`.
    pub workspace_id: Option<String>,
    /// The most pages [`Client::list_all_keys`](crate::Client::list_all_keys)
    /// reads before it gives up (at least 1); default
    /// [`ListOptions::DEFAULT_MAX_PAGES`].
    pub max_pages: u32,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            include_disabled: false,
            offset: None,
            workspace_id: None,
            max_pages: Self::DEFAULT_MAX_PAGES,
        }
    }
}

impl ListOptions {
    /// Enabled keys of the default workspace, from the newest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lists disabled keys too.
    pub fn include_disabled(mut self, include: bool) -> Self {
        self.include_disabled = include;
        self
    }

    /// Skips this many keys.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Only the keys of this workspace (a UUID).
    pub fn workspace_id(mut self, id: impl Into<String>) -> Self {
        self.workspace_id = Some(id.into());
        self
    }

    /// The most pages [`Client::list_all_keys`](crate::Client::list_all_keys)
    /// reads before it gives up; default [`ListOptions::DEFAULT_MAX_PAGES`].
    pub fn max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// The default page bound of [`Client::list_all_keys`](crate::Client::list_all_keys):
    /// at OpenRouter's page size of 100, a hundred thousand keys.
    pub const DEFAULT_MAX_PAGES: u32 = 1000;
}
