//! The session handshake. Old clients omit the trailing `readOnly` byte; the server answers in the
//! client's form.

use crate::codec::{DecodeError, Reader, Record, Writer};
use bytes::{Bytes, BytesMut};

/// The first frame a client sends on a new connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The newest zxid the client has seen; a server that is behind it must refuse the client.
    pub last_zxid_seen: i64,
    /// The session timeout the client asks for, in milliseconds.
    pub timeout_ms: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: i64,
    /// The session password (16 bytes from the server; zeros for a new session).
    pub passwd: Bytes,
    /// `None` when the client's frame has no `readOnly` byte.
    pub read_only: Option<bool>,
}

impl Record for ConnectRequest {
    fn encode(&self, out: &mut BytesMut) {
        out.write_i32(self.protocol_version);
        out.write_i64(self.last_zxid_seen);
        out.write_i32(self.timeout_ms);
        out.write_i64(self.session_id);
        out.write_buffer(&self.passwd);
        if let Some(ro) = self.read_only {
            out.write_bool(ro);
        }
    }

    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let protocol_version = r.read_i32()?;
        let last_zxid_seen = r.read_i64()?;
        let timeout_ms = r.read_i32()?;
        let session_id = r.read_i64()?;
        let passwd = r.read_buffer()?;
        let read_only = if r.is_empty() {
            None
        } else {
            Some(r.read_bool()?)
        };
        Ok(Self {
            protocol_version,
            last_zxid_seen,
            timeout_ms,
            session_id,
            passwd,
            read_only,
        })
    }
}

/// The server's answer to a [`ConnectRequest`]. A session id of 0 with timeout 0 tells the client its
/// session is expired.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// The negotiated session timeout in milliseconds (0 with session id 0: expired).
    pub timeout_ms: i32,
    /// The session id.
    pub session_id: i64,
    /// The session password.
    pub passwd: Bytes,
    /// `None` answers a client that sent no `readOnly` byte.
    pub read_only: Option<bool>,
}

impl Record for ConnectResponse {
    fn encode(&self, out: &mut BytesMut) {
        out.write_i32(self.protocol_version);
        out.write_i32(self.timeout_ms);
        out.write_i64(self.session_id);
        out.write_buffer(&self.passwd);
        if let Some(ro) = self.read_only {
            out.write_bool(ro);
        }
    }

    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let protocol_version = r.read_i32()?;
        let timeout_ms = r.read_i32()?;
        let session_id = r.read_i64()?;
        let passwd = r.read_buffer()?;
        let read_only = if r.is_empty() {
            None
        } else {
            Some(r.read_bool()?)
        };
        Ok(Self {
            protocol_version,
            timeout_ms,
            session_id,
            passwd,
            read_only,
        })
    }
}
