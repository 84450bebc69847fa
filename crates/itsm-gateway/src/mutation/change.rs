//! Change mutations.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use itsm_app::CommandResult;
use itsm_app::desk::{Assessment, NewChange};
use itsm_app::stream;
use itsm_change::Vote;
use itsm_eventstore::EventStore;
use itsm_kernel::{ChangeKey, UserId};
use itsm_projections::views::ChangeView;

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::state;
use crate::query::ticket::ChangeNode;
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::{
    ChangeKind, ImpactLevel, LikelihoodLevel, ReviewVerdict, change_type, id, instant, key,
};

#[derive(Default)]
pub struct ChangeMutations;

/// The change after the mutation, and the ledger position that recorded it.
#[derive(SimpleObject)]
pub struct ChangePayload {
    pub change: ChangeNode,
    pub position: Position,
}

#[derive(InputObject)]
pub struct ChangeKeyInput {
    /// `CHG-<n>`.
    pub key: async_graphql::ID,
}

#[derive(InputObject)]
pub struct RaiseChangeInput {
    pub kind: ChangeKind,
    /// The pre-approved template of a standard change (required for it, refused otherwise).
    pub template: Option<String>,
    pub title: String,
    pub description: String,
    pub service: String,
    pub impact: ImpactLevel,
    pub likelihood: LikelihoodLevel,
    pub implementation_plan: String,
    pub backout_plan: String,
    /// Who asks for the change; defaults to the caller. The requester may not sit on its CAB.
    pub requested_by: Option<String>,
}

#[derive(InputObject)]
pub struct AssessChangeInput {
    /// `CHG-<n>`.
    pub key: ID,
    pub impact: ImpactLevel,
    pub likelihood: LikelihoodLevel,
    pub notes: String,
    /// The (emergency) CAB members who vote.
    pub cab: Vec<String>,
    /// Approvals needed to authorize (1..=CAB size).
    pub required_approvals: i32,
}

#[derive(InputObject)]
pub struct ApproveChangeInput {
    /// `CHG-<n>`.
    pub key: ID,
    /// The CAB member whose approval is recorded; defaults to the caller. A change manager may
    /// record it for a named member.
    pub approver: Option<String>,
    #[graphql(default)]
    pub comment: String,
}

#[derive(InputObject)]
pub struct RejectChangeInput {
    /// `CHG-<n>`.
    pub key: ID,
    pub reason: String,
    /// The CAB member whose reject vote (a veto) is recorded, by themselves or by a change
    /// manager. Without it: the caller's own reject vote if they sit on this change's CAB,
    /// otherwise a change manager's decline.
    pub approver: Option<String>,
}

#[derive(InputObject)]
pub struct ScheduleChangeInput {
    /// `CHG-<n>`.
    pub key: ID,
    /// Slot start, RFC 3339 (inclusive).
    pub from: String,
    /// Slot end, RFC 3339 (exclusive).
    pub to: String,
}

#[derive(InputObject)]
pub struct RescheduleChangeInput {
    /// `CHG-<n>`.
    pub key: ID,
    /// New slot start, RFC 3339 (inclusive).
    pub from: String,
    /// New slot end, RFC 3339 (exclusive).
    pub to: String,
}

#[derive(InputObject)]
pub struct CompleteChangeImplementationInput {
    /// `CHG-<n>`.
    pub key: ID,
    pub notes: String,
}

#[derive(InputObject)]
pub struct FailChangeInput {
    /// `CHG-<n>`.
    pub key: ID,
    /// Whether the backout plan was carried out.
    pub backout_performed: bool,
    pub notes: String,
}

#[derive(InputObject)]
pub struct ReviewChangeInput {
    /// `CHG-<n>`.
    pub key: ID,
    pub outcome: ReviewVerdict,
    pub notes: String,
}

#[derive(InputObject)]
pub struct CancelChangeInput {
    /// `CHG-<n>`.
    pub key: ID,
    pub reason: String,
}

/// The payload of a command on change `key`: its view folded from the stream.
pub async fn change_payload(
    state: &AppState,
    key: ChangeKey,
    result: &CommandResult,
) -> Result<ChangePayload, ApiError> {
    let envelopes = state.store.read_stream(&stream::change(key), 1).await?;
    let view = ChangeView::from_envelopes(&envelopes)?
        .ok_or_else(|| ApiError::Internal(format!("{key} has no events after a command")))?;
    Ok(ChangePayload {
        change: ChangeNode::from_view(&view),
        position: Position(result.position),
    })
}

#[Object]
impl ChangeMutations {
    /// Submits a drafted change for assessment (a standard change is authorized at once).
    async fn submit_change(
        &self,
        ctx: &Context<'_>,
        input: ChangeKeyInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "submitChange")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .submit_change(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Raises a change request (a draft) on an active service.
    async fn raise_change(
        &self,
        ctx: &Context<'_>,
        input: RaiseChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "raiseChange")?;
        let requested_by = match &input.requested_by {
            Some(user) => id("requestedBy", user)?,
            None => principal.user.clone(),
        };
        let new = NewChange {
            change_type: change_type(input.kind, input.template.as_deref())?,
            title: input.title,
            description: input.description,
            service: id("service", &input.service)?,
            impact: input.impact.into(),
            likelihood: input.likelihood.into(),
            implementation_plan: input.implementation_plan,
            backout_plan: input.backout_plan,
            requested_by,
        };
        let state = state(ctx);
        let (key, result) = state
            .desk
            .raise_change(new, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// A change manager assesses the risk and names the CAB and its quorum.
    async fn assess_change(
        &self,
        ctx: &Context<'_>,
        input: AssessChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "assessChange")?;
        let key = key(&input.key)?;
        let cab = input
            .cab
            .iter()
            .map(|member| id("cab", member))
            .collect::<Result<Vec<UserId>, _>>()?;
        let required_approvals = u8::try_from(input.required_approvals).map_err(|_| {
            ApiError::Validation(format!(
                "requiredApprovals: {} is not within 1..=CAB size",
                input.required_approvals
            ))
        })?;
        let assessment = Assessment {
            impact: input.impact.into(),
            likelihood: input.likelihood.into(),
            notes: input.notes,
            cab,
            required_approvals,
        };
        let state = state(ctx);
        let result = state
            .desk
            .assess_change(key, assessment, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Records a CAB member's approval (their own, or recorded by a change manager); the
    /// change is authorized when the quorum is reached.
    async fn approve_change(
        &self,
        ctx: &Context<'_>,
        input: ApproveChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "approveChange")?;
        let key = key(&input.key)?;
        let approver = match &input.approver {
            Some(approver) => id("approver", approver)?,
            None => principal.user.clone(),
        };
        let state = state(ctx);
        let result = state
            .desk
            .record_approval(
                key,
                approver,
                Vote::Approve,
                input.comment,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Rejects the change: a CAB member's reject vote (one veto rejects), or a change
    /// manager's decline when the caller names no member and does not sit on the CAB.
    async fn reject_change(
        &self,
        ctx: &Context<'_>,
        input: RejectChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "rejectChange")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let approver = if let Some(approver) = &input.approver {
            Some(id::<UserId>("approver", approver)?)
        } else {
            // No member named: the caller's own vote if they sit on this CAB.
            let record = state.desk.load_change(key).await.map_err(ApiError::from)?;
            record
                .cab
                .contains(&principal.user)
                .then(|| principal.user.clone())
        };
        let actor = principal.actor();
        let result = match approver {
            Some(approver) => {
                state
                    .desk
                    .record_approval(key, approver, Vote::Reject, input.reason, &actor)
                    .await
            }
            None => state.desk.reject_change(key, input.reason, &actor).await,
        }
        .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Puts an authorized change on the calendar. Refused inside a freeze window unless it is
    /// an emergency change; overlapping changes on the service are recorded as collisions.
    async fn schedule_change(
        &self,
        ctx: &Context<'_>,
        input: ScheduleChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "scheduleChange")?;
        let key = key(&input.key)?;
        let from = instant("from", &input.from)?;
        let to = instant("to", &input.to)?;
        let state = state(ctx);
        let result = state
            .desk
            .schedule_change(key, from, to, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Moves a scheduled change to a new slot, checked like `scheduleChange`.
    async fn reschedule_change(
        &self,
        ctx: &Context<'_>,
        input: RescheduleChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "rescheduleChange")?;
        let key = key(&input.key)?;
        let from = instant("from", &input.from)?;
        let to = instant("to", &input.to)?;
        let state = state(ctx);
        let result = state
            .desk
            .reschedule_change(key, from, to, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Implementation begins (not before the slot starts).
    async fn start_change_implementation(
        &self,
        ctx: &Context<'_>,
        input: ChangeKeyInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "startChangeImplementation")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .start_implementation(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Implementation finished as planned.
    async fn complete_change_implementation(
        &self,
        ctx: &Context<'_>,
        input: CompleteChangeImplementationInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "completeChangeImplementation")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .complete_implementation(key, input.notes, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Implementation failed; records whether the backout plan was carried out.
    async fn fail_change(
        &self,
        ctx: &Context<'_>,
        input: FailChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "failChange")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .fail_change(
                key,
                input.backout_performed,
                input.notes,
                &principal.actor(),
            )
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// The post-implementation review of an implemented or failed change.
    async fn review_change(
        &self,
        ctx: &Context<'_>,
        input: ReviewChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "reviewChange")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .review_change(key, input.outcome.into(), input.notes, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Closes a reviewed change.
    async fn close_change(
        &self,
        ctx: &Context<'_>,
        input: ChangeKeyInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "closeChange")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .close_change(key, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }

    /// Cancels a change before implementation (its requester or a change manager).
    async fn cancel_change(
        &self,
        ctx: &Context<'_>,
        input: CancelChangeInput,
    ) -> ApiResult<ChangePayload> {
        let (principal, _) = require(ctx, "cancelChange")?;
        let key = key(&input.key)?;
        let state = state(ctx);
        let result = state
            .desk
            .cancel_change(key, input.reason, &principal.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(change_payload(state, key, &result).await?)
    }
}
