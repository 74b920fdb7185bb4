//! Protocol-specific widgets: the only places the app names a protocol's
//! own types. Everything else is drawn from `sim::AnySim`.

#[cfg(feature = "paxos")]
pub mod paxos;
#[cfg(feature = "pubsub")]
pub mod pubsub;
#[cfg(feature = "raft")]
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

/// A protocol's widget for node `id`: `None` if the node is not of its
/// protocol.
type Widget<T> = fn(&dyn AnySim, NodeId) -> Option<T>;

/// The strip under node `id`, if its protocol draws one.
pub fn strip(run: &dyn AnySim, id: NodeId) -> Option<Vec<Cell>> {
    let widgets: &[Widget<Vec<Cell>>] = &[
        #[cfg(feature = "raft")]
        raft::strip,
        #[cfg(feature = "paxos")]
        paxos::strip,
        #[cfg(feature = "pubsub")]
        pubsub::strip,
    ];
    widgets.iter().find_map(|w| w(run, id))
}

/// The protocol's own inspector widget for node `id`.
pub fn detail(run: &dyn AnySim, id: NodeId) -> Html {
    let widgets: &[Widget<Html>] = &[
        #[cfg(feature = "raft")]
        raft::detail,
        #[cfg(feature = "paxos")]
        paxos::detail,
        #[cfg(feature = "pubsub")]
        pubsub::detail,
    ];
    widgets.iter().find_map(|w| w(run, id)).unwrap_or_default()
}
