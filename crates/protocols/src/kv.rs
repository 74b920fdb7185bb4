//! The key-value store that Raft and Multi-Paxos replicate, with the
//! client sessions that make each request apply at most once (Raft paper §8;
//! the same table serves Multi-Paxos's at-most-once execution).

use sim::sorted::SortedMap;
use std::fmt;

use sim::{Encode, NodeId, TraceHasher};

/// A client's request number. A client numbers its requests 1, 2, 3, ... and
/// reuses a number when it retries, which lets the state machine apply each
/// request at most once (paper §8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl Encode for RequestId {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.0);
    }
}

/// A key-value operation, the service Raft and Multi-Paxos replicate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KvOp {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Read `key` (an absent key reads as the empty string).
    Get {
        /// The key.
        key: String,
    },
    /// Append `value` to the value of `key`.
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            KvOp::Put { key, .. } | KvOp::Get { key } | KvOp::Append { key, .. } => key,
        }
    }
}

impl fmt::Display for KvOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOp::Put { key, value } => write!(f, "put({key}, {value})"),
            KvOp::Get { key } => write!(f, "get({key})"),
            KvOp::Append { key, value } => write!(f, "append({key}, {value})"),
        }
    }
}

impl Encode for KvOp {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            KvOp::Put { key, value } => (1u8, key, value).encode(h),
            KvOp::Get { key } => (2u8, key).encode(h),
            KvOp::Append { key, value } => (3u8, key, value).encode(h),
        }
    }
}

/// The reply a state machine gives to a client operation: the value read
/// (for `get`) or the value after the write (for `put` and `append`).
pub type KvResult = String;

/// The key-value store with its table of client sessions. Each client's last
/// request number and reply are kept, so that a retried request that was
/// already applied is answered from the table instead of being applied again
/// (paper §8). The store is volatile: after a restart it is rebuilt by
/// applying the log again from index 1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kv {
    data: SortedMap<String, String>,
    sessions: SortedMap<NodeId, (RequestId, KvResult)>,
}

/// What applying one client command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The command ran and produced this result.
    Fresh(KvResult),
    /// The command was a duplicate of an already applied request; here is
    /// the result it had the first time.
    Duplicate(KvResult),
    /// An old request, older than the client's latest: nothing to answer.
    Stale,
}

impl Kv {
    /// Applies `op` for `client`'s request `request`, at most once.
    pub fn apply(&mut self, client: NodeId, request: RequestId, op: &KvOp) -> Applied {
        if let Some((last, result)) = self.sessions.get(&client) {
            if *last == request {
                return Applied::Duplicate(result.clone());
            }
            if *last > request {
                return Applied::Stale;
            }
        }
        let result = match op {
            KvOp::Put { key, value } => {
                self.data.insert(key.clone(), value.clone());
                value.clone()
            }
            KvOp::Get { key } => self.data.get(key).cloned().unwrap_or_default(),
            KvOp::Append { key, value } => {
                let v = self.data.entry(key.clone()).or_default();
                v.push_str(value);
                v.clone()
            }
        };
        self.sessions.insert(client, (request, result.clone()));
        Applied::Fresh(result)
    }

    /// The answer already given to `client`'s request `request`, if it is the
    /// client's latest applied request.
    pub fn cached(&self, client: NodeId, request: RequestId) -> Option<&KvResult> {
        match self.sessions.get(&client) {
            Some((last, result)) if *last == request => Some(result),
            _ => None,
        }
    }

    /// The latest request of `client` this store has applied.
    pub fn last_request(&self, client: NodeId) -> Option<RequestId> {
        self.sessions.get(&client).map(|(r, _)| *r)
    }

    /// The stored keys and values, in key order.
    pub fn data(&self) -> &SortedMap<String, String> {
        &self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_applies_each_request_at_most_once() {
        let mut kv = Kv::default();
        let c = NodeId(5);
        let op = KvOp::Append {
            key: "x".into(),
            value: "a".into(),
        };
        assert_eq!(kv.apply(c, RequestId(1), &op), Applied::Fresh("a".into()));
        assert_eq!(
            kv.apply(c, RequestId(1), &op),
            Applied::Duplicate("a".into())
        );
        assert_eq!(kv.apply(c, RequestId(2), &op), Applied::Fresh("aa".into()));
        assert_eq!(kv.apply(c, RequestId(1), &op), Applied::Stale);
    }
}
