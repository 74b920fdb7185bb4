//! The protocols that run on the engine in `crates/sim`: Raft, Paxos and a
//! pub/sub queue, each a sans-IO state machine with its own checker.
//!
//! Nothing is here yet; each protocol arrives in its own module.
