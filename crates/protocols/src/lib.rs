//! The protocols that run on the engine in `crates/sim`: Raft, Paxos and a
//! pub/sub queue, each a sans-IO state machine with its own checker, and the
//! scenario-script runner they share.

pub mod kv;
pub mod linearizability;
pub mod paxos;
pub mod pubsub;
pub mod raft;
pub mod script;
