//! Given / when / then specs of the access commands: issuing and revoking tokens, and every way
//! each can be refused.

use chrono::{DateTime, Duration, Utc};
use itsm_access::{
    Access, AccessCommand, AccessError, AccessEvent, AccessState, BOOTSTRAP, MAX_REASON_LEN,
    TokenHash,
};
use itsm_kernel::spec::default_now;
use itsm_kernel::{Actor, Decider, Name, Role, Spec, TextError, UserId};

fn now() -> DateTime<Utc> {
    default_now()
}

fn hours_ago(n: i64) -> DateTime<Utc> {
    now() - Duration::hours(n)
}

fn name(text: &str) -> Name {
    Name::new(text).expect("valid name")
}

fn user(text: &str) -> UserId {
    UserId::new(text).expect("valid id")
}

fn admin() -> Actor {
    Actor::user(user("paula.admin"), Role::Admin)
}

fn bootstrap() -> Actor {
    Actor::automation(BOOTSTRAP)
}

fn hash(seed: u8) -> TokenHash {
    TokenHash([seed; 32])
}

fn issue(token: &str, role: Role, seed: u8, expires_at: Option<DateTime<Utc>>) -> AccessCommand {
    AccessCommand::Issue {
        name: name(token),
        user: user("alice"),
        role,
        token_hash: hash(seed),
        expires_at,
    }
}

fn issued(
    token: &str,
    role: Role,
    seed: u8,
    expires_at: Option<DateTime<Utc>>,
    by: Actor,
    at: DateTime<Utc>,
) -> AccessEvent {
    AccessEvent::Issued {
        name: name(token),
        user: user("alice"),
        role,
        token_hash: hash(seed),
        expires_at,
        by,
        at,
    }
}

/// The first admin token, bootstrapped ten hours ago.
fn first_admin() -> AccessEvent {
    issued(
        "first-admin",
        Role::Admin,
        1,
        None,
        bootstrap(),
        hours_ago(10),
    )
}

fn revoked(token: &str, at: DateTime<Utc>) -> AccessEvent {
    AccessEvent::Revoked {
        name: name(token),
        reason: "left the company".to_owned(),
        by: admin(),
        at,
    }
}

fn revoke(token: &str) -> AccessCommand {
    AccessCommand::Revoke {
        name: name(token),
        reason: "left the company".to_owned(),
    }
}

// --- Issue ---

#[test]
fn an_admin_issues_a_token_that_expires_later() {
    let expiry = now() + Duration::days(30);
    let state = Spec::<Access>::given([first_admin()])
        .by(admin())
        .when(issue("alice-laptop", Role::Agent, 2, Some(expiry)))
        .then([issued(
            "alice-laptop",
            Role::Agent,
            2,
            Some(expiry),
            admin(),
            now(),
        )]);
    let token = state.token(&name("alice-laptop")).expect("recorded");
    assert!(token.is_in_force(now()));
    assert!(!token.is_in_force(expiry), "a token expires at its expiry");
    assert_eq!(state.in_force(now()).count(), 2);
}

#[test]
fn the_bootstrap_automation_issues_the_first_admin_token() {
    Spec::<Access>::new()
        .by(bootstrap())
        .when(issue("first-admin", Role::Admin, 1, None))
        .then([issued(
            "first-admin",
            Role::Admin,
            1,
            None,
            bootstrap(),
            now(),
        )]);
}

#[test]
fn bootstrapping_is_refused_once_a_token_is_in_force() {
    Spec::<Access>::given([first_admin()])
        .by(bootstrap())
        .when(issue("second-admin", Role::Admin, 2, None))
        .then_error(AccessError::NotPermitted {
            command: "IssueToken",
        });
}

#[test]
fn bootstrapping_is_allowed_again_when_every_token_was_revoked() {
    Spec::<Access>::given([first_admin(), revoked("first-admin", hours_ago(1))])
        .by(bootstrap())
        .when(issue("second-admin", Role::Admin, 2, None))
        .then([issued(
            "second-admin",
            Role::Admin,
            2,
            None,
            bootstrap(),
            now(),
        )]);
}

#[test]
fn bootstrap_issues_admin_tokens_only() {
    Spec::<Access>::new()
        .by(bootstrap())
        .when(issue("first", Role::Agent, 1, None))
        .then_error(AccessError::NotPermitted {
            command: "IssueToken",
        });
}

#[test]
fn only_admins_issue_tokens() {
    for role in Role::ALL.into_iter().filter(|role| *role != Role::Admin) {
        Spec::<Access>::given([first_admin()])
            .by(Actor::user(user("mallory"), role))
            .when(issue("mine", Role::Admin, 2, None))
            .then_error(AccessError::NotPermitted {
                command: "IssueToken",
            });
    }
    Spec::<Access>::new()
        .by(Actor::automation("sla-timer"))
        .when(issue("first-admin", Role::Admin, 1, None))
        .then_error(AccessError::NotPermitted {
            command: "IssueToken",
        });
}

#[test]
fn a_token_name_is_used_once_even_after_revocation() {
    Spec::<Access>::given([first_admin(), revoked("first-admin", hours_ago(1))])
        .by(admin())
        .when(issue("first-admin", Role::Agent, 9, None))
        .then_error(AccessError::DuplicateName {
            name: name("first-admin"),
        });
}

#[test]
fn a_token_hash_is_used_once() {
    Spec::<Access>::given([first_admin()])
        .by(admin())
        .when(issue("copy", Role::Agent, 1, None))
        .then_error(AccessError::DuplicateHash);
}

#[test]
fn an_expiry_in_the_past_or_now_is_refused() {
    for expires_at in [hours_ago(1), now()] {
        Spec::<Access>::given([first_admin()])
            .by(admin())
            .when(issue("stale", Role::Agent, 2, Some(expires_at)))
            .then_error(AccessError::ExpiryInPast {
                expires_at,
                now: now(),
            });
    }
}

// --- Revoke ---

#[test]
fn an_admin_revokes_a_token() {
    let state = Spec::<Access>::given([first_admin()])
        .by(admin())
        .when(revoke("first-admin"))
        .then([revoked("first-admin", now())]);
    assert_eq!(state.in_force(now()).count(), 0);
    assert_eq!(
        state.token(&name("first-admin")).and_then(|t| t.revoked_at),
        Some(now())
    );
}

#[test]
fn revoking_an_unknown_token_is_refused() {
    Spec::<Access>::given([first_admin()])
        .by(admin())
        .when(revoke("nobody"))
        .then_error(AccessError::UnknownToken {
            name: name("nobody"),
        });
}

#[test]
fn revoking_a_revoked_token_is_refused() {
    Spec::<Access>::given([first_admin(), revoked("first-admin", hours_ago(1))])
        .by(admin())
        .when(revoke("first-admin"))
        .then_error(AccessError::AlreadyRevoked {
            name: name("first-admin"),
        });
}

#[test]
fn a_revocation_needs_a_reason() {
    Spec::<Access>::given([first_admin()])
        .by(admin())
        .when(AccessCommand::Revoke {
            name: name("first-admin"),
            reason: "  ".to_owned(),
        })
        .then_error(AccessError::Validation(TextError::Empty {
            field: "reason",
        }));
    Spec::<Access>::given([first_admin()])
        .by(admin())
        .when(AccessCommand::Revoke {
            name: name("first-admin"),
            reason: "x".repeat(MAX_REASON_LEN + 1),
        })
        .then_error(AccessError::Validation(TextError::TooLong {
            field: "reason",
            len: MAX_REASON_LEN + 1,
            max: MAX_REASON_LEN,
        }));
}

#[test]
fn only_admins_revoke_tokens_not_even_bootstrap() {
    for actor in [
        Actor::user(user("alice"), Role::Auditor),
        Actor::user(user("alice"), Role::Agent),
        bootstrap(),
    ] {
        Spec::<Access>::given([first_admin()])
            .by(actor)
            .when(revoke("first-admin"))
            .then_error(AccessError::NotPermitted {
                command: "RevokeToken",
            });
    }
}

// --- Folding ---

#[test]
fn expired_tokens_are_not_in_force() {
    let expiry = hours_ago(1);
    let state: AccessState = Access::fold(&[
        first_admin(),
        issued("temp", Role::Agent, 2, Some(expiry), admin(), hours_ago(5)),
    ]);
    let in_force: Vec<_> = state.in_force(now()).map(|t| t.name.clone()).collect();
    assert_eq!(in_force, vec![name("first-admin")]);
    assert!(state.hashes.contains(&hash(2)), "the hash stays taken");
}

#[test]
fn a_token_hash_prints_as_lowercase_hex() {
    let mut bytes = [0; 32];
    bytes[0] = 0xab;
    bytes[31] = 0x0f;
    let hex = TokenHash(bytes).to_hex();
    assert_eq!(hex.len(), 64);
    assert!(hex.starts_with("ab00"));
    assert!(hex.ends_with("000f"));
}
