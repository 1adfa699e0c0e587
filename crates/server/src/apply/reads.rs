//! Reads served from the applied tree: they register watches atomically with the read, because the
//! apply task is the only writer of both the tree and the watch manager.

use crate::outbound::{Outbound, ReplyBody};
use crate::watches::{ConnId, PersistentKind, WatchManager};
use jute::proto::SetWatches2;
use jute::{perms, AddWatchMode, ClientInfo, ErrorCode, EventType, MultiOp, MultiResult};
use jute::{Request, WatcherType};
use std::sync::Arc;
use tree::{validate_path, DataTree, Identity};

/// A request answered from this server's applied state.
#[derive(Debug)]
pub struct ReadRequest {
    pub conn_id: ConnId,
    pub session_id: i64,
    pub xid: i32,
    pub identity: Arc<Identity>,
    pub request: Request,
    /// Serve only once the tree has applied this zxid (`sync`); 0 for ordinary reads.
    pub barrier_zxid: i64,
    /// An error decided before the apply task; answered in order instead of serving the request.
    pub prep_error: Option<ErrorCode>,
}

/// The reply plus any watch events that must reach the client before it.
pub struct ReadReply {
    pub events: Vec<Outbound>,
    pub reply: Outbound,
}

/// Answers one read.
pub fn serve(tree: &DataTree, watches: &mut WatchManager, read: ReadRequest) -> ReadReply {
    let mut events = Vec::new();
    let zxid = tree.last_zxid();
    let result = match read.prep_error {
        Some(err) => Err(err),
        None => answer(tree, watches, &read, &mut events),
    };
    let (err, body) = match result {
        Ok(body) => (ErrorCode::Ok, body),
        Err(err) => (err, ReplyBody::Empty),
    };
    ReadReply {
        events,
        reply: Outbound::Reply {
            xid: read.xid,
            zxid,
            err,
            body,
            write: false,
        },
    }
}

fn watch_path(path: &str) -> Arc<str> {
    Arc::from(path)
}

fn answer(
    tree: &DataTree,
    watches: &mut WatchManager,
    read: &ReadRequest,
    events: &mut Vec<Outbound>,
) -> Result<ReplyBody, ErrorCode> {
    let conn = read.conn_id;
    let identity = &*read.identity;
    match &read.request {
        Request::Exists(q) => {
            validate_path(&q.path, false)?;
            let stat = tree.stat(&q.path);
            if q.watch {
                // A watch on a missing node waits for its creation; both live in the data table.
                watches.add_data_watch(&watch_path(&q.path), conn);
            }
            stat.map(ReplyBody::Stat).ok_or(ErrorCode::NoNode)
        }
        Request::GetData(q) => {
            validate_path(&q.path, false)?;
            tree.check_acl(&q.path, perms::READ, identity)?;
            let (data, stat) = tree.get_data(&q.path).ok_or(ErrorCode::NoNode)?;
            if q.watch {
                watches.add_data_watch(&watch_path(&q.path), conn);
            }
            Ok(ReplyBody::Data { data, stat })
        }
        Request::GetChildren(q) => {
            let (children, _) = children(tree, watches, conn, identity, &q.path, q.watch)?;
            Ok(ReplyBody::Children(children))
        }
        Request::GetChildren2(q) => {
            let (children, stat) = children(tree, watches, conn, identity, &q.path, q.watch)?;
            Ok(ReplyBody::Children2 { children, stat })
        }
        Request::GetAcl(q) => {
            validate_path(&q.path, false)?;
            tree.check_acl(&q.path, perms::READ | perms::ADMIN, identity)?;
            let (mut acl, stat) = tree.get_acl(&q.path).ok_or(ErrorCode::NoNode)?;
            if tree.check_acl(&q.path, perms::ADMIN, identity).is_err() {
                // Without ADMIN a reader may see who has access, not the password hashes.
                for entry in &mut acl {
                    if entry.id.scheme == "digest" {
                        if let Some((user, _)) = entry.id.id.split_once(':') {
                            entry.id.id = format!("{user}:x");
                        }
                    }
                }
            }
            Ok(ReplyBody::Acl { acl, stat })
        }
        Request::GetAllChildrenNumber(q) => {
            validate_path(&q.path, false)?;
            tree.check_acl(&q.path, perms::READ, identity)?;
            tree.all_children_number(&q.path)
                .map(ReplyBody::Count)
                .ok_or(ErrorCode::NoNode)
        }
        Request::GetEphemerals(q) => Ok(ReplyBody::Paths(
            tree.ephemerals(read.session_id, &q.prefix_path),
        )),
        Request::Sync(q) => Ok(ReplyBody::Path(q.path.clone())),
        Request::MultiRead(ops) => Ok(ReplyBody::Multi(
            ops.iter()
                .map(|op| multi_read_op(tree, identity, op))
                .collect(),
        )),
        Request::CheckWatches(q) => {
            let kind = WatcherType::from_i32(q.watcher_type).ok_or(ErrorCode::BadArguments)?;
            if watches.contains(&q.path, conn, kind) {
                Ok(ReplyBody::Empty)
            } else {
                Err(ErrorCode::NoWatcher)
            }
        }
        Request::RemoveWatches(q) => {
            let kind = WatcherType::from_i32(q.watcher_type).ok_or(ErrorCode::BadArguments)?;
            if watches.remove(&q.path, conn, kind).is_empty() {
                Err(ErrorCode::NoWatcher)
            } else {
                Ok(ReplyBody::Empty)
            }
        }
        Request::AddWatch(q) => {
            validate_path(&q.path, false)?;
            let kind = match AddWatchMode::from_i32(q.mode) {
                Some(AddWatchMode::Persistent) => PersistentKind::Persistent,
                Some(AddWatchMode::PersistentRecursive) => PersistentKind::Recursive,
                None => return Err(ErrorCode::BadArguments),
            };
            watches.add_persistent_watch(&watch_path(&q.path), conn, kind);
            Ok(ReplyBody::ErrorResponse(ErrorCode::Ok))
        }
        Request::SetWatches(w) => {
            set_watches(tree, watches, conn, w, events);
            Ok(ReplyBody::Empty)
        }
        Request::WhoAmI => Ok(ReplyBody::WhoAmI(
            identity.ids.iter().map(client_info).collect(),
        )),
        _ => Err(ErrorCode::Unimplemented),
    }
}

fn children(
    tree: &DataTree,
    watches: &mut WatchManager,
    conn: ConnId,
    identity: &Identity,
    path: &str,
    watch: bool,
) -> Result<(Vec<String>, jute::Stat), ErrorCode> {
    validate_path(path, false)?;
    tree.check_acl(path, perms::READ, identity)?;
    let found = tree.get_children(path).ok_or(ErrorCode::NoNode)?;
    if watch {
        watches.add_child_watch(&watch_path(path), conn);
    }
    Ok(found)
}

fn multi_read_op(tree: &DataTree, identity: &Identity, op: &MultiOp) -> MultiResult {
    let result = match op {
        MultiOp::GetChildren(q) => validate_path(&q.path, false)
            .and_then(|_| tree.check_acl(&q.path, perms::READ, identity))
            .and_then(|_| tree.get_children(&q.path).ok_or(ErrorCode::NoNode))
            .map(|(children, _)| MultiResult::GetChildren { children }),
        MultiOp::GetData(q) => validate_path(&q.path, false)
            .and_then(|_| tree.check_acl(&q.path, perms::READ, identity))
            .and_then(|_| tree.get_data(&q.path).ok_or(ErrorCode::NoNode))
            .map(|(data, stat)| MultiResult::GetData { data, stat }),
        _ => Err(ErrorCode::BadArguments),
    };
    result.unwrap_or_else(|err| MultiResult::Error { err })
}

/// Re-registers a reconnecting client's watches, firing at once whatever changed after the last
/// zxid it saw (ZooKeeper's `DataTree.setWatches`).
fn set_watches(
    tree: &DataTree,
    watches: &mut WatchManager,
    conn: ConnId,
    w: &SetWatches2,
    events: &mut Vec<Outbound>,
) {
    // No single transaction caused these events (they summarise what the client missed), so
    // like ZooKeeper's DataTree.setWatches they carry zxid -1.
    let zxid = -1;
    let mut fire = |event: EventType, path: &str| {
        events.push(Outbound::Event {
            event,
            path: watch_path(path),
            zxid,
        })
    };
    for path in &w.data_watches {
        match tree.stat(path) {
            None => fire(EventType::NodeDeleted, path),
            Some(stat) if stat.mzxid > w.relative_zxid => fire(EventType::NodeDataChanged, path),
            Some(_) => watches.add_data_watch(&watch_path(path), conn),
        }
    }
    for path in &w.exist_watches {
        match tree.stat(path) {
            Some(_) => fire(EventType::NodeCreated, path),
            None => watches.add_data_watch(&watch_path(path), conn),
        }
    }
    for path in &w.child_watches {
        match tree.stat(path) {
            None => fire(EventType::NodeDeleted, path),
            Some(stat) if stat.pzxid > w.relative_zxid => {
                fire(EventType::NodeChildrenChanged, path)
            }
            Some(_) => watches.add_child_watch(&watch_path(path), conn),
        }
    }
    for path in &w.persistent_watches {
        watches.add_persistent_watch(&watch_path(path), conn, PersistentKind::Persistent);
    }
    for path in &w.persistent_recursive_watches {
        watches.add_persistent_watch(&watch_path(path), conn, PersistentKind::Recursive);
    }
}

/// How `whoAmI` names an id: digest ids by user name, others by their id.
fn client_info(id: &jute::Id) -> ClientInfo {
    let user = match id.scheme.as_str() {
        "digest" => id.id.split(':').next().unwrap_or_default().to_owned(),
        _ => id.id.clone(),
    };
    ClientInfo {
        auth_scheme: id.scheme.clone(),
        user,
    }
}
