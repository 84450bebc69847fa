//! Why an incident command is rejected.

use chrono::{DateTime, Utc};
use itsm_kernel::text::{self, TextError};
use itsm_kernel::{ChangeKey, IncidentKey, ProblemKey};
use itsm_sla::ClockKind;

use crate::state::Status;

/// A text field of a command and its rules in one table: its name in a rejection, its longest
/// accepted text, whether it may be empty and whether it may span lines.
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
    /// How a rejection names the field.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
            Field::Reason => "reason",
            Field::Comment => "comment",
            Field::ResolutionNotes => "resolution notes",
            Field::AttachmentName => "attachment name",
            Field::ContentHash => "content hash",
            Field::ContentUri => "content uri",
            Field::RatingComment => "rating comment",
            Field::ProblemUpdate => "problem update",
        }
    }

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

/// Every way an incident command can be rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("no such incident")]
    NotFound,
    #[error("incident {0} is already logged")]
    AlreadyLogged(IncidentKey),
    #[error("cannot {command} an incident that is {from}")]
    InvalidTransition { from: Status, command: &'static str },
    #[error("invalid input: {0}")]
    Validation(#[from] TextError),
    /// Control characters (other than line breaks and tabs in long texts) are refused.
    #[error("{field} must not contain control characters")]
    ControlCharacter { field: &'static str },
    /// Names, hashes and uris are single tokens.
    #[error("{field} must not contain whitespace")]
    Whitespace { field: &'static str },
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
    let (name, max) = (field.name(), field.max_chars());
    if field.may_be_empty() {
        text::bounded(name, text, max)?;
    } else {
        text::required(name, text, max)?;
    }
    let token = matches!(field, Field::ContentHash | Field::ContentUri);
    if token && text.chars().any(char::is_whitespace) {
        return Err(IncidentError::Whitespace { field: name });
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
        return Err(IncidentError::ControlCharacter { field: name });
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
            Err(IncidentError::Validation(TextError::Empty {
                field: "title"
            }))
        );
        assert_eq!(
            check_text(Field::Title, &"x".repeat(201)),
            Err(IncidentError::Validation(TextError::TooLong {
                field: "title",
                len: 201,
                max: 200
            }))
        );
        assert_eq!(check_text(Field::Title, "VPN down"), Ok(()));
    }

    #[test]
    fn long_texts_may_span_lines_but_titles_may_not() {
        assert_eq!(check_text(Field::Comment, "line one\nline two"), Ok(()));
        assert_eq!(
            check_text(Field::Title, "line one\nline two"),
            Err(IncidentError::ControlCharacter { field: "title" })
        );
    }

    #[test]
    fn hashes_and_uris_are_single_tokens() {
        assert_eq!(
            check_text(Field::ContentUri, "s3://bucket/a b"),
            Err(IncidentError::Whitespace {
                field: "content uri"
            })
        );
        assert_eq!(check_text(Field::AttachmentName, "screen shot.png"), Ok(()));
    }

    #[test]
    fn descriptions_may_be_empty() {
        assert_eq!(check_text(Field::Description, ""), Ok(()));
    }
}
