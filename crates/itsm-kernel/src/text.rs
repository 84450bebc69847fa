//! Free-text inputs of commands (titles, reasons, notes): the one rule every aggregate shares.
//!
//! Each aggregate keeps its own maximum per field; this module only says what "required" and
//! "bounded" mean, so a rejected text reads the same whichever aggregate refused it. Lengths are
//! counted in characters, not bytes, because the limits are written for people.

/// Why a text input is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters, got {len}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

/// A text that must say something: not blank (whitespace only counts as blank) and at most `max`
/// characters.
pub fn required(field: &'static str, text: &str, max: usize) -> Result<(), TextError> {
    if text.trim().is_empty() {
        return Err(TextError::Empty { field });
    }
    bounded(field, text, max)
}

/// A text that may be empty but not longer than `max` characters.
pub fn bounded(field: &'static str, text: &str, max: usize) -> Result<(), TextError> {
    let len = text.chars().count();
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_text_must_not_be_empty_or_blank() {
        assert_eq!(
            required("title", "", 10),
            Err(TextError::Empty { field: "title" })
        );
        assert_eq!(
            required("title", " \t\n", 10),
            Err(TextError::Empty { field: "title" })
        );
        assert_eq!(required("title", " VPN down ", 10), Ok(()));
    }

    #[test]
    fn a_bounded_text_may_be_empty_or_blank() {
        assert_eq!(bounded("notes", "", 10), Ok(()));
        assert_eq!(bounded("notes", "   ", 10), Ok(()));
    }

    #[test]
    fn both_accept_exactly_max_characters_and_refuse_one_more() {
        for check in [required, bounded] {
            assert_eq!(check("reason", &"x".repeat(5), 5), Ok(()));
            assert_eq!(
                check("reason", &"x".repeat(6), 5),
                Err(TextError::TooLong {
                    field: "reason",
                    len: 6,
                    max: 5
                })
            );
        }
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        // Five characters, ten bytes.
        assert_eq!(required("title", "ÄÖÜßé", 5), Ok(()));
        assert_eq!(
            bounded("title", "ÄÖÜßéx", 5),
            Err(TextError::TooLong {
                field: "title",
                len: 6,
                max: 5
            })
        );
    }

    #[test]
    fn an_error_names_the_field() {
        assert_eq!(
            TextError::Empty { field: "reason" }.to_string(),
            "reason must not be empty"
        );
        assert_eq!(
            TextError::TooLong {
                field: "title",
                len: 201,
                max: 200
            }
            .to_string(),
            "title must be at most 200 characters, got 201"
        );
    }
}
