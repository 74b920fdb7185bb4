//! A first end-to-end run of the engine with the test protocol.

use sim::testkit::broadcast::{Broadcast, BroadcastChecker};
use sim::{Checkers, Input, NodeId, Sim, Time, World, WorldConfig};

fn sim(seed: u64) -> Sim<Broadcast> {
    let world = World::new(Broadcast::new(3), WorldConfig::with_seed(seed));
    Sim::new(
        world,
        Checkers::new(vec![Box::new(BroadcastChecker::default())]),
    )
}

#[test]
fn a_broadcast_reaches_every_server() {
    let mut s = sim(1);
    s.run_until(Time(1_000), 100);
    s.apply(Input::Request {
        node: NodeId(0),
        op: 7,
    })
    .unwrap();
    s.run_until(Time(500_000), 10_000);
    for id in s.world().node_ids() {
        assert!(
            s.world().node(id).unwrap().delivered().contains(&7),
            "{id} missed v7"
        );
    }
    assert!(s.violations().is_empty(), "{:?}", s.violations());
}
