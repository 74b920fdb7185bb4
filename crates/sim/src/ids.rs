//! Newtype identifiers, so a node id can never be mistaken for a message id.

use std::fmt;

/// A node of the simulated cluster: a server or a client. Ids are dense,
/// `0..node_count`, which lets the world keep per-node state in vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-node vectors.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Node ids are shown as `n1`, `n2`, ... (one-based) to people, because
/// "node 0" reads like "no node".
impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0 + 1)
    }
}

/// One message copy on the network. Each copy, including a duplicate, has its
/// own id; ids increase in send order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgId(pub u64);

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}
