//! The recipes' error type.

use client::SessionState;

/// Why a recipe operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A request failed with an error the recipe does not handle itself.
    #[error(transparent)]
    Client(#[from] client::Error),
    /// The session ended (expired, closed or refused authentication) while the recipe needed
    /// it; every ephemeral node of the recipe is gone or will be once the server notices.
    #[error("session ended: {0:?}")]
    SessionEnded(SessionState),
    /// The recipe's own ephemeral node disappeared while the session was still alive (someone
    /// deleted it, or the session expired and the client has not heard yet).
    #[error("recipe node {0} disappeared")]
    NodeLost(String),
    /// A write was sent but the connection dropped before its reply: it may or may not have
    /// been applied, and retrying blindly could apply it twice.
    #[error("outcome unknown: the connection dropped before the reply to a write on {0}")]
    OutcomeUnknown(String),
    /// A compare-and-set loop lost the race more often than its limit allows.
    #[error("gave up on {path} after {attempts} conflicting attempts")]
    TooManyRetries {
        /// The contended node.
        path: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A node holds data the recipe cannot read.
    #[error("malformed data at {path}: {reason}")]
    Malformed {
        /// The node.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A path or name the recipe cannot use.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
