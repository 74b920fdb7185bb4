//! The world: nodes, the network, and the scheduler that orders every event.
//!
//! The scheduler is a min-heap of `(time, seq, event)`. `seq` is a counter, so
//! two events at the same virtual time are ordered by when they were
//! scheduled, and the order is total: the same inputs always give the same run.
//!
//! A node handles one event at a time. An event that arrives while its node
//! is busy (or while earlier arrivals still wait) joins the node's inbox, a
//! FIFO, and the node gets one wake-up event for when it is free again. So a
//! thousand messages waiting at a slow node cost a thousand queue operations,
//! not a million.

use crate::sorted::SortedMap;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;

use crate::encode::{Encode, TraceHasher};
use crate::ids::{MsgId, NodeId};
use crate::input::Input;
use crate::network::{
    Conditions, Direction, Health, InputError, LinkParams, Network, PartitionKind,
};
use crate::node::{Node, NodeScene, Out, TimerCmd};
use crate::rng::{SimRng, Stream};
use crate::time::{Duration, Permille, Time};
use crate::trace::{Fate, InFlight, LossReason, Sent, StepEvent, StepRecord};

/// A protocol: a factory of nodes and the size of the cluster. The value is
/// the protocol's configuration (cluster size, timeouts, teaching toggles).
pub trait Protocol: 'static {
    /// The node type.
    type Node: Node;
    /// A short name, such as `"raft"`.
    fn name(&self) -> &'static str;
    /// How many nodes the run has, servers and clients together. Ids are
    /// `0..node_count`.
    fn node_count(&self) -> usize;
    /// A fresh node, as it is before [`Node::on_start`]: at boot and at every
    /// restart. Everything it needs to survive a crash comes through
    /// `on_start`'s durable state, never through here.
    fn new_node(&self, id: NodeId) -> Self::Node;
}

/// The message type of a protocol.
pub type MsgOf<P> = <<P as Protocol>::Node as Node>::Msg;
/// The client operation type of a protocol.
pub type OpOf<P> = <<P as Protocol>::Node as Node>::Op;
/// The node type of a protocol.
pub type NodeOf<P> = <P as Protocol>::Node;

/// The world's own settings, beside the protocol's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldConfig {
    /// The master seed: every random number of the run derives from it.
    pub seed: u64,
    /// The network's default link parameters.
    pub network: LinkParams,
    /// How long a node takes to handle one event at normal speed. A slowed
    /// node takes this times its slowdown, and handles events one at a time,
    /// so messages queue up at a slow node.
    pub processing: Duration,
}

impl WorldConfig {
    /// The defaults with this seed.
    pub fn with_seed(seed: u64) -> WorldConfig {
        WorldConfig {
            seed,
            network: LinkParams::default(),
            processing: Duration::from_us(200),
        }
    }
}

#[derive(Clone, Debug)]
enum Event<T> {
    Start(NodeId),
    Deliver(MsgId),
    Timer {
        node: NodeId,
        timer: T,
        generation: u64,
    },
    /// The node is free: it handles the event at the front of its inbox.
    /// At most one is scheduled per node at a time.
    Wake(NodeId),
}

#[derive(Clone, Debug)]
struct Scheduled<T> {
    time: Time,
    seq: u64,
    event: Event<T>,
}

impl<T> PartialEq for Scheduled<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<T> Eq for Scheduled<T> {}
impl<T> PartialOrd for Scheduled<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Scheduled<T> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

#[derive(Clone, Debug)]
struct PendingTimer<T> {
    timer: T,
    set_at: Time,
    fires: Time,
    generation: u64,
}

#[derive(Clone, Debug)]
struct Slot<N: Node> {
    /// `None` while crashed: volatile state does not exist then.
    node: Option<N>,
    durable: Option<N::Durable>,
    conditions: Conditions,
    busy_until: Time,
    timers: Vec<PendingTimer<N::Timer>>,
    /// Events that arrived while the node was paused, in arrival order.
    held: Vec<Event<N::Timer>>,
    /// Events that arrived while the node was busy, or behind others that
    /// were waiting, in arrival order. They have arrived: a link cut now no
    /// longer loses them. Messages among them stay in the in-flight table
    /// until they are handled.
    inbox: VecDeque<Event<N::Timer>>,
    /// Whether an `Event::Wake` for this node is scheduled.
    wake_scheduled: bool,
    /// Whether the node has run `on_start` since the run began. A node that
    /// was crashed and restarted before its boot event came up must not
    /// start a second time when that event arrives.
    booted: bool,
}

/// What [`World::run_until`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Steps taken.
    pub steps: u64,
    /// Whether the target time was reached (false: the step bound ran out).
    pub reached: bool,
}

/// The simulated world. `Clone` is a full snapshot; checkpoints are clones.
pub struct World<P: Protocol> {
    protocol: Rc<P>,
    config: WorldConfig,
    now: Time,
    steps: u64,
    seq: u64,
    next_msg: u64,
    next_generation: u64,
    queue: BinaryHeap<Scheduled<<NodeOf<P> as Node>::Timer>>,
    in_flight: SortedMap<MsgId, InFlight<MsgOf<P>>>,
    slots: Vec<Slot<NodeOf<P>>>,
    network: Network,
    net_rng: SimRng,
    timer_rng: SimRng,
    hash: TraceHasher,
    record: StepRecord<NodeOf<P>>,
}

// Written out because a derive would demand `P: Clone`; the protocol value is
// shared behind an `Rc` and never cloned.
impl<P: Protocol> Clone for World<P> {
    fn clone(&self) -> Self {
        World {
            protocol: Rc::clone(&self.protocol),
            config: self.config.clone(),
            now: self.now,
            steps: self.steps,
            seq: self.seq,
            next_msg: self.next_msg,
            next_generation: self.next_generation,
            queue: self.queue.clone(),
            in_flight: self.in_flight.clone(),
            slots: self.slots.clone(),
            network: self.network.clone(),
            net_rng: self.net_rng.clone(),
            timer_rng: self.timer_rng.clone(),
            hash: self.hash.clone(),
            record: self.record.clone(),
        }
    }
}

impl<P: Protocol> std::fmt::Debug for World<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("protocol", &self.protocol.name())
            .field("now", &self.now)
            .field("steps", &self.steps)
            .field("in_flight", &self.in_flight.len())
            .field("scheduled", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> World<P> {
    /// A world at time zero with every node about to boot.
    pub fn new(protocol: P, config: WorldConfig) -> World<P> {
        World::from_shared(Rc::new(protocol), config)
    }

    /// Like [`World::new`], sharing a protocol value that is already behind an `Rc`.
    pub fn from_shared(protocol: Rc<P>, config: WorldConfig) -> World<P> {
        let n = protocol.node_count();
        let slots = (0..n)
            .map(|i| Slot {
                node: Some(protocol.new_node(NodeId(i as u32))),
                durable: None,
                conditions: Conditions::default(),
                busy_until: Time::ZERO,
                timers: Vec::new(),
                held: Vec::new(),
                inbox: VecDeque::new(),
                wake_scheduled: false,
                booted: false,
            })
            .collect();
        let mut hash = TraceHasher::new();
        protocol.name().encode(&mut hash);
        (n, config.seed, &config.network, config.processing).encode(&mut hash);
        let mut world = World {
            net_rng: SimRng::new(config.seed, Stream::Network),
            timer_rng: SimRng::new(config.seed, Stream::Timers),
            network: Network::new(n, config.network),
            protocol,
            config,
            now: Time::ZERO,
            steps: 0,
            seq: 0,
            next_msg: 0,
            next_generation: 0,
            queue: BinaryHeap::new(),
            in_flight: SortedMap::new(),
            slots,
            hash,
            record: StepRecord {
                step: 0,
                time: Time::ZERO,
                event: StepEvent::Input(Input::HealAll),
                node: None,
                out: Out::new(),
                sent: Vec::new(),
                timers_set: Vec::new(),
            },
        };
        for i in 0..n {
            world.schedule(Time::ZERO, Event::Start(NodeId(i as u32)));
        }
        world
    }

    // ----- reading the world -------------------------------------------------

    /// The protocol configuration.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// The world's settings.
    pub fn config(&self) -> &WorldConfig {
        &self.config
    }

    /// The current virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// How many nodes the world has.
    pub fn node_count(&self) -> usize {
        self.slots.len()
    }

    /// Every node id, in order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.slots.len() as u32).map(NodeId)
    }

    /// The node's state, or `None` while it is crashed.
    pub fn node(&self, id: NodeId) -> Option<&NodeOf<P>> {
        self.slots.get(id.index()).and_then(|s| s.node.as_ref())
    }

    /// The node's last persisted durable state.
    pub fn durable(&self, id: NodeId) -> Option<&<NodeOf<P> as Node>::Durable> {
        self.slots.get(id.index()).and_then(|s| s.durable.as_ref())
    }

    /// Health, slowdown and clock rate of a node.
    pub fn conditions(&self, id: NodeId) -> Conditions {
        self.slots[id.index()].conditions
    }

    /// The node's picture for the stage (`None` while crashed).
    pub fn scene(&self, id: NodeId) -> Option<NodeScene> {
        self.node(id).map(Node::scene)
    }

    /// When the node's `timer` will fire, if it is pending. The stage uses
    /// this for the election-timeout ring.
    pub fn timer_deadline(&self, id: NodeId, timer: &<NodeOf<P> as Node>::Timer) -> Option<Time> {
        self.slots[id.index()]
            .timers
            .iter()
            .find(|t| &t.timer == timer)
            .map(|t| t.fires)
    }

    /// When the node's `timer` was set and when it will fire, if it is
    /// pending: the stage draws the fraction elapsed as a countdown ring.
    pub fn timer_window(
        &self,
        id: NodeId,
        timer: &<NodeOf<P> as Node>::Timer,
    ) -> Option<(Time, Time)> {
        self.slots[id.index()]
            .timers
            .iter()
            .find(|t| &t.timer == timer)
            .map(|t| (t.set_at, t.fires))
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Every message copy on the network now, in send order. This is kept
    /// up to date step by step, so it costs nothing to ask every frame.
    pub fn in_flight(&self) -> impl Iterator<Item = &InFlight<MsgOf<P>>> {
        self.in_flight.values()
    }

    /// One in-flight message by id.
    pub fn message(&self, id: MsgId) -> Option<&InFlight<MsgOf<P>>> {
        self.in_flight.get(&id)
    }

    /// The time of the next scheduled event, if any.
    pub fn next_event_time(&self) -> Option<Time> {
        self.queue.peek().map(|s| s.time)
    }

    /// The trace hash of everything that has happened so far: equal for
    /// equal runs, natively and in wasm.
    pub fn trace_hash(&self) -> u64 {
        self.hash.finish()
    }

    /// Moves the clock forward to `t` without running anything. Used to replay
    /// an input at the exact time it was first applied; nothing may be
    /// scheduled before `t`.
    pub(crate) fn set_now(&mut self, t: Time) {
        debug_assert!(
            self.next_event_time().is_none_or(|next| next >= t),
            "set_now would skip events"
        );
        self.now = self.now.max(t);
    }

    /// The record of the last step taken.
    pub fn last_record(&self) -> Option<&StepRecord<NodeOf<P>>> {
        (self.steps > 0).then_some(&self.record)
    }

    // ----- running -----------------------------------------------------------

    /// Takes one step: the next event in (time, seq) order. `None` if nothing
    /// is scheduled.
    pub fn step(&mut self) -> Option<&StepRecord<NodeOf<P>>> {
        if self.step_within(Time::MAX) {
            Some(&self.record)
        } else {
            None
        }
    }

    /// Runs every event up to and including time `t`, then sets the clock to
    /// `t` (if it is later than now), taking at most `max_steps` steps. The
    /// bound keeps a livelock from freezing the caller.
    pub fn run_until(&mut self, t: Time, max_steps: u64) -> RunOutcome {
        let mut steps = 0;
        while steps < max_steps {
            if !self.step_within(t) {
                self.now = self.now.max(t);
                return RunOutcome {
                    steps,
                    reached: true,
                };
            }
            steps += 1;
        }
        let reached = self.next_event_time().is_none_or(|next| next > t);
        if reached {
            self.now = self.now.max(t);
        }
        RunOutcome { steps, reached }
    }

    /// Takes the next step if it happens at or before `limit`. Events that
    /// turn out not to be steps (a cancelled timer, an event held for a paused
    /// node, an event that joins a busy node's inbox, a wake-up of a node that
    /// is still busy) are handled on the way.
    pub(crate) fn step_within(&mut self, limit: Time) -> bool {
        loop {
            match self.queue.peek() {
                Some(s) if s.time <= limit => {}
                _ => return false,
            }
            let next = self.queue.pop().expect("peeked");
            debug_assert!(next.time >= self.now, "the scheduler went back in time");
            let expected = self.is_step(&next);
            self.now = next.time;
            let stepped = self.dispatch(next.event);
            debug_assert_eq!(stepped, expected, "is_step disagrees with dispatch");
            if stepped {
                return true;
            }
        }
    }

    /// Handles the events at or before `limit` that are not steps (a
    /// cancelled timer, an event held for a paused node or queued in a busy
    /// one's inbox), up to the first event that is a step.
    ///
    /// An input is applied only after this, so that the run does not depend
    /// on how the caller got to the input's moment: `run_until(t)` handles
    /// every such event up to `t` on its way, while stepping to the last
    /// step before `t` leaves them queued; a replay of the log must see the
    /// same queue as the original run when it applies the input.
    pub(crate) fn skip_non_steps(&mut self, limit: Time) {
        while let Some(next) = self.queue.peek() {
            if next.time > limit || self.is_step(next) {
                return;
            }
            let next = self.queue.pop().expect("peeked");
            self.now = self.now.max(next.time);
            let stepped = self.dispatch(next.event);
            debug_assert!(!stepped, "is_step disagrees with dispatch");
        }
    }

    /// Whether `dispatch` would take a step for this event, decided without
    /// changing anything. It must agree with `dispatch` exactly.
    fn is_step(&self, s: &Scheduled<<NodeOf<P> as Node>::Timer>) -> bool {
        match &s.event {
            Event::Start(node) => {
                let slot = &self.slots[node.index()];
                !slot.booted && slot.conditions.health == Health::Up
            }
            Event::Deliver(id) => {
                let msg = &self.in_flight[id];
                let slot = &self.slots[msg.to.index()];
                match (msg.fate, slot.conditions.health) {
                    (Fate::Lost(_), _) | (_, Health::Crashed) => true,
                    _ if self.network.is_cut(msg.from, msg.to) => true,
                    (_, Health::Paused) => false,
                    _ => !must_wait(slot, s.time),
                }
            }
            Event::Timer {
                node, generation, ..
            } => {
                let slot = &self.slots[node.index()];
                slot.timers.iter().any(|t| t.generation == *generation)
                    && slot.conditions.health == Health::Up
                    && !must_wait(slot, s.time)
            }
            Event::Wake(node) => {
                let slot = &self.slots[node.index()];
                slot.conditions.health == Health::Up
                    && slot.busy_until <= s.time
                    && slot.inbox.front().is_some_and(|e| match e {
                        Event::Start(_) => !slot.booted,
                        // Delivered, or lost if it was dropped by hand while it waited.
                        Event::Deliver(_) => true,
                        Event::Timer { generation, .. } => {
                            slot.timers.iter().any(|t| t.generation == *generation)
                        }
                        Event::Wake(_) => unreachable!("a wake-up never waits in an inbox"),
                    })
            }
        }
    }

    /// Handles one popped event; returns whether it was a step.
    fn dispatch(&mut self, event: Event<<NodeOf<P> as Node>::Timer>) -> bool {
        match event {
            Event::Start(node) => {
                if self.slots[node.index()].booted {
                    // Crashed and restarted before this boot event came up:
                    // the restart already started it.
                    return false;
                }
                match self.slots[node.index()].conditions.health {
                    // Crashed before it ever booted: it boots when restarted.
                    Health::Crashed => return false,
                    // Paused before it booted: it boots when resumed.
                    Health::Paused => {
                        self.slots[node.index()].held.push(Event::Start(node));
                        return false;
                    }
                    Health::Up => {}
                }
                self.boot(node);
                true
            }
            Event::Deliver(id) => {
                let Some(msg) = self.in_flight.get(&id) else {
                    unreachable!("a delivery for message {id} that is not in flight");
                };
                let to = msg.to;
                let slot = &mut self.slots[to.index()];
                let loss = match (msg.fate, slot.conditions.health) {
                    (Fate::Lost(reason), _) => Some(reason),
                    (_, Health::Crashed) => Some(LossReason::ReceiverDown),
                    _ if self.network.is_cut(msg.from, to) => Some(LossReason::LinkCut),
                    (_, Health::Paused) => {
                        slot.held.push(Event::Deliver(id));
                        return false;
                    }
                    _ => None,
                };
                if loss.is_none() && must_wait(slot, self.now) {
                    self.enqueue(to, Event::Deliver(id));
                    return false;
                }
                self.deliver(id, loss);
                true
            }
            Event::Timer {
                node,
                timer,
                generation,
            } => {
                let slot = &mut self.slots[node.index()];
                if !slot.timers.iter().any(|t| t.generation == generation) {
                    return false; // cancelled, replaced, or the node crashed since
                }
                let event = Event::Timer {
                    node,
                    timer,
                    generation,
                };
                match slot.conditions.health {
                    Health::Paused => {
                        slot.held.push(event);
                        return false;
                    }
                    Health::Crashed => unreachable!("a crashed node has no pending timers"),
                    Health::Up => {}
                }
                if must_wait(slot, self.now) {
                    self.enqueue(node, event);
                    return false;
                }
                let Event::Timer {
                    timer, generation, ..
                } = event
                else {
                    unreachable!()
                };
                self.fire(node, timer, generation)
            }
            Event::Wake(node) => {
                let now = self.now;
                let slot = &mut self.slots[node.index()];
                if slot.conditions.health != Health::Up || slot.inbox.is_empty() {
                    // Paused: resuming schedules a new wake-up. Crashed: the
                    // crash emptied the inbox.
                    slot.wake_scheduled = false;
                    return false;
                }
                if slot.busy_until > now {
                    // A request ran a handler since this wake-up was scheduled.
                    let at = slot.busy_until;
                    self.schedule(at, Event::Wake(node));
                    return false;
                }
                let event = slot.inbox.pop_front().expect("checked above");
                // The event has arrived already: no link cut or pause can lose
                // it now. It is handled as if it had just come in to an idle node.
                let stepped = match event {
                    Event::Start(_) => {
                        let booted = self.slots[node.index()].booted;
                        if !booted {
                            self.boot(node);
                        }
                        !booted
                    }
                    Event::Deliver(id) => {
                        let loss = match self.in_flight[&id].fate {
                            Fate::Lost(reason) => Some(reason),
                            Fate::Delivering => None,
                        };
                        self.deliver(id, loss);
                        true
                    }
                    Event::Timer {
                        timer, generation, ..
                    } => self.fire(node, timer, generation),
                    Event::Wake(_) => unreachable!("a wake-up never waits in an inbox"),
                };
                let slot = &mut self.slots[node.index()];
                if slot.inbox.is_empty() {
                    slot.wake_scheduled = false;
                } else {
                    let at = slot.busy_until.max(self.now);
                    self.schedule(at, Event::Wake(node));
                }
                stepped
            }
        }
    }

    /// Puts an event that arrived at a busy node (or behind others waiting
    /// there) at the back of its inbox, and makes sure the node will wake
    /// when it is free.
    fn enqueue(&mut self, node: NodeId, event: Event<<NodeOf<P> as Node>::Timer>) {
        let slot = &mut self.slots[node.index()];
        slot.inbox.push_back(event);
        self.wake_when_free(node);
    }

    /// Schedules the node's wake-up for when it is free, unless one is
    /// scheduled already.
    fn wake_when_free(&mut self, node: NodeId) {
        let slot = &mut self.slots[node.index()];
        if !slot.wake_scheduled {
            slot.wake_scheduled = true;
            let at = slot.busy_until.max(self.now);
            self.schedule(at, Event::Wake(node));
        }
    }

    /// Boots a node that is up and has not booted yet, as a step.
    fn boot(&mut self, node: NodeId) {
        self.slots[node.index()].booted = true;
        self.begin_step(StepEvent::Start(node), Some(node));
        self.run_handler(node, |n, out, durable| n.on_start(durable, out));
        self.finish_step();
    }

    /// Takes message `id` out of flight as a step: lost for `loss`, or
    /// delivered to its receiver, which is up and free.
    fn deliver(&mut self, id: MsgId, loss: Option<LossReason>) {
        let msg = self.in_flight.remove(&id).expect("a message in flight");
        match loss {
            Some(reason) => {
                self.begin_step(StepEvent::Lost(msg, reason), None);
            }
            None => {
                let (from, to) = (msg.from, msg.to);
                self.begin_step(StepEvent::Deliver(msg), Some(to));
                // The message lives in the record while the handler runs.
                let StepEvent::Deliver(m) =
                    std::mem::replace(&mut self.record.event, StepEvent::Input(Input::HealAll))
                else {
                    unreachable!()
                };
                self.run_handler(to, |n, out, _| n.on_message(from, &m.msg, out));
                self.record.event = StepEvent::Deliver(m);
            }
        }
        self.finish_step();
    }

    /// Fires the node's timer if this generation of it is still pending (the
    /// node is up and free); returns whether it fired, which is a step.
    fn fire(&mut self, node: NodeId, timer: <NodeOf<P> as Node>::Timer, generation: u64) -> bool {
        let slot = &mut self.slots[node.index()];
        let Some(pos) = slot.timers.iter().position(|t| t.generation == generation) else {
            return false; // cancelled or replaced while it waited
        };
        slot.timers.remove(pos);
        self.begin_step(
            StepEvent::Timer {
                node,
                timer: timer.clone(),
            },
            Some(node),
        );
        self.run_handler(node, |n, out, _| n.on_timer(&timer, out));
        self.finish_step();
        true
    }

    /// Applies an input now, as a step of its own. Invalid inputs are refused
    /// with a readable reason and change nothing.
    pub fn apply(
        &mut self,
        input: Input<<NodeOf<P> as Node>::Op>,
    ) -> Result<&StepRecord<NodeOf<P>>, InputError> {
        self.validate(&input)?;
        self.skip_non_steps(self.now);
        let node = input.node();
        self.begin_step(StepEvent::Input(input.clone()), None);
        match input {
            Input::Crash(n) => self.crash(n),
            Input::Restart(n) => {
                let slot = &mut self.slots[n.index()];
                slot.node = Some(self.protocol.new_node(n));
                slot.booted = true;
                slot.conditions.health = Health::Up;
                slot.busy_until = self.now;
                self.record.node = node;
                self.run_handler(n, |nd, out, durable| nd.on_start(durable, out));
            }
            Input::Pause(n) => self.slots[n.index()].conditions.health = Health::Paused,
            Input::Resume(n) => {
                let slot = &mut self.slots[n.index()];
                slot.conditions.health = Health::Up;
                slot.busy_until = slot.busy_until.max(self.now);
                // What came in while the node was paused has arrived: it
                // waits its turn behind what was waiting already, and a link
                // cut since cannot lose it.
                let held = std::mem::take(&mut slot.held);
                slot.inbox.extend(held);
                if !slot.inbox.is_empty() {
                    self.wake_when_free(n);
                }
            }
            Input::Slow { node, factor } => self.slots[node.index()].conditions.slowdown = factor,
            Input::Skew { node, rate } => self.slots[node.index()].conditions.clock_rate = rate,
            Input::Cut { from, to } => self.network.link_mut(from, to).cut = true,
            Input::Heal { from, to } => self.network.link_mut(from, to).cut = false,
            Input::Isolate { node, direction } => {
                for other in 0..self.slots.len() as u32 {
                    let other = NodeId(other);
                    if other == node {
                        continue;
                    }
                    if matches!(direction, Direction::Both | Direction::Inbound) {
                        self.network.link_mut(other, node).cut = true;
                    }
                    if matches!(direction, Direction::Both | Direction::Outbound) {
                        self.network.link_mut(node, other).cut = true;
                    }
                }
            }
            Input::Partition { groups, kind } => {
                for (i, a) in groups.iter().enumerate() {
                    for (j, b) in groups.iter().enumerate() {
                        let cut = match kind {
                            PartitionKind::Symmetric => i != j,
                            PartitionKind::OneWay => i < j,
                        };
                        if cut {
                            for &x in a {
                                for &y in b {
                                    self.network.link_mut(x, y).cut = true;
                                }
                            }
                        }
                    }
                }
            }
            Input::HealAll => self.network.heal_all(),
            Input::DropMessage(id) => {
                self.in_flight.get_mut(&id).expect("validated").fate =
                    Fate::Lost(LossReason::DroppedByUser);
            }
            Input::Request { node, op } => {
                self.record.node = Some(node);
                self.run_handler(node, |n, out, _| n.on_op(&op, out));
            }
            Input::SetNetwork(params) => self.network.set_defaults(params),
            Input::SetLink { from, to, params } => self.network.link_mut(from, to).params = params,
            // The checkers act on it (see `Input::Drain`).
            Input::Drain => {}
        }
        self.finish_step();
        Ok(&self.record)
    }

    fn validate(&self, input: &Input<<NodeOf<P> as Node>::Op>) -> Result<(), InputError> {
        let count = self.slots.len();
        let known = |n: NodeId| {
            if n.index() < count {
                Ok(())
            } else {
                Err(InputError::UnknownNode(n, count))
            }
        };
        let health = |n: NodeId, action: &'static str, ok: &[Health]| {
            known(n)?;
            let h = self.slots[n.index()].conditions.health;
            if ok.contains(&h) {
                Ok(())
            } else {
                Err(InputError::WrongHealth {
                    node: n,
                    action,
                    health: h,
                })
            }
        };
        let link = |from: NodeId, to: NodeId| {
            known(from)?;
            known(to)?;
            if from == to {
                Err(InputError::SelfLink(from))
            } else {
                Ok(())
            }
        };
        match input {
            Input::Crash(n) => health(*n, "crash", &[Health::Up, Health::Paused]),
            Input::Restart(n) => health(*n, "restart", &[Health::Crashed]),
            Input::Pause(n) => health(*n, "pause", &[Health::Up]),
            Input::Resume(n) => health(*n, "resume", &[Health::Paused]),
            Input::Slow { node, factor } => {
                known(*node)?;
                if !(Permille(1)..=Permille(1_000_000)).contains(factor) {
                    return Err(InputError::BadParameter(format!(
                        "a slowdown must be between 0.001x and 1000x, not {factor}"
                    )));
                }
                Ok(())
            }
            Input::Skew { node, rate } => {
                known(*node)?;
                if !(Permille(10)..=Permille(100_000)).contains(rate) {
                    return Err(InputError::BadParameter(format!(
                        "a clock rate must be between 0.01x and 100x, not {rate}"
                    )));
                }
                Ok(())
            }
            Input::Cut { from, to } | Input::Heal { from, to } => link(*from, *to),
            Input::Isolate { node, .. } => known(*node),
            Input::Partition { groups, .. } => {
                let mut seen = vec![false; count];
                let mut non_empty = 0;
                for g in groups {
                    for &n in g {
                        known(n)?;
                        if std::mem::replace(&mut seen[n.index()], true) {
                            return Err(InputError::OverlappingGroups(n));
                        }
                    }
                    non_empty += usize::from(!g.is_empty());
                }
                if non_empty < 2 {
                    return Err(InputError::TooFewGroups);
                }
                Ok(())
            }
            Input::HealAll | Input::Drain => Ok(()),
            Input::DropMessage(id) => match self.in_flight.get(id) {
                Some(m) if m.fate == Fate::Delivering => Ok(()),
                _ => Err(InputError::NoSuchMessage(*id)),
            },
            Input::Request { node, .. } => health(*node, "send a request to", &[Health::Up]),
            Input::SetNetwork(params) => params.validate(),
            Input::SetLink { from, to, params } => {
                link(*from, *to)?;
                params.as_ref().map_or(Ok(()), LinkParams::validate)
            }
        }
    }

    fn crash(&mut self, n: NodeId) {
        let slot = &mut self.slots[n.index()];
        slot.node = None;
        slot.conditions.health = Health::Crashed;
        slot.timers.clear();
        slot.busy_until = self.now;
        // Messages that waited at the node (in its inbox, or held while it
        // was paused) are lost now; they show up as "receiver down" steps
        // right away, even if the node restarts at this same moment. Waiting
        // timers and a waiting boot die with the node. A scheduled wake-up
        // stays scheduled and finds the inbox empty.
        let waiting: Vec<_> = std::mem::take(&mut slot.inbox)
            .into_iter()
            .chain(std::mem::take(&mut slot.held))
            .collect();
        for e in waiting {
            if let Event::Deliver(id) = e {
                let msg = self
                    .in_flight
                    .get_mut(&id)
                    .expect("a waiting message is in flight");
                if msg.fate == Fate::Delivering {
                    msg.fate = Fate::Lost(LossReason::ReceiverDown);
                }
                self.schedule(self.now, Event::Deliver(id));
            }
        }
    }

    // ----- step bookkeeping ----------------------------------------------------

    fn schedule(&mut self, time: Time, event: Event<<NodeOf<P> as Node>::Timer>) {
        self.seq += 1;
        self.queue.push(Scheduled {
            time,
            seq: self.seq,
            event,
        });
    }

    fn begin_step(&mut self, event: StepEvent<NodeOf<P>>, node: Option<NodeId>) {
        let r = &mut self.record;
        r.step = self.steps;
        r.time = self.now;
        r.event = event;
        r.node = node;
        r.out.clear();
        r.sent.clear();
        r.timers_set.clear();
    }

    /// Runs a handler on an up node and carries out its effects.
    fn run_handler(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut NodeOf<P>, &mut Out<NodeOf<P>>, Option<&<NodeOf<P> as Node>::Durable>),
    ) {
        let slot = &mut self.slots[id.index()];
        let node = slot
            .node
            .as_mut()
            .expect("handlers run only on nodes that are up");
        f(node, &mut self.record.out, slot.durable.as_ref());
        self.carry_out(id);
    }

    /// Carries out the effects in `self.record.out` for node `id`.
    fn carry_out(&mut self, id: NodeId) {
        let slot = &mut self.slots[id.index()];
        let cond = slot.conditions;
        let work = self
            .config
            .processing
            .scale(u64::from(cond.slowdown.0), 1_000);
        let depart = self.now + work;
        slot.busy_until = depart;

        if let Some(d) = &self.record.out.persisted {
            slot.durable = Some(d.clone());
        }

        for cmd in &self.record.out.timers {
            match cmd {
                TimerCmd::Set { timer, min, max } => {
                    let local = self.timer_rng.duration(*min, *max);
                    // A fast clock (rate > 1x) reaches the deadline sooner in true time.
                    let real = local.scale(1_000, u64::from(cond.clock_rate.0));
                    let fires = self.now + real;
                    self.next_generation += 1;
                    let generation = self.next_generation;
                    match slot.timers.iter_mut().find(|t| &t.timer == timer) {
                        Some(t) => {
                            t.set_at = self.now;
                            t.fires = fires;
                            t.generation = generation;
                        }
                        None => slot.timers.push(PendingTimer {
                            timer: timer.clone(),
                            set_at: self.now,
                            fires,
                            generation,
                        }),
                    }
                    self.record.timers_set.push((timer.clone(), fires));
                    self.seq += 1;
                    self.queue.push(Scheduled {
                        time: fires,
                        seq: self.seq,
                        event: Event::Timer {
                            node: id,
                            timer: timer.clone(),
                            generation,
                        },
                    });
                }
                TimerCmd::Cancel(timer) => slot.timers.retain(|t| &t.timer != timer),
            }
        }

        for (to, msg) in &self.record.out.sends {
            let to = *to;
            assert!(
                to.index() < self.slots.len(),
                "{id} sent a message to {to}, which does not exist"
            );
            let params = *self.network.params(id, to);
            let copies = if self.network.is_cut(id, to) {
                1
            } else {
                1 + u32::from(self.net_rng.chance(params.duplicate))
            };
            let mut original = None;
            for _ in 0..copies {
                let fate = if self.network.is_cut(id, to) {
                    Fate::Lost(LossReason::LinkCut)
                } else if self.net_rng.chance(params.drop) {
                    Fate::Lost(LossReason::Dropped)
                } else {
                    Fate::Delivering
                };
                let mut delay = params.latency.sample(&mut self.net_rng);
                if self.net_rng.chance(params.delay_spike) {
                    delay = delay + self.net_rng.duration(params.spike_min, params.spike_max);
                }
                let arrives = depart + delay;
                self.next_msg += 1;
                let msg_id = MsgId(self.next_msg);
                self.in_flight.insert(
                    msg_id,
                    InFlight {
                        id: msg_id,
                        from: id,
                        to,
                        sent: depart,
                        arrives,
                        fate,
                        duplicate_of: original,
                        msg: msg.clone(),
                    },
                );
                self.record.sent.push(Sent {
                    id: msg_id,
                    to,
                    arrives,
                    fate,
                    duplicate_of: original,
                });
                self.seq += 1;
                self.queue.push(Scheduled {
                    time: arrives,
                    seq: self.seq,
                    event: Event::Deliver(msg_id),
                });
                original.get_or_insert(msg_id);
            }
        }
    }

    fn finish_step(&mut self) {
        let h = &mut self.hash;
        let r = &self.record;
        (r.step, r.time).encode(h);
        match &r.event {
            StepEvent::Deliver(m) => (1u8, m.id, m.from, m.to, &m.msg).encode(h),
            StepEvent::Lost(m, reason) => (2u8, m.id, *reason as u8).encode(h),
            StepEvent::Timer { node, timer } => (3u8, node, timer).encode(h),
            StepEvent::Input(i) => (4u8, i).encode(h),
            StepEvent::Start(node) => (5u8, node).encode(h),
        }
        r.node.map(|n| n.0).encode(h);
        for s in &r.sent {
            let fate = match s.fate {
                Fate::Delivering => 0u8,
                Fate::Lost(reason) => 1 + reason as u8,
            };
            (s.id, s.to, s.arrives, fate, s.duplicate_of).encode(h);
        }
        for (_, msg) in &r.out.sends {
            msg.encode(h);
        }
        for (timer, fires) in &r.timers_set {
            (timer, fires).encode(h);
        }
        // The persisted state is not hashed: it is a function of what is
        // hashed above, and encoding a long Raft log on every step would make
        // the hash cost grow with the run.
        r.out.persisted.is_some().encode(h);
        self.steps += 1;
    }
}

/// Whether an event arriving at time `t` must wait in the node's inbox: the
/// node is busy, or earlier arrivals are waiting and nothing jumps the queue.
fn must_wait<N: Node>(slot: &Slot<N>, t: Time) -> bool {
    slot.busy_until > t || !slot.inbox.is_empty()
}

/// Clock-rate helper shared with the UI: how long a local duration takes in
/// true time on a node whose clock runs at `rate`.
pub fn true_duration(local: Duration, rate: Permille) -> Duration {
    local.scale(1_000, u64::from(rate.0))
}
