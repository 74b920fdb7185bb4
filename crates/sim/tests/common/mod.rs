//! Shared by the engine's integration tests: `Lab`, a tiny protocol whose
//! nodes do exactly what client operations tell them (send pings, set timers,
//! persist a value), so that each test can measure one engine behaviour in
//! the step records; and helpers to snapshot and replay runs.
#![allow(dead_code)]

use sim::{
    Checkers, Duration, Encode, InputRecord, LinkParams, Message, Node, NodeId, NodeKind,
    NodeScene, OpOf, Out, Protocol, Sim, Time, TraceHasher, World, WorldConfig,
};

/// The timer id that gossip uses: it re-arms itself and pings every peer.
pub const GOSSIP: u8 = 255;

/// The lab protocol: `nodes` nodes; with `echo`, every ping is answered.
#[derive(Clone, Debug)]
pub struct Lab {
    pub nodes: usize,
    pub echo: bool,
    /// How many received messages a node remembers (the oldest are
    /// forgotten), so that long runs stay cheap to clone and compare.
    pub history: usize,
}

impl Protocol for Lab {
    type Node = LabNode;
    fn name(&self) -> &'static str {
        "lab"
    }
    fn node_count(&self) -> usize {
        self.nodes
    }
    fn new_node(&self, id: NodeId) -> LabNode {
        LabNode {
            id,
            nodes: self.nodes,
            echo: self.echo,
            history: self.history,
            received_count: 0,
            started_with: None,
            boots: 0,
            volatile: None,
            durable: None,
            received: Vec::new(),
            fired: Vec::new(),
            next_seq: 0,
            gossip_every_us: None,
        }
    }
}

/// Lab messages. Pings carry the sender's sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LMsg {
    Ping(u64),
    Pong(u64),
}

impl Encode for LMsg {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            LMsg::Ping(s) => (1u8, s).encode(h),
            LMsg::Pong(s) => (2u8, s).encode(h),
        }
    }
}

impl Message for LMsg {
    fn kind(&self) -> &'static str {
        match self {
            LMsg::Ping(_) => "Ping",
            LMsg::Pong(_) => "Pong",
        }
    }
    fn label(&self) -> String {
        match self {
            LMsg::Ping(s) | LMsg::Pong(s) => format!("#{s}"),
        }
    }
    fn is_reply(&self) -> bool {
        matches!(self, LMsg::Pong(_))
    }
}

/// A lab timer, named by a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tick(pub u8);

impl Encode for Tick {
    fn encode(&self, h: &mut TraceHasher) {
        self.0.encode(h);
    }
}

/// What a lab node can be told to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LOp {
    /// Send `count` pings to `to`, all in one step.
    Send { to: NodeId, count: u32 },
    /// Set timer `id` to fire after a delay in `min_us..=max_us`.
    Timer { id: u8, min_us: u64, max_us: u64 },
    /// Cancel timer `id`.
    Cancel(u8),
    /// Every `every_us`, ping every peer (the `GOSSIP` timer), forever.
    Gossip { every_us: u64 },
    /// Persist this value (and keep it in memory).
    Persist(u64),
    /// Keep this value in memory only.
    Remember(u64),
}

impl Encode for LOp {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            LOp::Send { to, count } => (1u8, to, count).encode(h),
            LOp::Timer { id, min_us, max_us } => (2u8, id, min_us, max_us).encode(h),
            LOp::Cancel(id) => (3u8, id).encode(h),
            LOp::Gossip { every_us } => (4u8, every_us).encode(h),
            LOp::Persist(v) => (5u8, v).encode(h),
            LOp::Remember(v) => (6u8, v).encode(h),
        }
    }
}

/// A lab node: everything it saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabNode {
    pub id: NodeId,
    pub nodes: usize,
    pub echo: bool,
    pub history: usize,
    /// How many messages this node has received in all.
    pub received_count: u64,
    /// What `on_start` was given, once it has run.
    pub started_with: Option<Option<u64>>,
    /// How often `on_start` ran on this instance (must be 1 once booted).
    pub boots: u32,
    pub volatile: Option<u64>,
    pub durable: Option<u64>,
    pub received: Vec<(NodeId, LMsg)>,
    pub fired: Vec<u8>,
    pub next_seq: u64,
    pub gossip_every_us: Option<u64>,
}

impl LabNode {
    fn ping(&mut self, to: NodeId, out: &mut Out<Self>) {
        self.next_seq += 1;
        out.send(to, LMsg::Ping(self.next_seq));
    }

    /// The sequence numbers of the pings received from `from`, in order.
    pub fn pings_from(&self, from: NodeId) -> Vec<u64> {
        self.received
            .iter()
            .filter_map(|(f, m)| match m {
                LMsg::Ping(s) if *f == from => Some(*s),
                _ => None,
            })
            .collect()
    }
}

impl Node for LabNode {
    type Msg = LMsg;
    type Timer = Tick;
    type Durable = u64;
    type Op = LOp;
    type Obs = ();

    fn on_start(&mut self, durable: Option<&u64>, out: &mut Out<Self>) {
        self.started_with = Some(durable.copied());
        self.boots += 1;
        self.durable = durable.copied();
        out.note(format!("{} started with {:?}", self.id, durable));
    }

    fn on_message(&mut self, from: NodeId, msg: &LMsg, out: &mut Out<Self>) {
        self.received_count += 1;
        if self.received.len() >= self.history {
            self.received.remove(0);
        }
        self.received.push((from, msg.clone()));
        if let (LMsg::Ping(s), true) = (msg, self.echo) {
            out.send(from, LMsg::Pong(*s));
        }
    }

    fn on_timer(&mut self, timer: &Tick, out: &mut Out<Self>) {
        self.fired.push(timer.0);
        if timer.0 == GOSSIP {
            if let Some(every) = self.gossip_every_us {
                for p in 0..self.nodes as u32 {
                    if p != self.id.0 {
                        self.ping(NodeId(p), out);
                    }
                }
                out.set_timer(Tick(GOSSIP), Duration(every), Duration(every + every / 2));
            }
        }
    }

    fn on_op(&mut self, op: &LOp, out: &mut Out<Self>) {
        match *op {
            LOp::Send { to, count } => {
                for _ in 0..count {
                    self.ping(to, out);
                }
            }
            LOp::Timer { id, min_us, max_us } => {
                out.set_timer(Tick(id), Duration(min_us), Duration(max_us))
            }
            LOp::Cancel(id) => out.cancel_timer(Tick(id)),
            LOp::Gossip { every_us } => {
                self.gossip_every_us = Some(every_us);
                out.set_timer(Tick(GOSSIP), Duration(every_us), Duration(every_us * 2));
            }
            LOp::Persist(v) => {
                self.durable = Some(v);
                self.volatile = Some(v);
                out.persist(v);
            }
            LOp::Remember(v) => self.volatile = Some(v),
        }
    }

    fn scene(&self) -> NodeScene {
        NodeScene::new(NodeKind::Server, "", self.id.to_string())
    }
}

/// Link parameters with a fixed one-way delay of `us` and nothing lost.
pub fn fixed_latency(us: u64) -> LinkParams {
    LinkParams {
        latency: sim::Latency::uniform(Duration(us), Duration(us)),
        ..LinkParams::default()
    }
}

/// A world config with this seed and a fixed 10 ms delay, 1 ms processing.
pub fn lab_config(seed: u64) -> WorldConfig {
    let mut c = WorldConfig::with_seed(seed);
    c.network = fixed_latency(10_000);
    c.processing = Duration::from_ms(1);
    c
}

/// A lab sim with no checkers.
pub fn lab_sim(nodes: usize, echo: bool, config: WorldConfig) -> Sim<Lab> {
    lab_sim_with(
        Lab {
            nodes,
            echo,
            history: usize::MAX,
        },
        config,
    )
}

/// A sim of this lab protocol with no checkers.
pub fn lab_sim_with(lab: Lab, config: WorldConfig) -> Sim<Lab> {
    Sim::new(World::new(lab, config), Checkers::default())
}

/// `op` for `node`, as an input.
pub fn req(node: u32, op: LOp) -> sim::Input<LOp> {
    sim::Input::Request {
        node: NodeId(node),
        op,
    }
}

/// Everything observable about a world except its clock: steps, hash, every
/// node, durable state, conditions and in-flight messages. (Not the queue:
/// events that are not steps, such as a cancelled timer, may or may not have
/// been popped yet at the same moment.)
pub fn snapshot<P: Protocol>(w: &World<P>) -> String
where
    <P::Node as Node>::Durable: std::fmt::Debug,
{
    let mut s = format!("steps {} hash {:016x}\n", w.steps(), w.trace_hash());
    for id in w.node_ids() {
        s += &format!(
            "{id}: {:?} / durable {:?} / {:?}\n",
            w.node(id),
            w.durable(id),
            w.conditions(id)
        );
    }
    for m in w.in_flight() {
        s += &format!(
            "msg {} {}->{} sent {} arrives {} {:?} dup {:?} {:?}\n",
            m.id, m.from, m.to, m.sent, m.arrives, m.fate, m.duplicate_of, m.msg
        );
    }
    s
}

/// Replays an input log into a fresh sim through its public verbs only:
/// step to each input's step, move the clock to its time, apply it.
pub fn replay<P: Protocol>(sim: &mut Sim<P>, log: &[InputRecord<OpOf<P>>])
where
    OpOf<P>: Clone,
{
    for r in log {
        while sim.world().steps() < r.step {
            sim.step().expect("the run ended before the input's step");
        }
        assert_eq!(sim.world().steps(), r.step, "the log is out of order");
        if sim.world().now() < r.time {
            let outcome = sim.run_until(r.time, u64::MAX);
            assert_eq!(outcome.steps, 0, "a step is due before a logged input");
        }
        assert_eq!(sim.world().now(), r.time, "cannot replay the input's time");
        sim.apply(r.input.clone()).expect("a logged input is valid");
    }
}

/// The debug text of every step record from now until `t`, at most `max`.
pub fn records_until<P: Protocol>(sim: &mut Sim<P>, t: Time, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < max && sim.world().next_event_time().is_some_and(|n| n <= t) {
        match sim.step() {
            Some(r) => out.push(format!("{r:?}")),
            None => break,
        }
    }
    out
}

/// Asserts that two snapshots are equal, showing only the first lines that
/// differ (whole snapshots are too long to read).
#[track_caller]
pub fn assert_same(got: &str, want: &str, context: &str) {
    if got != want {
        let diff: Vec<String> = got
            .lines()
            .zip(want.lines())
            .filter(|(a, b)| a != b)
            .take(3)
            .map(|(a, b)| format!("  got:  {:.300}\n  want: {:.300}", a, b))
            .collect();
        panic!(
            "{context}: snapshots differ ({} vs {} lines)\n{}",
            got.lines().count(),
            want.lines().count(),
            diff.join("\n")
        );
    }
}
