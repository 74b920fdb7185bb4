//! Paxos's vocabulary: ballots, slots, values, and the messages of the two
//! phases ("Paxos Made Simple" §2.2), the learners' messages (§2.3) and the
//! Multi-Paxos leader's and clients' messages (§3).

use std::fmt;

use sim::{Encode, Message, NodeId, TraceHasher};

use crate::kv::{KvOp, KvResult, RequestId};

/// A ballot ("proposal number" in the paper): a round and the proposer
/// that owns it. Ballots are totally ordered by round, then by proposer, so
/// two proposers never use the same ballot. Under the toggle
/// `no-ballot-tiebreak` the proposer is left out (`by` is `None`), and two
/// proposers can pick the same ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ballot {
    /// The round, 1, 2, 3, ...
    pub round: u64,
    /// The proposer, unless ballots have no tie-break.
    pub by: Option<NodeId>,
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.by {
            Some(n) => write!(f, "{}.{n}", self.round),
            None => write!(f, "{}", self.round),
        }
    }
}

impl Encode for Ballot {
    fn encode(&self, h: &mut TraceHasher) {
        (self.round, self.by).encode(h);
    }
}

/// Shows an optional ballot as "-" when there is none.
pub fn show_ballot(b: Option<Ballot>) -> String {
    b.map_or("-".to_string(), |b| b.to_string())
}

/// A position in the Multi-Paxos log: one instance of single-decree Paxos.
/// Single-decree Paxos uses slot 1 only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot(pub u64);

impl Slot {
    /// The next slot.
    pub fn next(self) -> Slot {
        Slot(self.0 + 1)
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Encode for Slot {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.0);
    }
}

/// What a ballot proposes for a slot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// Nothing: what a new Multi-Paxos leader proposes for a hole.
    Noop,
    /// A value handed to a single-decree proposer, such as "v1".
    Text(String),
    /// A client's command, with who asked and under which request number.
    Command {
        /// The client node.
        client: NodeId,
        /// Its request number.
        request: RequestId,
        /// The operation.
        op: KvOp,
    },
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Noop => f.write_str("no-op"),
            Value::Text(t) => write!(f, "\"{t}\""),
            Value::Command {
                client,
                request,
                op,
            } => write!(f, "{op} by {client}{request}"),
        }
    }
}

impl Encode for Value {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            Value::Noop => 0u8.encode(h),
            Value::Text(t) => (1u8, t).encode(h),
            Value::Command {
                client,
                request,
                op,
            } => (2u8, client, request, op).encode(h),
        }
    }
}

/// An acceptor's vote, as reported in a promise: in `slot` it accepted
/// `value` in ballot `ballot`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// The slot.
    pub slot: Slot,
    /// The ballot it accepted in.
    pub ballot: Ballot,
    /// The value it accepted.
    pub value: Value,
}

impl Encode for Vote {
    fn encode(&self, h: &mut TraceHasher) {
        (self.slot, self.ballot, &self.value).encode(h);
    }
}

/// How a server answered a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientOutcome {
    /// The command was chosen and executed; here is its result.
    Done(KvResult),
    /// "I am not the leader; try this one (if I know it)."
    NotLeader(Option<NodeId>),
}

/// Every message a Paxos node sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaxosMsg {
    /// Phase 1a: "promise not to accept ballots below `ballot`, and tell me
    /// what you accepted in slots `from` and later."
    Prepare {
        /// The proposer's new ballot.
        ballot: Ballot,
        /// The first slot the prepare covers (always 1 in single-decree).
        from: Slot,
    },
    /// Phase 1b: the promise, with the acceptor's votes in the covered slots
    /// (the highest-ballot vote of each slot, which is the only one it keeps).
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// The first slot the promise covers.
        from: Slot,
        /// What the acceptor accepted there.
        votes: Vec<Vote>,
    },
    /// Phase 2a: "accept `value` in `slot` in ballot `ballot`."
    Accept {
        /// The ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
        /// The value.
        value: Value,
    },
    /// Phase 2b: an acceptor's vote, sent to every learner.
    Accepted {
        /// The ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
        /// The value.
        value: Value,
    },
    /// A refusal: the acceptor has promised a higher ballot.
    Nack {
        /// The ballot refused.
        ballot: Ballot,
        /// The higher ballot the acceptor promised.
        promised: Ballot,
    },
    /// A learner tells others what it learned was chosen (a proposer after
    /// learning its value, a leader to a lagging follower, or an answer to
    /// `CatchUp`).
    Chosen {
        /// Chosen values by slot.
        values: Vec<(Slot, Value)>,
    },
    /// "What has been chosen from `from` on?", from a learner that missed
    /// it; also a Multi-Paxos follower's answer to a heartbeat.
    CatchUp {
        /// The first slot the asker has not learned.
        from: Slot,
    },
    /// A Multi-Paxos leader's heartbeat: its ballot. A follower answers
    /// with `CatchUp` from its first gap, which also tells the leader it is
    /// heard; the leader sends what it has learned from there.
    Heartbeat {
        /// The leader's ballot.
        ballot: Ballot,
    },
    /// A client's command.
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

impl Message for PaxosMsg {
    fn kind(&self) -> &'static str {
        match self {
            PaxosMsg::Prepare { .. } => "Prepare",
            PaxosMsg::Promise { .. } => "Promise",
            PaxosMsg::Accept { .. } => "Accept",
            PaxosMsg::Accepted { .. } => "Accepted",
            PaxosMsg::Nack { .. } => "Nack",
            PaxosMsg::Chosen { .. } => "Chosen",
            PaxosMsg::CatchUp { .. } => "CatchUp",
            PaxosMsg::Heartbeat { .. } => "Heartbeat",
            PaxosMsg::ClientRequest { .. } => "ClientRequest",
            PaxosMsg::ClientReply { .. } => "ClientReply",
        }
    }

    fn label(&self) -> String {
        match self {
            PaxosMsg::Prepare { ballot, from } => {
                if from.0 <= 1 {
                    format!("ballot {ballot}")
                } else {
                    format!("ballot {ballot}, slots {from}..")
                }
            }
            PaxosMsg::Promise { ballot, votes, .. } => {
                if votes.is_empty() {
                    format!("ballot {ballot}, nothing accepted")
                } else {
                    let v: Vec<String> = votes
                        .iter()
                        .take(4)
                        .map(|v| format!("{}: {}@{}", v.slot, v.value, v.ballot))
                        .collect();
                    let more = if votes.len() > 4 { ", ..." } else { "" };
                    format!("ballot {ballot}, accepted {}{more}", v.join(", "))
                }
            }
            PaxosMsg::Accept {
                ballot,
                slot,
                value,
            }
            | PaxosMsg::Accepted {
                ballot,
                slot,
                value,
            } => format!("ballot {ballot}, slot {slot}: {value}"),
            PaxosMsg::Nack { ballot, promised } => {
                format!("ballot {ballot} refused, promised {promised}")
            }
            PaxosMsg::Chosen { values } => {
                let v: Vec<String> = values
                    .iter()
                    .take(4)
                    .map(|(s, v)| format!("{s}: {v}"))
                    .collect();
                let more = if values.len() > 4 { ", ..." } else { "" };
                format!("{}{more}", v.join(", "))
            }
            PaxosMsg::CatchUp { from } => format!("from slot {from}"),
            PaxosMsg::Heartbeat { ballot } => format!("ballot {ballot}"),
            PaxosMsg::ClientRequest { request, op } => format!("{request} {op}"),
            PaxosMsg::ClientReply { request, outcome } => match outcome {
                ClientOutcome::Done(v) => format!("{request} ok \"{v}\""),
                ClientOutcome::NotLeader(Some(hint)) => format!("{request} not leader, try {hint}"),
                ClientOutcome::NotLeader(None) => format!("{request} not leader"),
            },
        }
    }

    fn is_reply(&self) -> bool {
        matches!(
            self,
            PaxosMsg::Promise { .. }
                | PaxosMsg::Accepted { .. }
                | PaxosMsg::Nack { .. }
                | PaxosMsg::ClientReply { .. }
        )
    }
}

impl Encode for PaxosMsg {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            PaxosMsg::Prepare { ballot, from } => (1u8, ballot, from).encode(h),
            PaxosMsg::Promise {
                ballot,
                from,
                votes,
            } => (2u8, ballot, from, votes).encode(h),
            PaxosMsg::Accept {
                ballot,
                slot,
                value,
            } => (3u8, ballot, slot, value).encode(h),
            PaxosMsg::Accepted {
                ballot,
                slot,
                value,
            } => (4u8, ballot, slot, value).encode(h),
            PaxosMsg::Nack { ballot, promised } => (5u8, ballot, promised).encode(h),
            PaxosMsg::Chosen { values } => (6u8, values).encode(h),
            PaxosMsg::CatchUp { from } => (7u8, from).encode(h),
            PaxosMsg::Heartbeat { ballot } => (8u8, ballot).encode(h),
            PaxosMsg::ClientRequest { request, op } => (9u8, request, op).encode(h),
            PaxosMsg::ClientReply { request, outcome } => {
                (10u8, request).encode(h);
                match outcome {
                    ClientOutcome::Done(v) => (0u8, v).encode(h),
                    ClientOutcome::NotLeader(hint) => (1u8, hint).encode(h),
                }
            }
        }
    }
}
