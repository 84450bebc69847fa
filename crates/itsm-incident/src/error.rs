//! Why an incident command is rejected.

use chrono::{DateTime, Utc};
use itsm_kernel::{ChangeKey, IncidentKey, ProblemKey};
use itsm_sla::ClockKind;

use crate::state::Status;

/// A text field of a command, named so a rejection says which input was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Title,
    Description,
    Reason,
    Comment,
    ResolutionNotes,
    AttachmentName,
    ContentHash,
    ContentUri,
    RatingComment,
    ProblemUpdate,
}

impl Field {
    /// The longest accepted text, in characters.
    pub const fn max_chars(self) -> usize {
        match self {
            Field::Title => 200,
            Field::AttachmentName | Field::ContentHash => 255,
            Field::Reason => 1_000,
            Field::ContentUri => 2_048,
            Field::RatingComment => 2_000,
            Field::Description | Field::Comment | Field::ResolutionNotes | Field::ProblemUpdate => {
                10_000
            }
        }
    }

    /// Whether an empty (or whitespace-only) text is accepted.
    pub const fn may_be_empty(self) -> bool {
        match self {
            Field::Description | Field::RatingComment => true,
            Field::Title
            | Field::Reason
            | Field::Comment
            | Field::ResolutionNotes
            | Field::AttachmentName
            | Field::ContentHash
            | Field::ContentUri
            | Field::ProblemUpdate => false,
        }
    }
}

/// What is wrong with a text input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextProblem {
    Empty,
    TooLong {
        len: usize,
        max: usize,
    },
    /// Control characters (other than line breaks and tabs in long texts) are refused.
    ControlCharacter,
    /// Names, hashes and uris are single tokens.
    Whitespace,
}

/// Every way an incident command can be rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("no such incident")]
    NotFound,
    #[error("incident {0} is already logged")]
    AlreadyLogged(IncidentKey),
    #[error("cannot {command} an incident that is {from}")]
    InvalidTransition { from: Status, command: &'static str },
    #[error("invalid {field:?}: {problem:?}")]
    Validation { field: Field, problem: TextProblem },
    #[error("a rating score must be 1..=5, got {0}")]
    ScoreOutOfRange(u8),
    #[error("only the requester may rate the incident")]
    NotTheRequester,
    #[error("this resolution is already rated")]
    AlreadyRated,
    #[error("requesters may only write public comments")]
    InternalCommentByRequester,
    #[error("an assignment names a group, an agent or both")]
    NothingToAssign,
    #[error("an agent is assigned within a group; the incident has none")]
    NoAssignmentGroup,
    #[error("the incident is already assigned like that")]
    AlreadyAssigned,
    #[error("the first response comes from the desk, not from the requester")]
    RequesterCannotAcknowledge,
    #[error("the incident is already acknowledged")]
    AlreadyAcknowledged,
    #[error("escalating to the group that already holds the incident")]
    EscalationToSameGroup,
    #[error("the SLA is already in force")]
    SlaUnchanged,
    #[error("impact and urgency are unchanged")]
    PriorityUnchanged,
    #[error("{0} is already linked")]
    ProblemAlreadyLinked(ProblemKey),
    #[error("{0} is already linked")]
    ChangeAlreadyLinked(ChangeKey),
    #[error("{0} is not linked to this incident")]
    ProblemNotLinked(ProblemKey),
    #[error("the incident is already a major incident")]
    AlreadyMajor,
    #[error("a major incident cannot be the child of another")]
    MajorCannotBeChild,
    #[error("the incident is a child of major incident {0}")]
    ChildCannotBeMajor(IncidentKey),
    #[error("the incident is already the child of {0}")]
    AlreadyChildOf(IncidentKey),
    #[error("an incident cannot be its own parent")]
    OwnParent,
    #[error("an attachment with this name and content is already attached")]
    DuplicateAttachment,
    #[error(transparent)]
    Sla(#[from] itsm_sla::SlaError),
    #[error("the {0:?} clock does not exist")]
    NoSuchClock(ClockKind),
    #[error("the {0:?} clock is not running")]
    ClockNotRunning(ClockKind),
    #[error("the {clock:?} clock is due at {actual:?}, not {claimed}")]
    StaleDue {
        clock: ClockKind,
        claimed: DateTime<Utc>,
        actual: Option<DateTime<Utc>>,
    },
    #[error("the {clock:?} clock does not reach that point before {at}")]
    NotYetDue { clock: ClockKind, at: DateTime<Utc> },
}

/// Validates a text input against its field's rules.
pub(crate) fn check_text(field: Field, text: &str) -> Result<(), IncidentError> {
    let fail = |problem| Err(IncidentError::Validation { field, problem });
    if text.trim().is_empty() && !field.may_be_empty() {
        return fail(TextProblem::Empty);
    }
    let len = text.chars().count();
    let max = field.max_chars();
    if len > max {
        return fail(TextProblem::TooLong { len, max });
    }
    let token = matches!(field, Field::ContentHash | Field::ContentUri);
    if token && text.chars().any(char::is_whitespace) {
        return fail(TextProblem::Whitespace);
    }
    let multi_line = match field {
        Field::Description
        | Field::Reason
        | Field::Comment
        | Field::ResolutionNotes
        | Field::RatingComment
        | Field::ProblemUpdate => true,
        Field::Title | Field::AttachmentName | Field::ContentHash | Field::ContentUri => false,
    };
    let bad_control = |c: char| c.is_control() && !(multi_line && matches!(c, '\n' | '\r' | '\t'));
    if text.chars().any(bad_control) {
        return fail(TextProblem::ControlCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_must_not_be_blank_or_too_long() {
        assert_eq!(
            check_text(Field::Title, "   "),
            Err(IncidentError::Validation {
                field: Field::Title,
                problem: TextProblem::Empty
            })
        );
        assert_eq!(
            check_text(Field::Title, &"x".repeat(201)),
            Err(IncidentError::Validation {
                field: Field::Title,
                problem: TextProblem::TooLong { len: 201, max: 200 }
            })
        );
        assert_eq!(check_text(Field::Title, "VPN down"), Ok(()));
    }

    #[test]
    fn long_texts_may_span_lines_but_titles_may_not() {
        assert_eq!(check_text(Field::Comment, "line one\nline two"), Ok(()));
        assert_eq!(
            check_text(Field::Title, "line one\nline two"),
            Err(IncidentError::Validation {
                field: Field::Title,
                problem: TextProblem::ControlCharacter
            })
        );
    }

    #[test]
    fn hashes_and_uris_are_single_tokens() {
        assert_eq!(
            check_text(Field::ContentUri, "s3://bucket/a b"),
            Err(IncidentError::Validation {
                field: Field::ContentUri,
                problem: TextProblem::Whitespace
            })
        );
        assert_eq!(check_text(Field::AttachmentName, "screen shot.png"), Ok(()));
    }

    #[test]
    fn descriptions_may_be_empty() {
        assert_eq!(check_text(Field::Description, ""), Ok(()));
    }
}
