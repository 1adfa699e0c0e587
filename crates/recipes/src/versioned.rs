//! Versioned data: a writer publishes whole new versions of a data set, readers pin one version
//! while they use it, and versions nobody uses any more are archived.
//!
//! # Layout
//! Under the store's path `P`:
//! - `P/current`: the version counter, 16 bytes: the current version then the latest version
//!   ever published (two big-endian `i64`). Missing: nothing published yet.
//! - `P/versions/v-<n>` (`n` zero-padded to 10 digits): a persistent node holding version `n`'s
//!   data (the data itself or a manifest naming where it lives).
//! - `P/versions/v-<n>/file-<name>`: one persistent node per file of version `n`, for data
//!   sets published as several files ([`VersionedStore::publish_files`]).
//! - `P/versions/v-<n>/reader-<session>-<random>`: one ephemeral node per pin of version `n`.
//! - `P/archive/v-<n>` and `P/archive/v-<n>/file-<name>`: an archived version's data and
//!   files, moved out of `versions`.
//! - `P/lock`: the writers' [`InterProcessMutex`]; publishing, archiving and rollback hold it.
//!
//! # Guarantees
//! - **No half-published version.** [`VersionedStore::publish_files`] creates `v-<n>`, every
//!   one of its file nodes, and moves the counter to `n` in one `multi` that also checks the
//!   counter's znode version: either all of it happens or none. A reader that sees `n` in the
//!   counter finds `v-<n>` and all of its files; [`VersionedStore::pin`] reports a counter that
//!   names a missing version as [`Error::Malformed`] rather than taking it for an archived one.
//! - **A pinned version is never archived.** A reader pins by creating its ephemeral node under
//!   `v-<n>`; archiving deletes `v-<n>` (after its files) inside a `multi`, and ZooKeeper
//!   refuses to delete a node that has children, so whichever comes first wins atomically:
//!   either the pin exists and the archive of that version fails as a whole (the version and
//!   all its files stay, retried on a later [`VersionedStore::archive`]), or the version is
//!   gone and the pin's create fails with "no node", and the reader reads the counter again
//!   (which by then names a newer version: only versions older than the current one are
//!   archived).
//! - Only versions older than the current one are archived; the current one and those newer
//!   (after a rollback) stay.
//! - [`VersionedStore::rollback`] makes an earlier (or later) live version current again in
//!   one `multi` that checks the target still exists and the counter is unchanged; an archived
//!   version cannot become current. Version numbers are never reused: the next publish after a
//!   rollback takes latest + 1.
//! - A pinned reader sees the data and files of exactly the version it pinned, however many
//!   versions are published meanwhile and however long it takes to read the files one by one
//!   (snapshot reads; it is not told about newer versions).
//!
//! # Failure behaviour
//! - A reader's pins are ephemeral: a reader that crashes or whose session expires releases its
//!   pins when the server ends its session, and archiving can then proceed.
//! - Connection loss during a read or a pin: waits for the session to be re-attached and goes
//!   on. A pin's name is unique, so re-sending its create after a loss is safe ("node exists"
//!   means the first attempt was applied).
//! - Connection loss while a publish or rollback is in flight: once reconnected, the writer,
//!   which still holds the lock, reads the counter back; if it shows the new state the call
//!   succeeds, otherwise it returns [`Error::OutcomeUnknown`] (the request may still be
//!   applied later). Never a half state: the `multi` checks the counter's znode version, so a
//!   late request and a retry cannot both apply on the same counter.
//! - Session expiry: [`Error::SessionEnded`]; the writer's lock and the reader's pins go with
//!   the session, published versions stay.
//! - A counter or version name in an unknown format: [`Error::Malformed`].

use crate::error::Error;
use crate::lock::InterProcessMutex;
use crate::session::{check_path, classify, ensure_path, retrying, wait_connected};
use client::{Client, CreateOptions, Stat};
use rand::Rng;

/// The default limit of attempts to pin a version that keeps being archived under the reader.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 100;

/// The prefix of version node names.
const VERSION_PREFIX: &str = "v-";

/// The prefix of a version's file node names.
const FILE_PREFIX: &str = "file-";

/// The prefix of a version's pin node names.
const READER_PREFIX: &str = "reader-";

/// The current and latest version, as stored in the counter node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counter {
    current: u64,
    latest: u64,
}

impl Counter {
    fn encode(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&(self.current as i64).to_be_bytes());
        out[8..].copy_from_slice(&(self.latest as i64).to_be_bytes());
        out
    }

    fn decode(path: &str, data: &[u8]) -> Result<Counter, Error> {
        let malformed = |reason: String| Error::Malformed {
            path: path.to_string(),
            reason,
        };
        let bytes: [u8; 16] = data
            .try_into()
            .map_err(|_| malformed(format!("{} bytes, want 16", data.len())))?;
        let mut half = [0u8; 8];
        half.copy_from_slice(&bytes[..8]);
        let current = i64::from_be_bytes(half);
        half.copy_from_slice(&bytes[8..]);
        let latest = i64::from_be_bytes(half);
        if current < 1 || latest < current {
            return Err(malformed(format!("current {current}, latest {latest}")));
        }
        Ok(Counter {
            current: current as u64,
            latest: latest as u64,
        })
    }
}

/// The name of version `n`'s node.
fn version_name(n: u64) -> String {
    format!("{VERSION_PREFIX}{n:010}")
}

/// Checks that `name` can be a file node's name suffix.
fn check_file_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Error::InvalidArgument(format!("bad file name {name:?}")));
    }
    Ok(())
}

/// The version number in a version node's name; `None` for other names.
fn parse_version_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(VERSION_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A versioned data set at one path, used through one client session.
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), recipes::Error> {
/// let store = recipes::VersionedStore::new(zk, "/datasets/catalog")?;
/// let v = store.publish(b"manifest of version 1").await?;
/// if let Some(pin) = store.pin().await? {
///     assert_eq!(pin.version(), v);
///     println!("{} bytes", pin.data().len());
///     pin.unpin().await?;
/// }
/// store.archive().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct VersionedStore {
    client: Client,
    path: String,
    lock: InterProcessMutex,
    max_attempts: u32,
}

/// What [`VersionedStore::archive`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveReport {
    /// The versions moved to the archive, ascending.
    pub archived: Vec<u64>,
    /// Older versions kept because a reader pins them, ascending.
    pub pinned: Vec<u64>,
}

/// One reader's hold on one version: the version cannot be archived until every pin on it is
/// released (or its session ends).
#[derive(Debug)]
pub struct Pinned {
    client: Client,
    version: u64,
    data: Vec<u8>,
    node: String,
}

impl Pinned {
    /// The pinned version.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The version's data, read while pinned.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// This pin's ephemeral node.
    pub fn node_path(&self) -> &str {
        &self.node
    }

    /// The names of the pinned version's files, sorted (empty for a version published without
    /// files).
    pub async fn files(&self) -> Result<Vec<String>, Error> {
        let client = &self.client;
        let version_path = self.version_path();
        let children = retrying(client, || client.get_children(&version_path)).await?;
        let mut names: Vec<String> = children
            .iter()
            .filter_map(|c| c.strip_prefix(FILE_PREFIX))
            .map(str::to_string)
            .collect();
        names.sort_unstable();
        Ok(names)
    }

    /// Reads one file of the pinned version. The pin keeps the version live, so the files of
    /// one pin all belong to the same version however long the reads take.
    pub async fn read_file(&self, name: &str) -> Result<Vec<u8>, Error> {
        check_file_name(name)?;
        let client = &self.client;
        let path = format!("{}/{FILE_PREFIX}{name}", self.version_path());
        let (data, _) = retrying(client, || client.get_data(&path)).await?;
        Ok(data)
    }

    /// The pinned version's node: the pin node's parent.
    fn version_path(&self) -> String {
        match self.node.rsplit_once('/') {
            Some((parent, _)) => parent.to_string(),
            None => self.node.clone(),
        }
    }

    /// Releases the pin (a pin already gone, e.g. after a session end, is not an error).
    pub async fn unpin(self) -> Result<(), Error> {
        let client = &self.client;
        match retrying(client, || client.delete(&self.node, None)).await {
            Ok(()) | Err(Error::Client(client::Error::NoNode)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl VersionedStore {
    /// A store at `path` (its nodes are created on first publish).
    pub fn new(client: Client, path: &str) -> Result<VersionedStore, Error> {
        check_path(path)?;
        let lock = InterProcessMutex::new(client.clone(), &format!("{path}/lock"))?;
        Ok(VersionedStore {
            client,
            path: path.to_string(),
            lock,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        })
    }

    /// Gives up pinning after `attempts` versions archived under the reader (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> VersionedStore {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The store's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of version `n`'s node (live versions).
    pub fn version_path(&self, n: u64) -> String {
        format!("{}/versions/{}", self.path, version_name(n))
    }

    /// The path of version `n`'s node once archived.
    pub fn archive_path(&self, n: u64) -> String {
        format!("{}/archive/{}", self.path, version_name(n))
    }

    fn counter_path(&self) -> String {
        format!("{}/current", self.path)
    }

    /// The current version; `None` before the first publish.
    pub async fn current(&self) -> Result<Option<u64>, Error> {
        Ok(self.read_counter().await?.map(|(c, _)| c.current))
    }

    /// The latest version ever published (newer than the current one after a rollback).
    pub async fn latest(&self) -> Result<Option<u64>, Error> {
        Ok(self.read_counter().await?.map(|(c, _)| c.latest))
    }

    /// The live (not archived) versions, ascending.
    pub async fn versions(&self) -> Result<Vec<u64>, Error> {
        let parent = format!("{}/versions", self.path);
        let client = &self.client;
        let children = match retrying(client, || client.get_children(&parent)).await {
            Ok(c) => c,
            Err(Error::Client(client::Error::NoNode)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut versions: Vec<u64> = children
            .iter()
            .filter_map(|c| parse_version_name(c))
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// The archived versions, ascending.
    pub async fn archived(&self) -> Result<Vec<u64>, Error> {
        let parent = format!("{}/archive", self.path);
        let client = &self.client;
        let children = match retrying(client, || client.get_children(&parent)).await {
            Ok(c) => c,
            Err(Error::Client(client::Error::NoNode)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut versions: Vec<u64> = children
            .iter()
            .filter_map(|c| parse_version_name(c))
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// How many readers pin version `n` now (0 for an archived or unknown version).
    pub async fn readers(&self, n: u64) -> Result<usize, Error> {
        let path = self.version_path(n);
        let client = &self.client;
        match retrying(client, || client.get_children(&path)).await {
            Ok(c) => Ok(c.iter().filter(|c| c.starts_with(READER_PREFIX)).count()),
            Err(Error::Client(client::Error::NoNode)) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Pins the current version and reads its data; `None` before the first publish.
    ///
    /// Reads the counter, registers as a reader of that version, and reads the version's data.
    /// If the version was archived between the counter read and the registration, starts over.
    /// If the counter still names the version after the registration failed for want of its
    /// node, the version was never (wholly) published: [`Error::Malformed`].
    pub async fn pin(&self) -> Result<Option<Pinned>, Error> {
        let client = &self.client;
        for _ in 0..self.max_attempts {
            let Some((counter, _)) = self.read_counter().await? else {
                return Ok(None);
            };
            let version = counter.current;
            let node = format!(
                "{}/{READER_PREFIX}{:016x}-{:016x}",
                self.version_path(version),
                client.session_id(),
                rand::rng().random::<u64>()
            );
            let ephemeral = CreateOptions::ephemeral();
            let created = retrying(client, || client.create(&node, b"", &ephemeral)).await;
            match created {
                // NodeExists: a create re-sent after a connection loss had been applied.
                Ok(_) | Err(Error::Client(client::Error::NodeExists)) => {}
                // Archived since the counter was read, if a newer version is current by now;
                // missing while the counter still names it, it was never published whole.
                Err(Error::Client(client::Error::NoNode)) => match self.read_counter().await? {
                    Some((now, _)) if now.current == version => {
                        return Err(Error::Malformed {
                            path: self.counter_path(),
                            reason: format!(
                                "current version {version} has no node {}",
                                self.version_path(version)
                            ),
                        });
                    }
                    _ => continue,
                },
                Err(e) => return Err(e),
            }
            let version_path = self.version_path(version);
            return match retrying(client, || client.get_data(&version_path)).await {
                Ok((data, _)) => Ok(Some(Pinned {
                    client: client.clone(),
                    version,
                    data,
                    node,
                })),
                Err(e) => {
                    // Cannot happen while pinned unless someone bypassed the recipe.
                    let _ = retrying(client, || client.delete(&node, None)).await;
                    Err(e)
                }
            };
        }
        Err(Error::TooManyRetries {
            path: self.path.clone(),
            attempts: self.max_attempts,
        })
    }

    /// Pins the current version, reads it and unpins: `(version, data)`, or `None` before the
    /// first publish.
    pub async fn read(&self) -> Result<Option<(u64, Vec<u8>)>, Error> {
        let Some(pin) = self.pin().await? else {
            return Ok(None);
        };
        let out = (pin.version, pin.data.clone());
        pin.unpin().await?;
        Ok(Some(out))
    }

    /// Publishes `data` as a new version, which becomes current: returns its number.
    pub async fn publish(&self, data: &[u8]) -> Result<u64, Error> {
        self.publish_files(data, &[]).await
    }

    /// Publishes a new version made of `data` (the version node's own data, e.g. a manifest)
    /// and `files` (`(name, contents)`, one node each), all in one `multi` with the counter
    /// move: returns its number. File names must be distinct and contain no `/`.
    pub async fn publish_files(&self, data: &[u8], files: &[(&str, &[u8])]) -> Result<u64, Error> {
        for (i, (name, _)) in files.iter().enumerate() {
            check_file_name(name)?;
            if files[..i].iter().any(|(other, _)| other == name) {
                return Err(Error::InvalidArgument(format!("file {name:?} given twice")));
            }
        }
        let guard = self.lock.acquire().await?;
        let out = self.publish_locked(data, files).await;
        guard.release().await?;
        out
    }

    /// The path where file `name` of version `n` lives while the version is live.
    pub fn file_path(&self, n: u64, name: &str) -> String {
        format!("{}/{FILE_PREFIX}{name}", self.version_path(n))
    }

    async fn publish_locked(&self, data: &[u8], files: &[(&str, &[u8])]) -> Result<u64, Error> {
        let client = &self.client;
        self.ensure_layout().await?;
        let counter_path = self.counter_path();
        let previous = self.read_counter().await?;
        let next = previous.as_ref().map_or(1, |(c, _)| c.latest + 1);
        let version_path = self.version_path(next);
        let new_counter = Counter {
            current: next,
            latest: next,
        }
        .encode();
        let persistent = CreateOptions::persistent();
        let mut multi = client.multi().create(&version_path, data, &persistent);
        for (name, contents) in files {
            multi = multi.create(&self.file_path(next, name), contents, &persistent);
        }
        let multi = match previous {
            Some((_, stat)) => multi.set_data(&counter_path, &new_counter, Some(stat.version)),
            None => multi.create(&counter_path, &new_counter, &CreateOptions::persistent()),
        };
        match multi.commit().await.map_err(client::Error::from) {
            Ok(_) => Ok(next),
            Err(client::Error::ConnectionLoss | client::Error::RequestTimeout) => {
                wait_connected(client).await?;
                // The multi is atomic and we hold the lock: the counter says whether it landed.
                match self.read_counter().await? {
                    Some((c, _)) if c.current == next => Ok(next),
                    _ => Err(Error::OutcomeUnknown(version_path)),
                }
            }
            Err(e) => Err(classify(client, e)),
        }
    }

    /// Makes live version `to` current again (normally an earlier one). Fails with
    /// [`Error::InvalidArgument`] if `to` is archived or was never published.
    pub async fn rollback(&self, to: u64) -> Result<(), Error> {
        let guard = self.lock.acquire().await?;
        let out = self.rollback_locked(to).await;
        guard.release().await?;
        out
    }

    async fn rollback_locked(&self, to: u64) -> Result<(), Error> {
        let client = &self.client;
        let unavailable = || Error::InvalidArgument(format!("version {to} is not live"));
        let Some((counter, stat)) = self.read_counter().await? else {
            return Err(unavailable());
        };
        let version_path = self.version_path(to);
        let Some(target) = retrying(client, || client.exists(&version_path)).await? else {
            return Err(unavailable());
        };
        let new_counter = Counter {
            current: to,
            latest: counter.latest,
        }
        .encode();
        let committed = client
            .multi()
            .check(&version_path, target.version)
            .set_data(&self.counter_path(), &new_counter, Some(stat.version))
            .commit()
            .await;
        match committed {
            Ok(_) => Ok(()),
            Err(client::MultiError::Failed {
                index: 0,
                error: client::Error::NoNode,
                ..
            }) => Err(unavailable()),
            Err(e) => match client::Error::from(e) {
                client::Error::ConnectionLoss | client::Error::RequestTimeout => {
                    wait_connected(client).await?;
                    match self.read_counter().await? {
                        Some((c, _)) if c.current == to => Ok(()),
                        _ => Err(Error::OutcomeUnknown(self.counter_path())),
                    }
                }
                e => Err(classify(client, e)),
            },
        }
    }

    /// Moves every version older than the current one that no reader pins to the archive.
    ///
    /// Each move is one `multi` (check the counter is unchanged, create the archive copy of the
    /// version and its files, delete the live files and then the live node at its version), so a reader pinning concurrently either keeps the
    /// version (its pin makes the delete fail, and the whole move with it) or finds it gone
    /// before pinning and moves on to the current version.
    pub async fn archive(&self) -> Result<ArchiveReport, Error> {
        let guard = self.lock.acquire().await?;
        let out = self.archive_locked().await;
        guard.release().await?;
        out
    }

    async fn archive_locked(&self) -> Result<ArchiveReport, Error> {
        let client = &self.client;
        let mut report = ArchiveReport::default();
        let Some((counter, counter_stat)) = self.read_counter().await? else {
            return Ok(report);
        };
        self.ensure_layout().await?;
        let counter_path = self.counter_path();
        for n in self.versions().await? {
            if n >= counter.current {
                continue;
            }
            let live = self.version_path(n);
            let (data, stat) = match retrying(client, || client.get_data(&live)).await {
                Ok(v) => v,
                Err(Error::Client(client::Error::NoNode)) => continue,
                Err(e) => return Err(e),
            };
            let children = match retrying(client, || client.get_children(&live)).await {
                Ok(c) => c,
                Err(Error::Client(client::Error::NoNode)) => continue,
                Err(e) => return Err(e),
            };
            if children.iter().any(|c| !c.starts_with(FILE_PREFIX)) {
                report.pinned.push(n);
                continue;
            }
            let mut files = Vec::with_capacity(children.len());
            for child in &children {
                let path = format!("{live}/{child}");
                let (contents, file_stat) = retrying(client, || client.get_data(&path)).await?;
                files.push((child, path, contents, file_stat.version));
            }
            let archived = self.archive_path(n);
            let persistent = CreateOptions::persistent();
            let mut multi = client
                .multi()
                .check(&counter_path, counter_stat.version)
                .create(&archived, &data, &persistent);
            for (child, _, contents, _) in &files {
                multi = multi.create(&format!("{archived}/{child}"), contents, &persistent);
            }
            for (_, path, _, version) in &files {
                multi = multi.delete(path, Some(*version));
            }
            // Last: a pin created since the look makes this delete, and the whole move, fail.
            let committed = multi.delete(&live, Some(stat.version)).commit().await;
            match committed {
                Ok(_) => report.archived.push(n),
                // A reader pinned it between our look and the move.
                Err(client::MultiError::Failed {
                    error: client::Error::NotEmpty,
                    ..
                }) => report.pinned.push(n),
                // The counter moved (a writer outside the lock): stop, the picture is stale.
                Err(client::MultiError::Failed {
                    index: 0,
                    error: client::Error::BadVersion,
                    ..
                }) => break,
                Err(e) => match client::Error::from(e) {
                    client::Error::ConnectionLoss | client::Error::RequestTimeout => {
                        wait_connected(client).await?;
                        if retrying(client, || client.exists(&archived))
                            .await?
                            .is_some()
                        {
                            report.archived.push(n);
                        }
                    }
                    e => return Err(classify(client, e)),
                },
            }
        }
        Ok(report)
    }

    /// Creates `P`, `P/versions` and `P/archive` if missing. The two parents are persistent,
    /// not containers: a container emptied by archiving would be deleted by the server.
    async fn ensure_layout(&self) -> Result<(), Error> {
        let client = &self.client;
        ensure_path(client, &self.path).await?;
        let persistent = CreateOptions::persistent();
        for child in ["versions", "archive"] {
            let path = format!("{}/{child}", self.path);
            match retrying(client, || client.create(&path, b"", &persistent)).await {
                Ok(_) | Err(Error::Client(client::Error::NodeExists)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The counter and its stat; `None` before the first publish.
    async fn read_counter(&self) -> Result<Option<(Counter, Stat)>, Error> {
        let path = self.counter_path();
        let client = &self.client;
        match retrying(client, || client.get_data(&path)).await {
            Ok((data, stat)) => Ok(Some((Counter::decode(&path, &data)?, stat))),
            Err(Error::Client(client::Error::NoNode)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_round_trips_and_rejects_bad_data() {
        let c = Counter {
            current: 3,
            latest: 7,
        };
        assert_eq!(Counter::decode("/c", &c.encode()), Ok(c));
        assert!(matches!(
            Counter::decode("/c", &[0; 8]),
            Err(Error::Malformed { .. })
        ));
        let backwards = Counter {
            current: 7,
            latest: 3,
        };
        assert!(matches!(
            Counter::decode("/c", &backwards.encode()),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn version_names_sort_and_parse() {
        assert_eq!(version_name(42), "v-0000000042");
        assert_eq!(parse_version_name("v-0000000042"), Some(42));
        assert_eq!(parse_version_name("v-"), None);
        assert_eq!(parse_version_name("v-12a"), None);
        assert_eq!(parse_version_name("lock"), None);
        assert!(version_name(9) < version_name(10));
    }

    #[test]
    fn file_names_are_single_path_components() {
        assert!(check_file_name("part-0").is_ok());
        for bad in ["", "a/b", ".", ".."] {
            assert!(matches!(
                check_file_name(bad),
                Err(Error::InvalidArgument(_))
            ));
        }
    }
}
