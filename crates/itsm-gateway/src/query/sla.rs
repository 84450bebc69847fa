//! SLA questions: the dashboard (read model, `asOf` replays it), one clock explained (folded
//! from the incident's stream), and what-if (a proposed policy over a past period's incidents,
//! read from the ledger as `itsm_projections::what_if` requires).

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use itsm_eventstore::{Envelope, EventStore};
use itsm_kernel::{IncidentKey, Name, ServiceId};
use itsm_projections::dashboard::AgentRow;
use itsm_projections::what_if::{
    ClockTotals, ClockWhatIf, IncidentWhatIf, Outcome, ProposedPolicy, WhatIfReport, WhatIfScope,
    evaluate,
};
use itsm_projections::{
    AuditFilter, DashboardFilter, DashboardRow, DashboardStats, GroupBy, GroupKey, Period,
    StreamKind,
};
use itsm_sla::ClockKind;

use crate::auth::require;
use crate::error::{ApiError, ApiResult};
use crate::query::page::Models;
use crate::query::ticket::{ClockName, ClockNode, as_of_arg, incident_view};
use crate::query::{state, wait_for};
use crate::scalar::Position;
use crate::state::AppState;
use crate::types::{PriorityLevel, SlaTargetsInput, Tier, id, instant};

/// The most incidents one what-if may replay (each is a stream read).
pub const MAX_WHAT_IF_INCIDENTS: usize = 10_000;

#[derive(Default)]
pub struct SlaQueries;

/// Local dates `[from, to)` (`YYYY-MM-DD`), in each incident's calendar timezone.
#[derive(InputObject)]
pub struct PeriodInput {
    pub from: String,
    pub to: String,
}

/// How dashboard rows are grouped.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardGrouping {
    /// One row for everything.
    Nothing,
    Service,
    Priority,
    /// The assignment group (incidents without one form their own row).
    Group,
    Day,
    /// ISO weeks, keyed by their Monday.
    Week,
}

impl From<DashboardGrouping> for GroupBy {
    fn from(grouping: DashboardGrouping) -> Self {
        match grouping {
            DashboardGrouping::Nothing => GroupBy::Nothing,
            DashboardGrouping::Service => GroupBy::Service,
            DashboardGrouping::Priority => GroupBy::Priority,
            DashboardGrouping::Group => GroupBy::Group,
            DashboardGrouping::Day => GroupBy::Day,
            DashboardGrouping::Week => GroupBy::Week,
        }
    }
}

/// Restricts the dashboard to some incidents; absent is any.
#[derive(InputObject, Default)]
pub struct DashboardFilterInput {
    pub service: Option<String>,
    pub priority: Option<PriorityLevel>,
    pub group: Option<String>,
    /// Only incidents without an assignment group.
    #[graphql(default)]
    pub no_group: bool,
}

/// Met and breached counts of one clock kind.
#[derive(SimpleObject)]
pub struct ClockOutcomesNode {
    pub met: i64,
    pub breached: i64,
    pub met_percent: Option<f64>,
    pub breached_percent: Option<f64>,
}

/// One dashboard row: the group it stands for and its figures.
#[derive(SimpleObject)]
pub struct DashboardRowNode {
    /// What the row groups by, as text: `all`, a service id, `P2`, a group (empty: none), a
    /// date (`YYYY-MM-DD`; a week's Monday).
    pub key: String,
    pub volume: i64,
    pub resolved: i64,
    pub reopened: i64,
    pub first_response: ClockOutcomesNode,
    pub resolution: ClockOutcomesNode,
    pub ola: ClockOutcomesNode,
    /// Mean time to acknowledge, seconds.
    pub mtta_seconds: Option<f64>,
    pub max_first_response_seconds: Option<i64>,
    /// Mean time to resolve, seconds.
    pub mttr_seconds: Option<f64>,
    pub max_resolution_seconds: Option<i64>,
    pub csat_average: Option<f64>,
    /// Counts of latest ratings 1..5.
    pub csat_distribution: Vec<i64>,
    /// Incidents logged per local hour 0..23.
    pub volume_by_hour: Vec<i64>,
    /// Incidents logged per local weekday, Monday first.
    pub volume_by_weekday: Vec<i64>,
}

/// Open incidents at the end of a local day.
#[derive(SimpleObject)]
pub struct BacklogDay {
    pub date: String,
    pub open: i64,
}

/// One agent's resolutions and reopen rate over the period.
#[derive(SimpleObject)]
pub struct AgentNode {
    pub agent: String,
    pub resolved: i64,
    pub reopened: i64,
    pub reopen_rate: Option<f64>,
}

/// The SLA dashboard of a period.
#[derive(SimpleObject)]
pub struct SlaDashboardNode {
    pub rows: Vec<DashboardRowNode>,
    pub backlog: Vec<BacklogDay>,
    pub agents: Vec<AgentNode>,
    /// The ledger position the figures reflect.
    pub position: Position,
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn outcomes(o: itsm_projections::dashboard::ClockOutcomes) -> ClockOutcomesNode {
    ClockOutcomesNode {
        met: int(o.met),
        breached: int(o.breached),
        met_percent: o.met_percent,
        breached_percent: o.breached_percent,
    }
}

fn key_text(key: &GroupKey) -> String {
    match key {
        GroupKey::All => "all".to_owned(),
        GroupKey::Service(service) => service.to_string(),
        GroupKey::Priority(priority) => priority.to_string(),
        GroupKey::Group(group) => group.as_ref().map(ToString::to_string).unwrap_or_default(),
        GroupKey::Day(date) | GroupKey::Week(date) => date.to_string(),
    }
}

fn row_node(row: &DashboardRow) -> DashboardRowNode {
    let s: &DashboardStats = &row.stats;
    DashboardRowNode {
        key: key_text(&row.key),
        volume: int(s.volume),
        resolved: int(s.resolved),
        reopened: int(s.reopened),
        first_response: outcomes(s.first_response),
        resolution: outcomes(s.resolution),
        ola: outcomes(s.ola),
        mtta_seconds: s.mtta_secs,
        max_first_response_seconds: s.max_first_response_secs,
        mttr_seconds: s.mttr_secs,
        max_resolution_seconds: s.max_resolution_secs,
        csat_average: s.csat_average,
        csat_distribution: s.csat_distribution.iter().map(|n| int(*n)).collect(),
        volume_by_hour: s.volume_by_hour.iter().map(|n| int(*n)).collect(),
        volume_by_weekday: s.volume_by_weekday.iter().map(|n| int(*n)).collect(),
    }
}

fn agent_node(row: &AgentRow) -> AgentNode {
    AgentNode {
        agent: row.agent.to_string(),
        resolved: int(row.resolved),
        reopened: int(row.reopened),
        reopen_rate: row.reopen_rate,
    }
}

fn date(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ApiError::Validation(format!("{field}: {text:?} is not a date (YYYY-MM-DD)")))
}

fn period(input: &PeriodInput) -> Result<Period, ApiError> {
    let period = Period {
        from: date("period.from", &input.from)?,
        to: date("period.to", &input.to)?,
    };
    if period.from >= period.to {
        return Err(ApiError::Validation(
            "period: from must be before to".to_owned(),
        ));
    }
    // A backlog row per day: keep the answer bounded.
    if (period.to - period.from).num_days() > 3_660 {
        return Err(ApiError::LimitExceeded(
            "period: at most ten years at once".to_owned(),
        ));
    }
    Ok(period)
}

fn dashboard_filter(input: DashboardFilterInput) -> Result<DashboardFilter, ApiError> {
    let group = match (input.group, input.no_group) {
        (Some(_), true) => {
            return Err(ApiError::Validation(
                "filter: group and noGroup exclude each other".to_owned(),
            ));
        }
        (Some(group), false) => Some(Some(id("filter.group", &group)?)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    Ok(DashboardFilter {
        service: input
            .service
            .as_deref()
            .map(|s| id("filter.service", s))
            .transpose()?,
        priority: input.priority.map(Into::into),
        group,
    })
}

/// A proposed SLA policy and the incidents to try it on.
#[derive(InputObject)]
pub struct SlaWhatIfInput {
    /// The proposed targets.
    pub targets: SlaTargetsInput,
    /// The name of a defined business calendar to count business time in.
    pub calendar: String,
    /// Incidents logged in `[from, to)` (RFC 3339 instants).
    pub from: String,
    pub to: String,
    /// Only incidents of this service, priority or tier (as logged).
    pub service: Option<String>,
    pub priority: Option<PriorityLevel>,
    pub tier: Option<Tier>,
}

/// How a clock ended, or would have.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaOutcome {
    Met,
    Breached,
    /// Not done and not yet due.
    Pending,
    /// The incident was cancelled first.
    NotCounted,
}

impl From<Outcome> for SlaOutcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Met => SlaOutcome::Met,
            Outcome::Breached => SlaOutcome::Breached,
            Outcome::Pending => SlaOutcome::Pending,
            Outcome::NotCounted => SlaOutcome::NotCounted,
        }
    }
}

/// Actual against proposed totals of one clock kind.
#[derive(SimpleObject)]
pub struct ClockTotalsNode {
    pub actual_met: i64,
    pub actual_breached: i64,
    pub proposed_met: i64,
    pub proposed_breached: i64,
}

/// One clock of one incident: what happened, what would have.
#[derive(SimpleObject)]
pub struct ClockWhatIfNode {
    pub actual: SlaOutcome,
    pub proposed: SlaOutcome,
    pub proposed_due: Option<String>,
}

/// One incident's comparison.
#[derive(SimpleObject)]
pub struct IncidentWhatIfNode {
    pub key: async_graphql::ID,
    pub logged_at: String,
    pub first_response: ClockWhatIfNode,
    pub resolution: ClockWhatIfNode,
}

/// The what-if answer: both clocks added up, per clock, and per incident.
#[derive(SimpleObject)]
pub struct SlaWhatIfReport {
    pub incidents: i64,
    pub actual_met: i64,
    pub actual_breached: i64,
    pub proposed_met: i64,
    pub proposed_breached: i64,
    pub first_response: ClockTotalsNode,
    pub resolution: ClockTotalsNode,
    pub details: Vec<IncidentWhatIfNode>,
}

fn usize_int(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn totals(t: ClockTotals) -> ClockTotalsNode {
    ClockTotalsNode {
        actual_met: usize_int(t.actual_met),
        actual_breached: usize_int(t.actual_breached),
        proposed_met: usize_int(t.proposed_met),
        proposed_breached: usize_int(t.proposed_breached),
    }
}

fn clock_what_if(c: ClockWhatIf) -> ClockWhatIfNode {
    ClockWhatIfNode {
        actual: c.actual.into(),
        proposed: c.proposed.into(),
        proposed_due: c.proposed_due.map(|at| at.to_rfc3339()),
    }
}

fn report_node(report: &WhatIfReport) -> SlaWhatIfReport {
    SlaWhatIfReport {
        incidents: usize_int(report.incidents),
        actual_met: usize_int(report.actual_met),
        actual_breached: usize_int(report.actual_breached),
        proposed_met: usize_int(report.proposed_met),
        proposed_breached: usize_int(report.proposed_breached),
        first_response: totals(report.first_response),
        resolution: totals(report.resolution),
        details: report
            .details
            .iter()
            .map(|d: &IncidentWhatIf| IncidentWhatIfNode {
                key: async_graphql::ID(d.key.to_string()),
                logged_at: d.logged_at.to_rfc3339(),
                first_response: clock_what_if(d.first_response),
                resolution: clock_what_if(d.resolution),
            })
            .collect(),
    }
}

/// The envelopes of every incident logged in `[from, to)` (found with the audit index by the
/// time the logging was recorded), stream by stream.
async fn incidents_logged(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Envelope>, ApiError> {
    let filter = AuditFilter {
        event_type: Some("IncidentLogged".to_owned()),
        from_time: Some(from),
        to_time: Some(to),
        ..AuditFilter::default()
    };
    let mut positions = Vec::new();
    let mut after = 0;
    loop {
        let batch = state
            .runner
            .read(|models| models.audit.audit(&filter, after, 1_024));
        let Some(last) = batch.last() else { break };
        after = *last;
        positions.extend(batch);
        if positions.len() > MAX_WHAT_IF_INCIDENTS {
            return Err(ApiError::LimitExceeded(format!(
                "a what-if replays at most {MAX_WHAT_IF_INCIDENTS} incidents; narrow the period"
            )));
        }
    }
    let mut history = Vec::new();
    for position in positions {
        let Some(logged) = state.store.read_all(position, 1).await?.pop() else {
            continue;
        };
        if let Some(StreamKind::Incident(_)) = StreamKind::of(&logged.stream_id) {
            history.extend(state.store.read_stream(&logged.stream_id, 1).await?);
        }
    }
    Ok(history)
}

#[Object]
impl SlaQueries {
    /// SLA figures for local dates `[period.from, period.to)`: rows grouped by `groupBy`, the
    /// open backlog at the end of each day, and agent productivity. `asOf` (a position) or
    /// `asOfTime` (an instant) replays the dashboard as it was then.
    #[allow(clippy::too_many_arguments, reason = "one GraphQL argument each")]
    async fn sla_dashboard(
        &self,
        ctx: &Context<'_>,
        period: PeriodInput,
        #[graphql(default_with = "DashboardGrouping::Nothing")] group_by: DashboardGrouping,
        filter: Option<DashboardFilterInput>,
        as_of: Option<Position>,
        as_of_time: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<SlaDashboardNode> {
        require(ctx, "slaDashboard")?;
        let state = state(ctx);
        let period = self::period(&period)?;
        let filter = dashboard_filter(filter.unwrap_or_default())?;
        wait_for(state, at_least).await?;
        let models = Models::get(state, as_of_arg(as_of, as_of_time.as_deref())?).await?;
        Ok(models.read(state, |models| {
            let dashboard = &models.dashboard;
            SlaDashboardNode {
                rows: dashboard
                    .report(period, group_by.into(), &filter)
                    .iter()
                    .map(row_node)
                    .collect(),
                backlog: dashboard
                    .backlog(period, &filter)
                    .into_iter()
                    .map(|(date, open)| BacklogDay {
                        date: date.to_string(),
                        open,
                    })
                    .collect(),
                agents: dashboard.agents(period).iter().map(agent_node).collect(),
                position: Position(models.position()),
            }
        }))
    }

    /// One SLA clock of an incident explained: every start, pause, resume and retarget with
    /// the due time it led to. `group` names the group of an OLA clock. `null` when that
    /// clock never started.
    #[allow(clippy::too_many_arguments, reason = "one GraphQL argument each")]
    async fn explain_clock(
        &self,
        ctx: &Context<'_>,
        incident: async_graphql::ID,
        clock: ClockName,
        group: Option<String>,
        as_of: Option<Position>,
        as_of_time: Option<String>,
        at_least: Option<Position>,
    ) -> ApiResult<Option<ClockNode>> {
        let (principal, access) = require(ctx, "explainClock")?;
        let key: IncidentKey = crate::types::key(&incident)?;
        let kind = match (clock, group) {
            (ClockName::FirstResponse, None) => ClockKind::FirstResponse,
            (ClockName::Resolution, None) => ClockKind::Resolution,
            (ClockName::Ola, Some(group)) => ClockKind::Ola {
                group: id("group", &group)?,
            },
            (ClockName::Ola, None) => {
                return Err(ApiError::Validation("an OLA clock needs its group".to_owned()).into());
            }
            (_, Some(_)) => {
                return Err(
                    ApiError::Validation("only an OLA clock has a group".to_owned()).into(),
                );
            }
        };
        let as_of = as_of_arg(as_of, as_of_time.as_deref())?;
        let state = state(ctx);
        wait_for(state, at_least).await?;
        let Some(view) = incident_view(state, key, as_of, principal, access).await? else {
            return Err(ApiError::NotFound(format!("incident {key}")).into());
        };
        Ok(view
            .clocks
            .iter()
            .find(|c| c.kind == kind)
            .map(ClockNode::from_view))
    }

    /// How a proposed SLA policy would have done over the incidents logged in a past period,
    /// next to what actually happened. Writes nothing.
    async fn sla_what_if(
        &self,
        ctx: &Context<'_>,
        input: SlaWhatIfInput,
        at_least: Option<Position>,
    ) -> ApiResult<SlaWhatIfReport> {
        require(ctx, "slaWhatIf")?;
        let state = state(ctx);
        let targets = input.targets.to_targets()?;
        let from = instant("from", &input.from)?;
        let to = instant("to", &input.to)?;
        if from >= to {
            return Err(ApiError::Validation("from must be before to".to_owned()).into());
        }
        let calendar_name: Name = id("calendar", &input.calendar)?;
        let scope = WhatIfScope {
            service: input
                .service
                .as_deref()
                .map(|s| id::<ServiceId>("service", s))
                .transpose()?,
            priority: input.priority.map(Into::into),
            tier: input.tier.map(Into::into),
        };
        wait_for(state, at_least).await?;
        let catalog = state.desk.catalog().await.map_err(ApiError::from)?;
        let calendar = catalog
            .calendar(&calendar_name)
            .ok_or_else(|| ApiError::NotFound(format!("calendar {calendar_name}")))?
            .current
            .calendar
            .clone();
        let history = incidents_logged(state, from, to).await?;
        let policy = ProposedPolicy { targets, calendar };
        let report = evaluate(&policy, from, to, &scope, state.clock.now(), &history)
            .map_err(ApiError::from)?;
        Ok(report_node(&report))
    }
}
