//! What can go wrong in the shell, with the messages zkCli prints for the same failures.

use client::Error;

/// A failed command. `Display` gives the line zkCli prints on stderr.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The server (or the client library) refused an operation on `path`.
    #[error("{}", keeper_message(.error, .path))]
    Keeper {
        /// Why.
        error: Error,
        /// The path the command named.
        path: String,
    },
    /// The command's arguments do not fit its syntax; the message is its usage line.
    #[error("{0}")]
    Usage(String),
    /// An option the command does not have.
    #[error("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {0}")]
    UnknownOption(String),
    /// A word that is not a command.
    #[error("Command not found {0}")]
    UnknownCommand(String),
    /// A malformed argument (ACL, version, TTL, history index ...).
    #[error("{0}")]
    Invalid(String),
    /// A command that needs a session ran without one.
    #[error("Not connected")]
    NotConnected,
    /// Could not write the answer.
    #[error("output error: {0}")]
    Io(#[from] std::io::Error),
}

impl ShellError {
    /// `error` on `path`.
    pub fn keeper(error: Error, path: &str) -> ShellError {
        ShellError::Keeper {
            error,
            path: path.to_string(),
        }
    }
}

/// zkCli's `CliWrapperException` wording (ZooKeeper 3.8: "Insufficient permission", checked
/// against the real zkCli); other codes fall back to `KeeperException`'s message.
fn keeper_message(error: &Error, path: &str) -> String {
    match error {
        Error::NoNode => format!("Node does not exist: {path}"),
        Error::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {path}"),
        Error::NodeExists => format!("Node already exists: {path}"),
        Error::NotEmpty => format!("Node not empty: {path}"),
        Error::NotReadOnly => format!("Not a read-only call: {path}"),
        Error::InvalidAcl => format!("Acl is not valid : {path}"),
        Error::NoAuth => format!("Insufficient permission : {path}"),
        Error::BadArguments => format!("Arguments are not valid : {path}"),
        Error::BadVersion => format!("version No is not valid : {path}"),
        Error::InvalidArgument(why) => why.clone(),
        other => {
            let code = code_message(other);
            if path.is_empty() {
                format!("KeeperErrorCode = {code}")
            } else {
                format!("KeeperErrorCode = {code} for {path}")
            }
        }
    }
}

/// `KeeperException.getCodeMessage`: mostly the code's name, a few in words.
fn code_message(error: &Error) -> String {
    match error {
        Error::NotEmpty => "Directory not empty".into(),
        Error::SessionExpired => "Session expired".into(),
        Error::InvalidCallback => "Invalid callback".into(),
        Error::SessionMoved => "Session moved".into(),
        Error::NotReadOnly => "Not a read-only call".into(),
        Error::EphemeralOnLocalSession => "Ephemeral node on local session".into(),
        Error::NoWatcher => "No such watcher".into(),
        Error::ReconfigDisabled => "Reconfig is disabled".into(),
        Error::SessionClosedRequireSaslAuth => {
            "Session closed because client failed to authenticate".into()
        }
        Error::QuotaExceeded => "Quota has exceeded".into(),
        Error::ThrottledOp => "Op throttled due to high load".into(),
        Error::ApiError => "APIError".into(),
        Error::InvalidAcl => "InvalidACL".into(),
        Error::Unknown(code) => format!("Unknown error {code}"),
        other => match other.code() {
            Some(code) => format!("{code:?}"),
            // Failures of the client itself have no code; say what happened.
            None => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zkcli_wording() {
        let msg = |e| ShellError::keeper(e, "/x").to_string();
        assert_eq!(msg(Error::NoNode), "Node does not exist: /x");
        assert_eq!(msg(Error::BadVersion), "version No is not valid : /x");
        assert_eq!(msg(Error::NoAuth), "Insufficient permission : /x");
        assert_eq!(
            msg(Error::NoWatcher),
            "KeeperErrorCode = No such watcher for /x"
        );
        assert_eq!(
            msg(Error::ConnectionLoss),
            "KeeperErrorCode = ConnectionLoss for /x"
        );
        assert_eq!(
            ShellError::keeper(Error::SessionExpired, "").to_string(),
            "KeeperErrorCode = Session expired"
        );
    }
}
