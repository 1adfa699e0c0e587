//! `multi` (an all-or-nothing transaction) and `multiRead` (a batch of reads), with typed
//! builders and results.

use crate::client::{create_op, Client};
use crate::error::Error;
use crate::options::CreateOptions;
use bytes::Bytes;
use jute::multi::decode_multi_response;
use jute::proto::SetDataRequest;
use jute::proto::{CheckVersionRequest, DeleteRequest, GetChildrenRequest, GetDataRequest};
use jute::{DecodeError, ErrorCode, MultiOp, MultiResult, OpCode, Reader, Request, Stat};

/// The result of one op of a successful [`MultiBuilder::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// The node was created at `path` (sequence suffix included).
    Create {
        /// The created path.
        path: String,
        /// The new node's stat. `None` from servers that answer a `create2` inside a multi
        /// without it (ZooKeeper before 3.8.2, ZOOKEEPER-4026).
        stat: Option<Stat>,
    },
    /// The node was deleted.
    Delete,
    /// The data was set.
    SetData {
        /// The node's stat after the write.
        stat: Stat,
    },
    /// The version check passed.
    Check,
}

/// Why a [`MultiBuilder::commit`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultiError {
    /// The server refused the transaction because op `index` failed; nothing was applied.
    /// `results` has one entry per op: `Ok` for the ops before the failing one, the failing
    /// op's error, then [`Error::RuntimeInconsistency`] for the ops after it.
    #[error("multi op {index} failed: {error}")]
    Failed {
        /// The failing op.
        index: usize,
        /// Its error.
        error: Error,
        /// Every op's outcome.
        results: Vec<Result<(), Error>>,
    },
    /// The request as a whole failed (connection loss, expiry, a bad argument ...).
    #[error(transparent)]
    Request(#[from] Error),
}

impl MultiError {
    /// The error that decided the outcome.
    pub fn error(&self) -> &Error {
        match self {
            MultiError::Failed { error, .. } => error,
            MultiError::Request(e) => e,
        }
    }
}

impl From<MultiError> for Error {
    fn from(e: MultiError) -> Error {
        match e {
            MultiError::Failed { error, .. } => error,
            MultiError::Request(e) => e,
        }
    }
}

/// Builds a `multi`: ops are applied together or not at all. From [`Client::multi`].
#[derive(Debug)]
#[must_use = "a multi does nothing until committed"]
pub struct MultiBuilder {
    client: Client,
    ops: Vec<MultiOp>,
    /// The first invalid argument; reported by `commit`, so the chain stays simple.
    error: Option<Error>,
}

impl MultiBuilder {
    pub(crate) fn new(client: Client) -> MultiBuilder {
        MultiBuilder {
            client,
            ops: Vec::new(),
            error: None,
        }
    }

    fn push(mut self, op: Result<MultiOp, Error>) -> MultiBuilder {
        match op {
            Ok(op) => self.ops.push(op),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Adds a create (every mode; containers and TTL modes use their own op codes).
    pub fn create(self, path: &str, data: &[u8], options: &CreateOptions) -> MultiBuilder {
        let op =
            create_op(self.client.chroot_ref(), path, Some(data), options).map(MultiOp::Create);
        self.push(op)
    }

    /// Adds a delete (`None`: any version).
    pub fn delete(self, path: &str, version: Option<i32>) -> MultiBuilder {
        let op = self.client.server_path(path).map(|path| {
            MultiOp::Delete(DeleteRequest {
                path,
                version: version.unwrap_or(-1),
            })
        });
        self.push(op)
    }

    /// Adds a setData (`None`: any version).
    pub fn set_data(self, path: &str, data: &[u8], version: Option<i32>) -> MultiBuilder {
        let op = self.client.server_path(path).map(|path| {
            MultiOp::SetData(SetDataRequest {
                path,
                data: Some(Bytes::copy_from_slice(data)),
                version: version.unwrap_or(-1),
            })
        });
        self.push(op)
    }

    /// Adds a version check: the transaction fails unless the node has `version`.
    pub fn check(self, path: &str, version: i32) -> MultiBuilder {
        let op = self
            .client
            .server_path(path)
            .map(|path| MultiOp::Check(CheckVersionRequest { path, version }));
        self.push(op)
    }

    /// The number of ops added.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when no op was added.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Sends the transaction: one result per op, or the failure with every op's outcome.
    pub async fn commit(self) -> Result<Vec<OpResult>, MultiError> {
        if let Some(e) = self.error {
            return Err(MultiError::Request(e));
        }
        let count = self.ops.len();
        let body = self.client.call(&Request::Multi(self.ops), None).await?;
        let results = decode_results(body, count)?;
        if let Some(index) = results
            .iter()
            .position(|r| matches!(r, MultiResult::Error { err } if *err != ErrorCode::Ok))
        {
            let outcomes: Vec<Result<(), Error>> = results
                .iter()
                .map(|r| match r {
                    MultiResult::Error { err } if *err != ErrorCode::Ok => Err(Error::from(*err)),
                    _ => Ok(()),
                })
                .collect();
            let error = match &outcomes[index] {
                Err(e) => e.clone(),
                Ok(()) => Error::SystemError,
            };
            return Err(MultiError::Failed {
                index,
                error,
                results: outcomes,
            });
        }
        let chroot = self.client.chroot_ref();
        results
            .into_iter()
            .map(|r| {
                Ok(match r {
                    MultiResult::Create { op, path, stat } => OpResult::Create {
                        path: chroot.strip(&path),
                        stat: (op != OpCode::Create).then_some(stat),
                    },
                    MultiResult::Delete => OpResult::Delete,
                    MultiResult::SetData { stat } => OpResult::SetData { stat },
                    MultiResult::Check => OpResult::Check,
                    other => return Err(MultiError::Request(unexpected(&other))),
                })
            })
            .collect()
    }
}

/// The result of one read of a [`MultiReadBuilder::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    /// A `get_data`.
    Data {
        /// The node's data.
        data: Vec<u8>,
        /// The node's stat.
        stat: Stat,
    },
    /// A `get_children`.
    Children {
        /// The children's names.
        children: Vec<String>,
    },
}

/// Builds a `multiRead`: reads answered together, each on its own. From [`Client::multi_read`].
///
/// ```no_run
/// # async fn demo(zk: client::Client) -> Result<(), client::Error> {
/// let results = zk.multi_read().get_data("/a").get_children("/b").commit().await?;
/// for r in results {
///     match r {
///         Ok(client::ReadResult::Data { data, .. }) => println!("{data:?}"),
///         Ok(client::ReadResult::Children { children }) => println!("{children:?}"),
///         Err(e) => println!("failed: {e}"),
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a multi read does nothing until committed"]
pub struct MultiReadBuilder {
    client: Client,
    ops: Vec<MultiOp>,
    error: Option<Error>,
}

impl MultiReadBuilder {
    pub(crate) fn new(client: Client) -> MultiReadBuilder {
        MultiReadBuilder {
            client,
            ops: Vec::new(),
            error: None,
        }
    }

    fn push(mut self, op: Result<MultiOp, Error>) -> MultiReadBuilder {
        match op {
            Ok(op) => self.ops.push(op),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Adds a getData (no watch: ZooKeeper ignores watches in a multiRead).
    pub fn get_data(self, path: &str) -> MultiReadBuilder {
        let op = self
            .client
            .server_path(path)
            .map(|path| MultiOp::GetData(GetDataRequest { path, watch: false }));
        self.push(op)
    }

    /// Adds a getChildren.
    pub fn get_children(self, path: &str) -> MultiReadBuilder {
        let op = self
            .client
            .server_path(path)
            .map(|path| MultiOp::GetChildren(GetChildrenRequest { path, watch: false }));
        self.push(op)
    }

    /// The number of reads added.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when no read was added.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Sends the reads; one outcome per read.
    pub async fn commit(self) -> Result<Vec<Result<ReadResult, Error>>, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let count = self.ops.len();
        let body = self
            .client
            .call(&Request::MultiRead(self.ops), None)
            .await?;
        decode_results(body, count)?
            .into_iter()
            .map(|r| {
                Ok(match r {
                    MultiResult::GetData { data, stat } => Ok(ReadResult::Data {
                        data: data.unwrap_or_default().to_vec(),
                        stat,
                    }),
                    MultiResult::GetChildren { children } => Ok(ReadResult::Children { children }),
                    MultiResult::Error { err } => Err(Error::from(err)),
                    other => return Err(unexpected(&other)),
                })
            })
            .collect()
    }
}

fn decode_results(body: Bytes, count: usize) -> Result<Vec<MultiResult>, Error> {
    let results = decode_multi_response(&mut Reader::new(body))?;
    if results.len() != count {
        return Err(Error::Decode(DecodeError::InvalidValue {
            field: "multi result count",
            value: results.len() as i64,
        }));
    }
    Ok(results)
}

fn unexpected(r: &MultiResult) -> Error {
    Error::Decode(DecodeError::InvalidValue {
        field: "multi result kind",
        value: match r {
            MultiResult::GetChildren { .. } => OpCode::GetChildren as i64,
            MultiResult::GetData { .. } => OpCode::GetData as i64,
            _ => -1,
        },
    })
}
