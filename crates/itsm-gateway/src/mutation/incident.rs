//! Incident mutations.

use async_graphql::{Context, ID, InputObject, Object, OneofObject, SimpleObject};
use itsm_app::desk::{EscalateTo, NewIncident};
use itsm_app::stream;
use itsm_app::{CommandResult, Written};
use itsm_eventstore::EventStore;
use itsm_incident::{Attachment, IncidentEvent, LinkTarget};
use itsm_kernel::{CustomerTier, IncidentKey, PersistedEvent};
use itsm_projections::views::{IncidentView, TimelineEntry, incident_summary};

use crate::auth::{Principal, require};
use crate::error::{ApiError, ApiResult};
use crate::query::state;
use crate::query::ticket::IncidentNode;
use crate::roles::Access;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::{
    CommentVisibility, ContactChannel, ImpactLevel, OnHoldReason, ResolutionCategory, Tier,
    UrgencyLevel, id, key,
};

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

#[derive(InputObject)]
pub struct AssignIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    /// The assignment group; a group that receives the ticket starts its OLA clock.
    pub group: Option<String>,
    /// The agent who works it.
    pub agent: Option<String>,
}

#[derive(InputObject)]
pub struct PutIncidentOnHoldInput {
    /// `INC-<n>`.
    pub key: ID,
    pub reason: OnHoldReason,
}

/// Where an escalation goes: exactly one of the two.
#[derive(OneofObject)]
pub enum EscalationTarget {
    /// Functional: the ticket moves to this (next-tier) group, whose OLA clock starts.
    Group(String),
    /// Hierarchical: this manager is notified; the ticket stays where it is.
    Manager(String),
}

#[derive(InputObject)]
pub struct EscalateIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    pub to: EscalationTarget,
    pub reason: String,
}

#[derive(InputObject)]
pub struct ReprioritizeIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    pub impact: ImpactLevel,
    pub urgency: UrgencyLevel,
    pub reason: String,
}

#[derive(InputObject)]
pub struct ResolveIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    pub code: ResolutionCategory,
    pub notes: String,
}

#[derive(InputObject)]
pub struct ReopenIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    pub reason: String,
}

#[derive(InputObject)]
pub struct CancelIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    pub reason: String,
}

#[derive(InputObject)]
pub struct CommentOnIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    pub text: String,
    /// Requesters may only comment publicly.
    #[graphql(default_with = "CommentVisibility::Public")]
    pub visibility: CommentVisibility,
}

#[derive(InputObject)]
pub struct AttachFileToIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    /// The file name shown to people.
    pub name: String,
    /// Identifies the bytes, e.g. `blake3:<hex>`.
    pub content_hash: String,
    /// Where the bytes are stored (the incident never holds them).
    pub uri: String,
    /// Bytes, as a decimal string (may exceed a 32-bit `Int`).
    pub size_bytes: String,
}

/// What an incident is linked to: exactly one of the two.
#[derive(OneofObject)]
pub enum IncidentLinkTarget {
    /// `PRB-<n>`: the problem investigating its cause.
    Problem(ID),
    /// `CHG-<n>`: a change that caused or fixes it.
    Change(ID),
}

#[derive(InputObject)]
pub struct LinkIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    pub target: IncidentLinkTarget,
}

#[derive(InputObject)]
pub struct DeclareMajorIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    pub reason: String,
}

#[derive(InputObject)]
pub struct LinkToMajorIncidentInput {
    /// `INC-<n>`: the child.
    pub key: ID,
    /// `INC-<n>`: the major incident it belongs to.
    pub parent: ID,
}

#[derive(InputObject)]
pub struct RateIncidentInput {
    /// `INC-<n>`.
    pub key: ID,
    /// 1 (poor) to 5 (excellent).
    pub score: i32,
    #[graphql(default)]
    pub comment: String,
}

/// For an `own` row of the role table: someone else's incident does not exist for the caller
/// (`NOT_FOUND`, like an unknown key), so its existence does not leak.
async fn check_own(
    state: &AppState,
    principal: &Principal,
    access: Access,
    key: IncidentKey,
) -> Result<(), ApiError> {
    if access == Access::Own {
        let incident = state.desk.load_incident(key).await?;
        if incident.requester != principal.user {
            return Err(ApiError::NotFound(format!("incident {key}")));
        }
    }
    Ok(())
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

/// The payload of a command that created incident `key`: its view folded from the events the
/// command just wrote, which are the whole stream (read back only when they are not, e.g. a
/// repeated command id that wrote nothing). This saves reading back and decoding the events
/// the bus encoded a moment ago.
pub async fn written_payload(
    state: &AppState,
    key: IncidentKey,
    written: Written<IncidentEvent>,
) -> Result<IncidentPayload, ApiError> {
    let result = written.result.clone();
    match view_of_written(written) {
        Some(view) => Ok(IncidentPayload {
            incident: IncidentNode::from_view(key, &view),
            position: Position(result.position),
        }),
        None => incident_payload(state, key, &result).await,
    }
}

/// The view of a new incident from the events that created it, folded like
/// [`IncidentView::as_of`] folds the stream's envelopes (the tests compare the two); `None`
/// when the events are not the whole stream.
pub fn view_of_written(written: Written<IncidentEvent>) -> Option<IncidentView> {
    if !written.is_whole_stream() {
        return None;
    }
    let (first_position, first_version) = written.position_of(0);
    let Written {
        events: written_events,
        metadata,
        ..
    } = written;
    let timeline = (0_u64..)
        .zip(&written_events)
        .map(|(offset, event)| TimelineEntry {
            position: first_position + offset,
            version: first_version + offset,
            recorded_at: metadata.recorded_at,
            actor: metadata.actor.clone(),
            command_id: metadata.command_id,
            correlation_id: metadata.correlation_id,
            causation_id: metadata.causation_id,
            event_type: event.event_type().to_owned(),
            summary: incident_summary(event),
        })
        .collect();
    IncidentView::from_events(&written_events, timeline)
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
        let (key, written) = state
            .desk
            .log_incident_written(new, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(written_payload(state, key, written).await?)
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

    /// Gives the incident to a group and/or an agent.
    async fn assign_incident(
        &self,
        ctx: &Context<'_>,
        input: AssignIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "assignIncident")?;
        let key = key(&input.key)?;
        let group = input.group.as_deref().map(|g| id("group", g)).transpose()?;
        let agent = input.agent.as_deref().map(|a| id("agent", a)).transpose()?;
        let state = state(ctx);
        let result = state
            .desk
            .assign(key, group, agent, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// The assigned agent starts working on it.
    async fn start_work_on_incident(
        &self,
        ctx: &Context<'_>,
        input: IncidentKeyInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "startWorkOnIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .start_work(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Waits for the customer, a vendor or a change; the policy says which reasons pause the
    /// clocks.
    async fn put_incident_on_hold(
        &self,
        ctx: &Context<'_>,
        input: PutIncidentOnHoldInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "putIncidentOnHold")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .put_on_hold(key, input.reason.into(), &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Back to work after a hold; paused clocks run again.
    async fn resume_incident(
        &self,
        ctx: &Context<'_>,
        input: IncidentKeyInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "resumeIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .resume(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Functional escalation (to the next-tier group) or hierarchical (notify a manager).
    async fn escalate_incident(
        &self,
        ctx: &Context<'_>,
        input: EscalateIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "escalateIncident")?;
        let key = key(&input.key)?;
        let to = match &input.to {
            EscalationTarget::Group(group) => EscalateTo::Group(id("to.group", group)?),
            EscalationTarget::Manager(manager) => EscalateTo::Manager(id("to.manager", manager)?),
        };
        let state = state(ctx);
        let result = state
            .desk
            .escalate(key, to, input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// New impact and urgency: the priority follows, and every running clock is re-targeted
    /// under the policy of the new priority.
    async fn reprioritize_incident(
        &self,
        ctx: &Context<'_>,
        input: ReprioritizeIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "reprioritizeIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .reprioritize(
                key,
                input.impact.into(),
                input.urgency.into(),
                input.reason,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Service restored: every active clock reaches its goal.
    async fn resolve_incident(
        &self,
        ctx: &Context<'_>,
        input: ResolveIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "resolveIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .resolve(key, input.code.into(), input.notes, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Closes a resolved incident; a requester confirms the resolution of their own this way.
    async fn close_incident(
        &self,
        ctx: &Context<'_>,
        input: IncidentKeyInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, access) = require(ctx, "closeIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        check_own(state, principal, access, key).await?;
        let result = state
            .desk
            .close(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Reopens a resolved or closed incident: a new run of the resolution clock starts.
    async fn reopen_incident(
        &self,
        ctx: &Context<'_>,
        input: ReopenIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "reopenIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .reopen(key, input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Cancels an open incident (logged by mistake, a duplicate); final.
    async fn cancel_incident(
        &self,
        ctx: &Context<'_>,
        input: CancelIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "cancelIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .cancel(key, input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Adds a public or internal comment; a requester comments publicly on their own
    /// incidents only.
    async fn comment_on_incident(
        &self,
        ctx: &Context<'_>,
        input: CommentOnIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, access) = require(ctx, "commentOnIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        check_own(state, principal, access, key).await?;
        let result = state
            .desk
            .comment(key, input.text, input.visibility.into(), &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Records a reference to a stored file.
    async fn attach_file_to_incident(
        &self,
        ctx: &Context<'_>,
        input: AttachFileToIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "attachFileToIncident")?;
        let key = key(&input.key)?;
        let size_bytes = input.size_bytes.parse::<u64>().map_err(|_| {
            ApiError::Validation(format!(
                "sizeBytes: {:?} is not a decimal byte count",
                input.size_bytes
            ))
        })?;
        let attachment = Attachment {
            name: input.name,
            content_hash: input.content_hash,
            uri: input.uri,
            size_bytes,
        };
        let state = state(ctx);
        let result = state
            .desk
            .attach_file(key, attachment, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Links the incident to a problem or a change, which must exist. (To link it on the
    /// problem's side as well, use `linkProblemIncident`.)
    async fn link_incident(
        &self,
        ctx: &Context<'_>,
        input: LinkIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "linkIncident")?;
        let key = key(&input.key)?;
        let target = match &input.target {
            IncidentLinkTarget::Problem(problem) => {
                LinkTarget::Problem(crate::types::key(problem)?)
            }
            IncidentLinkTarget::Change(change) => LinkTarget::Change(crate::types::key(change)?),
        };
        let state = state(ctx);
        let result = state
            .desk
            .link(key, target, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Makes the incident a major incident, which others can join as children.
    async fn declare_major_incident(
        &self,
        ctx: &Context<'_>,
        input: DeclareMajorIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "declareMajorIncident")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .declare_major(key, input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// Makes the incident a child of an existing major incident.
    async fn link_to_major_incident(
        &self,
        ctx: &Context<'_>,
        input: LinkToMajorIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, _) = require(ctx, "linkToMajorIncident")?;
        let key = key(&input.key)?;
        let parent = crate::types::key(&input.parent)?;
        let state = state(ctx);
        let result = state
            .desk
            .link_to_major(key, parent, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }

    /// The requester rates the resolution of their own incident (1..5), once.
    async fn rate_incident(
        &self,
        ctx: &Context<'_>,
        input: RateIncidentInput,
    ) -> ApiResult<IncidentPayload> {
        let (principal, access) = require(ctx, "rateIncident")?;
        let key = key(&input.key)?;
        let score = u8::try_from(input.score)
            .map_err(|_| ApiError::Validation(format!("score: {} is not 1..5", input.score)))?;
        let state = state(ctx);
        check_own(state, principal, access, key).await?;
        let result = state
            .desk
            .rate(key, score, input.comment, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(incident_payload(state, key, &result).await?)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    use chrono::{TimeDelta, TimeZone, Utc};
    use itsm_app::desk::{NewIncident, NewSlaPolicy};
    use itsm_app::{CommandBus, CommandOptions, Desk, ManualClock, UuidV7Ids, stream};
    use itsm_catalog::Criticality;
    use itsm_eventstore::{EventStore, MemoryStore};
    use itsm_incident::{Channel, Incident, IncidentCommand, Visibility};
    use itsm_kernel::{Actor, CustomerTier, Impact, Priority, Role, Urgency};
    use itsm_projections::views::IncidentView;
    use itsm_sla::{Calendar, HoldReason, SlaTargets};

    use super::view_of_written;

    fn actor(role: Role) -> Actor {
        Actor::user(format!("{role}.user").parse().expect("id"), role)
    }

    /// A desk on a memory store with the `email` service under a 24x7 policy per priority.
    async fn desk() -> (Desk<MemoryStore>, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new());
        let start = Utc
            .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
            .single()
            .expect("valid date");
        let bus = CommandBus::new(
            Arc::clone(&store),
            Arc::new(ManualClock::new(start)),
            Arc::new(UuidV7Ids),
        );
        let desk = Desk::with_stream_lookup(bus);
        let manager = actor(Role::ServiceManager);
        desk.define_calendar(
            "24x7".parse().expect("name"),
            Calendar::always_open(),
            &manager,
        )
        .await
        .expect("calendar");
        desk.define_service(
            "email".parse().expect("id"),
            "Corporate e-mail".to_owned(),
            "service-desk".parse().expect("id"),
            Criticality::High,
            &manager,
        )
        .await
        .expect("service");
        for priority in Priority::ALL {
            let targets = SlaTargets::new(
                TimeDelta::hours(1),
                TimeDelta::hours(8),
                80,
                BTreeSet::from([HoldReason::AwaitingCustomer]),
            )
            .expect("targets");
            let policy = NewSlaPolicy {
                policy: format!("email-{}", priority.level()).parse().expect("name"),
                service: "email".parse().expect("id"),
                priority,
                tier: CustomerTier::Standard,
                targets,
                calendar: "24x7".parse().expect("name"),
                ola: BTreeMap::new(),
            };
            desk.define_sla_policy(policy, &manager)
                .await
                .expect("policy");
        }
        (desk, store)
    }

    fn new_incident() -> NewIncident {
        NewIncident {
            title: "Outlook cannot connect".to_owned(),
            description: "Since 9:00.".to_owned(),
            channel: Channel::Phone,
            requester: "alice".parse().expect("id"),
            tier: CustomerTier::Standard,
            service: "email".parse().expect("id"),
            category: "email/connectivity".parse().expect("name"),
            impact: Impact::High,
            urgency: Urgency::Medium,
        }
    }

    #[tokio::test]
    async fn the_view_of_a_new_incident_from_its_written_events_is_the_fold_of_its_stream() {
        let (desk, store) = desk().await;
        for _ in 0..3 {
            let (key, written) = desk
                .log_incident_written(new_incident(), &actor(Role::Agent))
                .await
                .expect("logged");
            assert_eq!(written.events.len(), 3, "logged + two clocks started");
            let from_written = view_of_written(written).expect("a new stream is whole");
            let envelopes = store
                .read_stream(&stream::incident(key), 1)
                .await
                .expect("read");
            let from_stream = IncidentView::from_envelopes(&envelopes)
                .expect("decodes")
                .expect("logged");
            assert_eq!(from_written, from_stream);
        }
    }

    #[tokio::test]
    async fn events_written_to_an_existing_stream_are_not_taken_for_the_whole_stream() {
        let (desk, _store) = desk().await;
        let (key, _) = desk
            .log_incident(new_incident(), &actor(Role::Agent))
            .await
            .expect("logged");
        let comment = IncidentCommand::Comment {
            text: "Looking into it.".to_owned(),
            visibility: Visibility::Internal,
        };
        let written = desk
            .bus()
            .execute_written::<Incident>(
                &stream::incident(key),
                &comment,
                &actor(Role::Agent),
                CommandOptions::default(),
            )
            .await
            .expect("commented");
        assert_eq!(written.events.len(), 1);
        assert!(!written.is_whole_stream());
        assert_eq!(view_of_written(written), None);
    }
}
