//! The embedded bus's segment files: checksummed records appended in log
//! sequence number (LSN) order, each file named by the LSN its first record
//! carries.
//!
//! A record is a 36-byte header — payload length, CRC-32, LSN, partition,
//! offset, key, little-endian — then the payload; the CRC covers all of it
//! after the CRC itself. A segment's records carry consecutive LSNs from
//! its name on, so a scan stops at the first record that is not the next
//! one: zeros, a torn write, or what a recycled file held in its previous
//! life (whose LSNs are all lower). The bytes after a segment's last valid
//! record therefore never need erasing, and a segment that has been
//! scanned is never appended to again (see `journal.rs`).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// Bytes of a record's header.
pub(super) const HEADER: usize = 36;

/// A record to append.
pub(super) struct Entry<'a> {
    pub(super) partition: u32,
    pub(super) offset: u64,
    pub(super) key: u64,
    pub(super) payload: &'a [u8],
}

/// A record's header, as read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) len: u32,
    pub(super) crc: u32,
    pub(super) lsn: u64,
    pub(super) partition: u32,
    pub(super) offset: u64,
    pub(super) key: u64,
}

/// Appends `entry` at `lsn` to `buf`.
pub(super) fn encode(buf: &mut Vec<u8>, lsn: u64, entry: &Entry<'_>) {
    let start = buf.len();
    let len = u32::try_from(entry.payload.len()).expect("a record under 4 GiB");
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&lsn.to_le_bytes());
    buf.extend_from_slice(&entry.partition.to_le_bytes());
    buf.extend_from_slice(&entry.offset.to_le_bytes());
    buf.extend_from_slice(&entry.key.to_le_bytes());
    buf.extend_from_slice(entry.payload);
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn le<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes[at..at + N].try_into().expect("in the header")
}

/// Reads a header (no check: see [`valid`]).
pub(super) fn decode_header(h: &[u8; HEADER]) -> Header {
    Header {
        len: u32::from_le_bytes(le(h, 0)),
        crc: u32::from_le_bytes(le(h, 4)),
        lsn: u64::from_le_bytes(le(h, 8)),
        partition: u32::from_le_bytes(le(h, 16)),
        offset: u64::from_le_bytes(le(h, 20)),
        key: u64::from_le_bytes(le(h, 28)),
    }
}

/// Whether the header and payload are the record as written.
pub(super) fn valid(raw_header: &[u8; HEADER], header: &Header, payload: &[u8]) -> bool {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&raw_header[8..]);
    crc.update(payload);
    crc.finalize() == header.crc
}

/// A segment's file name: its first LSN, zero-padded so names sort.
pub(super) fn name(first_lsn: u64) -> String {
    format!("{first_lsn:020}.seg")
}

/// The first LSN a segment file name carries.
pub(super) fn parse_name(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Where a scanned record lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Scanned {
    pub(super) partition: u32,
    pub(super) offset: u64,
    pub(super) pos: u32,
    pub(super) len: u32,
}

/// Reads a segment's valid records from its start: consecutive LSNs from
/// `first_lsn`, each whole and matching its CRC. Returns how many there
/// are; `each` sees every one in order.
pub(super) fn scan(path: &Path, first_lsn: u64, mut each: impl FnMut(Scanned)) -> io::Result<u64> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let (mut pos, mut count) = (0u64, 0u64);
    let mut raw = [0u8; HEADER];
    let mut payload = Vec::new();
    while pos + HEADER as u64 <= size {
        reader.read_exact(&mut raw)?;
        let header = decode_header(&raw);
        let len = HEADER as u64 + u64::from(header.len);
        if header.lsn != first_lsn + count || pos + len > size {
            break;
        }
        payload.resize(header.len as usize, 0);
        reader.read_exact(&mut payload)?;
        if !valid(&raw, &header, &payload) {
            break;
        }
        each(Scanned {
            partition: header.partition,
            offset: header.offset,
            pos: u32::try_from(pos).map_err(io::Error::other)?,
            len: u32::try_from(len).map_err(io::Error::other)?,
        });
        pos += len;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn entry(partition: u32, offset: u64, payload: &[u8]) -> Entry<'_> {
        Entry {
            partition,
            offset,
            key: offset * 7,
            payload,
        }
    }

    fn scanned(path: &Path, first: u64) -> Vec<(u32, u64)> {
        let mut seen = Vec::new();
        scan(path, first, |s| seen.push((s.partition, s.offset))).unwrap();
        seen
    }

    #[test]
    fn names_sort_by_lsn_and_parse_back() {
        assert_eq!(parse_name(&name(42)), Some(42));
        assert!(name(9) < name(10));
        assert_eq!(parse_name("spare-00000000000000000042.seg"), None);
        assert_eq!(parse_name("42.seg"), None);
    }

    #[test]
    fn a_scan_stops_at_zeros_a_torn_record_and_a_stale_lsn() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name(100));
        let mut buf = Vec::new();
        for (i, lsn) in (100..103).enumerate() {
            encode(&mut buf, lsn, &entry(1, i as u64, b"hello"));
        }
        let whole = buf.len();
        // A record from a previous life of the file (a lower LSN) follows.
        encode(&mut buf, 7, &entry(1, 3, b"stale"));
        buf.extend_from_slice(&[0; 64]);
        File::create(&path).unwrap().write_all(&buf).unwrap();
        assert_eq!(scanned(&path, 100), vec![(1, 0), (1, 1), (1, 2)]);

        // A flipped payload byte ends the scan at that record.
        let mut torn = buf.clone();
        torn[HEADER * 2 + 5 + 2] ^= 0xff;
        File::create(&path).unwrap().write_all(&torn).unwrap();
        assert_eq!(scanned(&path, 100), vec![(1, 0)]);

        // A record cut short by the end of the file is not read.
        File::create(&path)
            .unwrap()
            .write_all(&buf[..whole - 1])
            .unwrap();
        assert_eq!(scanned(&path, 100), vec![(1, 0), (1, 1)]);

        // Records of another segment's numbering are not this one's.
        assert_eq!(scanned(&path, 101), vec![]);
    }
}
