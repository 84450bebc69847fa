//! GraphQL enums and input parsing shared by resolvers. Domain types never derive GraphQL
//! traits: each GraphQL enum here maps onto its domain enum.

use async_graphql::Enum;
use itsm_catalog::Criticality;
use itsm_incident::Channel;
use itsm_kernel::{CustomerTier, Impact, Urgency};

use crate::error::ApiError;

/// Parses a validated text id (`UserId`, `GroupId`, `ServiceId`, `Name`), naming the field in
/// the `VALIDATION` error.
pub fn id<T>(field: &str, text: &str) -> Result<T, ApiError>
where
    T: std::str::FromStr<Err = itsm_kernel::IdError>,
{
    text.parse()
        .map_err(|e: itsm_kernel::IdError| ApiError::Validation(format!("{field}: {e}")))
}

/// Parses a ticket key (`INC-42`, `PRB-7`, `CHG-3`).
pub fn key<T>(id: &async_graphql::ID) -> Result<T, ApiError>
where
    T: std::str::FromStr<Err = itsm_kernel::KeyError>,
{
    id.parse()
        .map_err(|e: itsm_kernel::KeyError| ApiError::Validation(e.to_string()))
}

macro_rules! graphql_enum {
    ($(#[$doc:meta])* $gql:ident => $domain:ty { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $gql {
            $($variant),*
        }

        impl From<$gql> for $domain {
            fn from(value: $gql) -> Self {
                match value {
                    $($gql::$variant => <$domain>::$variant),*
                }
            }
        }

        impl From<$domain> for $gql {
            fn from(value: $domain) -> Self {
                match value {
                    $(<$domain>::$variant => $gql::$variant),*
                }
            }
        }
    };
}

graphql_enum!(
    /// How much of the business is affected.
    ImpactLevel => Impact { High, Medium, Low }
);
graphql_enum!(
    /// How fast the business needs it fixed.
    UrgencyLevel => Urgency { High, Medium, Low }
);
graphql_enum!(
    /// How the incident reached the desk.
    ContactChannel => Channel { Email, Portal, Phone, Chat, Api }
);
graphql_enum!(
    /// The customer's contract tier.
    Tier => CustomerTier { Standard, Vip }
);
graphql_enum!(
    /// How critical a service is to the business.
    ServiceCriticality => Criticality { Critical, High, Medium, Low }
);
