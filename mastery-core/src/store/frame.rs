//! Checksummed record frames for the durable store's journal and snapshot.
//!
//! A frame is a 14-byte header, the payload (JSON) and a newline:
//!
//! ```text
//! magic 0xD7 | kind (b'J' journal, b'S' snapshot) | payload length u32 LE
//!   | CRC32 of the payload u32 LE | CRC32 of the ten bytes before it u32 LE | payload | b'\n'
//! ```
//!
//! The header checksum makes the length trustworthy, so a reader can tell a record cut short by
//! the end of the file (a torn write, never acknowledged) from one whose bytes changed.

use crc32fast::hash as crc32;

use crate::error::MasteryError;

pub(super) const MAGIC: u8 = 0xD7;
pub(super) const JOURNAL: u8 = b'J';
pub(super) const SNAPSHOT: u8 = b'S';
pub(super) const HEADER_LEN: usize = 14;
const TERMINATOR: u8 = b'\n';

/// Appends one frame to `out` whose payload `write` appends in place (no copy of it is made).
/// On an error `out` is left as it was.
pub(super) fn encode_with(
    kind: u8,
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), MasteryError>,
) -> Result<(), MasteryError> {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    let len = write(out).and_then(|()| {
        u32::try_from(out.len() - start - HEADER_LEN)
            .map_err(|_| MasteryError::Store { reason: "record is larger than 4 GiB".into() })
    });
    let len = match len {
        Ok(len) => len,
        Err(error) => {
            out.truncate(start);
            return Err(error);
        }
    };
    let mut header = [0u8; HEADER_LEN];
    header[0] = MAGIC;
    header[1] = kind;
    header[2..6].copy_from_slice(&len.to_le_bytes());
    header[6..10].copy_from_slice(&crc32(&out[start + HEADER_LEN..]).to_le_bytes());
    let header_crc = crc32(&header[..10]);
    header[10..14].copy_from_slice(&header_crc.to_le_bytes());
    out[start..start + HEADER_LEN].copy_from_slice(&header);
    out.push(TERMINATOR);
    Ok(())
}

/// What the bytes at an offset hold.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Frame<'a> {
    /// A whole, intact record; the next one starts at `end`.
    Record { payload: &'a [u8], end: usize },
    /// No bytes left.
    End,
    /// The file ends inside this record: the prefix of a frame whose header (as far as it is
    /// present) is intact. Only a write that was cut short leaves this, at the end of the file.
    Torn,
    /// The bytes are not an intact frame.
    Corrupt(&'static str),
}

fn le_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}

/// The whole length of the frame of `kind` whose header `header` starts with (its checksum
/// checked); `None` when it is not one.
pub(super) fn frame_len(header: &[u8], kind: u8) -> Option<usize> {
    let header = header.get(..HEADER_LEN)?;
    if header[..2] != [MAGIC, kind] || crc32(&header[..10]) != le_u32(&header[10..]) {
        return None;
    }
    (le_u32(&header[2..]) as usize).checked_add(HEADER_LEN + 1)
}

/// Reads the frame of `kind` starting at `at` in `buf`.
pub(super) fn read(buf: &[u8], at: usize, kind: u8) -> Frame<'_> {
    let rest = buf.get(at..).unwrap_or_default();
    if rest.is_empty() {
        return Frame::End;
    }
    let magic = [MAGIC, kind];
    if rest.len() < HEADER_LEN {
        // A torn header still starts like one.
        let prefix = rest.len().min(2);
        return if rest[..prefix] == magic[..prefix] { Frame::Torn } else { Frame::Corrupt("fails its checksum") };
    }
    let Some(total) = frame_len(rest, kind) else { return Frame::Corrupt("fails its checksum") };
    let header = &rest[..HEADER_LEN];
    let len = total - HEADER_LEN - 1;
    if rest.len() < total {
        return Frame::Torn;
    }
    let payload = &rest[HEADER_LEN..HEADER_LEN + len];
    if crc32(payload) != le_u32(&header[6..]) {
        return Frame::Corrupt("fails its checksum");
    }
    if rest[total - 1] != TERMINATOR {
        return Frame::Corrupt("has no record terminator");
    }
    Frame::Record { payload, end: at + total }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends one frame holding `payload` to `out`.
    fn encode(kind: u8, payload: &[u8], out: &mut Vec<u8>) -> Result<(), MasteryError> {
        encode_with(kind, out, |out| {
            out.extend_from_slice(payload);
            Ok(())
        })
    }

    #[test]
    fn a_frame_follows_the_bytes_before_it_and_a_failed_one_leaves_none() {
        let mut buf = b"before".to_vec();
        encode(SNAPSHOT, b"{}", &mut buf).unwrap();
        assert_eq!(read(&buf, 6, SNAPSHOT), Frame::Record { payload: b"{}", end: buf.len() });
        let whole = buf.clone();
        let failed = encode_with(SNAPSHOT, &mut buf, |out| {
            out.extend_from_slice(b"{\"half");
            Err(MasteryError::Store { reason: "cannot encode".into() })
        });
        assert!(failed.is_err());
        assert_eq!(buf, whole);
    }

    #[test]
    fn every_prefix_is_torn_and_every_flip_is_corrupt() {
        let mut buf = Vec::new();
        encode(JOURNAL, "{\"id\":\"Zoë-学生\"}".as_bytes(), &mut buf).unwrap();
        let whole = buf.len();
        assert_eq!(read(&buf, 0, JOURNAL), Frame::Record { payload: &buf[HEADER_LEN..whole - 1], end: whole });
        for cut in 1..whole {
            assert_eq!(read(&buf[..cut], 0, JOURNAL), Frame::Torn, "cut at {cut}");
        }
        for at in 0..whole {
            for bit in 0..8 {
                let mut flipped = buf.clone();
                flipped[at] ^= 1 << bit;
                assert!(matches!(read(&flipped, 0, JOURNAL), Frame::Corrupt(_)), "flip at {at} bit {bit}");
            }
        }
        assert!(matches!(read(&buf, 0, SNAPSHOT), Frame::Corrupt(_)));
        assert_eq!(read(&buf, whole, JOURNAL), Frame::End);
    }
}
