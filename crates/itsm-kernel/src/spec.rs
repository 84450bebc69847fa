//! Given / when / then tests for deciders.
//!
//! ```text
//! Spec::<Incident>::given([logged()])
//!     .when(IncidentCommand::Acknowledge { .. })
//!     .then([IncidentEvent::Acknowledged { .. }]);
//! ```
//!
//! The harness folds the given events with `evolve`, runs `decide` with a fixed context (a Monday
//! morning, an agent), and compares the outcome by value. Use [`Spec::by`] and [`Spec::at`] to
//! change who acts and when.

use std::fmt::Debug;

use chrono::{DateTime, TimeZone, Utc};

use crate::{Actor, Context, Decider, Role, UserId};

/// The default moment of a spec: Monday 2026-01-05 09:00 UTC.
pub fn default_now() -> DateTime<Utc> {
    // Proven infallible: a fixed, valid calendar date.
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("valid fixed date")
}

/// The default actor of a spec: the agent `agent.smith`.
pub fn default_actor() -> Actor {
    Actor::user(
        UserId::new("agent.smith").expect("valid fixed id"),
        Role::Agent,
    )
}

/// A spec under construction: the history is given, the command not yet.
pub struct Spec<D: Decider> {
    state: D::State,
    context: Context,
}

impl<D: Decider> Spec<D>
where
    D::Event: PartialEq + Debug,
    D::Error: PartialEq + Debug,
{
    /// Starts from the state that folding `events` gives.
    pub fn given(events: impl IntoIterator<Item = D::Event>) -> Self {
        let state = events
            .into_iter()
            .fold(D::State::default(), |state, event| D::evolve(state, &event));
        Self {
            state,
            context: Context::new(default_actor(), default_now()),
        }
    }

    /// Starts from the empty state (no history).
    pub fn new() -> Self {
        Self::given([])
    }

    /// The command is sent by `actor`.
    #[must_use]
    pub fn by(mut self, actor: Actor) -> Self {
        self.context.actor = actor;
        self
    }

    /// The command is sent at `now`.
    #[must_use]
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.context.now = now;
        self
    }

    /// Runs the decider.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "specs read as sentences: `.when(Command::X {..})`"
    )]
    pub fn when(self, command: D::Command) -> Outcome<D> {
        let result = D::decide(&self.state, &command, &self.context);
        Outcome {
            state: self.state,
            result,
        }
    }
}

impl<D: Decider> Default for Spec<D>
where
    D::Event: PartialEq + Debug,
    D::Error: PartialEq + Debug,
{
    fn default() -> Self {
        Self::new()
    }
}

/// The result of `decide`, waiting to be compared.
pub struct Outcome<D: Decider> {
    state: D::State,
    result: Result<Vec<D::Event>, D::Error>,
}

impl<D: Decider> Outcome<D>
where
    D::Event: PartialEq + Debug,
    D::Error: PartialEq + Debug,
{
    /// Asserts that the command was accepted with exactly `expected`, and that the events fold.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = D::Event>) -> D::State {
        let expected: Vec<D::Event> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "the command produced other events");
                events.iter().fold(self.state, D::evolve)
            }
            Err(error) => {
                panic!("expected events {expected:?}, but the command was rejected: {error:?}")
            }
        }
    }

    /// Asserts that the command was rejected with exactly `expected`.
    #[track_caller]
    #[allow(
        clippy::needless_pass_by_value,
        reason = "specs read as sentences: `.then_error(Error::X)`"
    )]
    pub fn then_error(self, expected: D::Error) {
        match self.result {
            Ok(events) => {
                panic!("expected error {expected:?}, but the command produced {events:?}")
            }
            Err(error) => assert_eq!(
                error, expected,
                "the command was rejected for another reason"
            ),
        }
    }

    /// The raw result, for assertions the two above cannot express.
    pub fn result(self) -> Result<Vec<D::Event>, D::Error> {
        self.result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A counter that may not go below zero: the smallest aggregate that has a rule.
    struct Counter;

    #[derive(Debug, PartialEq)]
    enum Event {
        Added(u32),
        Removed(u32),
    }

    #[derive(Debug, PartialEq)]
    enum Error {
        WouldGoNegative { have: u32 },
    }

    impl Decider for Counter {
        const NAME: &'static str = "counter";
        type Command = i64;
        type Event = Event;
        type State = u32;
        type Error = Error;

        fn decide(state: &u32, command: &i64, _: &Context) -> Result<Vec<Event>, Error> {
            let amount = u32::try_from(command.unsigned_abs()).unwrap_or(u32::MAX);
            if *command >= 0 {
                Ok(vec![Event::Added(amount)])
            } else if amount > *state {
                Err(Error::WouldGoNegative { have: *state })
            } else {
                Ok(vec![Event::Removed(amount)])
            }
        }

        fn evolve(state: u32, event: &Event) -> u32 {
            match event {
                Event::Added(n) => state.saturating_add(*n),
                Event::Removed(n) => state.saturating_sub(*n),
            }
        }
    }

    #[test]
    fn then_returns_the_state_after_the_new_events() {
        let state = Spec::<Counter>::given([Event::Added(3)])
            .when(-2)
            .then([Event::Removed(2)]);
        assert_eq!(state, 1);
    }

    #[test]
    fn then_error_compares_errors_by_value() {
        Spec::<Counter>::given([Event::Added(1)])
            .when(-2)
            .then_error(Error::WouldGoNegative { have: 1 });
    }

    #[test]
    #[should_panic(expected = "the command produced other events")]
    fn then_fails_when_the_events_differ() {
        Spec::<Counter>::new().when(1).then([Event::Added(2)]);
    }

    #[test]
    #[should_panic(expected = "but the command produced")]
    fn then_error_fails_when_the_command_is_accepted() {
        Spec::<Counter>::new()
            .when(1)
            .then_error(Error::WouldGoNegative { have: 0 });
    }

    #[test]
    fn fold_replays_a_history() {
        assert_eq!(Counter::fold(&[Event::Added(5), Event::Removed(1)]), 4);
    }
}
