//! The known-error database: problems with a documented workaround, searchable by words.

use std::collections::{BTreeMap, BTreeSet};

use itsm_eventstore::Envelope;
use itsm_kernel::{IncidentKey, ProblemKey, ServiceId};
use itsm_problem::{ProblemEvent, ProblemStatus};
use serde::{Deserialize, Serialize};

use crate::{LedgerEvent, Projection};

/// One problem as the known-error database sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownError {
    pub key: ProblemKey,
    pub title: String,
    pub service: ServiceId,
    pub root_cause: Option<String>,
    /// `None` until a workaround is documented; only problems with one are listed.
    pub workaround: Option<String>,
    pub status: ProblemStatus,
    pub linked_incidents: BTreeSet<IncidentKey>,
}

impl KnownError {
    pub fn linked_incident_count(&self) -> usize {
        self.linked_incidents.len()
    }

    fn matches(&self, tokens: &[String]) -> bool {
        let mut text = self.title.to_lowercase();
        for part in [&self.root_cause, &self.workaround].into_iter().flatten() {
            text.push('\n');
            text.push_str(&part.to_lowercase());
        }
        tokens.iter().all(|token| text.contains(token.as_str()))
    }
}

/// The known-error read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownErrors {
    problems: BTreeMap<ProblemKey, KnownError>,
}

impl KnownErrors {
    /// Heap bytes held, estimated from struct sizes and string lengths (B-tree nodes counted as
    /// 2/3 full).
    pub fn approximate_heap_bytes(&self) -> usize {
        let entry = (8 + std::mem::size_of::<KnownError>()) * 3 / 2;
        self.problems
            .values()
            .map(|p| {
                entry
                    + p.title.len()
                    + p.service.as_str().len()
                    + p.root_cause.as_ref().map_or(0, String::len)
                    + p.workaround.as_ref().map_or(0, String::len)
                    + p.linked_incidents.len() * 12
            })
            .sum()
    }

    /// A problem whether or not it has a workaround.
    pub fn problem(&self, key: ProblemKey) -> Option<&KnownError> {
        self.problems.get(&key)
    }

    /// Every problem with a documented workaround, by key.
    pub fn list(&self) -> impl Iterator<Item = &KnownError> {
        self.problems.values().filter(|p| p.workaround.is_some())
    }

    /// Known errors whose title, root cause or workaround contains every word of `query`
    /// (case-insensitive substrings; an empty query lists all), optionally on one service.
    pub fn search(&self, query: &str, service: Option<&ServiceId>) -> Vec<&KnownError> {
        let tokens: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.list()
            .filter(|p| service.is_none_or(|s| &p.service == s))
            .filter(|p| p.matches(&tokens))
            .collect()
    }

    fn apply_problem(&mut self, key: ProblemKey, event: &ProblemEvent) {
        use ProblemEvent as E;
        if let E::Recorded { title, service, .. } = event {
            self.problems.insert(
                key,
                KnownError {
                    key,
                    title: title.clone(),
                    service: service.clone(),
                    root_cause: None,
                    workaround: None,
                    status: ProblemStatus::Logged,
                    linked_incidents: BTreeSet::new(),
                },
            );
            return;
        }
        let Some(problem) = self.problems.get_mut(&key) else {
            return;
        };
        match event {
            E::Recorded { .. } | E::FixChangeLinked { .. } | E::Reassigned { .. } => {}
            E::InvestigationStarted { .. } => problem.status = ProblemStatus::UnderInvestigation,
            E::RootCauseRecorded { root_cause, .. } => {
                problem.root_cause = Some(root_cause.clone());
            }
            E::WorkaroundDocumented {
                title,
                service,
                workaround,
                root_cause,
                linked_incidents,
                ..
            } => {
                problem.title.clone_from(title);
                problem.service = service.clone();
                problem.workaround = Some(workaround.clone());
                if root_cause.is_some() {
                    problem.root_cause.clone_from(root_cause);
                }
                problem
                    .linked_incidents
                    .extend(linked_incidents.iter().copied());
                problem.status = ProblemStatus::KnownError;
            }
            E::IncidentLinked { incident, .. } => {
                problem.linked_incidents.insert(*incident);
            }
            E::IncidentUnlinked { incident, .. } => {
                problem.linked_incidents.remove(incident);
            }
            E::Resolved { .. } => problem.status = ProblemStatus::Resolved,
            E::Closed { .. } => problem.status = ProblemStatus::Closed,
            E::Reopened { status, .. } => problem.status = *status,
            E::Cancelled { .. } => problem.status = ProblemStatus::Cancelled,
        }
    }
}

impl Projection for KnownErrors {
    const NAME: &'static str = "known-errors";

    fn apply(&mut self, _envelope: &Envelope, event: &LedgerEvent) {
        if let LedgerEvent::Problem(key, event) = event {
            self.apply_problem(*key, event);
        }
    }
}
