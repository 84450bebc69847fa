//! What the event store's sled key layouts cost a `logIncident`-shaped write: format 1, format 2
//! and format 2 without the command index, the measurement behind format 2 (docs/PERFORMANCE.md,
//! "Event store").
//!
//! Raw sled only, no store code: each mutation is three envelopes of 1 200 bytes (about a
//! `logIncident` at 1M incidents) on a new stream `incident-<n>` with a time-ordered command id
//! (the desk makes `UUIDv7` ids), and 64 mutations go into one batch that is applied and flushed
//! (a group commit at 64 connections).
//! sled 0.34.7's cost is per key: a leaf splits past 16 entries whatever their size, every key
//! is a page-table entry that each open reads back.

use std::time::Instant;

use crate::per_second;
use crate::store::{BenchResult, raw_sled};

/// Envelope size of the probe (bytes per event of the generated 1M-incident ledger: 1 241).
pub const ENVELOPE_BYTES: usize = 1_200;
/// Events per mutation (`IncidentLogged` and two clock starts).
pub const EVENTS_PER_MUTATION: u64 = 3;
/// Mutations per group commit.
pub const GROUP: u64 = 64;
/// Largest value of a chunk of consecutive envelopes (the store's, see its `chunk` module: larger
/// chunks make sled write leaves as blob files its cache never pages out).
pub const CHUNK_BYTES: usize = 7 * 1024;

/// A way to lay a mutation's keys out in sled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Format 1, the store's layout before format 2: `e/{position}` per envelope,
    /// `s/{stream}\0{version}` per envelope, `c/{command id}` per command.
    Format1,
    /// Format 2, the store's layout: envelopes of a group commit packed into chunks
    /// `E/{first position}` of up to [`CHUNK_BYTES`], one stream index key per append
    /// (`S/{stream}\0{first version}` -> the append's positions), and the command index kept.
    Format2,
    /// As `Format2`, without the command index: the least a durable, indexed write can cost.
    Format2WithoutCommands,
}

/// Mutations per second of `mutations` `logIncident`-shaped writes in `layout`, group-committed.
pub fn log_incidents(layout: Layout, mutations: u64) -> BenchResult<f64> {
    let dir = tempfile::tempdir()?;
    let db = raw_sled(dir.path())?;
    let envelope = vec![0x5a_u8; ENVELOPE_BYTES];
    let mut ids = 0x9E37_79B9_7F4A_7C15_u64;
    let mut position = 0_u64;
    let start = Instant::now();
    let mut done = 0;
    while done < mutations {
        let group = done..(done + GROUP).min(mutations);
        done = group.end;
        let mut batch = sled::Batch::default();
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + ENVELOPE_BYTES);
        let mut chunk_first = position + 1;
        for incident in group {
            let stream = format!("s/incident-{incident}\0").into_bytes();
            let mut positions = Vec::with_capacity(24);
            for version in 1..=EVENTS_PER_MUTATION {
                position += 1;
                if layout == Layout::Format1 {
                    batch.insert(&event_key(position), envelope.as_slice());
                    batch.insert(
                        [stream.as_slice(), &version.to_be_bytes()].concat(),
                        &position.to_be_bytes(),
                    );
                } else {
                    if !chunk.is_empty() && chunk.len() + envelope.len() > CHUNK_BYTES {
                        batch.insert(&event_key(chunk_first), std::mem::take(&mut chunk));
                        chunk_first = position;
                    }
                    chunk.extend_from_slice(&envelope);
                    positions.extend_from_slice(&position.to_be_bytes());
                }
            }
            if layout != Layout::Format1 {
                batch.insert(
                    [stream.as_slice(), &1_u64.to_be_bytes()].concat(),
                    positions,
                );
            }
            if layout != Layout::Format2WithoutCommands {
                // Time-ordered like the desk's UUIDv7 command ids: an increasing prefix, then
                // random bits.
                let mut key = b"c/".to_vec();
                key.extend_from_slice(&incident.to_be_bytes());
                key.extend_from_slice(&next_id(&mut ids).to_be_bytes());
                batch.insert(key, [1_u8; 40].as_slice());
            }
        }
        if !chunk.is_empty() {
            batch.insert(&event_key(chunk_first), chunk);
        }
        db.apply_batch(batch)?;
        db.flush()?;
    }
    Ok(per_second(mutations, start.elapsed()))
}

fn event_key(position: u64) -> [u8; 10] {
    let mut key = [0_u8; 10];
    key[..2].copy_from_slice(b"e/");
    key[2..].copy_from_slice(&position.to_be_bytes());
    key
}

/// xorshift64: the random half of a command id.
fn next_id(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
