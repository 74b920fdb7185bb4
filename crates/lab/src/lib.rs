//! The lab: what `cargo xtask sweep` and `cargo xtask bench` run, natively.
//!
//! [`with_protocol`] is the one registry of the protocols a sweep can drive:
//! adding a protocol is one line in its `match`. The benchmark workload lives
//! here too ([`workload`]), so that the native benchmark and the wasm probe
//! (`crates/wasm-probe`) run exactly the same code.

pub mod workload;

use sim::sweep::Sweepable;
use sim::testkit::broadcast::Broadcast;

/// Code that is generic over the protocol: [`with_protocol`] calls
/// `visit::<P>()` with the protocol named on the command line.
pub trait Visit {
    /// What the visit returns.
    type Output;
    /// Does the work for protocol `P`.
    fn visit<P: Sweepable>(self) -> Self::Output;
}

/// The names [`with_protocol`] knows, for error messages and `--help`.
pub const PROTOCOLS: &[&str] = &["broadcast", "raft"];

/// Runs `v` with the protocol called `name`: the registry of sweepable
/// protocols. To add one, add a line here and its name to [`PROTOCOLS`].
pub fn with_protocol<V: Visit>(name: &str, v: V) -> Result<V::Output, String> {
    match name {
        "broadcast" => Ok(v.visit::<Broadcast>()),
        "raft" => Ok(v.visit::<protocols::raft::Raft>()),
        other => Err(format!(
            "unknown protocol `{other}`; the protocols are: {}",
            PROTOCOLS.join(", ")
        )),
    }
}
