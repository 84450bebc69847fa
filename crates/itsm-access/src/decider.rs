//! The token table's decisions (`decide`) and how its events change the state (`evolve`).

use itsm_kernel::{Actor, Context, Decider, Role, text};

use crate::command::{BOOTSTRAP, MAX_REASON_LEN};
use crate::{AccessCommand, AccessError, AccessEvent, AccessState, TokenRecord};

/// The access aggregate, one stream for all tokens ([`crate::STREAM`]).
pub struct Access;

/// Admins issue and revoke; the `bootstrap` automation may only issue an admin token while no
/// token at all is in force (the first start, or a desk whose every token expired or was
/// revoked and whose operator holds the data directory).
fn permitted(state: &AccessState, command: &AccessCommand, context: &Context) -> bool {
    match &context.actor {
        Actor::User { role, .. } => *role == Role::Admin,
        Actor::Automation { name } => match command {
            AccessCommand::Issue { role, .. } => {
                name == BOOTSTRAP
                    && *role == Role::Admin
                    && state.in_force(context.now).next().is_none()
            }
            AccessCommand::Revoke { .. } => false,
        },
    }
}

impl Decider for Access {
    const NAME: &'static str = "access";
    type Command = AccessCommand;
    type Event = AccessEvent;
    type State = AccessState;
    type Error = AccessError;

    fn decide(
        state: &AccessState,
        command: &AccessCommand,
        context: &Context,
    ) -> Result<Vec<AccessEvent>, AccessError> {
        if !permitted(state, command, context) {
            return Err(AccessError::NotPermitted {
                command: command.name(),
            });
        }
        let by = context.actor.clone();
        let at = context.now;
        match command {
            AccessCommand::Issue {
                name,
                user,
                role,
                token_hash,
                expires_at,
            } => {
                if state.tokens.contains_key(name) {
                    return Err(AccessError::DuplicateName { name: name.clone() });
                }
                if state.hashes.contains(token_hash) {
                    return Err(AccessError::DuplicateHash);
                }
                if let Some(expires_at) = expires_at
                    && *expires_at <= at
                {
                    return Err(AccessError::ExpiryInPast {
                        expires_at: *expires_at,
                        now: at,
                    });
                }
                Ok(vec![AccessEvent::Issued {
                    name: name.clone(),
                    user: user.clone(),
                    role: *role,
                    token_hash: *token_hash,
                    expires_at: *expires_at,
                    by,
                    at,
                }])
            }
            AccessCommand::Revoke { name, reason } => {
                let token = state
                    .token(name)
                    .ok_or_else(|| AccessError::UnknownToken { name: name.clone() })?;
                if token.revoked_at.is_some() {
                    return Err(AccessError::AlreadyRevoked { name: name.clone() });
                }
                text::required("reason", reason, MAX_REASON_LEN)?;
                Ok(vec![AccessEvent::Revoked {
                    name: name.clone(),
                    reason: reason.clone(),
                    by,
                    at,
                }])
            }
        }
    }

    fn evolve(mut state: AccessState, event: &AccessEvent) -> AccessState {
        match event {
            AccessEvent::Issued {
                name,
                user,
                role,
                token_hash,
                expires_at,
                by,
                at,
            } => {
                state.hashes.insert(*token_hash);
                state.tokens.insert(
                    name.clone(),
                    TokenRecord {
                        name: name.clone(),
                        user: user.clone(),
                        role: *role,
                        token_hash: *token_hash,
                        expires_at: *expires_at,
                        issued_by: by.clone(),
                        issued_at: *at,
                        revoked_at: None,
                    },
                );
            }
            AccessEvent::Revoked { name, at, .. } => {
                if let Some(token) = state.tokens.get_mut(name) {
                    token.revoked_at = Some(*at);
                }
            }
        }
        state
    }
}
