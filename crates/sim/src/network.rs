//! The network and the per-node conditions the world applies.
//!
//! State is kept per *directed* link, so one-way partitions are first-class:
//! `a -> b` can be cut while `b -> a` still works (turmoil's link `State`,
//! TigerBeetle's packet simulator options). Probabilities are parts per
//! million and durations are integer microseconds: no floats, so a run is the
//! same natively and in wasm.

use std::fmt;

use crate::encode::{Encode, TraceHasher};
use crate::ids::NodeId;
use crate::rng::SimRng;
use crate::time::{Duration, Permille, Ppm};

/// The shape of one-way message delay above its minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// Uniform between `min` and `2 * mean - min`.
    Uniform,
    /// `min` plus an exponential-like tail with the given mean: mostly quick,
    /// occasionally very slow. Reorders messages far more often.
    Exponential,
}

/// One-way message delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// No message arrives sooner than this.
    pub min: Duration,
    /// The average delay. At least `min`.
    pub mean: Duration,
    /// How delay above `min` is distributed.
    pub tail: Tail,
}

impl Latency {
    /// Uniform delay between `min` and `max`.
    pub const fn uniform(min: Duration, max: Duration) -> Latency {
        Latency {
            min,
            mean: Duration((min.0 + max.0) / 2),
            tail: Tail::Uniform,
        }
    }

    /// The largest delay a uniform latency can produce, for display.
    pub fn uniform_max(&self) -> Duration {
        Duration((2 * self.mean.0).saturating_sub(self.min.0).max(self.min.0))
    }

    /// Draws one delay.
    pub fn sample(&self, rng: &mut SimRng) -> Duration {
        let mean = self.mean.max(self.min);
        match self.tail {
            Tail::Uniform => {
                rng.duration(self.min, Duration((2 * mean.0).saturating_sub(self.min.0)))
            }
            Tail::Exponential => self.min + rng.exponential(Duration(mean.0 - self.min.0)),
        }
    }
}

/// How a directed link treats the messages sent over it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkParams {
    /// One-way delay.
    pub latency: Latency,
    /// Chance that a message is lost.
    pub drop: Ppm,
    /// Chance that a message is delivered twice (the copy gets its own delay).
    pub duplicate: Ppm,
    /// Chance that a message is held back by an extra delay, which reorders it
    /// behind later messages (the "long reordering" of `docs/sweeps.md`).
    pub delay_spike: Ppm,
    /// The extra delay of a held-back message, uniform in this range.
    pub spike_min: Duration,
    /// See `spike_min`.
    pub spike_max: Duration,
}

impl Default for LinkParams {
    /// A friendly LAN for teaching: 10 to 30 ms, nothing lost or duplicated.
    fn default() -> Self {
        LinkParams {
            latency: Latency::uniform(Duration::from_ms(10), Duration::from_ms(30)),
            drop: Ppm::NEVER,
            duplicate: Ppm::NEVER,
            delay_spike: Ppm::NEVER,
            spike_min: Duration::from_ms(200),
            spike_max: Duration::from_ms(2_200),
        }
    }
}

impl LinkParams {
    /// Checks the values a person or a URL may have typed in.
    pub fn validate(&self) -> Result<(), InputError> {
        if self.latency.mean < self.latency.min {
            return Err(InputError::BadParameter(format!(
                "the mean latency ({}) is below the minimum latency ({})",
                self.latency.mean, self.latency.min
            )));
        }
        for (name, p) in [
            ("drop rate", self.drop),
            ("duplicate rate", self.duplicate),
            ("delay-spike rate", self.delay_spike),
        ] {
            if p > Ppm::ALWAYS {
                return Err(InputError::BadParameter(format!(
                    "the {name} must be between 0% and 100%, not {}",
                    exact_percent(p)
                )));
            }
        }
        if self.spike_max < self.spike_min {
            return Err(InputError::BadParameter(format!(
                "the longest delay spike ({}) is shorter than the shortest ({})",
                self.spike_max, self.spike_min
            )));
        }
        Ok(())
    }
}

/// A probability as an exact percentage, for error messages: `Ppm`'s own
/// display rounds down to a tenth of a percent, which would show
/// 1_000_001 ppm as "100.0%" in a message saying it is above 100%.
fn exact_percent(p: Ppm) -> String {
    let (whole, frac) = (p.0 / 10_000, p.0 % 10_000);
    if frac == 0 {
        format!("{whole}%")
    } else {
        let frac = format!("{frac:04}");
        format!("{whole}.{}%", frac.trim_end_matches('0'))
    }
}

impl Encode for LinkParams {
    fn encode(&self, h: &mut TraceHasher) {
        self.latency.min.encode(h);
        self.latency.mean.encode(h);
        h.word(self.latency.tail as u64);
        self.drop.encode(h);
        self.duplicate.encode(h);
        self.delay_spike.encode(h);
        self.spike_min.encode(h);
        self.spike_max.encode(h);
    }
}

/// One directed link's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// Messages over a cut link are lost.
    pub cut: bool,
    /// Parameters for this link alone; `None` follows the network defaults.
    pub params: Option<LinkParams>,
}

/// Whether a node is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Running normally.
    Up,
    /// Crashed: volatile state is gone, messages to it are lost.
    Crashed,
    /// Paused (like SIGSTOP): it keeps its state, and its messages and timers
    /// wait until it resumes.
    Paused,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Up => "up",
            Health::Crashed => "crashed",
            Health::Paused => "paused",
        })
    }
}

/// Which way a one-node isolation cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The node can neither send nor receive.
    Both,
    /// The node can send but hears nothing (the classic disruptive follower).
    Inbound,
    /// The node hears everything but nothing it sends arrives.
    Outbound,
}

/// Whether a partition cuts both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionKind {
    /// No message crosses between groups.
    Symmetric,
    /// Messages from an earlier group to a later group are lost; the other
    /// way still works.
    OneWay,
}

/// Why the world refused an input. Every variant reads as a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// The input names a node that does not exist.
    UnknownNode(NodeId, usize),
    /// A partition lists a node in two groups, or twice in one.
    OverlappingGroups(NodeId),
    /// A partition needs at least two non-empty groups.
    TooFewGroups,
    /// A link from a node to itself.
    SelfLink(NodeId),
    /// No message with this id is in flight.
    NoSuchMessage(crate::ids::MsgId),
    /// The node is in the wrong health for this action (restart a node that is up).
    WrongHealth {
        /// The node.
        node: NodeId,
        /// What the action does.
        action: &'static str,
        /// The node's health now.
        health: Health,
    },
    /// A parameter is out of range; the text says which and why.
    BadParameter(String),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::UnknownNode(n, count) => {
                write!(
                    f,
                    "there is no node {n}: this cluster has nodes n1 to n{count}"
                )
            }
            InputError::OverlappingGroups(n) => {
                write!(f, "node {n} is in more than one partition group")
            }
            InputError::TooFewGroups => {
                f.write_str("a partition needs at least two non-empty groups")
            }
            InputError::SelfLink(n) => {
                write!(f, "a link goes between two nodes, but both ends are {n}")
            }
            InputError::NoSuchMessage(id) => write!(f, "message {id} is not in flight any more"),
            InputError::WrongHealth {
                node,
                action,
                health,
            } => write!(f, "cannot {action} {node}: it is {health}"),
            InputError::BadParameter(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for InputError {}

/// The per-node conditions the world imposes, as opposed to the protocol state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conditions {
    /// Running, crashed or paused.
    pub health: Health,
    /// How much longer than normal each event takes to process.
    pub slowdown: Permille,
    /// How fast the node's clock runs: 2x fires its timers in half the time.
    pub clock_rate: Permille,
}

impl Default for Conditions {
    fn default() -> Self {
        Conditions {
            health: Health::Up,
            slowdown: Permille::ONE,
            clock_rate: Permille::ONE,
        }
    }
}

/// The network: defaults plus a state for every directed link.
#[derive(Clone, Debug)]
pub struct Network {
    node_count: usize,
    defaults: LinkParams,
    links: Vec<Link>,
}

impl Network {
    /// A fully connected network of `node_count` nodes with these defaults.
    pub fn new(node_count: usize, defaults: LinkParams) -> Network {
        Network {
            node_count,
            defaults,
            links: vec![Link::default(); node_count * node_count],
        }
    }

    /// The default parameters of every link without its own.
    pub fn defaults(&self) -> &LinkParams {
        &self.defaults
    }

    pub(crate) fn set_defaults(&mut self, params: LinkParams) {
        self.defaults = params;
    }

    /// The state of the link `from -> to`.
    pub fn link(&self, from: NodeId, to: NodeId) -> &Link {
        &self.links[from.index() * self.node_count + to.index()]
    }

    pub(crate) fn link_mut(&mut self, from: NodeId, to: NodeId) -> &mut Link {
        &mut self.links[from.index() * self.node_count + to.index()]
    }

    /// The parameters in force on `from -> to`.
    pub fn params(&self, from: NodeId, to: NodeId) -> &LinkParams {
        self.link(from, to)
            .params
            .as_ref()
            .unwrap_or(&self.defaults)
    }

    /// Whether `from -> to` is cut.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        from != to && self.link(from, to).cut
    }

    /// Every directed link that differs from the defaults, in a fixed order,
    /// for the stage to draw.
    pub fn unusual_links(&self) -> impl Iterator<Item = (NodeId, NodeId, &Link)> + '_ {
        let n = self.node_count;
        self.links
            .iter()
            .enumerate()
            .filter(|(_, l)| l.cut || l.params.is_some())
            .map(move |(i, l)| (NodeId((i / n) as u32), NodeId((i % n) as u32), l))
    }

    pub(crate) fn heal_all(&mut self) {
        for l in &mut self.links {
            l.cut = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn exact_percent_shows_every_digit_that_matters() {
        assert_eq!(exact_percent(Ppm(1_000_001)), "100.0001%");
        assert_eq!(exact_percent(Ppm(2_000_000)), "200%");
        assert_eq!(exact_percent(Ppm(1_500)), "0.15%");
        assert_eq!(exact_percent(Ppm::NEVER), "0%");
    }

    #[test]
    fn latency_samples_stay_in_their_shape() {
        let mut rng = SimRng::new(9, Stream::Network);
        let fixed = Latency::uniform(Duration(7_000), Duration(7_000));
        assert!((0..100).all(|_| fixed.sample(&mut rng) == Duration(7_000)));
        let exp = Latency {
            min: Duration(5_000),
            mean: Duration(15_000),
            tail: Tail::Exponential,
        };
        let samples: Vec<u64> = (0..20_000).map(|_| exp.sample(&mut rng).0).collect();
        assert!(samples.iter().all(|&d| d >= 5_000));
        let mean = samples.iter().sum::<u64>() / samples.len() as u64;
        assert!((14_000..16_000).contains(&mean), "{mean}");
        // A mean below the minimum is refused as input, but sampling one
        // anyway stays at the minimum rather than underflowing.
        let odd = Latency {
            min: Duration(5_000),
            mean: Duration(1_000),
            tail: Tail::Exponential,
        };
        assert_eq!(odd.sample(&mut rng), Duration(5_000));
    }

    #[test]
    fn links_are_directed_and_heal_all_keeps_parameters() {
        let mut net = Network::new(3, LinkParams::default());
        net.link_mut(NodeId(0), NodeId(1)).cut = true;
        let slow = LinkParams {
            latency: Latency::uniform(Duration(50_000), Duration(60_000)),
            ..LinkParams::default()
        };
        net.link_mut(NodeId(2), NodeId(1)).params = Some(slow);
        assert!(net.is_cut(NodeId(0), NodeId(1)));
        assert!(!net.is_cut(NodeId(1), NodeId(0)));
        assert_eq!(net.params(NodeId(2), NodeId(1)), &slow);
        assert_eq!(net.params(NodeId(1), NodeId(2)), &LinkParams::default());
        assert_eq!(net.unusual_links().count(), 2);
        net.heal_all();
        assert!(!net.is_cut(NodeId(0), NodeId(1)));
        assert_eq!(net.unusual_links().count(), 1);
    }
}
