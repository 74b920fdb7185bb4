//! Protocol-specific widgets: the only places the app names a protocol's
//! own types. Everything else is drawn from `sim::AnySim`.

pub mod paxos;
pub mod pubsub;
pub mod raft;

use sim::{AnySim, NodeId};
use yew::prelude::*;

/// One cell of the compact strip drawn under a node: a Raft log entry, a
/// Paxos slot, a partition offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// Short text in the cell (a term, a ballot).
    pub text: String,
    /// How it is coloured: `applied`, `committed`, `pending`, `more`.
    pub tone: &'static str,
    /// What it is, for the tooltip.
    pub title: String,
}

/// The strip under node `id`, if its protocol draws one.
pub fn strip(run: &dyn AnySim, id: NodeId) -> Option<Vec<Cell>> {
    raft::strip(run, id)
        .or_else(|| paxos::strip(run, id))
        .or_else(|| pubsub::strip(run, id))
}

/// The protocol's own inspector widget for node `id`.
pub fn detail(run: &dyn AnySim, id: NodeId) -> Html {
    raft::detail(run, id)
        .or_else(|| paxos::detail(run, id))
        .or_else(|| pubsub::detail(run, id))
        .unwrap_or_default()
}
