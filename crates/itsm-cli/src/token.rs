//! `ledgerdesk token create` and the first admin token of `serve`, through the gateway's
//! issue API (`itsm_gateway::issue_token`): the ledger keeps only the token's BLAKE3 hash, in
//! the `access` stream; the secret is printed once and stored nowhere.
//!
//! Offline issuing acts as the operator who holds the data directory: as the `bootstrap`
//! automation while no token is in force (the only way to get a first admin token), otherwise
//! as the admin user `ledgerdesk-cli`, so the audit log shows the CLI issued it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use itsm_app::{CommandBus, SystemClock, UuidV7Ids};
use itsm_eventstore::SledStore;
use itsm_gateway::{ApiError, AppState, NewToken, Tokens, bootstrap_actor, issue_token};
use itsm_kernel::{Actor, Role};

use crate::CliError;

/// The user the CLI acts as when issuing offline once an admin token exists.
const CLI_USER: &str = "ledgerdesk-cli";

fn refused(error: &ApiError) -> CliError {
    CliError::Command(format!(
        "the token was not issued ({}): {}",
        error.code(),
        error.message()
    ))
}

fn cli_admin() -> Result<Actor, CliError> {
    let user = CLI_USER
        .parse()
        .map_err(|e| CliError::Command(format!("the CLI's user id: {e:?}")))?;
    Ok(Actor::user(user, Role::Admin))
}

/// `ledgerdesk token create`: issue a token offline (the caller made sure no server holds the
/// directory: `open` refused otherwise) and print its secret once.
pub async fn create(
    store: SledStore,
    role: Role,
    name: String,
    user: Option<String>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), CliError> {
    let store = Arc::new(store);
    let tokens = Tokens::default();
    tokens.catch_up(&*store).await?;
    let by = if tokens.in_force(Utc::now()) == 0 {
        bootstrap_actor()
    } else {
        cli_admin()?
    };
    let bus = CommandBus::new(store, Arc::new(SystemClock), Arc::new(UuidV7Ids));
    let new = NewToken {
        user: user.unwrap_or_else(|| name.clone()),
        name,
        role,
        expires_at,
    };
    let issued = issue_token(&bus, new, &by).await.map_err(|e| refused(&e))?;
    println!(
        "issued token '{}' for user {} as {} (position {}{})",
        issued.name,
        issued.user,
        issued.role,
        issued.position,
        issued
            .expires_at
            .map(|at| format!(", expires {}", at.to_rfc3339()))
            .unwrap_or_default()
    );
    println!("secret (shown only this once; the ledger keeps only its hash):");
    println!("{}", issued.secret);
    Ok(())
}

/// On a desk with no token in force, issues the first admin token (as the `bootstrap`
/// automation) and returns its secret; otherwise `None`.
pub async fn bootstrap_admin(state: &AppState) -> Result<Option<String>, CliError> {
    state.tokens.catch_up(&*state.store).await?;
    if state.tokens.in_force(state.clock.now()) > 0 {
        return Ok(None);
    }
    // Names are unique for good: a desk whose earlier tokens all expired gets a new name.
    let name = match state.tokens.version() {
        0 => "admin".to_owned(),
        version => format!("admin-{}", version + 1),
    };
    let new = NewToken {
        name,
        user: "admin".to_owned(),
        role: Role::Admin,
        expires_at: None,
    };
    let issued = issue_token(state.desk.bus(), new, &bootstrap_actor())
        .await
        .map_err(|e| refused(&e))?;
    // Usable at once, without waiting for the follower.
    state.tokens.catch_up(&*state.store).await?;
    Ok(Some(issued.secret))
}
