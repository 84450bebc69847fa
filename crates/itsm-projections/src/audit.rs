//! The audit index: which ledger positions were written by an actor, have an event type, belong
//! to a kind of stream, or were recorded in a time range. The caller reads the envelopes.
//!
//! Cost: five `u64`-sized entries per envelope (its position, its `recorded_at` seconds, and its
//! position in the actor, event-type and stream-kind lists): 40 bytes per event, so 10 million
//! events take about 400 MB. `recorded_at` usually grows with the position but the store does not
//! promise it, so times are checked per entry, never assumed sorted; a min/max per block of
//! [`BLOCK`] entries lets a pure time-range query skip blocks entirely outside the range.

use chrono::{DateTime, Utc};
use itsm_eventstore::{CodecError, Envelope};
use serde::{Deserialize, Serialize};

use crate::StreamFamily;
use crate::intern::Interner;
use crate::snapshot::{SnapshotReader, SnapshotWriter};

/// Entries per time block.
pub const BLOCK: usize = 256;

/// What an audit query keeps; `None` is any. Times are `[from_time, to_time)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The envelope's metadata actor (`user:<id>:<role>`, `automation:<name>`).
    pub actor: Option<String>,
    pub event_type: Option<String>,
    pub stream: Option<StreamFamily>,
    pub from_time: Option<DateTime<Utc>>,
    pub to_time: Option<DateTime<Utc>>,
}

/// The audit read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditIndex {
    positions: Vec<u64>,
    times: Vec<i64>,
    /// (min, max) of `times` per block of [`BLOCK`] entries.
    blocks: Vec<(i64, i64)>,
    actors: Interner,
    by_actor: Vec<Vec<u64>>,
    types: Interner,
    by_type: Vec<Vec<u64>>,
    /// Indexed like [`StreamFamily::ALL`].
    by_stream: Vec<Vec<u64>>,
}

fn family_index(family: StreamFamily) -> usize {
    match family {
        StreamFamily::Catalog => 0,
        StreamFamily::Incident => 1,
        StreamFamily::Problem => 2,
        StreamFamily::Change => 3,
        StreamFamily::Other => 4,
    }
}

fn push_to(lists: &mut Vec<Vec<u64>>, index: usize, position: u64) {
    if lists.len() <= index {
        lists.resize_with(index + 1, Vec::new);
    }
    lists[index].push(position);
}

impl AuditIndex {
    /// Indexes one envelope (the caller guarantees increasing positions).
    pub fn record(&mut self, envelope: &Envelope) {
        if self
            .positions
            .last()
            .is_some_and(|last| *last >= envelope.position)
        {
            return;
        }
        let position = envelope.position;
        let time = envelope.metadata.recorded_at.timestamp();
        if self.positions.len().is_multiple_of(BLOCK) {
            self.blocks.push((time, time));
        } else if let Some(block) = self.blocks.last_mut() {
            block.0 = block.0.min(time);
            block.1 = block.1.max(time);
        }
        self.positions.push(position);
        self.times.push(time);
        let actor = self.actors.intern(&envelope.metadata.actor) as usize;
        push_to(&mut self.by_actor, actor, position);
        let event_type = self.types.intern(&envelope.event_type) as usize;
        push_to(&mut self.by_type, event_type, position);
        let family = family_index(StreamFamily::of(&envelope.stream_id));
        push_to(&mut self.by_stream, family, position);
    }

    /// Number of indexed envelopes.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Heap bytes held (vector capacities plus interned names).
    pub fn approximate_heap_bytes(&self) -> usize {
        let lists =
            |lists: &Vec<Vec<u64>>| lists.iter().map(|l| l.capacity() * 8 + 24).sum::<usize>();
        self.positions.capacity() * 8
            + self.times.capacity() * 8
            + self.blocks.capacity() * 16
            + lists(&self.by_actor)
            + lists(&self.by_type)
            + lists(&self.by_stream)
            + self.actors.approximate_heap_bytes()
            + self.types.approximate_heap_bytes()
    }

    fn time_of(&self, position: u64) -> Option<i64> {
        let index = self.positions.binary_search(&position).ok()?;
        self.times.get(index).copied()
    }

    /// Up to `first` positions after `after_position` that match `filter`, ascending.
    pub fn audit(&self, filter: &AuditFilter, after_position: u64, first: usize) -> Vec<u64> {
        let mut lists: Vec<&[u64]> = Vec::new();
        if let Some(actor) = &filter.actor {
            match self
                .actors
                .get(actor)
                .and_then(|i| self.by_actor.get(i as usize))
            {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        if let Some(event_type) = &filter.event_type {
            match self
                .types
                .get(event_type)
                .and_then(|i| self.by_type.get(i as usize))
            {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        if let Some(family) = filter.stream {
            match self.by_stream.get(family_index(family)) {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        let from = filter.from_time.map(|t| t.timestamp());
        let to = filter.to_time.map(|t| t.timestamp());
        let in_time = |time: i64| from.is_none_or(|f| time >= f) && to.is_none_or(|t| time < t);
        let mut out = Vec::new();
        if lists.is_empty() {
            // Only a time range (or nothing): walk the blocks, skipping those outside it.
            let start = self.positions.partition_point(|p| *p <= after_position);
            let mut index = start;
            while index < self.positions.len() && out.len() < first {
                let block = index / BLOCK;
                if let Some((min, max)) = self.blocks.get(block).copied()
                    && (from.is_some_and(|f| max < f) || to.is_some_and(|t| min >= t))
                {
                    index = (block + 1) * BLOCK;
                    continue;
                }
                if in_time(self.times[index]) {
                    out.push(self.positions[index]);
                }
                index += 1;
            }
            return out;
        }
        lists.sort_by_key(|list| list.len());
        let (driver, others) = lists.split_at(1);
        let driver = driver[0];
        let start = driver.partition_point(|p| *p <= after_position);
        for position in &driver[start..] {
            if out.len() >= first {
                break;
            }
            if !others
                .iter()
                .all(|list| list.binary_search(position).is_ok())
            {
                continue;
            }
            if (from.is_some() || to.is_some()) && !self.time_of(*position).is_some_and(&in_time) {
                continue;
            }
            out.push(*position);
        }
        out
    }
}

impl AuditIndex {
    /// Writes the index as snapshot frames (see [`crate::snapshot`]): every list delta-coded,
    /// the time blocks left out (recomputed on load).
    pub(crate) fn write_snapshot(&self, out: &mut SnapshotWriter) -> Result<(), CodecError> {
        out.deltas(&self.positions)?;
        out.signed_deltas(&self.times)?;
        out.value(&self.actors)?;
        out.value(&self.types)?;
        for lists in [&self.by_actor, &self.by_type, &self.by_stream] {
            out.value(&(lists.len() as u64))?;
            for list in lists {
                out.deltas(list)?;
            }
        }
        Ok(())
    }

    pub(crate) fn read_snapshot(input: &mut SnapshotReader<'_>) -> Result<Self, CodecError> {
        let positions = input.deltas()?;
        let times = input.signed_deltas()?;
        if times.len() != positions.len() {
            return Err(CodecError::Decode(
                "snapshot: audit times and positions differ in length".to_owned(),
            ));
        }
        let actors = input.value()?;
        let types = input.value()?;
        let mut lists = || -> Result<Vec<Vec<u64>>, CodecError> {
            let count: u64 = input.value()?;
            (0..count).map(|_| input.deltas()).collect()
        };
        let (by_actor, by_type, by_stream) = (lists()?, lists()?, lists()?);
        let blocks = times
            .chunks(BLOCK)
            .map(|block| {
                block.iter().fold((i64::MAX, i64::MIN), |(min, max), time| {
                    (min.min(*time), max.max(*time))
                })
            })
            .collect();
        Ok(AuditIndex {
            positions,
            times,
            blocks,
            actors,
            by_actor,
            types,
            by_type,
            by_stream,
        })
    }
}
