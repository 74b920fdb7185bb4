//! The replicated log and the key-value state machine it drives.
//!
//! The log is the durable heart of a Raft server, and the world clones a
//! server's durable state every time it persists. So the log is stored in
//! fixed-size chunks behind `Rc`: a clone copies one pointer per chunk, and an
//! append copies at most one chunk (copy-on-write with `Rc::make_mut`).

use std::fmt;
use std::rc::Rc;

use sim::{Encode, NodeId, TraceHasher};

pub use crate::kv::{Applied, Kv, KvOp, KvResult, RequestId};

/// A Raft term: a logical clock that numbers elections (paper §5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Term(pub u64);

/// A position in the log. The first entry has index 1; index 0 means "before
/// the first entry", as in the paper.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogIndex(pub u64);

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Display for LogIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl LogIndex {
    /// The next index.
    pub fn next(self) -> LogIndex {
        LogIndex(self.0 + 1)
    }
    /// The previous index (saturating at 0).
    pub fn prev(self) -> LogIndex {
        LogIndex(self.0.saturating_sub(1))
    }
}

impl Encode for Term {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.0);
    }
}
impl Encode for LogIndex {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.0);
    }
}

/// What a log entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Nothing. A new leader appends one at the start of its term so that it
    /// can commit (and so learn the commit point of) earlier entries quickly
    /// (paper §8).
    Noop,
    /// A client's operation, with who asked and under which request number.
    Client {
        /// The client node.
        client: NodeId,
        /// Its request number.
        request: RequestId,
        /// The operation.
        op: KvOp,
    },
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Noop => f.write_str("no-op"),
            Command::Client {
                client,
                request,
                op,
            } => write!(f, "{op} by {client}{request}"),
        }
    }
}

impl Encode for Command {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            Command::Noop => 0u8.encode(h),
            Command::Client {
                client,
                request,
                op,
            } => (1u8, client, request, op).encode(h),
        }
    }
}

/// One log entry: the term in which a leader created it, and its command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The leader's term when it appended the entry.
    pub term: Term,
    /// What to apply.
    pub command: Command,
}

impl Encode for Entry {
    fn encode(&self, h: &mut TraceHasher) {
        (self.term, &self.command).encode(h);
    }
}

/// How many entries share one `Rc` chunk.
const CHUNK: usize = 32;

/// A log of entries, indexed from 1, cheap to clone (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    chunks: Vec<Rc<Vec<Entry>>>,
    len: u64,
}

impl Log {
    /// An empty log.
    pub fn new() -> Log {
        Log::default()
    }

    /// The index of the last entry (0 when empty).
    pub fn last_index(&self) -> LogIndex {
        LogIndex(self.len)
    }

    /// The term of the last entry (0 when empty).
    pub fn last_term(&self) -> Term {
        self.term_at(self.last_index()).unwrap_or_default()
    }

    /// The entry at `index`, if the log has one there.
    pub fn get(&self, index: LogIndex) -> Option<&Entry> {
        if index.0 == 0 || index.0 > self.len {
            return None;
        }
        let i = (index.0 - 1) as usize;
        Some(&self.chunks[i / CHUNK][i % CHUNK])
    }

    /// The term at `index`: `Some(Term(0))` for index 0 (the empty prefix
    /// matches everything), `None` past the end.
    pub fn term_at(&self, index: LogIndex) -> Option<Term> {
        if index.0 == 0 {
            Some(Term(0))
        } else {
            self.get(index).map(|e| e.term)
        }
    }

    /// Appends one entry at the end and returns its index.
    pub fn push(&mut self, entry: Entry) -> LogIndex {
        let i = self.len as usize;
        if i % CHUNK == 0 {
            self.chunks.push(Rc::new(Vec::with_capacity(CHUNK)));
        }
        Rc::make_mut(self.chunks.last_mut().expect("a chunk was just ensured")).push(entry);
        self.len += 1;
        LogIndex(self.len)
    }

    /// Removes every entry from `index` on (keeps `1..index`).
    pub fn truncate_from(&mut self, index: LogIndex) {
        assert!(index.0 >= 1, "the log cannot be truncated before index 1");
        if index.0 > self.len {
            return;
        }
        let keep = (index.0 - 1) as usize;
        self.chunks.truncate(keep.div_ceil(CHUNK));
        if keep % CHUNK != 0 {
            Rc::make_mut(self.chunks.last_mut().expect("kept a partial chunk"))
                .truncate(keep % CHUNK);
        }
        self.len = keep as u64;
    }

    /// The entries in `from..=to` (clamped to the log), cloned.
    pub fn slice(&self, from: LogIndex, to: LogIndex) -> Vec<Entry> {
        let to = to.min(self.last_index());
        (from.0.max(1)..=to.0)
            .filter_map(|i| self.get(LogIndex(i)).cloned())
            .collect()
    }

    /// Every entry with its index, in order.
    pub fn iter(&self) -> impl Iterator<Item = (LogIndex, &Entry)> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .enumerate()
            .map(|(i, e)| (LogIndex(i as u64 + 1), e))
    }
}

impl Encode for Log {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.len);
        for (_, e) in self.iter() {
            e.encode(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: u64) -> Entry {
        Entry {
            term: Term(t),
            command: Command::Noop,
        }
    }

    #[test]
    fn chunked_log_appends_truncates_and_shares_chunks() {
        let mut log = Log::new();
        for i in 0..100 {
            log.push(entry(i / 10));
        }
        let snapshot = log.clone();
        assert_eq!(log.last_index(), LogIndex(100));
        assert_eq!(log.term_at(LogIndex(65)), Some(Term(6)));
        log.truncate_from(LogIndex(40));
        assert_eq!(log.last_index(), LogIndex(39));
        log.push(entry(99));
        assert_eq!(log.term_at(LogIndex(40)), Some(Term(99)));
        // The snapshot is untouched by the copy-on-write writes.
        assert_eq!(snapshot.term_at(LogIndex(40)), Some(Term(3)));
        assert_eq!(snapshot.last_index(), LogIndex(100));
        log.truncate_from(LogIndex(33));
        assert_eq!(log.last_index(), LogIndex(32));
        assert_eq!(log.iter().count(), 32);
        log.truncate_from(LogIndex(1));
        assert_eq!(log.last_index(), LogIndex(0));
        assert_eq!(log.term_at(LogIndex(0)), Some(Term(0)));
    }
}
