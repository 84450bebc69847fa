//! Full integrity check: the hash chain and the stream index, shared by both backends.
//!
//! The log walk checks, per position in order: positions are gap-free from 1, the stored
//! envelope decodes and carries the position of its key, `prev_hash` links to the previous
//! envelope's hash (genesis: 32 zero bytes), the recomputed hash equals the stored one, and stream
//! versions are consecutive from 1. The index walk checks that every index entry points to the
//! event of that stream and version, and that every event has its index entry.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::envelope::{Envelope, Hash};
use crate::error::StoreError;

/// Problems beyond this many are counted but not kept.
const MAX_PROBLEMS: usize = 10_000;

/// What is wrong at a position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Defect {
    /// No event is stored at this position, but later ones are (`count` positions are missing).
    Missing { count: u64 },
    /// The stored bytes do not decode.
    Undecodable { reason: String },
    /// The key says this position, the stored envelope says another.
    PositionMismatch { stored: u64 },
    /// `prev_hash` is not the previous envelope's hash.
    PrevHashMismatch,
    /// The recomputed hash differs from the stored one: some field was changed.
    HashMismatch,
    /// The stream's versions are not consecutive here.
    VersionGap {
        stream: String,
        expected: u64,
        found: u64,
    },
    /// The event has no stream index entry.
    MissingIndexEntry { stream: String, version: u64 },
    /// The index entry for this event's stream and version points to another position.
    IndexPointsElsewhere {
        stream: String,
        version: u64,
        index_position: u64,
    },
    /// An index entry points here, but no event of that stream and version exists.
    DanglingIndexEntry { stream: String, version: u64 },
    /// An index entry cannot be parsed.
    MalformedIndexEntry { reason: String },
    /// The storage engine failed to read the log from here on (a damaged page); the walk
    /// stopped here.
    Unreadable { reason: String },
}

/// One problem, at the position it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub position: u64,
    pub defect: Defect,
}

/// Outcome of [`crate::EventStore::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Events walked.
    pub events: u64,
    /// Stream index entries walked.
    pub index_entries: u64,
    /// Hash of the last event (genesis when empty): publish it to pin the ledger.
    pub head_hash: Hash,
    /// Sorted by position; at most 10 000 are kept.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }

    pub fn first_bad_position(&self) -> Option<u64> {
        self.problems.first().map(|p| p.position)
    }
}

/// Per event seen in the log: (position, has an index entry).
type StreamSlots = Vec<(u64, bool)>;

pub(crate) struct Verifier {
    next: u64,
    prev: Option<Hash>,
    head_hash: Hash,
    events: u64,
    index_entries: u64,
    streams: HashMap<String, StreamSlots>,
    problems: Vec<Problem>,
}

impl Verifier {
    pub fn new() -> Self {
        Verifier {
            next: 1,
            prev: Some(Hash::GENESIS),
            head_hash: Hash::GENESIS,
            events: 0,
            index_entries: 0,
            streams: HashMap::new(),
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, position: u64, defect: Defect) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem { position, defect });
        }
    }

    /// Feed log entries in ascending key order.
    pub fn event(&mut self, key_position: u64, decoded: Result<Envelope, StoreError>) {
        if key_position > self.next {
            self.problem(
                self.next,
                Defect::Missing {
                    count: key_position - self.next,
                },
            );
            self.prev = None;
        }
        self.next = key_position + 1;
        self.events += 1;
        let env = match decoded {
            Ok(env) => env,
            Err(e) => {
                let reason = match e {
                    StoreError::Corrupt { reason, .. } => reason,
                    other => other.to_string(),
                };
                self.problem(key_position, Defect::Undecodable { reason });
                self.prev = None;
                return;
            }
        };
        if env.position != key_position {
            self.problem(
                key_position,
                Defect::PositionMismatch {
                    stored: env.position,
                },
            );
        }
        if let Some(prev) = self.prev
            && prev != env.prev_hash
        {
            self.problem(key_position, Defect::PrevHashMismatch);
        }
        if env.compute_hash() != env.hash {
            self.problem(key_position, Defect::HashMismatch);
        }
        let slots = self
            .streams
            .entry(env.stream_id.as_str().to_owned())
            .or_default();
        let expected = slots.len() as u64 + 1;
        slots.push((key_position, false));
        if env.version != expected {
            self.problem(
                key_position,
                Defect::VersionGap {
                    stream: env.stream_id.as_str().to_owned(),
                    expected,
                    found: env.version,
                },
            );
        }
        self.prev = Some(env.hash);
        self.head_hash = env.hash;
    }

    /// The log walk is over and the committed head is `head`: positions up to it that the walk
    /// did not reach are missing.
    pub fn log_ends_at(&mut self, head: u64) {
        if self.next <= head {
            self.problem(
                self.next,
                Defect::Missing {
                    count: head - self.next + 1,
                },
            );
            self.next = head + 1;
            self.prev = None;
        }
    }

    /// Feed one stream index entry (any order).
    pub fn index_entry(&mut self, stream: &str, version: u64, position: u64) {
        self.index_entries += 1;
        let slot = usize::try_from(version)
            .ok()
            .and_then(|v| v.checked_sub(1))
            .and_then(|i| self.streams.get_mut(stream).and_then(|s| s.get_mut(i)));
        match slot {
            Some((event_position, seen)) => {
                *seen = true;
                let event_position = *event_position;
                if event_position != position {
                    self.problem(
                        event_position,
                        Defect::IndexPointsElsewhere {
                            stream: stream.to_owned(),
                            version,
                            index_position: position,
                        },
                    );
                }
            }
            None => self.problem(
                position,
                Defect::DanglingIndexEntry {
                    stream: stream.to_owned(),
                    version,
                },
            ),
        }
    }

    /// The storage engine failed while the log was walked: a problem at the next position
    /// expected. The caller stops walking, so the index is not checked (events without a
    /// looked-at index entry are not reported as missing one).
    pub fn unreadable(&mut self, reason: String) {
        self.problem(self.next, Defect::Unreadable { reason });
        self.streams.clear();
    }

    /// The storage engine failed while the index was walked; the walk stops.
    pub fn unreadable_index(&mut self, reason: String) {
        self.index_entries += 1;
        self.problem(0, Defect::MalformedIndexEntry { reason });
        self.streams.clear();
    }

    pub fn malformed_index_entry(&mut self, position: u64, reason: String) {
        self.index_entries += 1;
        self.problem(position, Defect::MalformedIndexEntry { reason });
    }

    pub fn finish(mut self) -> VerifyReport {
        let streams = std::mem::take(&mut self.streams);
        for (stream, slots) in streams {
            for (i, (position, seen)) in slots.into_iter().enumerate() {
                if !seen {
                    self.problem(
                        position,
                        Defect::MissingIndexEntry {
                            stream: stream.clone(),
                            version: i as u64 + 1,
                        },
                    );
                }
            }
        }
        self.problems.sort_by_key(|p| p.position);
        VerifyReport {
            events: self.events,
            index_entries: self.index_entries,
            head_hash: self.head_hash,
            problems: self.problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_log_is_a_problem_at_the_next_expected_position() {
        let mut verifier = Verifier::new();
        verifier.event(1, Err(StoreError::Closed));
        verifier.unreadable("Read corrupted data".to_owned());
        let report = verifier.finish();
        assert_eq!(report.problems.len(), 2, "{report:?}");
        assert_eq!(report.first_bad_position(), Some(1));
        assert_eq!(
            report.problems.get(1).map(|p| (p.position, &p.defect)),
            Some((
                2,
                &Defect::Unreadable {
                    reason: "Read corrupted data".to_owned()
                }
            ))
        );
    }
}
