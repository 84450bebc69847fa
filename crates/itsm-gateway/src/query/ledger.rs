//! Queries about the caller and the ledger itself.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use itsm_eventstore::{Envelope, EventStore, StreamId, VerifyReport};
use itsm_projections::{AuditFilter, LedgerEvent, StreamFamily, decode, views};

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::page::{page_size, position_cursor};
use crate::query::{state, wait_for};
use crate::scalar::Position;
use crate::types::instant;

#[derive(Default)]
pub struct LedgerQueries;

/// The caller, as their token says.
#[derive(SimpleObject)]
pub struct Me {
    pub user: String,
    pub role: String,
    /// The name of the token in use (never the token).
    pub token_name: String,
    /// The ledger head and the read models' position when asked.
    pub ledger_head: Position,
    pub read_models_at: Position,
}

/// One ledger event, raw: what the auditor verifies.
#[derive(SimpleObject)]
pub struct LedgerEventNode {
    pub position: Position,
    pub stream: String,
    pub version: Position,
    pub event_type: String,
    pub schema_version: i32,
    pub actor: String,
    pub recorded_at: String,
    pub command_id: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    /// The BLAKE3 hash chaining this event to the previous one, and that one's hash.
    pub hash: String,
    pub prev_hash: String,
    /// A sentence for people; `null` for streams no aggregate owns.
    pub summary: Option<String>,
    /// The decoded domain event as JSON; `null` for streams no aggregate owns or a payload
    /// that does not decode.
    pub payload: Option<String>,
}

fn payload_json(event: &LedgerEvent) -> Option<String> {
    serde_json::to_string(event)
        .map_err(|error| tracing::warn!(%error, "event payload not representable as JSON"))
        .ok()
}

impl From<&Envelope> for LedgerEventNode {
    fn from(envelope: &Envelope) -> Self {
        let event = decode(envelope)
            .map_err(|error| tracing::warn!(%error, "ledger event does not decode"))
            .ok()
            .flatten();
        let metadata = &envelope.metadata;
        Self {
            position: Position(envelope.position),
            stream: envelope.stream_id.as_str().to_owned(),
            version: Position(envelope.version),
            event_type: envelope.event_type.clone(),
            schema_version: i32::from(envelope.schema_version),
            actor: metadata.actor.clone(),
            recorded_at: metadata.recorded_at.to_rfc3339(),
            command_id: metadata.command_id.map(|id| id.to_string()),
            correlation_id: metadata.correlation_id.map(|id| id.to_string()),
            causation_id: metadata.causation_id.map(|id| id.to_string()),
            hash: envelope.hash.to_string(),
            prev_hash: envelope.prev_hash.to_string(),
            summary: event.as_ref().map(views::summary),
            payload: event.as_ref().and_then(payload_json),
        }
    }
}

/// Which kind of stream, for audit filters.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKindName {
    Catalog,
    Incident,
    Problem,
    Change,
    /// Streams no aggregate owns (such as access tokens).
    Other,
}

impl From<StreamKindName> for StreamFamily {
    fn from(kind: StreamKindName) -> Self {
        match kind {
            StreamKindName::Catalog => StreamFamily::Catalog,
            StreamKindName::Incident => StreamFamily::Incident,
            StreamKindName::Problem => StreamFamily::Problem,
            StreamKindName::Change => StreamFamily::Change,
            StreamKindName::Other => StreamFamily::Other,
        }
    }
}

/// What an audit query keeps; absent is any. Times are `[from, to)`, RFC 3339.
#[derive(InputObject, Default)]
pub struct AuditFilterInput {
    /// The recorded actor, as the ledger writes it (`user:<id>:<role>`, `automation:<name>`).
    pub actor: Option<String>,
    pub event_type: Option<String>,
    pub stream: Option<StreamKindName>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One problem `verifyLedger` found.
#[derive(SimpleObject)]
pub struct LedgerProblemNode {
    pub position: Position,
    /// What is wrong, for people.
    pub defect: String,
}

/// The outcome of re-walking the hash chain and the stream index.
#[derive(SimpleObject)]
pub struct LedgerVerification {
    pub ok: bool,
    pub events: Position,
    pub index_entries: Position,
    /// Hash of the last event: publish it to pin the ledger.
    pub head_hash: String,
    pub first_bad_position: Option<Position>,
    pub problems: Vec<LedgerProblemNode>,
}

impl From<&VerifyReport> for LedgerVerification {
    fn from(report: &VerifyReport) -> Self {
        Self {
            ok: report.is_ok(),
            events: Position(report.events),
            index_entries: Position(report.index_entries),
            head_hash: report.head_hash.to_string(),
            first_bad_position: report.first_bad_position().map(Position),
            problems: report
                .problems
                .iter()
                .map(|problem| LedgerProblemNode {
                    position: Position(problem.position),
                    defect: format!("{:?}", problem.defect),
                })
                .collect(),
        }
    }
}

#[Object]
impl LedgerQueries {
    /// Who is calling, and how far the ledger and the read models are.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<Me> {
        let (principal, _) = require(ctx, "me")?;
        let state = state(ctx);
        Ok(Me {
            user: principal.user.to_string(),
            role: principal.role.to_string(),
            token_name: principal.token_name.clone(),
            ledger_head: Position(state.store.head()),
            read_models_at: Position(state.runner.position()),
        })
    }

    /// The raw ledger from `fromPosition` (default 1), at most `first` events; with `stream`,
    /// only that stream's events. (The ledger is read directly; `atLeast` only waits, for
    /// clients that pass it everywhere.)
    async fn events(
        &self,
        ctx: &Context<'_>,
        stream: Option<String>,
        from_position: Option<Position>,
        first: Option<i32>,
        at_least: Option<Position>,
    ) -> ApiResult<Vec<LedgerEventNode>> {
        require(ctx, "events")?;
        let state = state(ctx);
        let first = page_size(state, first)?;
        wait_for(state, at_least).await?;
        let from = from_position.map_or(1, |Position(p)| p.max(1));
        let envelopes = match stream {
            Some(stream) => {
                let stream = StreamId::new(stream)
                    .map_err(|e| ApiError::Validation(format!("stream: {e}")))?;
                let mut events = state
                    .store
                    .read_stream(&stream, 1)
                    .await
                    .map_err(ApiError::from)?;
                events.retain(|e| e.position >= from);
                events.truncate(first);
                events
            }
            None => state
                .store
                .read_all(from, first)
                .await
                .map_err(ApiError::from)?,
        };
        Ok(envelopes.iter().map(LedgerEventNode::from).collect())
    }

    /// The audit log: events by actor, type, kind of stream and time, in ledger order, with
    /// Relay paging (the cursor is a position).
    async fn audit(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Connection<String, LedgerEventNode>> {
        require(ctx, "audit")?;
        let state = state(ctx);
        let first = page_size(state, first)?;
        let after = position_cursor(after.as_deref())?;
        let input = filter.unwrap_or_default();
        let filter = AuditFilter {
            actor: input.actor,
            event_type: input.event_type,
            stream: input.stream.map(Into::into),
            from_time: input
                .from
                .as_deref()
                .map(|t| instant("from", t))
                .transpose()?,
            to_time: input.to.as_deref().map(|t| instant("to", t)).transpose()?,
        };
        wait_for(state, at_least).await?;
        let mut positions = state
            .runner
            .read(|models| models.audit.audit(&filter, after, first.saturating_add(1)));
        let has_next = positions.len() > first;
        positions.truncate(first);
        let mut connection = Connection::new(after > 0, has_next);
        for position in positions {
            let envelopes = state
                .store
                .read_all(position, 1)
                .await
                .map_err(ApiError::from)?;
            if let Some(envelope) = envelopes.first() {
                connection.edges.push(Edge::new(
                    position.to_string(),
                    LedgerEventNode::from(envelope),
                ));
            }
        }
        Ok(connection)
    }

    /// Re-walks the whole hash chain and the stream index (on a blocking thread).
    async fn verify_ledger(&self, ctx: &Context<'_>) -> ApiResult<LedgerVerification> {
        require(ctx, "verifyLedger")?;
        let store = state(ctx).store.clone();
        let runtime = tokio::runtime::Handle::current();
        let report = tokio::task::spawn_blocking(move || runtime.block_on(store.verify()))
            .await
            .map_err(|e| ApiError::Internal(format!("verify task failed: {e}")))?
            .map_err(ApiError::from)?;
        Ok(LedgerVerification::from(&report))
    }
}
