use itsm_kernel::{Spec, TextError};
use itsm_problem::{
    MAX_TEXT_LEN, Problem, ProblemCommand, ProblemError, ProblemEvent, ProblemStatus,
};

use super::{
    KEY, actor, email, group, incident, investigating, known_error, now, recorded,
    resolved_history, user,
};

fn start_investigation() -> ProblemCommand {
    ProblemCommand::StartInvestigation {
        group: group("messaging"),
        assignee: Some(user("alice")),
    }
}

fn document_workaround() -> ProblemCommand {
    ProblemCommand::DocumentWorkaround {
        workaround: "Restart the relay.".to_owned(),
    }
}

// --- StartInvestigation ---

#[test]
fn starting_the_investigation_assigns_the_problem() {
    let state = Spec::<Problem>::given([recorded()])
        .when(start_investigation())
        .then([ProblemEvent::InvestigationStarted {
            key: KEY,
            group: group("messaging"),
            assignee: Some(user("alice")),
            by: actor(),
            at: now(),
        }]);
    let record = state.record().expect("recorded");
    assert_eq!(record.status, ProblemStatus::UnderInvestigation);
    assert_eq!(record.group, Some(group("messaging")));
    assert_eq!(record.assignee, Some(user("alice")));
}

#[test]
fn starting_the_investigation_twice_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(start_investigation())
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::UnderInvestigation,
            command: "StartInvestigation",
        });
}

#[test]
fn starting_the_investigation_of_an_unrecorded_problem_is_rejected() {
    Spec::<Problem>::new()
        .when(start_investigation())
        .then_error(ProblemError::NotFound);
}

// --- Reassign ---

#[test]
fn reassigning_moves_the_investigation_to_another_group() {
    let state = Spec::<Problem>::given(investigating())
        .when(ProblemCommand::Reassign {
            group: group("network"),
            assignee: None,
        })
        .then([ProblemEvent::Reassigned {
            key: KEY,
            group: group("network"),
            assignee: None,
            by: actor(),
            at: now(),
        }]);
    let record = state.record().expect("recorded");
    assert_eq!(record.group, Some(group("network")));
    assert_eq!(record.assignee, None);
    assert_eq!(record.status, ProblemStatus::UnderInvestigation);
}

#[test]
fn reassigning_to_the_current_assignment_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(ProblemCommand::Reassign {
            group: group("messaging"),
            assignee: Some(user("alice")),
        })
        .then_error(ProblemError::AlreadyAssigned);
}

#[test]
fn reassigning_a_logged_problem_is_rejected() {
    Spec::<Problem>::given([recorded()])
        .when(ProblemCommand::Reassign {
            group: group("network"),
            assignee: None,
        })
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Logged,
            command: "Reassign",
        });
}

#[test]
fn reassigning_a_resolved_problem_is_rejected() {
    Spec::<Problem>::given(resolved_history())
        .when(ProblemCommand::Reassign {
            group: group("network"),
            assignee: None,
        })
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Resolved,
            command: "Reassign",
        });
}

// --- RecordRootCause ---

#[test]
fn recording_the_root_cause_keeps_the_investigation_going() {
    let state = Spec::<Problem>::given(investigating())
        .when(ProblemCommand::RecordRootCause {
            root_cause: "Relay DNS cache.".to_owned(),
        })
        .then([ProblemEvent::RootCauseRecorded {
            key: KEY,
            root_cause: "Relay DNS cache.".to_owned(),
            by: actor(),
            at: now(),
        }]);
    let record = state.record().expect("recorded");
    assert_eq!(record.root_cause.as_deref(), Some("Relay DNS cache."));
    assert_eq!(record.status, ProblemStatus::UnderInvestigation);
}

#[test]
fn refining_the_root_cause_of_a_known_error_is_accepted() {
    let state = Spec::<Problem>::given(known_error())
        .when(ProblemCommand::RecordRootCause {
            root_cause: "Relay DNS cache TTL of one hour.".to_owned(),
        })
        .then([ProblemEvent::RootCauseRecorded {
            key: KEY,
            root_cause: "Relay DNS cache TTL of one hour.".to_owned(),
            by: actor(),
            at: now(),
        }]);
    assert_eq!(state.status(), Some(ProblemStatus::KnownError));
}

#[test]
fn recording_a_root_cause_before_the_investigation_starts_is_rejected() {
    Spec::<Problem>::given([recorded()])
        .when(ProblemCommand::RecordRootCause {
            root_cause: "Relay DNS cache.".to_owned(),
        })
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Logged,
            command: "RecordRootCause",
        });
}

#[test]
fn recording_a_blank_root_cause_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(ProblemCommand::RecordRootCause {
            root_cause: String::new(),
        })
        .then_error(ProblemError::Validation(TextError::Empty {
            field: "root cause",
        }));
}

#[test]
fn recording_an_overlong_root_cause_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(ProblemCommand::RecordRootCause {
            root_cause: "c".repeat(MAX_TEXT_LEN + 1),
        })
        .then_error(ProblemError::Validation(TextError::TooLong {
            field: "root cause",
            len: MAX_TEXT_LEN + 1,
            max: MAX_TEXT_LEN,
        }));
}

#[test]
fn reassigning_an_unrecorded_problem_is_rejected() {
    Spec::<Problem>::new()
        .when(ProblemCommand::Reassign {
            group: group("network"),
            assignee: None,
        })
        .then_error(ProblemError::NotFound);
}

// --- DocumentWorkaround ---

#[test]
fn documenting_a_workaround_publishes_a_known_error() {
    let mut given = investigating();
    given.push(super::incident_linked(4));
    given.push(super::incident_linked(2));
    let state = Spec::<Problem>::given(given)
        .when(document_workaround())
        .then([ProblemEvent::WorkaroundDocumented {
            key: KEY,
            title: "Mail delivery delays".to_owned(),
            service: email(),
            workaround: "Restart the relay.".to_owned(),
            root_cause: None,
            linked_incidents: vec![incident(2), incident(4)],
            by: actor(),
            at: now(),
        }]);
    let record = state.record().expect("recorded");
    assert_eq!(record.status, ProblemStatus::KnownError);
    assert_eq!(record.workaround.as_deref(), Some("Restart the relay."));
}

#[test]
fn revising_the_workaround_of_a_known_error_republishes_it() {
    Spec::<Problem>::given(known_error())
        .when(document_workaround())
        .then([ProblemEvent::WorkaroundDocumented {
            key: KEY,
            title: "Mail delivery delays".to_owned(),
            service: email(),
            workaround: "Restart the relay.".to_owned(),
            root_cause: Some("The relay's DNS cache expires too late.".to_owned()),
            linked_incidents: vec![incident(1)],
            by: actor(),
            at: now(),
        }]);
}

#[test]
fn documenting_a_workaround_before_the_investigation_starts_is_rejected() {
    Spec::<Problem>::given([recorded()])
        .when(document_workaround())
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Logged,
            command: "DocumentWorkaround",
        });
}

#[test]
fn documenting_a_workaround_for_a_resolved_problem_is_rejected() {
    Spec::<Problem>::given(resolved_history())
        .when(document_workaround())
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Resolved,
            command: "DocumentWorkaround",
        });
}

#[test]
fn documenting_an_overlong_workaround_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(ProblemCommand::DocumentWorkaround {
            workaround: "w".repeat(MAX_TEXT_LEN + 1),
        })
        .then_error(ProblemError::Validation(TextError::TooLong {
            field: "workaround",
            len: MAX_TEXT_LEN + 1,
            max: MAX_TEXT_LEN,
        }));
}

#[test]
fn documenting_a_blank_workaround_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(ProblemCommand::DocumentWorkaround {
            workaround: "\t".to_owned(),
        })
        .then_error(ProblemError::Validation(TextError::Empty {
            field: "workaround",
        }));
}
