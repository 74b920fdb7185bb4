//! A Paxos server (proposer, acceptor and learner at once) and a
//! Multi-Paxos client, as sans-IO state machines.
//!
//! Every incoming message goes through one `match` in
//! [`Server::on_message`] to a handler named after it. A server's proposer
//! is an enum that carries each phase's own state. A server sends to itself
//! too (its own acceptor and learner count like any other); such messages
//! never touch the network and are handled at the end of the same step.

use sim::sorted::{SortedMap, SortedSet};
use std::collections::VecDeque;
use std::rc::Rc;

use sim::{Durability, Encode, Node, NodeId, NodeKind, NodeScene, Out, TraceHasher};

use super::msg::{show_ballot, Ballot, ClientOutcome, PaxosMsg, Slot, Value, Vote};
use super::{Mode, Settings};
use crate::kv::{Applied, Kv, KvOp, KvResult, RequestId};

/// A node's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PaxosTimer {
    /// Single-decree: start the next ballot (after the start delay, a
    /// backoff, or when the current attempt has waited too long).
    Propose,
    /// Multi-Paxos: no heartbeat from a leader for this long; take over.
    /// It also bounds a candidate's phase 1.
    LeaderTimeout,
    /// Multi-Paxos: the leader's heartbeat.
    Heartbeat,
    /// A learner that has not learned everything asks the others.
    CatchUp,
    /// A client that waited this long for an answer tries another server.
    ClientRetry,
    /// Multi-Paxos: a leader that has not heard from a majority for a
    /// leader timeout steps down (as Raft's CheckQuorum), so that a leader
    /// that cannot hear does not keep its followers waiting.
    CheckQuorum,
}

impl Encode for PaxosTimer {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(*self as u64);
    }
}

/// What can be handed to a node from outside.
#[derive(Clone, PartialEq, Eq)]
pub enum PaxosOp {
    /// Single-decree: a value for a server to propose.
    Propose(String),
    /// Multi-Paxos: a key-value command, for a client to send.
    Kv(KvOp),
    /// Make a server start a new ballot now.
    Prepare,
}

/// Written out so that the event log reads "request propose v9 at n2".
impl std::fmt::Debug for PaxosOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaxosOp::Propose(v) => write!(f, "propose {v}"),
            PaxosOp::Kv(op) => write!(f, "{op}"),
            PaxosOp::Prepare => f.write_str("start a ballot"),
        }
    }
}

impl Encode for PaxosOp {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            PaxosOp::Propose(v) => (1u8, v).encode(h),
            PaxosOp::Kv(op) => (2u8, op).encode(h),
            PaxosOp::Prepare => 3u8.encode(h),
        }
    }
}

/// What survives a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaxosDurable {
    /// A server's stable storage.
    Server(ServerDurable),
    /// A client's next request number, so that numbers are never reused.
    Client(RequestId),
}

/// A server's stable storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerDurable {
    /// The highest round this server has used or seen, so that a restarted
    /// proposer never reuses a ballot.
    pub round: u64,
    /// The acceptor's promise.
    pub promised: Option<Ballot>,
    /// The acceptor's votes: the highest-ballot one per slot.
    pub accepted: SortedMap<Slot, (Ballot, Value)>,
    /// What the learner has learned.
    pub chosen: SortedMap<Slot, Value>,
}

impl Encode for PaxosDurable {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            PaxosDurable::Server(d) => (1u8, d.round, d.promised, &d.accepted, &d.chosen).encode(h),
            PaxosDurable::Client(r) => (2u8, r).encode(h),
        }
    }
}

/// Facts nodes report to the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaxosObs {
    /// This server was given `value` to propose (for P2).
    Wants(Value),
    /// This acceptor promised `ballot` to `to`, reporting `votes` for the
    /// slots from `from` on.
    Promised {
        /// The proposer.
        to: NodeId,
        /// The ballot.
        ballot: Ballot,
        /// The first slot covered.
        from: Slot,
        /// The votes reported.
        votes: Vec<Vote>,
    },
    /// This acceptor voted for `value` in `slot` in `ballot`.
    Voted {
        /// The slot.
        slot: Slot,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// This proposer sent Accept(`ballot`, `slot`, `value`), on the strength
    /// of the promises of `quorum`.
    Proposed {
        /// The slot.
        slot: Slot,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
        /// The acceptors whose promises it used.
        quorum: Vec<NodeId>,
    },
    /// This learner learned that `value` is chosen in `slot`.
    Learned {
        /// The slot.
        slot: Slot,
        /// The value.
        value: Value,
    },
    /// This server executed `slot`; `fresh` says whether a client command
    /// ran (rather than being a no-op or a duplicate).
    Executed {
        /// The slot.
        slot: Slot,
        /// Its value.
        value: Value,
        /// Whether a client command took effect.
        fresh: bool,
    },
    /// A client sent a new request.
    Invoked {
        /// Its number.
        request: RequestId,
        /// The operation.
        op: KvOp,
    },
    /// A client received the answer to a request.
    Completed {
        /// Its number.
        request: RequestId,
        /// The result.
        result: KvResult,
    },
}

/// Phase 1 in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preparing {
    /// The ballot being prepared.
    pub ballot: Ballot,
    /// The first slot it covers.
    pub from: Slot,
    /// The promises so far, with the votes they reported.
    pub promises: SortedMap<NodeId, Vec<Vote>>,
    /// Multi-Paxos: whether its own acceptor has been asked yet.
    pub asked_self: bool,
}

/// Phase 2: the ballot won phase 1. In Multi-Paxos this server is the
/// leader and keeps proposing in this ballot without phase 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposing {
    /// The ballot.
    pub ballot: Ballot,
    /// The acceptors whose promises won phase 1.
    pub quorum: Vec<NodeId>,
    /// Multi-Paxos: the next free slot.
    pub next: Slot,
    /// Proposed and not yet learned as chosen.
    pub pending: SortedMap<Slot, Value>,
    /// Multi-Paxos: the servers heard from since the last quorum check.
    pub heard: SortedSet<NodeId>,
}

/// What a server's proposer is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proposer {
    /// Nothing: a single-decree server waiting (or done), a Multi-Paxos
    /// follower.
    Idle,
    /// Phase 1.
    Preparing(Preparing),
    /// Phase 2 (a Multi-Paxos leader).
    Proposing(Proposing),
}

/// A Paxos server.
#[derive(Clone, Debug)]
pub struct Server {
    id: NodeId,
    servers: Vec<NodeId>,
    settings: Rc<Settings>,
    // Stable storage (see ServerDurable).
    round: u64,
    promised: Option<Ballot>,
    accepted: SortedMap<Slot, (Ballot, Value)>,
    chosen: SortedMap<Slot, Value>,
    // Volatile state.
    proposer: Proposer,
    /// Single-decree: the value this server wants chosen.
    own: Option<Value>,
    /// Failed attempts in a row, for the backoff.
    failures: u32,
    /// Accepted messages heard, per slot not yet learned: who voted for
    /// which (ballot, value).
    tally: SortedMap<Slot, SortedMap<(Ballot, Value), SortedSet<NodeId>>>,
    /// The last slot executed (0: none).
    executed: Slot,
    kv: Kv,
    /// Multi-Paxos: the leader this server believes in.
    leader: Option<NodeId>,
    /// Multi-Paxos: whether that leader has been heard from since the
    /// leader timeout last fired.
    leader_fresh: bool,
    /// Messages to itself, handled at the end of the step.
    local: VecDeque<PaxosMsg>,
    dirty: bool,
}

/// A Multi-Paxos client.
#[derive(Clone, Debug)]
pub struct Client {
    id: NodeId,
    servers: Vec<NodeId>,
    retry: sim::Duration,
    guess: usize,
    next_request: RequestId,
    outstanding: Option<(RequestId, KvOp)>,
    queue: VecDeque<KvOp>,
    last_completed: Option<RequestId>,
}

/// A Paxos node. The world holds one per node id, so the size difference
/// between a server and a client costs a few hundred bytes per client, less
/// than boxing the server would cost in allocations on every checkpoint.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum PaxosNode {
    /// A server.
    Server(Server),
    /// A client.
    Client(Client),
}

/// How many operations a client queues behind its outstanding one.
const CLIENT_QUEUE_LIMIT: usize = 64;
/// How many chosen values one `Chosen` message carries.
const CHOSEN_BATCH: usize = 32;
/// How many pending slots a leader re-sends per heartbeat.
const RESEND_BATCH: usize = 16;
/// The most messages a server handles to itself in one step.
const LOCAL_LIMIT: usize = 10_000;
/// How many slots the node scene lists.
const SCENE_SLOTS: usize = 8;

impl PaxosNode {
    /// A server.
    pub fn server(id: NodeId, servers: &[NodeId], settings: Rc<Settings>) -> PaxosNode {
        PaxosNode::Server(Server {
            id,
            servers: servers.to_vec(),
            settings,
            round: 0,
            promised: None,
            accepted: SortedMap::new(),
            chosen: SortedMap::new(),
            proposer: Proposer::Idle,
            own: None,
            failures: 0,
            tally: SortedMap::new(),
            executed: Slot(0),
            kv: Kv::default(),
            leader: None,
            leader_fresh: false,
            local: VecDeque::new(),
            dirty: false,
        })
    }

    /// A client.
    pub fn client(id: NodeId, servers: &[NodeId], settings: &Settings) -> PaxosNode {
        PaxosNode::Client(Client {
            id,
            servers: servers.to_vec(),
            retry: settings.client_retry,
            guess: id.index() % servers.len().max(1),
            next_request: RequestId(1),
            outstanding: None,
            queue: VecDeque::new(),
            last_completed: None,
        })
    }

    /// The server, if this is one.
    pub fn as_server(&self) -> Option<&Server> {
        match self {
            PaxosNode::Server(s) => Some(s),
            PaxosNode::Client(_) => None,
        }
    }

    /// The client, if this is one.
    pub fn as_client(&self) -> Option<&Client> {
        match self {
            PaxosNode::Client(c) => Some(c),
            PaxosNode::Server(_) => None,
        }
    }
}

impl Server {
    /// The acceptor's promise.
    pub fn promised(&self) -> Option<Ballot> {
        self.promised
    }

    /// The acceptor's votes.
    pub fn accepted(&self) -> &SortedMap<Slot, (Ballot, Value)> {
        &self.accepted
    }

    /// What this learner has learned.
    pub fn chosen(&self) -> &SortedMap<Slot, Value> {
        &self.chosen
    }

    /// The proposer's state.
    pub fn proposer(&self) -> &Proposer {
        &self.proposer
    }

    /// The last slot executed.
    pub fn executed(&self) -> Slot {
        self.executed
    }

    /// The key-value store.
    pub fn kv(&self) -> &Kv {
        &self.kv
    }

    /// The highest round used or seen.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// Single-decree: the value this server wants chosen.
    pub fn own_value(&self) -> Option<&Value> {
        self.own.as_ref()
    }

    /// The ballot this server is leading (Multi-Paxos, phase 2).
    pub fn leading(&self) -> Option<Ballot> {
        match (&self.proposer, self.settings.mode) {
            (Proposer::Proposing(p), Mode::Multi) => Some(p.ballot),
            _ => None,
        }
    }

    /// The leader this server believes in (Multi-Paxos).
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The role, for the stage: single-decree "acceptor", "phase-1",
    /// "phase-2", "proposer" or "decided"; Multi-Paxos "follower", "candidate" or
    /// "leader". A Multi-Paxos server whose phase 1 got nowhere (the others
    /// ignore its prepares while they hear a leader) and that hears that
    /// leader itself is a follower: it accepts the leader's proposals, and
    /// its own ballot waits for promises that will not come.
    pub fn role_name(&self) -> &'static str {
        match (self.settings.mode, &self.proposer) {
            (Mode::Multi, Proposer::Preparing(_)) if self.follows_another() => "follower",
            (Mode::Single, Proposer::Preparing(_)) => "phase-1",
            (Mode::Single, Proposer::Proposing(_)) => "phase-2",
            (Mode::Single, Proposer::Idle) if self.chosen.contains_key(&Slot(1)) => "decided",
            (Mode::Single, Proposer::Idle) if self.own.is_some() => "proposer",
            (Mode::Single, Proposer::Idle) => "acceptor",
            (Mode::Multi, Proposer::Preparing(_)) => "candidate",
            (Mode::Multi, Proposer::Proposing(_)) => "leader",
            (Mode::Multi, Proposer::Idle) => "follower",
        }
    }

    /// Multi-Paxos: whether this server hears a leader other than itself.
    fn follows_another(&self) -> bool {
        self.leader_fresh && self.leader.is_some_and(|l| l != self.id)
    }

    /// The first slot this learner has not learned.
    pub fn first_unlearned(&self) -> Slot {
        let mut s = self.executed.next();
        while self.chosen.contains_key(&s) {
            s = s.next();
        }
        s
    }

    fn decided(&self) -> bool {
        self.settings.mode == Mode::Single && self.chosen.contains_key(&Slot(1))
    }

    fn send(&mut self, to: NodeId, msg: PaxosMsg, out: &mut Out<PaxosNode>) {
        if to == self.id {
            self.local.push_back(msg);
        } else {
            out.send(to, msg);
        }
    }

    fn broadcast(&mut self, msg: PaxosMsg, out: &mut Out<PaxosNode>) {
        for to in self.servers.clone() {
            self.send(to, msg.clone(), out);
        }
    }

    /// Handles the messages to itself, then writes stable storage if it
    /// changed.
    fn finish(&mut self, out: &mut Out<PaxosNode>) {
        let mut handled = 0;
        while let Some(msg) = self.local.pop_front() {
            handled += 1;
            assert!(handled <= LOCAL_LIMIT, "a server kept sending to itself");
            self.on_message(self.id, &msg, out);
        }
        if self.dirty {
            self.dirty = false;
            let volatile = self.settings.volatile_acceptor;
            out.persist(PaxosDurable::Server(ServerDurable {
                round: self.round,
                promised: if volatile { None } else { self.promised },
                accepted: if volatile {
                    SortedMap::new()
                } else {
                    self.accepted.clone()
                },
                chosen: self.chosen.clone(),
            }));
        }
    }

    fn see_round(&mut self, round: u64) {
        if round > self.round {
            self.round = round;
            self.dirty = true;
        }
    }

    fn start(&mut self, durable: Option<&ServerDurable>, out: &mut Out<PaxosNode>) {
        if let Some(d) = durable {
            self.round = d.round;
            self.promised = d.promised;
            self.accepted = d.accepted.clone();
            self.chosen = d.chosen.clone();
        }
        out.note(format!(
            "{} starts: promised {}, {} accepted, {} learned",
            self.id,
            show_ballot(self.promised),
            self.accepted.len(),
            self.chosen.len()
        ));
        // The state machine is volatile: rebuild it from what was learned.
        self.execute(out);
        match self.settings.mode {
            Mode::Single => {
                if self.id.index() < self.settings.proposers {
                    let v = Value::Text(format!("v{}", self.id.0 + 1));
                    out.observe(PaxosObs::Wants(v.clone()));
                    self.own = Some(v);
                }
                if !self.decided() {
                    if self.own.is_some() {
                        out.set_timer(
                            PaxosTimer::Propose,
                            sim::Duration::ZERO,
                            self.settings.start_window,
                        );
                    }
                    self.set_catch_up(out);
                }
            }
            Mode::Multi => self.reset_leader_timeout(out),
        }
    }

    fn set_catch_up(&self, out: &mut Out<PaxosNode>) {
        let c = self.settings.catchup_interval;
        out.set_timer(PaxosTimer::CatchUp, c, c.scale(2, 1));
    }

    fn reset_leader_timeout(&self, out: &mut Out<PaxosNode>) {
        let s = &self.settings;
        out.set_timer(
            PaxosTimer::LeaderTimeout,
            s.leader_timeout_min,
            s.leader_timeout_max,
        );
    }

    /// Phase 1a: a new ballot, higher than any seen.
    fn start_ballot(&mut self, out: &mut Out<PaxosNode>) {
        self.round += 1;
        self.dirty = true;
        let ballot = Ballot {
            round: self.round,
            by: (!self.settings.no_ballot_tiebreak).then_some(self.id),
        };
        let from = match self.settings.mode {
            Mode::Single => Slot(1),
            Mode::Multi => self.first_unlearned(),
        };
        self.proposer = Proposer::Preparing(Preparing {
            ballot,
            from,
            promises: SortedMap::new(),
            asked_self: false,
        });
        out.milestone(
            "ballot-started",
            format!("{} starts ballot {ballot}", self.id),
        );
        // Wait for this attempt; a longer, random wait with backoff.
        let t = self.settings.round_timeout;
        match self.settings.mode {
            Mode::Single => {
                let max = if self.settings.no_backoff {
                    t
                } else {
                    t.scale(2, 1)
                };
                out.set_timer(PaxosTimer::Propose, t, max);
            }
            Mode::Multi => {
                // A candidate whose phase 1 keeps timing out (it may hear
                // nobody) waits longer and longer before its next ballot, so
                // that it does not keep spoiling other candidates' ballots.
                out.cancel_timer(PaxosTimer::Heartbeat);
                let s = &self.settings;
                let extra = if s.no_backoff {
                    sim::Duration::ZERO
                } else {
                    s.backoff.scale(1 << self.failures.min(5), 1)
                };
                out.set_timer(
                    PaxosTimer::LeaderTimeout,
                    s.leader_timeout_min,
                    s.leader_timeout_max + extra,
                );
            }
        }
        match self.settings.mode {
            Mode::Single => self.broadcast(PaxosMsg::Prepare { ballot, from }, out),
            Mode::Multi => {
                // A Multi-Paxos candidate asks its own acceptor last, once
                // the others' promises would make a quorum with it. A
                // candidate that cannot win (its peers still follow a
                // leader) so leaves its own promise, and the leader, alone.
                for to in self.servers.clone() {
                    if to != self.id {
                        out.send(to, PaxosMsg::Prepare { ballot, from });
                    }
                }
                self.maybe_prepare_self(out);
            }
        }
    }

    /// An attempt failed (refused): try again, at once without backoff, or
    /// after a random wait that doubles with each failure in a row.
    fn after_refusal(&mut self, out: &mut Out<PaxosNode>) {
        self.failures += 1;
        self.proposer = Proposer::Idle;
        if self.settings.no_backoff {
            out.note(format!("{} retries at once, with a higher ballot", self.id));
            self.start_ballot(out);
            return;
        }
        let wait = self.settings.backoff.scale(1 << self.failures.min(5), 1);
        out.note(format!(
            "{} backs off for up to {wait} before its next ballot",
            self.id
        ));
        let timer = match self.settings.mode {
            Mode::Single => PaxosTimer::Propose,
            Mode::Multi => PaxosTimer::LeaderTimeout,
        };
        let min = match self.settings.mode {
            Mode::Single => sim::Duration::ZERO,
            // A follower waits at least a leader timeout, so that a leader
            // it has just heard of can show itself.
            Mode::Multi => self.settings.leader_timeout_min,
        };
        out.set_timer(timer, min, min + wait);
    }

    /// Gives up its own ballot on hearing of a higher one from another
    /// proposer (its own acceptor has promised it, so its ballot cannot
    /// win): a single-decree proposer or a Multi-Paxos candidate tries again
    /// after a backoff (or at once without one, which is how dueling
    /// proposers livelock); a Multi-Paxos leader becomes a follower.
    fn preempted(&mut self, ballot: Ballot, out: &mut Out<PaxosNode>) {
        let mine = match &self.proposer {
            Proposer::Idle => return,
            Proposer::Preparing(p) => p.ballot,
            Proposer::Proposing(p) => p.ballot,
        };
        if ballot <= mine {
            return;
        }
        out.note(format!(
            "{} gives up ballot {mine}: ballot {ballot} is higher",
            self.id
        ));
        match (&self.proposer, self.settings.mode) {
            (Proposer::Proposing(_), Mode::Multi) => {
                self.proposer = Proposer::Idle;
                out.cancel_timer(PaxosTimer::Heartbeat);
                self.reset_leader_timeout(out);
            }
            _ => self.after_refusal(out),
        }
    }

    fn on_message(&mut self, from: NodeId, msg: &PaxosMsg, out: &mut Out<PaxosNode>) {
        if let Proposer::Proposing(p) = &mut self.proposer {
            if from != self.id && self.servers.contains(&from) {
                p.heard.insert(from);
            }
        }
        match msg {
            PaxosMsg::Prepare { ballot, from: slot } => self.on_prepare(from, *ballot, *slot, out),
            PaxosMsg::Promise {
                ballot,
                from: _,
                votes,
            } => self.on_promise(from, *ballot, votes, out),
            PaxosMsg::Accept {
                ballot,
                slot,
                value,
            } => self.on_accept(from, *ballot, *slot, value, out),
            PaxosMsg::Accepted {
                ballot,
                slot,
                value,
            } => self.on_accepted(from, *ballot, *slot, value, out),
            PaxosMsg::Nack { ballot, promised } => self.on_nack(from, *ballot, *promised, out),
            PaxosMsg::Chosen { values } => self.on_chosen(from, values, out),
            PaxosMsg::CatchUp { from: slot } => self.on_catch_up(from, *slot, out),
            PaxosMsg::Heartbeat { ballot } => self.on_heartbeat(from, *ballot, out),
            PaxosMsg::ClientRequest { request, op } => {
                self.on_client_request(from, *request, op, out)
            }
            PaxosMsg::ClientReply { .. } => out.note(format!("{} ignores a client reply", self.id)),
        }
    }

    fn nack(&mut self, to: NodeId, ballot: Ballot, promised: Ballot, out: &mut Out<PaxosNode>) {
        out.note(format!(
            "{} refuses ballot {ballot}: it promised {promised}",
            self.id
        ));
        self.send(to, PaxosMsg::Nack { ballot, promised }, out);
    }

    /// Phase 1b.
    fn on_prepare(&mut self, from: NodeId, ballot: Ballot, slot: Slot, out: &mut Out<PaxosNode>) {
        // Multi-Paxos: while the leader is heard from, prepares from anyone
        // else are ignored, so that a server that cannot hear the leader
        // does not depose it again and again (ignoring a message is always
        // safe; Raft's PreVote serves the same end).
        if self.settings.mode == Mode::Multi
            && from != self.id
            && self.leader_fresh
            && self.leader.is_some_and(|l| l != from)
        {
            out.note(format!(
                "{} ignores ballot {ballot} from {from}: it hears from leader {}",
                self.id,
                self.leader.expect("checked")
            ));
            return;
        }
        if let Some(p) = self.promised.filter(|&p| ballot < p) {
            self.nack(from, ballot, p, out);
            return;
        }
        self.promised = Some(ballot);
        self.see_round(ballot.round);
        self.dirty = true;
        let votes: Vec<Vote> = self
            .accepted
            .range(slot..)
            .map(|(&s, (b, v))| Vote {
                slot: s,
                ballot: *b,
                value: v.clone(),
            })
            .collect();
        out.note(if votes.is_empty() {
            format!(
                "{} promises ballot {ballot} to {from}; it has accepted nothing",
                self.id
            )
        } else {
            format!(
                "{} promises ballot {ballot} to {from}, reporting {} accepted value(s)",
                self.id,
                votes.len()
            )
        });
        out.observe(PaxosObs::Promised {
            to: from,
            ballot,
            from: slot,
            votes: votes.clone(),
        });
        self.send(
            from,
            PaxosMsg::Promise {
                ballot,
                from: slot,
                votes,
            },
            out,
        );
        if from != self.id {
            if self.settings.mode == Mode::Multi {
                // A candidate is at work: give it time before taking over.
                self.reset_leader_timeout(out);
            }
            self.preempted(ballot, out);
        }
    }

    fn on_promise(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        votes: &[Vote],
        out: &mut Out<PaxosNode>,
    ) {
        let quorum = self.settings.quorum();
        let Proposer::Preparing(p) = &mut self.proposer else {
            return;
        };
        if p.ballot != ballot {
            return;
        }
        p.promises.insert(from, votes.to_vec());
        if p.promises.len() >= quorum {
            self.start_phase_two(out);
        } else {
            self.maybe_prepare_self(out);
        }
    }

    /// Multi-Paxos: sends phase 1a to its own acceptor once the promises of
    /// the others and its own would make a quorum.
    fn maybe_prepare_self(&mut self, out: &mut Out<PaxosNode>) {
        let quorum = self.settings.quorum();
        let Proposer::Preparing(p) = &mut self.proposer else {
            return;
        };
        if self.settings.mode != Mode::Multi || p.asked_self || p.promises.len() + 1 < quorum {
            return;
        }
        p.asked_self = true;
        let (ballot, from) = (p.ballot, p.from);
        self.send(self.id, PaxosMsg::Prepare { ballot, from }, out);
    }

    /// Which reported vote to re-propose: the highest-ballot one (the rule),
    /// or under the toggles none or the lowest-ballot one.
    fn pick(&self, reported: &[(Ballot, Value)]) -> Option<Value> {
        if self.settings.ignore_promised_values {
            return None;
        }
        let pick = if self.settings.adopt_any_accepted_value {
            reported.iter().min_by_key(|(b, _)| *b)
        } else {
            reported.iter().max_by_key(|(b, _)| *b)
        };
        pick.map(|(_, v)| v.clone())
    }

    /// Phase 2a, after a promise quorum.
    fn start_phase_two(&mut self, out: &mut Out<PaxosNode>) {
        let Proposer::Preparing(p) = std::mem::replace(&mut self.proposer, Proposer::Idle) else {
            unreachable!("phase 2 starts from phase 1");
        };
        let mut reported: SortedMap<Slot, Vec<(Ballot, Value)>> = SortedMap::new();
        for v in p.promises.values().flatten() {
            reported
                .entry(v.slot)
                .or_default()
                .push((v.ballot, v.value.clone()));
        }
        let quorum: Vec<NodeId> = p.promises.keys().copied().collect();
        let mut proposals = Vec::new();
        let next = match self.settings.mode {
            Mode::Single => {
                let reported = reported.remove(&Slot(1)).unwrap_or_default();
                let value = match self.pick(&reported) {
                    Some(v) => {
                        out.note(format!(
                            "{} must propose {v}, reported by a promise",
                            self.id
                        ));
                        v
                    }
                    None => self.own.clone().unwrap_or(Value::Noop),
                };
                proposals.push((Slot(1), value));
                Slot(2)
            }
            Mode::Multi => {
                let last = reported.keys().next_back().copied().unwrap_or(Slot(0));
                let mut s = p.from;
                while s <= last {
                    if !self.chosen.contains_key(&s) {
                        let value = reported
                            .get(&s)
                            .and_then(|r| self.pick(r))
                            .unwrap_or(Value::Noop);
                        proposals.push((s, value));
                    }
                    s = s.next();
                }
                let last_learned = self.chosen.keys().next_back().copied().unwrap_or(Slot(0));
                p.from.max(last.next()).max(last_learned.next())
            }
        };
        self.failures = 0;
        self.proposer = Proposer::Proposing(Proposing {
            ballot: p.ballot,
            quorum,
            next,
            pending: SortedMap::new(),
            heard: SortedSet::new(),
        });
        if self.settings.mode == Mode::Multi {
            self.leader = Some(self.id);
            self.leader_fresh = true;
            out.milestone(
                "leader-established",
                format!(
                    "{} leads with ballot {} ({} slot(s) to re-propose)",
                    self.id,
                    p.ballot,
                    proposals.len()
                ),
            );
            out.cancel_timer(PaxosTimer::LeaderTimeout);
            let c = self.settings.leader_timeout_max;
            out.set_timer(PaxosTimer::CheckQuorum, c, c);
            let h = self.settings.heartbeat_interval;
            out.set_timer(PaxosTimer::Heartbeat, h, h);
            self.send_heartbeat(out);
        }
        for (slot, value) in proposals {
            self.propose(slot, value, out);
        }
    }

    fn propose(&mut self, slot: Slot, value: Value, out: &mut Out<PaxosNode>) {
        let Proposer::Proposing(p) = &mut self.proposer else {
            unreachable!("proposing in phase 2 only");
        };
        p.pending.insert(slot, value.clone());
        let ballot = p.ballot;
        out.note(format!(
            "{} asks the acceptors to accept {value} in slot {slot}, ballot {ballot}",
            self.id
        ));
        out.observe(PaxosObs::Proposed {
            slot,
            ballot,
            value: value.clone(),
            quorum: p.quorum.clone(),
        });
        self.broadcast(
            PaxosMsg::Accept {
                ballot,
                slot,
                value,
            },
            out,
        );
    }

    /// Phase 2b.
    fn on_accept(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        value: &Value,
        out: &mut Out<PaxosNode>,
    ) {
        if let Some(p) = self.promised.filter(|&p| ballot < p) {
            self.nack(from, ballot, p, out);
            return;
        }
        self.promised = Some(ballot);
        self.see_round(ballot.round);
        self.accepted.insert(slot, (ballot, value.clone()));
        self.dirty = true;
        out.note(format!(
            "{} accepts {value} in slot {slot}, ballot {ballot}",
            self.id
        ));
        out.observe(PaxosObs::Voted {
            slot,
            ballot,
            value: value.clone(),
        });
        if from != self.id {
            if self.settings.mode == Mode::Multi {
                self.follow(from, out);
            }
            self.preempted(ballot, out);
        }
        self.broadcast(
            PaxosMsg::Accepted {
                ballot,
                slot,
                value: value.clone(),
            },
            out,
        );
    }

    /// A learner counts votes.
    fn on_accepted(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        value: &Value,
        out: &mut Out<PaxosNode>,
    ) {
        if self.chosen.contains_key(&slot) {
            return;
        }
        let voters = self
            .tally
            .entry(slot)
            .or_default()
            .entry((ballot, value.clone()))
            .or_default();
        voters.insert(from);
        if voters.len() >= self.settings.quorum() {
            self.learn(slot, value.clone(), out);
        }
    }

    fn learn(&mut self, slot: Slot, value: Value, out: &mut Out<PaxosNode>) {
        if self.chosen.contains_key(&slot) {
            return;
        }
        self.chosen.insert(slot, value.clone());
        self.tally.remove(&slot);
        self.dirty = true;
        out.observe(PaxosObs::Learned {
            slot,
            value: value.clone(),
        });
        let mut mine = false;
        if let Proposer::Proposing(p) = &mut self.proposer {
            mine = p.pending.remove(&slot).is_some();
        }
        match self.settings.mode {
            Mode::Single => {
                out.milestone(
                    "value-chosen",
                    format!("{} learns that {value} is chosen", self.id),
                );
                out.cancel_timer(PaxosTimer::CatchUp);
                if let Some(own) = &self.own {
                    out.cancel_timer(PaxosTimer::Propose);
                    if *own != value {
                        out.note(format!("{}'s own value {own} lost", self.id));
                    }
                }
                if mine {
                    // Tell the learners that may have missed the votes.
                    let others: Vec<NodeId> = self
                        .servers
                        .iter()
                        .copied()
                        .filter(|&n| n != self.id)
                        .collect();
                    for to in others {
                        out.send(
                            to,
                            PaxosMsg::Chosen {
                                values: vec![(slot, value.clone())],
                            },
                        );
                    }
                }
                self.proposer = Proposer::Idle;
            }
            Mode::Multi => {
                if mine {
                    out.milestone("value-chosen", format!("slot {slot} is chosen: {value}"));
                } else {
                    out.note(format!("{} learns slot {slot}: {value}", self.id));
                }
                self.execute(out);
            }
        }
    }

    /// Executes chosen slots in order, without holes.
    fn execute(&mut self, out: &mut Out<PaxosNode>) {
        if self.settings.mode == Mode::Single {
            return;
        }
        while let Some(value) = self.chosen.get(&self.executed.next()).cloned() {
            let slot = self.executed.next();
            self.executed = slot;
            let (fresh, result) = match &value {
                Value::Command {
                    client,
                    request,
                    op,
                } => match self.kv.apply(*client, *request, op) {
                    Applied::Fresh(r) => (true, Some((*client, *request, r))),
                    Applied::Duplicate(r) => (false, Some((*client, *request, r))),
                    Applied::Stale => (false, None),
                },
                Value::Noop | Value::Text(_) => (false, None),
            };
            out.observe(PaxosObs::Executed { slot, value, fresh });
            if let (Some((client, request, r)), Some(_)) = (result, self.leading()) {
                out.send(
                    client,
                    PaxosMsg::ClientReply {
                        request,
                        outcome: ClientOutcome::Done(r),
                    },
                );
            }
        }
    }

    fn on_nack(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        promised: Ballot,
        out: &mut Out<PaxosNode>,
    ) {
        self.see_round(promised.round);
        let mine = match &self.proposer {
            Proposer::Idle => None,
            Proposer::Preparing(p) => Some(p.ballot),
            Proposer::Proposing(p) => Some(p.ballot),
        };
        if mine != Some(ballot) {
            return;
        }
        out.note(format!(
            "{}'s ballot {ballot} is refused by {from}, which promised {promised}",
            self.id
        ));
        if self.leading().is_some() {
            // The distinguished proposer stays in charge: it runs phase 1
            // again, above the ballot it was refused for (§3: a leader's
            // ballot can be overtaken by a server that could not hear it).
            out.note(format!("{} runs phase 1 again, above {promised}", self.id));
            out.cancel_timer(PaxosTimer::Heartbeat);
            self.start_ballot(out);
            return;
        }
        self.after_refusal(out);
    }

    fn on_chosen(&mut self, from: NodeId, values: &[(Slot, Value)], out: &mut Out<PaxosNode>) {
        let _ = from;
        for (slot, value) in values {
            self.learn(*slot, value.clone(), out);
        }
    }

    fn on_catch_up(&mut self, from: NodeId, slot: Slot, out: &mut Out<PaxosNode>) {
        let values: Vec<(Slot, Value)> = self
            .chosen
            .range(slot..)
            .take(CHOSEN_BATCH)
            .map(|(s, v)| (*s, v.clone()))
            .collect();
        if !values.is_empty() {
            self.send(from, PaxosMsg::Chosen { values }, out);
        }
    }

    fn on_heartbeat(&mut self, from: NodeId, ballot: Ballot, out: &mut Out<PaxosNode>) {
        // Whatever the ballots, what was chosen is chosen. The answer says
        // where this server's log has its first gap (which also tells the
        // leader it is heard); the leader sends what it has from there.
        let first = self.first_unlearned();
        self.send(from, PaxosMsg::CatchUp { from: first }, out);
        let Some(p) = self.promised.filter(|&p| ballot < p) else {
            self.follow(from, out);
            self.preempted(ballot, out);
            return;
        };
        // The sender leads a ballot below this server's promise: tell it,
        // so that it runs phase 1 again above. A candidate that hears a
        // working leader stands down rather than fight it.
        if let Proposer::Preparing(_) = self.proposer {
            out.note(format!(
                "{} hears leader {from} and stops its own phase 1",
                self.id
            ));
            self.proposer = Proposer::Idle;
            self.follow(from, out);
        }
        self.nack(from, ballot, p, out);
    }

    /// Multi-Paxos: `leader` has just been heard from.
    fn follow(&mut self, leader: NodeId, out: &mut Out<PaxosNode>) {
        self.leader = Some(leader);
        self.leader_fresh = true;
        self.reset_leader_timeout(out);
    }

    fn send_heartbeat(&mut self, out: &mut Out<PaxosNode>) {
        let Some(ballot) = self.leading() else {
            return;
        };
        let others: Vec<NodeId> = self
            .servers
            .iter()
            .copied()
            .filter(|&n| n != self.id)
            .collect();
        for to in others {
            out.send(to, PaxosMsg::Heartbeat { ballot });
        }
    }

    fn on_heartbeat_timer(&mut self, out: &mut Out<PaxosNode>) {
        let Proposer::Proposing(p) = &self.proposer else {
            return;
        };
        if self.settings.mode != Mode::Multi {
            return;
        }
        // Re-send the accepts that may have been lost.
        let ballot = p.ballot;
        let resend: Vec<(Slot, Value)> = p
            .pending
            .iter()
            .take(RESEND_BATCH)
            .map(|(s, v)| (*s, v.clone()))
            .collect();
        for (slot, value) in resend {
            let others: Vec<NodeId> = self
                .servers
                .iter()
                .copied()
                .filter(|&n| n != self.id)
                .collect();
            for to in others {
                out.send(
                    to,
                    PaxosMsg::Accept {
                        ballot,
                        slot,
                        value: value.clone(),
                    },
                );
            }
        }
        self.send_heartbeat(out);
        let h = self.settings.heartbeat_interval;
        out.set_timer(PaxosTimer::Heartbeat, h, h);
    }

    fn on_client_request(
        &mut self,
        client: NodeId,
        request: RequestId,
        op: &KvOp,
        out: &mut Out<PaxosNode>,
    ) {
        if self.leading().is_none() {
            let hint = self.leader.filter(|&l| l != self.id);
            self.send(
                client,
                PaxosMsg::ClientReply {
                    request,
                    outcome: ClientOutcome::NotLeader(hint),
                },
                out,
            );
            return;
        }
        if let Some(result) = self.kv.cached(client, request) {
            let result = result.clone();
            self.send(
                client,
                PaxosMsg::ClientReply {
                    request,
                    outcome: ClientOutcome::Done(result),
                },
                out,
            );
            return;
        }
        if self.kv.last_request(client).is_some_and(|r| r > request) {
            return;
        }
        let value = Value::Command {
            client,
            request,
            op: op.clone(),
        };
        let Proposer::Proposing(p) = &mut self.proposer else {
            unreachable!("leading");
        };
        if p.pending.values().any(|v| *v == value) {
            out.note(format!(
                "{} already proposed {client}{request}; it waits for it",
                self.id
            ));
            return;
        }
        let slot = p.next;
        p.next = slot.next();
        self.propose(slot, value, out);
    }

    fn on_propose_timer(&mut self, out: &mut Out<PaxosNode>) {
        if self.decided() || self.own.is_none() {
            return;
        }
        if !matches!(self.proposer, Proposer::Idle) {
            out.note(format!(
                "{}'s ballot got no quorum in time; it tries a higher one",
                self.id
            ));
            self.failures += 1;
        }
        self.start_ballot(out);
    }

    fn on_leader_timeout(&mut self, out: &mut Out<PaxosNode>) {
        if self.leading().is_some() {
            return;
        }
        if let Proposer::Preparing(_) = self.proposer {
            self.failures += 1;
        }
        out.note(format!(
            "{} hears from no leader; it starts phase 1",
            self.id
        ));
        self.leader = None;
        self.leader_fresh = false;
        self.start_ballot(out);
    }

    fn on_check_quorum(&mut self, out: &mut Out<PaxosNode>) {
        let quorum = self.settings.quorum();
        let Proposer::Proposing(p) = &mut self.proposer else {
            return;
        };
        if p.heard.len() + 1 >= quorum {
            p.heard.clear();
            let c = self.settings.leader_timeout_max;
            out.set_timer(PaxosTimer::CheckQuorum, c, c);
            return;
        }
        out.note(format!(
            "{} heard from {} other server(s) in a leader timeout, fewer than a quorum needs; it steps down",
            self.id,
            p.heard.len()
        ));
        self.proposer = Proposer::Idle;
        self.leader = None;
        self.leader_fresh = false;
        out.cancel_timer(PaxosTimer::Heartbeat);
        self.reset_leader_timeout(out);
    }

    fn on_catch_up_timer(&mut self, out: &mut Out<PaxosNode>) {
        if self.decided() {
            return;
        }
        let from = self.first_unlearned();
        self.broadcast(PaxosMsg::CatchUp { from }, out);
        self.set_catch_up(out);
    }

    fn on_op(&mut self, op: &PaxosOp, out: &mut Out<PaxosNode>) {
        match (op, self.settings.mode) {
            (PaxosOp::Prepare, Mode::Single) => {
                if self.decided() {
                    out.note(format!("{} has already learned the value", self.id));
                } else if self.own.is_none() {
                    out.note(format!("{} has no value to propose", self.id));
                } else {
                    self.start_ballot(out);
                }
            }
            (PaxosOp::Prepare, Mode::Multi) => {
                self.leader = None;
                self.leader_fresh = false;
                self.start_ballot(out);
            }
            (PaxosOp::Propose(v), Mode::Single) => {
                if self.decided() {
                    out.note(format!("{} has already learned the value", self.id));
                    return;
                }
                let value = Value::Text(v.clone());
                out.observe(PaxosObs::Wants(value.clone()));
                self.own = Some(value);
                if matches!(self.proposer, Proposer::Idle) {
                    self.start_ballot(out);
                }
            }
            (PaxosOp::Propose(_), Mode::Multi) | (PaxosOp::Kv(_), _) => out.note(format!(
                "{} is a server: {}",
                self.id,
                match self.settings.mode {
                    Mode::Multi => "hand commands to a client",
                    Mode::Single => "hand it a value to propose",
                }
            )),
        }
    }

    fn scene(&self) -> NodeScene {
        let mut scene = NodeScene::new(NodeKind::Server, self.role_name(), self.id.to_string())
            .badge(format!("promised {}", show_ballot(self.promised)), "ballot")
            .row("promised", show_ballot(self.promised), Durability::Durable);
        let proposer = match &self.proposer {
            Proposer::Idle => "idle".to_string(),
            Proposer::Preparing(p) if self.follows_another() => format!(
                "phase 1 of ballot {} stalled ({} promise(s)): it follows {}",
                p.ballot,
                p.promises.len(),
                self.leader.expect("follows a leader")
            ),
            Proposer::Preparing(p) => format!(
                "phase 1, ballot {}, {} promise(s)",
                p.ballot,
                p.promises.len()
            ),
            Proposer::Proposing(p) => {
                format!("phase 2, ballot {}, {} pending", p.ballot, p.pending.len())
            }
        };
        scene = scene.row("proposer", proposer, Durability::Volatile).row(
            "highest round",
            self.round.to_string(),
            Durability::Durable,
        );
        match self.settings.mode {
            Mode::Single => {
                scene = scene
                    .row(
                        "own value",
                        self.own.as_ref().map_or("-".to_string(), |v| v.to_string()),
                        Durability::Volatile,
                    )
                    .row(
                        "accepted",
                        self.accepted
                            .get(&Slot(1))
                            .map_or("-".to_string(), |(b, v)| format!("{v} in ballot {b}")),
                        Durability::Durable,
                    )
                    .row(
                        "learned",
                        self.chosen
                            .get(&Slot(1))
                            .map_or("-".to_string(), |v| v.to_string()),
                        Durability::Durable,
                    );
            }
            Mode::Multi => {
                scene = scene
                    .row(
                        "leader",
                        self.leader.map_or("-".to_string(), |l| l.to_string()),
                        Durability::Volatile,
                    )
                    .row("executed", self.executed.to_string(), Durability::Volatile);
                let last = self
                    .accepted
                    .keys()
                    .chain(self.chosen.keys())
                    .max()
                    .copied()
                    .unwrap_or(Slot(0));
                let first = last.0.saturating_sub(SCENE_SLOTS as u64) + 1;
                for s in (first..=last.0).map(Slot) {
                    let (value, mark) = match (self.chosen.get(&s), self.accepted.get(&s)) {
                        (Some(v), _) if s <= self.executed => (v.to_string(), "executed".into()),
                        (Some(v), _) => (v.to_string(), "chosen".into()),
                        (None, Some((b, v))) => (v.to_string(), format!("accepted in {b}")),
                        (None, None) => ("-".to_string(), "hole".into()),
                    };
                    scene = scene.row(
                        format!("slot[{s}]"),
                        format!("{value} ({mark})"),
                        Durability::Durable,
                    );
                }
            }
        }
        scene
    }
}

impl Client {
    /// The request waiting for an answer.
    pub fn outstanding(&self) -> Option<&(RequestId, KvOp)> {
        self.outstanding.as_ref()
    }

    /// The latest request this client has had answered since it started.
    pub fn last_completed(&self) -> Option<RequestId> {
        self.last_completed
    }

    /// Operations waiting behind the outstanding one.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn send_outstanding(&self, out: &mut Out<PaxosNode>) {
        let (request, op) = self.outstanding.clone().expect("a request is outstanding");
        out.send(
            self.servers[self.guess],
            PaxosMsg::ClientRequest { request, op },
        );
        out.set_timer(PaxosTimer::ClientRetry, self.retry, self.retry);
    }

    fn issue_next(&mut self, out: &mut Out<PaxosNode>) {
        if self.outstanding.is_some() {
            return;
        }
        let Some(op) = self.queue.pop_front() else {
            return;
        };
        let request = self.next_request;
        self.next_request = RequestId(request.0 + 1);
        out.persist(PaxosDurable::Client(self.next_request));
        out.observe(PaxosObs::Invoked {
            request,
            op: op.clone(),
        });
        self.outstanding = Some((request, op));
        self.send_outstanding(out);
    }

    fn on_reply(&mut self, request: RequestId, outcome: &ClientOutcome, out: &mut Out<PaxosNode>) {
        if self.outstanding.as_ref().is_none_or(|(r, _)| *r != request) {
            out.note(format!(
                "{} ignores an answer to {request}, which it no longer waits for",
                self.id
            ));
            return;
        }
        match outcome {
            ClientOutcome::Done(result) => {
                out.note(format!("{} completes {request}: \"{result}\"", self.id));
                out.observe(PaxosObs::Completed {
                    request,
                    result: result.clone(),
                });
                self.outstanding = None;
                self.last_completed = Some(request);
                out.cancel_timer(PaxosTimer::ClientRetry);
                self.issue_next(out);
            }
            ClientOutcome::NotLeader(Some(hint)) => {
                if let Some(i) = self.servers.iter().position(|s| s == hint) {
                    if i != self.guess {
                        self.guess = i;
                        self.send_outstanding(out);
                    }
                }
            }
            // Nobody knows a leader yet: wait for the retry timer rather than
            // spin between servers.
            ClientOutcome::NotLeader(None) => {}
        }
    }

    fn on_retry(&mut self, out: &mut Out<PaxosNode>) {
        if self.outstanding.is_none() {
            return;
        }
        self.guess = (self.guess + 1) % self.servers.len();
        out.note(format!(
            "{} got no answer; retries with {}",
            self.id, self.servers[self.guess]
        ));
        self.send_outstanding(out);
    }
}

impl Node for PaxosNode {
    type Msg = PaxosMsg;
    type Timer = PaxosTimer;
    type Durable = PaxosDurable;
    type Op = PaxosOp;
    type Obs = PaxosObs;

    fn on_start(&mut self, durable: Option<&PaxosDurable>, out: &mut Out<Self>) {
        match self {
            PaxosNode::Server(s) => {
                let d = match durable {
                    Some(PaxosDurable::Server(d)) => Some(d),
                    _ => None,
                };
                s.start(d, out);
                s.finish(out);
            }
            PaxosNode::Client(c) => {
                if let Some(PaxosDurable::Client(next)) = durable {
                    c.next_request = *next;
                }
            }
        }
    }

    fn on_message(&mut self, from: NodeId, msg: &PaxosMsg, out: &mut Out<Self>) {
        match self {
            PaxosNode::Server(s) => {
                s.on_message(from, msg, out);
                s.finish(out);
            }
            PaxosNode::Client(c) => match msg {
                PaxosMsg::ClientReply { request, outcome } => c.on_reply(*request, outcome, out),
                _ => out.note(format!("{} ignores a {msg:?}", c.id)),
            },
        }
    }

    fn on_timer(&mut self, timer: &PaxosTimer, out: &mut Out<Self>) {
        match self {
            PaxosNode::Server(s) => {
                match timer {
                    PaxosTimer::Propose => s.on_propose_timer(out),
                    PaxosTimer::LeaderTimeout => s.on_leader_timeout(out),
                    PaxosTimer::Heartbeat => s.on_heartbeat_timer(out),
                    PaxosTimer::CatchUp => s.on_catch_up_timer(out),
                    PaxosTimer::CheckQuorum => s.on_check_quorum(out),
                    PaxosTimer::ClientRetry => {}
                }
                s.finish(out);
            }
            PaxosNode::Client(c) => {
                if *timer == PaxosTimer::ClientRetry {
                    c.on_retry(out);
                }
            }
        }
    }

    fn on_op(&mut self, op: &PaxosOp, out: &mut Out<Self>) {
        match (self, op) {
            (PaxosNode::Server(s), op) => {
                s.on_op(op, out);
                s.finish(out);
            }
            (PaxosNode::Client(c), PaxosOp::Kv(op)) => {
                if c.queue.len() >= CLIENT_QUEUE_LIMIT {
                    out.note(format!("{}'s queue is full; {op} is refused", c.id));
                    return;
                }
                c.queue.push_back(op.clone());
                c.issue_next(out);
            }
            (PaxosNode::Client(c), _) => out.note(format!(
                "{} is a client: it sends commands such as put x 1",
                c.id
            )),
        }
    }

    fn scene(&self) -> NodeScene {
        match self {
            PaxosNode::Server(s) => s.scene(),
            PaxosNode::Client(c) => NodeScene::new(NodeKind::Client, "client", c.id.to_string())
                .row(
                    "leader guess",
                    c.servers[c.guess].to_string(),
                    Durability::Volatile,
                )
                .row(
                    "outstanding",
                    c.outstanding
                        .as_ref()
                        .map_or("-".to_string(), |(r, op)| format!("{r} {op}")),
                    Durability::Volatile,
                )
                .row("queued", c.queue.len().to_string(), Durability::Volatile)
                .row(
                    "next request",
                    c.next_request.to_string(),
                    Durability::Durable,
                ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::{Paxos, Toggle};
    use sim::Protocol;

    fn ballot(round: u64, by: u32) -> Ballot {
        Ballot {
            round,
            by: Some(NodeId(by)),
        }
    }

    fn text(v: &str) -> Value {
        Value::Text(v.into())
    }

    fn deliver(node: &mut PaxosNode, from: u32, msg: PaxosMsg) -> Out<PaxosNode> {
        let mut out = Out::new();
        node.on_message(NodeId(from), &msg, &mut out);
        out
    }

    fn reply_to(out: &Out<PaxosNode>, to: u32) -> Option<&PaxosMsg> {
        out.sends()
            .iter()
            .find(|(n, _)| *n == NodeId(to))
            .map(|(_, m)| m)
    }

    #[test]
    fn an_acceptor_refuses_lower_ballots_and_reports_its_highest_vote() {
        let paxos = Paxos::single(3, 0);
        let mut a = paxos.new_node(NodeId(0));
        a.on_start(None, &mut Out::new());
        let out = deliver(
            &mut a,
            1,
            PaxosMsg::Prepare {
                ballot: ballot(2, 1),
                from: Slot(1),
            },
        );
        assert!(
            matches!(reply_to(&out, 1), Some(PaxosMsg::Promise { votes, .. }) if votes.is_empty())
        );
        // The promise is on disk in the same step as the reply.
        let Some(PaxosDurable::Server(d)) = out.persisted() else {
            panic!("persisted")
        };
        assert_eq!(d.promised, Some(ballot(2, 1)));
        deliver(
            &mut a,
            1,
            PaxosMsg::Accept {
                ballot: ballot(2, 1),
                slot: Slot(1),
                value: text("a"),
            },
        );
        let out = deliver(
            &mut a,
            2,
            PaxosMsg::Prepare {
                ballot: ballot(1, 2),
                from: Slot(1),
            },
        );
        assert_eq!(
            reply_to(&out, 2),
            Some(&PaxosMsg::Nack {
                ballot: ballot(1, 2),
                promised: ballot(2, 1)
            })
        );
        let out = deliver(
            &mut a,
            2,
            PaxosMsg::Accept {
                ballot: ballot(1, 2),
                slot: Slot(1),
                value: text("b"),
            },
        );
        assert!(matches!(reply_to(&out, 2), Some(PaxosMsg::Nack { .. })));
        let out = deliver(
            &mut a,
            2,
            PaxosMsg::Prepare {
                ballot: ballot(3, 2),
                from: Slot(1),
            },
        );
        let Some(PaxosMsg::Promise { votes, .. }) = reply_to(&out, 2) else {
            panic!("a promise");
        };
        assert_eq!(
            votes,
            &vec![Vote {
                slot: Slot(1),
                ballot: ballot(2, 1),
                value: text("a")
            }]
        );
    }

    #[test]
    fn a_candidate_whose_phase_1_stalls_shows_as_a_follower_while_it_hears_the_leader() {
        let paxos = Paxos::multi(3, 0);
        let mut n2 = paxos.new_node(NodeId(1));
        n2.on_start(None, &mut Out::new());
        let heartbeat = PaxosMsg::Heartbeat {
            ballot: ballot(1, 0),
        };
        deliver(&mut n2, 0, heartbeat.clone());
        let role = |n: &PaxosNode| n.as_server().expect("a server").role_name();
        assert_eq!(role(&n2), "follower");
        // Made to start a ballot, it is a candidate until it hears n1 again;
        // its ballot (1.n2) is above n1's, so it keeps it, but the others
        // ignore its prepares while they hear n1, and so does it.
        n2.on_op(&PaxosOp::Prepare, &mut Out::new());
        assert_eq!(role(&n2), "candidate");
        deliver(&mut n2, 0, heartbeat);
        let PaxosNode::Server(s) = &n2 else {
            panic!("a server")
        };
        assert!(matches!(s.proposer(), Proposer::Preparing(_)));
        assert_eq!(s.role_name(), "follower");
    }

    #[test]
    fn a_volatile_acceptor_writes_no_promise_to_disk() {
        let paxos = Paxos::single(3, 0).with_toggle(Toggle::VolatileAcceptor);
        let mut a = paxos.new_node(NodeId(0));
        a.on_start(None, &mut Out::new());
        let out = deliver(
            &mut a,
            1,
            PaxosMsg::Accept {
                ballot: ballot(1, 1),
                slot: Slot(1),
                value: text("a"),
            },
        );
        let Some(PaxosDurable::Server(d)) = out.persisted() else {
            panic!("persisted")
        };
        assert_eq!((d.promised, d.accepted.len()), (None, 0));
        assert_eq!(d.round, 1);
    }

    #[test]
    fn a_proposer_adopts_the_highest_ballot_value_from_its_promises() {
        let paxos = Paxos::single(3, 1);
        let mut p = paxos.new_node(NodeId(0));
        p.on_start(None, &mut Out::new());
        let mut out = Out::new();
        p.on_timer(&PaxosTimer::Propose, &mut out);
        let PaxosNode::Server(s) = &p else {
            panic!("a server")
        };
        let Proposer::Preparing(prep) = s.proposer() else {
            panic!("phase 1")
        };
        let b = prep.ballot;
        let vote = |round, by, v: &str| Vote {
            slot: Slot(1),
            ballot: ballot(round, by),
            value: text(v),
        };
        // The other two promise; n2 reports an older vote than n3.
        deliver(
            &mut p,
            1,
            PaxosMsg::Promise {
                ballot: b,
                from: Slot(1),
                votes: vec![],
            },
        );
        let PaxosNode::Server(s) = &p else {
            panic!("a server")
        };
        // Its own promise and n2's are a majority of three: phase 2 with its
        // own value, since neither had accepted anything.
        let Proposer::Proposing(prop) = s.proposer() else {
            panic!("phase 2, got {:?}", s.proposer())
        };
        assert_eq!(prop.pending.get(&Slot(1)), Some(&text("v1")));
        // A fresh proposer whose quorum reports two votes takes the higher.
        let mut q = paxos.new_node(NodeId(0));
        q.on_start(None, &mut Out::new());
        q.on_timer(&PaxosTimer::Propose, &mut Out::new());
        let PaxosNode::Server(s) = &mut q else {
            panic!("a server")
        };
        let Proposer::Preparing(prep) = &mut s.proposer else {
            panic!("phase 1")
        };
        prep.promises.clear();
        let b = prep.ballot;
        for (from, v) in [(1, vote(1, 1, "old")), (2, vote(1, 2, "new"))] {
            deliver(
                &mut q,
                from,
                PaxosMsg::Promise {
                    ballot: b,
                    from: Slot(1),
                    votes: vec![v],
                },
            );
        }
        let PaxosNode::Server(s) = &q else {
            panic!("a server")
        };
        let Proposer::Proposing(prop) = s.proposer() else {
            panic!("phase 2")
        };
        assert_eq!(prop.pending.get(&Slot(1)), Some(&text("new")));
    }
}
