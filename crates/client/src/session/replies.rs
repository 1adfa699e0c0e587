//! What the session task does with each frame from the server: notifications to the watches,
//! auth answers to their callers, replies to the oldest request in flight.

use super::io::{reply, Io};
use super::{End, OnReply, SessionTask};
use crate::error::Error;
use crate::state::SessionState;
use bytes::Bytes;
use jute::proto::{ReplyHeader, WatcherEvent};
use jute::{xid, ErrorCode, EventType, OpCode, Reader, Record};

impl SessionTask {
    /// Handles one frame from the server; `Some` ends the connection.
    pub(super) fn on_frame(&mut self, body: Bytes, io: &mut Io) -> Option<End> {
        let mut r = Reader::new(body);
        let header = match ReplyHeader::decode(&mut r) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "malformed reply header");
                return Some(End::Lost);
            }
        };
        match header.xid {
            xid::NOTIFICATION => {
                match WatcherEvent::decode(&mut r) {
                    Ok(ev) => match EventType::from_i32(ev.event_type) {
                        Some(t) => {
                            self.watches
                                .dispatch(t, &ev.path, header.zxid, &self.cfg.chroot)
                        }
                        None => tracing::warn!(event = ?ev, "unknown event type"),
                    },
                    Err(e) => tracing::warn!(error = %e, "malformed notification"),
                }
                None
            }
            xid::PING => None,
            xid::AUTH => {
                let waiter = io.auth_pending.pop_front().flatten();
                if header.err == ErrorCode::AuthFailed.as_i32() {
                    // Final before anyone hears of it, so a caller sees the state it implies.
                    self.shared.set_state(SessionState::AuthFailed);
                    if let Some(w) = waiter {
                        let _ = w.send(Err(Error::AuthFailed));
                    }
                    tracing::warn!("authentication failed");
                    return Some(End::Terminal(SessionState::AuthFailed));
                }
                if let Some(w) = waiter {
                    let _ = w.send(if header.err == 0 {
                        Ok(())
                    } else {
                        Err(Error::from_code(header.err))
                    });
                }
                None
            }
            _ => self.on_reply(header, r, io),
        }
    }

    fn on_reply(&mut self, header: ReplyHeader, mut r: Reader, io: &mut Io) -> Option<End> {
        let Some(p) = io.pending.pop_front() else {
            tracing::warn!(xid = header.xid, "reply to no request");
            return Some(End::Lost);
        };
        if p.xid != header.xid {
            // Replies come in request order; anything else means the stream cannot be trusted.
            tracing::warn!(expected = p.xid, got = header.xid, "reply out of order");
            reply(p.reply, Err(Error::ConnectionLoss));
            return Some(End::Lost);
        }
        if header.zxid > 0 {
            self.last_zxid = header.zxid;
            self.shared.set_last_zxid(header.zxid);
        }
        match p.on_reply {
            Some(OnReply::Register(reg)) => self.watches.on_reply(reg, header.err),
            Some(OnReply::RemoveWatches {
                server_path,
                watcher_type,
            }) if header.err == 0 => {
                self.watches
                    .remove(&server_path, watcher_type, &self.cfg.chroot)
            }
            _ => {}
        }
        if header.err != 0 && p.reply.is_none() {
            tracing::debug!(op = ?p.op, err = header.err, "internal request failed");
        }
        let result = if header.err == 0 {
            Ok(r.take_rest())
        } else {
            Err(Error::from_code(header.err))
        };
        if p.op == OpCode::CloseSession {
            self.shared.set_state(SessionState::Closed);
            reply(p.reply, result);
            return Some(End::Terminal(SessionState::Closed));
        }
        reply(p.reply, result);
        None
    }
}
