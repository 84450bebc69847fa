//! Key layout of the sled tree (format 2). All integers big endian so byte order is numeric
//! order.
//!
//! | key | value |
//! |---|---|
//! | `E/` + first position (u64) | a chunk: the envelopes at first, first + 1, ... (see [`crate::chunk`]) |
//! | `S/` + stream id + `\0` + first version (u64) | positions (u64 each) of versions first, first + 1, ... |
//! | `c/` + command id (16 bytes) | codec-encoded `Appended` (the first result) |
//! | `meta/format` | format version (u32) |
//!
//! A group commit writes its envelopes as one chunk (more when they pass
//! [`crate::chunk::CHUNK_BYTES`]) and one stream key per run of an append's versions: sled's cost
//! is per key, and format 1 wrote two keys per event (see [`v1`]).
//!
//! Stream ids contain no control characters, so the `\0` terminator makes stream prefixes
//! unambiguous (`S/a\0` never matches stream `ab`).

use crate::envelope::{CommandId, StreamId};

pub(crate) const EVENT_PREFIX: &[u8] = b"E/";
pub(crate) const STREAM_PREFIX: &[u8] = b"S/";
pub(crate) const COMMAND_PREFIX: &[u8] = b"c/";
pub(crate) const FORMAT_KEY: &[u8] = b"meta/format";
pub(crate) const FORMAT_VERSION: u32 = 2;

/// The key of the chunk whose first envelope is at `position`.
pub(crate) fn event(position: u64) -> [u8; 10] {
    position_key(EVENT_PREFIX, position)
}

fn position_key(prefix: &[u8], position: u64) -> [u8; 10] {
    let mut key = [0u8; 10];
    key[..2].copy_from_slice(prefix);
    key[2..].copy_from_slice(&position.to_be_bytes());
    key
}

/// The first position of a chunk key.
pub(crate) fn event_position(key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(EVENT_PREFIX)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

pub(crate) fn stream_prefix(stream: &StreamId) -> Vec<u8> {
    let s = stream.as_str().as_bytes();
    let mut key = Vec::with_capacity(STREAM_PREFIX.len() + s.len() + 1 + 8);
    key.extend_from_slice(STREAM_PREFIX);
    key.extend_from_slice(s);
    key.push(0);
    key
}

/// Write the index key of (stream, first version) into `out`, replacing its contents.
pub(crate) fn stream_into(stream: &StreamId, version: u64, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(STREAM_PREFIX);
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(0);
    out.extend_from_slice(&version.to_be_bytes());
}

pub(crate) fn stream(stream: &StreamId, version: u64) -> Vec<u8> {
    let mut key = Vec::new();
    stream_into(stream, version, &mut key);
    key
}

/// Split a stream index key into (stream bytes, first version).
pub(crate) fn parse_stream(key: &[u8]) -> Option<(&[u8], u64)> {
    split_stream_key(key.strip_prefix(STREAM_PREFIX)?)
}

fn split_stream_key(rest: &[u8]) -> Option<(&[u8], u64)> {
    let split = rest.len().checked_sub(9)?;
    let (stream, tail) = rest.split_at(split);
    let (zero, version) = tail.split_first()?;
    if *zero != 0 || stream.is_empty() {
        return None;
    }
    Some((stream, u64::from_be_bytes(version.try_into().ok()?)))
}

/// Version stored at the end of a stream index key of a known stream prefix.
pub(crate) fn version_suffix(key: &[u8]) -> Option<u64> {
    let start = key.len().checked_sub(8)?;
    Some(u64::from_be_bytes(key[start..].try_into().ok()?))
}

/// The positions of a stream index value; `None` when its length is not whole positions.
pub(crate) fn positions(value: &[u8]) -> Option<impl Iterator<Item = u64> + '_> {
    if value.is_empty() || !value.len().is_multiple_of(8) {
        return None;
    }
    Some(
        value
            .chunks_exact(8)
            .map(|p| u64::from_be_bytes(p.try_into().expect("chunks_exact yields 8 bytes"))),
    )
}

pub(crate) fn command(id: CommandId) -> [u8; 18] {
    let mut key = [0u8; 18];
    key[..2].copy_from_slice(COMMAND_PREFIX);
    key[2..].copy_from_slice(id.0.as_bytes());
    key
}

/// Format 1, which [`crate::upgrade`] rewrites: one `e/{position}` key per envelope and one
/// `s/{stream}\0{version}` -> position key per event; `c/` and `meta/format` as in format 2.
pub(crate) mod v1 {
    pub(crate) const FORMAT_VERSION: u32 = 1;
    pub(crate) const EVENT_PREFIX: &[u8] = b"e/";
    pub(crate) const STREAM_PREFIX: &[u8] = b"s/";

    #[cfg(test)]
    pub(crate) fn event(position: u64) -> [u8; 10] {
        super::position_key(EVENT_PREFIX, position)
    }

    pub(crate) fn event_position(key: &[u8]) -> Option<u64> {
        let rest = key.strip_prefix(EVENT_PREFIX)?;
        Some(u64::from_be_bytes(rest.try_into().ok()?))
    }

    /// Split a format-1 stream index key into (stream bytes, version).
    pub(crate) fn parse_stream(key: &[u8]) -> Option<(&[u8], u64)> {
        super::split_stream_key(key.strip_prefix(STREAM_PREFIX)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back() {
        assert_eq!(event_position(&event(258)), Some(258));
        let s = StreamId::new("incident-1").unwrap();
        let k = stream(&s, 7);
        assert_eq!(parse_stream(&k), Some((&b"incident-1"[..], 7)));
        assert_eq!(version_suffix(&k), Some(7));
        assert!(k.starts_with(&stream_prefix(&s)));
        assert!(!stream(&StreamId::new("incident-10").unwrap(), 1).starts_with(&stream_prefix(&s)));
        assert!(event(1) < event(256));
        assert_eq!(v1::event_position(&v1::event(9)), Some(9));
        assert_eq!(v1::event_position(&event(9)), None);
    }

    #[test]
    fn index_values_are_whole_positions() {
        let value = [3_u64.to_be_bytes(), 4_u64.to_be_bytes()].concat();
        assert_eq!(positions(&value).unwrap().collect::<Vec<_>>(), vec![3, 4]);
        assert!(positions(&value[..9]).is_none());
        assert!(positions(&[]).is_none());
    }
}
