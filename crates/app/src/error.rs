//! Use-case errors: the caller's mistakes (each with a message a person can
//! act on) kept apart from internal faults (logged, never shown).

use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("you may not act on this {0}")]
    Forbidden(&'static str),
    #[error("not signed in, or the token has expired")]
    Unauthenticated,
    #[error("{0}")]
    Conflict(String),
    #[error("the station has no free slot for a {0} parcel")]
    StationFull(&'static str),
    /// A concurrent writer changed the same object first (the database
    /// refused a stale version or a taken place); the caller may retry.
    #[error("changed by someone else at the same moment ({0}); try again")]
    Contended(String),
    /// Too many wrong pickup codes; try again at `until`.
    #[error("too many wrong codes; try again after {}", until.with_timezone(&domain::shanghai()).format("%H:%M"))]
    Throttled {
        until: chrono::DateTime<chrono::Utc>,
    },
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(what) => AppError::Contended(what),
            StoreError::Backend(detail) => AppError::Internal(detail),
        }
    }
}

impl From<domain::TransitionError> for AppError {
    fn from(error: domain::TransitionError) -> Self {
        AppError::Conflict(error.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;
