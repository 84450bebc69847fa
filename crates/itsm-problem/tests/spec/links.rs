use itsm_kernel::Spec;
use itsm_problem::{
    MAX_LINKED_INCIDENTS, Problem, ProblemCommand, ProblemError, ProblemEvent, ProblemStatus,
};

use super::{
    KEY, actor, change, closed_history, fix_change_linked, incident, incident_linked,
    investigating, known_error, now, recorded, resolved_history,
};

// --- LinkIncident ---

#[test]
fn linking_an_incident_to_a_logged_problem_records_the_link() {
    let state = Spec::<Problem>::given([recorded()])
        .when(ProblemCommand::LinkIncident {
            incident: incident(5),
        })
        .then([ProblemEvent::IncidentLinked {
            key: KEY,
            incident: incident(5),
            workaround: None,
            by: actor(),
            at: now(),
        }]);
    assert_eq!(
        state.linked_incidents().collect::<Vec<_>>(),
        vec![incident(5)]
    );
}

#[test]
fn linking_an_incident_to_a_known_error_hands_it_the_workaround() {
    Spec::<Problem>::given(known_error())
        .when(ProblemCommand::LinkIncident {
            incident: incident(5),
        })
        .then([ProblemEvent::IncidentLinked {
            key: KEY,
            incident: incident(5),
            workaround: Some("Flush the relay's DNS cache.".to_owned()),
            by: actor(),
            at: now(),
        }]);
}

#[test]
fn linking_an_incident_twice_is_rejected() {
    Spec::<Problem>::given(known_error())
        .when(ProblemCommand::LinkIncident {
            incident: incident(1),
        })
        .then_error(ProblemError::IncidentAlreadyLinked {
            incident: incident(1),
        });
}

#[test]
fn linking_an_incident_to_a_resolved_problem_is_rejected() {
    Spec::<Problem>::given(resolved_history())
        .when(ProblemCommand::LinkIncident {
            incident: incident(5),
        })
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Resolved,
            command: "LinkIncident",
        });
}

#[test]
fn linking_more_incidents_than_the_limit_is_rejected() {
    let mut given = vec![recorded()];
    given.extend((1..=MAX_LINKED_INCIDENTS as u64).map(incident_linked));
    Spec::<Problem>::given(given)
        .when(ProblemCommand::LinkIncident {
            incident: incident(MAX_LINKED_INCIDENTS as u64 + 1),
        })
        .then_error(ProblemError::TooManyLinkedIncidents {
            max: MAX_LINKED_INCIDENTS,
        });
}

// --- UnlinkIncident ---

#[test]
fn unlinking_an_incident_removes_the_link() {
    let state = Spec::<Problem>::given(known_error())
        .when(ProblemCommand::UnlinkIncident {
            incident: incident(1),
        })
        .then([ProblemEvent::IncidentUnlinked {
            key: KEY,
            incident: incident(1),
            by: actor(),
            at: now(),
        }]);
    assert_eq!(state.linked_incidents().count(), 0);
}

#[test]
fn unlinking_an_incident_that_is_not_linked_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(ProblemCommand::UnlinkIncident {
            incident: incident(1),
        })
        .then_error(ProblemError::IncidentNotLinked {
            incident: incident(1),
        });
}

#[test]
fn unlinking_an_incident_from_a_closed_problem_is_rejected() {
    Spec::<Problem>::given(closed_history())
        .when(ProblemCommand::UnlinkIncident {
            incident: incident(1),
        })
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Closed,
            command: "UnlinkIncident",
        });
}

// --- LinkFixChange ---

#[test]
fn linking_a_fix_change_records_it() {
    let state = Spec::<Problem>::given(investigating())
        .when(ProblemCommand::LinkFixChange { change: change(3) })
        .then([ProblemEvent::FixChangeLinked {
            key: KEY,
            change: change(3),
            replaced: None,
            by: actor(),
            at: now(),
        }]);
    assert_eq!(state.record().and_then(|r| r.fix_change), Some(change(3)));
}

#[test]
fn linking_another_fix_change_replaces_the_first_and_says_so() {
    let mut given = known_error();
    given.push(fix_change_linked());
    Spec::<Problem>::given(given)
        .when(ProblemCommand::LinkFixChange { change: change(4) })
        .then([ProblemEvent::FixChangeLinked {
            key: KEY,
            change: change(4),
            replaced: Some(change(3)),
            by: actor(),
            at: now(),
        }]);
}

#[test]
fn linking_the_same_fix_change_again_is_rejected() {
    let mut given = known_error();
    given.push(fix_change_linked());
    Spec::<Problem>::given(given)
        .when(ProblemCommand::LinkFixChange { change: change(3) })
        .then_error(ProblemError::FixChangeAlreadyLinked { change: change(3) });
}

#[test]
fn linking_a_fix_change_to_a_logged_problem_is_rejected() {
    Spec::<Problem>::given([recorded()])
        .when(ProblemCommand::LinkFixChange { change: change(3) })
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Logged,
            command: "LinkFixChange",
        });
}
