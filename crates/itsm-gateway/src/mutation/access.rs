//! Token mutations: `issueToken` and `revokeToken` (admin only). The token's secret is in the
//! `issueToken` payload, once; the ledger keeps only its BLAKE3 hash.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use itsm_kernel::Role;

use crate::auth::{self, NewToken, require};
use crate::error::{ApiError, ApiResult};
use crate::query::state;
use crate::scalar::Position;

#[derive(Default)]
pub struct AccessMutations;

/// Parses an RFC 3339 instant into UTC.
fn instant(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|e| {
            ApiError::Validation(format!("{field}: {text:?} is not an RFC 3339 time: {e}"))
        })
}

/// The role a token acts in (see docs/ROLES.md).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TokenRole {
    Requester,
    Agent,
    ChangeManager,
    ServiceManager,
    Auditor,
    Admin,
}

impl From<TokenRole> for Role {
    fn from(role: TokenRole) -> Self {
        match role {
            TokenRole::Requester => Role::Requester,
            TokenRole::Agent => Role::Agent,
            TokenRole::ChangeManager => Role::ChangeManager,
            TokenRole::ServiceManager => Role::ServiceManager,
            TokenRole::Auditor => Role::Auditor,
            TokenRole::Admin => Role::Admin,
        }
    }
}

impl From<Role> for TokenRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Requester => TokenRole::Requester,
            Role::Agent => TokenRole::Agent,
            Role::ChangeManager => TokenRole::ChangeManager,
            Role::ServiceManager => TokenRole::ServiceManager,
            Role::Auditor => TokenRole::Auditor,
            Role::Admin => TokenRole::Admin,
        }
    }
}

#[derive(InputObject)]
pub struct IssueTokenInput {
    /// Unique among all tokens ever issued, e.g. `alice-laptop`.
    pub name: String,
    /// The user the token authenticates.
    pub user: String,
    pub role: TokenRole,
    /// RFC 3339; must lie in the future. Omitted: valid until revoked.
    pub expires_at: Option<String>,
}

/// The new token. `token` is the secret: shown here once, stored nowhere.
#[derive(SimpleObject)]
pub struct IssueTokenPayload {
    pub token: String,
    pub name: String,
    pub user: String,
    pub role: TokenRole,
    /// RFC 3339, if the token expires.
    pub expires_at: Option<String>,
    pub position: Position,
}

#[derive(InputObject)]
pub struct RevokeTokenInput {
    pub name: String,
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct RevokeTokenPayload {
    pub name: String,
    pub position: Position,
}

#[Object]
impl AccessMutations {
    /// Issues a bearer token (admin only). The payload holds the secret, once.
    async fn issue_token(
        &self,
        ctx: &Context<'_>,
        input: IssueTokenInput,
    ) -> ApiResult<IssueTokenPayload> {
        let (principal, _) = require(ctx, "issueToken")?;
        let expires_at = input
            .expires_at
            .as_deref()
            .map(|text| instant("expiresAt", text))
            .transpose()?;
        let state = state(ctx);
        let new = NewToken {
            name: input.name,
            user: input.user,
            role: input.role.into(),
            expires_at,
        };
        let issued = auth::issue_token(state.desk.bus(), new, &principal.actor()).await?;
        // Usable at once, whether or not the follower has seen it yet.
        state
            .tokens
            .catch_up(&*state.store)
            .await
            .map_err(ApiError::from)?;
        Ok(IssueTokenPayload {
            token: issued.secret,
            name: issued.name.to_string(),
            user: issued.user.to_string(),
            role: issued.role.into(),
            expires_at: issued.expires_at.map(|at| at.to_rfc3339()),
            position: Position(issued.position),
        })
    }

    /// Revokes a token for good (admin only); it is refused from the next request on.
    async fn revoke_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeTokenInput,
    ) -> ApiResult<RevokeTokenPayload> {
        let (principal, _) = require(ctx, "revokeToken")?;
        let state = state(ctx);
        let result = auth::revoke_token(
            state.desk.bus(),
            &input.name,
            input.reason,
            &principal.actor(),
        )
        .await?;
        state
            .tokens
            .catch_up(&*state.store)
            .await
            .map_err(ApiError::from)?;
        Ok(RevokeTokenPayload {
            name: input.name,
            position: Position(result.position),
        })
    }
}
