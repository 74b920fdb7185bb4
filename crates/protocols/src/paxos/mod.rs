//! Paxos, as in Lamport's "Paxos Made Simple" (2001): single-decree Paxos
//! with competing proposers (§2), and Multi-Paxos with a distinguished leader
//! (§3).
//!
//! **What it solves (§2.1).** Some servers must agree on one value, even
//! though messages are lost, duplicated and reordered and servers crash and
//! restart. Only a value that was proposed may be chosen, only one value is
//! chosen, and nobody learns that a value was chosen unless it was.
//!
//! **Roles.** *Proposers* propose values, *acceptors* vote on them, and
//! *learners* find out what was chosen. Here every server plays all three
//! roles (a Paxos server usually does); in single-decree mode the number of
//! servers that start out proposing is configurable, so that one proposer,
//! or two dueling ones, can be watched.
//!
//! **Ballots.** Every attempt to get a value chosen runs under a *ballot*
//! (the paper's "proposal number"): a round and the proposer's id, ordered
//! by round and then by id, so that no two proposers ever share one. A value
//! is *chosen* once a majority of acceptors have accepted it in the same
//! ballot. Any two majorities share an acceptor, which is the whole trick.
//!
//! **Phase 1 (§2.2, prepare and promise).** A proposer picks a ballot `b`
//! higher than any it has seen and sends `Prepare(b)` to the acceptors. An
//! acceptor that has not promised a higher ballot promises never again to
//! accept a ballot below `b`, and answers with the highest-ballot value it has
//! accepted, if any. Otherwise it answers with a `Nack` that names the
//! higher ballot it promised, so the proposer knows what to beat.
//!
//! **Phase 2 (accept and accepted).** With promises from a majority, the
//! proposer sends `Accept(b, v)`, where `v` is the value of the
//! highest-ballot vote among the promises, or its own value if none of them
//! had accepted anything. This is the rule that makes Paxos safe: if some
//! value was already chosen in a lower ballot, a majority accepted it, one of
//! them is in the promise quorum, and by induction the highest vote reported
//! carries that value. Ignoring the reported values (toggle
//! `ignore-promised-values`) or taking any of them instead of the
//! highest-ballot one (toggle `adopt-any-accepted-value`) chooses a second
//! value. An acceptor accepts unless it promised a higher ballot, and tells
//! every learner with `Accepted`.
//!
//! **Learning (§2.3).** A learner that hears `Accepted(b, v)` from a majority
//! for the same ballot knows `v` is chosen. Learners that missed it ask
//! (`CatchUp`) and are told (`Chosen`).
//!
//! **Persistence.** An acceptor's promised ballot and its accepted (ballot,
//! value) are written to stable storage before it answers: an acceptor that
//! forgets a promise on restart (toggle `volatile-acceptor`) can accept a
//! ballot it promised to ignore, and a second value can be chosen. A
//! proposer persists the highest round it has used, so that a restart never
//! reuses a ballot with another value. Here a step's effects are applied
//! atomically and crashes fall between steps, so persisting in the step that
//! sends the reply is "before replying".
//!
//! **Progress.** Paxos is always safe but not always live (§2.4): two
//! proposers can keep preparing higher ballots, each one's prepare spoiling
//! the other's accept, forever. Proposers here back off for a random,
//! growing time after a refusal; without it (toggle `no-backoff`) dueling
//! proposers livelock, which the liveness check reports and the app shows
//! as an endless stream of ballots.
//!
//! **Multi-Paxos (§3).** A replicated log is a sequence of single-decree
//! instances, one per *slot*. A server that thinks there is no leader runs
//! phase 1 once, for every slot from its first unlearned one on; acceptors
//! answer with their votes in all those slots. It then becomes the
//! *distinguished leader*: it re-proposes the highest-ballot value in every
//! reported slot, fills the holes between them with no-ops, and from then on
//! skips phase 1 and sends each client command straight to phase 2 in the
//! next free slot. Every server executes chosen commands in slot order on
//! its key-value store, which keeps each client's latest request number, so
//! a command chosen twice (a client retried across a leader change) runs
//! once. The leader sends heartbeats; a server that misses them for a
//! randomized timeout takes over with a higher ballot. Clients are nodes, as
//! in Raft, and their history is checked for linearizability.
//!
//! **One protocol, two modes.** Both modes share the acceptor, the learner
//! and the proposer's two phases; they differ only in who proposes and how
//! often phase 1 runs. So the code is one protocol, [`Paxos`], with a
//! [`Mode`]. Seed sweeps need one type per configuration, so
//! [`MultiPaxos`] is a thin wrapper that sweeps as `multipaxos`, while the
//! scripts and the app pick the mode with an option.

pub mod checker;
mod interactive;
pub mod msg;
pub mod node;
pub mod scenario;
pub mod sweep;

use std::fmt;
use std::rc::Rc;

use sim::{Duration, NodeId, Protocol};

pub use checker::PaxosChecker;
pub use msg::{Ballot, PaxosMsg, Slot, Value};
pub use node::{PaxosNode, PaxosObs, PaxosOp, PaxosTimer, Server};

/// Single-decree Paxos or Multi-Paxos.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One value, several proposers, phase 1 on every attempt.
    Single,
    /// A log of slots, a distinguished leader, phase 1 once per leader.
    Multi,
}

impl Mode {
    /// The mode's name, as in scripts and URLs.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Multi => "multi",
        }
    }

    /// The mode with this name.
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "single" => Some(Mode::Single),
            "multi" => Some(Mode::Multi),
            _ => None,
        }
    }
}

/// A teaching toggle: one deliberate departure from "Paxos Made Simple".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toggle {
    /// Propose your own value even when promises report accepted ones.
    IgnorePromisedValues,
    /// Adopt any reported value, not the highest-ballot one.
    AdoptAnyAcceptedValue,
    /// Acceptors keep their promise and votes in memory only.
    VolatileAcceptor,
    /// Ballots are rounds only, without the proposer id.
    NoBallotTiebreak,
    /// Quorums of a majority minus one.
    SmallQuorum,
    /// Retry at once after a refusal, without a random backoff.
    NoBackoff,
}

impl Toggle {
    /// Every toggle, in a stable order.
    pub const ALL: [Toggle; 6] = [
        Toggle::IgnorePromisedValues,
        Toggle::AdoptAnyAcceptedValue,
        Toggle::VolatileAcceptor,
        Toggle::NoBallotTiebreak,
        Toggle::SmallQuorum,
        Toggle::NoBackoff,
    ];

    /// Every toggle's name, in the same order as [`Toggle::ALL`].
    pub const NAMES: [&'static str; 6] = [
        "ignore-promised-values",
        "adopt-any-accepted-value",
        "volatile-acceptor",
        "no-ballot-tiebreak",
        "small-quorum",
        "no-backoff",
    ];

    /// The toggle's name, as in URLs and `--toggle`.
    pub fn name(self) -> &'static str {
        Toggle::NAMES[Toggle::ALL.iter().position(|&t| t == self).expect("listed")]
    }

    /// The toggle with this name.
    pub fn from_name(name: &str) -> Option<Toggle> {
        Toggle::NAMES
            .iter()
            .position(|&n| n == name)
            .map(|i| Toggle::ALL[i])
    }

    /// One line on the rule the toggle breaks.
    pub fn explanation(self) -> &'static str {
        match self {
            Toggle::IgnorePromisedValues => {
                "Proposers propose their own value even when a promise reports an accepted one, so a second value can be chosen (breaks P6, then P1)."
            }
            Toggle::AdoptAnyAcceptedValue => {
                "Proposers adopt the lowest-ballot value a promise reports instead of the highest-ballot one, which may not be the chosen one (breaks P6, then P1)."
            }
            Toggle::VolatileAcceptor => {
                "Acceptors keep their promise and votes in memory only, so a restarted acceptor votes for a ballot it had promised to ignore (breaks P5, then P1)."
            }
            Toggle::NoBallotTiebreak => {
                "Ballots are bare round numbers, so two proposers can run the same ballot with different values (breaks P4, then P1)."
            }
            Toggle::SmallQuorum => {
                "Quorums are a majority minus one, so two quorums need not share an acceptor (breaks P6 and P3, then P1)."
            }
            Toggle::NoBackoff => {
                "Proposers retry at once after a refusal, so two of them can keep spoiling each other's ballots forever (liveness)."
            }
        }
    }

    /// One line on what the toggle does in Multi-Paxos, where it differs
    /// from [`Toggle::explanation`]: without backoff, dueling needs
    /// candidates that no leader holds back, and a working leader does.
    pub fn multi_explanation(self) -> &'static str {
        match self {
            Toggle::NoBackoff => {
                "Candidates start their next ballot at once after a refusal. Leadership is sticky here: a server that hears a leader ignores other servers' prepares, and a candidate that hears one follows it, so candidates can duel only while no leader is heard, which a run rarely shows (liveness; a few seeds in a thousand at five servers)."
            }
            _ => self.explanation(),
        }
    }

    /// The safety rules this toggle's scenario trips, in rule order (empty
    /// for the liveness toggle).
    pub fn trips(self) -> &'static [&'static str] {
        match self {
            Toggle::IgnorePromisedValues => &["P1", "P6"],
            Toggle::AdoptAnyAcceptedValue => &["P1", "P6"],
            Toggle::VolatileAcceptor => &["P1", "P5"],
            Toggle::NoBallotTiebreak => &["P1", "P4"],
            Toggle::SmallQuorum => &["P1", "P3", "P6"],
            Toggle::NoBackoff => &[],
        }
    }
}

impl fmt::Display for Toggle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The settings every node of a run shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Single-decree or Multi-Paxos.
    pub mode: Mode,
    /// How many servers (acceptors) there are.
    pub servers: usize,
    /// Single-decree: servers `n1..=n<proposers>` propose their own value
    /// ("v1", "v2", ...) from the start.
    pub proposers: usize,
    /// Single-decree: a proposer starts its first ballot within this long
    /// after booting.
    pub start_window: Duration,
    /// How long a proposer waits for a phase to complete before it tries a
    /// higher ballot (the shortest wait; with backoff, up to twice this).
    pub round_timeout: Duration,
    /// The base of the randomized backoff after a refusal: the wait is
    /// drawn in `0..=backoff * 2^k` after the `k`th failed attempt in a row.
    pub backoff: Duration,
    /// Multi-Paxos: how often the leader sends heartbeats.
    pub heartbeat_interval: Duration,
    /// Multi-Paxos: the shortest time without a heartbeat before a server
    /// takes over.
    pub leader_timeout_min: Duration,
    /// Multi-Paxos: the longest such time.
    pub leader_timeout_max: Duration,
    /// How often a learner that has not learned asks the others.
    pub catchup_interval: Duration,
    /// How long a client waits before retrying elsewhere.
    pub client_retry: Duration,
    /// Toggle `ignore-promised-values`.
    pub ignore_promised_values: bool,
    /// Toggle `adopt-any-accepted-value`.
    pub adopt_any_accepted_value: bool,
    /// Toggle `volatile-acceptor`.
    pub volatile_acceptor: bool,
    /// Toggle `no-ballot-tiebreak`.
    pub no_ballot_tiebreak: bool,
    /// Toggle `small-quorum`.
    pub small_quorum: bool,
    /// Toggle `no-backoff`.
    pub no_backoff: bool,
}

impl Settings {
    /// The number of acceptors whose promises or votes a proposer or learner
    /// waits for: a majority, or one fewer under `small-quorum`.
    pub fn quorum(&self) -> usize {
        let majority = self.servers / 2 + 1;
        if self.small_quorum {
            (majority - 1).max(1)
        } else {
            majority
        }
    }
}

/// The Paxos protocol: how many servers and clients, and their settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paxos {
    /// Number of clients (ids after the servers; Multi-Paxos only).
    pub clients: usize,
    /// What every node shares.
    pub settings: Settings,
    /// Not the protocol but how it is judged: the search steps P8's
    /// linearizability check gets per completed operation
    /// ([`crate::linearizability::STEPS_PER_COMPLETION`] by default).
    pub check_steps: u64,
}

impl Paxos {
    /// Single-decree Paxos with `servers` servers, of which the first
    /// `proposers` propose from the start.
    pub fn single(servers: usize, proposers: usize) -> Paxos {
        let mut p = Paxos::new(Mode::Single, servers, 0);
        p.settings.proposers = proposers.min(servers);
        p
    }

    /// Multi-Paxos with `servers` servers and `clients` clients.
    pub fn multi(servers: usize, clients: usize) -> Paxos {
        Paxos::new(Mode::Multi, servers, clients)
    }

    fn new(mode: Mode, servers: usize, clients: usize) -> Paxos {
        assert!(servers >= 1, "a Paxos cluster needs at least one server");
        Paxos {
            clients,
            settings: Settings {
                mode,
                servers,
                proposers: 0,
                start_window: Duration::from_ms(100),
                round_timeout: Duration::from_ms(300),
                backoff: Duration::from_ms(50),
                heartbeat_interval: Duration::from_ms(50),
                leader_timeout_min: Duration::from_ms(150),
                leader_timeout_max: Duration::from_ms(300),
                catchup_interval: Duration::from_ms(600),
                client_retry: Duration::from_ms(400),
                ignore_promised_values: false,
                adopt_any_accepted_value: false,
                volatile_acceptor: false,
                no_ballot_tiebreak: false,
                small_quorum: false,
                no_backoff: false,
            },
            check_steps: crate::linearizability::STEPS_PER_COMPLETION,
        }
    }

    /// Switches a teaching toggle on.
    pub fn with_toggle(mut self, toggle: Toggle) -> Paxos {
        let s = &mut self.settings;
        match toggle {
            Toggle::IgnorePromisedValues => s.ignore_promised_values = true,
            Toggle::AdoptAnyAcceptedValue => s.adopt_any_accepted_value = true,
            Toggle::VolatileAcceptor => s.volatile_acceptor = true,
            Toggle::NoBallotTiebreak => s.no_ballot_tiebreak = true,
            Toggle::SmallQuorum => s.small_quorum = true,
            Toggle::NoBackoff => s.no_backoff = true,
        }
        self
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.settings.mode
    }

    /// The server ids.
    pub fn server_ids(&self) -> Vec<NodeId> {
        (0..self.settings.servers as u32).map(NodeId).collect()
    }

    /// The client ids.
    pub fn client_ids(&self) -> Vec<NodeId> {
        let s = self.settings.servers as u32;
        (s..s + self.clients as u32).map(NodeId).collect()
    }

    /// Whether `id` is a server.
    pub fn is_server(&self, id: NodeId) -> bool {
        id.index() < self.settings.servers
    }

    fn node(&self, id: NodeId) -> PaxosNode {
        let servers = self.server_ids();
        if self.is_server(id) {
            PaxosNode::server(id, &servers, Rc::new(self.settings.clone()))
        } else {
            PaxosNode::client(id, &servers, &self.settings)
        }
    }
}

impl Protocol for Paxos {
    type Node = PaxosNode;

    /// `paxos` or `multipaxos`, by mode: a Multi-Paxos run is the same run
    /// (and trace hash) whether its type is [`Paxos`] or [`MultiPaxos`].
    fn name(&self) -> &'static str {
        match self.mode() {
            Mode::Single => "paxos",
            Mode::Multi => "multipaxos",
        }
    }

    fn node_count(&self) -> usize {
        self.settings.servers + self.clients
    }

    fn new_node(&self, id: NodeId) -> PaxosNode {
        self.node(id)
    }
}

/// Multi-Paxos as a protocol of its own, for `cargo xtask sweep --protocol
/// multipaxos` (a sweep configures a protocol by its type). It runs exactly
/// [`Paxos`] in [`Mode::Multi`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiPaxos(pub Paxos);

impl Protocol for MultiPaxos {
    type Node = PaxosNode;

    fn name(&self) -> &'static str {
        "multipaxos"
    }

    fn node_count(&self) -> usize {
        self.0.node_count()
    }

    fn new_node(&self, id: NodeId) -> PaxosNode {
        self.0.node(id)
    }
}

/// What the checker and the sweep need from either protocol type.
pub trait PaxosLike: Protocol<Node = PaxosNode> {
    /// The configuration.
    fn paxos(&self) -> &Paxos;
}

impl PaxosLike for Paxos {
    fn paxos(&self) -> &Paxos {
        self
    }
}

impl PaxosLike for MultiPaxos {
    fn paxos(&self) -> &Paxos {
        &self.0
    }
}
