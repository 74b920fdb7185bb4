//! The controller: the one node that decides each partition's leader, epoch
//! and in-sync set. Its table is persisted in the same step as every
//! decision, before the decision is announced, so a restart can never make
//! it decide a second leader for an epoch (see the module doc of
//! [`super`]).

use sim::sorted::{SortedMap, SortedSet};
use std::rc::Rc;

use sim::{impl_encode, Durability, NodeId, NodeKind, NodeScene, Out};

use super::msg::{PartitionState, PubSubMsg, Stamp};
use super::node::{PubSubDurable, PubSubNode, PubSubObs, PubSubTimer};
use super::view::ControllerView;
use super::{Epoch, PartitionId, Settings};

/// The controller.
#[derive(Clone, Debug)]
pub struct Controller {
    id: NodeId,
    brokers: Vec<NodeId>,
    settings: Rc<Settings>,
    /// Durable: how many times this controller has started.
    incarnation: u64,
    /// Durable: every partition's state.
    table: Vec<PartitionState>,
    /// Volatile: the brokers whose session is live.
    alive: SortedSet<NodeId>,
    /// Volatile: how many `Partitions` messages went to each broker in this
    /// incarnation (the `n` of their stamps).
    sent: SortedMap<NodeId, u64>,
    /// Volatile: per broker, the stamp of the answer to the heartbeat that
    /// last renewed its session. The next renewal needs a heartbeat that
    /// echoes this stamp or a later one.
    renewed_at: SortedMap<NodeId, Stamp>,
}

/// What the controller persists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerDurable {
    /// How many times it has started.
    pub incarnation: u64,
    /// Every partition's state.
    pub table: Vec<PartitionState>,
}

impl_encode!(ControllerDurable { incarnation, table });

impl Controller {
    /// A controller of `brokers`.
    pub fn new(id: NodeId, brokers: Vec<NodeId>, settings: Rc<Settings>) -> Controller {
        Controller {
            id,
            brokers,
            settings: Rc::clone(&settings),
            incarnation: 0,
            table: Vec::new(),
            alive: SortedSet::new(),
            sent: SortedMap::new(),
            renewed_at: SortedMap::new(),
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Every partition's state.
    pub fn table(&self) -> &[PartitionState] {
        &self.table
    }

    /// The brokers whose session is live.
    pub fn alive(&self) -> &SortedSet<NodeId> {
        &self.alive
    }

    pub(super) fn start(&mut self, durable: Option<&ControllerDurable>, out: &mut Out<PubSubNode>) {
        // Every broker gets a full session after a (re)start: one that is
        // really down, or cannot hear the controller, is declared dead when
        // it runs out.
        self.alive = self.brokers.iter().copied().collect();
        self.sent.clear();
        self.renewed_at.clear();
        for &b in &self.brokers {
            self.arm_session(b, out);
        }
        match durable {
            Some(d) => {
                self.incarnation = d.incarnation + 1;
                self.table = d.table.clone();
                out.note(format!("{} recovers its partition table", self.id));
            }
            None => {
                self.incarnation = 1;
                // Epoch 1: each partition led by its preferred replica (the
                // leaders spread over the brokers), every replica in sync
                // (all logs are empty).
                let n = self.brokers.len();
                self.table = self
                    .settings
                    .partitions()
                    .map(|p| PartitionState {
                        partition: p,
                        leader: Some(self.brokers[p.0 as usize % n]),
                        epoch: Epoch(1),
                        version: 1,
                        isr: self.brokers.clone(),
                    })
                    .collect();
                for s in self.table.clone() {
                    out.observe(PubSubObs::Decided(s));
                }
            }
        }
        self.persist(out);
        self.broadcast(out);
    }

    fn arm_session(&self, broker: NodeId, out: &mut Out<PubSubNode>) {
        let t = self.settings.session_timeout;
        out.set_timer(PubSubTimer::Session(broker), t, t);
    }

    fn persist(&self, out: &mut Out<PubSubNode>) {
        out.persist(PubSubDurable::Controller(ControllerDurable {
            incarnation: self.incarnation,
            table: self.table.clone(),
        }));
    }

    fn states(&self) -> Rc<[PartitionState]> {
        self.table.iter().cloned().collect()
    }

    /// The stamp the next message to `broker` gets.
    fn next_stamp(&self, broker: NodeId) -> Stamp {
        Stamp {
            incarnation: self.incarnation,
            n: self.sent.get(&broker).copied().unwrap_or(0) + 1,
        }
    }

    fn send_table(
        &mut self,
        broker: NodeId,
        states: Rc<[PartitionState]>,
        out: &mut Out<PubSubNode>,
    ) {
        let stamp = self.next_stamp(broker);
        self.sent.insert(broker, stamp.n);
        out.send(broker, PubSubMsg::Partitions { states, stamp });
    }

    fn broadcast(&mut self, out: &mut Out<PubSubNode>) {
        let states = self.states();
        for b in self.brokers.clone() {
            self.send_table(b, Rc::clone(&states), out);
        }
    }

    pub(super) fn on_message(&mut self, from: NodeId, msg: &PubSubMsg, out: &mut Out<PubSubNode>) {
        match msg {
            PubSubMsg::BrokerHeartbeat { echo } => self.on_heartbeat(from, *echo, out),
            PubSubMsg::AlterIsr {
                partition,
                epoch,
                version,
                isr,
            } => self.on_alter_isr(from, *partition, *epoch, *version, isr, out),
            other => out.note(format!(
                "{} ignores a {}",
                self.id,
                sim::Message::kind(other)
            )),
        }
    }

    pub(super) fn on_timer(&mut self, timer: &PubSubTimer, out: &mut Out<PubSubNode>) {
        if let PubSubTimer::Session(b) = *timer {
            self.on_session_expired(b, out);
        }
    }

    /// The widget's view of the controller.
    pub fn view(&self) -> ControllerView {
        ControllerView {
            id: self.id,
            incarnation: self.incarnation,
            table: self.table.clone(),
            alive: self.alive.iter().copied().collect(),
        }
    }

    /// A heartbeat renews a broker's session only if the broker hears the
    /// controller too: it must echo the stamp of the answer to the
    /// heartbeat that renewed its session last (or a later one). Otherwise
    /// a broker cut off one way, which still sends heartbeats but never
    /// learns what was decided (say, that it leads a partition, or that it
    /// no longer does), would be kept alive for ever. A broker declared dead
    /// comes back the same way, once it has heard an answer.
    fn on_heartbeat(&mut self, from: NodeId, echo: Stamp, out: &mut Out<PubSubNode>) {
        if !self.brokers.contains(&from) {
            return;
        }
        let needed = self.renewed_at.get(&from).copied().unwrap_or(Stamp {
            incarnation: self.incarnation,
            n: 0,
        });
        if echo >= needed {
            self.arm_session(from, out);
            let stamp = self.next_stamp(from);
            self.renewed_at.insert(from, stamp);
            if self.alive.insert(from) {
                out.note(format!("{from} is back: its session is live again"));
            }
            // An offline partition may come back with this broker (also
            // after a restart of the controller, which counts every broker
            // as alive until its session runs out).
            let mut changed = false;
            for i in 0..self.table.len() {
                if self.table[i].leader.is_none() {
                    changed |= self.elect(i, out);
                }
            }
            if changed {
                self.persist(out);
                // The broadcast's message to `from` has the stamp recorded
                // above.
                self.broadcast(out);
                return;
            }
        }
        let states = self.states();
        self.send_table(from, states, out);
    }

    fn on_session_expired(&mut self, broker: NodeId, out: &mut Out<PubSubNode>) {
        if !self.alive.remove(&broker) {
            return;
        }
        out.note(format!("{broker}'s session ran out: it is considered dead"));
        let mut changed = false;
        for i in 0..self.table.len() {
            if self.table[i].leader == Some(broker) {
                changed |= self.elect(i, out);
            } else {
                changed |= self.remove_from_isr(i, broker, out);
            }
        }
        if changed {
            self.persist(out);
            self.broadcast(out);
        }
    }

    /// Removes `broker` from partition `i`'s ISR if that leaves at least
    /// `min.insync` members (a smaller ISR could acknowledge records that too
    /// few replicas hold).
    fn remove_from_isr(&mut self, i: usize, broker: NodeId, out: &mut Out<PubSubNode>) -> bool {
        let s = &mut self.table[i];
        if !s.isr.contains(&broker) || s.isr.len() <= self.settings.min_insync {
            return false;
        }
        s.isr.retain(|&n| n != broker);
        s.version += 1;
        out.observe(PubSubObs::Decided(s.clone()));
        true
    }

    /// Gives partition `i` a new leader: a live ISR member (trying the
    /// brokers in order from the partition's preferred one), or, with the
    /// unclean toggle, any live broker; or none, and the partition is
    /// offline. Returns whether the state changed.
    fn elect(&mut self, i: usize, out: &mut Out<PubSubNode>) -> bool {
        let n = self.brokers.len();
        let p = self.table[i].partition;
        let order: Vec<NodeId> = (0..n)
            .map(|k| self.brokers[(p.0 as usize + k) % n])
            .collect();
        let old = self.table[i].clone();
        let clean = order
            .iter()
            .copied()
            .find(|b| old.isr.contains(b) && self.alive.contains(b));
        let mut state = old.clone();
        match clean {
            Some(leader) => {
                state.leader = Some(leader);
                // The dead leader leaves the ISR if enough members remain.
                if let Some(dead) = old.leader.filter(|d| !self.alive.contains(d)) {
                    if state.isr.len() > self.settings.min_insync {
                        state.isr.retain(|&m| m != dead);
                    }
                }
            }
            None => {
                let unclean = order.iter().copied().find(|b| self.alive.contains(b));
                match unclean.filter(|_| self.settings.unclean_leader_election) {
                    Some(leader) => {
                        out.note(format!(
                            "no in-sync replica of {p} is alive: {leader}, out of sync, is elected anyway (unclean)"
                        ));
                        state.leader = Some(leader);
                        state.isr = vec![leader];
                    }
                    None => state.leader = None,
                }
            }
        }
        if state.leader == old.leader && state.isr == old.isr {
            return false;
        }
        if state.leader != old.leader {
            state.epoch = Epoch(old.epoch.0 + 1);
        }
        state.version += 1;
        match state.leader {
            Some(l) => out.note(format!(
                "{} makes {l} leader of {} in {}",
                self.id,
                self.settings.partition_name(p),
                state.epoch
            )),
            None => out.note(format!(
                "{} takes {} offline: no in-sync replica is alive",
                self.id,
                self.settings.partition_name(p)
            )),
        }
        out.observe(PubSubObs::Decided(state.clone()));
        self.table[i] = state;
        true
    }

    fn on_alter_isr(
        &mut self,
        from: NodeId,
        partition: PartitionId,
        epoch: Epoch,
        version: u64,
        isr: &[NodeId],
        out: &mut Out<PubSubNode>,
    ) {
        let Some(i) = self.table.iter().position(|s| s.partition == partition) else {
            return;
        };
        let s = &self.table[i];
        let current = s.leader == Some(from) && s.epoch == epoch && s.version == version;
        let grows = s.isr.iter().all(|m| isr.contains(m));
        let valid = isr.contains(&from)
            && isr.iter().all(|m| self.brokers.contains(m))
            && (grows || isr.len() >= self.settings.min_insync);
        if !current || !valid {
            out.note(format!(
                "{} refuses {from}'s ISR change for {partition} (it is at {s})",
                self.id
            ));
            let states = self.states();
            self.send_table(from, states, out);
            return;
        }
        let mut isr = isr.to_vec();
        isr.sort_unstable();
        isr.dedup();
        let s = &mut self.table[i];
        s.isr = isr;
        s.version += 1;
        out.observe(PubSubObs::Decided(s.clone()));
        self.persist(out);
        self.broadcast(out);
    }

    pub(super) fn scene(&self) -> NodeScene {
        let mut scene = NodeScene::new(NodeKind::Server, "controller", self.id.to_string())
            .badge("controller", "role");
        for s in &self.table {
            scene = scene.row(
                self.settings.partition_name(s.partition),
                s.to_string(),
                Durability::Durable,
            );
        }
        let alive: Vec<String> = self.alive.iter().map(|n| n.to_string()).collect();
        scene.row(
            "live brokers",
            format!("{{{}}}", alive.join(" ")),
            Durability::Volatile,
        )
    }
}
