//! The lab: what `cargo xtask sweep` and `cargo xtask bench` run, natively.
//!
//! [`with_protocol`] is the one registry of the protocols a sweep can drive:
//! adding a protocol is one line in its `match`. The benchmark workload lives
//! here too ([`workload`]), so that the native benchmark and the wasm probe
//! (`crates/wasm-probe`) run exactly the same code.

pub mod workload;

use sim::sweep::{SeedOutcome, Sweepable};
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
pub const PROTOCOLS: &[&str] = &["broadcast", "raft", "paxos", "multipaxos", "pubsub"];

/// Runs `v` with the protocol called `name`: the registry of sweepable
/// protocols. To add one, add a line here and its name to [`PROTOCOLS`].
pub fn with_protocol<V: Visit>(name: &str, v: V) -> Result<V::Output, String> {
    match name {
        "broadcast" => Ok(v.visit::<Broadcast>()),
        "raft" => Ok(v.visit::<protocols::raft::Raft>()),
        "paxos" => Ok(v.visit::<protocols::paxos::Paxos>()),
        "multipaxos" => Ok(v.visit::<protocols::paxos::MultiPaxos>()),
        "pubsub" => Ok(v.visit::<protocols::pubsub::PubSub>()),
        other => Err(format!(
            "unknown protocol `{other}`; the protocols are: {}",
            PROTOCOLS.join(", ")
        )),
    }
}

/// The protocols whose sweep seeds the app can open (its `src/catalog.rs`;
/// a test of the app checks that the two lists agree).
pub const IN_THE_APP: &[&str] = &["raft", "paxos", "multipaxos", "pubsub"];

/// Where `cargo xtask serve` serves the app: the base of the links a sweep
/// prints when `CLUSTERSCOPE_APP_URL` does not name another.
pub const APP_URL: &str = "http://127.0.0.1:8080/";

/// The share-link fragment (the app's `src/share.rs`, `sweep=1`) that opens
/// seed `outcome.seed` of a sweep of `protocol` with `servers` servers and
/// `toggle` in the app, at the moment the sweep stopped (right after the
/// step that broke a rule, or at the end of the liveness phase), with the
/// trace hash there so that the app can tell if it replays differently.
pub fn sweep_fragment(
    protocol: &str,
    servers: usize,
    toggle: Option<&str>,
    outcome: &SeedOutcome,
) -> String {
    let toggle = toggle.map_or(String::new(), |t| format!("&tog={}", escape(t)));
    let end = outcome.end.0;
    format!(
        "v=1&p={}&n={servers}&seed={}&sweep=1{toggle}&t={}.{:03}&s={}&h={:016x}",
        escape(protocol),
        outcome.seed,
        end / 1_000,
        end % 1_000,
        outcome.steps,
        outcome.trace_hash
    )
}

/// Percent-encodes what share links do not allow raw (all but `A-Z a-z 0-9
/// - _`), as the app's `share::escape` does.
fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
