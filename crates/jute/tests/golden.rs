//! Golden frames captured from a real ZooKeeper 3.8 server (see tests/golden/capture.py): every
//! frame decodes with our codec, the decoded values match what the capture did, and re-encoding
//! gives back the identical bytes.

use bytes::{Bytes, BytesMut};
use jute::frame::{write_frame, DEFAULT_MAX_BUFFER};
use jute::multi::{decode_multi_response, encode_multi_response};
use jute::proto::*;
use jute::{
    Acl, ConnectRequest, ConnectResponse, ErrorCode, EventType, Frame, FrameDecoder, Id,
    KeeperState, MultiOp, MultiResult, OpCode, Reader, Record, Request, Stat,
};
use std::collections::{BTreeSet, HashMap};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

/// Every fixture; a test below checks the directory holds exactly these.
const FIXTURES: &[&str] = &[
    "connect",
    "connect_old_client",
    "create_persistent",
    "create_ephemeral_sequential",
    "create2",
    "create_container",
    "create_ttl",
    "get_data",
    "set_data",
    "exists_hit",
    "exists_miss",
    "get_children",
    "get_children2",
    "delete",
    "get_acl",
    "set_acl",
    "multi_success",
    "multi_failure",
    "multi_read",
    "sync",
    "ping",
    "watch_notification",
    "auth",
    "add_watch",
    "remove_watches",
    "who_am_i",
    "get_all_children_number",
    "get_ephemerals",
    "set_watches",
    "set_watches2",
    "error_no_node",
    "error_node_exists",
    "error_bad_version",
    "error_not_empty",
    "reconnect",
    "close_session",
    "four_letter_ruok",
];

// ---------------------------------------------------------------------------------------------
// Reading fixtures.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToServer,
    ToClient,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Connect,
    Packet,
    Raw,
}

struct Line {
    direction: Direction,
    kind: Kind,
    bytes: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn read_fixture(name: &str) -> Vec<Line> {
    let text = std::fs::read_to_string(format!("{DIR}/{name}.hex"))
        .unwrap_or_else(|e| panic!("{name}.hex: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let direction = match parts.next() {
                Some(">") => Direction::ToServer,
                Some("<") => Direction::ToClient,
                other => panic!("{name}: bad direction {other:?}"),
            };
            let kind = match parts.next() {
                Some("connect") => Kind::Connect,
                Some("packet") => Kind::Packet,
                Some("raw") => Kind::Raw,
                other => panic!("{name}: bad kind {other:?}"),
            };
            let bytes = unhex(parts.next().expect("hex"));
            Line {
                direction,
                kind,
                bytes,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Decoding a transcript, checking that every frame re-encodes to its bytes.

/// A reply body, decoded by the op code of the request it answers.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Empty,
    Create(CreateResponse),
    Create2(Create2Response),
    SetData(SetDataResponse),
    Exists(ExistsResponse),
    GetData(GetDataResponse),
    Children(GetChildrenResponse),
    Children2(GetChildren2Response),
    GetAcl(GetAclResponse),
    SetAcl(SetAclResponse),
    Sync(SyncResponse),
    Multi(Vec<MultiResult>),
    WhoAmI(WhoAmIResponse),
    AllChildrenNumber(GetAllChildrenNumberResponse),
    Ephemerals(GetEphemeralsResponse),
    Error(ErrorResponse),
    Sasl(SetSaslResponse),
}

impl Reply {
    fn decode(op: OpCode, err: i32, r: &mut Reader) -> Reply {
        // ZooKeeper sends no body with an error.
        if err != 0 {
            return Reply::Empty;
        }
        use OpCode as O;
        match op {
            O::Create => Reply::Create(Record::decode(r).unwrap()),
            O::Create2 | O::CreateContainer | O::CreateTtl => {
                Reply::Create2(Record::decode(r).unwrap())
            }
            O::SetData | O::Check => Reply::SetData(Record::decode(r).unwrap()),
            O::Exists => Reply::Exists(Record::decode(r).unwrap()),
            O::GetData | O::Reconfig => Reply::GetData(Record::decode(r).unwrap()),
            O::GetChildren => Reply::Children(Record::decode(r).unwrap()),
            O::GetChildren2 => Reply::Children2(Record::decode(r).unwrap()),
            O::GetAcl => Reply::GetAcl(Record::decode(r).unwrap()),
            O::SetAcl => Reply::SetAcl(Record::decode(r).unwrap()),
            O::Sync => Reply::Sync(Record::decode(r).unwrap()),
            O::Multi | O::MultiRead => Reply::Multi(decode_multi_response(r).unwrap()),
            O::WhoAmI => Reply::WhoAmI(Record::decode(r).unwrap()),
            O::GetAllChildrenNumber => Reply::AllChildrenNumber(Record::decode(r).unwrap()),
            O::GetEphemerals => Reply::Ephemerals(Record::decode(r).unwrap()),
            O::AddWatch => Reply::Error(Record::decode(r).unwrap()),
            O::Sasl => Reply::Sasl(Record::decode(r).unwrap()),
            O::Delete
            | O::Ping
            | O::CheckWatches
            | O::RemoveWatches
            | O::SetWatches
            | O::SetWatches2
            | O::CloseSession
            | O::Auth => Reply::Empty,
            O::Notification | O::DeleteContainer | O::CreateSession | O::Error => {
                panic!("no client request has op {op:?}")
            }
        }
    }

    fn encode(&self, out: &mut BytesMut) {
        match self {
            Reply::Empty => {}
            Reply::Create(v) => v.encode(out),
            Reply::Create2(v) => v.encode(out),
            Reply::SetData(v) => v.encode(out),
            Reply::Exists(v) => v.encode(out),
            Reply::GetData(v) => v.encode(out),
            Reply::Children(v) => v.encode(out),
            Reply::Children2(v) => v.encode(out),
            Reply::GetAcl(v) => v.encode(out),
            Reply::SetAcl(v) => v.encode(out),
            Reply::Sync(v) => v.encode(out),
            Reply::Multi(v) => encode_multi_response(v, out),
            Reply::WhoAmI(v) => v.encode(out),
            Reply::AllChildrenNumber(v) => v.encode(out),
            Reply::Ephemerals(v) => v.encode(out),
            Reply::Error(v) => v.encode(out),
            Reply::Sasl(v) => v.encode(out),
        }
    }
}

#[derive(Debug)]
enum Event {
    ConnectRequest(ConnectRequest),
    ConnectResponse(ConnectResponse),
    Request {
        xid: i32,
        req: Request,
    },
    Reply {
        header: ReplyHeader,
        op: OpCode,
        body: Reply,
    },
    Notification {
        header: ReplyHeader,
        event: WatcherEvent,
    },
    FourLetterWord(&'static str),
    RawAnswer(Vec<u8>),
}

/// Takes exactly one frame body out of `line` with `decoder`.
fn unframe(decoder: &mut FrameDecoder, line: &Line) -> Bytes {
    let mut buf = BytesMut::from(&line.bytes[..]);
    match decoder.decode(&mut buf) {
        Ok(Some(Frame::Packet(body))) => {
            assert!(buf.is_empty(), "a line holds exactly one frame");
            body
        }
        other => panic!("expected one packet, got {other:?}"),
    }
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    write_frame(body, &mut out);
    out.to_vec()
}

struct Transcript {
    name: &'static str,
    events: Vec<Event>,
}

impl Transcript {
    /// Decodes every line of a fixture, asserting each re-encodes to the captured bytes.
    fn load(name: &'static str) -> Transcript {
        let mut to_server = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut to_client = FrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut ops: HashMap<i32, OpCode> = HashMap::new();
        let mut events = Vec::new();
        for (n, line) in read_fixture(name).iter().enumerate() {
            let at = format!("{name}.hex frame {n}");
            let event = match (line.direction, line.kind) {
                (Direction::ToServer, Kind::Connect) => {
                    // A new connection: fresh framing state on both sides.
                    to_server = FrameDecoder::new(DEFAULT_MAX_BUFFER);
                    to_client = FrameDecoder::new(DEFAULT_MAX_BUFFER);
                    let req = ConnectRequest::from_bytes(unframe(&mut to_server, line))
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                    assert_eq!(framed(&req.to_bytes()), line.bytes, "{at}: re-encoding");
                    Event::ConnectRequest(req)
                }
                (Direction::ToClient, Kind::Connect) => {
                    let resp = ConnectResponse::from_bytes(unframe(&mut to_client, line))
                        .unwrap_or_else(|e| panic!("{at}: {e}"));
                    assert_eq!(framed(&resp.to_bytes()), line.bytes, "{at}: re-encoding");
                    Event::ConnectResponse(resp)
                }
                (Direction::ToServer, Kind::Packet) => {
                    let mut r = Reader::new(unframe(&mut to_server, line));
                    let header = RequestHeader::decode(&mut r).unwrap();
                    let op = OpCode::from_i32(header.op)
                        .unwrap_or_else(|| panic!("{at}: unknown op {}", header.op));
                    let req = Request::decode(op, &mut r).unwrap_or_else(|e| panic!("{at}: {e}"));
                    r.finish().unwrap_or_else(|e| panic!("{at}: {e}"));
                    let mut out = BytesMut::new();
                    header.encode(&mut out);
                    encode_request_as(op, &req, &mut out);
                    assert_eq!(framed(&out), line.bytes, "{at}: re-encoding");
                    ops.insert(header.xid, op);
                    Event::Request {
                        xid: header.xid,
                        req,
                    }
                }
                (Direction::ToClient, Kind::Packet) => {
                    let mut r = Reader::new(unframe(&mut to_client, line));
                    let header = ReplyHeader::decode(&mut r).unwrap();
                    let mut out = BytesMut::new();
                    header.encode(&mut out);
                    let event = if header.xid == jute::xid::NOTIFICATION {
                        let event = WatcherEvent::decode(&mut r).unwrap();
                        event.encode(&mut out);
                        Event::Notification { header, event }
                    } else {
                        let op = *ops
                            .get(&header.xid)
                            .unwrap_or_else(|| panic!("{at}: reply to unknown xid {}", header.xid));
                        let body = Reply::decode(op, header.err, &mut r);
                        body.encode(&mut out);
                        Event::Reply { header, op, body }
                    };
                    r.finish()
                        .unwrap_or_else(|e| panic!("{at}: body shape: {e}"));
                    assert_eq!(framed(&out), line.bytes, "{at}: re-encoding");
                    event
                }
                (Direction::ToServer, Kind::Raw) => {
                    let mut decoder = FrameDecoder::new(DEFAULT_MAX_BUFFER);
                    let mut buf = BytesMut::from(&line.bytes[..]);
                    match decoder.decode(&mut buf) {
                        Ok(Some(Frame::FourLetterWord(word))) => {
                            assert_eq!(word.as_bytes(), &line.bytes[..], "{at}");
                            Event::FourLetterWord(word)
                        }
                        other => panic!("{at}: expected a four-letter word, got {other:?}"),
                    }
                }
                (Direction::ToClient, Kind::Raw) => Event::RawAnswer(line.bytes.clone()),
            };
            events.push(event);
        }
        assert!(!events.is_empty(), "{name}: empty fixture");
        Transcript { name, events }
    }

    fn requests(&self) -> Vec<(i32, &Request)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Request { xid, req } => Some((*xid, req)),
                _ => None,
            })
            .collect()
    }

    /// The only request of the transcript.
    fn request(&self) -> (i32, &Request) {
        let reqs = self.requests();
        assert_eq!(reqs.len(), 1, "{}: expected one request", self.name);
        reqs[0]
    }

    fn reply_to(&self, xid: i32) -> (&ReplyHeader, &Reply) {
        self.events
            .iter()
            .find_map(|e| match e {
                Event::Reply { header, body, .. } if header.xid == xid => Some((header, body)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{}: no reply to xid {xid}", self.name))
    }

    /// The only request and its reply.
    fn exchange(&self) -> (&Request, &ReplyHeader, &Reply) {
        let (xid, req) = self.request();
        let (header, body) = self.reply_to(xid);
        (req, header, body)
    }

    fn notifications(&self) -> Vec<(&ReplyHeader, &WatcherEvent)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Notification { header, event } => Some((header, event)),
                _ => None,
            })
            .collect()
    }

    fn position(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events
            .iter()
            .position(pred)
            .unwrap_or_else(|| panic!("{}: event not found", self.name))
    }
}

/// Encodes a request body the way the client sent it: `setWatches` (101) decodes into the
/// setWatches2 shape, so it is re-encoded as the old record.
fn encode_request_as(op: OpCode, req: &Request, out: &mut BytesMut) {
    match (op, req) {
        (OpCode::SetWatches, Request::SetWatches(w)) => {
            assert!(w.persistent_watches.is_empty() && w.persistent_recursive_watches.is_empty());
            SetWatches {
                relative_zxid: w.relative_zxid,
                data_watches: w.data_watches.clone(),
                exist_watches: w.exist_watches.clone(),
                child_watches: w.child_watches.clone(),
            }
            .encode(out)
        }
        _ => {
            assert_eq!(req.op_code(), op);
            req.encode(out)
        }
    }
}

fn ok(header: &ReplyHeader) {
    assert_eq!(header.err, 0, "expected success, got {header:?}");
    assert!(header.zxid > 0, "a reply carries the server's last zxid");
}

fn err(header: &ReplyHeader, code: ErrorCode) {
    assert_eq!(ErrorCode::from_i32(header.err), Some(code), "{header:?}");
}

fn open_acl() -> Vec<Acl> {
    vec![Acl::new(31, Id::new("world", "anyone"))]
}

fn create(req: &Request) -> &jute::CreateOp {
    match req {
        Request::Create(c) => c,
        other => panic!("expected a create, got {other:?}"),
    }
}

/// A node's stat as a fresh create leaves it.
fn fresh(stat: &Stat, zxid: i64, data_len: i32) {
    assert_eq!(stat.czxid, zxid);
    assert_eq!(stat.mzxid, zxid);
    assert_eq!(stat.pzxid, zxid);
    assert_eq!(stat.ctime, stat.mtime);
    assert!(
        stat.ctime > 1_600_000_000_000,
        "ctime is ms since the epoch"
    );
    assert_eq!((stat.version, stat.cversion, stat.aversion), (0, 0, 0));
    assert_eq!(stat.data_length, data_len);
    assert_eq!(stat.num_children, 0);
}

// ---------------------------------------------------------------------------------------------
// The fixtures as a whole.

#[test]
fn every_fixture_is_listed_and_decodes_to_identical_bytes() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(DIR)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".hex").map(str::to_owned)
        })
        .collect();
    let listed: BTreeSet<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, listed, "fixtures on disk vs FIXTURES");
    for name in FIXTURES {
        Transcript::load(name);
    }
}

#[test]
fn no_fixture_frame_exceeds_the_limit() {
    for name in FIXTURES {
        for line in read_fixture(name) {
            if line.kind != Kind::Raw {
                assert!(line.bytes.len() - 4 <= DEFAULT_MAX_BUFFER);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handshakes.

#[test]
fn connect_with_read_only_byte() {
    let t = Transcript::load("connect");
    let [Event::ConnectRequest(req), Event::ConnectResponse(resp)] = &t.events[..] else {
        panic!("{:?}", t.events)
    };
    assert_eq!(req.protocol_version, 0);
    assert_eq!(req.last_zxid_seen, 0);
    assert_eq!(req.timeout_ms, 10_000);
    assert_eq!(req.session_id, 0);
    assert_eq!(req.passwd, Bytes::from(vec![0u8; 16]));
    assert_eq!(req.read_only, Some(false));
    assert_eq!(resp.protocol_version, 0);
    assert_eq!(resp.timeout_ms, 10_000);
    assert_ne!(resp.session_id, 0);
    assert_eq!(resp.passwd.len(), 16);
    assert_eq!(resp.read_only, Some(false), "answered in the client's form");
}

#[test]
fn connect_without_read_only_byte_is_answered_without_it() {
    let t = Transcript::load("connect_old_client");
    let Event::ConnectRequest(req) = &t.events[0] else {
        panic!()
    };
    let Event::ConnectResponse(resp) = &t.events[1] else {
        panic!()
    };
    assert_eq!(req.read_only, None);
    assert_eq!(resp.read_only, None);
    assert_ne!(resp.session_id, 0);
    let (req, header, body) = t.exchange();
    assert_eq!(req, &Request::CloseSession);
    assert_eq!(header.err, 0);
    assert_eq!(body, &Reply::Empty);
}

#[test]
fn reconnect_resumes_the_session() {
    let t = Transcript::load("reconnect");
    let Event::ConnectRequest(req) = &t.events[0] else {
        panic!()
    };
    let Event::ConnectResponse(resp) = &t.events[1] else {
        panic!()
    };
    assert_ne!(req.session_id, 0);
    assert!(req.last_zxid_seen > 0);
    assert_eq!(req.passwd.len(), 16);
    assert_eq!(resp.session_id, req.session_id);
    assert_eq!(resp.passwd, req.passwd);
    // kazoo re-sends its auth before anything else, then our sync.
    let reqs = t.requests();
    assert_eq!(reqs[0].0, jute::xid::AUTH);
    assert!(matches!(reqs[0].1, Request::Auth(a) if a.scheme == "digest"));
    assert!(matches!(reqs[1].1, Request::Sync(s) if s.path == "/"));
}

#[test]
fn close_session() {
    let t = Transcript::load("close_session");
    let (req, header, body) = t.exchange();
    assert_eq!(req, &Request::CloseSession);
    assert_eq!(header.err, 0);
    assert_eq!(body, &Reply::Empty);
}

#[test]
fn four_letter_word() {
    let t = Transcript::load("four_letter_ruok");
    assert!(matches!(t.events[0], Event::FourLetterWord("ruok")));
    assert!(matches!(&t.events[1], Event::RawAnswer(a) if a == b"imok"));
}

// ---------------------------------------------------------------------------------------------
// Creates.

#[test]
fn create_persistent() {
    let t = Transcript::load("create_persistent");
    let (req, header, body) = t.exchange();
    let c = create(req);
    assert_eq!(c.op, OpCode::Create);
    assert_eq!(c.path, "/golden/persistent");
    assert_eq!(c.data, Some(Bytes::from_static(b"payload")));
    assert_eq!(c.acl, open_acl());
    assert_eq!(c.flags, 0);
    ok(header);
    assert_eq!(
        body,
        &Reply::Create(CreateResponse {
            path: "/golden/persistent".into()
        })
    );
}

#[test]
fn create_ephemeral_sequential() {
    let t = Transcript::load("create_ephemeral_sequential");
    let (req, header, body) = t.exchange();
    let c = create(req);
    assert_eq!(c.path, "/golden/eseq-");
    assert_eq!(
        jute::CreateMode::from_flags(c.flags),
        Ok(jute::CreateMode::EphemeralSequential)
    );
    ok(header);
    let Reply::Create(r) = body else {
        panic!("{body:?}")
    };
    let suffix = r.path.strip_prefix("/golden/eseq-").unwrap();
    assert_eq!(suffix.len(), 10, "%010d suffix");
    assert!(suffix.bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn create2_returns_the_stat() {
    let t = Transcript::load("create2");
    let (req, header, body) = t.exchange();
    let c = create(req);
    assert_eq!(c.op, OpCode::Create2);
    assert_eq!(c.path, "/golden/c2");
    ok(header);
    let Reply::Create2(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.path, "/golden/c2");
    fresh(&r.stat, header.zxid, 2);
    assert_eq!(r.stat.ephemeral_owner, 0);
}

#[test]
fn create_container_answers_create2() {
    let t = Transcript::load("create_container");
    let (req, header, body) = t.exchange();
    let c = create(req);
    assert_eq!(c.op, OpCode::CreateContainer);
    assert_eq!(
        jute::CreateMode::from_flags(c.flags),
        Ok(jute::CreateMode::Container)
    );
    ok(header);
    let Reply::Create2(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.path, "/golden/container");
    fresh(&r.stat, header.zxid, 0);
}

#[test]
fn create_ttl() {
    let t = Transcript::load("create_ttl");
    let (req, header, body) = t.exchange();
    let c = create(req);
    assert_eq!(c.op, OpCode::CreateTtl);
    assert_eq!(c.ttl, 600_000);
    assert_eq!(
        jute::CreateMode::from_flags(c.flags),
        Ok(jute::CreateMode::PersistentWithTtl)
    );
    ok(header);
    let Reply::Create2(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.path, "/golden/ttl");
    fresh(&r.stat, header.zxid, 1);
    // The TTL is kept in the server's ephemeralOwner, but the stat in the reply shows 0.
    assert_eq!(r.stat.ephemeral_owner, 0);
}

// ---------------------------------------------------------------------------------------------
// Reads and writes.

#[test]
fn get_data() {
    let t = Transcript::load("get_data");
    let (req, header, body) = t.exchange();
    assert_eq!(
        req,
        &Request::GetData(GetDataRequest {
            path: "/golden/data".into(),
            watch: false
        })
    );
    ok(header);
    let Reply::GetData(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.data, Some(Bytes::from_static(b"hello")));
    assert_eq!(r.stat.data_length, 5);
    assert_eq!(r.stat.version, 0);
    assert!(r.stat.czxid <= header.zxid);
}

#[test]
fn set_data() {
    let t = Transcript::load("set_data");
    let (req, header, body) = t.exchange();
    assert_eq!(
        req,
        &Request::SetData(SetDataRequest {
            path: "/golden/data".into(),
            data: Some(Bytes::from_static(b"world")),
            version: 0
        })
    );
    ok(header);
    let Reply::SetData(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.stat.version, 1);
    assert_eq!(r.stat.mzxid, header.zxid);
    assert!(r.stat.czxid < r.stat.mzxid);
    assert!(r.stat.mtime >= r.stat.ctime);
    assert_eq!(r.stat.data_length, 5);
}

#[test]
fn exists_hit() {
    let t = Transcript::load("exists_hit");
    let (req, header, body) = t.exchange();
    assert!(matches!(req, Request::Exists(e) if e.path == "/golden/data" && !e.watch));
    ok(header);
    let Reply::Exists(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.stat.version, 1);
    assert_eq!(r.stat.data_length, 5);
}

#[test]
fn exists_miss_is_no_node_without_body() {
    let t = Transcript::load("exists_miss");
    let (req, header, body) = t.exchange();
    assert!(matches!(req, Request::Exists(e) if e.path == "/golden/missing"));
    err(header, ErrorCode::NoNode);
    assert!(header.zxid > 0, "error replies carry the zxid too");
    assert_eq!(body, &Reply::Empty);
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn get_children() {
    let t = Transcript::load("get_children");
    let (req, header, body) = t.exchange();
    assert_eq!(
        req,
        &Request::GetChildren(GetChildrenRequest {
            path: "/golden/parent".into(),
            watch: false
        })
    );
    ok(header);
    let Reply::Children(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(sorted(r.children.clone()), vec!["a", "b"]);
}

#[test]
fn get_children2() {
    let t = Transcript::load("get_children2");
    let (req, header, body) = t.exchange();
    assert!(matches!(req, Request::GetChildren2(g) if g.path == "/golden/parent"));
    ok(header);
    let Reply::Children2(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(sorted(r.children.clone()), vec!["a", "b"]);
    assert_eq!(r.stat.num_children, 2);
    assert_eq!(r.stat.cversion, 2, "two children created");
    assert!(r.stat.pzxid > r.stat.czxid);
}

#[test]
fn delete() {
    let t = Transcript::load("delete");
    let (req, header, body) = t.exchange();
    assert_eq!(
        req,
        &Request::Delete(DeleteRequest {
            path: "/golden/persistent".into(),
            version: -1
        })
    );
    ok(header);
    assert_eq!(body, &Reply::Empty);
}

#[test]
fn get_acl() {
    let t = Transcript::load("get_acl");
    let (req, header, body) = t.exchange();
    assert!(matches!(req, Request::GetAcl(g) if g.path == "/golden/data"));
    ok(header);
    let Reply::GetAcl(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.acl, open_acl());
    assert_eq!(r.stat.aversion, 0);
}

#[test]
fn set_acl() {
    let t = Transcript::load("set_acl");
    let (req, header, body) = t.exchange();
    let Request::SetAcl(s) = req else {
        panic!("{req:?}")
    };
    assert_eq!(s.path, "/golden/c2");
    assert_eq!(s.version, -1);
    assert_eq!(s.acl.len(), 2);
    assert_eq!(s.acl[0].perms, 31);
    assert_eq!(s.acl[0].id.scheme, "digest");
    assert!(s.acl[0].id.id.starts_with("golden:"));
    assert_eq!(s.acl[1], Acl::new(1, Id::anyone()));
    ok(header);
    let Reply::SetAcl(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.stat.aversion, 1);
}

#[test]
fn sync() {
    let t = Transcript::load("sync");
    let (req, header, body) = t.exchange();
    assert_eq!(
        req,
        &Request::Sync(SyncRequest {
            path: "/golden".into()
        })
    );
    ok(header);
    assert_eq!(
        body,
        &Reply::Sync(SyncResponse {
            path: "/golden".into()
        })
    );
}

#[test]
fn ping() {
    let t = Transcript::load("ping");
    let (xid, req) = t.request();
    assert_eq!(xid, jute::xid::PING);
    assert_eq!(req, &Request::Ping);
    let (header, body) = t.reply_to(xid);
    ok(header);
    assert_eq!(body, &Reply::Empty);
}

#[test]
fn auth_reply_has_zxid_zero() {
    let t = Transcript::load("auth");
    let (xid, req) = t.request();
    assert_eq!(xid, jute::xid::AUTH);
    assert_eq!(
        req,
        &Request::Auth(AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Bytes::from_static(b"golden:secret")
        })
    );
    let (header, body) = t.reply_to(xid);
    assert_eq!(header.err, 0);
    assert_eq!(header.zxid, 0);
    assert_eq!(body, &Reply::Empty);
}

#[test]
fn who_am_i() {
    let t = Transcript::load("who_am_i");
    let (req, header, body) = t.exchange();
    assert_eq!(req, &Request::WhoAmI);
    ok(header);
    let Reply::WhoAmI(r) = body else {
        panic!("{body:?}")
    };
    let infos: Vec<(&str, &str)> = r
        .client_info
        .iter()
        .map(|c| (c.auth_scheme.as_str(), c.user.as_str()))
        .collect();
    assert_eq!(infos, vec![("digest", "golden"), ("ip", "127.0.0.1")]);
}

#[test]
fn get_all_children_number() {
    let t = Transcript::load("get_all_children_number");
    let (req, header, body) = t.exchange();
    assert!(matches!(req, Request::GetAllChildrenNumber(g) if g.path == "/golden"));
    ok(header);
    let Reply::AllChildrenNumber(r) = body else {
        panic!("{body:?}")
    };
    // data, parent, parent/{a,b,c}, eseq-…, c2, container, ttl at least.
    assert!(r.total_number >= 9, "{r:?}");
}

#[test]
fn get_ephemerals() {
    let t = Transcript::load("get_ephemerals");
    let (req, header, body) = t.exchange();
    assert!(matches!(req, Request::GetEphemerals(g) if g.prefix_path == "/golden"));
    ok(header);
    let Reply::Ephemerals(r) = body else {
        panic!("{body:?}")
    };
    assert_eq!(r.ephemerals.len(), 1);
    assert!(r.ephemerals[0].starts_with("/golden/eseq-"));
}

// ---------------------------------------------------------------------------------------------
// Multi.

#[test]
fn multi_success() {
    let t = Transcript::load("multi_success");
    let (req, header, body) = t.exchange();
    let Request::Multi(ops) = req else {
        panic!("{req:?}")
    };
    let kinds: Vec<OpCode> = ops.iter().map(MultiOp::op_code).collect();
    assert_eq!(
        kinds,
        vec![
            OpCode::Create,
            OpCode::SetData,
            OpCode::Check,
            OpCode::Delete
        ]
    );
    assert!(ops.iter().all(|op| op.path() == "/golden/m1"));
    ok(header);
    let Reply::Multi(results) = body else {
        panic!("{body:?}")
    };
    assert_eq!(results.len(), 4);
    assert!(
        matches!(&results[0], MultiResult::Create { op: OpCode::Create, path, .. } if path == "/golden/m1")
    );
    assert!(matches!(&results[1], MultiResult::SetData { stat } if stat.version == 1));
    assert_eq!(results[2], MultiResult::Check);
    assert_eq!(results[3], MultiResult::Delete);
}

#[test]
fn multi_failure_reports_per_op_codes_with_header_err_zero() {
    let t = Transcript::load("multi_failure");
    let (req, header, body) = t.exchange();
    let Request::Multi(ops) = req else {
        panic!("{req:?}")
    };
    assert_eq!(ops.len(), 3);
    // ZooKeeper 3.8: the reply header says OK; the failure is only in the results.
    assert_eq!(header.err, 0);
    let Reply::Multi(results) = body else {
        panic!("{body:?}")
    };
    let codes: Vec<ErrorCode> = results
        .iter()
        .map(|r| match r {
            MultiResult::Error { err } => *err,
            other => panic!("a failed multi has only error results, got {other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            ErrorCode::Ok,
            ErrorCode::NodeExists,
            ErrorCode::RuntimeInconsistency
        ]
    );
}

#[test]
fn multi_read_mixes_results_and_errors() {
    let t = Transcript::load("multi_read");
    let (req, header, body) = t.exchange();
    let Request::MultiRead(ops) = req else {
        panic!("{req:?}")
    };
    let paths: Vec<&str> = ops.iter().map(MultiOp::path).collect();
    assert_eq!(
        paths,
        vec!["/golden/data", "/golden/parent", "/golden/missing"]
    );
    ok(header);
    let Reply::Multi(results) = body else {
        panic!("{body:?}")
    };
    assert_eq!(results.len(), 3);
    assert!(
        matches!(&results[0], MultiResult::GetData { data: Some(data), stat } if &data[..] == b"world" && stat.data_length == 5)
    );
    assert!(
        matches!(&results[1], MultiResult::GetChildren { children } if sorted(children.clone()) == vec!["a", "b"])
    );
    assert_eq!(
        results[2],
        MultiResult::Error {
            err: ErrorCode::NoNode
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Watches.

#[test]
fn watch_notification_precedes_the_reply_and_has_zxid_minus_one() {
    let t = Transcript::load("watch_notification");
    let reqs = t.requests();
    assert!(matches!(reqs[0].1, Request::GetData(g) if g.watch && g.path == "/golden/data"));
    assert!(matches!(reqs[1].1, Request::SetData(_)));
    let notes = t.notifications();
    assert_eq!(notes.len(), 1);
    let (header, event) = notes[0];
    assert_eq!(header.xid, -1);
    assert_eq!(
        header.zxid, -1,
        "ZooKeeper 3.8 sends -1; 3.9 sends the triggering zxid"
    );
    assert_eq!(header.err, 0);
    assert_eq!(
        EventType::from_i32(event.event_type),
        Some(EventType::NodeDataChanged)
    );
    assert_eq!(
        KeeperState::from_i32(event.state),
        Some(KeeperState::SyncConnected)
    );
    assert_eq!(event.path, "/golden/data");
    let note_at = t.position(|e| matches!(e, Event::Notification { .. }));
    let reply_at = t.position(|e| {
        matches!(
            e,
            Event::Reply {
                op: OpCode::SetData,
                ..
            }
        )
    });
    assert!(
        note_at < reply_at,
        "the event goes out before the write's reply"
    );
}

#[test]
fn add_watch_answers_error_response_zero_and_fires_on_descendants() {
    let t = Transcript::load("add_watch");
    let reqs = t.requests();
    assert_eq!(
        reqs[0].1,
        &Request::AddWatch(AddWatchRequest {
            path: "/golden/parent".into(),
            mode: jute::AddWatchMode::PersistentRecursive as i32
        })
    );
    let (header, body) = t.reply_to(reqs[0].0);
    ok(header);
    assert_eq!(body, &Reply::Error(ErrorResponse { err: 0 }));
    let notes = t.notifications();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        EventType::from_i32(notes[0].1.event_type),
        Some(EventType::NodeCreated)
    );
    assert_eq!(notes[0].1.path, "/golden/parent/c");
}

#[test]
fn remove_watches() {
    let t = Transcript::load("remove_watches");
    let (req, header, body) = t.exchange();
    assert_eq!(
        req,
        &Request::RemoveWatches(RemoveWatchesRequest {
            path: "/golden/parent".into(),
            watcher_type: jute::WatcherType::Any as i32
        })
    );
    ok(header);
    assert_eq!(body, &Reply::Empty);
}

#[test]
fn set_watches_old_form() {
    let t = Transcript::load("set_watches");
    let (req, header, body) = t.exchange();
    let Request::SetWatches(w) = req else {
        panic!("{req:?}")
    };
    assert_eq!(w.data_watches, vec!["/golden/data"]);
    assert!(w.exist_watches.is_empty());
    assert_eq!(w.child_watches, vec!["/golden/parent"]);
    ok(header);
    assert_eq!(body, &Reply::Empty);
    assert!(
        t.notifications().is_empty(),
        "nothing changed after relative zxid"
    );
}

#[test]
fn set_watches2_fires_missed_events_before_its_reply() {
    let t = Transcript::load("set_watches2");
    let (req, header, body) = t.exchange();
    let Request::SetWatches(w) = req else {
        panic!("{req:?}")
    };
    assert_eq!(w.relative_zxid, 0);
    assert_eq!(w.persistent_recursive_watches, vec!["/golden"]);
    ok(header);
    assert_eq!(body, &Reply::Empty);
    let events: Vec<(Option<EventType>, &str)> = t
        .notifications()
        .iter()
        .map(|(_, e)| (EventType::from_i32(e.event_type), e.path.as_str()))
        .collect();
    assert_eq!(
        events,
        vec![
            (Some(EventType::NodeDataChanged), "/golden/data"),
            (Some(EventType::NodeChildrenChanged), "/golden/parent"),
        ]
    );
    let last_note = t.events.len() - 2;
    assert!(matches!(t.events[last_note], Event::Notification { .. }));
    assert!(matches!(
        t.events.last(),
        Some(Event::Reply {
            op: OpCode::SetWatches2,
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------------
// Errors.

fn error_exchange(name: &'static str, op: OpCode, path: &str, code: ErrorCode) {
    let t = Transcript::load(name);
    let (xid, req) = t.request();
    assert_eq!(req.op_code(), op, "{name}");
    let req_path = match req {
        Request::GetData(r) => &r.path,
        Request::Create(r) => &r.path,
        Request::SetData(r) => &r.path,
        Request::Delete(r) => &r.path,
        other => panic!("{other:?}"),
    };
    assert_eq!(req_path, path, "{name}");
    let (header, body) = t.reply_to(xid);
    err(header, code);
    assert_eq!(body, &Reply::Empty, "{name}: errors carry no body");
}

#[test]
fn error_replies() {
    error_exchange(
        "error_no_node",
        OpCode::GetData,
        "/golden/missing",
        ErrorCode::NoNode,
    );
    error_exchange(
        "error_node_exists",
        OpCode::Create,
        "/golden/data",
        ErrorCode::NodeExists,
    );
    error_exchange(
        "error_bad_version",
        OpCode::SetData,
        "/golden/data",
        ErrorCode::BadVersion,
    );
    error_exchange(
        "error_not_empty",
        OpCode::Delete,
        "/golden/parent",
        ErrorCode::NotEmpty,
    );
}
