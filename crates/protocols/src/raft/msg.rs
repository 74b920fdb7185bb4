//! Raft's messages: the two RPCs of Figure 2 with their replies, the PreVote
//! round of §9.6, and the client protocol of §6/§8.

use std::rc::Rc;

use sim::{Encode, Message, NodeId, TraceHasher};

use super::log::{Entry, KvOp, KvResult, LogIndex, RequestId, Term};

/// Every message a Raft node sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftMsg {
    /// "Would you vote for me in `term` if I stood?" Sent before a real
    /// election when PreVote is on; it changes nobody's term (§9.6).
    PreVote {
        /// The term the sender would stand in (its current term plus one).
        term: Term,
        /// Index of the sender's last log entry.
        last_log_index: LogIndex,
        /// Term of the sender's last log entry.
        last_log_term: Term,
    },
    /// The answer to a PreVote.
    PreVoteReply {
        /// The term that was asked about (not the replier's term, which a
        /// PreVote never changes), or the replier's term if it is higher.
        term: Term,
        /// Whether the replier would vote.
        granted: bool,
    },
    /// RequestVote RPC (Figure 2).
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// Index of the candidate's last log entry.
        last_log_index: LogIndex,
        /// Term of the candidate's last log entry.
        last_log_term: Term,
    },
    /// RequestVote reply.
    RequestVoteReply {
        /// The replier's current term, for the candidate to update itself.
        term: Term,
        /// Whether the candidate received the vote.
        granted: bool,
    },
    /// AppendEntries RPC (Figure 2): replication and heartbeat.
    AppendEntries {
        /// The leader's term.
        term: Term,
        /// Index of the entry just before the new ones.
        prev_log_index: LogIndex,
        /// Term of that entry.
        prev_log_term: Term,
        /// The entries to store (empty for a heartbeat). Shared, because the
        /// same entries often go to several followers.
        entries: Rc<[Entry]>,
        /// The leader's commit index.
        leader_commit: LogIndex,
    },
    /// AppendEntries reply.
    AppendEntriesReply {
        /// The replier's current term.
        term: Term,
        /// Whether the follower's log matched at `prev_log_index`.
        success: bool,
        /// On success, the index of the last entry the follower now holds
        /// from this request. On failure, a hint: the follower's last index,
        /// or the index just before its entries of the conflicting term, so
        /// that the leader can skip back a whole term at a time (§5.3).
        match_index: LogIndex,
        /// The `prev_log_index` of the request this answers, so that the
        /// leader can tell a stale or duplicated rejection from the answer
        /// to its latest probe (etcd's reject index).
        probe: LogIndex,
    },
    /// A client's operation.
    ClientRequest {
        /// The client's request number (the same on every retry).
        request: RequestId,
        /// The operation.
        op: KvOp,
    },
    /// The answer to a client.
    ClientReply {
        /// The request this answers.
        request: RequestId,
        /// The result, or where to go instead.
        outcome: ClientOutcome,
    },
}

/// How a server answered a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientOutcome {
    /// The operation was committed and applied; here is its result.
    Done(KvResult),
    /// "I am not the leader; try this one (if I know it)."
    NotLeader(Option<NodeId>),
}

impl RaftMsg {
    /// The term a server message carries, for rule R7 (clients' messages
    /// carry none).
    pub fn term(&self) -> Option<Term> {
        match self {
            RaftMsg::PreVote { .. } | RaftMsg::PreVoteReply { .. } => None,
            RaftMsg::RequestVote { term, .. }
            | RaftMsg::RequestVoteReply { term, .. }
            | RaftMsg::AppendEntries { term, .. }
            | RaftMsg::AppendEntriesReply { term, .. } => Some(*term),
            RaftMsg::ClientRequest { .. } | RaftMsg::ClientReply { .. } => None,
        }
    }
}

fn yes_no(granted: bool) -> &'static str {
    if granted {
        "granted"
    } else {
        "refused"
    }
}

impl Message for RaftMsg {
    fn kind(&self) -> &'static str {
        match self {
            RaftMsg::PreVote { .. } => "PreVote",
            RaftMsg::PreVoteReply { .. } => "PreVoteReply",
            RaftMsg::RequestVote { .. } => "RequestVote",
            RaftMsg::RequestVoteReply { .. } => "RequestVoteReply",
            RaftMsg::AppendEntries { .. } => "AppendEntries",
            RaftMsg::AppendEntriesReply { .. } => "AppendEntriesReply",
            RaftMsg::ClientRequest { .. } => "ClientRequest",
            RaftMsg::ClientReply { .. } => "ClientReply",
        }
    }

    fn label(&self) -> String {
        match self {
            RaftMsg::PreVote {
                term,
                last_log_index,
                last_log_term,
            }
            | RaftMsg::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => format!("term {term}, last log {last_log_index}@{last_log_term}"),
            RaftMsg::PreVoteReply { term, granted }
            | RaftMsg::RequestVoteReply { term, granted } => {
                format!("term {term}, {}", yes_no(*granted))
            }
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => {
                let n = entries.len();
                let what = match n {
                    0 => "heartbeat".to_string(),
                    1 => "1 entry".to_string(),
                    _ => format!("{n} entries"),
                };
                format!("term {term}, prev {prev_log_index}@{prev_log_term}, {what}, commit {leader_commit}")
            }
            RaftMsg::AppendEntriesReply {
                term,
                success,
                match_index,
                ..
            } => {
                if *success {
                    format!("term {term}, ok, match {match_index}")
                } else {
                    format!("term {term}, mismatch, last {match_index}")
                }
            }
            RaftMsg::ClientRequest { request, op } => format!("{request} {op}"),
            RaftMsg::ClientReply { request, outcome } => match outcome {
                ClientOutcome::Done(v) => format!("{request} ok \"{v}\""),
                ClientOutcome::NotLeader(Some(hint)) => format!("{request} not leader, try {hint}"),
                ClientOutcome::NotLeader(None) => format!("{request} not leader"),
            },
        }
    }

    fn is_reply(&self) -> bool {
        matches!(
            self,
            RaftMsg::PreVoteReply { .. }
                | RaftMsg::RequestVoteReply { .. }
                | RaftMsg::AppendEntriesReply { .. }
                | RaftMsg::ClientReply { .. }
        )
    }
}

impl Encode for RaftMsg {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            RaftMsg::PreVote {
                term,
                last_log_index,
                last_log_term,
            } => (1u8, term, last_log_index, last_log_term).encode(h),
            RaftMsg::PreVoteReply { term, granted } => (2u8, term, granted).encode(h),
            RaftMsg::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => (3u8, term, last_log_index, last_log_term).encode(h),
            RaftMsg::RequestVoteReply { term, granted } => (4u8, term, granted).encode(h),
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => (
                5u8,
                term,
                prev_log_index,
                prev_log_term,
                &entries[..],
                leader_commit,
            )
                .encode(h),
            RaftMsg::AppendEntriesReply {
                term,
                success,
                match_index,
                probe,
            } => (6u8, term, success, match_index, probe).encode(h),
            RaftMsg::ClientRequest { request, op } => (7u8, request, op).encode(h),
            RaftMsg::ClientReply { request, outcome } => {
                (8u8, request).encode(h);
                match outcome {
                    ClientOutcome::Done(v) => (0u8, v).encode(h),
                    ClientOutcome::NotLeader(hint) => (1u8, hint).encode(h),
                }
            }
        }
    }
}
