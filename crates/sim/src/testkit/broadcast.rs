//! Reliable broadcast with retransmission, the engine's test protocol.
//!
//! A value handed to any server (by [`Input::Request`](crate::Input)) is
//! *delivered* there, persisted, and then retransmitted to every peer on a
//! timer until each peer has acknowledged it. A server that receives a value
//! for the first time delivers, persists and forwards it the same way. With
//! retransmission, every value delivered by a server that stays up is
//! eventually delivered by every server that stays connected to it: the
//! liveness property the sweep checks after healing.
//!
//! Its checker enforces two safety rules:
//! - B1 integrity: a server delivers a value at most once, also across restarts;
//! - B2 validity: a delivered value was broadcast by someone.

use std::collections::{BTreeMap, BTreeSet};

use crate::checker::{Checker, Report, Rule};
use crate::encode::{Encode, TraceHasher};
use crate::ids::NodeId;
use crate::node::{Durability, Message, Node, NodeKind, NodeScene, Out};
use crate::time::Duration;
use crate::trace::StepRecord;
use crate::world::{Protocol, World};

/// Configuration: how many servers, and the teaching-style bug switch used to
/// prove the checker catches what it should.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    /// Number of servers.
    pub servers: usize,
    /// How often unacknowledged values are sent again.
    pub retransmit: Duration,
    /// A deliberate bug: forget the delivered set on restart (not persisted),
    /// so a restarted server delivers a value a second time (breaks B1).
    pub volatile_delivered: bool,
}

impl Broadcast {
    /// `servers` servers with a 50 ms retransmission timer and no bug.
    pub fn new(servers: usize) -> Broadcast {
        Broadcast {
            servers,
            retransmit: Duration::from_ms(50),
            volatile_delivered: false,
        }
    }
}

impl Protocol for Broadcast {
    type Node = BNode;
    fn name(&self) -> &'static str {
        "broadcast"
    }
    fn node_count(&self) -> usize {
        self.servers
    }
    fn new_node(&self, id: NodeId) -> BNode {
        BNode {
            id,
            peers: (0..self.servers as u32)
                .map(NodeId)
                .filter(|&p| p != id)
                .collect(),
            retransmit: self.retransmit,
            volatile: self.volatile_delivered,
            delivered: BTreeSet::new(),
            unacked: BTreeMap::new(),
        }
    }
}

/// The broadcast messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BMsg {
    /// "Here is value v."
    Value(u64),
    /// "I have value v."
    Ack(u64),
}

impl Encode for BMsg {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            BMsg::Value(v) => (1u8, v).encode(h),
            BMsg::Ack(v) => (2u8, v).encode(h),
        }
    }
}

impl Message for BMsg {
    fn kind(&self) -> &'static str {
        match self {
            BMsg::Value(_) => "Value",
            BMsg::Ack(_) => "Ack",
        }
    }
    fn label(&self) -> String {
        match self {
            BMsg::Value(v) | BMsg::Ack(v) => format!("v{v}"),
        }
    }
    fn is_reply(&self) -> bool {
        matches!(self, BMsg::Ack(_))
    }
}

/// The one timer: retransmit what is unacknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Retransmit;

impl Encode for Retransmit {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(0x5e7);
    }
}

/// A broadcast server.
#[derive(Clone, Debug)]
pub struct BNode {
    id: NodeId,
    peers: Vec<NodeId>,
    retransmit: Duration,
    volatile: bool,
    delivered: BTreeSet<u64>,
    /// For each value, the peers that have not acknowledged it yet.
    unacked: BTreeMap<u64, BTreeSet<NodeId>>,
}

/// What a server reports to the checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BObs {
    /// A value was broadcast from outside at this server.
    Broadcast(u64),
    /// This server delivered a value.
    Delivered(u64),
}

impl BNode {
    /// The values this server has delivered.
    pub fn delivered(&self) -> &BTreeSet<u64> {
        &self.delivered
    }

    fn deliver(&mut self, v: u64, out: &mut Out<Self>) {
        self.delivered.insert(v);
        out.observe(BObs::Delivered(v));
        out.note(format!("{} delivered v{v}", self.id));
        if !self.volatile {
            out.persist(self.delivered.clone());
        }
        let waiting: BTreeSet<NodeId> = self.peers.iter().copied().collect();
        for &p in &waiting {
            out.send(p, BMsg::Value(v));
        }
        self.unacked.insert(v, waiting);
        out.set_timer(Retransmit, self.retransmit, self.retransmit);
    }
}

impl Node for BNode {
    type Msg = BMsg;
    type Timer = Retransmit;
    type Durable = BTreeSet<u64>;
    type Op = u64;
    type Obs = BObs;

    fn on_start(&mut self, durable: Option<&BTreeSet<u64>>, out: &mut Out<Self>) {
        if let Some(d) = durable {
            self.delivered = d.clone();
            // Without knowing who acknowledged what before the crash, send
            // everything again once; duplicates are harmless (B1 counts
            // deliveries, not receipts).
            for &v in d {
                self.unacked.insert(v, self.peers.iter().copied().collect());
            }
            if !d.is_empty() {
                out.set_timer(Retransmit, Duration::ZERO, self.retransmit);
            }
        }
    }

    fn on_message(&mut self, from: NodeId, msg: &BMsg, out: &mut Out<Self>) {
        match *msg {
            BMsg::Value(v) => {
                out.send(from, BMsg::Ack(v));
                if !self.delivered.contains(&v) {
                    self.deliver(v, out);
                }
            }
            BMsg::Ack(v) => {
                if let Some(waiting) = self.unacked.get_mut(&v) {
                    waiting.remove(&from);
                    if waiting.is_empty() {
                        self.unacked.remove(&v);
                    }
                }
            }
        }
    }

    fn on_timer(&mut self, _timer: &Retransmit, out: &mut Out<Self>) {
        for (&v, waiting) in &self.unacked {
            for &p in waiting {
                out.send(p, BMsg::Value(v));
            }
        }
        if !self.unacked.is_empty() {
            out.set_timer(Retransmit, self.retransmit, self.retransmit);
        }
    }

    fn on_op(&mut self, v: &u64, out: &mut Out<Self>) {
        out.observe(BObs::Broadcast(*v));
        if !self.delivered.contains(v) {
            self.deliver(*v, out);
        }
    }

    fn scene(&self) -> NodeScene {
        NodeScene::new(NodeKind::Server, "", self.id.to_string())
            .badge(format!("{} delivered", self.delivered.len()), "count")
            .row(
                "delivered",
                format!("{:?}", self.delivered),
                Durability::Durable,
            )
            .row(
                "unacknowledged",
                self.unacked.len().to_string(),
                Durability::Volatile,
            )
    }
}

/// Checks B1 (at most once) and B2 (only what was broadcast), from its own
/// history of every broadcast and delivery.
#[derive(Clone, Debug, Default)]
pub struct BroadcastChecker {
    broadcast: BTreeSet<u64>,
    delivered: BTreeMap<NodeId, BTreeSet<u64>>,
}

const RULES: &[Rule] = &[
    Rule {
        id: "B1",
        name: "Integrity",
        description: "A server delivers each value at most once, also across restarts.",
    },
    Rule {
        id: "B2",
        name: "Validity",
        description: "A server delivers only values that were broadcast.",
    },
];

impl Checker<Broadcast> for BroadcastChecker {
    fn rules(&self) -> &'static [Rule] {
        RULES
    }

    fn observe(
        &mut self,
        record: &StepRecord<BNode>,
        _world: &World<Broadcast>,
        report: &mut Report<'_>,
    ) {
        let Some(node) = record.node else { return };
        for obs in record.out.observations() {
            match obs {
                BObs::Broadcast(v) => {
                    self.broadcast.insert(*v);
                }
                BObs::Delivered(v) => {
                    if !self.broadcast.contains(v) {
                        report.violation(
                            "B2",
                            &[node],
                            format!("{node} delivered v{v}, which nobody broadcast"),
                        );
                    }
                    if !self.delivered.entry(node).or_default().insert(*v) {
                        report.violation(
                            "B1",
                            &[node],
                            format!("{node} delivered v{v} a second time"),
                        );
                    }
                }
            }
        }
    }
}
