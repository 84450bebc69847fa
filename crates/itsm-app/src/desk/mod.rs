//! The desk: the application API that the GraphQL gateway and the CLI call.
//!
//! One async method per domain command, taking plain inputs and the actor. Each method does the
//! cross-aggregate lookups the decider needs (SLA policy and OLA targets from the catalog,
//! freeze windows, other scheduled changes) and puts the answers into the command, then runs it
//! through the [`CommandBus`]. Errors come back as one [`DeskError`].

mod error;
mod lookup;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use itsm_catalog::{
    Catalog, CatalogCommand, CatalogError, CatalogState, Criticality, FreezeScope, ServiceStatus,
};
use itsm_change::{
    Change, ChangeCommand, ChangeType, FreezeWindow, Likelihood, ReviewOutcome, Vote,
};
use itsm_eventstore::EventStore;
use itsm_incident::{
    Attachment, Channel, Escalation, Incident, IncidentCommand, IncidentEvent, LinkTarget,
    LogIncident, LoggedIncident, ProblemUpdate, ResolutionCode, Status, Visibility,
};
use itsm_kernel::{
    Actor, ChangeKey, CustomerTier, Decider, GroupId, Impact, IncidentKey, Name, Priority,
    ProblemKey, ServiceId, Urgency, UserId,
};
use itsm_problem::{Problem, ProblemCommand, ProblemRecord};
use itsm_sla::{AppliedSla, Calendar, ClockKind, HoldReason, SlaTargets};

use crate::{CommandBus, CommandOptions, CommandResult, Written, decode_events, stream};

pub use error::{DeskError, DomainError};
pub use lookup::{ChangeLookup, StreamChangeLookup};

/// A new incident, as a requester or an agent reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub description: String,
    pub channel: Channel,
    pub requester: UserId,
    pub tier: CustomerTier,
    pub service: ServiceId,
    pub category: Name,
    pub impact: Impact,
    pub urgency: Urgency,
}

/// A new problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProblem {
    pub title: String,
    pub description: String,
    pub service: ServiceId,
    pub impact: Impact,
    pub urgency: Urgency,
}

/// A new change request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    pub change_type: ChangeType,
    pub title: String,
    pub description: String,
    pub service: ServiceId,
    pub impact: Impact,
    pub likelihood: Likelihood,
    pub implementation_plan: String,
    pub backout_plan: String,
    pub requested_by: UserId,
}

/// A change manager's assessment of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub impact: Impact,
    pub likelihood: Likelihood,
    pub notes: String,
    pub cab: Vec<UserId>,
    pub required_approvals: u8,
}

/// A new SLA policy row (service x priority x tier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSlaPolicy {
    pub policy: Name,
    pub service: ServiceId,
    pub priority: Priority,
    pub tier: CustomerTier,
    pub targets: SlaTargets,
    pub calendar: Name,
    pub ola: BTreeMap<GroupId, TimeDelta>,
}

/// Where an incident is escalated to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalateTo {
    /// Functional: the ticket moves to the next-tier group (its OLA clock starts).
    Group(GroupId),
    /// Hierarchical: the manager is notified; the ticket stays.
    Manager(UserId),
}

/// The catalog as last read, and the stream version it was folded to.
type CatalogView = tokio::sync::Mutex<(u64, Arc<CatalogState>)>;

/// The application API. Cheap to clone.
pub struct Desk<S> {
    bus: CommandBus<S>,
    changes: Arc<dyn ChangeLookup>,
    catalog: Arc<CatalogView>,
}

impl<S> Clone for Desk<S> {
    fn clone(&self) -> Self {
        Self {
            bus: self.bus.clone(),
            changes: Arc::clone(&self.changes),
            catalog: Arc::clone(&self.catalog),
        }
    }
}

impl<S> std::fmt::Debug for Desk<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk").finish_non_exhaustive()
    }
}

impl<S: EventStore> Desk<S> {
    pub fn new(bus: CommandBus<S>, changes: Arc<dyn ChangeLookup>) -> Self {
        Self {
            bus,
            changes,
            catalog: Arc::new(tokio::sync::Mutex::new((0, Arc::default()))),
        }
    }

    /// A desk whose change lookup folds the change streams ([`StreamChangeLookup`]).
    pub fn with_stream_lookup(bus: CommandBus<S>) -> Self {
        let lookup = Arc::new(StreamChangeLookup::new(bus.clone()));
        Self::new(bus, lookup)
    }

    pub fn bus(&self) -> &CommandBus<S> {
        &self.bus
    }

    /// The current catalog: the kept state plus the catalog stream's tail (usually empty, so
    /// this is one short read and no copy).
    pub async fn catalog(&self) -> Result<Arc<CatalogState>, DeskError> {
        let mut view = self.catalog.lock().await;
        let tail = self
            .bus
            .store()
            .read_stream(&stream::catalog(), view.0 + 1)
            .await?;
        if let Some(last) = tail.last() {
            let events = decode_events::<Catalog, CatalogError>(&tail)?;
            let state = Arc::make_mut(&mut view.1);
            let folded = events.iter().fold(std::mem::take(state), |state, event| {
                Catalog::evolve(state, event)
            });
            *state = folded;
            view.0 = last.version;
        }
        Ok(Arc::clone(&view.1))
    }

    // ----- incidents -----

    async fn incident(
        &self,
        key: IncidentKey,
        command: IncidentCommand,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        Ok(self
            .bus
            .execute::<Incident>(&stream::incident(key), &command, actor)
            .await?)
    }

    /// The incident's current state, or `NotFound`.
    pub async fn load_incident(&self, key: IncidentKey) -> Result<LoggedIncident, DeskError> {
        self.bus
            .load::<Incident>(&stream::incident(key))
            .await?
            .state
            .ok_or_else(|| DeskError::NotFound(format!("incident {key}")))
    }

    /// The SLA for service x priority x tier (with `group`'s OLA target), or a typed error when
    /// the service is unknown or retired or has no policy for it.
    async fn sla_for(
        &self,
        service: &ServiceId,
        priority: Priority,
        tier: CustomerTier,
        group: Option<&GroupId>,
    ) -> Result<AppliedSla, DeskError> {
        let catalog = self.catalog().await?;
        active_service(&catalog, service)?;
        let applied = match group {
            Some(group) => catalog.applied_sla_for_group(service, priority, tier, group),
            None => catalog.applied_sla(service, priority, tier),
        };
        applied.ok_or_else(|| {
            DeskError::Validation(format!(
                "service {service} has no SLA policy for {priority} ({tier:?} tier)"
            ))
        })
    }

    /// The OLA target of `group` under the incident's current policy (`None`: it has none).
    async fn ola_for(
        &self,
        incident: &LoggedIncident,
        group: &GroupId,
    ) -> Result<Option<TimeDelta>, DeskError> {
        let catalog = self.catalog().await?;
        Ok(catalog
            .applied_sla_for_group(&incident.service, incident.priority, incident.tier, group)
            .and_then(|applied| applied.ola))
    }

    /// Logs a new incident under the SLA the catalog defines for its service x priority x tier.
    pub async fn log_incident(
        &self,
        new: NewIncident,
        actor: &Actor,
    ) -> Result<(IncidentKey, CommandResult), DeskError> {
        let (key, written) = self.log_incident_written(new, actor).await?;
        Ok((key, written.result))
    }

    /// [`Desk::log_incident`], answering with the events written: the whole new stream.
    pub async fn log_incident_written(
        &self,
        new: NewIncident,
        actor: &Actor,
    ) -> Result<(IncidentKey, Written<IncidentEvent>), DeskError> {
        let priority = Priority::from_matrix(new.impact, new.urgency);
        let sla = self.sla_for(&new.service, priority, new.tier, None).await?;
        let (number, written) = self
            .bus
            .create_written::<Incident>(
                |n| stream::incident(IncidentKey::new(n)),
                |n| {
                    IncidentCommand::Log(Box::new(LogIncident {
                        key: IncidentKey::new(n),
                        title: new.title.clone(),
                        description: new.description.clone(),
                        channel: new.channel,
                        requester: new.requester.clone(),
                        tier: new.tier,
                        service: new.service.clone(),
                        category: new.category.clone(),
                        impact: new.impact,
                        urgency: new.urgency,
                        sla: sla.clone(),
                    }))
                },
                actor,
                CommandOptions::default(),
            )
            .await?;
        Ok((IncidentKey::new(number), written))
    }

    pub async fn acknowledge(
        &self,
        key: IncidentKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::Acknowledge, actor)
            .await
    }

    /// Assigns a group and/or agent; a receiving group gets its OLA target from the catalog.
    pub async fn assign(
        &self,
        key: IncidentKey,
        group: Option<GroupId>,
        agent: Option<UserId>,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let incident = self.load_incident(key).await?;
        let ola = match &group {
            Some(group) if incident.group.as_ref() != Some(group) => {
                self.ola_for(&incident, group).await?
            }
            Some(_) | None => None,
        };
        self.incident(key, IncidentCommand::Assign { group, agent, ola }, actor)
            .await
    }

    pub async fn start_work(
        &self,
        key: IncidentKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::StartWork, actor).await
    }

    pub async fn put_on_hold(
        &self,
        key: IncidentKey,
        reason: HoldReason,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::PutOnHold { reason }, actor)
            .await
    }

    pub async fn resume(
        &self,
        key: IncidentKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::Resume, actor).await
    }

    /// Escalates functionally (the receiving group's OLA target comes from the catalog) or
    /// hierarchically.
    pub async fn escalate(
        &self,
        key: IncidentKey,
        to: EscalateTo,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let to = match to {
            EscalateTo::Group(to_group) => {
                let incident = self.load_incident(key).await?;
                let ola = self.ola_for(&incident, &to_group).await?;
                Escalation::Functional { to_group, ola }
            }
            EscalateTo::Manager(manager) => Escalation::Hierarchical { manager },
        };
        self.incident(key, IncidentCommand::Escalate { to, reason }, actor)
            .await
    }

    /// New impact and urgency; the SLA of the resulting priority (with the current group's OLA
    /// target) comes from the catalog.
    pub async fn reprioritize(
        &self,
        key: IncidentKey,
        impact: Impact,
        urgency: Urgency,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let incident = self.load_incident(key).await?;
        let priority = Priority::from_matrix(impact, urgency);
        let sla = self
            .sla_for(
                &incident.service,
                priority,
                incident.tier,
                incident.group.as_ref(),
            )
            .await?;
        let command = IncidentCommand::Reprioritize {
            impact,
            urgency,
            reason,
            sla,
        };
        self.incident(key, command, actor).await
    }

    /// Applies the policy now in force for the incident (after a policy or calendar revision).
    pub async fn change_sla(
        &self,
        key: IncidentKey,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let incident = self.load_incident(key).await?;
        let sla = self
            .sla_for(
                &incident.service,
                incident.priority,
                incident.tier,
                incident.group.as_ref(),
            )
            .await?;
        self.incident(key, IncidentCommand::ChangeSla { sla, reason }, actor)
            .await
    }

    pub async fn resolve(
        &self,
        key: IncidentKey,
        code: ResolutionCode,
        notes: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::Resolve { code, notes }, actor)
            .await
    }

    pub async fn close(&self, key: IncidentKey, actor: &Actor) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::Close, actor).await
    }

    pub async fn reopen(
        &self,
        key: IncidentKey,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::Reopen { reason }, actor)
            .await
    }

    pub async fn cancel(
        &self,
        key: IncidentKey,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::Cancel { reason }, actor)
            .await
    }

    pub async fn comment(
        &self,
        key: IncidentKey,
        text: String,
        visibility: Visibility,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::Comment { text, visibility }, actor)
            .await
    }

    pub async fn attach_file(
        &self,
        key: IncidentKey,
        attachment: Attachment,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::AttachFile { attachment }, actor)
            .await
    }

    /// Links a problem or change to the incident; the target must exist.
    pub async fn link(
        &self,
        key: IncidentKey,
        target: LinkTarget,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        match target {
            LinkTarget::Problem(problem) => {
                self.load_problem(problem).await?;
            }
            LinkTarget::Change(change) => {
                self.load_change(change).await?;
            }
        }
        self.incident(key, IncidentCommand::Link { target }, actor)
            .await
    }

    pub async fn declare_major(
        &self,
        key: IncidentKey,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::DeclareMajor { reason }, actor)
            .await
    }

    /// Makes the incident a child of major incident `parent`, which must exist.
    pub async fn link_to_major(
        &self,
        key: IncidentKey,
        parent: IncidentKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.load_incident(parent).await?;
        self.incident(key, IncidentCommand::LinkToMajor { parent }, actor)
            .await
    }

    pub async fn rate(
        &self,
        key: IncidentKey,
        score: u8,
        comment: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::Rate { score, comment }, actor)
            .await
    }

    /// What the SLA timer sends; exposed for tools and tests.
    pub async fn record_sla_warning(
        &self,
        key: IncidentKey,
        clock: ClockKind,
        due: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::RecordSlaWarning { clock, due }, actor)
            .await
    }

    /// What the SLA timer sends; exposed for tools and tests.
    pub async fn record_sla_breach(
        &self,
        key: IncidentKey,
        clock: ClockKind,
        due: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(key, IncidentCommand::RecordSlaBreach { clock, due }, actor)
            .await
    }

    /// What the problem follow-up sends; exposed for tools and tests.
    pub async fn note_problem_update(
        &self,
        key: IncidentKey,
        problem: ProblemKey,
        update: ProblemUpdate,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.incident(
            key,
            IncidentCommand::NoteProblemUpdate { problem, update },
            actor,
        )
        .await
    }

    // ----- problems -----

    async fn problem(
        &self,
        key: ProblemKey,
        command: ProblemCommand,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        Ok(self
            .bus
            .execute::<Problem>(&stream::problem(key), &command, actor)
            .await?)
    }

    /// The problem's current record, or `NotFound`.
    pub async fn load_problem(&self, key: ProblemKey) -> Result<ProblemRecord, DeskError> {
        self.bus
            .load::<Problem>(&stream::problem(key))
            .await?
            .state
            .record()
            .cloned()
            .ok_or_else(|| DeskError::NotFound(format!("problem {key}")))
    }

    /// Records a problem of an active catalog service.
    pub async fn record_problem(
        &self,
        new: NewProblem,
        actor: &Actor,
    ) -> Result<(ProblemKey, CommandResult), DeskError> {
        active_service(&*self.catalog().await?, &new.service)?;
        let (number, result) = self
            .bus
            .create::<Problem>(
                |n| stream::problem(ProblemKey::new(n)),
                |n| ProblemCommand::Record {
                    key: ProblemKey::new(n),
                    title: new.title.clone(),
                    description: new.description.clone(),
                    service: new.service.clone(),
                    impact: new.impact,
                    urgency: new.urgency,
                },
                actor,
            )
            .await?;
        Ok((ProblemKey::new(number), result))
    }

    pub async fn start_investigation(
        &self,
        key: ProblemKey,
        group: GroupId,
        assignee: Option<UserId>,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(
            key,
            ProblemCommand::StartInvestigation { group, assignee },
            actor,
        )
        .await
    }

    pub async fn reassign_problem(
        &self,
        key: ProblemKey,
        group: GroupId,
        assignee: Option<UserId>,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(key, ProblemCommand::Reassign { group, assignee }, actor)
            .await
    }

    pub async fn record_root_cause(
        &self,
        key: ProblemKey,
        root_cause: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(key, ProblemCommand::RecordRootCause { root_cause }, actor)
            .await
    }

    pub async fn document_workaround(
        &self,
        key: ProblemKey,
        workaround: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(
            key,
            ProblemCommand::DocumentWorkaround { workaround },
            actor,
        )
        .await
    }

    /// Links an existing incident to the problem, on both sides: the problem lists the incident
    /// and the incident lists the problem (so it accepts the problem's follow-up updates). A
    /// closed or cancelled incident is linked on the problem's side only.
    /// Returns the problem's result (the incident's when only the incident side was missing).
    pub async fn link_problem_incident(
        &self,
        key: ProblemKey,
        incident: IncidentKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let linked = self.load_incident(incident).await?;
        let problem = self.load_problem(key).await?;
        // A closed or cancelled incident accepts no link (and no follow-up): problem side only.
        let accepts = !matches!(linked.status, Status::Closed | Status::Cancelled);
        let incident_side = accepts && !linked.problems.contains(&key);
        let problem_side = !problem.linked_incidents.contains(&incident);
        let mut result = None;
        // Linked on both sides already: the problem's own rejection says so.
        if problem_side || !incident_side {
            let command = ProblemCommand::LinkIncident { incident };
            result = Some(self.problem(key, command, actor).await?);
        }
        if incident_side {
            // Also completes a link that an earlier call made on the problem's side only.
            let target = LinkTarget::Problem(key);
            let linked = self
                .incident(incident, IncidentCommand::Link { target }, actor)
                .await?;
            result = result.or(Some(linked));
        }
        result.ok_or_else(|| DeskError::Internal("a link call decided nothing".to_owned()))
    }

    pub async fn unlink_problem_incident(
        &self,
        key: ProblemKey,
        incident: IncidentKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(key, ProblemCommand::UnlinkIncident { incident }, actor)
            .await
    }

    /// Names the change that fixes the problem; the change must exist.
    pub async fn link_fix_change(
        &self,
        key: ProblemKey,
        change: ChangeKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.load_change(change).await?;
        self.problem(key, ProblemCommand::LinkFixChange { change }, actor)
            .await
    }

    pub async fn resolve_problem(
        &self,
        key: ProblemKey,
        resolution: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(key, ProblemCommand::Resolve { resolution }, actor)
            .await
    }

    pub async fn close_problem(
        &self,
        key: ProblemKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(key, ProblemCommand::Close, actor).await
    }

    pub async fn reopen_problem(
        &self,
        key: ProblemKey,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(key, ProblemCommand::Reopen { reason }, actor)
            .await
    }

    pub async fn cancel_problem(
        &self,
        key: ProblemKey,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.problem(key, ProblemCommand::Cancel { reason }, actor)
            .await
    }

    // ----- changes -----

    async fn change(
        &self,
        key: ChangeKey,
        command: ChangeCommand,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        Ok(self
            .bus
            .execute::<Change>(&stream::change(key), &command, actor)
            .await?)
    }

    /// The change's current record, or `NotFound`.
    pub async fn load_change(
        &self,
        key: ChangeKey,
    ) -> Result<itsm_change::ChangeRecord, DeskError> {
        self.bus
            .load::<Change>(&stream::change(key))
            .await?
            .state
            .record()
            .cloned()
            .ok_or_else(|| DeskError::NotFound(format!("change {key}")))
    }

    /// Raises a change on an active catalog service.
    pub async fn raise_change(
        &self,
        new: NewChange,
        actor: &Actor,
    ) -> Result<(ChangeKey, CommandResult), DeskError> {
        active_service(&*self.catalog().await?, &new.service)?;
        let (number, result) = self
            .bus
            .create::<Change>(
                |n| stream::change(ChangeKey::new(n)),
                |n| ChangeCommand::Raise {
                    key: ChangeKey::new(n),
                    change_type: new.change_type.clone(),
                    title: new.title.clone(),
                    description: new.description.clone(),
                    service: new.service.clone(),
                    impact: new.impact,
                    likelihood: new.likelihood,
                    implementation_plan: new.implementation_plan.clone(),
                    backout_plan: new.backout_plan.clone(),
                    requested_by: new.requested_by.clone(),
                },
                actor,
            )
            .await?;
        Ok((ChangeKey::new(number), result))
    }

    pub async fn submit_change(
        &self,
        key: ChangeKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.change(key, ChangeCommand::Submit, actor).await
    }

    pub async fn assess_change(
        &self,
        key: ChangeKey,
        assessment: Assessment,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let Assessment {
            impact,
            likelihood,
            notes,
            cab,
            required_approvals,
        } = assessment;
        let command = ChangeCommand::Assess {
            impact,
            likelihood,
            notes,
            cab,
            required_approvals,
        };
        self.change(key, command, actor).await
    }

    pub async fn record_approval(
        &self,
        key: ChangeKey,
        approver: UserId,
        vote: Vote,
        comment: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let command = ChangeCommand::RecordApproval {
            approver,
            vote,
            comment,
        };
        self.change(key, command, actor).await
    }

    pub async fn reject_change(
        &self,
        key: ChangeKey,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.change(key, ChangeCommand::Reject { reason }, actor)
            .await
    }

    /// The freeze windows (from the catalog) and the other scheduled changes on the change's
    /// service (from the [`ChangeLookup`]) that a slot `[from, to)` must be checked against.
    async fn slot_facts(
        &self,
        key: ChangeKey,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(Vec<FreezeWindow>, Vec<itsm_change::ScheduledChange>), DeskError> {
        let record = self.load_change(key).await?;
        let catalog = self.catalog().await?;
        let freeze_windows = catalog
            .freeze_windows_overlapping(&record.service, from, to)
            .into_iter()
            .map(|window| FreezeWindow {
                name: window.name.clone(),
                service: window.scope.service().cloned(),
                from: window.from,
                to: window.to,
            })
            .collect();
        let mut other_changes = self.changes.scheduled_on(&record.service).await?;
        other_changes.retain(|other| other.key != key);
        Ok((freeze_windows, other_changes))
    }

    /// Puts an authorized change on the calendar: refused inside a freeze window (unless
    /// emergency); overlapping changes on the same service are recorded as collisions.
    pub async fn schedule_change(
        &self,
        key: ChangeKey,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let (freeze_windows, other_changes) = self.slot_facts(key, from, to).await?;
        let command = ChangeCommand::Schedule {
            from,
            to,
            freeze_windows,
            other_changes,
        };
        self.change(key, command, actor).await
    }

    /// Moves a scheduled change; checked like [`Desk::schedule_change`].
    pub async fn reschedule_change(
        &self,
        key: ChangeKey,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let (freeze_windows, other_changes) = self.slot_facts(key, from, to).await?;
        let command = ChangeCommand::Reschedule {
            from,
            to,
            freeze_windows,
            other_changes,
        };
        self.change(key, command, actor).await
    }

    pub async fn start_implementation(
        &self,
        key: ChangeKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.change(key, ChangeCommand::StartImplementation, actor)
            .await
    }

    pub async fn complete_implementation(
        &self,
        key: ChangeKey,
        notes: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.change(key, ChangeCommand::CompleteImplementation { notes }, actor)
            .await
    }

    pub async fn fail_change(
        &self,
        key: ChangeKey,
        backout_performed: bool,
        notes: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let command = ChangeCommand::Fail {
            backout_performed,
            notes,
        };
        self.change(key, command, actor).await
    }

    pub async fn review_change(
        &self,
        key: ChangeKey,
        outcome: ReviewOutcome,
        notes: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.change(key, ChangeCommand::Review { outcome, notes }, actor)
            .await
    }

    pub async fn close_change(
        &self,
        key: ChangeKey,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.change(key, ChangeCommand::Close, actor).await
    }

    pub async fn cancel_change(
        &self,
        key: ChangeKey,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.change(key, ChangeCommand::Cancel { reason }, actor)
            .await
    }

    // ----- catalog -----

    async fn catalog_command(
        &self,
        command: CatalogCommand,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        Ok(self
            .bus
            .execute::<Catalog>(&stream::catalog(), &command, actor)
            .await?)
    }

    pub async fn define_service(
        &self,
        service: ServiceId,
        name: String,
        owner: GroupId,
        criticality: Criticality,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let command = CatalogCommand::DefineService {
            service,
            name,
            owner,
            criticality,
        };
        self.catalog_command(command, actor).await
    }

    pub async fn revise_service(
        &self,
        service: ServiceId,
        name: String,
        owner: GroupId,
        criticality: Criticality,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let command = CatalogCommand::ReviseService {
            service,
            name,
            owner,
            criticality,
        };
        self.catalog_command(command, actor).await
    }

    pub async fn retire_service(
        &self,
        service: ServiceId,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.catalog_command(CatalogCommand::RetireService { service, reason }, actor)
            .await
    }

    pub async fn define_calendar(
        &self,
        name: Name,
        calendar: Calendar,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.catalog_command(CatalogCommand::DefineCalendar { name, calendar }, actor)
            .await
    }

    pub async fn revise_calendar(
        &self,
        name: Name,
        calendar: Calendar,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.catalog_command(CatalogCommand::ReviseCalendar { name, calendar }, actor)
            .await
    }

    pub async fn define_sla_policy(
        &self,
        new: NewSlaPolicy,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let NewSlaPolicy {
            policy,
            service,
            priority,
            tier,
            targets,
            calendar,
            ola,
        } = new;
        let command = CatalogCommand::DefineSlaPolicy {
            policy,
            service,
            priority,
            tier,
            targets,
            calendar,
            ola,
        };
        self.catalog_command(command, actor).await
    }

    pub async fn revise_sla_policy(
        &self,
        policy: Name,
        targets: SlaTargets,
        calendar: Name,
        ola: BTreeMap<GroupId, TimeDelta>,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let command = CatalogCommand::ReviseSlaPolicy {
            policy,
            targets,
            calendar,
            ola,
        };
        self.catalog_command(command, actor).await
    }

    pub async fn define_freeze_window(
        &self,
        window: Name,
        scope: FreezeScope,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        let command = CatalogCommand::DefineFreezeWindow {
            window,
            scope,
            from,
            to,
            reason,
        };
        self.catalog_command(command, actor).await
    }

    pub async fn cancel_freeze_window(
        &self,
        window: Name,
        reason: String,
        actor: &Actor,
    ) -> Result<CommandResult, DeskError> {
        self.catalog_command(CatalogCommand::CancelFreezeWindow { window, reason }, actor)
            .await
    }
}

/// The service must be in the catalog and active.
fn active_service(catalog: &CatalogState, service: &ServiceId) -> Result<(), DeskError> {
    match catalog.service(service).map(|found| found.status) {
        None => Err(DeskError::NotFound(format!(
            "service {service} is not in the catalog"
        ))),
        Some(ServiceStatus::Retired) => Err(DeskError::Validation(format!(
            "service {service} is retired"
        ))),
        Some(ServiceStatus::Active) => Ok(()),
    }
}
