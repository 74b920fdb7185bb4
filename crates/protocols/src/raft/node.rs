//! A Raft server and a Raft client, as sans-IO state machines.
//!
//! Every incoming message goes through one `match` in [`Server::on_message`]
//! to a handler named after it. Roles are an enum that carries each role's
//! own state, so a follower cannot accidentally read a leader's `nextIndex`.

use sim::sorted::{SortedMap, SortedSet};
use std::collections::VecDeque;
use std::rc::Rc;

use sim::{Durability, Encode, Node, NodeId, NodeKind, NodeScene, Out, TraceHasher};

use super::log::{Applied, Command, Entry, Kv, KvOp, KvResult, Log, LogIndex, RequestId, Term};
use super::msg::{ClientOutcome, RaftMsg};
use super::Settings;

/// A node's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RaftTimer {
    /// A follower or candidate that hears nothing from a leader for this
    /// long starts an election (randomized, §5.2).
    Election,
    /// A leader sends AppendEntries (possibly empty) this often.
    Heartbeat,
    /// A leader with CheckQuorum checks, once per election timeout, that a
    /// majority answered it in the meantime, and steps down if not.
    CheckQuorum,
    /// A client that waited this long for an answer tries another server.
    ClientRetry,
}

impl Encode for RaftTimer {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(*self as u64);
    }
}

/// What can be handed to a node from outside.
#[derive(Clone, PartialEq, Eq)]
pub enum RaftOp {
    /// A key-value operation, for a client to send to the cluster.
    Kv(KvOp),
    /// Make a server's election timer expire now (RaftScope's "time out"
    /// button), to drive a scenario step by step.
    Timeout,
}

/// Written out so that the event log reads "request put(x, 1) at n4".
impl std::fmt::Debug for RaftOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RaftOp::Kv(op) => write!(f, "{op}"),
            RaftOp::Timeout => f.write_str("election timeout"),
        }
    }
}

impl Encode for RaftOp {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            RaftOp::Kv(op) => (1u8, op).encode(h),
            RaftOp::Timeout => 2u8.encode(h),
        }
    }
}

/// What survives a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftDurable {
    /// A server's persistent state (Figure 2).
    Server(ServerDurable),
    /// A client's next request number, so that numbers are never reused.
    Client(RequestId),
}

/// Figure 2's persistent state on all servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerDurable {
    /// currentTerm.
    pub term: Term,
    /// votedFor.
    pub voted_for: Option<NodeId>,
    /// log[].
    pub log: Log,
}

impl Encode for RaftDurable {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            RaftDurable::Server(d) => (1u8, d.term, d.voted_for, &d.log).encode(h),
            RaftDurable::Client(r) => (2u8, r).encode(h),
        }
    }
}

/// Facts nodes report to the checkers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftObs {
    /// This server became leader of `term`.
    BecameLeader(Term),
    /// This server granted its vote in `term` to `candidate`.
    Voted {
        /// The term.
        term: Term,
        /// Who got the vote.
        candidate: NodeId,
    },
    /// This server's log changed at `from` and after (and nowhere before).
    LogWritten(LogIndex),
    /// This server's commit index advanced to this index.
    Committed(LogIndex),
    /// This server applied the entry at `index` to its state machine.
    Applied {
        /// The index.
        index: LogIndex,
        /// The entry applied.
        entry: Entry,
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

/// A role's name, for the scene and the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleName {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asking whether it could win, before disturbing anyone (PreVote).
    PreCandidate,
    /// Standing for election.
    Candidate,
    /// Leading its term.
    Leader,
}

impl RoleName {
    /// The lowercase name the stylesheet colours by.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleName::Follower => "follower",
            RoleName::PreCandidate => "pre-candidate",
            RoleName::Candidate => "candidate",
            RoleName::Leader => "leader",
        }
    }
}

/// A follower's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowerState {
    /// The leader of the current term, if this server has heard from it
    /// since its election timer last expired. PreVote is refused while this
    /// is set (§9.6): a server that hears from a leader does not help
    /// another server disturb it.
    pub leader: Option<NodeId>,
}

/// A (pre-)candidate's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CandidateState {
    /// Who has granted (pre-)votes so far, itself included.
    pub votes: SortedSet<NodeId>,
}

/// A leader's volatile state (Figure 2), per follower.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderState {
    /// nextIndex: the next entry to send to each follower.
    pub next_index: SortedMap<NodeId, LogIndex>,
    /// matchIndex: the highest entry known to be replicated on each follower.
    pub match_index: SortedMap<NodeId, LogIndex>,
    /// Followers that answered since the last CheckQuorum.
    pub recently_active: SortedSet<NodeId>,
    /// Followers in the replicating state: the leader knows where their
    /// log matches its own and streams batches to them without waiting for
    /// each answer, up to [`MAX_INFLIGHT`] batches beyond matchIndex,
    /// moving nextIndex past each batch it sends. Every other follower is
    /// probed: one AppendEntries at nextIndex, sent again only when an
    /// answer or a heartbeat says to (etcd's StateProbe and
    /// StateReplicate).
    pub replicating: SortedSet<NodeId>,
    /// For each replicating follower with batches in flight, how many
    /// heartbeats in a row have passed without its matchIndex moving. Once
    /// they span the shortest election timeout, longer than any round trip
    /// of a healthy link, the leader stops streaming into what must be a
    /// gap (the last batches were lost) and probes the follower again.
    pub quiet: SortedMap<NodeId, u64>,
}

/// How many batches of entries a leader keeps in flight to a replicating
/// follower (see [`LeaderState::replicating`]). With one entry per
/// AppendEntries, a follower that has fallen behind catches up this many
/// entries per round trip instead of one.
pub const MAX_INFLIGHT: u64 = 8;

/// A server's role, carrying that role's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// See [`FollowerState`].
    Follower(FollowerState),
    /// See [`CandidateState`]; the PreVote round.
    PreCandidate(CandidateState),
    /// See [`CandidateState`]; the real election.
    Candidate(CandidateState),
    /// See [`LeaderState`].
    Leader(LeaderState),
}

impl Role {
    /// The role's name.
    pub fn name(&self) -> RoleName {
        match self {
            Role::Follower(_) => RoleName::Follower,
            Role::PreCandidate(_) => RoleName::PreCandidate,
            Role::Candidate(_) => RoleName::Candidate,
            Role::Leader(_) => RoleName::Leader,
        }
    }
}

/// A Raft server.
#[derive(Clone, Debug)]
pub struct Server {
    id: NodeId,
    peers: Vec<NodeId>,
    settings: Rc<Settings>,
    // Persistent state (Figure 2).
    term: Term,
    voted_for: Option<NodeId>,
    log: Log,
    // Volatile state.
    commit_index: LogIndex,
    last_applied: LogIndex,
    kv: Kv,
    role: Role,
    /// Set by a handler when persistent state changed, so the step ends by
    /// persisting it (before any reply leaves: a step's effects are atomic).
    dirty: bool,
    /// The lowest log index written in the current step, for the checkers.
    written_from: Option<LogIndex>,
}

/// A Raft client: one outstanding request at a time, retried with the same
/// number until it is answered.
#[derive(Clone, Debug)]
pub struct Client {
    id: NodeId,
    servers: Vec<NodeId>,
    /// Index into `servers` of the server believed to lead.
    guess: usize,
    next_request: RequestId,
    queue: VecDeque<KvOp>,
    outstanding: Option<(RequestId, KvOp)>,
    /// The latest request answered (volatile: only for the liveness check).
    last_completed: Option<RequestId>,
    retry: sim::Duration,
}

/// The most operations a client queues; more are refused with a note.
pub const CLIENT_QUEUE_LIMIT: usize = 64;

/// A Raft node: a server or a client.
#[derive(Clone, Debug)]
pub enum RaftNode {
    /// A member of the cluster.
    Server(Server),
    /// A client of the key-value service.
    Client(Client),
}

/// One log row in the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRow {
    /// Its index.
    pub index: LogIndex,
    /// Its term.
    pub term: Term,
    /// Its command, as text.
    pub command: String,
    /// At or below the commit index.
    pub committed: bool,
    /// At or below lastApplied.
    pub applied: bool,
}

/// A follower's replication progress as the leader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerProgress {
    /// The follower.
    pub peer: NodeId,
    /// nextIndex.
    pub next_index: LogIndex,
    /// matchIndex.
    pub match_index: LogIndex,
    /// Whether the leader streams to this follower or probes it (see
    /// [`LeaderState::replicating`]).
    pub replicating: bool,
}

/// The most log rows a scene shows in the inspector (the newest ones).
pub const SCENE_LOG_ROWS: u64 = 8;

/// The most log rows a view carries (the newest ones).
pub const VIEW_LOG_ROWS: usize = 64;

/// Everything the Raft widget draws for a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerView {
    /// The server.
    pub id: NodeId,
    /// Its role.
    pub role: RoleName,
    /// currentTerm.
    pub term: Term,
    /// votedFor.
    pub voted_for: Option<NodeId>,
    /// The leader it follows, if it knows one.
    pub leader: Option<NodeId>,
    /// The last [`VIEW_LOG_ROWS`] entries.
    pub log: Vec<LogRow>,
    /// The log's length.
    pub log_len: LogIndex,
    /// commitIndex.
    pub commit_index: LogIndex,
    /// lastApplied.
    pub last_applied: LogIndex,
    /// Votes received, while a (pre-)candidate.
    pub votes: Vec<NodeId>,
    /// nextIndex and matchIndex per follower, while leader.
    pub progress: Vec<PeerProgress>,
    /// The timer whose deadline is the election timeout ring (ask the world
    /// `timer_deadline(node, &timer)`), or `None` for a leader.
    pub election_timer: Option<RaftTimer>,
    /// The key-value store.
    pub data: Vec<(String, String)>,
}

/// Everything the Raft widget draws for a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    /// The client.
    pub id: NodeId,
    /// The server it believes leads.
    pub leader_guess: NodeId,
    /// The request waiting for an answer.
    pub outstanding: Option<(RequestId, String)>,
    /// How many operations wait behind it.
    pub queued: usize,
}

/// The typed view of one Raft node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftView {
    /// A server.
    Server(ServerView),
    /// A client.
    Client(ClientView),
}

impl RaftNode {
    /// A fresh server `id` among `servers`.
    pub fn server(id: NodeId, servers: &[NodeId], settings: Rc<Settings>) -> RaftNode {
        RaftNode::Server(Server {
            id,
            peers: servers.iter().copied().filter(|&p| p != id).collect(),
            settings,
            term: Term(0),
            voted_for: None,
            log: Log::new(),
            commit_index: LogIndex(0),
            last_applied: LogIndex(0),
            kv: Kv::default(),
            role: Role::Follower(FollowerState::default()),
            dirty: false,
            written_from: None,
        })
    }

    /// A fresh client `id` of `servers`.
    pub fn client(id: NodeId, servers: &[NodeId], settings: &Settings) -> RaftNode {
        RaftNode::Client(Client {
            id,
            servers: servers.to_vec(),
            guess: id.index() % servers.len(),
            next_request: RequestId(1),
            queue: VecDeque::new(),
            outstanding: None,
            last_completed: None,
            retry: settings.client_retry,
        })
    }

    /// The server, if this is one.
    pub fn as_server(&self) -> Option<&Server> {
        match self {
            RaftNode::Server(s) => Some(s),
            RaftNode::Client(_) => None,
        }
    }

    /// The client, if this is one.
    pub fn as_client(&self) -> Option<&Client> {
        match self {
            RaftNode::Client(c) => Some(c),
            RaftNode::Server(_) => None,
        }
    }

    /// The typed view for the Raft widget.
    pub fn view(&self) -> RaftView {
        match self {
            RaftNode::Server(s) => RaftView::Server(s.view()),
            RaftNode::Client(c) => RaftView::Client(ClientView {
                id: c.id,
                leader_guess: c.servers[c.guess],
                outstanding: c.outstanding.as_ref().map(|(r, op)| (*r, op.to_string())),
                queued: c.queue.len(),
            }),
        }
    }
}

impl Server {
    /// currentTerm.
    pub fn term(&self) -> Term {
        self.term
    }
    /// votedFor.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }
    /// commitIndex.
    pub fn commit_index(&self) -> LogIndex {
        self.commit_index
    }
    /// lastApplied.
    pub fn last_applied(&self) -> LogIndex {
        self.last_applied
    }
    /// The role and its state.
    pub fn role(&self) -> &Role {
        &self.role
    }
    /// The key-value store.
    pub fn kv(&self) -> &Kv {
        &self.kv
    }
    /// Whether this server is leader.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    fn view(&self) -> ServerView {
        let first = self.log.last_index().0.saturating_sub(VIEW_LOG_ROWS as u64) + 1;
        let log = (first..=self.log.last_index().0)
            .filter_map(|i| {
                let index = LogIndex(i);
                self.log.get(index).map(|e| LogRow {
                    index,
                    term: e.term,
                    command: e.command.to_string(),
                    committed: index <= self.commit_index,
                    applied: index <= self.last_applied,
                })
            })
            .collect();
        let (leader, votes, progress) = match &self.role {
            Role::Follower(f) => (f.leader, Vec::new(), Vec::new()),
            Role::PreCandidate(c) | Role::Candidate(c) => {
                (None, c.votes.iter().copied().collect(), Vec::new())
            }
            Role::Leader(l) => (
                Some(self.id),
                Vec::new(),
                self.peers
                    .iter()
                    .map(|&peer| PeerProgress {
                        peer,
                        next_index: l.next_index[&peer],
                        match_index: l.match_index[&peer],
                        replicating: l.replicating.contains(&peer),
                    })
                    .collect(),
            ),
        };
        ServerView {
            id: self.id,
            role: self.role.name(),
            term: self.term,
            voted_for: self.voted_for,
            leader,
            log,
            log_len: self.log.last_index(),
            commit_index: self.commit_index,
            last_applied: self.last_applied,
            votes,
            progress,
            election_timer: (!self.is_leader()).then_some(RaftTimer::Election),
            data: self
                .kv
                .data()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    fn is_majority(&self, count: usize) -> bool {
        2 * count > self.cluster_size()
    }

    // ----- effects shared by the handlers ------------------------------------

    fn reset_election_timer(&self, out: &mut Out<RaftNode>) {
        out.set_timer(
            RaftTimer::Election,
            self.settings.election_timeout_min,
            self.settings.election_timeout_max,
        );
    }

    fn write_log_from(&mut self, index: LogIndex) {
        self.dirty = true;
        self.written_from = Some(self.written_from.map_or(index, |w| w.min(index)));
    }

    /// Ends every server step: persists what changed, in the same step as
    /// the replies that depend on it.
    fn finish(&mut self, out: &mut Out<RaftNode>) {
        if let Some(from) = self.written_from.take() {
            out.observe(RaftObs::LogWritten(from));
        }
        if std::mem::take(&mut self.dirty) {
            let (term, voted_for) = if self.settings.volatile_term_and_vote {
                // The teaching toggle: term and vote live in memory only.
                (Term(0), None)
            } else {
                (self.term, self.voted_for)
            };
            out.persist(RaftDurable::Server(ServerDurable {
                term,
                voted_for,
                log: self.log.clone(),
            }));
        }
    }

    /// Adopts a newer term (Figure 2, "Rules for Servers": if a message
    /// carries a term above currentTerm, set currentTerm and convert to
    /// follower).
    fn adopt_term(&mut self, term: Term, leader: Option<NodeId>, out: &mut Out<RaftNode>) {
        assert!(term > self.term, "adopt_term with a term that is not newer");
        out.note(format!(
            "{} moves from term {} to term {}",
            self.id, self.term, term
        ));
        self.term = term;
        self.voted_for = None;
        self.dirty = true;
        self.become_follower(leader, out);
    }

    fn become_follower(&mut self, leader: Option<NodeId>, out: &mut Out<RaftNode>) {
        if self.is_leader() {
            out.milestone(
                "stepped-down",
                format!("{} stepped down in term {}", self.id, self.term),
            );
            out.cancel_timer(RaftTimer::Heartbeat);
            out.cancel_timer(RaftTimer::CheckQuorum);
            self.reset_election_timer(out);
        }
        self.role = Role::Follower(FollowerState { leader });
    }

    fn up_to_date(&self, last_log_index: LogIndex, last_log_term: Term) -> bool {
        let (my_index, my_term) = (self.log.last_index(), self.log.last_term());
        last_log_term > my_term || (last_log_term == my_term && last_log_index >= my_index)
    }

    /// One AppendEntries to `peer` with the entries from `next` on, at
    /// most a batch of them (none when `next` is past the log: a
    /// heartbeat). Returns the index of the last entry it carries.
    fn append_at(&self, peer: NodeId, next: LogIndex, out: &mut Out<RaftNode>) -> LogIndex {
        let prev = next.prev();
        let last = LogIndex(prev.0 + self.settings.max_entries_per_append as u64);
        let entries: Rc<[Entry]> = self.log.slice(next, last).into();
        let upto = LogIndex(prev.0 + entries.len() as u64);
        out.send(
            peer,
            RaftMsg::AppendEntries {
                term: self.term,
                prev_log_index: prev,
                prev_log_term: self
                    .log
                    .term_at(prev)
                    .expect("nextIndex never runs past the leader's log"),
                entries,
                leader_commit: self.commit_index,
            },
        );
        upto
    }

    /// Sends `peer` what it is owed. A probed follower gets one
    /// AppendEntries at nextIndex. A replicating one gets every batch from
    /// nextIndex that the window allows ([`MAX_INFLIGHT`] batches beyond
    /// matchIndex), and nextIndex moves past them; when the window is full,
    /// or there is nothing new, nothing is sent.
    fn send_append(&mut self, peer: NodeId, out: &mut Out<RaftNode>) {
        let Role::Leader(l) = &self.role else {
            unreachable!("only a leader sends AppendEntries")
        };
        let mut next = l.next_index[&peer];
        if !l.replicating.contains(&peer) {
            self.append_at(peer, next, out);
            return;
        }
        let batch = self.settings.max_entries_per_append as u64;
        let window = LogIndex(l.match_index[&peer].0 + batch * MAX_INFLIGHT);
        let until = self.log.last_index().min(window);
        while next <= until {
            next = self.append_at(peer, next, out).next();
        }
        let Role::Leader(l) = &mut self.role else {
            unreachable!("still the leader")
        };
        l.next_index.insert(peer, next);
    }

    fn broadcast_append(&mut self, out: &mut Out<RaftNode>) {
        for p in self.peers.clone() {
            self.send_append(p, out);
        }
    }

    /// The heartbeat's AppendEntries to `peer`, which also repairs a
    /// stream that has stalled. A replicating follower with batches in
    /// flight gets the first one it has not acknowledged again; when it has
    /// been quiet for an election timeout (see [`LeaderState::quiet`]) it
    /// goes back to being probed from there. Any other follower gets what
    /// [`Server::send_append`] sends, or an empty AppendEntries when that
    /// is nothing.
    fn heartbeat_to(&mut self, peer: NodeId, out: &mut Out<RaftNode>) {
        let id = self.id;
        let last = self.log.last_index();
        let heartbeats_per_timeout = (self.settings.election_timeout_min.0
            / self.settings.heartbeat_interval.0.max(1))
        .max(1);
        let Role::Leader(l) = &mut self.role else {
            unreachable!("only a leader sends heartbeats")
        };
        let matched = l.match_index[&peer];
        let next = l.next_index[&peer];
        let replicating = l.replicating.contains(&peer);
        if replicating && next > matched.next() {
            let quiet = l.quiet.get(&peer).copied().unwrap_or(0) + 1;
            if quiet >= heartbeats_per_timeout {
                l.quiet.remove(&peer);
                l.replicating.remove(&peer);
                l.next_index.insert(peer, matched.next());
                out.note(format!(
                    "{id} has heard no progress from {peer} for an election timeout; it probes {peer} again at {}",
                    matched.next()
                ));
            } else {
                l.quiet.insert(peer, quiet);
            }
            self.append_at(peer, matched.next(), out);
            return;
        }
        l.quiet.remove(&peer);
        if replicating && next <= last {
            self.send_append(peer, out);
        } else {
            self.append_at(peer, next, out);
        }
    }

    // ----- elections (§5.2, §9.6) --------------------------------------------

    fn on_election_timeout(&mut self, out: &mut Out<RaftNode>) {
        if self.is_leader() {
            out.note(format!("{} leads already; no election", self.id));
            return;
        }
        if self.settings.pre_vote {
            let votes = SortedSet::from([self.id]);
            self.role = Role::PreCandidate(CandidateState { votes });
            out.note(format!(
                "{} asks whether it could win term {} (PreVote)",
                self.id,
                self.term.0 + 1
            ));
            self.reset_election_timer(out);
            for &p in &self.peers {
                out.send(
                    p,
                    RaftMsg::PreVote {
                        term: Term(self.term.0 + 1),
                        last_log_index: self.log.last_index(),
                        last_log_term: self.log.last_term(),
                    },
                );
            }
            if self.is_majority(1) {
                self.start_election(out);
            }
        } else {
            self.start_election(out);
        }
    }

    fn start_election(&mut self, out: &mut Out<RaftNode>) {
        self.term = Term(self.term.0 + 1);
        self.voted_for = Some(self.id);
        self.dirty = true;
        self.role = Role::Candidate(CandidateState {
            votes: SortedSet::from([self.id]),
        });
        out.observe(RaftObs::Voted {
            term: self.term,
            candidate: self.id,
        });
        out.milestone(
            "term-started",
            format!("{} starts an election for term {}", self.id, self.term),
        );
        self.reset_election_timer(out);
        for &p in &self.peers {
            out.send(
                p,
                RaftMsg::RequestVote {
                    term: self.term,
                    last_log_index: self.log.last_index(),
                    last_log_term: self.log.last_term(),
                },
            );
        }
        if self.is_majority(1) {
            self.become_leader(out);
        }
    }

    fn become_leader(&mut self, out: &mut Out<RaftNode>) {
        let next = self.log.last_index().next();
        let peers = self.peers.iter().copied();
        self.role = Role::Leader(LeaderState {
            next_index: peers.clone().map(|p| (p, next)).collect(),
            match_index: peers.map(|p| (p, LogIndex(0))).collect(),
            recently_active: SortedSet::new(),
            replicating: SortedSet::new(),
            quiet: SortedMap::new(),
        });
        out.observe(RaftObs::BecameLeader(self.term));
        out.milestone(
            "leader-elected",
            format!("{} is elected leader of term {}", self.id, self.term),
        );
        // A no-op of the new term lets the leader commit earlier entries
        // without waiting for a client (§8, and Figure 8's lesson). The
        // toggle `commit-previous-term` changes only the commit rule (see
        // `advance_commit`), so its leaders append the no-op too.
        let index = self.log.push(Entry {
            term: self.term,
            command: Command::Noop,
        });
        self.write_log_from(index);
        out.cancel_timer(RaftTimer::Election);
        out.set_timer(
            RaftTimer::Heartbeat,
            self.settings.heartbeat_interval,
            self.settings.heartbeat_interval,
        );
        if self.settings.check_quorum {
            let t = self.settings.election_timeout_max;
            out.set_timer(RaftTimer::CheckQuorum, t, t);
        }
        self.broadcast_append(out);
        self.advance_commit(out);
    }

    fn on_pre_vote(
        &mut self,
        from: NodeId,
        term: Term,
        last_log_index: LogIndex,
        last_log_term: Term,
        out: &mut Out<RaftNode>,
    ) {
        let has_leader = match &self.role {
            Role::Leader(_) => true,
            Role::Follower(f) => f.leader.is_some(),
            _ => false,
        };
        let granted = term > self.term
            && !has_leader
            && (self.settings.skip_up_to_date_check
                || self.up_to_date(last_log_index, last_log_term));
        let why = if term <= self.term {
            "its term is not newer"
        } else if has_leader {
            "a leader is alive"
        } else if !granted {
            "its log is behind"
        } else {
            "it could win"
        };
        out.note(format!(
            "{} {} {from}'s pre-vote: {why}",
            self.id,
            if granted { "grants" } else { "refuses" }
        ));
        let term = if granted { term } else { self.term };
        out.send(from, RaftMsg::PreVoteReply { term, granted });
    }

    fn on_pre_vote_reply(
        &mut self,
        from: NodeId,
        term: Term,
        granted: bool,
        out: &mut Out<RaftNode>,
    ) {
        if !granted && term > self.term {
            self.adopt_term(term, None, out);
            return;
        }
        let wanted = Term(self.term.0 + 1);
        let Role::PreCandidate(c) = &mut self.role else {
            out.note(format!("{} ignores a late pre-vote reply", self.id));
            return;
        };
        if !granted || term != wanted {
            return;
        }
        c.votes.insert(from);
        let count = c.votes.len();
        if self.is_majority(count) {
            out.note(format!(
                "{} won the pre-vote; it stands for election",
                self.id
            ));
            self.start_election(out);
        }
    }

    fn on_request_vote(
        &mut self,
        from: NodeId,
        term: Term,
        last_log_index: LogIndex,
        last_log_term: Term,
        out: &mut Out<RaftNode>,
    ) {
        if term > self.term {
            self.adopt_term(term, None, out);
        }
        let free = self.voted_for.is_none_or(|v| v == from);
        let log_ok =
            self.settings.skip_up_to_date_check || self.up_to_date(last_log_index, last_log_term);
        let granted = term == self.term && free && log_ok;
        if granted {
            self.voted_for = Some(from);
            self.dirty = true;
            out.observe(RaftObs::Voted {
                term,
                candidate: from,
            });
            out.note(format!("{} votes for {from} in term {term}", self.id));
            self.reset_election_timer(out);
        } else {
            let why = if term < self.term {
                "its term is old"
            } else if !free {
                "already voted in this term"
            } else {
                "its log is not up to date"
            };
            out.note(format!("{} refuses its vote to {from}: {why}", self.id));
        }
        out.send(
            from,
            RaftMsg::RequestVoteReply {
                term: self.term,
                granted,
            },
        );
    }

    fn on_request_vote_reply(
        &mut self,
        from: NodeId,
        term: Term,
        granted: bool,
        out: &mut Out<RaftNode>,
    ) {
        if term > self.term {
            self.adopt_term(term, None, out);
            return;
        }
        let Role::Candidate(c) = &mut self.role else {
            return;
        };
        if term != self.term || !granted {
            return;
        }
        c.votes.insert(from);
        let count = c.votes.len();
        if self.is_majority(count) {
            self.become_leader(out);
        }
    }

    // ----- replication (§5.3) ------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn on_append_entries(
        &mut self,
        from: NodeId,
        term: Term,
        prev_log_index: LogIndex,
        prev_log_term: Term,
        entries: &[Entry],
        leader_commit: LogIndex,
        out: &mut Out<RaftNode>,
    ) {
        if term < self.term {
            out.note(format!(
                "{} rejects AppendEntries from {from}: term {term} is older than {}",
                self.id, self.term
            ));
            out.send(
                from,
                RaftMsg::AppendEntriesReply {
                    term: self.term,
                    success: false,
                    match_index: self.log.last_index(),
                    probe: prev_log_index,
                },
            );
            return;
        }
        if term > self.term {
            self.adopt_term(term, Some(from), out);
        } else if self.is_leader() {
            // Two leaders in one term: only a broken protocol (a teaching
            // toggle) gets here. Step aside rather than fight.
            out.note(format!(
                "{} hears another leader, {from}, in its own term {term}: election safety is broken",
                self.id
            ));
            self.become_follower(Some(from), out);
        } else {
            self.become_follower(Some(from), out);
        }
        self.reset_election_timer(out);

        if self.log.term_at(prev_log_index) != Some(prev_log_term) {
            let hint = match self.log.term_at(prev_log_index) {
                None => self.log.last_index(),
                Some(conflict) => {
                    // Skip back over every entry of the conflicting term: the
                    // leader cannot have any of them at these indexes.
                    let mut i = prev_log_index;
                    while i > self.commit_index && self.log.term_at(i.prev()) == Some(conflict) {
                        i = i.prev();
                    }
                    i.prev()
                }
            };
            out.note(format!(
                "{} has no entry {prev_log_index}@{prev_log_term}; the leader must back up",
                self.id
            ));
            out.send(
                from,
                RaftMsg::AppendEntriesReply {
                    term: self.term,
                    success: false,
                    match_index: hint,
                    probe: prev_log_index,
                },
            );
            return;
        }

        let mut index = prev_log_index;
        for entry in entries {
            index = index.next();
            match self.log.term_at(index) {
                Some(t) if t == entry.term => {}
                Some(_) => {
                    // A conflict: this entry and all that follow it go
                    // (Figure 2, AppendEntries step 3). Committed entries can
                    // never conflict, unless a teaching toggle broke Raft.
                    assert!(
                        index > self.commit_index || self.settings.breaks_safety(),
                        "{} would truncate committed entry {index}",
                        self.id
                    );
                    out.note(format!(
                        "{} drops its entries from {index} on: they conflict",
                        self.id
                    ));
                    self.log.truncate_from(index);
                    self.log.push(entry.clone());
                    self.write_log_from(index);
                }
                None => {
                    self.log.push(entry.clone());
                    self.write_log_from(index);
                }
            }
        }
        if self.settings.truncate_on_every_append && self.log.last_index() > index {
            // The teaching toggle: throw away everything after the new
            // entries, even entries that do not conflict. A delayed, older
            // AppendEntries then erases newer (maybe committed) entries.
            out.note(format!(
                "{} truncates its log after {index} (toggle)",
                self.id
            ));
            self.log.truncate_from(index.next());
            self.write_log_from(index.next());
        }
        if !entries.is_empty() {
            out.note(format!(
                "{} stores {} entr{} up to {index}",
                self.id,
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" }
            ));
        }
        let new_commit = leader_commit.min(index);
        if new_commit > self.commit_index {
            self.commit_index = new_commit;
            out.observe(RaftObs::Committed(new_commit));
            self.apply_committed(out);
        }
        out.send(
            from,
            RaftMsg::AppendEntriesReply {
                term: self.term,
                success: true,
                match_index: index,
                probe: prev_log_index,
            },
        );
    }

    fn on_append_entries_reply(
        &mut self,
        from: NodeId,
        term: Term,
        success: bool,
        match_index: LogIndex,
        probe: LogIndex,
        out: &mut Out<RaftNode>,
    ) {
        if term > self.term {
            self.adopt_term(term, None, out);
            return;
        }
        let last = self.log.last_index();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if term != self.term {
            out.note(format!("{} ignores a reply from an older term", self.id));
            return;
        }
        l.recently_active.insert(from);
        let next = l.next_index.get_mut(&from).expect("a peer");
        let matched = l.match_index.get_mut(&from).expect("a peer");
        if success {
            // Replies can arrive out of order: never move backwards. Only a
            // reply that taught the leader something triggers more sending,
            // so duplicated replies cannot multiply messages.
            let advanced = match_index > *matched;
            let fresh = match_index >= *matched;
            *matched = (*matched).max(match_index);
            *next = (*next).max(match_index.next());
            if advanced {
                l.quiet.remove(&from);
            }
            let mut more = advanced;
            if fresh && !l.replicating.contains(&from) {
                // The follower's log matches up to matchIndex: stream to it
                // from just past there.
                l.replicating.insert(from);
                *next = matched.next();
                more = true;
            }
            let more = more && *next <= last;
            self.advance_commit(out);
            if more {
                self.send_append(from, out);
            }
        } else if probe <= *matched {
            // The follower has said it holds the leader's entries up to
            // matchIndex, and in this term they never change, so a
            // rejection at or below it is stale (etcd's `maybeDecrTo`).
            // Backing up to matchIndex and sending again would only earn
            // the same rejection, again and again without a pause, when a
            // follower has lost entries it had matched (as the toggle
            // `truncate-on-every-append` makes it).
            out.note(format!(
                "{} ignores a stale rejection from {from} (it probed {probe}, which {from} had matched up to {})",
                self.id, *matched
            ));
        } else if l.replicating.contains(&from) && probe >= next.prev() {
            out.note(format!(
                "{} ignores a stale rejection from {from} (it probed {probe}, beyond what is in flight)",
                self.id
            ));
        } else if !l.replicating.contains(&from) && probe != next.prev() {
            out.note(format!(
                "{} ignores a stale rejection from {from} (it probed {probe}, now probes {})",
                self.id,
                next.prev()
            ));
        } else {
            // A batch in flight found the follower's log different (or
            // short) at `probe`, or a probe did: probe again, below it.
            l.replicating.remove(&from);
            *next = LogIndex(probe.0.min(match_index.0 + 1).max(1));
            if *next <= *matched {
                *next = matched.next();
            }
            self.send_append(from, out);
        }
    }

    /// Figure 2, "Rules for Servers", leaders: commit the highest N with a
    /// majority of matchIndex >= N *and log[N].term == currentTerm* (§5.4.2).
    fn advance_commit(&mut self, out: &mut Out<RaftNode>) {
        let Role::Leader(l) = &self.role else { return };
        let mut n = self.log.last_index();
        while n > self.commit_index {
            let current = self.log.term_at(n) == Some(self.term);
            if current || self.settings.commit_previous_term {
                let count = 1 + l.match_index.values().filter(|&&m| m >= n).count();
                if self.is_majority(count) {
                    break;
                }
            }
            n = n.prev();
        }
        if n > self.commit_index {
            out.milestone(
                "entry-committed",
                format!(
                    "{} commits entries up to {n} in term {}",
                    self.id, self.term
                ),
            );
            self.commit_index = n;
            out.observe(RaftObs::Committed(n));
            self.apply_committed(out);
        }
    }

    fn apply_committed(&mut self, out: &mut Out<RaftNode>) {
        while self.last_applied < self.commit_index {
            let index = self.last_applied.next();
            let Some(entry) = self.log.get(index).cloned() else {
                // Only a teaching toggle that breaks safety can drop
                // committed entries; apply them when they come back.
                assert!(
                    self.settings.breaks_safety(),
                    "a committed entry is missing"
                );
                return;
            };
            self.last_applied = index;
            out.observe(RaftObs::Applied {
                index,
                entry: entry.clone(),
            });
            let Command::Client {
                client,
                request,
                op,
            } = &entry.command
            else {
                continue;
            };
            let result = match self.kv.apply(*client, *request, op) {
                Applied::Fresh(r) => {
                    out.note(format!("{} applies {index}: {op} -> \"{r}\"", self.id));
                    r
                }
                Applied::Duplicate(r) => {
                    out.note(format!(
                        "{} skips {index}: {client}{request} was applied already",
                        self.id
                    ));
                    r
                }
                Applied::Stale => continue,
            };
            if self.is_leader() {
                out.send(
                    *client,
                    RaftMsg::ClientReply {
                        request: *request,
                        outcome: ClientOutcome::Done(result),
                    },
                );
            }
        }
    }

    // ----- clients (§8) ------------------------------------------------------

    fn on_client_request(
        &mut self,
        from: NodeId,
        request: RequestId,
        op: &KvOp,
        out: &mut Out<RaftNode>,
    ) {
        let hint = match &self.role {
            Role::Leader(_) => None,
            Role::Follower(f) => Some(f.leader),
            _ => Some(None),
        };
        if let Some(hint) = hint {
            out.send(
                from,
                RaftMsg::ClientReply {
                    request,
                    outcome: ClientOutcome::NotLeader(hint),
                },
            );
            return;
        }
        if let Some(result) = self.kv.cached(from, request) {
            out.note(format!(
                "{} answers {from}{request} from its session table",
                self.id
            ));
            out.send(
                from,
                RaftMsg::ClientReply {
                    request,
                    outcome: ClientOutcome::Done(result.clone()),
                },
            );
            return;
        }
        let index = self.log.push(Entry {
            term: self.term,
            command: Command::Client {
                client: from,
                request,
                op: op.clone(),
            },
        });
        self.write_log_from(index);
        out.note(format!("{} appends {op} at {index}", self.id));
        self.broadcast_append(out);
        self.advance_commit(out);
    }

    // ----- timers of a leader ------------------------------------------------

    fn on_heartbeat(&mut self, out: &mut Out<RaftNode>) {
        if !self.is_leader() {
            return;
        }
        for p in self.peers.clone() {
            self.heartbeat_to(p, out);
        }
        out.set_timer(
            RaftTimer::Heartbeat,
            self.settings.heartbeat_interval,
            self.settings.heartbeat_interval,
        );
    }

    fn on_check_quorum(&mut self, out: &mut Out<RaftNode>) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let active = 1 + l.recently_active.len();
        l.recently_active.clear();
        if self.is_majority(active) {
            let t = self.settings.election_timeout_max;
            out.set_timer(RaftTimer::CheckQuorum, t, t);
        } else {
            out.note(format!(
                "{} heard from only {active} of {} servers in an election timeout (CheckQuorum)",
                self.id,
                self.cluster_size()
            ));
            self.become_follower(None, out);
        }
    }

    // ----- the Node entry points ---------------------------------------------

    fn start(&mut self, durable: Option<&ServerDurable>, out: &mut Out<RaftNode>) {
        if let Some(d) = durable {
            self.term = d.term;
            self.voted_for = d.voted_for;
            self.log = d.log.clone();
            out.note(format!(
                "{} starts in term {} with {} log entries",
                self.id,
                self.term,
                self.log.last_index()
            ));
        }
        self.reset_election_timer(out);
    }

    fn on_message(&mut self, from: NodeId, msg: &RaftMsg, out: &mut Out<RaftNode>) {
        match msg {
            RaftMsg::PreVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_pre_vote(from, *term, *last_log_index, *last_log_term, out),
            RaftMsg::PreVoteReply { term, granted } => {
                self.on_pre_vote_reply(from, *term, *granted, out)
            }
            RaftMsg::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_request_vote(from, *term, *last_log_index, *last_log_term, out),
            RaftMsg::RequestVoteReply { term, granted } => {
                self.on_request_vote_reply(from, *term, *granted, out)
            }
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.on_append_entries(
                from,
                *term,
                *prev_log_index,
                *prev_log_term,
                entries,
                *leader_commit,
                out,
            ),
            RaftMsg::AppendEntriesReply {
                term,
                success,
                match_index,
                probe,
            } => self.on_append_entries_reply(from, *term, *success, *match_index, *probe, out),
            RaftMsg::ClientRequest { request, op } => {
                self.on_client_request(from, *request, op, out)
            }
            RaftMsg::ClientReply { .. } => out.note(format!(
                "{} ignores a client reply sent to a server",
                self.id
            )),
        }
    }
}

#[cfg(test)]
impl Server {
    /// Puts this server in a hand-picked state: the checker's tests build
    /// histories from states like these rather than from a run.
    pub(crate) fn set_state(&mut self, term: Term, log: Log, role: Role) {
        self.term = term;
        self.log = log;
        self.role = role;
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

    fn send_outstanding(&self, out: &mut Out<RaftNode>) {
        let (request, op) = self.outstanding.clone().expect("a request is outstanding");
        out.send(
            self.servers[self.guess],
            RaftMsg::ClientRequest { request, op },
        );
        out.set_timer(RaftTimer::ClientRetry, self.retry, self.retry);
    }

    fn issue_next(&mut self, out: &mut Out<RaftNode>) {
        if self.outstanding.is_some() {
            return;
        }
        let Some(op) = self.queue.pop_front() else {
            return;
        };
        let request = self.next_request;
        self.next_request = RequestId(request.0 + 1);
        out.persist(RaftDurable::Client(self.next_request));
        out.observe(RaftObs::Invoked {
            request,
            op: op.clone(),
        });
        self.outstanding = Some((request, op));
        self.send_outstanding(out);
    }

    fn on_reply(&mut self, request: RequestId, outcome: &ClientOutcome, out: &mut Out<RaftNode>) {
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
                out.observe(RaftObs::Completed {
                    request,
                    result: result.clone(),
                });
                self.outstanding = None;
                self.last_completed = Some(request);
                out.cancel_timer(RaftTimer::ClientRetry);
                self.issue_next(out);
            }
            ClientOutcome::NotLeader(Some(hint)) => {
                if let Some(i) = self.servers.iter().position(|s| s == hint) {
                    self.guess = i;
                    self.send_outstanding(out);
                }
            }
            // Nobody knows a leader yet: wait for the retry timer rather than
            // spin between servers.
            ClientOutcome::NotLeader(None) => {}
        }
    }

    fn on_retry(&mut self, out: &mut Out<RaftNode>) {
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

impl Node for RaftNode {
    type Msg = RaftMsg;
    type Timer = RaftTimer;
    type Durable = RaftDurable;
    type Op = RaftOp;
    type Obs = RaftObs;

    fn on_start(&mut self, durable: Option<&RaftDurable>, out: &mut Out<Self>) {
        match self {
            RaftNode::Server(s) => {
                let d = match durable {
                    Some(RaftDurable::Server(d)) => Some(d),
                    _ => None,
                };
                s.start(d, out);
                s.finish(out);
            }
            RaftNode::Client(c) => {
                if let Some(RaftDurable::Client(next)) = durable {
                    c.next_request = *next;
                }
            }
        }
    }

    fn on_message(&mut self, from: NodeId, msg: &RaftMsg, out: &mut Out<Self>) {
        match self {
            RaftNode::Server(s) => {
                s.on_message(from, msg, out);
                s.finish(out);
            }
            RaftNode::Client(c) => match msg {
                RaftMsg::ClientReply { request, outcome } => c.on_reply(*request, outcome, out),
                _ => out.note(format!("{} ignores a {msg:?}", c.id)),
            },
        }
    }

    fn on_timer(&mut self, timer: &RaftTimer, out: &mut Out<Self>) {
        match self {
            RaftNode::Server(s) => {
                match timer {
                    RaftTimer::Election => s.on_election_timeout(out),
                    RaftTimer::Heartbeat => s.on_heartbeat(out),
                    RaftTimer::CheckQuorum => s.on_check_quorum(out),
                    RaftTimer::ClientRetry => {}
                }
                s.finish(out);
            }
            RaftNode::Client(c) => {
                if *timer == RaftTimer::ClientRetry {
                    c.on_retry(out);
                }
            }
        }
    }

    fn on_op(&mut self, op: &RaftOp, out: &mut Out<Self>) {
        match (self, op) {
            (RaftNode::Server(s), RaftOp::Timeout) => {
                out.note(format!("{}'s election timer is made to expire now", s.id));
                s.on_election_timeout(out);
                s.finish(out);
            }
            (RaftNode::Server(s), RaftOp::Kv(_)) => {
                out.note(format!("{} is a server: hand operations to a client", s.id))
            }
            (RaftNode::Client(c), RaftOp::Kv(op)) => {
                if c.queue.len() >= CLIENT_QUEUE_LIMIT {
                    out.note(format!("{}'s queue is full; {op} is refused", c.id));
                    return;
                }
                c.queue.push_back(op.clone());
                c.issue_next(out);
            }
            (RaftNode::Client(c), RaftOp::Timeout) => {
                out.note(format!("{} is a client: it has no election timer", c.id))
            }
        }
    }

    fn scene(&self) -> NodeScene {
        match self {
            RaftNode::Server(s) => {
                let mut scene =
                    NodeScene::new(NodeKind::Server, s.role.name().as_str(), s.id.to_string())
                        .badge(format!("term {}", s.term), "term")
                        .row("currentTerm", s.term.to_string(), Durability::Durable)
                        .row(
                            "votedFor",
                            s.voted_for.map_or("-".to_string(), |v| v.to_string()),
                            Durability::Durable,
                        )
                        .row(
                            "log",
                            format!(
                                "{} entries, last term {}",
                                s.log.last_index(),
                                s.log.last_term()
                            ),
                            Durability::Durable,
                        )
                        .row(
                            "commitIndex",
                            s.commit_index.to_string(),
                            Durability::Volatile,
                        )
                        .row(
                            "lastApplied",
                            s.last_applied.to_string(),
                            Durability::Volatile,
                        );
                if !s.is_leader() {
                    scene = scene.row("election timer", "Election", Durability::Volatile);
                }
                // The newest entries, with their commit and apply marks.
                let first = s.log.last_index().0.saturating_sub(SCENE_LOG_ROWS) + 1;
                for i in first..=s.log.last_index().0 {
                    let index = LogIndex(i);
                    let e = s.log.get(index).expect("within the log");
                    let mark = if index <= s.last_applied {
                        "applied"
                    } else if index <= s.commit_index {
                        "committed"
                    } else {
                        "not committed"
                    };
                    scene = scene.row(
                        format!("log[{index}]"),
                        format!("term {}: {} ({mark})", e.term, e.command),
                        Durability::Durable,
                    );
                }
                if let Role::Leader(l) = &s.role {
                    for p in &s.peers {
                        scene = scene.row(
                            format!("{p} next/match"),
                            format!(
                                "{} / {} ({})",
                                l.next_index[p],
                                l.match_index[p],
                                if l.replicating.contains(p) {
                                    "replicating"
                                } else {
                                    "probing"
                                }
                            ),
                            Durability::Volatile,
                        );
                    }
                }
                scene
            }
            RaftNode::Client(c) => NodeScene::new(NodeKind::Client, "client", c.id.to_string())
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
    use crate::raft::Raft;
    use sim::Protocol;

    fn server(raft: &Raft, id: u32, durable: Option<ServerDurable>) -> RaftNode {
        let mut n = raft.new_node(NodeId(id));
        let mut out = Out::new();
        n.on_start(durable.map(RaftDurable::Server).as_ref(), &mut out);
        n
    }

    fn log_of(terms: &[u64]) -> Log {
        let mut log = Log::new();
        for &t in terms {
            log.push(Entry {
                term: Term(t),
                command: Command::Noop,
            });
        }
        log
    }

    fn durable(term: u64, terms: &[u64]) -> Option<ServerDurable> {
        Some(ServerDurable {
            term: Term(term),
            voted_for: None,
            log: log_of(terms),
        })
    }

    fn vote_reply(out: &Out<RaftNode>) -> Option<bool> {
        out.sends().iter().find_map(|(_, m)| match m {
            RaftMsg::RequestVoteReply { granted, .. } => Some(*granted),
            _ => None,
        })
    }

    #[test]
    fn votes_go_only_to_candidates_whose_log_is_at_least_as_up_to_date() {
        let raft = Raft::new(3, 0);
        let cases = [
            // (candidate last index, last term, granted)
            (3, 2, false), // shorter log, same last term
            (4, 2, true),  // same length and term
            (1, 3, true),  // shorter but newer last term
            (9, 1, false), // longer but older last term
        ];
        for (index, term, granted) in cases {
            let mut n = server(&raft, 0, durable(5, &[1, 1, 2, 2]));
            let mut out = Out::new();
            n.on_message(
                NodeId(1),
                &RaftMsg::RequestVote {
                    term: Term(6),
                    last_log_index: LogIndex(index),
                    last_log_term: Term(term),
                },
                &mut out,
            );
            assert_eq!(
                vote_reply(&out),
                Some(granted),
                "candidate log {index}@{term}"
            );
            // The new term (and the vote, if granted) are persisted in the
            // same step as the reply.
            let Some(RaftDurable::Server(d)) = out.persisted() else {
                panic!("nothing persisted before the reply");
            };
            assert_eq!(d.term, Term(6));
            assert_eq!(d.voted_for, granted.then_some(NodeId(1)));
        }
    }

    #[test]
    fn a_server_votes_once_per_term_even_after_a_restart() {
        let raft = Raft::new(3, 0);
        let mut n = server(&raft, 0, durable(1, &[]));
        let ask = RaftMsg::RequestVote {
            term: Term(2),
            last_log_index: LogIndex(0),
            last_log_term: Term(0),
        };
        let mut out = Out::new();
        n.on_message(NodeId(1), &ask, &mut out);
        assert_eq!(vote_reply(&out), Some(true));
        let Some(RaftDurable::Server(d)) = out.persisted().cloned() else {
            panic!("the vote was not persisted");
        };
        let mut restarted = server(&raft, 0, Some(d));
        let mut out = Out::new();
        restarted.on_message(NodeId(2), &ask, &mut out);
        assert_eq!(vote_reply(&out), Some(false));
    }

    fn append(prev: (u64, u64), entries: &[u64], commit: u64) -> RaftMsg {
        RaftMsg::AppendEntries {
            term: Term(3),
            prev_log_index: LogIndex(prev.0),
            prev_log_term: Term(prev.1),
            entries: entries
                .iter()
                .map(|&t| Entry {
                    term: Term(t),
                    command: Command::Noop,
                })
                .collect::<Vec<_>>()
                .into(),
            leader_commit: LogIndex(commit),
        }
    }

    fn terms(n: &RaftNode) -> Vec<u64> {
        let s = n.as_server().expect("a server");
        s.log().iter().map(|(_, e)| e.term.0).collect()
    }

    #[test]
    fn append_entries_truncates_only_on_a_conflict() {
        let raft = Raft::new(3, 0);
        let mut n = server(&raft, 0, durable(3, &[1, 1, 3, 3]));
        // A delayed AppendEntries that carries entries the follower already
        // has must not cut the newer ones after them.
        n.on_message(NodeId(1), &append((1, 1), &[1], 0), &mut Out::new());
        assert_eq!(terms(&n), vec![1, 1, 3, 3]);
        // A conflict at index 3 removes index 3 and everything after it.
        n.on_message(NodeId(1), &append((2, 1), &[2], 0), &mut Out::new());
        assert_eq!(terms(&n), vec![1, 1, 2]);
        // A gap fails the consistency check and changes nothing.
        let mut out = Out::new();
        n.on_message(NodeId(1), &append((7, 3), &[3], 0), &mut out);
        assert_eq!(terms(&n), vec![1, 1, 2]);
        assert!(out.sends().iter().any(|(_, m)| matches!(
            m,
            RaftMsg::AppendEntriesReply {
                success: false,
                match_index: LogIndex(3),
                ..
            }
        )));
    }

    #[test]
    fn the_truncation_toggle_lets_a_delayed_message_cut_the_log() {
        let raft = Raft::new(3, 0).with_toggle(crate::raft::Toggle::TruncateOnEveryAppend);
        let mut n = server(&raft, 0, durable(3, &[1, 1, 3, 3]));
        n.on_message(NodeId(1), &append((1, 1), &[1], 0), &mut Out::new());
        assert_eq!(terms(&n), vec![1, 1]);
    }

    /// Server n1 with a log of these terms, elected leader of term 2 by
    /// n2's vote (PreVote first).
    fn leader_of_term_2(raft: &Raft, terms: &[u64]) -> RaftNode {
        let mut n = server(raft, 0, durable(1, terms));
        n.on_op(&RaftOp::Timeout, &mut Out::new());
        for peer in [1, 2] {
            let granted = RaftMsg::PreVoteReply {
                term: Term(2),
                granted: true,
            };
            n.on_message(NodeId(peer), &granted, &mut Out::new());
        }
        let vote = RaftMsg::RequestVoteReply {
            term: Term(2),
            granted: true,
        };
        n.on_message(NodeId(1), &vote, &mut Out::new());
        assert!(n.as_server().expect("server").is_leader());
        n
    }

    fn reply(success: bool, match_index: u64, probe: u64) -> RaftMsg {
        RaftMsg::AppendEntriesReply {
            term: Term(2),
            success,
            match_index: LogIndex(match_index),
            probe: LogIndex(probe),
        }
    }

    /// The `prev_log_index` of every AppendEntries in `out`.
    fn probes(out: &Out<RaftNode>) -> Vec<u64> {
        out.sends()
            .iter()
            .filter_map(|(_, m)| match m {
                RaftMsg::AppendEntries { prev_log_index, .. } => Some(prev_log_index.0),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_new_leader_appends_a_no_op_of_its_term_whatever_its_commit_rule() {
        for toggle in [None, Some(crate::raft::Toggle::CommitPreviousTerm)] {
            let mut raft = Raft::new(3, 0);
            if let Some(t) = toggle {
                raft = raft.with_toggle(t);
            }
            let n = leader_of_term_2(&raft, &[1]);
            assert_eq!(terms(&n), vec![1, 2], "toggle {toggle:?}");
        }
    }

    #[test]
    fn a_rejection_at_or_below_match_index_is_stale_and_sends_nothing() {
        for toggle in [None, Some(crate::raft::Toggle::TruncateOnEveryAppend)] {
            let mut raft = Raft::new(3, 0);
            if let Some(t) = toggle {
                raft = raft.with_toggle(t);
            }
            // The leader's log is 1, 1, 1 and its no-op (term 2) at index 4.
            let mut n = leader_of_term_2(&raft, &[1, 1, 1]);
            // n2 holds all four entries: matchIndex 4, nextIndex 5.
            n.on_message(NodeId(1), &reply(true, 4, 3), &mut Out::new());
            // A rejection of the probe at 4 (n2 says its log ends at 2) can
            // only be stale: it sends nothing, where backing up to
            // matchIndex and sending again would earn the same rejection.
            let mut out = Out::new();
            n.on_message(NodeId(1), &reply(false, 2, 4), &mut out);
            assert_eq!(probes(&out), Vec::<u64>::new(), "toggle {toggle:?}");
            // A rejection above matchIndex still backs up: n3 matched
            // nothing and its log ends at 1.
            let mut out = Out::new();
            n.on_message(NodeId(2), &reply(false, 1, 3), &mut out);
            assert_eq!(probes(&out), vec![1], "toggle {toggle:?}");
        }
    }

    /// A leader of term 2 over a log of twenty term-1 entries (and its
    /// no-op at 21) that sends one entry per AppendEntries, once n2 has
    /// answered its probes: n2's log matches up to 3. Returns what the
    /// leader sent on the last answer.
    fn leader_with_one_entry_batches() -> (RaftNode, Out<RaftNode>) {
        let mut raft = Raft::new(3, 0);
        raft.settings.max_entries_per_append = 1;
        let mut n = leader_of_term_2(&raft, &[1; 20]);
        // n2 rejects the probe at 20: its log ends at 3.
        n.on_message(NodeId(1), &reply(false, 3, 20), &mut Out::new());
        // ... and accepts the probe at 3.
        let mut out = Out::new();
        n.on_message(NodeId(1), &reply(true, 3, 3), &mut out);
        (n, out)
    }

    fn progress_of(n: &RaftNode, peer: u32) -> PeerProgress {
        let view = n.as_server().expect("server").view();
        view.progress
            .into_iter()
            .find(|p| p.peer == NodeId(peer))
            .expect("a peer")
    }

    #[test]
    fn a_follower_whose_log_matches_gets_a_window_of_batches_not_one() {
        let (n, out) = leader_with_one_entry_batches();
        // Streaming from 4: a window of MAX_INFLIGHT batches of one entry,
        // each one after the last, without waiting for answers.
        let expected: Vec<u64> = (3..3 + MAX_INFLIGHT).collect();
        assert_eq!(probes(&out), expected);
        let p = progress_of(&n, 1);
        assert!(p.replicating);
        assert_eq!(
            (p.next_index, p.match_index),
            (LogIndex(3 + MAX_INFLIGHT + 1), LogIndex(3))
        );
        // n3 has answered nothing: it is still probed, one message at a time.
        assert!(!progress_of(&n, 2).replicating);
    }

    #[test]
    fn an_answer_in_the_stream_refills_the_window_and_a_full_window_sends_nothing() {
        let (mut n, _) = leader_with_one_entry_batches();
        // Entries 4 to 3 + MAX_INFLIGHT are in flight. The answer for 4
        // frees one slot of the window: the next entry goes out.
        let mut out = Out::new();
        n.on_message(NodeId(1), &reply(true, 4, 3), &mut out);
        assert_eq!(probes(&out), vec![3 + MAX_INFLIGHT]);
        // A duplicate of that answer teaches nothing and sends nothing.
        let mut out = Out::new();
        n.on_message(NodeId(1), &reply(true, 4, 3), &mut out);
        assert_eq!(probes(&out), Vec::<u64>::new());
    }

    #[test]
    fn a_rejection_in_the_stream_sends_the_leader_back_to_probing_below_it() {
        let (mut n, _) = leader_with_one_entry_batches();
        // The batch with entry 5 was lost, so n2, whose log ends at 4,
        // rejects the one with entry 6 (prev 5).
        let mut out = Out::new();
        n.on_message(NodeId(1), &reply(false, 4, 5), &mut out);
        assert_eq!(probes(&out), vec![4], "one probe, just past n2's log");
        assert!(!progress_of(&n, 1).replicating);
        // The rejection of the batch after it (prev 6) is stale now.
        let mut out = Out::new();
        n.on_message(NodeId(1), &reply(false, 4, 6), &mut out);
        assert_eq!(probes(&out), Vec::<u64>::new());
        // The probe's answer puts n2 back in the stream, from 6: a whole
        // window beyond its matchIndex, 5.
        let mut out = Out::new();
        n.on_message(NodeId(1), &reply(true, 5, 4), &mut out);
        assert!(progress_of(&n, 1).replicating);
        assert_eq!(probes(&out), (5..5 + MAX_INFLIGHT).collect::<Vec<u64>>());
    }

    #[test]
    fn a_stream_that_hears_nothing_for_an_election_timeout_is_probed_again() {
        let (mut n, _) = leader_with_one_entry_batches();
        let settings = Raft::new(3, 0).settings;
        let heartbeats = settings.election_timeout_min.0 / settings.heartbeat_interval.0;
        assert!(
            heartbeats > 1,
            "the test needs several heartbeats per timeout"
        );
        // Each heartbeat before that sends n2 the first entry it has not
        // acknowledged again, and leaves it streaming.
        for _ in 1..heartbeats {
            let mut out = Out::new();
            n.on_timer(&RaftTimer::Heartbeat, &mut out);
            let to_n2: Vec<u64> = out
                .sends()
                .iter()
                .filter(|(to, _)| *to == NodeId(1))
                .filter_map(|(_, m)| match m {
                    RaftMsg::AppendEntries { prev_log_index, .. } => Some(prev_log_index.0),
                    _ => None,
                })
                .collect();
            assert_eq!(to_n2, vec![3]);
            assert!(progress_of(&n, 1).replicating);
        }
        // The last one of the timeout gives up on the stream.
        n.on_timer(&RaftTimer::Heartbeat, &mut Out::new());
        let p = progress_of(&n, 1);
        assert!(!p.replicating);
        assert_eq!(p.next_index, LogIndex(4));
    }

    #[test]
    fn a_leader_does_not_commit_an_earlier_terms_entry_by_counting() {
        for toggle in [None, Some(crate::raft::Toggle::CommitPreviousTerm)] {
            let mut raft = Raft::new(3, 0);
            if let Some(t) = toggle {
                raft = raft.with_toggle(t);
            }
            // n1 has an entry of term 1 at index 1 and becomes leader of term
            // 2 (it appends its no-op at index 2).
            let mut n = server(&raft, 0, durable(1, &[1]));
            let mut out = Out::new();
            n.on_op(&RaftOp::Timeout, &mut out);
            for peer in [1, 2] {
                n.on_message(
                    NodeId(peer),
                    &RaftMsg::PreVoteReply {
                        term: Term(2),
                        granted: true,
                    },
                    &mut Out::new(),
                );
            }
            n.on_message(
                NodeId(1),
                &RaftMsg::RequestVoteReply {
                    term: Term(2),
                    granted: true,
                },
                &mut Out::new(),
            );
            assert!(n.as_server().expect("server").is_leader());
            // n2 acknowledges index 1 only: a majority stores the term-1 entry.
            n.on_message(
                NodeId(1),
                &RaftMsg::AppendEntriesReply {
                    term: Term(2),
                    success: true,
                    match_index: LogIndex(1),
                    probe: LogIndex(1),
                },
                &mut Out::new(),
            );
            let commit = n.as_server().expect("server").commit_index();
            let expected = if toggle.is_some() { 1 } else { 0 };
            assert_eq!(commit, LogIndex(expected), "toggle {toggle:?}");
        }
    }
}
