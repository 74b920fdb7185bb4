//! The Clusterscope engine (in progress).
#![warn(missing_docs)]

pub mod checker;
pub mod encode;
pub mod facade;
pub mod ids;
pub mod input;
pub mod network;
pub mod node;
pub mod rng;
pub mod sim;
pub mod sweep;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod time;
pub mod trace;
pub mod world;

pub use checker::{Checker, Checkers, Report, Rule, Violation};
pub use encode::{Encode, TraceHasher};
pub use facade::{
    ActionError, AnySim, Interactive, Mark, MessageView, NodeInfo, Run, StepSummary, Timeline,
};
pub use ids::{MsgId, NodeId};
pub use input::{Input, InputRecord};
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
