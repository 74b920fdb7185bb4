//! A broker: a replica of every partition. As a partition's leader it
//! appends producers' records, serves fetches, tracks its followers'
//! progress, advances the high watermark and proposes ISR changes; as a
//! follower it fetches from the leader and truncates where its log
//! diverged.

use sim::sorted::SortedMap;
use std::rc::Rc;

use sim::{impl_encode, Durability, Encode, NodeId, NodeKind, NodeScene, Out, TraceHasher};

use super::coordinator::GroupCoordinator;
use super::msg::{
    ConsumerFetchResult, FetchResult, GroupEntry, Outgoing, PartitionState, ProduceResult,
    PubSubMsg, Record, Stamp,
};
use super::node::{PubSubDurable, PubSubNode, PubSubObs, PubSubTimer};
use super::view::{BrokerView, GroupView, RecordRow, ReplicaView, VIEW_LOG_ROWS};
use super::{Acks, Epoch, GroupId, MsgKey, Offset, PartitionId, Settings};

/// What a broker persists, per partition: its replica's log, the latest
/// decision of the controller it has applied (so that a delayed, older
/// decision arriving after a restart cannot take it back in time, the way
/// Kafka keeps its leader-epoch checkpoint), and the ISR change it has
/// proposed as a leader and not yet seen decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerDurable {
    /// The logs, indexed by partition.
    pub logs: Vec<Vec<Record>>,
    /// The decisions, indexed by partition.
    pub states: Vec<Option<PartitionState>>,
    /// The pending proposals, indexed by partition.
    pub pending: Vec<Option<PendingIsr>>,
}

impl Encode for BrokerDurable {
    fn encode(&self, h: &mut TraceHasher) {
        self.logs.encode(h);
        self.states.encode(h);
        self.pending.encode(h);
    }
}

/// An ISR change a leader has proposed to the controller. It is durable:
/// the controller may accept it after the leader crashed, and the leader,
/// back at the same epoch, must still count the members it proposed when
/// it computes the high watermark, until it sees the decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingIsr {
    /// The leader's epoch.
    pub epoch: Epoch,
    /// The partition version the proposal is based on.
    pub version: u64,
    /// The proposed ISR.
    pub isr: Vec<NodeId>,
}

impl_encode!(PendingIsr {
    epoch,
    version,
    isr
});

/// What a leader knows of one follower.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The follower's log end, as of its latest matching fetch.
    pub leo: Offset,
    /// Whether it fetched at the leader's log end since the last ISR check.
    pub caught_up: bool,
    /// ISR checks in a row it has missed.
    pub missed: u32,
}

/// A produce request waiting for the high watermark (`acks=all`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// Who to answer.
    pub producer: NodeId,
    /// The batch's first message, which names it.
    pub first: MsgKey,
    /// Where each message of the batch is.
    pub written: Vec<(MsgKey, Offset)>,
}

impl Waiting {
    /// The offset just past the batch's last message.
    fn end(&self) -> Offset {
        self.written
            .iter()
            .map(|&(_, o)| o.next())
            .max()
            .unwrap_or_default()
    }
}

/// A partition leader's volatile state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderState {
    /// Every other replica's progress.
    pub progress: SortedMap<NodeId, Progress>,
    /// Produce requests waiting to be answered.
    pub waiting: Vec<Waiting>,
    /// The log end when this leadership began. Everything committed before
    /// lies below it, so a follower joins the ISR only once it has caught
    /// up to here as well as to the high watermark (which, after a restart
    /// or a hand-over, may lag behind what was committed: Kafka's
    /// `isFollowerInSync` asks the same).
    pub epoch_start: Offset,
}

/// One replica's role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaRole {
    /// Follows the leader named in the partition state (if any).
    Follower,
    /// Leads the partition.
    Leader(LeaderState),
}

/// This broker's replica of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    /// The partition.
    pub partition: PartitionId,
    /// Durable: the log.
    pub log: Vec<Record>,
    /// The high watermark as this replica knows it.
    pub hw: Offset,
    /// The controller's latest decision that reached this broker.
    pub state: Option<PartitionState>,
    /// Leader or follower.
    pub role: ReplicaRole,
    /// Durable: the ISR change this replica proposed as leader and has not
    /// seen decided yet.
    pub pending: Option<PendingIsr>,
}

impl Replica {
    /// The log end offset: the offset the next record gets.
    pub fn leo(&self) -> Offset {
        Offset(self.log.len() as u64)
    }

    fn last_epoch(&self) -> Epoch {
        self.log.last().map_or(Epoch(0), |r| r.epoch)
    }

    /// Whether this replica leads its partition.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, ReplicaRole::Leader(_))
    }

    /// The ISR the high watermark is computed over: the decided one, plus
    /// the members of a pending proposal (Kafka's maximal ISR).
    fn maximal_isr(&self) -> Vec<NodeId> {
        let mut isr = self
            .state
            .as_ref()
            .map(|s| s.isr.clone())
            .unwrap_or_default();
        if let Some(p) = &self.pending {
            isr.extend(p.isr.iter().copied());
        }
        isr.sort_unstable();
        isr.dedup();
        isr
    }

    /// The end of `epoch` in this log: the offset of the first record of a
    /// later epoch, or the log end.
    fn end_of_epoch(&self, epoch: Epoch) -> Offset {
        Offset(
            self.log
                .iter()
                .position(|r| r.epoch > epoch)
                .unwrap_or(self.log.len()) as u64,
        )
    }
}

/// A coordinator's record in the offsets topic is named
/// `n<broker>#<epoch * ENTRY_IDS_PER_EPOCH + offset + 1>`.
pub const ENTRY_IDS_PER_EPOCH: u64 = 1_000_000;

/// A broker.
#[derive(Clone, Debug)]
pub struct Broker {
    id: NodeId,
    brokers: Vec<NodeId>,
    controller: NodeId,
    settings: Rc<Settings>,
    replicas: Vec<Replica>,
    /// The stamp of the latest word from the controller (volatile).
    heard: Stamp,
    /// Set when a log changed in this step, so the step ends by persisting.
    dirty: bool,
    /// Volatile: the coordinators of the groups whose offsets partition
    /// this broker leads, rebuilt from the log when it takes the lead.
    coordinators: SortedMap<GroupId, GroupCoordinator>,
}

impl Broker {
    /// A broker among `brokers`, answering to `controller`.
    pub fn new(
        id: NodeId,
        brokers: Vec<NodeId>,
        controller: NodeId,
        settings: Rc<Settings>,
    ) -> Broker {
        let replicas = settings
            .partitions()
            .map(|p| Replica {
                partition: p,
                log: Vec::new(),
                hw: Offset(0),
                state: None,
                role: ReplicaRole::Follower,
                pending: None,
            })
            .collect();
        Broker {
            id,
            brokers,
            controller,
            settings,
            replicas,
            heard: Stamp::default(),
            dirty: false,
            coordinators: SortedMap::new(),
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The replicas, indexed by partition.
    pub fn replicas(&self) -> &[Replica] {
        &self.replicas
    }

    /// The coordinator of `group`, if this broker leads its offsets
    /// partition.
    pub fn coordinator(&self, group: GroupId) -> Option<&GroupCoordinator> {
        self.coordinators.get(&group)
    }

    /// The coordinators on this broker.
    pub fn coordinators(&self) -> impl Iterator<Item = &GroupCoordinator> {
        self.coordinators.values()
    }

    pub(super) fn start(&mut self, durable: Option<&BrokerDurable>, out: &mut Out<PubSubNode>) {
        if let Some(d) = durable {
            for (i, r) in self.replicas.iter_mut().enumerate() {
                r.log = d.logs[i].clone();
                r.pending = d.pending[i].clone();
                // Known, but not acted on: a leader takes up its lead again
                // only when the controller confirms it (see apply_state).
                r.state = d.states[i].clone();
            }
        }
        self.heartbeat(out);
        let s = &self.settings;
        out.set_timer(
            PubSubTimer::Heartbeat,
            s.heartbeat_interval,
            s.heartbeat_interval,
        );
        out.set_timer(PubSubTimer::Fetch, s.fetch_interval, s.fetch_interval);
        out.set_timer(
            PubSubTimer::IsrCheck,
            s.isr_check_interval,
            s.isr_check_interval,
        );
    }

    fn heartbeat(&self, out: &mut Out<PubSubNode>) {
        out.send(
            self.controller,
            PubSubMsg::BrokerHeartbeat { echo: self.heard },
        );
    }

    /// Ends a step: persists the logs if they changed.
    fn finish(&mut self, out: &mut Out<PubSubNode>) {
        if self.dirty {
            self.dirty = false;
            out.persist(PubSubDurable::Broker(BrokerDurable {
                logs: self.replicas.iter().map(|r| r.log.clone()).collect(),
                states: self.replicas.iter().map(|r| r.state.clone()).collect(),
                pending: self.replicas.iter().map(|r| r.pending.clone()).collect(),
            }));
        }
    }

    pub(super) fn on_message(&mut self, from: NodeId, msg: &PubSubMsg, out: &mut Out<PubSubNode>) {
        match msg {
            PubSubMsg::Partitions { states, stamp } if from == self.controller => {
                self.heard = self.heard.max(*stamp);
                for s in states.iter() {
                    self.apply_state(s, out);
                }
            }
            PubSubMsg::Fetch {
                partition,
                epoch,
                offset,
                last_epoch,
            } => self.on_fetch(from, *partition, *epoch, *offset, *last_epoch, out),
            PubSubMsg::FetchReply {
                partition,
                epoch,
                offset,
                last_epoch,
                result,
            } => self.on_fetch_reply(*partition, *epoch, *offset, *last_epoch, result, out),
            PubSubMsg::MetadataRequest => {
                let states = self
                    .replicas
                    .iter()
                    .filter_map(|r| r.state.clone())
                    .collect();
                out.send(from, PubSubMsg::Metadata { states });
            }
            PubSubMsg::Produce {
                partition,
                batch,
                acks,
            } => self.on_produce(from, *partition, batch, *acks, out),
            PubSubMsg::ConsumerFetch { partition, offset } => {
                self.on_consumer_fetch(from, *partition, *offset, out)
            }
            PubSubMsg::JoinGroup { group, .. }
            | PubSubMsg::GroupHeartbeat { group, .. }
            | PubSubMsg::OffsetCommit { group, .. } => {
                self.on_group_message(from, *group, msg, out)
            }
            other => out.note(format!(
                "{} ignores a {}",
                self.id,
                sim::Message::kind(other)
            )),
        }
        self.finish(out);
    }

    pub(super) fn on_timer(&mut self, timer: &PubSubTimer, out: &mut Out<PubSubNode>) {
        let s = Rc::clone(&self.settings);
        match timer {
            PubSubTimer::Heartbeat => {
                self.heartbeat(out);
                out.set_timer(
                    PubSubTimer::Heartbeat,
                    s.heartbeat_interval,
                    s.heartbeat_interval,
                );
            }
            PubSubTimer::Fetch => {
                for i in 0..self.replicas.len() {
                    self.fetch(i, out);
                }
                out.set_timer(PubSubTimer::Fetch, s.fetch_interval, s.fetch_interval);
            }
            PubSubTimer::IsrCheck => {
                for i in 0..self.replicas.len() {
                    self.check_isr(i, out);
                }
                out.set_timer(
                    PubSubTimer::IsrCheck,
                    s.isr_check_interval,
                    s.isr_check_interval,
                );
            }
            PubSubTimer::Member(g, m) => {
                let entry = self
                    .coordinators
                    .get_mut(g)
                    .and_then(|c| c.on_session_expired(*m, out));
                if let Some(entry) = entry {
                    self.append_entry(*g, entry, out);
                }
            }
            _ => {}
        }
        self.finish(out);
    }

    /// Adopts the controller's decision for a partition, if it is newer
    /// than the one this broker has.
    fn apply_state(&mut self, state: &PartitionState, out: &mut Out<PubSubNode>) {
        let me = self.id;
        let Some(i) = self
            .replicas
            .iter()
            .position(|r| r.partition == state.partition)
        else {
            return;
        };
        let r = &mut self.replicas[i];
        let newer = r.state.as_ref().is_none_or(|s| s.version < state.version);
        // After a restart the replica is a follower that remembers the last
        // decision: the controller's repeat of that decision (same version)
        // is what makes it lead again.
        let resumed =
            !newer && !r.is_leader() && state.leader == Some(me) && r.state.as_ref() == Some(state);
        if !newer && !resumed {
            return;
        }
        self.dirty |= newer;
        let was_leading = match (&r.role, &r.state) {
            (ReplicaRole::Leader(_), Some(s)) => Some(s.epoch),
            _ => None,
        };
        r.state = Some(state.clone());
        // A newer version answers a pending proposal (accepted, refused or
        // superseded by a new epoch).
        if r.pending
            .as_ref()
            .is_some_and(|p| p.version < state.version)
        {
            r.pending = None;
            self.dirty = true;
        }
        let name = self.settings.partition_name(state.partition);
        if state.leader == Some(me) {
            if was_leading != Some(state.epoch) {
                let progress = self
                    .brokers
                    .iter()
                    .filter(|&&b| b != me)
                    .map(|&b| (b, Progress::default()))
                    .collect();
                let epoch_start = r.leo();
                r.role = ReplicaRole::Leader(LeaderState {
                    progress,
                    waiting: Vec::new(),
                    epoch_start,
                });
                out.observe(PubSubObs::BecameLeader {
                    partition: state.partition,
                    epoch: state.epoch,
                });
                if let Some(g) = self.settings.group_of(state.partition) {
                    // The group's coordinator moves here: rebuilt from the
                    // log, which holds every committed generation and
                    // commit.
                    let c = GroupCoordinator::load(Rc::clone(&self.settings), g, &r.log, r.hw, out);
                    out.note(format!(
                        "{me} coordinates {g} from {}: it rebuilds the group from the log",
                        state.epoch
                    ));
                    self.coordinators.insert(g, c);
                }
                out.milestone(
                    "partition-leader-changed",
                    format!("{me} leads {name} in {}", state.epoch),
                );
            }
            self.advance_hw(i, out);
        } else {
            if let ReplicaRole::Leader(l) = &r.role {
                // Deposed: whoever waits is told to look elsewhere.
                for w in &l.waiting {
                    out.send(
                        w.producer,
                        PubSubMsg::ProduceReply {
                            partition: state.partition,
                            first: w.first,
                            result: ProduceResult::NotLeader,
                        },
                    );
                }
                out.note(format!("{me} no longer leads {name}"));
            }
            if let Some(g) = self.settings.group_of(state.partition) {
                // Its members find the new coordinator through metadata.
                self.coordinators.remove(&g);
            }
            r.role = ReplicaRole::Follower;
            // A new leader: fetch from it at once.
            self.fetch(i, out);
        }
    }

    fn fetch(&mut self, i: usize, out: &mut Out<PubSubNode>) {
        let r = &self.replicas[i];
        let Some(state) = &r.state else { return };
        match (state.leader, &r.role) {
            (Some(leader), ReplicaRole::Follower) if leader != self.id => out.send(
                leader,
                PubSubMsg::Fetch {
                    partition: r.partition,
                    epoch: state.epoch,
                    offset: r.leo(),
                    last_epoch: r.last_epoch(),
                },
            ),
            _ => {}
        }
    }

    /// The leader's index of the partition, if this broker leads it in
    /// `epoch`.
    fn leading(&self, partition: PartitionId, epoch: Option<Epoch>) -> Option<usize> {
        let i = self
            .replicas
            .iter()
            .position(|r| r.partition == partition)?;
        let r = &self.replicas[i];
        let state = r.state.as_ref()?;
        (r.is_leader() && epoch.is_none_or(|e| e == state.epoch)).then_some(i)
    }

    fn on_fetch(
        &mut self,
        from: NodeId,
        partition: PartitionId,
        epoch: Epoch,
        offset: Offset,
        last_epoch: Epoch,
        out: &mut Out<PubSubNode>,
    ) {
        let Some(i) = self.leading(partition, Some(epoch)) else {
            out.note(format!(
                "{} does not lead {partition} in {epoch}: the fetch from {from} is ignored",
                self.id
            ));
            return;
        };
        let max = self.settings.max_fetch_records;
        let r = &mut self.replicas[i];
        let leo = r.leo();
        let matches =
            offset == Offset(0) || (offset <= leo && r.log[offset.index() - 1].epoch == last_epoch);
        let result = if matches {
            let ReplicaRole::Leader(l) = &mut r.role else {
                unreachable!("leading() checked the role")
            };
            let p = l.progress.entry(from).or_default();
            p.leo = offset;
            if offset >= leo {
                p.caught_up = true;
            }
            let end = (offset.index() + max).min(r.log.len());
            let records: Rc<[Record]> = r.log[offset.index()..end].iter().cloned().collect();
            self.maybe_expand(i, from, out);
            self.advance_hw(i, out);
            FetchResult::Records {
                records,
                hw: self.replicas[i].hw,
            }
        } else {
            let end = r.end_of_epoch(last_epoch);
            let truncate_to = end.min(Offset(offset.0 - 1)).min(leo);
            FetchResult::Diverged { truncate_to }
        };
        out.send(
            from,
            PubSubMsg::FetchReply {
                partition,
                epoch,
                offset,
                last_epoch,
                result,
            },
        );
    }

    fn on_fetch_reply(
        &mut self,
        partition: PartitionId,
        epoch: Epoch,
        offset: Offset,
        last_epoch: Epoch,
        result: &FetchResult,
        out: &mut Out<PubSubNode>,
    ) {
        let me = self.id;
        let Some(i) = self.replicas.iter().position(|r| r.partition == partition) else {
            return;
        };
        let r = &mut self.replicas[i];
        let following = !r.is_leader() && r.state.as_ref().is_some_and(|s| s.epoch == epoch);
        if !following || r.leo() != offset || r.last_epoch() != last_epoch {
            // Stale: an answer to an older fetch, or from an older epoch.
            return;
        }
        match result {
            FetchResult::Records { records, hw } => {
                if !records.is_empty() {
                    r.log.extend(records.iter().cloned());
                    self.dirty = true;
                    out.observe(PubSubObs::Appended {
                        partition,
                        from: offset,
                        records: records.to_vec(),
                    });
                }
                let r = &mut self.replicas[i];
                let hw = (*hw).min(r.leo());
                if hw > r.hw {
                    r.hw = hw;
                }
                if !records.is_empty() {
                    self.fetch(i, out);
                }
            }
            FetchResult::Diverged { truncate_to } => {
                assert!(*truncate_to < r.leo(), "a divergence truncates something");
                out.note(format!(
                    "{me}'s {partition} diverged from the leader: truncated from {} to {truncate_to}",
                    r.leo()
                ));
                r.log.truncate(truncate_to.index());
                r.hw = r.hw.min(*truncate_to);
                self.dirty = true;
                out.observe(PubSubObs::Truncated {
                    partition,
                    to: *truncate_to,
                });
                self.fetch(i, out);
            }
        }
    }

    /// Adds `follower` to the ISR (by proposal) once it has caught up to
    /// the high watermark and to the start of this leadership.
    fn maybe_expand(&mut self, i: usize, follower: NodeId, out: &mut Out<PubSubNode>) {
        let r = &mut self.replicas[i];
        let Some(state) = r.state.clone() else { return };
        let hw = r.hw;
        let ReplicaRole::Leader(l) = &mut r.role else {
            return;
        };
        let leo = l.progress.get(&follower).map_or(Offset(0), |p| p.leo);
        if state.isr.contains(&follower) || r.pending.is_some() || leo < hw.max(l.epoch_start) {
            return;
        }
        let mut isr = state.isr.clone();
        isr.push(follower);
        isr.sort_unstable();
        out.note(format!(
            "{} proposes adding {follower} to the ISR of {}",
            self.id, r.partition
        ));
        r.pending = Some(PendingIsr {
            epoch: state.epoch,
            version: state.version,
            isr: isr.clone(),
        });
        self.dirty = true;
        out.send(
            self.controller,
            PubSubMsg::AlterIsr {
                partition: r.partition,
                epoch: state.epoch,
                version: state.version,
                isr,
            },
        );
    }

    /// Every ISR check: followers that have not caught up for
    /// `isr_lag_checks` checks are proposed for removal (never below
    /// `min.insync`); a pending proposal is sent again, in case it was lost.
    fn check_isr(&mut self, i: usize, out: &mut Out<PubSubNode>) {
        let lag = self.settings.isr_lag_checks;
        let min = self.settings.min_insync;
        let me = self.id;
        let controller = self.controller;
        let r = &mut self.replicas[i];
        let Some(state) = r.state.clone() else { return };
        let ReplicaRole::Leader(l) = &mut r.role else {
            return;
        };
        for p in l.progress.values_mut() {
            if p.caught_up {
                p.missed = 0;
            } else {
                p.missed += 1;
            }
            p.caught_up = false;
        }
        if r.pending.is_none() {
            let mut isr = state.isr.clone();
            for (&f, p) in &l.progress {
                if isr.len() > min && isr.contains(&f) && p.missed >= lag {
                    isr.retain(|&m| m != f);
                }
            }
            if isr != state.isr {
                out.note(format!(
                    "{me} proposes shrinking the ISR of {} to {}",
                    r.partition,
                    super::node_set(&isr)
                ));
                r.pending = Some(PendingIsr {
                    epoch: state.epoch,
                    version: state.version,
                    isr,
                });
                self.dirty = true;
            }
        }
        if let Some(p) = &r.pending {
            out.send(
                controller,
                PubSubMsg::AlterIsr {
                    partition: r.partition,
                    epoch: p.epoch,
                    version: p.version,
                    isr: p.isr.clone(),
                },
            );
        }
    }

    /// Recomputes the leader's high watermark (the lowest log end over the
    /// maximal ISR) and answers the produce requests it now covers.
    fn advance_hw(&mut self, i: usize, out: &mut Out<PubSubNode>) {
        let me = self.id;
        let min = self.settings.min_insync;
        let r = &mut self.replicas[i];
        let Some(state) = r.state.clone() else { return };
        let members = r.maximal_isr();
        let leo = r.leo();
        let ReplicaRole::Leader(l) = &mut r.role else {
            return;
        };
        let hw = members
            .iter()
            .map(|&m| {
                if m == me {
                    leo
                } else {
                    l.progress.get(&m).map_or(Offset(0), |p| p.leo)
                }
            })
            .min()
            .unwrap_or(leo);
        if hw > r.hw {
            r.hw = hw;
            out.observe(PubSubObs::HighWatermark {
                partition: r.partition,
                epoch: state.epoch,
                hw,
            });
            let coordinator = self
                .settings
                .group_of(r.partition)
                .and_then(|g| self.coordinators.get_mut(&g));
            if let (Some(c), true) = (coordinator, state.isr.len() >= min) {
                c.on_high_watermark(hw, &r.log[..hw.index().min(r.log.len())], out);
            }
        }
        let hw = r.hw;
        let enough = state.isr.len() >= min;
        let (done, waiting): (Vec<Waiting>, Vec<Waiting>) =
            l.waiting.drain(..).partition(|w| w.end() <= hw);
        l.waiting = waiting;
        for w in done {
            let result = if enough {
                ProduceResult::Ok(w.written.into())
            } else {
                ProduceResult::NotEnoughReplicas
            };
            out.send(
                w.producer,
                PubSubMsg::ProduceReply {
                    partition: r.partition,
                    first: w.first,
                    result,
                },
            );
        }
    }

    /// Serves a consumer: the records from `offset` up to the high
    /// watermark (or, under toggle `read-above-high-watermark`, up to the
    /// log end, records a leader change may still take back).
    fn on_consumer_fetch(
        &mut self,
        from: NodeId,
        partition: PartitionId,
        offset: Offset,
        out: &mut Out<PubSubNode>,
    ) {
        let result = match self.leading(partition, None) {
            None => ConsumerFetchResult::NotLeader,
            Some(i) => {
                let r = &self.replicas[i];
                let end = if self.settings.read_above_high_watermark {
                    r.leo()
                } else {
                    r.hw
                };
                if offset > r.leo() {
                    ConsumerFetchResult::OutOfRange { log_end: r.leo() }
                } else {
                    let to = end
                        .index()
                        .min(offset.index() + self.settings.max_fetch_records);
                    let records: Rc<[Record]> = if offset.index() < to {
                        r.log[offset.index()..to].iter().cloned().collect()
                    } else {
                        Rc::from(Vec::new())
                    };
                    ConsumerFetchResult::Records { records, hw: r.hw }
                }
            }
        };
        out.send(
            from,
            PubSubMsg::ConsumerFetchReply {
                partition,
                offset,
                result,
            },
        );
    }

    /// Appends a producer's batch (skipping the messages an idempotent
    /// producer's earlier attempt already wrote) and answers per `acks`.
    fn on_produce(
        &mut self,
        from: NodeId,
        partition: PartitionId,
        batch: &[Outgoing],
        acks: Acks,
        out: &mut Out<PubSubNode>,
    ) {
        let Some(first) = batch.first().map(|m| m.id) else {
            return;
        };
        let reply = |out: &mut Out<PubSubNode>, result| {
            if acks != Acks::Zero {
                out.send(
                    from,
                    PubSubMsg::ProduceReply {
                        partition,
                        first,
                        result,
                    },
                );
            }
        };
        let Some(i) = self.leading(partition, None) else {
            reply(out, ProduceResult::NotLeader);
            return;
        };
        let min = self.settings.min_insync;
        let me = self.id;
        let r = &mut self.replicas[i];
        let state = r.state.clone().expect("a leader has a state");
        // An idempotent producer's retry: these messages are in the log.
        let existing: Vec<Option<Offset>> = batch
            .iter()
            .map(|m| {
                m.seq.and_then(|seq| {
                    r.log
                        .iter()
                        .position(|rec| rec.id.producer == m.id.producer && rec.seq == Some(seq))
                        .map(|o| Offset(o as u64))
                })
            })
            .collect();
        let all_there = existing.iter().all(Option::is_some);
        if acks == Acks::All && state.isr.len() < min && !all_there {
            reply(out, ProduceResult::NotEnoughReplicas);
            return;
        }
        let mut written = Vec::with_capacity(batch.len());
        let mut appended = Vec::new();
        let from_offset = r.leo();
        for (m, there) in batch.iter().zip(existing) {
            match there {
                Some(o) => {
                    out.note(format!(
                        "{me} already has {} at {partition}@{o}: the retry is not appended",
                        m.id
                    ));
                    written.push((m.id, o));
                }
                None => {
                    let record = Record {
                        epoch: state.epoch,
                        id: m.id,
                        key: m.key,
                        seq: m.seq,
                        entry: None,
                    };
                    written.push((m.id, r.leo()));
                    r.log.push(record.clone());
                    appended.push(record);
                }
            }
        }
        if !appended.is_empty() {
            self.dirty = true;
            out.observe(PubSubObs::Appended {
                partition,
                from: from_offset,
                records: appended,
            });
        }
        match acks {
            Acks::Zero => {}
            Acks::Leader => reply(out, ProduceResult::Ok(written.into())),
            Acks::All => {
                let r = &mut self.replicas[i];
                if let ReplicaRole::Leader(l) = &mut r.role {
                    l.waiting.push(Waiting {
                        producer: from,
                        first,
                        written,
                    });
                }
                self.advance_hw(i, out);
            }
        }
    }

    /// A consumer's message to its group's coordinator: handled if this
    /// broker leads the group's offsets partition, and otherwise answered
    /// with `NotCoordinator`, which sends the consumer to its metadata.
    fn on_group_message(
        &mut self,
        from: NodeId,
        group: GroupId,
        msg: &PubSubMsg,
        out: &mut Out<PubSubNode>,
    ) {
        let Some(c) = self.coordinators.get_mut(&group) else {
            out.send(from, PubSubMsg::NotCoordinator { group });
            return;
        };
        let entry = match msg {
            PubSubMsg::JoinGroup { session, .. } => {
                let i = self.settings.offsets_partition(group).0 as usize;
                let r = &self.replicas[i];
                c.on_join(
                    from,
                    *session,
                    &r.log[..r.hw.index().min(r.log.len())],
                    Offset(r.log.len() as u64),
                    out,
                )
            }
            PubSubMsg::GroupHeartbeat { generation, .. } => {
                c.on_heartbeat(from, *generation, out);
                None
            }
            PubSubMsg::OffsetCommit {
                generation,
                partition,
                offset,
                ..
            } => {
                // Like a produce request with acks=all: refused while the
                // in-sync set is below min.insync (the consumer retries).
                let i = self.settings.offsets_partition(group).0 as usize;
                let isr = self.replicas[i].state.as_ref().map_or(0, |s| s.isr.len());
                if isr < self.settings.min_insync {
                    out.note(format!(
                        "{}: too few in-sync replicas for {from}'s commit",
                        self.id
                    ));
                    None
                } else {
                    let r = &self.replicas[i];
                    c.on_commit(from, *generation, *partition, *offset, r.leo(), r.hw, out)
                }
            }
            _ => None,
        };
        if let Some(entry) = entry {
            self.append_entry(group, entry, out);
        }
    }

    /// Appends the coordinator's `entry` to the group's offsets partition,
    /// which this broker leads; it is answered once committed.
    fn append_entry(&mut self, group: GroupId, entry: GroupEntry, out: &mut Out<PubSubNode>) {
        let me = self.id;
        let p = self.settings.offsets_partition(group);
        let Some(i) = self.leading(p, None) else {
            return;
        };
        let r = &mut self.replicas[i];
        let epoch = r.state.as_ref().map_or(Epoch(0), |s| s.epoch);
        let at = r.leo();
        // One leader per epoch, and it only appends: (epoch, offset) names
        // the record uniquely.
        let record = Record {
            epoch,
            id: MsgKey {
                producer: me,
                n: epoch.0 * ENTRY_IDS_PER_EPOCH + at.0 + 1,
            },
            key: group.0,
            seq: None,
            entry: Some(entry.clone()),
        };
        r.log.push(record.clone());
        self.dirty = true;
        out.observe(PubSubObs::Appended {
            partition: p,
            from: at,
            records: vec![record],
        });
        if let Some(c) = self.coordinators.get_mut(&group) {
            c.appended(at, &entry);
        }
        self.advance_hw(i, out);
    }

    /// The widget's view of this broker.
    pub fn view(&self) -> BrokerView {
        let replicas = self
            .replicas
            .iter()
            .map(|r| {
                let skip = r.log.len().saturating_sub(VIEW_LOG_ROWS);
                ReplicaView {
                    partition: r.partition,
                    name: self.settings.partition_name(r.partition),
                    internal: self.settings.group_of(r.partition).is_some(),
                    leading: r.is_leader(),
                    state: r.state.clone(),
                    hw: r.hw,
                    leo: r.leo(),
                    log: r
                        .log
                        .iter()
                        .enumerate()
                        .skip(skip)
                        .map(|(o, rec)| RecordRow {
                            offset: Offset(o as u64),
                            epoch: rec.epoch,
                            id: rec.id,
                            key: rec.key,
                            committed: (o as u64) < r.hw.0,
                        })
                        .collect(),
                    pending_isr: r.pending.as_ref().map(|p| p.isr.clone()),
                }
            })
            .collect();
        let groups = self
            .coordinators
            .values()
            .map(|c| {
                let g = c.state();
                let spec = &self.settings.groups[g.group.0 as usize];
                GroupView {
                    name: spec.name.clone(),
                    mode: spec.mode,
                    generation: g.generation,
                    members: g.members.clone(),
                    owners: self
                        .settings
                        .consumed()
                        .map(|p| (p, g.owners.get(&p).copied(), g.offset(p)))
                        .collect(),
                }
            })
            .collect();
        BrokerView {
            id: self.id,
            replicas,
            groups,
        }
    }

    pub(super) fn scene(&self) -> NodeScene {
        // The role is about the topics producers write: leading only an
        // offsets partition makes a broker a coordinator (a row below).
        let leads = self
            .replicas
            .iter()
            .filter(|r| r.is_leader() && self.settings.group_of(r.partition).is_none())
            .count();
        let role = if leads > 0 { "leader" } else { "follower" };
        let mut scene = NodeScene::new(NodeKind::Server, role, self.id.to_string())
            .badge(format!("leads {leads}"), "role");
        for r in &self.replicas {
            let name = self.settings.partition_name(r.partition);
            let ids: Vec<String> = r
                .log
                .iter()
                .enumerate()
                .map(|(o, rec)| format!("{o}:{}", rec.id))
                .collect();
            scene = scene.row(format!("{name} log"), ids.join(" "), Durability::Durable);
            let state = r
                .state
                .as_ref()
                .map_or_else(|| "unknown".to_string(), |s| s.to_string());
            let role = if r.is_leader() { "leader" } else { "follower" };
            scene = scene.row(
                format!("{name} state"),
                format!("{role}, hw {}, leo {}, {state}", r.hw, r.leo()),
                Durability::Volatile,
            );
        }
        for c in self.coordinators.values() {
            let g = c.state();
            let name = &self.settings.groups[g.group.0 as usize].name;
            let owners: Vec<String> = g
                .owners
                .iter()
                .map(|(p, m)| format!("{p}:{m}@{}", g.offset(*p)))
                .collect();
            scene = scene.row(
                format!("coordinates {name}"),
                format!("{} [{}]", g.generation, owners.join(" ")),
                Durability::Volatile,
            );
        }
        scene
    }
}
