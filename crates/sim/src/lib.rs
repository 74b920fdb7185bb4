//! Clusterscope's engine: a deterministic, sans-IO simulator of a cluster on
//! a faulty network, with time travel and safety checkers.
//!
//! # How a run works
//!
//! A [`Protocol`] is a configuration and a factory of nodes. A [`Node`] is a
//! pure state machine with four handlers: start (given the durable state it
//! persisted before a crash, if any), message, timer and client operation.
//! Handlers never perform effects; they describe them in an [`Out`]: send a
//! message, set a timer with a duration *range*, cancel a timer, persist
//! durable state, write a note for people, record a milestone or an
//! observation for checkers. Nodes hold no clock and no random generator, so
//! they cannot make a run irreproducible by accident.
//!
//! The [`World`] carries the effects out. It owns the nodes, the [`Network`]
//! (state per *directed* link: cut or not, latency, drop, duplicate and
//! delay-spike rates) and the per-node [`Conditions`] (up, crashed or paused;
//! a slowdown factor; a clock rate). A scheduler orders every event by
//! (virtual time, sequence number), so the order is total. Time is an integer
//! number of microseconds ([`Time`], [`Duration`]); probabilities are parts
//! per million ([`Ppm`]) and ratios thousandths ([`Permille`]): no floats.
//! Every random number comes from one master seed through a separate ChaCha8
//! stream per subsystem ([`SimRng`], [`Stream`]).
//!
//! Everything done to a run from outside is an [`Input`]: crash, restart,
//! pause, resume, slow, skew, cut, heal, isolate, partition, heal all, drop a
//! message, a client request, a network setting. An input is applied at the
//! current moment as a step of its own; an invalid one is refused with an
//! [`InputError`] that reads as a sentence, and changes nothing. A run is
//! therefore a pure function of (protocol, [`WorldConfig`], seed, input log).
//!
//! Each step yields a [`StepRecord`]: its time, its event (a delivery, a
//! loss with its [`LossReason`], a timer, an input), the handler's effects and
//! what the network decided for every message sent. The world folds each
//! record into a trace hash over a canonical encoding ([`Encode`]), which is
//! the same natively and in wasm. [`World::in_flight`] lists the messages on
//! the wire with their send and arrival times, for the animation.
//!
//! A [`Sim`] wraps a world with its input log, its [`Checkers`] and
//! checkpoints. It steps forward ([`Sim::step`], [`Sim::run_until`],
//! [`Sim::run_to_milestone`]) and back ([`Sim::step_back`],
//! [`Sim::seek_step`], [`Sim::seek_time`]): going back restores the nearest
//! earlier checkpoint and replays the log. Applying an input while in the past
//! forks the timeline: the later inputs are dropped and the returned [`Fork`]
//! says how many. A [`Checker`] sees every step record, keeps its own history
//! and reports each broken rule as a [`Violation`].
//!
//! # A complete small run
//!
//! Two nodes: n1 pings n2 every 100 ms, n2 answers, and n1 counts the answers
//! in durable state.
//!
//! ```
//! use sim::{
//!     impl_encode, Checkers, Duration, Encode, Input, LossReason, Message, Node, NodeId,
//!     NodeKind, NodeScene, Out, Protocol, Sim, StepEvent, Time, TraceHasher, World,
//!     WorldConfig,
//! };
//!
//! #[derive(Clone, Debug)]
//! enum Msg {
//!     Ping(u64),
//!     Pong(u64),
//! }
//!
//! // The trace hash needs a canonical encoding: a tag, then the fields.
//! impl Encode for Msg {
//!     fn encode(&self, h: &mut TraceHasher) {
//!         match self {
//!             Msg::Ping(n) => (1u8, n).encode(h),
//!             Msg::Pong(n) => (2u8, n).encode(h),
//!         }
//!     }
//! }
//!
//! impl Message for Msg {
//!     fn kind(&self) -> &'static str {
//!         match self {
//!             Msg::Ping(_) => "Ping",
//!             Msg::Pong(_) => "Pong",
//!         }
//!     }
//!     fn label(&self) -> String {
//!         match self {
//!             Msg::Ping(n) | Msg::Pong(n) => format!("#{n}"),
//!         }
//!     }
//! }
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
//! enum Timer {
//!     Tick,
//! }
//! impl_encode!(enum Timer);
//!
//! #[derive(Clone, Debug)]
//! struct Pinger {
//!     id: NodeId,
//!     /// Volatile: lost in a crash.
//!     sent: u64,
//!     /// Durable: persisted after every change.
//!     answered: u64,
//! }
//!
//! const EVERY: Duration = Duration::from_ms(100);
//!
//! impl Node for Pinger {
//!     type Msg = Msg;
//!     type Timer = Timer;
//!     type Durable = u64;
//!     type Op = ();
//!     type Obs = ();
//!
//!     fn on_start(&mut self, durable: Option<&u64>, out: &mut Out<Self>) {
//!         self.answered = durable.copied().unwrap_or(0);
//!         if self.id == NodeId(0) {
//!             out.set_timer(Timer::Tick, EVERY, EVERY);
//!         }
//!     }
//!     fn on_message(&mut self, from: NodeId, msg: &Msg, out: &mut Out<Self>) {
//!         match *msg {
//!             Msg::Ping(n) => out.send(from, Msg::Pong(n)),
//!             Msg::Pong(n) => {
//!                 self.answered += 1;
//!                 out.persist(self.answered);
//!                 out.note(format!("pong {n} is back"));
//!             }
//!         }
//!     }
//!     fn on_timer(&mut self, _timer: &Timer, out: &mut Out<Self>) {
//!         self.sent += 1;
//!         out.send(NodeId(1), Msg::Ping(self.sent));
//!         out.set_timer(Timer::Tick, EVERY, EVERY);
//!     }
//!     fn on_op(&mut self, _op: &(), _out: &mut Out<Self>) {}
//!     fn scene(&self) -> NodeScene {
//!         NodeScene::new(NodeKind::Server, "", self.id.to_string())
//!     }
//! }
//!
//! struct PingPong;
//!
//! impl Protocol for PingPong {
//!     type Node = Pinger;
//!     fn name(&self) -> &'static str {
//!         "ping-pong"
//!     }
//!     fn node_count(&self) -> usize {
//!         2
//!     }
//!     fn new_node(&self, id: NodeId) -> Pinger {
//!         Pinger { id, sent: 0, answered: 0 }
//!     }
//! }
//!
//! let world = World::new(PingPong, WorldConfig::with_seed(42));
//! let mut sim = Sim::new(world, Checkers::default());
//! let n1 = NodeId(0);
//!
//! // One second: ten pings (at 100, 200, ... 1000 ms). The default network
//! // takes 10 to 30 ms each way, so the last pong is still on its way.
//! let outcome = sim.run_until(Time(1_000_000), 10_000);
//! assert!(outcome.reached);
//! assert_eq!(sim.world().node(n1).unwrap().sent, 10);
//! assert_eq!(sim.world().node(n1).unwrap().answered, 9);
//! assert_eq!(sim.world().in_flight().count(), 1);
//!
//! // A crash keeps only what was persisted.
//! sim.apply(Input::Crash(n1)).unwrap();
//! sim.apply(Input::Restart(n1)).unwrap();
//! assert_eq!(sim.world().node(n1).unwrap().answered, 9);
//! assert_eq!(sim.world().node(n1).unwrap().sent, 0);
//!
//! // Time travel: go back half a second and forward again; the run is the
//! // same, down to its hash.
//! let (hash, steps) = (sim.world().trace_hash(), sim.world().steps());
//! sim.seek_time(Time(500_000));
//! assert_eq!(sim.world().node(n1).unwrap().answered, 4);
//! sim.seek_step(steps);
//! assert_eq!(sim.world().trace_hash(), hash);
//!
//! // Acting in the past forks: cut n2 -> n1 at 500 ms. The crash and restart
//! // logged later are dropped, and no pong comes back any more.
//! sim.seek_time(Time(500_000));
//! let fork = sim.apply(Input::Cut { from: NodeId(1), to: n1 }).unwrap();
//! assert_eq!(fork.map(|f| f.dropped_inputs), Some(2));
//! let mut lost = 0;
//! sim.run_until_observed(Time(1_000_000), 10_000, &mut |record, _world| {
//!     if let StepEvent::Lost(_, LossReason::LinkCut) = record.event {
//!         lost += 1;
//!     }
//! });
//! assert_eq!(lost, 5);
//! assert_eq!(sim.world().node(n1).unwrap().answered, 4);
//! assert!(sim.world().node(n1).is_some(), "no crash in this timeline");
//!
//! // Every step reads as a line of the event log.
//! let record = sim.step().unwrap();
//! assert_eq!(record.headline(), "n2 <- n1 Ping #10");
//! ```
//!
//! The engine's own test protocol, reliable broadcast with a checker
//! (`testkit::broadcast`), is compiled for tests and with the `testkit`
//! feature; the app never ships it.
#![warn(missing_docs)]

pub mod checker;
pub mod encode;
pub mod facade;
pub mod ids;
pub mod input;
pub mod liveness;
pub mod network;
pub mod node;
pub mod rng;
pub mod sim;
pub mod sorted;
pub mod sweep;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod time;
pub mod trace;
pub mod world;

pub use checker::{Checker, Checkers, Report, Rule, Undecided, Violation};
pub use encode::{Encode, TraceHasher};
pub use facade::{
    ActionError, AnySim, Interactive, Mark, MessageView, NodeInfo, Run, StepSummary, Timeline,
};
pub use ids::{MsgId, NodeId};
pub use input::{Input, InputRecord};
pub use liveness::{ending_every_fault, DrainState, Liveness, LivenessState, LivenessStatus};
pub use network::{
    Conditions, Direction, Health, InputError, Latency, Link, LinkParams, Network, PartitionKind,
    Tail,
};
pub use node::{
    Badge, DetailRow, Durability, Message, Milestone, Node, NodeKind, NodeScene, Out, TimerCmd,
};
pub use rng::{SimRng, Stream};
pub use sim::{Fork, Sim, StepObserver};
pub use sweep::Sweepable;
pub use time::{Duration, Permille, Ppm, Time};
pub use trace::{Fate, InFlight, LossReason, Sent, StepEvent, StepRecord};
pub use world::{MsgOf, NodeOf, OpOf, Protocol, RunOutcome, World, WorldConfig};
