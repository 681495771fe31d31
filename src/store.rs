//! Where the secrets of created keys are kept, beside the progress of the
//! jobs that create and rotate keys: the [`SecretStore`] trait, and
//! [`FileStore`], a JSON file.
//!
//! A key's secret is shown once, in the answer to `POST /keys`. The jobs in
//! [`crate::Client::create_key_once`] and [`crate::Client::rotate_key`]
//! record what they are about to do in the store before they do it, and
//! the secret as soon as it arrives, so that a run killed at any point can
//! be finished by the next one. The store never hands a secret back: the
//! jobs only write secrets, and read which keys have one.

use std::{
    collections::BTreeMap,
    fmt,
    fs::{self, File, OpenOptions},
    future::Future,
    io::{self, Write},
    path::{Path, PathBuf},
    sync::Mutex,
};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What a store's own failure is: any error, which the jobs report as
/// [`ErrorKind::Store`](crate::ErrorKind::Store).
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// A place that keeps created keys' secrets, and the progress of the jobs
/// that create and rotate keys, across runs.
///
/// Implement it to keep secrets in your own vault; [`FileStore`] keeps
/// them in a JSON file. Two rules make the jobs safe:
///
/// - [`apply`](Self::apply) returns only once the change is durable: a run
///   killed right after it returns must find the change in the next
///   [`load`](Self::load).
/// - A change is made whole or not at all.
///
/// [`Client::apply`](crate::Client::apply) calls it from several tasks at
/// once (one per change under way), so each change must be made whole
/// under concurrent calls. No job ever reads a secret back.
pub trait SecretStore: Send + Sync {
    /// What the store holds: the keys it has a secret for (but not the
    /// secrets), the pending creates and the rotations under way.
    fn load(&self) -> impl Future<Output = Result<StoreState, StoreError>> + Send;

    /// Makes one change, durably, before it returns.
    fn apply(&self, change: Change) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a store holds, its secrets aside.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StoreState {
    /// The keys with a secret in the store, by hash.
    pub keys: BTreeMap<String, StoredKey>,
    /// Creates that were recorded and have not been settled.
    pub intents: Vec<Intent>,
    /// Rotations under way.
    pub rotations: Vec<Rotation>,
}

/// A key whose secret is in the store (the secret itself is not here).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredKey {
    /// The key's name when it was created.
    pub name: String,
    /// Its workspace, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// The [`Intent`] that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
}

/// A create that was recorded before its `POST /keys` was sent.
///
/// An *orphan* of the intent is a key with the intent's name and workspace
/// that was not among `existing` and has no secret in the store: a key
/// the intent's `POST` made and whose secret was lost. Settling an intent
/// deletes its orphans and then the intent; nothing else is touched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Intent {
    /// Unique in the store.
    pub id: String,
    /// The name of the key to create.
    pub name: String,
    /// The workspace it is created in; the account's default workspace
    /// when `None`.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// The hashes of the keys that had this name in this workspace, disabled
    /// ones included, when the intent was recorded.
    #[serde(default)]
    pub existing: Vec<String>,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
}

/// A rotation under way: the replacement of the key `old` by a new one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rotation {
    /// The key being replaced.
    pub old: String,
    /// The stage reached: recorded before the stage runs.
    pub stage: RotationStage,
    /// The [`Intent`] that creates the replacement; the key in the store
    /// with this intent is the replacement.
    pub intent: String,
    /// The replacement's settings, as its `POST /keys` sends them.
    pub key: crate::NewKey,
    /// Whether the replacement is disabled (a `PATCH` after the `POST`,
    /// which cannot set it).
    pub disabled: bool,
    /// How long to wait between disabling the old key and deleting it, in
    /// seconds.
    #[serde(default)]
    pub grace_secs: u64,
    /// The replacement, once it is known.
    #[serde(default)]
    pub new: Option<String>,
    /// When the old key was disabled (RFC 3339, UTC): the grace period
    /// counts from here.
    #[serde(default)]
    pub disabled_at: Option<String>,
}

/// The stages of a rotation, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RotationStage {
    /// Create the replacement exactly once, and copy `disabled` to it.
    Create,
    /// Disable the old key.
    Disable,
    /// Wait for the grace period, counted from the disable.
    Grace,
    /// Delete the old key, then forget its secret.
    Delete,
}

/// One change to a store.
#[non_exhaustive]
pub enum Change {
    /// Keep the secret of a created key.
    PutKey {
        /// The key's hash.
        hash: String,
        /// What the store says of it.
        key: StoredKey,
        /// Its secret.
        secret: SecretString,
    },
    /// Forget a key and its secret (the key was deleted).
    RemoveKey {
        /// The key's hash.
        hash: String,
    },
    /// Record a create before its `POST` is sent.
    PutIntent(Intent),
    /// Drop a settled create.
    RemoveIntent {
        /// The intent's id.
        id: String,
    },
    /// Record a rotation, or the stage it reached.
    PutRotation(Rotation),
    /// Drop a finished rotation.
    RemoveRotation {
        /// The hash of the key it replaced.
        old: String,
    },
}

impl fmt::Debug for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::PutKey { hash, key, .. } => f
                .debug_struct("PutKey")
                .field("hash", hash)
                .field("key", key)
                .field("secret", &"[redacted]")
                .finish(),
            Change::RemoveKey { hash } => f.debug_struct("RemoveKey").field("hash", hash).finish(),
            Change::PutIntent(intent) => f.debug_tuple("PutIntent").field(intent).finish(),
            Change::RemoveIntent { id } => f.debug_struct("RemoveIntent").field("id", id).finish(),
            Change::PutRotation(rotation) => f.debug_tuple("PutRotation").field(rotation).finish(),
            Change::RemoveRotation { old } => {
                f.debug_struct("RemoveRotation").field("old", old).finish()
            }
        }
    }
}

/// A [`SecretStore`] in a JSON file that only its owner may read.
///
/// The file's layout is a contract that other tools read:
///
/// ```json
/// {
///   "keys": {
///     "<hash>": { "name": "ci", "secret": "sk-or-v1-…", "workspace_id": "…", "intent": "…" }
///   },
///   "intents": [
///     { "id": "…", "name": "ci", "workspace_id": null, "existing": ["<hash>"], "recorded_at": "2026-12-04T18:00:00Z" }
///   ],
///   "rotations": [
///     { "old": "<hash>", "stage": "grace", "intent": "…", "key": { "name": "ci", "limit": 5 },
///       "disabled": false, "grace_secs": 60, "new": "<hash>", "disabled_at": "2026-12-04T18:00:05Z" }
///   ]
/// }
/// ```
///
/// `keys` maps each hash to at least its `name` and `secret`; fields this
/// crate does not know, there or at the top level, are kept as they are.
///
/// - A new file is created with mode 0600. A file that grants anything to
///   its group or to others (0640, 0644, …) is refused, as ssh refuses such
///   a key file, and left as it is. (Unix; elsewhere the mode is not
///   checked.)
/// - Every change rewrites the file atomically: a temporary file in the
///   same folder, written and flushed to disk, then renamed over the old
///   one, and the folder flushed. A run killed at any moment leaves the
///   old file or the new one, never a torn one.
/// - One [`FileStore`] holds an exclusive lock on `<file>.lock` while it
///   lives, so two runs never write one store at once; the lock goes with
///   the process, however it ends.
/// - Secrets are never printed: not in `Debug`, errors or logs.
pub struct FileStore {
    path: PathBuf,
    /// Held while the store lives; unlocked by the system when the process
    /// ends.
    _lock: File,
    document: Mutex<Document>,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The file, as read and written.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Document {
    keys: BTreeMap<String, Entry>,
    #[serde(default)]
    intents: Vec<Intent>,
    #[serde(default)]
    rotations: Vec<Rotation>,
    /// What other tools put there.
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    key: StoredKey,
    #[serde(serialize_with = "expose")]
    secret: SecretString,
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

fn expose<S: serde::Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

impl FileStore {
    /// Opens the store at `path`, creating it (empty, mode 0600) when it
    /// does not exist. Fails with
    /// [`ErrorKind::Store`](crate::ErrorKind::Store), changing nothing,
    /// when the file grants any permission to its group or others, is not a
    /// store, or is locked by another run.
    pub fn open(path: impl AsRef<Path>) -> Result<FileStore, crate::Error> {
        Self::open_at(path.as_ref().to_path_buf()).map_err(crate::Error::from_store)
    }

    fn open_at(path: PathBuf) -> Result<FileStore, StoreError> {
        let shown = path.display();
        let lock = lock(&path)?;
        let document = match fs::symlink_metadata(&path) {
            Ok(meta) => {
                if !meta.is_file() {
                    return Err(format!("the store {shown} is not a regular file").into());
                }
                check_mode(&path, &meta)?;
                let text = Zeroizing::new(
                    fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read the store {shown}: {e}"))?,
                );
                // serde_json's message names a line and column, and may
                // quote a value: `excerpt` hides any secret in it.
                serde_json::from_str(&text).map_err(|e| {
                    format!(
                        "the store {shown} is not a store of openrouter-keys (a JSON object \
                         with a \"keys\" object): {}",
                        crate::error::excerpt(&e.to_string(), 200)
                    )
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let document = Document::default();
                write_atomically(&path, &document)?;
                document
            }
            Err(e) => return Err(format!("cannot read the store {shown}: {e}").into()),
        };
        Ok(FileStore {
            path,
            _lock: lock,
            document: Mutex::new(document),
        })
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn change(&self, change: Change) -> Result<(), StoreError> {
        let mut document = self
            .document
            .lock()
            .map_err(|_| "the store is unusable after a panic in another task")?;
        // Changed on a copy, so that a failed write leaves the store as the
        // file still is.
        let mut next = document.clone();
        match change {
            Change::PutKey { hash, key, secret } => {
                let other = next
                    .keys
                    .remove(&hash)
                    .map(|entry| entry.other)
                    .unwrap_or_default();
                next.keys.insert(hash, Entry { key, secret, other });
            }
            Change::RemoveKey { hash } => {
                next.keys.remove(&hash);
            }
            Change::PutIntent(intent) => {
                next.intents.retain(|i| i.id != intent.id);
                next.intents.push(intent);
            }
            Change::RemoveIntent { id } => next.intents.retain(|i| i.id != id),
            Change::PutRotation(rotation) => {
                match next.rotations.iter_mut().find(|r| r.old == rotation.old) {
                    Some(slot) => *slot = rotation,
                    None => next.rotations.push(rotation),
                }
            }
            Change::RemoveRotation { old } => next.rotations.retain(|r| r.old != old),
        }
        write_atomically(&self.path, &next)?;
        *document = next;
        Ok(())
    }

    fn state(&self) -> Result<StoreState, StoreError> {
        let document = self
            .document
            .lock()
            .map_err(|_| "the store is unusable after a panic in another task")?;
        Ok(StoreState {
            keys: document
                .keys
                .iter()
                .map(|(hash, entry)| (hash.clone(), entry.key.clone()))
                .collect(),
            intents: document.intents.clone(),
            rotations: document.rotations.clone(),
        })
    }
}

impl SecretStore for FileStore {
    async fn load(&self) -> Result<StoreState, StoreError> {
        self.state()
    }

    async fn apply(&self, change: Change) -> Result<(), StoreError> {
        self.change(change)
    }
}

/// Takes the exclusive lock on `<path>.lock`, or says who holds it.
fn lock(path: &Path) -> Result<File, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = private(OpenOptions::new().read(true).write(true).create(true))
        .open(&lock_path)
        .map_err(|e| format!("cannot open the store's lock {}: {e}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(format!(
            "the store {} is in use by another run (it holds {})",
            path.display(),
            lock_path.display()
        )
        .into()),
        Err(fs::TryLockError::Error(e)) => {
            Err(format!("cannot lock {}: {e}", lock_path.display()).into())
        }
    }
}

/// Refuses a file that its group or others may use in any way.
#[cfg(unix)]
fn check_mode(path: &Path, meta: &fs::Metadata) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "the store {} may be read by others (mode {mode:04o}); it holds keys' secrets, so \
             only its owner may have access: chmod 600 {}",
            path.display(),
            path.display()
        )
        .into());
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _meta: &fs::Metadata) -> Result<(), StoreError> {
    Ok(())
}

/// Options that create a file only its owner may read and write.
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Replaces `path` with `document`: written to a new file beside it,
/// flushed, renamed over it, and the folder flushed.
fn write_atomically(path: &Path, document: &Document) -> Result<(), StoreError> {
    let shown = path.display();
    let text = Zeroizing::new(
        serde_json::to_vec_pretty(document)
            .map_err(|e| format!("cannot write the store {shown}: {e}"))?,
    );
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path.file_name().map_or_else(
        || "store".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let tmp = dir.join(format!(".{file_name}.{:016x}.tmp", fastrand::u64(..)));
    let written = (|| {
        let mut file = private(OpenOptions::new().write(true).create_new(true)).open(&tmp)?;
        file.write_all(&text)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename itself is durable once the folder is.
        File::open(dir)?.sync_all()
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write the store {shown}: {e}").into()
    })
}
