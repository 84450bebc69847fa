use itsm_kernel::{Impact, Priority, ProblemKey, Spec, TextError, Urgency};
use itsm_problem::{
    MAX_REASON_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN, Problem, ProblemCommand, ProblemError,
    ProblemEvent, ProblemStatus,
};

use super::{
    KEY, actor, change, closed_history, email, incident, investigating, known_error, now, recorded,
    resolved_history, root_cause_recorded, status_after,
};

fn record() -> ProblemCommand {
    ProblemCommand::Record {
        key: KEY,
        title: "Mail delivery delays".to_owned(),
        description: "Outbound mail waits up to an hour in the relay queue.".to_owned(),
        service: email(),
        impact: Impact::High,
        urgency: Urgency::Medium,
    }
}

fn record_titled(title: String) -> ProblemCommand {
    ProblemCommand::Record {
        key: KEY,
        title,
        description: String::new(),
        service: email(),
        impact: Impact::Low,
        urgency: Urgency::Low,
    }
}

fn resolve() -> ProblemCommand {
    ProblemCommand::Resolve {
        resolution: "DNS cache TTL lowered by CHG-3.".to_owned(),
    }
}

fn reopen() -> ProblemCommand {
    ProblemCommand::Reopen {
        reason: "Delays are back after the relay restart.".to_owned(),
    }
}

fn cancel() -> ProblemCommand {
    ProblemCommand::Cancel {
        reason: "Duplicate of PRB-3.".to_owned(),
    }
}

// --- Record ---

#[test]
fn recording_a_problem_logs_it_with_the_matrix_priority() {
    let state = Spec::<Problem>::new()
        .when(record())
        .then([ProblemEvent::Recorded {
            key: KEY,
            title: "Mail delivery delays".to_owned(),
            description: "Outbound mail waits up to an hour in the relay queue.".to_owned(),
            service: email(),
            impact: Impact::High,
            urgency: Urgency::Medium,
            priority: Priority::P2,
            by: actor(),
            at: now(),
        }]);
    assert_eq!(state.status(), Some(ProblemStatus::Logged));
    assert_eq!(state.record().map(|r| r.key), Some(KEY));
}

#[test]
fn recording_a_problem_twice_is_rejected() {
    Spec::<Problem>::given([recorded()])
        .when(ProblemCommand::Record {
            key: ProblemKey::new(8),
            title: "Another".to_owned(),
            description: String::new(),
            service: email(),
            impact: Impact::Low,
            urgency: Urgency::Low,
        })
        .then_error(ProblemError::AlreadyRecorded { key: KEY });
}

#[test]
fn recording_a_problem_without_a_title_is_rejected() {
    Spec::<Problem>::new()
        .when(record_titled(" \n ".to_owned()))
        .then_error(ProblemError::Validation(TextError::Empty {
            field: "title",
        }));
}

#[test]
fn recording_a_problem_with_an_overlong_title_is_rejected() {
    Spec::<Problem>::new()
        .when(record_titled("t".repeat(MAX_TITLE_LEN + 1)))
        .then_error(ProblemError::Validation(TextError::TooLong {
            field: "title",
            len: MAX_TITLE_LEN + 1,
            max: MAX_TITLE_LEN,
        }));
}

#[test]
fn recording_a_problem_with_an_overlong_description_is_rejected() {
    Spec::<Problem>::new()
        .when(ProblemCommand::Record {
            key: KEY,
            title: "Mail delivery delays".to_owned(),
            description: "d".repeat(MAX_TEXT_LEN + 1),
            service: email(),
            impact: Impact::High,
            urgency: Urgency::High,
        })
        .then_error(ProblemError::Validation(TextError::TooLong {
            field: "description",
            len: MAX_TEXT_LEN + 1,
            max: MAX_TEXT_LEN,
        }));
}

#[test]
fn commands_to_a_problem_that_was_never_recorded_are_rejected() {
    Spec::<Problem>::new()
        .when(ProblemCommand::Close)
        .then_error(ProblemError::NotFound);
}

// --- Resolve ---

#[test]
fn resolving_a_known_error_lists_the_fix_and_the_linked_incidents() {
    let mut given = known_error();
    given.push(super::fix_change_linked());
    let state = Spec::<Problem>::given(given)
        .when(resolve())
        .then([ProblemEvent::Resolved {
            key: KEY,
            resolution: "DNS cache TTL lowered by CHG-3.".to_owned(),
            fix_change: Some(change(3)),
            linked_incidents: vec![incident(1)],
            by: actor(),
            at: now(),
        }]);
    assert_eq!(state.status(), Some(ProblemStatus::Resolved));
}

#[test]
fn resolving_a_problem_under_investigation_with_a_root_cause_is_accepted() {
    let mut given = investigating();
    given.push(root_cause_recorded());
    Spec::<Problem>::given(given)
        .when(resolve())
        .then([ProblemEvent::Resolved {
            key: KEY,
            resolution: "DNS cache TTL lowered by CHG-3.".to_owned(),
            fix_change: None,
            linked_incidents: vec![],
            by: actor(),
            at: now(),
        }]);
}

#[test]
fn resolving_a_problem_without_a_root_cause_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(resolve())
        .then_error(ProblemError::RootCauseMissing);
}

#[test]
fn resolving_a_logged_problem_is_rejected() {
    Spec::<Problem>::given([recorded()])
        .when(resolve())
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Logged,
            command: "Resolve",
        });
}

#[test]
fn resolving_a_resolved_problem_is_rejected() {
    Spec::<Problem>::given(resolved_history())
        .when(resolve())
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Resolved,
            command: "Resolve",
        });
}

#[test]
fn resolving_without_a_resolution_text_is_rejected() {
    Spec::<Problem>::given(known_error())
        .when(ProblemCommand::Resolve {
            resolution: String::new(),
        })
        .then_error(ProblemError::Validation(TextError::Empty {
            field: "resolution",
        }));
}

// --- Close ---

#[test]
fn closing_a_resolved_problem_is_final() {
    let state = Spec::<Problem>::given(resolved_history())
        .when(ProblemCommand::Close)
        .then([ProblemEvent::Closed {
            key: KEY,
            by: actor(),
            at: now(),
        }]);
    assert_eq!(state.status(), Some(ProblemStatus::Closed));
}

#[test]
fn closing_an_unresolved_problem_is_rejected() {
    Spec::<Problem>::given(known_error())
        .when(ProblemCommand::Close)
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::KnownError,
            command: "Close",
        });
}

#[test]
fn closing_a_closed_problem_is_rejected() {
    Spec::<Problem>::given(closed_history())
        .when(ProblemCommand::Close)
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Closed,
            command: "Close",
        });
}

// --- Reopen ---

#[test]
fn reopening_a_resolved_known_error_goes_back_to_known_error() {
    let state = Spec::<Problem>::given(resolved_history())
        .when(reopen())
        .then([ProblemEvent::Reopened {
            key: KEY,
            reason: "Delays are back after the relay restart.".to_owned(),
            status: ProblemStatus::KnownError,
            by: actor(),
            at: now(),
        }]);
    let record = state.record().expect("recorded");
    assert_eq!(record.status, ProblemStatus::KnownError);
    assert_eq!(record.resolution, None);
}

#[test]
fn reopening_a_problem_without_a_workaround_goes_back_to_investigation() {
    let mut given = investigating();
    given.extend([
        root_cause_recorded(),
        ProblemEvent::Resolved {
            key: KEY,
            resolution: "Patched.".to_owned(),
            fix_change: None,
            linked_incidents: vec![],
            by: actor(),
            at: super::hours_ago(1),
        },
    ]);
    Spec::<Problem>::given(given)
        .when(reopen())
        .then([ProblemEvent::Reopened {
            key: KEY,
            reason: "Delays are back after the relay restart.".to_owned(),
            status: ProblemStatus::UnderInvestigation,
            by: actor(),
            at: now(),
        }]);
}

#[test]
fn reopening_a_closed_problem_is_rejected() {
    Spec::<Problem>::given(closed_history())
        .when(reopen())
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Closed,
            command: "Reopen",
        });
}

#[test]
fn reopening_an_open_problem_is_rejected() {
    Spec::<Problem>::given(investigating())
        .when(reopen())
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::UnderInvestigation,
            command: "Reopen",
        });
}

#[test]
fn reopening_without_a_reason_is_rejected() {
    Spec::<Problem>::given(resolved_history())
        .when(ProblemCommand::Reopen {
            reason: String::new(),
        })
        .then_error(ProblemError::Validation(TextError::Empty {
            field: "reason",
        }));
}

#[test]
fn reopening_with_an_overlong_reason_is_rejected() {
    Spec::<Problem>::given(resolved_history())
        .when(ProblemCommand::Reopen {
            reason: "r".repeat(MAX_REASON_LEN + 1),
        })
        .then_error(ProblemError::Validation(TextError::TooLong {
            field: "reason",
            len: MAX_REASON_LEN + 1,
            max: MAX_REASON_LEN,
        }));
}

// --- Cancel ---

#[test]
fn cancelling_an_open_problem_lists_its_linked_incidents() {
    let state =
        Spec::<Problem>::given(known_error())
            .when(cancel())
            .then([ProblemEvent::Cancelled {
                key: KEY,
                reason: "Duplicate of PRB-3.".to_owned(),
                linked_incidents: vec![incident(1)],
                by: actor(),
                at: now(),
            }]);
    assert_eq!(state.status(), Some(ProblemStatus::Cancelled));
}

#[test]
fn cancelling_a_logged_problem_is_accepted() {
    Spec::<Problem>::given([recorded()])
        .when(cancel())
        .then([ProblemEvent::Cancelled {
            key: KEY,
            reason: "Duplicate of PRB-3.".to_owned(),
            linked_incidents: vec![],
            by: actor(),
            at: now(),
        }]);
}

#[test]
fn cancelling_a_resolved_problem_is_rejected() {
    Spec::<Problem>::given(resolved_history())
        .when(cancel())
        .then_error(ProblemError::InvalidTransition {
            from: ProblemStatus::Resolved,
            command: "Cancel",
        });
}

#[test]
fn cancelling_without_a_reason_is_rejected() {
    Spec::<Problem>::given([recorded()])
        .when(ProblemCommand::Cancel {
            reason: "  ".to_owned(),
        })
        .then_error(ProblemError::Validation(TextError::Empty {
            field: "reason",
        }));
}

// --- Final statuses ---

#[test]
fn a_closed_or_cancelled_problem_accepts_no_command() {
    let cancelled = {
        let mut history = known_error();
        history.push(ProblemEvent::Cancelled {
            key: KEY,
            reason: "Duplicate.".to_owned(),
            linked_incidents: vec![incident(1)],
            by: actor(),
            at: now(),
        });
        history
    };
    for (history, status) in [
        (closed_history(), ProblemStatus::Closed),
        (cancelled, ProblemStatus::Cancelled),
    ] {
        assert_eq!(status_after(&history), Some(status));
        for command in [
            ProblemCommand::StartInvestigation {
                group: super::group("messaging"),
                assignee: None,
            },
            ProblemCommand::Reassign {
                group: super::group("network"),
                assignee: None,
            },
            ProblemCommand::RecordRootCause {
                root_cause: "x".to_owned(),
            },
            ProblemCommand::DocumentWorkaround {
                workaround: "x".to_owned(),
            },
            ProblemCommand::LinkIncident {
                incident: incident(9),
            },
            ProblemCommand::UnlinkIncident {
                incident: incident(1),
            },
            ProblemCommand::LinkFixChange { change: change(9) },
            resolve(),
            ProblemCommand::Close,
            reopen(),
            cancel(),
        ] {
            let name = command.name();
            Spec::<Problem>::given(history.clone())
                .when(command)
                .then_error(ProblemError::InvalidTransition {
                    from: status,
                    command: name,
                });
        }
        Spec::<Problem>::given(history)
            .when(record())
            .then_error(ProblemError::AlreadyRecorded { key: KEY });
    }
}
