//! Seed sweeps: swarm testing of a protocol under generated faults, after
//! TigerBeetle's VOPR.
//!
//! Each seed first draws its own fault parameters (how lossy, how slow, which
//! kinds of partition, how often nodes crash), then rolls a schedule of
//! faults and client load from them. A seed has two phases. In the *safety
//! phase* faults are on and every checker runs after every step. In the
//! *liveness phase* a random majority of servers is healed and its faults
//! stop; the protocol must then converge (agree, and apply every
//! acknowledged operation) within a bound of a few tens of its time units.

use crate::checker::Checkers;
use crate::ids::NodeId;
use crate::rng::SimRng;
use crate::time::Duration;
use crate::world::{OpOf, Protocol, World};

/// A protocol that seed sweeps can drive. Each protocol implements this once;
/// the sweep runner and `cargo xtask sweep` do the rest.
pub trait Sweepable: Protocol + Sized {
    /// The teaching toggles this protocol has, by name (for `--toggle`).
    fn toggles() -> &'static [&'static str];

    /// The protocol with `servers` servers (and however many clients it
    /// wants), correct, or with the named teaching toggle switched on.
    /// An unknown toggle or an impossible size is an error with a sentence.
    fn for_sweep(servers: usize, toggle: Option<&str>) -> Result<Self, String>;

    /// The servers, which faults aim at and the majority is drawn from.
    fn servers(&self) -> Vec<NodeId>;

    /// The clients, which receive the workload's operations.
    fn clients(&self) -> Vec<NodeId>;

    /// The protocol's natural time unit, such as the longest election
    /// timeout. Fault durations and the liveness bound scale with it.
    fn time_unit(&self) -> Duration;

    /// Fresh checkers for one run.
    fn checkers(&self) -> Checkers<Self>;

    /// The `n`th operation of the workload (`n` is unique within a run).
    fn workload_op(&self, n: u64, rng: &mut SimRng) -> OpOf<Self>;

    /// Liveness after healing: `Ok` once the healed servers have converged,
    /// `Err` with the reason while they have not. The sweep polls this and
    /// fails the seed if it is still `Err` at the bound.
    fn converged(&self, world: &World<Self>, healed: &[NodeId]) -> Result<(), String>;
}
