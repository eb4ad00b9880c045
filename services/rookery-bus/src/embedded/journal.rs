//! The embedded bus's log on disk: segment files appended by the committer,
//! read back by consumers through an in-memory index, recycled once every
//! group has consumed them.
//!
//! Why not fjall (the log's first home): a log is written once in order and
//! read back rarely, so an LSM's memtable inserts, flushes, compactions and
//! per-record tombstones were all overhead, and each group commit's
//! `fdatasync` of an appended journal also wrote the inode (its size). Here
//! a group commit is one `pwrite` and one `fdatasync` of a segment whose
//! size is set when it is created (`--bus-segment-mib`), and a segment every
//! group has consumed becomes a spare for a later one, so in steady state
//! the fsync writes data blocks only.
//!
//! Rules that keep recovery simple (see `segments.rs` for the record
//! format): a group that fills a segment is fsynced there before anything
//! is written to the next, so only the newest segment can end torn; after
//! a restart the committer starts a new segment rather than append after
//! bytes it scanned past; a write or fsync error poisons the log (every
//! later publish fails until a restart rescans it), because after a failed
//! fsync what the page cache holds is no longer known to be on disk.

use super::segments::{self, HEADER};
use crate::{BusError, Consumed};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, RwLock};

/// Where a record lies: its segment (by first LSN), position and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Loc {
    pub(super) segment: u64,
    pub(super) pos: u32,
    pub(super) len: u32,
}

/// A partition's retained records, contiguous from `first`.
#[derive(Default)]
struct Retained {
    first: u64,
    locs: VecDeque<Loc>,
}

/// What consumers share: the live segment files and where each retained
/// record is. Lock order: `index` and `files` are never held together.
pub(super) struct Journal {
    files: RwLock<BTreeMap<u64, Arc<File>>>,
    index: Mutex<Vec<Retained>>,
}

fn bad(e: impl std::fmt::Display) -> BusError {
    BusError::Backend(format!("bus log: {e}"))
}

impl Journal {
    pub(super) fn new(partitions: u32) -> Self {
        Self {
            files: RwLock::new(BTreeMap::new()),
            index: Mutex::new((0..partitions).map(|_| Retained::default()).collect()),
        }
    }

    fn index(&self) -> std::sync::MutexGuard<'_, Vec<Retained>> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn files(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u64, Arc<File>>> {
        self.files.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn files_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<u64, Arc<File>>> {
        self.files.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Live segment files.
    pub(super) fn segments(&self) -> usize {
        self.files().len()
    }

    /// Records where each `(partition, offset)` lies, in offset order. An
    /// offset that does not follow its partition's last starts the
    /// partition afresh, so the index never has a gap.
    pub(super) fn extend(&self, records: impl IntoIterator<Item = (u32, u64, Loc)>) {
        let mut index = self.index();
        for (p, offset, loc) in records {
            let Some(held) = index.get_mut(p as usize) else {
                continue;
            };
            if held.locs.is_empty() || held.first + held.locs.len() as u64 != offset {
                held.locs.clear();
                held.first = offset;
            }
            held.locs.push_back(loc);
        }
    }

    /// Partition `p`'s first retained offset.
    pub(super) fn first(&self, p: u32) -> Option<u64> {
        let index = self.index();
        let held = index.get(p as usize)?;
        (!held.locs.is_empty()).then_some(held.first)
    }

    /// One past partition `p`'s last retained offset.
    pub(super) fn end(&self, p: u32) -> Option<u64> {
        let index = self.index();
        let held = index.get(p as usize)?;
        (!held.locs.is_empty()).then_some(held.first + held.locs.len() as u64)
    }

    /// Forgets partition `p`'s records below `offset`.
    pub(super) fn trim(&self, p: u32, offset: u64) {
        let mut index = self.index();
        if let Some(held) = index.get_mut(p as usize) {
            while held.first < offset && held.locs.pop_front().is_some() {
                held.first += 1;
            }
        }
    }

    /// Partition `p`'s records from `from` (below `to`, at most `max`),
    /// read from their segments and checked. Records below the first one
    /// retained are gone (every group had consumed them) and are skipped.
    pub(super) fn read(
        &self,
        p: u32,
        (from, to): (u64, u64),
        max: usize,
    ) -> Result<Vec<Consumed>, BusError> {
        let wanted: Vec<(u64, Loc)> = {
            let index = self.index();
            let Some(held) = index.get(p as usize) else {
                return Ok(Vec::new());
            };
            let skip = from.saturating_sub(held.first) as usize;
            let end = to.saturating_sub(held.first).min(held.locs.len() as u64) as usize;
            let take = end.saturating_sub(skip).min(max);
            held.locs
                .range(skip.min(held.locs.len())..)
                .take(take)
                .enumerate()
                .map(|(i, loc)| (held.first + (skip + i) as u64, *loc))
                .collect()
        };
        let mut records = Vec::with_capacity(wanted.len());
        for (offset, loc) in wanted {
            let file = self.files().get(&loc.segment).cloned();
            let file = file.ok_or_else(|| bad(format!("segment {} is gone", loc.segment)))?;
            records.push(read_at(&file, p, offset, loc)?);
        }
        Ok(records)
    }
}

/// The record at `loc`, checked to be partition `p`'s `offset`.
fn read_at(file: &File, p: u32, offset: u64, loc: Loc) -> Result<Consumed, BusError> {
    let mut bytes = vec![0; loc.len as usize];
    file.read_exact_at(&mut bytes, u64::from(loc.pos))
        .map_err(bad)?;
    let raw: &[u8; HEADER] = bytes[..HEADER].try_into().map_err(bad)?;
    let header = segments::decode_header(raw);
    let payload = &bytes[HEADER..];
    if !segments::valid(raw, &header, payload) || header.partition != p || header.offset != offset {
        return Err(bad(format!(
            "record {p}/{offset} in segment {} does not match its checksum",
            loc.segment
        )));
    }
    Ok(Consumed {
        offset,
        key: header.key,
        payload: payload.to_vec(),
    })
}
