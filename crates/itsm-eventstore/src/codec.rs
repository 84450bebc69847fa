//! The one place bincode is used.
//!
//! Format: bincode `=2.0.1` through its serde support with `bincode::config::standard()`
//! (little endian, variable-length integers) plus a decode limit. The limit does not change the
//! bytes on disk; it exists because bincode allocates a claimed length *before* reading it, so
//! without it a few random bytes claiming a 2^60-byte vector abort the process. With it,
//! decoding arbitrary bytes returns an error and never panics (a proptest checks that).
//!
//! The store encodes its envelopes with it, and the application shell encodes domain event
//! payloads with it, so every stored byte has one documented format.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest value the codec will decode, in bytes (64 MiB). Stored envelopes are far smaller
/// (payloads are limited to [`crate::MAX_PAYLOAD_BYTES`]).
pub const DECODE_LIMIT: usize = 64 * 1024 * 1024;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<DECODE_LIMIT>,
>;

const fn config() -> Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// Why a value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("encode failed: {0}")]
    Encode(String),
    #[error("decode failed: {0}")]
    Decode(String),
    /// The bytes decoded into a value but some bytes were left over.
    #[error("decode left {trailing} trailing bytes")]
    TrailingBytes { trailing: usize },
}

/// Encode a value with the store's bincode configuration.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Append the encoding of a value to `out` (lets hot paths reuse one buffer).
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
    bincode::serde::encode_into_std_write(value, out, config())
        .map(drop)
        .map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decode a value encoded by [`encode`]. All bytes must be consumed.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if read == bytes.len() {
        Ok(value)
    } else {
        Err(CodecError::TrailingBytes {
            trailing: bytes.len().saturating_sub(read),
        })
    }
}

/// serde helpers so byte fields go through `serialize_bytes` (length + raw bytes) instead of
/// serde's default element-by-element sequence.
pub(crate) mod bytes {
    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    // serde's `with` calls it with `&Vec<u8>` or `&&[u8]`; both deref to a slice.
    #[allow(clippy::ptr_arg)]
    pub fn serialize<S: Serializer, B: AsRef<[u8]>>(bytes: &B, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes.as_ref())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            // Cap the pre-allocation: the size hint comes from untrusted input.
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Sample {
        name: String,
        n: u64,
        #[serde(with = "bytes")]
        data: Vec<u8>,
        tags: Vec<String>,
        opt: Option<i32>,
    }

    #[test]
    fn round_trips_a_struct() {
        let s = Sample {
            name: "x".into(),
            n: 300,
            data: vec![1, 2, 3],
            tags: vec!["a".into()],
            opt: Some(-4),
        };
        let bytes = encode(&s).unwrap();
        assert_eq!(decode::<Sample>(&bytes).unwrap(), s);
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let mut bytes = encode(&7u32).unwrap();
        bytes.push(0);
        assert_eq!(
            decode::<u32>(&bytes),
            Err(CodecError::TrailingBytes { trailing: 1 })
        );
    }

    #[test]
    fn a_huge_claimed_length_is_an_error_not_an_abort() {
        // varint marker 0xFD = u64 follows; claims a 2^62-byte vector.
        let bytes = [0xFD, 0, 0, 0, 0, 0, 0, 0, 0x40];
        assert!(decode::<Vec<u8>>(&bytes).is_err());
        assert!(decode::<String>(&bytes).is_err());
    }

    proptest! {
        #[test]
        fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<Sample>(&bytes);
            let _ = decode::<Vec<u8>>(&bytes);
            let _ = decode::<String>(&bytes);
            let _ = decode::<Vec<String>>(&bytes);
            let _ = decode::<crate::envelope::StoredEnvelope>(&bytes);
            let _ = decode::<crate::append::Appended>(&bytes);
        }

        #[test]
        fn samples_round_trip(name in ".{0,20}", n in any::<u64>(), data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = Sample { name, n, data, tags: vec![], opt: None };
            prop_assert_eq!(decode::<Sample>(&encode(&s).unwrap()).unwrap(), s);
        }
    }
}
