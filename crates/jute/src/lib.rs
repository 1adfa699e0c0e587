//! ZooKeeper's client wire protocol ("jute"), as spoken by ZooKeeper 3.9: primitives, every record a
//! client sends or receives, op codes, error codes, the session handshake, `multi`, and framing with
//! four-letter-word detection. A pure codec: no I/O, no async.

mod codec;
mod connect;
pub mod data;
mod error_code;
pub mod frame;
mod modes;
pub mod multi;
mod opcode;
mod path;
pub mod proto;
mod record_macro;
mod request;

pub use codec::{DecodeError, Reader, Record, Writer};
pub use connect::{ConnectRequest, ConnectResponse};
pub use data::{perms, Acl, ClientInfo, Id, Stat};
pub use error_code::ErrorCode;
pub use frame::{Frame, FrameDecoder, FrameError};
pub use modes::{AddWatchMode, CreateMode, EventType, KeeperState, WatcherType};
pub use multi::{MultiOp, MultiResult};
pub use opcode::{xid, OpCode};
pub use path::{validate_path, PathError};
pub use request::{CreateOp, Request};

/// What [`record!`] expands to needs, reachable from crates that do not depend on `bytes`.
#[doc(hidden)]
pub mod __private {
    pub use bytes::BytesMut;
}
