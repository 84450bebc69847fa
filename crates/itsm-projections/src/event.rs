//! One envelope's domain event, decoded by its stream.
//!
//! The stream name says which aggregate owns an envelope (`catalog`, `incident-<n>`,
//! `problem-<n>`, `change-<n>`, the names `itsm-app` gives them); the payload is the bincode of
//! that aggregate's event enum ([`itsm_eventstore::codec`]). Streams no aggregate owns decode to
//! `None`, so new kinds of streams (an `access` log, say) never break the projections.
//!
//! The stream-name parsing is a copy of `itsm_app::stream::StreamKind::of`: projections must
//! not depend on the shell.

use itsm_catalog::CatalogEvent;
use itsm_change::ChangeEvent;
use itsm_eventstore::{Envelope, StreamId, codec};
use itsm_incident::IncidentEvent;
use itsm_kernel::{ChangeKey, IncidentKey, PersistedEvent, ProblemKey};
use itsm_problem::ProblemEvent;
use serde::de::DeserializeOwned;

use crate::ProjectionError;

/// A decoded domain event with the aggregate it belongs to.
// One value lives at a time (decode, apply, drop); boxing would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerEvent {
    Catalog(CatalogEvent),
    Incident(IncidentKey, IncidentEvent),
    Problem(ProblemKey, ProblemEvent),
    Change(ChangeKey, ChangeEvent),
}

impl LedgerEvent {
    /// The persisted name of the event (`IncidentResolved`).
    pub fn event_type(&self) -> &'static str {
        match self {
            LedgerEvent::Catalog(event) => event.event_type(),
            LedgerEvent::Incident(_, event) => event.event_type(),
            LedgerEvent::Problem(_, event) => event.event_type(),
            LedgerEvent::Change(_, event) => event.event_type(),
        }
    }
}

/// Serializes the domain event alone, as its aggregate's enum would: the key is already in the
/// stream name. This is the JSON form of a payload that `ledgerdesk events --json` and the
/// `events` query show.
impl serde::Serialize for LedgerEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            LedgerEvent::Catalog(event) => event.serialize(serializer),
            LedgerEvent::Incident(_, event) => event.serialize(serializer),
            LedgerEvent::Problem(_, event) => event.serialize(serializer),
            LedgerEvent::Change(_, event) => event.serialize(serializer),
        }
    }
}

/// The aggregate behind a stream, parsed from its name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum StreamKind {
    Catalog,
    Incident(IncidentKey),
    Problem(ProblemKey),
    Change(ChangeKey),
}

impl StreamKind {
    /// Parses a stream name; `None` for streams no aggregate owns.
    pub fn of(stream: &StreamId) -> Option<StreamKind> {
        Self::parse(stream.as_str())
    }

    /// Parses a stream name given as text.
    pub fn parse(name: &str) -> Option<StreamKind> {
        if name == "catalog" {
            return Some(StreamKind::Catalog);
        }
        let (prefix, number) = name.split_once('-')?;
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number: u64 = number.parse().ok()?;
        match prefix {
            "incident" => Some(StreamKind::Incident(IncidentKey::new(number))),
            "problem" => Some(StreamKind::Problem(ProblemKey::new(number))),
            "change" => Some(StreamKind::Change(ChangeKey::new(number))),
            _ => None,
        }
    }

    /// The kind without the key, for grouping (`AuditIndex` by stream kind).
    pub fn family(self) -> StreamFamily {
        match self {
            StreamKind::Catalog => StreamFamily::Catalog,
            StreamKind::Incident(_) => StreamFamily::Incident,
            StreamKind::Problem(_) => StreamFamily::Problem,
            StreamKind::Change(_) => StreamFamily::Change,
        }
    }
}

/// Which kind of aggregate a stream holds; `Other` for streams no aggregate owns.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum StreamFamily {
    Catalog,
    Incident,
    Problem,
    Change,
    Other,
}

impl StreamFamily {
    pub const ALL: [StreamFamily; 5] = [
        StreamFamily::Catalog,
        StreamFamily::Incident,
        StreamFamily::Problem,
        StreamFamily::Change,
        StreamFamily::Other,
    ];

    /// The family of any stream name.
    pub fn of(stream: &StreamId) -> StreamFamily {
        StreamKind::of(stream).map_or(StreamFamily::Other, StreamKind::family)
    }
}

/// Decodes one envelope. `Ok(None)` for a stream no aggregate owns; an error when an
/// aggregate's stream holds bytes that are not its event, or an event other than the envelope
/// names (type or schema version).
pub fn decode(envelope: &Envelope) -> Result<Option<LedgerEvent>, ProjectionError> {
    let Some(kind) = StreamKind::of(&envelope.stream_id) else {
        return Ok(None);
    };
    let event = match kind {
        StreamKind::Catalog => LedgerEvent::Catalog(payload::<CatalogEvent>(envelope)?),
        StreamKind::Incident(key) => LedgerEvent::Incident(key, payload(envelope)?),
        StreamKind::Problem(key) => LedgerEvent::Problem(key, payload(envelope)?),
        StreamKind::Change(key) => LedgerEvent::Change(key, payload(envelope)?),
    };
    Ok(Some(event))
}

fn payload<E: DeserializeOwned + PersistedEvent>(
    envelope: &Envelope,
) -> Result<E, ProjectionError> {
    let event: E = codec::decode(&envelope.payload).map_err(|error| ProjectionError::Decode {
        position: envelope.position,
        stream: envelope.stream_id.to_string(),
        event_type: envelope.event_type.clone(),
        reason: error.to_string(),
    })?;
    if event.event_type() != envelope.event_type
        || event.schema_version() != envelope.schema_version
    {
        return Err(ProjectionError::TypeMismatch {
            position: envelope.position,
            stream: envelope.stream_id.to_string(),
            event_type: envelope.event_type.clone(),
            schema_version: envelope.schema_version,
            decoded: event.event_type(),
            decoded_schema: event.schema_version(),
        });
    }
    Ok(event)
}
