//! The Decider: the functional core every aggregate implements.

use chrono::{DateTime, Utc};

use crate::Actor;

/// What the shell knows about a command that the command itself does not say: who sends it and
/// when. Deciders read time only from here, never from a clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub actor: Actor,
    pub now: DateTime<Utc>,
}

impl Context {
    pub fn new(actor: Actor, now: DateTime<Utc>) -> Self {
        Self { actor, now }
    }
}

/// An aggregate as two pure functions.
///
/// `decide` looks at the current state and a command and returns the events that record what
/// happened, or a typed error; it never changes anything. `evolve` folds one event into the
/// state; it holds no business rules (an event is a fact and is always applied).
pub trait Decider {
    /// The aggregate's name, also the prefix of its stream ids (`incident`, `change`, ...).
    const NAME: &'static str;
    type Command;
    type Event;
    type State: Default;
    type Error;

    fn decide(
        state: &Self::State,
        command: &Self::Command,
        context: &Context,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;

    /// Folds a history into a state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self::State
    where
        Self::Event: 'a,
    {
        events
            .into_iter()
            .fold(Self::State::default(), |state, event| {
                Self::evolve(state, event)
            })
    }
}

/// How an event is named and versioned in the ledger. The names are explicit constants so that
/// renaming a Rust type or variant never changes stored data.
pub trait PersistedEvent {
    /// The stable, persisted name, such as `IncidentResolved`.
    fn event_type(&self) -> &'static str;
    /// The payload's schema version; bumped when its fields change, with an upcaster for the old.
    fn schema_version(&self) -> u16;
}
