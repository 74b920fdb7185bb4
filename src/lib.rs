//! The parts of the Clusterscope app that are plain logic: share links and
//! stage geometry. They build and test natively (`cargo test -p
//! clusterscope`); the Yew components in the binary use them.

pub mod layout;
pub mod number;
pub mod share;
