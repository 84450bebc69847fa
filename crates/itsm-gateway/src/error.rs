//! Errors as clients see them: a message and `extensions.code`. Internal details go to the log,
//! never into a response.

use async_graphql::ErrorExtensions;
use itsm_app::DeskError;
use itsm_eventstore::StoreError;
use itsm_projections::{ProjectionError, RunnerError};

/// Every way a request can fail, with its code.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into an error without
/// a code, so a stray `?` would lose it. The only way out is the `From` below, which sets
/// `extensions.code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Unauthenticated,
    Forbidden(String),
    NotFound(String),
    Validation(String),
    InvalidTransition(String),
    Conflict(String),
    LimitExceeded(String),
    /// The ledger cannot be written right now (disk full, I/O error, store stopped). The
    /// detail is for the log only.
    StorageUnavailable(String),
    /// The detail is for the log only.
    Internal(String),
}

impl ApiError {
    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => "a valid bearer token is required".to_owned(),
            ApiError::Forbidden(m) => format!("forbidden: {m}"),
            ApiError::NotFound(m) => format!("not found: {m}"),
            ApiError::Validation(m) => format!("invalid input: {m}"),
            ApiError::InvalidTransition(m) => format!("not allowed now: {m}"),
            ApiError::Conflict(m) => format!("conflict: {m}"),
            ApiError::LimitExceeded(m) => format!("limit exceeded: {m}"),
            ApiError::StorageUnavailable(_) => {
                "the ledger cannot be written right now; nothing of this request was recorded \
                 (retry later)"
                    .to_owned()
            }
            ApiError::Internal(_) => "internal error".to_owned(),
        }
    }

    pub const fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Validation(_) => "VALIDATION",
            ApiError::InvalidTransition(_) => "INVALID_TRANSITION",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::LimitExceeded(_) => "LIMIT_EXCEEDED",
            ApiError::StorageUnavailable(_) => "STORAGE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        match &error {
            ApiError::Internal(detail) => tracing::error!(%detail, "internal error"),
            ApiError::StorageUnavailable(detail) => tracing::error!(%detail, "storage unavailable"),
            _ => {}
        }
        let code = error.code();
        async_graphql::Error::new(error.message()).extend_with(|_, ext| ext.set("code", code))
    }
}

impl From<DeskError> for ApiError {
    fn from(error: DeskError) -> Self {
        match error {
            DeskError::NotFound(m) => ApiError::NotFound(m),
            DeskError::Validation(m) => ApiError::Validation(m),
            DeskError::InvalidTransition(m) => ApiError::InvalidTransition(m),
            DeskError::Conflict(m) => ApiError::Conflict(m),
            DeskError::Forbidden(m) => ApiError::Forbidden(m),
            DeskError::Internal(m) => ApiError::Internal(m),
            DeskError::Unavailable(m) => ApiError::StorageUnavailable(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Storage { .. } | StoreError::Closed => {
                ApiError::StorageUnavailable(error.to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ProjectionError> for ApiError {
    fn from(error: ProjectionError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl From<RunnerError> for ApiError {
    fn from(error: RunnerError) -> Self {
        match error {
            RunnerError::Lagging { wanted, reached } => ApiError::LimitExceeded(format!(
                "the read models reached position {reached}, not {wanted}, within the wait limit"
            )),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The resolvers' result type.
pub type ApiResult<T> = Result<T, async_graphql::Error>;
