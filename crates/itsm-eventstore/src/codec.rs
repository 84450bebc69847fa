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

    /// One change to an encoded value.
    #[derive(Debug, Clone)]
    enum Mutation {
        FlipBit { at: usize, bit: u8 },
        Overwrite { at: usize, byte: u8 },
        Insert { at: usize, byte: u8 },
        Remove { at: usize },
        Truncate { keep: usize },
    }

    impl Mutation {
        fn apply(&self, bytes: &mut Vec<u8>) {
            let len = bytes.len().max(1);
            match *self {
                Mutation::FlipBit { at, bit } => {
                    if let Some(b) = bytes.get_mut(at % len) {
                        *b ^= 1 << (bit % 8);
                    }
                }
                Mutation::Overwrite { at, byte } => {
                    if let Some(b) = bytes.get_mut(at % len) {
                        *b = byte;
                    }
                }
                Mutation::Insert { at, byte } => bytes.insert(at % (bytes.len() + 1), byte),
                Mutation::Remove { at } => {
                    if !bytes.is_empty() {
                        bytes.remove(at % len);
                    }
                }
                Mutation::Truncate { keep } => bytes.truncate(keep % len),
            }
        }
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        // Length markers of bincode's varints (0xFB..=0xFD) and 0xFF are the interesting bytes.
        let byte = prop_oneof![
            any::<u8>(),
            Just(0xFB),
            Just(0xFC),
            Just(0xFD),
            Just(0xFF),
            Just(0)
        ];
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
            (any::<usize>(), byte.clone()).prop_map(|(at, byte)| Mutation::Overwrite { at, byte }),
            (any::<usize>(), byte).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
            any::<usize>().prop_map(|at| Mutation::Remove { at }),
            any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        ]
    }

    fn arbitrary_envelope() -> impl Strategy<Value = crate::Envelope> {
        (
            1..u64::MAX,
            "[a-z][a-z0-9-]{0,20}",
            1..1_000_u64,
            "[A-Za-z]{1,30}",
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..300),
            ".{0,20}",
            proptest::option::of(any::<u128>()),
            (0_i64..4_000_000_000, 0_u32..1_000_000_000),
            any::<[u8; 32]>(),
        )
            .prop_map(
                |(
                    position,
                    stream,
                    version,
                    event_type,
                    schema,
                    payload,
                    actor,
                    command,
                    at,
                    prev,
                )| {
                    let recorded_at = chrono::DateTime::from_timestamp(at.0, at.1).unwrap();
                    let mut metadata = crate::Metadata::new(actor, recorded_at);
                    metadata.command_id =
                        command.map(|c| crate::CommandId::from_uuid(uuid::Uuid::from_u128(c)));
                    let mut envelope = crate::Envelope {
                        position,
                        stream_id: crate::StreamId::new(stream).unwrap(),
                        version,
                        event_type,
                        schema_version: schema,
                        payload,
                        metadata,
                        prev_hash: crate::Hash(prev),
                        hash: crate::Hash::GENESIS,
                    };
                    envelope.hash = envelope.compute_hash();
                    envelope
                },
            )
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

        /// Mutations of valid stored envelopes (bit flips, overwritten, inserted and removed
        /// bytes, truncation) never panic, and a reader never accepts a changed one: it is
        /// refused, or it is byte-for-byte the original envelope.
        #[test]
        fn mutated_envelopes_never_panic_and_never_pass_the_readers_check(
            envelope in arbitrary_envelope(),
            mutations in proptest::collection::vec(mutation(), 1..6),
        ) {
            let original = crate::envelope::encode_stored(&envelope).unwrap();
            let mut bytes = original.clone();
            for m in &mutations {
                m.apply(&mut bytes);
            }
            let _ = crate::envelope::decode_stored(envelope.position, &bytes);
            match crate::envelope::decode_checked(envelope.position, &bytes) {
                Ok(read) => prop_assert_eq!(read, envelope),
                Err(crate::StoreError::Corrupt { position, .. }) => {
                    prop_assert_eq!(position, envelope.position);
                }
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }

        /// The same for payload-like values: mutated encodings decode to an error or a value,
        /// never a panic or an abort.
        #[test]
        fn mutated_payloads_never_panic(
            name in ".{0,20}",
            data in proptest::collection::vec(any::<u8>(), 0..64),
            tags in proptest::collection::vec(".{0,8}", 0..4),
            mutations in proptest::collection::vec(mutation(), 1..6),
        ) {
            let s = Sample { name, n: 7, data, tags, opt: Some(1) };
            let mut bytes = encode(&s).unwrap();
            for m in &mutations {
                m.apply(&mut bytes);
            }
            let _ = decode::<Sample>(&bytes);
            let _ = decode::<Vec<String>>(&bytes);
        }

        #[test]
        fn samples_round_trip(name in ".{0,20}", n in any::<u64>(), data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = Sample { name, n, data, tags: vec![], opt: None };
            prop_assert_eq!(decode::<Sample>(&encode(&s).unwrap()).unwrap(), s);
        }
    }
}
