//! A log written before the segment files: records in fjall's `log`
//! keyspace (key: partition and offset; value: record key and payload),
//! moved into segments at open with their offsets unchanged, so an upgrade
//! loses nothing the writer had not yet applied.

use super::appender::Appender;
use super::journal::Journal;
use super::segments::Entry;
use super::{backend, be_u64};
use crate::BusError;
use fjall::{Database, KeyspaceCreateOptions, PersistMode};

/// Records moved per group written.
const CHUNK: usize = 4096;

/// A record of the old log: partition, offset, key, payload.
type Old = (u32, u64, u64, Vec<u8>);

/// Moves every record of the old `log` keyspace into the segments and
/// drops the keyspace. Records the segments already hold (a move cut short
/// by a crash) are not moved twice. Returns how many were moved.
pub(super) fn import(
    db: &Database,
    journal: &Journal,
    appender: &mut Appender,
) -> Result<u64, BusError> {
    if !db.keyspace_exists("log") {
        return Ok(0);
    }
    let log = db
        .keyspace("log", KeyspaceCreateOptions::default)
        .map_err(backend)?;
    let (mut chunk, mut moved) = (Vec::with_capacity(CHUNK), 0);
    for row in log.iter() {
        let (k, v) = row.into_inner().map_err(backend)?;
        let partition = k.get(..4).and_then(|p| p.try_into().ok());
        let (Some(partition), Some(offset), Some(key)) = (
            partition.map(u32::from_be_bytes),
            be_u64(&k),
            v.get(..8).and_then(be_u64),
        ) else {
            continue;
        };
        if journal.end(partition).is_some_and(|end| offset < end) {
            continue;
        }
        chunk.push((partition, offset, key, v[8..].to_vec()));
        if chunk.len() == CHUNK {
            moved += write(journal, appender, &mut chunk)?;
        }
    }
    moved += write(journal, appender, &mut chunk)?;
    db.delete_keyspace(log).map_err(backend)?;
    db.persist(PersistMode::SyncAll).map_err(backend)?;
    tracing::info!(
        records = moved,
        "bus log moved from fjall into segment files"
    );
    Ok(moved)
}

fn write(
    journal: &Journal,
    appender: &mut Appender,
    chunk: &mut Vec<Old>,
) -> Result<u64, BusError> {
    let entries: Vec<Entry<'_>> = chunk
        .iter()
        .map(|(partition, offset, key, payload)| Entry {
            partition: *partition,
            offset: *offset,
            key: *key,
            payload,
        })
        .collect();
    let locs = appender
        .append(journal, &entries)
        .map_err(BusError::Backend)?;
    journal.extend(
        chunk
            .iter()
            .zip(locs)
            .map(|((partition, offset, ..), loc)| (*partition, *offset, loc)),
    );
    let moved = chunk.len() as u64;
    chunk.clear();
    Ok(moved)
}
