//! The upgrade of a format-1 ledger to format 2, done once by [`crate::SledStore::open`].
//!
//! Format 1 wrote two sled keys per event; format 2 packs a group commit's envelopes into chunks
//! and one stream key per run of versions (see [`crate::keys`]). Rewriting keys in place would
//! leave sled with the emptied pages of the old ones (sled 0.34.7 does not merge leaves), so the
//! upgrade writes a fresh sled directory beside the old one and then switches them:
//!
//! 1. `sled.next/` is written from the old tree: every stored envelope byte for byte (a gap in
//!    the old positions stays a gap), the stream index regrouped into runs, the command index
//!    and any other tree as they are, and last `meta/format` = 2; then it is flushed.
//! 2. `sled/` is renamed to `sled.old/`, `sled.next/` to `sled/`, and `sled.old/` is removed.
//!
//! [`settle`] runs before every open and finishes or discards an upgrade a crash interrupted:
//! `sled.next/` beside `sled/` is unfinished (the switch renames `sled/` away only once the new
//! tree is complete) and is removed; `sled.next/` without `sled/` is complete and takes its
//! place; `sled.old/` is removed. The head record (`head`) is untouched: the envelopes and their
//! chain are the same bytes, so it names the same position and hash.

use std::fs;
use std::io;
use std::path::Path;

use crate::chunk::ChunkWriter;
use crate::envelope::StreamId;
use crate::error::StoreError;
use crate::keys::{self, v1};

/// The new sled directory while an upgrade writes it.
pub(crate) const NEXT_DIR: &str = "sled.next";
/// The old sled directory between the two renames of the switch.
const OLD_DIR: &str = "sled.old";

/// Envelope bytes staged per sled batch while copying.
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Versions of one stream per index key the upgrade writes (2 KiB of positions: sled leaves of
/// such values stay far below its blob threshold, see `chunk::CHUNK_BYTES`).
const RUN_VERSIONS: usize = 256;
/// How often the upgrade reports its progress, in events.
const REPORT_EVERY: u64 = 1_000_000;

/// What an upgrade reports while [`crate::SledStore::open_observed`] runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeEvent {
    /// A ledger in format `from` is being rewritten to format `to`.
    Started { from: u32, to: u32 },
    /// Another [`REPORT_EVERY`] entries of `part` copied (`done` in all so far).
    Progress { part: UpgradePart, done: u64 },
    /// The rewrite is complete and has replaced the old directory.
    Finished {
        events: u64,
        index_entries: u64,
        commands: u64,
    },
}

/// What an upgrade copies, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradePart {
    Envelopes,
    StreamIndex,
    CommandIndex,
    /// Entries of sled trees other than the ledger's (the legacy snapshot tree).
    OtherTrees,
}

impl std::fmt::Display for UpgradePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpgradePart::Envelopes => "events",
            UpgradePart::StreamIndex => "stream index entries",
            UpgradePart::CommandIndex => "command ids",
            UpgradePart::OtherTrees => "entries of other trees",
        })
    }
}

/// Counts what a part copied and reports every [`REPORT_EVERY`].
struct Progress<'a> {
    part: UpgradePart,
    done: u64,
    observe: &'a mut dyn FnMut(UpgradeEvent),
}

impl Progress<'_> {
    fn one(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(REPORT_EVERY) {
            (self.observe)(UpgradeEvent::Progress {
                part: self.part,
                done: self.done,
            });
        }
    }
}

/// Finishes or discards an upgrade that a crash interrupted (see the module docs).
pub(crate) fn settle(dir: &Path, sled_dir: &str) -> io::Result<()> {
    let current = dir.join(sled_dir);
    let next = dir.join(NEXT_DIR);
    if next.exists() {
        if current.exists() {
            fs::remove_dir_all(&next)?;
        } else {
            fs::rename(&next, &current)?;
        }
        sync_dir(dir)?;
    }
    let old = dir.join(OLD_DIR);
    if old.exists() {
        fs::remove_dir_all(&old)?;
        sync_dir(dir)?;
    }
    Ok(())
}

/// Replaces `sled_dir` by the finished `sled.next/`.
pub(crate) fn switch(dir: &Path, sled_dir: &str) -> io::Result<()> {
    let old = dir.join(OLD_DIR);
    fs::rename(dir.join(sled_dir), &old)?;
    fs::rename(dir.join(NEXT_DIR), dir.join(sled_dir))?;
    sync_dir(dir)?;
    fs::remove_dir_all(&old)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Writes the format-1 tree `old` into the empty `new` in format 2 and flushes it.
pub(crate) fn copy_format1(
    old: &sled::Db,
    new: &sled::Db,
    observe: &mut dyn FnMut(UpgradeEvent),
) -> Result<(), StoreError> {
    observe(UpgradeEvent::Started {
        from: v1::FORMAT_VERSION,
        to: keys::FORMAT_VERSION,
    });
    let events = copy_envelopes(old, new, &mut progress(UpgradePart::Envelopes, observe))?;
    let index_entries =
        copy_stream_index(old, new, &mut progress(UpgradePart::StreamIndex, observe))?;
    let commands = copy_entries(
        old.scan_prefix(keys::COMMAND_PREFIX),
        new,
        &mut progress(UpgradePart::CommandIndex, observe),
    )?;
    let mut others = progress(UpgradePart::OtherTrees, observe);
    for name in old.tree_names() {
        if name != old.name() {
            let from = old.open_tree(&name).map_err(storage)?;
            let to = new.open_tree(&name).map_err(storage)?;
            copy_entries(from.iter(), &to, &mut others)?;
        }
    }
    new.insert(keys::FORMAT_KEY, &keys::FORMAT_VERSION.to_be_bytes())
        .map_err(storage)?;
    new.flush().map_err(storage)?;
    observe(UpgradeEvent::Finished {
        events,
        index_entries,
        commands,
    });
    Ok(())
}

#[expect(clippy::needless_pass_by_value, reason = "used as `map_err(storage)`")]
fn storage(e: sled::Error) -> StoreError {
    StoreError::storage(&e)
}

fn progress(part: UpgradePart, observe: &mut dyn FnMut(UpgradeEvent)) -> Progress<'_> {
    Progress {
        part,
        done: 0,
        observe,
    }
}

fn copy_envelopes(
    old: &sled::Db,
    new: &sled::Db,
    progress: &mut Progress<'_>,
) -> Result<u64, StoreError> {
    let mut chunks = ChunkWriter::default();
    let mut batch = sled::Batch::default();
    let mut staged = 0;
    for entry in old.scan_prefix(v1::EVENT_PREFIX) {
        let (key, value) = entry.map_err(storage)?;
        let position = v1::event_position(&key).ok_or_else(|| StoreError::Corrupt {
            position: 0,
            reason: format!("format-1 event key {key:?} is malformed"),
        })?;
        chunks.push_bytes(&mut batch, position, &value)?;
        staged += value.len();
        progress.one();
        if staged >= BATCH_BYTES {
            chunks.finish(&mut batch);
            new.apply_batch(std::mem::take(&mut batch))
                .map_err(storage)?;
            staged = 0;
        }
    }
    chunks.finish(&mut batch);
    new.apply_batch(batch).map_err(storage)?;
    Ok(progress.done)
}

/// Regroups format 1's `s/{stream}\0{version}` -> position keys into runs of consecutive
/// versions (at most [`RUN_VERSIONS`] per key).
fn copy_stream_index(
    old: &sled::Db,
    new: &sled::Db,
    progress: &mut Progress<'_>,
) -> Result<u64, StoreError> {
    let mut batch = sled::Batch::default();
    let mut staged = 0;
    let mut run: Option<(Vec<u8>, u64, Vec<u8>)> = None;
    let close = |run: (Vec<u8>, u64, Vec<u8>), batch: &mut sled::Batch| {
        let (stream, first, positions) = run;
        let mut key = keys::STREAM_PREFIX.to_vec();
        key.extend_from_slice(&stream);
        key.push(0);
        key.extend_from_slice(&first.to_be_bytes());
        batch.insert(key, positions);
    };
    for entry in old.scan_prefix(v1::STREAM_PREFIX) {
        let (key, value) = entry.map_err(storage)?;
        let malformed = || StoreError::Corrupt {
            position: 0,
            reason: format!("format-1 index entry {key:?} is malformed"),
        };
        let (stream, version) = v1::parse_stream(&key).ok_or_else(malformed)?;
        let position: [u8; 8] = value.as_ref().try_into().map_err(|_| malformed())?;
        progress.one();
        let continues = run.as_ref().is_some_and(|(s, first, positions)| {
            s == stream
                && *first + (positions.len() / 8) as u64 == version
                && positions.len() / 8 < RUN_VERSIONS
        });
        if !continues {
            if let Some(done) = run.take() {
                close(done, &mut batch);
                staged += 1;
            }
            StreamId::new(String::from_utf8_lossy(stream)).map_err(|_| malformed())?;
            run = Some((stream.to_vec(), version, Vec::with_capacity(64)));
        }
        if let Some((_, _, positions)) = run.as_mut() {
            positions.extend_from_slice(&position);
        }
        if staged >= BATCH_BYTES / 64 {
            new.apply_batch(std::mem::take(&mut batch))
                .map_err(storage)?;
            staged = 0;
        }
    }
    if let Some(done) = run.take() {
        close(done, &mut batch);
    }
    new.apply_batch(batch).map_err(storage)?;
    Ok(progress.done)
}

/// Copies the entries as they are.
fn copy_entries(
    entries: sled::Iter,
    new: &sled::Tree,
    progress: &mut Progress<'_>,
) -> Result<u64, StoreError> {
    let mut batch = sled::Batch::default();
    let mut staged = 0;
    for entry in entries {
        let (key, value) = entry.map_err(storage)?;
        staged += key.len() + value.len();
        progress.one();
        batch.insert(key, value);
        if staged >= BATCH_BYTES {
            new.apply_batch(std::mem::take(&mut batch))
                .map_err(storage)?;
            staged = 0;
        }
    }
    new.apply_batch(batch).map_err(storage)?;
    Ok(progress.done)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::DateTime;
    use uuid::Uuid;

    use super::*;
    use crate::append::{Appended, ExpectedVersion, NewEvent};
    use crate::envelope::{CommandId, Envelope, Metadata, encode_stored_into};
    use crate::head::HeadRecord;
    use crate::ledger::Tip;
    use crate::{EventStore, MemoryStore, SledConfig, SledStore, codec};

    const SLED_DIR: &str = "sled";

    /// sled at `path`, waiting out the lock a just-dropped handle's threads may still hold, as
    /// the store does.
    fn raw_db(path: &Path) -> sled::Db {
        crate::sled_store::open_sled(path, &SledConfig::default())
            .map_err(|e| e.into_store_error(path))
            .expect("sled opens")
    }

    /// A ledger of `appends` appends over a few streams, each of 1-3 events, every other one
    /// with a command id; the first `Appended` of each command id.
    async fn history(appends: u64) -> (MemoryStore, BTreeMap<CommandId, Appended>) {
        let store = MemoryStore::new();
        let mut commands = BTreeMap::new();
        for i in 0..appends {
            let stream = StreamId::new(format!("s-{}", i * 7 % 5)).unwrap();
            let events = (0..=i % 3)
                .map(|e| NewEvent::new("Happened", 1, vec![u8::try_from(e).unwrap(); 300]))
                .collect();
            let mut metadata = Metadata::new(
                "tester",
                DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            );
            let command = CommandId::from_uuid(Uuid::from_u128(u128::from(i) + 1));
            if i % 2 == 0 {
                metadata = metadata.with_command_id(command);
            }
            let appended = store
                .append(stream, ExpectedVersion::Any, events, metadata)
                .await
                .unwrap();
            if i % 2 == 0 {
                commands.insert(command, appended);
            }
        }
        (store, commands)
    }

    /// Writes `envelopes` as a format-1 ledger in `dir`, the way the earlier version did, with
    /// its head record and one snapshot in the legacy tree.
    fn write_format1(dir: &Path, envelopes: &[Envelope], commands: &BTreeMap<CommandId, Appended>) {
        let db = raw_db(&dir.join(SLED_DIR));
        for env in envelopes {
            let mut stored = Vec::new();
            encode_stored_into(env, &mut stored).unwrap();
            db.insert(v1::event(env.position), stored).unwrap();
            let mut key = v1::STREAM_PREFIX.to_vec();
            key.extend_from_slice(env.stream_id.as_str().as_bytes());
            key.push(0);
            key.extend_from_slice(&env.version.to_be_bytes());
            db.insert(key, &env.position.to_be_bytes()).unwrap();
        }
        for (id, appended) in commands {
            db.insert(keys::command(*id), codec::encode(appended).unwrap())
                .unwrap();
        }
        db.insert(keys::FORMAT_KEY, &v1::FORMAT_VERSION.to_be_bytes())
            .unwrap();
        db.open_tree("snapshots")
            .unwrap()
            .insert(b"models\0\0\0\0\0\0\0\0\x07", &b"kept"[..])
            .unwrap();
        db.flush().unwrap();
        let last = envelopes.last().unwrap();
        HeadRecord::open(dir)
            .unwrap()
            .store(Tip {
                position: last.position,
                hash: last.hash,
            })
            .unwrap();
    }

    fn open(dir: &Path, seen: &mut Vec<UpgradeEvent>) -> SledStore {
        let config = SledConfig {
            cache_capacity: 8 * 1024 * 1024,
            ..SledConfig::default()
        };
        SledStore::open_observed(dir, &config, &mut |event| seen.push(event)).unwrap()
    }

    async fn assert_same_ledger(store: &SledStore, original: &MemoryStore) {
        let all = original.read_all(1, usize::MAX).await.unwrap();
        assert_eq!(store.read_all(1, usize::MAX).await.unwrap(), all);
        assert_eq!(store.read_all(40, 7).await.unwrap(), all[39..46]);
        for i in 0..5 {
            let stream = StreamId::new(format!("s-{i}")).unwrap();
            assert_eq!(
                store.read_stream(&stream, 3).await.unwrap(),
                original.read_stream(&stream, 3).await.unwrap()
            );
        }
        let report = store.verify().await.unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.events, all.len() as u64);
    }

    #[tokio::test]
    async fn a_format_1_ledger_is_rewritten_once_with_the_same_envelopes_and_indexes() {
        let (original, commands) = history(200).await;
        let envelopes = original.read_all(1, usize::MAX).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_format1(dir.path(), &envelopes, &commands);

        let mut seen = Vec::new();
        let store = open(dir.path(), &mut seen);
        assert_eq!(
            seen,
            vec![
                UpgradeEvent::Started { from: 1, to: 2 },
                UpgradeEvent::Finished {
                    events: envelopes.len() as u64,
                    index_entries: envelopes.len() as u64,
                    commands: commands.len() as u64,
                }
            ]
        );
        assert_same_ledger(&store, &original).await;
        // The command index came along: a repeated command is answered with its first result.
        let (id, first) = commands.iter().nth(10).unwrap();
        let metadata =
            Metadata::new("tester", DateTime::from_timestamp(0, 0).unwrap()).with_command_id(*id);
        let again = store
            .append(
                first.stream.clone(),
                ExpectedVersion::Any,
                vec![NewEvent::new("X", 1, vec![])],
                metadata,
            )
            .await
            .unwrap();
        assert_eq!(&again, first);
        // Appends continue the chain and the streams.
        let next = store
            .append(
                StreamId::new("s-1").unwrap(),
                ExpectedVersion::Any,
                vec![NewEvent::new("X", 1, vec![1])],
                Metadata::new("tester", DateTime::from_timestamp(0, 0).unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(next.first_position, envelopes.len() as u64 + 1);
        let s1 = original
            .read_stream(&StreamId::new("s-1").unwrap(), 1)
            .await
            .unwrap();
        assert_eq!(next.version, s1.len() as u64 + 1);
        assert!(store.verify().await.unwrap().is_ok());
        drop(store);

        assert!(!dir.path().join(NEXT_DIR).exists());
        assert!(!dir.path().join(OLD_DIR).exists());
        let mut seen = Vec::new();
        let store = open(dir.path(), &mut seen);
        assert!(seen.is_empty(), "upgraded twice: {seen:?}");
        assert_eq!(store.head(), envelopes.len() as u64 + 1);
        drop(store);
        // Other trees (the legacy snapshots of an earlier version) came along as they were.
        let db = raw_db(&dir.path().join(SLED_DIR));
        let legacy = db.open_tree("snapshots").unwrap();
        assert_eq!(
            legacy.iter().collect::<Result<Vec<_>, _>>().unwrap(),
            vec![(
                sled::IVec::from(&b"models\0\0\0\0\0\0\0\0\x07"[..]),
                sled::IVec::from(&b"kept"[..])
            )]
        );
    }

    #[tokio::test]
    async fn an_upgrade_cut_short_before_the_switch_is_done_again() {
        let (original, commands) = history(60).await;
        let envelopes = original.read_all(1, usize::MAX).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_format1(dir.path(), &envelopes, &commands);
        // What a crash while writing the new tree leaves: a partial `sled.next/`.
        let partial = raw_db(&dir.path().join(NEXT_DIR));
        partial.insert(keys::event(1), &b"half"[..]).unwrap();
        partial.flush().unwrap();
        drop(partial);

        let mut seen = Vec::new();
        let store = open(dir.path(), &mut seen);
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_same_ledger(&store, &original).await;
    }

    #[tokio::test]
    async fn an_upgrade_cut_short_between_the_renames_is_finished() {
        let (original, commands) = history(60).await;
        let envelopes = original.read_all(1, usize::MAX).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_format1(dir.path(), &envelopes, &commands);
        // The new tree complete, the old one renamed away, the crash before the second rename.
        {
            let old = raw_db(&dir.path().join(SLED_DIR));
            let next = raw_db(&dir.path().join(NEXT_DIR));
            copy_format1(&old, &next, &mut |_| {}).unwrap();
        }
        fs::rename(dir.path().join(SLED_DIR), dir.path().join(OLD_DIR)).unwrap();

        let mut seen = Vec::new();
        let store = open(dir.path(), &mut seen);
        assert!(
            seen.is_empty(),
            "the finished tree is taken as it is: {seen:?}"
        );
        assert_same_ledger(&store, &original).await;
        assert!(!dir.path().join(OLD_DIR).exists());
    }

    #[test]
    fn a_malformed_format_1_index_entry_stops_the_upgrade_and_keeps_the_old_tree() {
        let dir = tempfile::tempdir().unwrap();
        let db = raw_db(&dir.path().join(SLED_DIR));
        db.insert(b"s/broken\0\0\0\0\0\0\0\0\x01", &[1_u8, 2, 3][..])
            .unwrap();
        db.insert(keys::FORMAT_KEY, &v1::FORMAT_VERSION.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
        drop(db);
        let error = SledStore::open(dir.path(), &SledConfig::default()).unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
        // Nothing was switched: the old tree is still there, still in format 1.
        let db = raw_db(&dir.path().join(SLED_DIR));
        assert_eq!(
            db.get(keys::FORMAT_KEY).unwrap().unwrap().as_ref(),
            v1::FORMAT_VERSION.to_be_bytes()
        );
    }
}
