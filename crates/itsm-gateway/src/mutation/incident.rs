//! Incident mutations.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use itsm_app::CommandResult;
use itsm_app::desk::NewIncident;
use itsm_app::stream;
use itsm_eventstore::EventStore;
use itsm_kernel::{CustomerTier, IncidentKey};
use itsm_projections::views::IncidentView;

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::state;
use crate::query::ticket::IncidentNode;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::{ContactChannel, ImpactLevel, Tier, UrgencyLevel, id, key};

#[derive(Default)]
pub struct IncidentMutations;

/// The incident after the mutation, and the ledger position that recorded it (pass it as
/// `atLeast` to queries to read your own write).
#[derive(SimpleObject)]
pub struct IncidentPayload {
    pub incident: IncidentNode,
    pub position: Position,
}

#[derive(InputObject)]
pub struct LogIncidentInput {
    pub title: String,
    pub description: String,
    pub service: String,
    pub category: String,
    pub impact: ImpactLevel,
    pub urgency: UrgencyLevel,
    #[graphql(default_with = "ContactChannel::Api")]
    pub channel: ContactChannel,
    /// Who reports it; defaults to the caller. Only the desk may report for someone else.
    pub requester: Option<String>,
    #[graphql(default_with = "Tier::Standard")]
    pub tier: Tier,
}

#[derive(InputObject)]
pub struct IncidentKeyInput {
    /// `INC-<n>`.
    pub key: async_graphql::ID,
}

/// The payload of a command on incident `key`: its view folded from the stream.
pub async fn incident_payload(
    state: &AppState,
    key: IncidentKey,
    result: &CommandResult,
) -> Result<IncidentPayload, ApiError> {
    let envelopes = state.store.read_stream(&stream::incident(key), 1).await?;
    let view = IncidentView::from_envelopes(&envelopes)?
        .ok_or_else(|| ApiError::Internal(format!("{key} has no events after a command")))?;
    Ok(IncidentPayload {
        incident: IncidentNode::from_view(key, &view),
        position: Position(result.position),
    })
}

#[Object]
impl IncidentMutations {
    /// Reports an incident. Its priority comes from impact x urgency; its SLA clocks from the
    /// service's policy for that priority and tier.
    async fn log_incident(
        &self,
        ctx: &Context<'_>,
        input: LogIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "logIncident")?;
        let requester = match &input.requester {
            Some(requester) if principal.role == itsm_kernel::Role::Requester => {
                if requester != principal.user.as_str() {
                    return Err(ApiError::Forbidden(
                        "a requester reports incidents for themselves only".to_owned(),
                    )
                    .into());
                }
                principal.user.clone()
            }
            Some(requester) => id("requester", requester)?,
            None => principal.user.clone(),
        };
        let new = NewIncident {
            title: input.title,
            description: input.description,
            channel: input.channel.into(),
            requester,
            tier: CustomerTier::from(input.tier),
            service: id("service", &input.service)?,
            category: id("category", &input.category)?,
            impact: input.impact.into(),
            urgency: input.urgency.into(),
        };
        let state = state(ctx);
        let (key, result) = state
            .desk
            .log_incident(new, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// The desk has seen it: stops the first-response clock.
    async fn acknowledge_incident(
        &self,
        ctx: &Context<'_>,
        input: IncidentKeyInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "acknowledgeIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .acknowledge(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }
}
