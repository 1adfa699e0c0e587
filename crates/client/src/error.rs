//! The client's error type: ZooKeeper's error codes (`KeeperException.Code`) plus the few failures
//! that only a client can have (a bad argument, a malformed reply, a closed client).

use jute::ErrorCode;

/// Why an operation failed.
///
/// The first group mirrors ZooKeeper's error codes one to one, so code written against the Java
/// client's exceptions translates directly. [`Error::ConnectionLoss`] means the outcome of a
/// request is unknown (it may or may not have been applied); [`Error::SessionExpired`] means the
/// session and its ephemeral nodes are gone and this client is finished.
///
/// ```
/// use client::Error;
/// fn is_retryable(e: &Error) -> bool {
///     matches!(e, Error::ConnectionLoss | Error::OperationTimeout)
/// }
/// assert!(is_retryable(&Error::ConnectionLoss));
/// assert!(!is_retryable(&Error::NoNode));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server hit an unexpected condition (−1).
    #[error("system error")]
    SystemError,
    /// A multi was aborted by an earlier op's failure (−2); reported for the ops after it.
    #[error("runtime inconsistency")]
    RuntimeInconsistency,
    /// Data inconsistency (−3).
    #[error("data inconsistency")]
    DataInconsistency,
    /// The connection was lost while the request was in flight or waiting to be sent (−4).
    /// Whether it was applied is unknown.
    #[error("connection loss")]
    ConnectionLoss,
    /// The server could not decode the request (−5).
    #[error("marshalling error")]
    MarshallingError,
    /// The server does not implement the operation (−6), e.g. TTL nodes without extended types.
    #[error("operation unimplemented")]
    Unimplemented,
    /// The operation timed out (−7).
    #[error("operation timeout")]
    OperationTimeout,
    /// The server rejected an argument (−8).
    #[error("bad arguments")]
    BadArguments,
    /// Unknown session (−12).
    #[error("unknown session")]
    UnknownSession,
    /// A reconfiguration has no quorum (−13).
    #[error("new config has no quorum")]
    NewConfigNoQuorum,
    /// Another reconfiguration is in progress (−14).
    #[error("reconfig in progress")]
    ReconfigInProgress,
    /// Generic API error (−100).
    #[error("api error")]
    ApiError,
    /// The node does not exist (−101).
    #[error("no node")]
    NoNode,
    /// The session lacks the permission (−102).
    #[error("not authorized")]
    NoAuth,
    /// The expected version did not match (−103).
    #[error("bad version")]
    BadVersion,
    /// Ephemeral nodes cannot have children (−108).
    #[error("ephemeral nodes may not have children")]
    NoChildrenForEphemerals,
    /// The node already exists (−110).
    #[error("node exists")]
    NodeExists,
    /// The node has children (−111).
    #[error("node not empty")]
    NotEmpty,
    /// The session expired (−112): its ephemerals and watches are gone and this client is finished.
    #[error("session expired")]
    SessionExpired,
    /// Invalid callback (−113).
    #[error("invalid callback")]
    InvalidCallback,
    /// The ACL is invalid (−114), e.g. empty or `auth` with no authenticated identity.
    #[error("invalid ACL")]
    InvalidAcl,
    /// Authentication failed (−115); the client is finished.
    #[error("authentication failed")]
    AuthFailed,
    /// The session moved to another server (−118).
    #[error("session moved")]
    SessionMoved,
    /// A write was sent to a read-only server (−119).
    #[error("server is read-only")]
    NotReadOnly,
    /// Ephemeral node on a local session (−120).
    #[error("ephemeral on local session")]
    EphemeralOnLocalSession,
    /// No such watch on the server (−121).
    #[error("no watcher")]
    NoWatcher,
    /// The request timed out (−122).
    #[error("request timeout")]
    RequestTimeout,
    /// Reconfiguration is disabled (−123).
    #[error("reconfig disabled")]
    ReconfigDisabled,
    /// The session was closed because SASL authentication is required (−124).
    #[error("session closed: SASL authentication required")]
    SessionClosedRequireSaslAuth,
    /// A hard quota was exceeded (−125).
    #[error("quota exceeded")]
    QuotaExceeded,
    /// The server throttled the request (−127).
    #[error("throttled")]
    ThrottledOp,
    /// An error code ZooKeeper does not define.
    #[error("unknown error code {0}")]
    Unknown(i32),
    /// The client refused an argument before sending anything (a malformed path, a TTL on a
    /// mode that takes none, ...), as ZooKeeper's clients do.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A reply did not decode. The session goes on; only this request failed.
    #[error("malformed reply: {0}")]
    Decode(#[from] jute::DecodeError),
    /// The client was closed (by [`crate::Client::close`] or by dropping every handle).
    #[error("client closed")]
    Closed,
}

impl Error {
    /// The error for a non-zero `ReplyHeader.err`.
    pub fn from_code(code: i32) -> Error {
        match ErrorCode::from_i32(code) {
            Some(c) => Error::from(c),
            None => Error::Unknown(code),
        }
    }

    /// ZooKeeper's code for this error; `None` for the client-only variants.
    pub fn code(&self) -> Option<ErrorCode> {
        use Error as E;
        use ErrorCode as C;
        Some(match self {
            E::SystemError => C::SystemError,
            E::RuntimeInconsistency => C::RuntimeInconsistency,
            E::DataInconsistency => C::DataInconsistency,
            E::ConnectionLoss => C::ConnectionLoss,
            E::MarshallingError => C::MarshallingError,
            E::Unimplemented => C::Unimplemented,
            E::OperationTimeout => C::OperationTimeout,
            E::BadArguments => C::BadArguments,
            E::UnknownSession => C::UnknownSession,
            E::NewConfigNoQuorum => C::NewConfigNoQuorum,
            E::ReconfigInProgress => C::ReconfigInProgress,
            E::ApiError => C::ApiError,
            E::NoNode => C::NoNode,
            E::NoAuth => C::NoAuth,
            E::BadVersion => C::BadVersion,
            E::NoChildrenForEphemerals => C::NoChildrenForEphemerals,
            E::NodeExists => C::NodeExists,
            E::NotEmpty => C::NotEmpty,
            E::SessionExpired => C::SessionExpired,
            E::InvalidCallback => C::InvalidCallback,
            E::InvalidAcl => C::InvalidAcl,
            E::AuthFailed => C::AuthFailed,
            E::SessionMoved => C::SessionMoved,
            E::NotReadOnly => C::NotReadOnly,
            E::EphemeralOnLocalSession => C::EphemeralOnLocalSession,
            E::NoWatcher => C::NoWatcher,
            E::RequestTimeout => C::RequestTimeout,
            E::ReconfigDisabled => C::ReconfigDisabled,
            E::SessionClosedRequireSaslAuth => C::SessionClosedRequireSaslAuth,
            E::QuotaExceeded => C::QuotaExceeded,
            E::ThrottledOp => C::ThrottledOp,
            E::Unknown(_) | E::InvalidArgument(_) | E::Decode(_) | E::Closed => return None,
        })
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Error {
        use Error as E;
        use ErrorCode as C;
        match code {
            // Ok is never turned into an error by this crate; treat a stray one as unknown.
            C::Ok => E::Unknown(0),
            C::SystemError => E::SystemError,
            C::RuntimeInconsistency => E::RuntimeInconsistency,
            C::DataInconsistency => E::DataInconsistency,
            C::ConnectionLoss => E::ConnectionLoss,
            C::MarshallingError => E::MarshallingError,
            C::Unimplemented => E::Unimplemented,
            C::OperationTimeout => E::OperationTimeout,
            C::BadArguments => E::BadArguments,
            C::UnknownSession => E::UnknownSession,
            C::NewConfigNoQuorum => E::NewConfigNoQuorum,
            C::ReconfigInProgress => E::ReconfigInProgress,
            C::ApiError => E::ApiError,
            C::NoNode => E::NoNode,
            C::NoAuth => E::NoAuth,
            C::BadVersion => E::BadVersion,
            C::NoChildrenForEphemerals => E::NoChildrenForEphemerals,
            C::NodeExists => E::NodeExists,
            C::NotEmpty => E::NotEmpty,
            C::SessionExpired => E::SessionExpired,
            C::InvalidCallback => E::InvalidCallback,
            C::InvalidAcl => E::InvalidAcl,
            C::AuthFailed => E::AuthFailed,
            C::SessionMoved => E::SessionMoved,
            C::NotReadOnly => E::NotReadOnly,
            C::EphemeralOnLocalSession => E::EphemeralOnLocalSession,
            C::NoWatcher => E::NoWatcher,
            C::RequestTimeout => E::RequestTimeout,
            C::ReconfigDisabled => E::ReconfigDisabled,
            C::SessionClosedRequireSaslAuth => E::SessionClosedRequireSaslAuth,
            C::QuotaExceeded => E::QuotaExceeded,
            C::ThrottledOp => E::ThrottledOp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_code_round_trips() {
        for code in -200..=0 {
            let Some(c) = ErrorCode::from_i32(code) else {
                assert_eq!(Error::from_code(code), Error::Unknown(code));
                continue;
            };
            if c == ErrorCode::Ok {
                continue;
            }
            let e = Error::from_code(code);
            assert_eq!(e.code(), Some(c), "code {code}");
        }
    }

    #[test]
    fn client_side_errors_have_no_code() {
        assert_eq!(Error::Closed.code(), None);
        assert_eq!(Error::invalid("x").code(), None);
    }
}
