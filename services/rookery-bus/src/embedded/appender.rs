//! The committer's side of the bus log (`journal.rs`): opening it (every
//! segment scanned into the index, a new segment started), appending group
//! commits, and recycling segments every group has consumed.

use super::journal::{Journal, Loc};
use super::segments::{self, Entry, HEADER, Scanned};
use crate::BusError;
use crate::metrics as m;
use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Segment size by default: ~60,000 records of ~1 KB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// Consumed segments kept for reuse rather than deleted: a reused file's
/// blocks are already allocated, so its fsyncs write no metadata.
const MAX_SPARES: usize = 2;

/// A segment the committer no longer writes, with the last offset it holds
/// of each partition (recyclable once every group is past them all).
struct Sealed {
    name: u64,
    last: HashMap<u32, u64>,
}

/// The segment being written.
struct Active {
    name: u64,
    file: Arc<File>,
    pos: u64,
    last: HashMap<u32, u64>,
}

/// Appends groups, starts segments, recycles consumed ones. Owned by the
/// committer thread alone.
pub(super) struct Appender {
    dir: PathBuf,
    segment_bytes: u64,
    active: Active,
    next_lsn: u64,
    sealed: VecDeque<Sealed>,
    spares: Vec<PathBuf>,
    poisoned: Option<String>,
    buf: Vec<u8>,
}

fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// Makes renames, creations and deletions in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn spare_path(dir: &Path, name: u64) -> PathBuf {
    dir.join(format!("spare-{}", segments::name(name)))
}

/// The segments in `dir` (their first LSNs, in order) and the spares.
fn list(dir: &Path) -> io::Result<(Vec<u64>, Vec<PathBuf>)> {
    let (mut names, mut spares) = (Vec::new(), Vec::new());
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if let Some(lsn) = segments::parse_name(&file_name) {
            names.push(lsn);
        } else if file_name.starts_with("spare-") {
            spares.push(entry.path());
        }
    }
    names.sort_unstable();
    Ok((names, spares))
}

/// Scans segment `name` at `path` into `journal`'s index; returns how many
/// valid records it holds and the last offset of each partition there.
fn recover(
    journal: &Journal,
    path: &Path,
    name: u64,
    partitions: u32,
) -> io::Result<(u64, HashMap<u32, u64>)> {
    let mut last = HashMap::new();
    let count = segments::scan(path, name, |s: Scanned| {
        if s.partition < partitions {
            let loc = Loc {
                segment: name,
                pos: s.pos,
                len: s.len,
            };
            journal.extend([(s.partition, s.offset, loc)]);
            last.insert(s.partition, s.offset);
        }
    })?;
    Ok((count, last))
}

/// A new segment file named `lsn` in `dir`: a spare renamed, or a new file
/// of the segment size, durable in the directory before it is written.
fn start_segment(
    (dir, segment_bytes): (&Path, u64),
    spares: &mut Vec<PathBuf>,
    lsn: u64,
) -> io::Result<Arc<File>> {
    let path = dir.join(segments::name(lsn));
    let file = match spares.pop() {
        Some(spare) => {
            fs::rename(&spare, &path)?;
            open_rw(&path)?
        }
        None => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            file.set_len(segment_bytes)?;
            file
        }
    };
    sync_dir(dir)?;
    Ok(Arc::new(file))
}

impl Appender {
    /// Opens the log in `dir`: every segment's valid records go into a new
    /// [`Journal`]'s index, a segment with none becomes a spare, and a new
    /// segment is started for writing.
    pub(super) fn open(
        dir: &Path,
        segment_bytes: u64,
        partitions: u32,
    ) -> io::Result<(Journal, Appender)> {
        fs::create_dir_all(dir)?;
        let (names, mut spares) = list(dir)?;
        let journal = Journal::new(partitions);
        let (mut sealed, mut next_lsn) = (VecDeque::new(), 0);
        for name in names {
            let path = dir.join(segments::name(name));
            let (count, last) = recover(&journal, &path, name, partitions)?;
            next_lsn = next_lsn.max(name + count);
            if count == 0 {
                let spare = spare_path(dir, name);
                fs::rename(&path, &spare)?;
                spares.push(spare);
                continue;
            }
            journal.files_mut().insert(name, Arc::new(open_rw(&path)?));
            sealed.push_back(Sealed { name, last });
        }
        while spares.len() > MAX_SPARES {
            fs::remove_file(spares.pop().expect("more than the spares kept"))?;
        }
        // Never append after what a scan stopped at (see journal.rs).
        let file = start_segment((dir, segment_bytes), &mut spares, next_lsn)?;
        journal.files_mut().insert(next_lsn, file.clone());
        let appender = Appender {
            dir: dir.to_owned(),
            segment_bytes,
            active: Active {
                name: next_lsn,
                file,
                pos: 0,
                last: HashMap::new(),
            },
            next_lsn,
            sealed,
            spares,
            poisoned: None,
            buf: Vec::new(),
        };
        appender.report(&journal);
        Ok((journal, appender))
    }

    /// Writes a group's records and fsyncs them; returns where each lies,
    /// or why not. After an error every later call fails too (see
    /// journal.rs).
    pub(super) fn append(
        &mut self,
        journal: &Journal,
        entries: &[Entry<'_>],
    ) -> Result<Vec<Loc>, String> {
        if let Some(why) = &self.poisoned {
            return Err(why.clone());
        }
        self.write_group(journal, entries).map_err(|e| {
            tracing::error!(error = %e, "bus log write failed; publishes fail until a restart");
            let why = format!("bus log failed (restart to recover): {e}");
            self.poisoned = Some(why.clone());
            why
        })
    }

    fn write_group(&mut self, journal: &Journal, entries: &[Entry<'_>]) -> io::Result<Vec<Loc>> {
        let mut locs = Vec::with_capacity(entries.len());
        self.buf.clear();
        for entry in entries {
            let len = (HEADER + entry.payload.len()) as u64;
            if self.end() > 0 && self.end() + len > self.segment_bytes {
                // What fills this segment is durable before the next one
                // holds anything, so only the newest can end torn.
                self.flush()?;
                self.seal(journal)?;
            }
            locs.push(Loc {
                segment: self.active.name,
                pos: u32::try_from(self.end()).map_err(io::Error::other)?,
                len: u32::try_from(len).map_err(io::Error::other)?,
            });
            segments::encode(&mut self.buf, self.next_lsn, entry);
            self.next_lsn += 1;
            self.active.last.insert(entry.partition, entry.offset);
        }
        self.flush()?;
        Ok(locs)
    }

    /// Where the next record goes in the active segment.
    fn end(&self) -> u64 {
        self.active.pos + self.buf.len() as u64
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.active.file.write_all_at(&self.buf, self.active.pos)?;
        self.active.file.sync_data()?;
        self.active.pos += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn seal(&mut self, journal: &Journal) -> io::Result<()> {
        let at = (self.dir.as_path(), self.segment_bytes);
        let file = start_segment(at, &mut self.spares, self.next_lsn)?;
        journal.files_mut().insert(self.next_lsn, file.clone());
        let active = Active {
            name: self.next_lsn,
            file,
            pos: 0,
            last: HashMap::new(),
        };
        let old = std::mem::replace(&mut self.active, active);
        self.sealed.push_back(Sealed {
            name: old.name,
            last: old.last,
        });
        self.report(journal);
        Ok(())
    }

    /// Whether a sealed segment waits to be recycled.
    pub(super) fn has_sealed(&self) -> bool {
        !self.sealed.is_empty()
    }

    /// Recycles the oldest sealed segments whose every record is below
    /// `below` (per partition, the lowest offset any group committed;
    /// `None`: no group, keep). The groups' offsets are made durable first
    /// (`persist_offsets`): after a power cut they must not point into a
    /// segment that is gone.
    pub(super) fn recycle(
        &mut self,
        journal: &Journal,
        below: &[Option<u64>],
        persist_offsets: impl FnOnce() -> Result<(), BusError>,
    ) {
        let consumed = |s: &Sealed| {
            s.last.iter().all(|(&p, &last)| {
                below
                    .get(p as usize)
                    .copied()
                    .flatten()
                    .is_some_and(|b| last < b)
            })
        };
        let done = self.sealed.iter().take_while(|s| consumed(s)).count();
        if done == 0 {
            return;
        }
        if let Err(e) = persist_offsets() {
            tracing::warn!(error = %e, "bus log: offsets not persisted, segments kept");
            return;
        }
        for _ in 0..done {
            let name = self.sealed.front().expect("counted").name;
            if let Err(e) = self.retire(name) {
                tracing::warn!(error = %e, segment = name, "bus log: segment not recycled");
                break;
            }
            journal.files_mut().remove(&name);
            self.sealed.pop_front();
        }
        if let Err(e) = sync_dir(&self.dir) {
            tracing::warn!(error = %e, "bus log: directory not synced");
        }
        self.report(journal);
    }

    /// Keeps segment `name` as a spare, or deletes it if there are enough.
    fn retire(&mut self, name: u64) -> io::Result<()> {
        let path = self.dir.join(segments::name(name));
        if self.spares.len() >= MAX_SPARES {
            return fs::remove_file(path);
        }
        let spare = spare_path(&self.dir, name);
        fs::rename(&path, &spare)?;
        self.spares.push(spare);
        Ok(())
    }

    fn report(&self, journal: &Journal) {
        metrics::gauge!(m::LOG_SEGMENTS).set(journal.segments() as f64);
    }
}
