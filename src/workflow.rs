//! The jobs that must end well whoever kills them: creating a key exactly
//! once, with its secret stored, and rotating a key in stages. Each records
//! what it is about to do in a [`SecretStore`] before it does it, and the
//! next run of any job on that store finishes or undoes what a killed run
//! left.

use std::time::{Duration, SystemTime};

use crate::{
    ApiKey, Applied, Client, Error, ErrorKind, KeyUpdate, LimitReset, NewKey,
    store::{Change, Intent, Rotation, RotationStage, SecretStore, StoredKey},
};

/// The most `POST /keys` a run sends for one create.
pub const MAX_POSTS: u32 = 3;

/// What [`Client::rotate_key`] did: the key it replaced, and the
/// replacement.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rotated {
    /// The hash of the key that was replaced, now deleted.
    pub old: String,
    /// The hash of the replacement, whose secret is in the store.
    pub new: String,
}

impl Client {
    /// Creates `key` exactly once, and returns only once its secret is in
    /// `store`: the secret goes there, and nowhere else.
    ///
    /// 1. Every create that an earlier run left pending is settled first
    ///    ([`settle`](Self::settle)).
    /// 2. The keys that already have this name in the key's workspace
    ///    (disabled ones included) are listed, and an [`Intent`] naming them
    ///    is recorded in the store before anything is created.
    /// 3. `POST /keys`. When it is answered, the secret is stored, then the
    ///    intent is dropped. When its outcome is unknown (the connection
    ///    broke or the attempt timed out after the request was sent), the
    ///    key it may have made is an *orphan*: a key with this name and
    ///    workspace that was not listed in step 2 and is not in the store.
    ///    Its secret is lost, so it is deleted, and the create is tried
    ///    again: at most [`MAX_POSTS`] `POST`s in all, each with the
    ///    client's retry policy and budget. When a later `POST` is
    ///    answered, orphans are looked for once more before the intent is
    ///    dropped, in case a lost one was carried out late; if that look
    ///    fails, the key is still returned, and the intent stays for the
    ///    next run to settle.
    /// 4. A create that cannot succeed (a refusal such as 400 or 403, or
    ///    the last `POST` failing) deletes what orphans it finds, drops the
    ///    intent, and returns the error.
    ///
    /// A key that existed before, under this name or not, is never
    /// touched. A run that is killed leaves the intent in the store, and the
    /// next run settles it: it deletes the intent's orphans, then the
    /// intent. Running the same create again after a kill so ends with one
    /// key, not two. A run that cannot finish the clean-up (listing or
    /// deleting keys fails, or writing the store) also leaves the intent
    /// for the next run, and returns the error that stopped it.
    pub async fn create_key_once<S: SecretStore>(
        &self,
        key: &NewKey,
        store: &S,
    ) -> Result<ApiKey, Error> {
        key.validate()?;
        self.settle(store).await?;
        self.create_for(key, store, new_id()).await
    }

    /// Settles every create that a run left pending in `store`: deletes its
    /// orphans (keys it may have made whose secret was lost), then drops
    /// it. Nothing else is touched. The jobs on a store call it first.
    pub async fn settle<S: SecretStore>(&self, store: &S) -> Result<(), Error> {
        for intent in load(store).await?.intents {
            tracing::info!(name = %intent.name, intent = %intent.id, "settling a create an earlier run left");
            self.settle_intent(&intent, store).await?;
        }
        Ok(())
    }

    /// Replaces the key `hash` with a new one that has its settings (name,
    /// limit, limit reset, BYOK setting, workspace, expiry and whether it
    /// is disabled), in stages that survive a crash:
    ///
    /// 1. **create**: the replacement is created exactly once
    ///    ([`create_key_once`](Self::create_key_once)), in the old key's
    ///    workspace, with its secret stored; a disabled old key's
    ///    replacement is then disabled too (`POST /keys` cannot set it);
    /// 2. **disable**: the old key is disabled, and the time recorded;
    /// 3. **grace**: the rotation waits until `grace` has passed since that
    ///    time, so that requests in flight with the old key can end;
    /// 4. **delete**: the old key is deleted, then its secret is removed
    ///    from the store (it stays there until then).
    ///
    /// Each stage is recorded in the store before it runs. Running the same
    /// rotation again after a kill resumes at the stage it reached: it
    /// makes no second replacement, and waits only what is left of the
    /// grace period (the longer of the one recorded and `grace`, in whole
    /// seconds rounded up). A rotation whose create fails with nothing
    /// made and nothing pending (a refusal, or a failure before the intent
    /// was recorded) is forgotten, old key untouched, and running it again
    /// begins it again. The answer names both keys.
    pub async fn rotate_key<S: SecretStore>(
        &self,
        hash: &str,
        store: &S,
        grace: Duration,
    ) -> Result<Rotated, Error> {
        crate::client::validate_hash(hash)?;
        self.settle(store).await?;
        let under_way = load(store)
            .await?
            .rotations
            .into_iter()
            .find(|r| r.old == hash);
        let rotation = match under_way {
            // A resumed rotation waits the longer of the grace period it
            // was begun with and the one asked for now.
            Some(rotation) if whole_secs(grace) > rotation.grace_secs => {
                let rotation = Rotation {
                    grace_secs: whole_secs(grace),
                    ..rotation
                };
                put(store, Change::PutRotation(rotation.clone())).await?;
                rotation
            }
            Some(rotation) => rotation,
            None => {
                let old = self.get_key(hash).await?;
                let key = replacement_of(&old)?;
                self.begin_rotation(&old, key, old.disabled, grace, store)
                    .await?
            }
        };
        self.finish_rotation(rotation, store).await
    }

    /// Records a rotation of `old` into a key with the settings `key`
    /// (disabled or not), before any of it runs.
    pub(crate) async fn begin_rotation<S: SecretStore>(
        &self,
        old: &ApiKey,
        key: NewKey,
        disabled: bool,
        grace: Duration,
        store: &S,
    ) -> Result<Rotation, Error> {
        key.validate()?;
        let rotation = Rotation {
            old: old.hash.clone(),
            stage: RotationStage::Create,
            intent: new_id(),
            key,
            disabled,
            grace_secs: whole_secs(grace),
            new: None,
            disabled_at: None,
        };
        put(store, Change::PutRotation(rotation.clone())).await?;
        Ok(rotation)
    }

    /// Runs a recorded rotation from the stage it reached, waiting what is
    /// left of its grace period.
    pub(crate) async fn finish_rotation<S: SecretStore>(
        &self,
        mut rotation: Rotation,
        store: &S,
    ) -> Result<Rotated, Error> {
        let grace = Duration::from_secs(rotation.grace_secs);
        loop {
            tracing::info!(old = %rotation.old, new = rotation.new.as_deref(), stage = ?rotation.stage, "rotation stage");
            rotation = match rotation.stage {
                RotationStage::Create => {
                    let new = match self.replacement(&rotation, store).await {
                        Ok(new) => new,
                        Err(error) => {
                            // A create that failed with its intent settled
                            // (or never recorded) made nothing, and the old
                            // key is as it was: the rotation is dropped, so
                            // that a refusal (an expiry in the past, a 403)
                            // blocks no later job on the store. Running it
                            // again begins it again.
                            let settled = load(store)
                                .await
                                .is_ok_and(|s| !s.intents.iter().any(|i| i.id == rotation.intent));
                            if settled {
                                put(
                                    store,
                                    Change::RemoveRotation {
                                        old: rotation.old.clone(),
                                    },
                                )
                                .await?;
                            }
                            return Err(error);
                        }
                    };
                    if rotation.disabled {
                        self.update_key(&new, &KeyUpdate::new().disabled(true))
                            .await?;
                    }
                    Rotation {
                        stage: RotationStage::Disable,
                        new: Some(new),
                        ..rotation
                    }
                }
                RotationStage::Disable => {
                    gone_is_done(
                        self.update_key(&rotation.old, &KeyUpdate::new().disabled(true))
                            .await
                            .map(drop),
                    )?;
                    Rotation {
                        stage: RotationStage::Grace,
                        disabled_at: crate::request::rfc3339(SystemTime::now()),
                        ..rotation
                    }
                }
                RotationStage::Grace => {
                    let since = rotation
                        .disabled_at
                        .as_deref()
                        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                        .map_or(SystemTime::now(), SystemTime::from);
                    let waited = SystemTime::now().duration_since(since).unwrap_or_default();
                    let left = grace.saturating_sub(waited);
                    if !left.is_zero() {
                        tracing::info!(old = %rotation.old, wait_secs = left.as_secs_f64(), "waiting out the grace period");
                        tokio::time::sleep(left).await;
                    }
                    Rotation {
                        stage: RotationStage::Delete,
                        ..rotation
                    }
                }
                RotationStage::Delete => {
                    gone_is_done(self.delete_key(&rotation.old).await)?;
                    put(
                        store,
                        Change::RemoveKey {
                            hash: rotation.old.clone(),
                        },
                    )
                    .await?;
                    put(
                        store,
                        Change::RemoveRotation {
                            old: rotation.old.clone(),
                        },
                    )
                    .await?;
                    let new = rotation.new.ok_or_else(|| {
                        Error::store("the rotation reached its last stage without a replacement")
                    })?;
                    return Ok(Rotated {
                        old: rotation.old,
                        new,
                    });
                }
            };
            put(store, Change::PutRotation(rotation.clone())).await?;
        }
    }

    /// The rotation's replacement: the key that its intent stored, or one
    /// created now.
    async fn replacement<S: SecretStore>(
        &self,
        rotation: &Rotation,
        store: &S,
    ) -> Result<String, Error> {
        let state = load(store).await?;
        // A create of this rotation that an earlier run left is settled
        // first: recording the intent again would forget its orphans.
        if let Some(intent) = state.intents.iter().find(|i| i.id == rotation.intent) {
            self.settle_intent(intent, store).await?;
        }
        if let Some((hash, _)) = state
            .keys
            .iter()
            .find(|(_, key)| key.intent.as_deref() == Some(rotation.intent.as_str()))
        {
            return Ok(hash.clone());
        }
        let created = self
            .create_for(&rotation.key, store, rotation.intent.clone())
            .await?;
        Ok(created.hash)
    }

    /// Steps 2 to 4 of [`create_key_once`](Self::create_key_once), under
    /// the intent `id`.
    pub(crate) async fn create_for<S: SecretStore>(
        &self,
        key: &NewKey,
        store: &S,
        id: String,
    ) -> Result<ApiKey, Error> {
        let existing = self
            .scan(key.workspace_id.as_deref())
            .await?
            .into_iter()
            .filter(|k| k.name == key.name)
            .map(|k| k.hash)
            .collect();
        let intent = Intent {
            id,
            name: key.name.clone(),
            workspace_id: key.workspace_id.clone(),
            existing,
            recorded_at: crate::request::rfc3339(SystemTime::now()).unwrap_or_default(),
        };
        put(store, Change::PutIntent(intent.clone())).await?;
        tracing::info!(name = %intent.name, intent = %intent.id, "create recorded");
        let mut last = None;
        // Whether an earlier POST's outcome is unknown.
        let mut unknown = false;
        for post in 1..=MAX_POSTS {
            let error = match self.create_key(key).await {
                Ok(created) => {
                    let hash = created.data.hash.clone();
                    let stored = put(
                        store,
                        Change::PutKey {
                            hash: hash.clone(),
                            key: StoredKey {
                                name: key.name.clone(),
                                workspace_id: key.workspace_id.clone(),
                                intent: Some(intent.id.clone()),
                            },
                            secret: created.key,
                        },
                    )
                    .await;
                    if let Err(error) = stored {
                        // A key whose secret cannot be kept must not live;
                        // if this delete fails too, the intent is still
                        // pending and the next run deletes it.
                        let _ = self.delete_key(&hash).await;
                        return Err(error);
                    }
                    // A lost POST may have been carried out after the
                    // orphans were last looked for: look again, now that
                    // the server has answered a later one. The key is made
                    // and stored whatever this look finds: when it fails,
                    // the intent stays for the next run to settle.
                    let looked = match unknown {
                        true => self.delete_orphans(&intent, store).await,
                        false => Ok(()),
                    };
                    match looked {
                        Ok(()) => put(store, Change::RemoveIntent { id: intent.id }).await?,
                        Err(error) => {
                            tracing::warn!(name = %key.name, intent = %intent.id, "orphans left for the next run: {error}");
                        }
                    }
                    tracing::info!(name = %key.name, %hash, "created, secret stored");
                    return Ok(created.data);
                }
                Err(error) => error,
            };
            tracing::info!(name = %key.name, post, applied = ?error.applied(), "create failed: {error}");
            let lost = error.applied() != Applied::No;
            if lost {
                self.delete_orphans(&intent, store).await?;
            }
            unknown |= lost;
            let again = lost || error.is_retryable();
            last = Some(error);
            if !again {
                break;
            }
        }
        self.settle_intent(&intent, store).await?;
        Err(last.unwrap_or_else(|| Error::store("no create was attempted")))
    }

    pub(crate) async fn settle_intent<S: SecretStore>(
        &self,
        intent: &Intent,
        store: &S,
    ) -> Result<(), Error> {
        self.delete_orphans(intent, store).await?;
        put(
            store,
            Change::RemoveIntent {
                id: intent.id.clone(),
            },
        )
        .await
    }

    /// Deletes the keys the intent made whose secrets were lost.
    async fn delete_orphans<S: SecretStore>(
        &self,
        intent: &Intent,
        store: &S,
    ) -> Result<(), Error> {
        let stored = load(store).await?.keys;
        let orphans = self
            .scan(intent.workspace_id.as_deref())
            .await?
            .into_iter()
            .filter(|key| {
                key.name == intent.name
                    && !intent.existing.contains(&key.hash)
                    && !stored.contains_key(&key.hash)
            });
        for orphan in orphans {
            tracing::info!(name = %intent.name, hash = %orphan.hash, "deleting a key whose secret was lost");
            gone_is_done(self.delete_key(&orphan.hash).await)?;
        }
        Ok(())
    }
}

/// A grace period in the store's whole seconds, rounded up.
fn whole_secs(grace: Duration) -> u64 {
    grace
        .as_secs()
        .saturating_add(u64::from(grace.subsec_nanos() > 0))
}

/// A key with the settings of `old`, for its replacement.
pub(crate) fn replacement_of(old: &ApiKey) -> Result<NewKey, Error> {
    let mut key = NewKey::new(&old.name)
        .include_byok_in_limit(old.include_byok_in_limit)
        .workspace_id(&old.workspace_id);
    key.limit = old.limit;
    if let Some(reset) = &old.limit_reset {
        key.limit_reset = Some(reset.parse::<LimitReset>().map_err(|e| {
            Error::invalid(format!(
                "the key {} cannot be copied: its limit_reset {e}",
                old.hash
            ))
        })?);
    }
    if let Some(at) = &old.expires_at {
        let at = chrono::DateTime::parse_from_rfc3339(at).map_err(|_| {
            Error::invalid(format!(
                "the key {} cannot be copied: its expires_at `{}` is not RFC 3339",
                old.hash,
                crate::error::excerpt(at, 40)
            ))
        })?;
        key.expires_at = Some(SystemTime::from(at));
    }
    Ok(key)
}

/// A delete or disable that finds the key gone has nothing left to do.
pub(crate) fn gone_is_done(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

pub(crate) fn new_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

pub(crate) async fn load<S: SecretStore>(store: &S) -> Result<crate::StoreState, Error> {
    store.load().await.map_err(Error::from_store)
}

pub(crate) async fn put<S: SecretStore>(store: &S, change: Change) -> Result<(), Error> {
    store.apply(change).await.map_err(Error::from_store)
}
