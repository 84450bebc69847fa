//! Key layout of the sled tree (format 1). All integers big endian so byte order is numeric
//! order.
//!
//! | key | value |
//! |---|---|
//! | `e/` + position (u64) | the envelope (codec-encoded storage form) |
//! | `s/` + stream id + `\0` + version (u64) | position (u64) |
//! | `c/` + command id (16 bytes) | codec-encoded `Appended` (the first result) |
//! | `meta/format` | format version (u32) |
//!
//! Stream ids contain no control characters, so the `\0` terminator makes stream prefixes
//! unambiguous (`s/a\0` never matches stream `ab`).

use crate::envelope::{CommandId, StreamId};

pub(crate) const EVENT_PREFIX: &[u8] = b"e/";
pub(crate) const STREAM_PREFIX: &[u8] = b"s/";
pub(crate) const COMMAND_PREFIX: &[u8] = b"c/";
pub(crate) const FORMAT_KEY: &[u8] = b"meta/format";
pub(crate) const FORMAT_VERSION: u32 = 1;

pub(crate) fn event(position: u64) -> [u8; 10] {
    let mut key = [0u8; 10];
    key[..2].copy_from_slice(EVENT_PREFIX);
    key[2..].copy_from_slice(&position.to_be_bytes());
    key
}

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

/// Write the index key of (stream, version) into `out`, replacing its contents.
pub(crate) fn stream_into(stream: &StreamId, version: u64, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(STREAM_PREFIX);
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(0);
    out.extend_from_slice(&version.to_be_bytes());
}

pub(crate) fn stream(stream: &StreamId, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// Split a stream index key into (stream bytes, version).
pub(crate) fn parse_stream(key: &[u8]) -> Option<(&[u8], u64)> {
    let rest = key.strip_prefix(STREAM_PREFIX)?;
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

pub(crate) fn command(id: CommandId) -> [u8; 18] {
    let mut key = [0u8; 18];
    key[..2].copy_from_slice(COMMAND_PREFIX);
    key[2..].copy_from_slice(id.0.as_bytes());
    key
}

pub(crate) fn u64_value(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
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
    }
}
