//! The body of an update: which fields to change, and how.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
/// assert_eq!(Patch::from(Some(5.0)), Patch::Set(5.0));
/// assert_eq!(Patch::<f64>::from(None), Patch::Clear);
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

    /// The value to set, if this is [`Patch::Set`].
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(value) => Some(value),
            _ => None,
        }
    }
}

/// `Some(v)` sets the field and `None` clears it: `Option` always sends
/// something. Use [`Patch::Unchanged`] to send nothing.
impl<T> From<Option<T>> for Patch<T> {
    fn from(value: Option<T>) -> Self {
        match value {
            Some(value) => Patch::Set(value),
            None => Patch::Clear,
        }
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
        Option::<T>::deserialize(deserializer).map(Patch::from)
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
    /// Every value, in the order the API lists them.
    pub const ALL: [LimitReset; 3] = [LimitReset::Daily, LimitReset::Weekly, LimitReset::Monthly];

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
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "daily" => Ok(LimitReset::Daily),
            "weekly" => Ok(LimitReset::Weekly),
            "monthly" => Ok(LimitReset::Monthly),
            other => Err(format!(
                "`{other}` is not a limit reset; expected daily, weekly or monthly"
            )),
        }
    }
}

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
pub struct KeyUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled: Option<bool>,
    #[serde(skip_serializing_if = "Patch::is_unchanged", serialize_with = "usd")]
    limit: Patch<f64>,
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    limit_reset: Patch<LimitReset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    include_byok_in_limit: Option<bool>,
}

/// Writes a whole number of dollars without a fraction (`75`, as the API
/// documents it, rather than `75.0`); both mean the same JSON number.
fn usd<S: Serializer>(limit: &Patch<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    // 2^53: every integer up to here is exact in an f64.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match limit {
        // serde_json writes NaN and infinities as `null`, which would clear
        // the limit instead of setting it.
        Patch::Set(v) if !v.is_finite() => Err(serde::ser::Error::custom(format!(
            "limit must be a finite number of USD, not {v}"
        ))),
        Patch::Set(v) if v.fract() == 0.0 && v.abs() <= EXACT => {
            // The guard makes this conversion exact.
            serializer.serialize_i64(*v as i64)
        }
        other => other.serialize(serializer),
    }
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

    /// The new name, if one is set.
    pub fn get_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The new disabled state, if one is set.
    pub fn get_disabled(&self) -> Option<bool> {
        self.disabled
    }

    /// The state of the limit field.
    pub fn get_limit(&self) -> Patch<f64> {
        self.limit
    }

    /// The state of the limit-reset field.
    pub fn get_limit_reset(&self) -> Patch<LimitReset> {
        self.limit_reset
    }

    /// The new BYOK setting, if one is set.
    pub fn get_include_byok_in_limit(&self) -> Option<bool> {
        self.include_byok_in_limit
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
    /// finite, non-negative number of dollars.
    pub fn validate(&self) -> Result<(), String> {
        if self.is_empty() {
            return Err(
                "the update sets no field; set at least one of name, disabled, \
                 limit, limit_reset or include_byok_in_limit"
                    .to_owned(),
            );
        }
        if let Patch::Set(limit) = self.limit {
            if !limit.is_finite() {
                return Err(format!("limit must be a finite number of USD, not {limit}"));
            }
            if limit < 0.0 {
                return Err(format!("limit must not be negative, got {limit}"));
            }
        }
        Ok(())
    }
}
