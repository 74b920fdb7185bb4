//! The benchmark workload, shared by the native benchmark and the wasm probe.

use std::rc::Rc;

use sim::sweep::{run_seed, Sweepable};
use sim::testkit::broadcast::Broadcast;
use sim::{Direction, Duration, Input, LinkParams, Ppm, Protocol, Sim, Time, World, WorldConfig};

/// The 5-node benchmark world: reliable broadcast of 16 values over a lossy,
/// duplicating network, with n5 isolated one way (it hears everything but
/// nothing it sends arrives). The other four retransmit to n5 forever, so the
/// run has a steady mix of deliveries, handler calls, sends, timers and
/// losses for as long as it is run, with bounded node state.
pub fn bench_world(seed: u64) -> World<Broadcast> {
    let mut config = WorldConfig::with_seed(seed);
    config.network = LinkParams {
        drop: Ppm::percent(5),
        duplicate: Ppm::percent(5),
        ..LinkParams::default()
    };
    let mut world = World::new(Broadcast::new(5), config);
    world
        .apply(Input::Isolate {
            node: sim::NodeId(4),
            direction: Direction::Outbound,
        })
        .expect("n5 exists");
    for v in 0..16u64 {
        let at = Time(v * 1_000);
        world.run_until(at, u64::MAX);
        let node = sim::NodeId((v % 4) as u32);
        world
            .apply(Input::Request { node, op: v })
            .expect("the servers are up");
    }
    world
}

/// Takes `steps` steps of the benchmark world without checkers; returns the
/// steps taken and the trace hash.
pub fn run_engine(steps: u64) -> (u64, u64) {
    let mut world = bench_world(1);
    let mut taken = 0;
    while taken < steps && world.step().is_some() {
        taken += 1;
    }
    (taken, world.trace_hash())
}

/// The benchmark world inside a [`Sim`] (checkers and checkpoints) after
/// `steps` steps, for seek latency and memory.
pub fn bench_sim(steps: u64) -> Sim<Broadcast> {
    let world = bench_world(1);
    let checkers = world.protocol().checkers();
    let mut sim = Sim::new(world, checkers);
    let mut left = steps;
    while left > 0 {
        let n = sim.run_until(Time::MAX, left).steps;
        if n == 0 {
            break;
        }
        left -= n;
    }
    sim
}

/// The trace hash of one sweep seed of broadcast with `servers` servers:
/// the generated faults and load, both phases. Native and wasm must agree.
pub fn sweep_hash(seed: u64, servers: usize) -> u64 {
    let protocol = Rc::new(Broadcast::for_sweep(servers, None).expect("a valid size"));
    run_seed(&protocol, seed).trace_hash
}

/// How long the benchmark world's time unit is, for callers that want to
/// seek to times.
pub fn bench_unit() -> Duration {
    Broadcast::new(5).time_unit()
}

/// The protocol's name, for reports.
pub fn bench_protocol() -> &'static str {
    Broadcast::new(5).name()
}

/// One sentence describing the benchmark workload, for reports.
pub const DESCRIPTION: &str = "broadcast, 5 nodes, 16 values, 5% drop and 5% duplicate, \
n5 isolated one way so the others retransmit to it forever";
