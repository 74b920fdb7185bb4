//! Raft, as in Ongaro and Ousterhout, "In Search of an Understandable
//! Consensus Algorithm" (USENIX ATC 2014), Figure 2, to the letter.
//!
//! **What it solves.** A few servers keep one replicated log of commands.
//! Every server applies the log, in order, to its own copy of a state machine
//! (here a key-value store), so all copies agree as long as the logs agree.
//! Raft makes the logs agree despite crashes, restarts, lost, duplicated and
//! reordered messages, and network partitions, as long as a majority of
//! servers can eventually talk to each other.
//!
//! **Terms and elections (§5.1, §5.2).** Time is divided into *terms*,
//! numbered 1, 2, 3, ...; each term begins with an election and has at most
//! one leader. A follower that hears nothing from a leader for an election
//! timeout becomes a candidate: it increments its term, votes for itself and
//! asks everyone else for a vote with RequestVote. A server grants at most
//! one vote per term, and remembers it on disk (`votedFor`) so that a restart
//! cannot make it vote twice. A candidate with votes from a majority leads.
//! Timeouts are randomized (the world picks each one in a configured range)
//! so that candidates rarely split the vote; with a fixed timeout they can
//! split it forever (toggle `fixed-election-timeout`).
//!
//! **Replication (§5.3).** The leader appends each client command to its log
//! and sends it to followers with AppendEntries, which also serves as the
//! heartbeat. Each AppendEntries names the entry just before the new ones
//! (`prevLogIndex`, `prevLogTerm`); a follower accepts only if it has that
//! entry, so by induction an accepted log matches the leader's up to there
//! (the *Log Matching* property). On a mismatch the leader backs up
//! `nextIndex` and tries again, one AppendEntries at a time (it *probes*).
//! Once a follower has accepted one, the leader *streams* to it: several
//! batches in flight without waiting for each answer, as etcd's raft does,
//! so a follower far behind catches up in a few round trips (see
//! `node::LeaderState::replicating`). A follower deletes entries only when they
//! conflict with the leader's (same index, different term); deleting on
//! every AppendEntries lets a delayed, older message erase newer entries
//! (toggle `truncate-on-every-append`).
//!
//! **Safety (§5.4).** A vote goes only to a candidate whose log is at least
//! as up to date as the voter's (compare the last entries' terms, then the
//! lengths, §5.4.1); since a committed entry is on a majority and a winner
//! needs a majority, every leader holds every committed entry (toggle
//! `skip-up-to-date-check` breaks this). A leader counts replicas to commit
//! only entries of *its own* term; older entries are committed indirectly,
//! when a newer entry after them is (§5.4.2 and Figure 8, toggle
//! `commit-previous-term`). A new leader appends a no-op so that this
//! happens at once (§8).
//!
//! **Persistence.** `currentTerm`, `votedFor` and the log are persisted
//! before any reply that depends on them leaves the server (toggle
//! `volatile-term-and-vote` keeps the first two in memory only, and a server
//! that restarts votes a second time in the same term). Here a step's effects
//! are applied atomically and crashes happen between steps, so persisting in
//! the same step as the reply is enough. A restarted server rebuilds its
//! state machine by applying its log again once it learns the commit index.
//!
//! **Clients (§6, §8).** Clients are nodes. A client sends its operation to
//! the server it believes leads; a follower answers with a hint naming the
//! leader it knows. Without an answer the client retries elsewhere with the
//! same request number, and the state machine keeps each client's last
//! request number and reply, so a retried operation is applied at most once.
//! The invocations and completions clients see form the history that the
//! linearizability checker (R8) verifies.
//!
//! **PreVote and CheckQuorum (Ongaro's thesis §9.6, §6.2).** A server that
//! was cut off keeps timing out and incrementing its term; when it comes back
//! its higher term deposes a healthy leader. With PreVote a server first
//! asks whether it *could* win, without changing anyone's term, and servers
//! that still hear from a leader say no. With CheckQuorum a leader that has
//! not heard from a majority for an election timeout steps down, so a
//! leader cut off on the receiving side does not linger. Both are on by
//! default; toggle `no-prevote-checkquorum` turns them off, and a follower
//! isolated one way keeps deposing the leader.

pub mod checker;
mod interactive;
pub mod log;
pub mod msg;
pub mod node;
pub mod scenario;
pub mod sweep;

use std::fmt;
use std::rc::Rc;

use sim::{Duration, NodeId, Protocol};

pub use checker::RaftChecker;
pub use log::{Command, Entry, KvOp, Log, LogIndex, RequestId, Term};
pub use msg::{ClientOutcome, RaftMsg};
pub use node::{RaftDurable, RaftNode, RaftObs, RaftOp, RaftTimer, RaftView, Role, RoleName};

/// A teaching toggle: one deliberate departure from Figure 2, for a student
/// to see what the rule it breaks is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toggle {
    /// Commit an earlier term's entry by counting replicas.
    CommitPreviousTerm,
    /// Grant votes without comparing logs.
    SkipUpToDateCheck,
    /// Keep currentTerm and votedFor in memory only.
    VolatileTermAndVote,
    /// Truncate the follower's log on every AppendEntries.
    TruncateOnEveryAppend,
    /// Turn PreVote and CheckQuorum off.
    NoPrevoteCheckquorum,
    /// Use one fixed election timeout instead of a random one.
    FixedElectionTimeout,
}

impl Toggle {
    /// Every toggle, in a stable order.
    pub const ALL: [Toggle; 6] = [
        Toggle::CommitPreviousTerm,
        Toggle::SkipUpToDateCheck,
        Toggle::VolatileTermAndVote,
        Toggle::TruncateOnEveryAppend,
        Toggle::NoPrevoteCheckquorum,
        Toggle::FixedElectionTimeout,
    ];

    /// Every toggle's name, in the same order as [`Toggle::ALL`].
    pub const NAMES: [&'static str; 6] = [
        "commit-previous-term",
        "skip-up-to-date-check",
        "volatile-term-and-vote",
        "truncate-on-every-append",
        "no-prevote-checkquorum",
        "fixed-election-timeout",
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
            Toggle::CommitPreviousTerm => {
                "A leader commits an entry of an earlier term once a majority stores it, before any entry of its own term is stored there (Figure 8); such an entry can still be overwritten (breaks R4, R5)."
            }
            Toggle::SkipUpToDateCheck => {
                "Voters grant votes without checking that the candidate's log is at least as up to date as theirs, so a leader can lack committed entries (breaks R4)."
            }
            Toggle::VolatileTermAndVote => {
                "currentTerm and votedFor are kept in memory only, so a restarted server can vote twice in one term (breaks R6, then R1)."
            }
            Toggle::TruncateOnEveryAppend => {
                "Followers cut their log after the new entries on every AppendEntries, so a delayed message erases committed entries (breaks R4, R5)."
            }
            Toggle::NoPrevoteCheckquorum => {
                "Without PreVote and CheckQuorum, a follower that cannot hear the leader keeps raising its term and deposing it (liveness)."
            }
            Toggle::FixedElectionTimeout => {
                "Every server waits the same election timeout, so candidates that start together split the vote again and again (liveness)."
            }
        }
    }

    /// The safety rules this toggle's scenario trips, in rule order (empty
    /// for the liveness toggles).
    pub fn trips(self) -> &'static [&'static str] {
        match self {
            Toggle::CommitPreviousTerm => &["R4", "R5"],
            Toggle::SkipUpToDateCheck => &["R4"],
            Toggle::VolatileTermAndVote => &["R1", "R6"],
            Toggle::TruncateOnEveryAppend => &["R4", "R5"],
            Toggle::NoPrevoteCheckquorum | Toggle::FixedElectionTimeout => &[],
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
    /// The shortest election timeout.
    pub election_timeout_min: Duration,
    /// The longest election timeout.
    pub election_timeout_max: Duration,
    /// How often a leader sends AppendEntries.
    pub heartbeat_interval: Duration,
    /// How long a client waits before retrying elsewhere.
    pub client_retry: Duration,
    /// The most entries one AppendEntries carries.
    pub max_entries_per_append: usize,
    /// PreVote (§9.6).
    pub pre_vote: bool,
    /// CheckQuorum.
    pub check_quorum: bool,
    /// Toggle `commit-previous-term`.
    pub commit_previous_term: bool,
    /// Toggle `skip-up-to-date-check`.
    pub skip_up_to_date_check: bool,
    /// Toggle `volatile-term-and-vote`.
    pub volatile_term_and_vote: bool,
    /// Toggle `truncate-on-every-append`.
    pub truncate_on_every_append: bool,
}

impl Settings {
    /// Whether a teaching toggle that breaks safety is on. Then the
    /// invariants correct Raft guarantees (a committed entry is never
    /// truncated, never missing) may fail, and the node must carry on so
    /// that the checkers, not a panic, report what went wrong.
    pub fn breaks_safety(&self) -> bool {
        self.commit_previous_term
            || self.skip_up_to_date_check
            || self.volatile_term_and_vote
            || self.truncate_on_every_append
    }
}

/// The Raft protocol: how many servers and clients, and their settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Raft {
    /// Number of servers (ids `0..servers`).
    pub servers: usize,
    /// Number of clients (ids after the servers).
    pub clients: usize,
    /// What every node shares.
    pub settings: Settings,
    /// The teaching toggles switched on, in order: a sweep that draws a
    /// seed's options applies them again on top.
    pub toggles: Vec<Toggle>,
    /// Not the protocol but how it is judged: the search steps R8's
    /// linearizability check gets per completed operation
    /// ([`crate::linearizability::STEPS_PER_COMPLETION`] by default).
    pub check_steps: u64,
}

impl Raft {
    /// `servers` servers and `clients` clients with the defaults: election
    /// timeouts of 150-300 ms, heartbeats every 50 ms (the paper's §9.3
    /// numbers), PreVote and CheckQuorum on.
    pub fn new(servers: usize, clients: usize) -> Raft {
        assert!(servers >= 1, "a Raft cluster needs at least one server");
        Raft {
            servers,
            clients,
            settings: Settings {
                election_timeout_min: Duration::from_ms(150),
                election_timeout_max: Duration::from_ms(300),
                heartbeat_interval: Duration::from_ms(50),
                client_retry: Duration::from_ms(400),
                max_entries_per_append: 32,
                pre_vote: true,
                check_quorum: true,
                commit_previous_term: false,
                skip_up_to_date_check: false,
                volatile_term_and_vote: false,
                truncate_on_every_append: false,
            },
            toggles: Vec::new(),
            check_steps: crate::linearizability::STEPS_PER_COMPLETION,
        }
    }

    /// Switches a teaching toggle on.
    pub fn with_toggle(mut self, toggle: Toggle) -> Raft {
        self.toggles.push(toggle);
        let s = &mut self.settings;
        match toggle {
            Toggle::CommitPreviousTerm => s.commit_previous_term = true,
            Toggle::SkipUpToDateCheck => s.skip_up_to_date_check = true,
            Toggle::VolatileTermAndVote => s.volatile_term_and_vote = true,
            Toggle::TruncateOnEveryAppend => s.truncate_on_every_append = true,
            Toggle::NoPrevoteCheckquorum => {
                s.pre_vote = false;
                s.check_quorum = false;
            }
            Toggle::FixedElectionTimeout => s.election_timeout_max = s.election_timeout_min,
        }
        self
    }

    /// The server ids.
    pub fn server_ids(&self) -> Vec<NodeId> {
        (0..self.servers as u32).map(NodeId).collect()
    }

    /// The client ids.
    pub fn client_ids(&self) -> Vec<NodeId> {
        (self.servers as u32..(self.servers + self.clients) as u32)
            .map(NodeId)
            .collect()
    }

    /// Whether `id` is a server.
    pub fn is_server(&self, id: NodeId) -> bool {
        id.index() < self.servers
    }
}

impl Protocol for Raft {
    type Node = RaftNode;

    fn name(&self) -> &'static str {
        "raft"
    }

    fn node_count(&self) -> usize {
        self.servers + self.clients
    }

    fn new_node(&self, id: NodeId) -> RaftNode {
        let servers = self.server_ids();
        if self.is_server(id) {
            RaftNode::server(id, &servers, Rc::new(self.settings.clone()))
        } else {
            RaftNode::client(id, &servers, &self.settings)
        }
    }
}
