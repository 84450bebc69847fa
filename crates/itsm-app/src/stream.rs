//! Stream names: which aggregate instance lives in which ledger stream.
//!
//! `catalog` holds the one service catalog; `incident-<n>`, `problem-<n>` and `change-<n>` hold
//! one ticket each, numbered like their human keys (`INC-42` lives in `incident-42`).

use itsm_eventstore::StreamId;
use itsm_kernel::{ChangeKey, IncidentKey, ProblemKey};

/// The aggregate behind a stream, parsed from its name: the read side's parser, so the names
/// built here and the names parsed there cannot drift apart (the tests below check both ways).
pub use itsm_projections::StreamKind;

const CATALOG: &str = "catalog";

fn named(name: &str) -> StreamId {
    // Proven infallible: names built here are short ASCII without control characters.
    StreamId::new(name).expect("stream names built by this module are valid")
}

pub fn catalog() -> StreamId {
    named(CATALOG)
}

pub fn incident(key: IncidentKey) -> StreamId {
    named(&format!("incident-{}", key.number()))
}

pub fn problem(key: ProblemKey) -> StreamId {
    named(&format!("problem-{}", key.number()))
}

pub fn change(key: ChangeKey) -> StreamId {
    named(&format!("change-{}", key.number()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_parse_back_to_their_aggregate() {
        let key = IncidentKey::new(42);
        assert_eq!(incident(key).as_str(), "incident-42");
        assert_eq!(
            StreamKind::of(&incident(key)),
            Some(StreamKind::Incident(key))
        );
        assert_eq!(StreamKind::of(&catalog()), Some(StreamKind::Catalog));
        let change_key = ChangeKey::new(3);
        assert_eq!(
            StreamKind::of(&change(change_key)),
            Some(StreamKind::Change(change_key))
        );
        let problem_key = ProblemKey::new(7);
        assert_eq!(
            StreamKind::of(&problem(problem_key)),
            Some(StreamKind::Problem(problem_key))
        );
    }

    #[test]
    fn foreign_stream_names_belong_to_no_aggregate() {
        for name in [
            "access",
            "incident-",
            "incident-x",
            "incident-+1",
            "widget-3",
            "catalogue",
        ] {
            let stream = StreamId::new(name).expect("valid stream id");
            assert_eq!(StreamKind::of(&stream), None, "{name}");
        }
    }
}
