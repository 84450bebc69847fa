//! Parsed GraphQL documents by query text, so the same query is parsed once and not on every
//! request: frontends and integrations send a handful of fixed query texts with different
//! variables. Parsing was about 18 % of the server's CPU under a queue-page load (profile in
//! docs/PERFORMANCE.md, "HTTP load (loadgen)").
//!
//! Bounded: at most [`Documents::CAPACITY`] texts of at most [`Documents::MAX_QUERY_BYTES`]
//! each; when full it starts afresh, so distinct queries sent to churn it cost what no cache
//! costs (a parse each). Only documents that parse are kept; validation still runs on every
//! request (it depends on the variables).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::Request;
use async_graphql::parser::types::ExecutableDocument;

/// The cache (one per server).
#[derive(Default)]
pub struct Documents {
    parsed: Mutex<HashMap<Arc<str>, ExecutableDocument>>,
}

impl Documents {
    /// Most query texts kept.
    pub const CAPACITY: usize = 256;
    /// Longer query texts are parsed on every request and not kept.
    pub const MAX_QUERY_BYTES: usize = 8 * 1024;

    /// Puts the parsed document of `request`'s query into it: the kept one, or a fresh parse
    /// (kept when it succeeds). A query that does not parse is left for the schema to report.
    pub fn prepare(&self, request: &mut Request) {
        if request.query.len() > Self::MAX_QUERY_BYTES {
            return;
        }
        let kept = self.lock().get(request.query.as_str()).cloned();
        if let Some(document) = kept {
            request.set_parsed_query(document);
            return;
        }
        let Ok(document) = request.parsed_query() else {
            return;
        };
        let document = document.clone();
        let mut parsed = self.lock();
        if parsed.len() >= Self::CAPACITY {
            parsed.clear();
        }
        parsed.insert(Arc::from(request.query.as_str()), document);
    }

    /// How many query texts are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, ExecutableDocument>> {
        // The map is valid after any panic in between (inserts and clears are whole).
        self.parsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_text_is_parsed_once_and_reused() {
        let documents = Documents::default();
        let query = "query($g: String) { queue(group: $g) { totalCount } }";
        let mut first = Request::new(query);
        documents.prepare(&mut first);
        assert_eq!(documents.len(), 1);
        let mut second = Request::new(query);
        documents.prepare(&mut second);
        assert_eq!(documents.len(), 1, "the same text is kept once");
        let (first, second) = (
            first.parsed_query().expect("parsed").clone(),
            second.parsed_query().expect("parsed").clone(),
        );
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
    }

    #[test]
    fn unparsable_and_oversized_queries_are_not_kept_and_the_cache_stays_bounded() {
        let documents = Documents::default();
        let mut broken = Request::new("{ queue(");
        documents.prepare(&mut broken);
        assert_eq!(documents.len(), 0);
        assert!(
            broken.parsed_query().is_err(),
            "the schema still reports it"
        );
        let long = format!(
            "{{ __typename {} }}",
            " ".repeat(Documents::MAX_QUERY_BYTES)
        );
        documents.prepare(&mut Request::new(long));
        assert_eq!(documents.len(), 0);
        for n in 0..=Documents::CAPACITY {
            documents.prepare(&mut Request::new(format!("{{ a{n}: __typename }}")));
            assert!(documents.len() <= Documents::CAPACITY);
        }
        assert_eq!(documents.len(), 1, "full: started afresh with the newest");
    }
}
