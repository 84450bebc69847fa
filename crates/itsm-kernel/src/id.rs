//! Identifiers: human ticket keys (`INC-42`) and validated name-like ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a text is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an id must not be empty")]
    Empty,
    #[error("an id must be at most {max} characters, got {len}")]
    TooLong { len: usize, max: usize },
    #[error("an id must not contain whitespace or control characters: {0:?}")]
    BadCharacter(String),
}

/// Why a text is not a valid ticket key such as `INC-42`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {prefix}-<number> key")]
pub struct KeyError {
    pub prefix: &'static str,
    pub text: String,
}

/// Longest accepted id, in characters. Ids end up in stream names and URLs.
pub const MAX_ID_LEN: usize = 128;

fn validate_id(text: &str) -> Result<(), IdError> {
    let len = text.chars().count();
    if len == 0 {
        return Err(IdError::Empty);
    }
    if len > MAX_ID_LEN {
        return Err(IdError::TooLong {
            len,
            max: MAX_ID_LEN,
        });
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(IdError::BadCharacter(text.to_owned()));
    }
    Ok(())
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `text`: non-empty, at most [`MAX_ID_LEN`] characters, no
            /// whitespace or control characters.
            pub fn new(text: impl Into<String>) -> Result<Self, IdError> {
                let text = text.into();
                validate_id(&text)?;
                Ok(Self(text))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(text: String) -> Result<Self, IdError> {
                Self::new(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::new(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// A person known to the desk (requester, agent, manager, auditor): their login name.
    UserId
);
text_id!(
    /// An assignment group, such as `service-desk` or `network-l2`.
    GroupId
);
text_id!(
    /// A service in the catalog, such as `email` or `vpn`.
    ServiceId
);
text_id!(
    /// Any other catalog name that is an identifier: calendars, policies, freeze windows.
    Name
);

macro_rules! ticket_key {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        pub struct $name(u64);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub const fn new(number: u64) -> Self {
                Self(number)
            }

            pub const fn number(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = KeyError;
            fn from_str(text: &str) -> Result<Self, KeyError> {
                let error = || KeyError {
                    prefix: $prefix,
                    text: text.to_owned(),
                };
                let digits = text
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .ok_or_else(error)?;
                // `u64::from_str` accepts a leading `+`; a key does not.
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(error());
                }
                digits.parse().map(Self).map_err(|_| error())
            }
        }
    };
}

ticket_key!(
    /// An incident's human key, `INC-<n>`.
    IncidentKey,
    "INC"
);
ticket_key!(
    /// A problem's human key, `PRB-<n>`.
    ProblemKey,
    "PRB"
);
ticket_key!(
    /// A change's human key, `CHG-<n>`.
    ChangeKey,
    "CHG"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_keys_print_and_parse_with_their_prefix() {
        let key = IncidentKey::new(42);
        assert_eq!(key.to_string(), "INC-42");
        assert_eq!("INC-42".parse::<IncidentKey>(), Ok(key));
        assert_eq!("CHG-7".parse::<ChangeKey>(), Ok(ChangeKey::new(7)));
    }

    #[test]
    fn malformed_ticket_keys_are_rejected() {
        for text in [
            "",
            "INC",
            "INC-",
            "INC-+1",
            "PRB-1",
            "INC-1x",
            "inc-1",
            "INC-99999999999999999999",
        ] {
            assert!(
                text.parse::<IncidentKey>().is_err(),
                "{text:?} was accepted"
            );
        }
    }

    #[test]
    fn text_ids_reject_empty_long_and_whitespace() {
        assert_eq!(UserId::new(""), Err(IdError::Empty));
        assert!(matches!(
            GroupId::new("x".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong { .. })
        ));
        assert!(matches!(
            ServiceId::new("e mail"),
            Err(IdError::BadCharacter(_))
        ));
        assert_eq!(
            ServiceId::new("email").map(|s| s.to_string()),
            Ok("email".to_owned())
        );
    }

    #[test]
    fn text_ids_validate_when_deserialized() {
        let bad: Result<UserId, _> = serde_json::from_str("\"a b\"");
        assert!(bad.is_err());
        let good: UserId = serde_json::from_str("\"alice\"").expect("valid id");
        assert_eq!(good.as_str(), "alice");
    }
}
