//! Keys as code: what it takes to make OpenRouter match a desired-state
//! file ([`Client::plan`]), and doing it ([`Client::apply`]).

use std::{collections::BTreeMap, time::SystemTime};

use futures_util::{StreamExt, stream};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    ApiKey, Client, DesiredKey, DesiredKeys, Error, KeyUpdate, NewKey, Patch,
    store::{Change, SecretStore, StoreState},
    workflow::{gone_is_done, load, new_id, put, replacement_of},
};

/// What to do with one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Create it: no key upstream has its name.
    Create,
    /// Change the fields that differ, with `PATCH`.
    Update,
    /// Replace it with a new key: a field that `PATCH` cannot change
    /// (`expires_at`, `workspace_id`) differs. The new key keeps the old
    /// one's settings that the file does not manage.
    Replace,
    /// Delete it: the file does not name it (with `prune`).
    Delete,
    /// Nothing to do.
    Unchanged,
}

/// One field that differs: what upstream has, and what the file wants, as
/// the API writes them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldChange {
    /// Upstream's value.
    pub from: Value,
    /// The desired value.
    pub to: Value,
}

/// One entry of a [`Plan`]: a key of the file, or an upstream key to
/// delete.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct KeyChange {
    /// The key's name.
    pub name: String,
    /// What to do; `None` when it cannot be planned (see `error`).
    pub action: Option<Action>,
    /// The upstream key, where there is one; after [`Client::apply`], the
    /// key as it is now (a created key's, or a replacement's), or the key
    /// that was deleted.
    pub hash: Option<String>,
    /// For an update or a replacement, the fields that differ.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<&'static str, FieldChange>,
    /// Whether it could be planned (or, after [`Client::apply`], done).
    pub ok: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    desired: Option<DesiredKey>,
    #[serde(skip)]
    upstream: Option<ApiKey>,
}

/// What makes OpenRouter match a desired-state file: one [`KeyChange`] per
/// key of the file, in its order, then one per upstream key to delete.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// The entries.
    pub changes: Vec<KeyChange>,
}

impl Plan {
    /// Whether every entry could be planned (or, after
    /// [`Client::apply`], was done).
    pub fn is_ok(&self) -> bool {
        self.changes.iter().all(|change| change.ok)
    }

    /// How many entries take `action` and are ok: after [`Client::apply`],
    /// how many were done.
    pub fn count(&self, action: Action) -> usize {
        self.changes
            .iter()
            .filter(|change| change.ok && change.action == Some(action))
            .count()
    }
}

/// How [`Client::apply`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Delete the upstream keys that the file does not name, in the default
    /// workspace and in the workspaces the file names (and nowhere else).
    /// A file that names no key is refused with it.
    pub prune: bool,
    /// The most changes under way at once, and the most requests in flight;
    /// the pacer lowers it while the server rate-limits. Default 8.
    pub concurrency: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            prune: false,
            concurrency: 8,
        }
    }
}

impl Client {
    /// Every key of the default workspace and of `workspaces`, disabled
    /// ones included, each exactly once, even while keys are created and
    /// deleted during the listing.
    ///
    /// Each workspace is read in overlapping pages, and a page counts only
    /// when its first key was already seen; when deletes above the read
    /// position outrun the overlap, the listing steps back and reads again.
    /// With no change during it, a workspace of `n ≥ 100` keys takes
    /// `⌊(n − 10) / 90⌋ + 1` requests at upstream's page of 100 (about 11 %
    /// more than plain paging), and a smaller one two. A workspace fails with
    /// [`ErrorKind::PageLimit`](crate::ErrorKind::PageLimit) after
    /// [`ListOptions::DEFAULT_MAX_PAGES`](crate::ListOptions::DEFAULT_MAX_PAGES)
    /// requests.
    pub async fn inventory(&self, workspaces: &[String]) -> Result<Vec<ApiKey>, Error> {
        let mut keys = self.scan(None).await?;
        for workspace in workspaces {
            for key in self.scan(Some(workspace)).await? {
                // A workspace named by its id may be the default one.
                if !keys.iter().any(|k| k.hash == key.hash) {
                    keys.push(key);
                }
            }
        }
        Ok(keys)
    }

    /// What makes OpenRouter match `desired`, sending only `GET`s. With
    /// `prune`, upstream keys that the file does not name (in the default
    /// workspace and the workspaces it names) are deleted.
    ///
    /// Keys are matched by name. Two upstream keys with one desired name
    /// (disabled ones count) are a conflict: that entry is not `ok`, its
    /// error names both, and nothing is planned for it. With `store`, the
    /// keys that the store's pending creates left behind (which the next
    /// job on the store deletes) and the old keys of rotations under way
    /// are not matched.
    pub async fn plan(
        &self,
        desired: &DesiredKeys,
        prune: bool,
        store: Option<&StoreState>,
    ) -> Result<Plan, Error> {
        let upstream = self.inventory(&desired.workspaces()).await?;
        Ok(plan(desired, upstream, prune, store))
    }

    /// Makes OpenRouter match `desired`, and says what it did: the
    /// [`plan`](Self::plan), each entry with the key's hash as it is now
    /// and whether it was done.
    ///
    /// First it finishes what earlier runs left in `store` (pending creates
    /// are settled, rotations under way are finished), then it plans, then
    /// it carries out the changes, up to `options.concurrency` at a time,
    /// at the rate the server allows: on a 429, every request waits out
    /// its `Retry-After` (at most the retry policy's `max_retry_after`, and
    /// within each call's time budget), the rate drops to what the server let through in
    /// the last second and then grows by one request a second each second,
    /// and the requests in flight halve and grow back by one per window
    /// of successes (PERFORMANCE.md has the figures). Then:
    ///
    /// - a create is [`create_key_once`](Self::create_key_once), its secret
    ///   going only to `store`, followed by a `PATCH` when the key is to be
    ///   disabled (`POST` cannot set it);
    /// - an update is one `PATCH` of the fields that differ;
    /// - a replacement is a [rotation](Self::rotate_key) with no grace
    ///   period: the new key has the file's settings and, for what the file
    ///   does not manage, the old key's;
    /// - a delete (with `prune`) also forgets the key's secret.
    ///
    /// A change that fails does not stop the others, and neither does a
    /// create or rotation left in the store that fails again: it fails the
    /// entries of its key's name (or an entry of its own, when the file
    /// does not name the key). Running it again right after sends only the
    /// listing's `GET`s.
    pub async fn apply<S: SecretStore>(
        &self,
        desired: &DesiredKeys,
        store: &S,
        options: &ApplyOptions,
    ) -> Result<Plan, Error> {
        if options.prune && desired.keys.is_empty() {
            return Err(Error::invalid(
                "the file names no key, and with prune that deletes every key of the default \
                 workspace: refused (an empty or cut-short file is the usual cause); delete \
                 keys one by one instead",
            ));
        }
        let paced = self.paced(options.concurrency);
        // What earlier runs left: a piece that fails stops the entries for
        // its key's name, and nothing else.
        let mut unfinished: Vec<(String, Option<String>, String)> = Vec::new();
        let StoreState {
            intents, rotations, ..
        } = load(store).await?;
        // A rotation's create is settled by the rotation, as it resumes.
        let rotating = |intent: &crate::Intent| {
            (rotations.iter())
                .any(|r| r.intent == intent.id && r.stage == crate::RotationStage::Create)
        };
        for intent in intents.into_iter().filter(|i| !rotating(i)) {
            if let Err(error) = paced.settle_intent(&intent, store).await {
                let error = format!("a create an earlier run left could not be settled: {error}");
                unfinished.push((intent.name, None, error));
            }
        }
        for rotation in rotations {
            let (name, old) = (rotation.key.name.clone(), rotation.old.clone());
            if let Err(error) = paced.finish_rotation(rotation, store).await {
                let error = format!("the rotation of {old} under way failed: {error}");
                unfinished.push((name, Some(old), error));
            }
        }
        let state = load(store).await?;
        let mut plan = paced.plan(desired, options.prune, Some(&state)).await?;
        for (name, old, error) in unfinished {
            let mut named = 0;
            for change in plan.changes.iter_mut().filter(|c| c.name == name) {
                change.ok = false;
                change.error = Some(error.clone());
                named += 1;
            }
            if named == 0 {
                plan.changes.push(KeyChange {
                    name,
                    action: old.is_some().then_some(Action::Replace),
                    hash: old,
                    fields: BTreeMap::new(),
                    ok: false,
                    error: Some(error),
                    desired: None,
                    upstream: None,
                });
            }
        }
        let results = stream::iter(plan.changes.iter().enumerate().filter(|(_, c)| c.ok))
            .map(|(at, change)| {
                let paced = &paced;
                async move { (at, paced.carry_out(change, store).await) }
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        for (at, (hash, result)) in results {
            let change = &mut plan.changes[at];
            change.hash = hash;
            if let Err(error) = result {
                change.ok = false;
                change.error = Some(error.to_string());
            }
        }
        Ok(plan)
    }

    /// Carries out one planned change: the key's hash after it (also when
    /// it failed after making a key), and how it went.
    async fn carry_out<S: SecretStore>(
        &self,
        change: &KeyChange,
        store: &S,
    ) -> (Option<String>, Result<(), Error>) {
        if let (Some(Action::Create), Some(desired)) = (change.action, &change.desired) {
            let key = new_key(desired, NewKey::new(&desired.name));
            let key = match self.create_for(&key, store, new_id()).await {
                Ok(key) => key,
                Err(error) => return (None, Err(error)),
            };
            let disabled = match desired.disabled {
                Some(true) => self
                    .update_key(&key.hash, &KeyUpdate::new().disabled(true))
                    .await
                    .map(drop),
                _ => Ok(()),
            };
            return (Some(key.hash), disabled);
        }
        match self.change(change, store).await {
            Ok(hash) => (hash, Ok(())),
            Err(error) => (change.hash.clone(), Err(error)),
        }
    }

    /// Carries out a planned update, replacement or delete; the key's hash
    /// after it.
    async fn change<S: SecretStore>(
        &self,
        change: &KeyChange,
        store: &S,
    ) -> Result<Option<String>, Error> {
        let (desired, upstream) = (change.desired.as_ref(), change.upstream.as_ref());
        match (change.action, desired, upstream) {
            (Some(Action::Update), Some(desired), Some(upstream)) => {
                self.update_key(&upstream.hash, &update(desired, upstream))
                    .await?;
                Ok(Some(upstream.hash.clone()))
            }
            (Some(Action::Replace), Some(desired), Some(upstream)) => {
                let disabled = desired.disabled.unwrap_or(upstream.disabled);
                let rotation = self
                    .begin_rotation(
                        upstream,
                        new_key(desired, replacement_of(&unmanaged(desired, upstream))?),
                        disabled,
                        std::time::Duration::ZERO,
                        store,
                    )
                    .await?;
                let rotated = self.finish_rotation(rotation, store).await?;
                Ok(Some(rotated.new))
            }
            (Some(Action::Delete), _, Some(upstream)) => {
                gone_is_done(self.delete_key(&upstream.hash).await)?;
                put(
                    store,
                    Change::RemoveKey {
                        hash: upstream.hash.clone(),
                    },
                )
                .await?;
                Ok(Some(upstream.hash.clone()))
            }
            _ => Ok(change.hash.clone()),
        }
    }
}

/// The plan for `desired` against the `upstream` keys.
fn plan(
    desired: &DesiredKeys,
    mut upstream: Vec<ApiKey>,
    prune: bool,
    store: Option<&StoreState>,
) -> Plan {
    if let Some(state) = store {
        upstream.retain(|key| !leaving(key, state));
    }
    let mut changes = Vec::new();
    for want in &desired.keys {
        let matches: Vec<&ApiKey> = upstream.iter().filter(|k| k.name == want.name).collect();
        let mut change = KeyChange {
            name: want.name.clone(),
            action: None,
            hash: None,
            fields: BTreeMap::new(),
            ok: true,
            error: None,
            desired: Some(want.clone()),
            upstream: None,
        };
        match matches.as_slice() {
            [] => change.action = Some(Action::Create),
            [found] => {
                change.fields = differences(want, found);
                let replace = change.fields.contains_key("expires_at")
                    || change.fields.contains_key("workspace_id");
                change.action = Some(if replace {
                    Action::Replace
                } else if change.fields.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Update
                });
                change.hash = Some(found.hash.clone());
                change.upstream = Some((*found).clone());
            }
            several => {
                let hashes: Vec<&str> = several.iter().map(|k| k.hash.as_str()).collect();
                change.ok = false;
                change.error = Some(format!(
                    "{} upstream keys are named \"{}\" ({}); rename or delete all but one",
                    hashes.len(),
                    want.name,
                    hashes.join(", ")
                ));
            }
        }
        changes.push(change);
    }
    if prune {
        for key in upstream {
            if !desired.keys.iter().any(|want| want.name == key.name) {
                changes.push(KeyChange {
                    name: key.name.clone(),
                    action: Some(Action::Delete),
                    hash: Some(key.hash.clone()),
                    fields: BTreeMap::new(),
                    ok: true,
                    error: None,
                    desired: None,
                    upstream: Some(key),
                });
            }
        }
    }
    Plan { changes }
}

/// Whether `key` is on its way out according to the store: an orphan of a
/// pending create, or the old key of a rotation under way.
fn leaving(key: &ApiKey, state: &StoreState) -> bool {
    state.rotations.iter().any(|r| r.old == key.hash)
        || (!state.keys.contains_key(&key.hash)
            && state.intents.iter().any(|intent| {
                intent.name == key.name
                    && !intent.existing.contains(&key.hash)
                    && intent
                        .workspace_id
                        .as_deref()
                        .is_none_or(|w| w.eq_ignore_ascii_case(&key.workspace_id))
            }))
}

/// The managed fields of `want` whose value upstream differs, as the API
/// writes them.
fn differences(want: &DesiredKey, have: &ApiKey) -> BTreeMap<&'static str, FieldChange> {
    let mut fields = BTreeMap::new();
    let mut differ = |name, from: Value, to: Value| {
        if from != to {
            fields.insert(name, FieldChange { from, to });
        }
    };
    match want.limit {
        Patch::Unchanged => {}
        Patch::Clear => differ("limit", usd_json(have.limit), Value::Null),
        Patch::Set(usd) => differ("limit", usd_json(have.limit), usd_json(Some(usd))),
    }
    match want.limit_reset {
        Patch::Unchanged => {}
        Patch::Clear => differ("limit_reset", json!(have.limit_reset), Value::Null),
        Patch::Set(reset) => differ(
            "limit_reset",
            json!(have.limit_reset),
            json!(reset.as_str()),
        ),
    }
    if let Some(include) = want.include_byok_in_limit {
        differ(
            "include_byok_in_limit",
            json!(have.include_byok_in_limit),
            json!(include),
        );
    }
    if let Some(disabled) = want.disabled {
        differ("disabled", json!(have.disabled), json!(disabled));
    }
    if let Some(at) = want.expires_at {
        // Compared as instants: upstream may write the same second another
        // way.
        let have_at = have
            .expires_at
            .as_deref()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(SystemTime::from);
        if have_at != Some(at) {
            differ(
                "expires_at",
                json!(have.expires_at),
                json!(crate::request::rfc3339(at)),
            );
        }
    }
    if let Some(workspace) = &want.workspace_id
        && !workspace.eq_ignore_ascii_case(&have.workspace_id)
    {
        differ("workspace_id", json!(have.workspace_id), json!(workspace));
    }
    fields
}

/// A limit as the API writes it: 5, not 5.0, so that equal limits compare
/// equal and a plan reads as the file does.
fn usd_json(usd: Option<f64>) -> Value {
    match usd {
        None => Value::Null,
        Some(usd) => crate::request::whole(usd).map_or_else(|| json!(usd), |n| json!(n)),
    }
}

/// The `PATCH` that makes `have` what `want` says.
fn update(want: &DesiredKey, have: &ApiKey) -> KeyUpdate {
    let fields = differences(want, have);
    let mut update = KeyUpdate::new();
    if fields.contains_key("limit") {
        update.limit = want.limit;
    }
    if fields.contains_key("limit_reset") {
        update.limit_reset = want.limit_reset;
    }
    if fields.contains_key("include_byok_in_limit") {
        update.include_byok_in_limit = want.include_byok_in_limit;
    }
    if fields.contains_key("disabled") {
        update.disabled = want.disabled;
    }
    update
}

/// `have` without the settings that `want` manages, so that only those
/// it copies into a replacement must be readable.
fn unmanaged(want: &DesiredKey, have: &ApiKey) -> ApiKey {
    let mut key = have.clone();
    if want.expires_at.is_some() {
        key.expires_at = None;
    }
    if !matches!(want.limit_reset, Patch::Unchanged) {
        key.limit_reset = None;
    }
    key
}

/// `key` (a new key, or a copy of the one it replaces) with the settings
/// that `want` manages.
fn new_key(want: &DesiredKey, mut key: NewKey) -> NewKey {
    match want.limit {
        Patch::Unchanged => {}
        Patch::Clear => key.limit = None,
        Patch::Set(usd) => key.limit = Some(usd),
    }
    match want.limit_reset {
        Patch::Unchanged => {}
        Patch::Clear => key.limit_reset = None,
        Patch::Set(reset) => key.limit_reset = Some(reset),
    }
    if want.include_byok_in_limit.is_some() {
        key.include_byok_in_limit = want.include_byok_in_limit;
    }
    if want.expires_at.is_some() {
        key.expires_at = want.expires_at;
    }
    if want.workspace_id.is_some() {
        key.workspace_id = want.workspace_id.clone();
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the settings a replacement copies must be readable: one the
    /// file replaces may be anything.
    #[test]
    fn a_replacement_reads_only_what_it_copies() {
        let old: ApiKey = serde_json::from_value(json!({
            "hash": "h", "name": "svc", "label": "sk-or-v1-0...0", "disabled": false,
            "limit": null, "limit_remaining": null, "limit_reset": "fortnightly",
            "include_byok_in_limit": false, "usage": 0, "usage_daily": 0,
            "usage_weekly": 0, "usage_monthly": 0, "byok_usage": 0, "byok_usage_daily": 0,
            "byok_usage_weekly": 0, "byok_usage_monthly": 0,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": null,
            "expires_at": "next tuesday", "creator_user_id": null,
            "workspace_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        }))
        .unwrap();
        let file = |extra: &str| {
            DesiredKeys::from_toml(&format!("[[key]]\nname = \"svc\"\n{extra}"), "k.toml")
                .unwrap()
                .keys
                .remove(0)
        };
        let both = file("expires_at = 2027-01-01T00:00:00Z\nlimit_reset = \"none\"\n");
        assert!(replacement_of(&unmanaged(&both, &old)).is_ok());
        let error = replacement_of(&unmanaged(&file("limit_reset = \"daily\"\n"), &old))
            .unwrap_err()
            .to_string();
        assert!(error.contains("next tuesday"), "{error}");
        let error = replacement_of(&unmanaged(&file("limit = 1\n"), &old))
            .unwrap_err()
            .to_string();
        assert!(error.contains("limit_reset"), "{error}");
    }
}
