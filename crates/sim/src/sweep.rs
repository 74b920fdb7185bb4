//! Seed sweeps: swarm testing of a protocol under generated faults, after
//! TigerBeetle's VOPR.
//!
//! Each seed first draws its own fault parameters (how lossy, how slow, which
//! kinds of partition, how often nodes crash), then rolls a schedule of
//! faults and client load from them. A third of the seeds are *leader
//! churn* seeds: every crash aims at whoever leads and is short, and the
//! leader of the moment is cut off in a minority again and again (rolling
//! partitions), so that leaders take writes they cannot replicate and lose
//! their post to servers with other histories (the paper's Figure 8).
//!
//! A seed has two phases. In the *safety phase* faults are on and every
//! checker runs after every step. In the *liveness phase* a random majority
//! of servers is healed and its faults stop, while the minority keeps its
//! own (a server may stay crashed, slow or isolated one way); the protocol
//! must then converge (agree, and apply every acknowledged operation) under
//! a leadership that lasts, within a bound of a few tens of its time units.

use crate::sorted::SortedMap;
use std::fmt;
use std::ops::Range;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use crate::checker::{Checkers, Undecided, Violation};
use crate::ids::NodeId;
use crate::input::{Input, InputRecord};
use crate::network::{Direction, Health, Latency, LinkParams, PartitionKind, Tail};
use crate::rng::{SimRng, Stream};
use crate::time::{Duration, Permille, Ppm, Time};
use crate::trace::StepRecord;
use crate::world::{NodeOf, OpOf, Protocol, World, WorldConfig};

/// A protocol that seed sweeps can drive. Each protocol implements this once;
/// the sweep runner and `cargo xtask sweep` do the rest.
pub trait Sweepable: Protocol + Sized {
    /// The teaching toggles this protocol has, by name (for `--toggle`).
    fn toggles() -> &'static [&'static str];

    /// The protocol with `servers` servers (and however many clients it
    /// wants), correct, or with the named teaching toggle switched on.
    /// An unknown toggle or an impossible size is an error with a sentence.
    fn for_sweep(servers: usize, toggle: Option<&str>) -> Result<Self, String>;

    /// The servers, which faults aim at and the majority is drawn from.
    fn servers(&self) -> Vec<NodeId>;

    /// The clients, which receive the workload's operations. A protocol
    /// without clients returns none, and its servers take the operations.
    fn clients(&self) -> Vec<NodeId>;

    /// The protocol's natural time unit, such as the longest election
    /// timeout. Fault durations and the liveness bound scale with it.
    fn time_unit(&self) -> Duration;

    /// Fresh checkers for one run.
    fn checkers(&self) -> Checkers<Self>;

    /// The `n`th operation of the workload (`n` is unique within a run).
    fn workload_op(&self, n: u64, rng: &mut SimRng) -> OpOf<Self>;

    /// Liveness after healing: `Ok` once the healed servers have converged,
    /// `Err` with the reason while they have not. The sweep polls this and
    /// fails the seed if it is still `Err` at the bound.
    fn converged(&self, world: &World<Self>, healed: &[NodeId]) -> Result<(), String>;
    /// The server that leads right now, if the protocol has leaders and one
    /// is known. Sweeps aim some crashes at it. The default says "no leader",
    /// so crashes pick a random server.
    fn leader(&self, world: &World<Self>) -> Option<NodeId> {
        let _ = world;
        None
    }

    /// Nodes besides the servers that the sweep's crashes may hit, such as
    /// a queue's consumers (whose crashes are what rebalances and delivery
    /// modes are about). They must be among the clients, so that the
    /// liveness phase restarts them. The default, none, leaves every
    /// schedule as it was.
    fn crash_also(&self) -> Vec<NodeId> {
        Vec::new()
    }

    /// A number that changes whenever leadership changes (Raft: the
    /// leader's term), if the protocol has leaders. The liveness phase
    /// passes only when the healed majority is converged under an epoch
    /// that has held for [`STABLE_UNITS`]. The default, `None`, asks only
    /// that it converge.
    fn epoch(&self, world: &World<Self>) -> Option<u64> {
        let _ = world;
        None
    }

    /// Swarm testing over configuration: the protocol with the options a
    /// seed runs with, drawn from `rng` (the seed's own options stream,
    /// [`Stream::Options`], so the fault and load draws stay as they were)
    /// among every value the app's settings offer. The toggle the protocol
    /// was built with still applies on top. The default, `None`, has no
    /// options to draw: the seed runs `self`.
    fn with_options(&self, rng: &mut SimRng) -> Option<Self> {
        let _ = rng;
        None
    }

    /// The options this protocol runs with, as the app's settings name and
    /// write them (`("acks", "all")`): printed with a failing seed's fault
    /// parameters, counted in a sweep's summary, and put in the link that
    /// opens the seed in the app. The default has none.
    fn options(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Whether these options promise that the healed majority converges
    /// (some do not: without PreVote a server cut off on its way in
    /// deposes every leader when it can talk again). A seed whose options
    /// do not promise it still runs its liveness phase and its end-of-run
    /// verdicts, but not converging is not a failure. The default is yes.
    fn promises_liveness(&self) -> bool {
        true
    }
}

// ----- fault parameters ------------------------------------------------------

/// How long the safety phase lasts, in time units.
pub const SAFETY_UNITS: u64 = 30;
/// How long the liveness phase may take to converge, in time units.
pub const LIVENESS_UNITS: u64 = 20;
/// `converged` is polled this many times per time unit in the liveness phase.
pub const POLLS_PER_UNIT: u64 = 2;
/// How long a leadership (see [`Sweepable::epoch`]) must have lasted when
/// the healed majority is seen converged, for the liveness phase to pass.
pub const STABLE_UNITS: u64 = 3;
/// The most steps one seed may take, both phases together. A run that needs
/// more is reported as a liveness failure (a livelock or a message storm),
/// never left to hang.
pub const MAX_STEPS: u64 = 2_000_000;
/// The most client operations the workload hands out in one seed.
pub const MAX_OPS: u64 = 100;

/// The shape of the partitions a seed uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionShape {
    /// No partitions (the one-way isolation of one node still happens).
    None,
    /// The servers split into two halves at random.
    Halves,
    /// The servers split into two or three random groups of random sizes.
    Split,
    /// One random server is cut off from everyone.
    IsolateOne,
    /// Whoever leads is cut off in a minority, alone or with some of its
    /// followers (Jepsen's partitions around the primary); the majority can
    /// elect a new leader while the old one still takes writes.
    LeaderMinority,
}

impl fmt::Display for PartitionShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartitionShape::None => "none",
            PartitionShape::Halves => "random halves",
            PartitionShape::Split => "a random split",
            PartitionShape::IsolateOne => "one node isolated",
            PartitionShape::LeaderMinority => "the leader cut off in a minority",
        })
    }
}

/// The client load of one phase of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadPhase {
    /// How long the phase lasts.
    pub length: Duration,
    /// The mean time between operations, or `None` for an idle phase.
    pub every: Option<Duration>,
}

/// Everything one seed draws before it rolls its events: the swarm-testing
/// knobs of `docs/sweeps.md` ("Fault schedules"). Durations of
/// faults are multiples of the protocol's time unit: the ranges in `docs/sweeps.md`
/// are for a unit of 100 ms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultParams {
    /// The seed they were drawn from.
    pub seed: u64,
    /// The protocol's time unit.
    pub unit: Duration,
    /// The length of the safety phase.
    pub safety: Duration,
    /// The network during the safety phase: latency (min 0-30 ms, mean
    /// 30-100 ms, uniform or exponential tail), drop 0-30 %, duplicate
    /// 0-50 %, and in a quarter of seeds delay spikes of 200-2200 ms.
    pub network: LinkParams,
    /// Which partitions happen.
    pub partition: PartitionShape,
    /// Whether partitions cut both ways.
    pub partition_kind: PartitionKind,
    /// How many partition episodes (besides the one-way isolation every
    /// seed has).
    pub partitions: u32,
    /// How many crashes (each restarted after 0-10 units).
    pub crashes: u32,
    /// The chance that a crash aims at the leader, if the protocol names one.
    pub crash_leader: Ppm,
    /// How many pauses (each resumed after 0-10 units).
    pub pauses: u32,
    /// How many slowdowns (2x-10x processing time, for 1-10 units).
    pub slowdowns: u32,
    /// How many clock skews (0.5x-2x, for a while or to the end of the phase).
    pub skews: u32,
    /// The client load, phase after phase.
    pub load: Vec<LoadPhase>,
    /// Leader churn (a quarter of the seeds): whoever leads is hit again and
    /// again. Every crash aims at the leader and is short (down for 0-3
    /// units), and there are 3 to 8 of them; partitions cut the leader off
    /// in a minority, up to 4 to 12 times in a row (see the generator). Elections race restarts and clients
    /// keep writing to leaders that are about to lose their post, which is
    /// where histories like the paper's Figure 8 come from.
    pub churn: bool,
    /// Whether the one-way isolation of a single node is still in force when
    /// the safety phase ends (half the seeds). If that node is not in the
    /// healed majority, it stays isolated through the liveness phase.
    pub lasting_isolation: bool,
    /// Whether every server crashes at once, late in the safety phase, and
    /// all restart together 0-3 units later (a power cut; a sixth of the
    /// seeds). A restart that falls after the safety phase happens when the
    /// liveness phase heals the majority, again all at once.
    pub cluster_crash: bool,
}

fn ms(d: Duration) -> String {
    let us = d.as_us();
    if us % 1_000 == 0 {
        format!("{} ms", us / 1_000)
    } else {
        format!("{}.{:03} ms", us / 1_000, us % 1_000)
    }
}

impl fmt::Display for FaultParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = &self.network;
        let tail = match n.latency.tail {
            Tail::Uniform => "uniform",
            Tail::Exponential => "exponential",
        };
        writeln!(
            f,
            "time unit {}, safety phase {}, then up to {} to converge",
            ms(self.unit),
            ms(self.safety),
            ms(self.unit.scale(LIVENESS_UNITS, 1))
        )?;
        writeln!(
            f,
            "network: delay min {}, mean {} ({tail} tail), drop {}, duplicate {}",
            ms(n.latency.min),
            ms(n.latency.mean),
            n.drop,
            n.duplicate
        )?;
        if n.delay_spike == Ppm::NEVER {
            writeln!(f, "reordering: none")?;
        } else {
            writeln!(
                f,
                "reordering: {} of messages delayed {}-{} more",
                n.delay_spike,
                ms(n.spike_min),
                ms(n.spike_max)
            )?;
        }
        let kind = match self.partition_kind {
            PartitionKind::Symmetric => "symmetric",
            PartitionKind::OneWay => "one-way",
        };
        writeln!(
            f,
            "partitions: {} x {} ({kind}), plus one one-way isolation of a single node",
            self.partitions, self.partition
        )?;
        if self.lasting_isolation {
            writeln!(
                f,
                "the one-way isolation lasts to the end of the safety phase"
            )?;
        }
        writeln!(
            f,
            "crashes: {} ({} aimed at the leader); pauses: {}; slowdowns: {}; clock skews: {}",
            self.crashes, self.crash_leader, self.pauses, self.slowdowns, self.skews
        )?;
        if self.cluster_crash {
            writeln!(f, "every server crashes at once late in the safety phase")?;
        }
        if self.churn {
            writeln!(
                f,
                "leader churn: crashes aim at the leader and are short, partitions cut it off"
            )?;
        }
        let load: Vec<String> = self
            .load
            .iter()
            .map(|p| match p.every {
                None => format!("idle for {}", ms(p.length)),
                Some(e) => format!("1 op per {} for {}", ms(e), ms(p.length)),
            })
            .collect();
        write!(f, "client load: {}", load.join(", then "))
    }
}

impl FaultParams {
    /// Draws the parameters of `seed` from its own stream
    /// (`SimRng::new(seed, Stream::Faults)`), for a protocol whose time unit
    /// is `unit`.
    pub fn draw(seed: u64, unit: Duration) -> FaultParams {
        let mut rng = SimRng::new(seed, Stream::Faults);
        let r = &mut rng;
        let safety = unit.scale(SAFETY_UNITS, 1);
        let min = r.duration(Duration::ZERO, Duration::from_ms(30));
        let mean = r.duration(Duration::from_ms(30), Duration::from_ms(100));
        let tail = if r.chance(Ppm::percent(50)) {
            Tail::Uniform
        } else {
            Tail::Exponential
        };
        let drop = Ppm(r.range_u64(0, 300_000) as u32);
        let duplicate = Ppm(r.range_u64(0, 500_000) as u32);
        let delay_spike = if r.chance(Ppm::percent(25)) {
            Ppm(r.range_u64(10_000, 200_000) as u32)
        } else {
            Ppm::NEVER
        };
        let network = LinkParams {
            latency: Latency { min, mean, tail },
            drop,
            duplicate,
            delay_spike,
            spike_min: Duration::from_ms(200),
            spike_max: Duration::from_ms(2_200),
        };
        let mut partition = [
            PartitionShape::None,
            PartitionShape::Halves,
            PartitionShape::Split,
            PartitionShape::IsolateOne,
        ][r.index(4)];
        let mut partition_kind = if r.chance(Ppm::percent(50)) {
            PartitionKind::Symmetric
        } else {
            PartitionKind::OneWay
        };
        let mut partitions = match partition {
            PartitionShape::None => 0,
            _ => r.range_u64(1, 4) as u32,
        };
        // Swarm testing: each kind of fault is switched off entirely in
        // about a third of the seeds, so that faults do not mask each other.
        let count = |r: &mut SimRng, most: u64| {
            if r.chance(Ppm(333_333)) {
                0
            } else {
                r.range_u64(1, most) as u32
            }
        };
        let mut crashes = count(r, 5);
        let mut crash_leader = [Ppm::NEVER, Ppm::percent(50), Ppm::ALWAYS][r.index(3)];
        let pauses = count(r, 3);
        let slowdowns = count(r, 3);
        let skews = count(r, 3);
        // Load phases from idle to saturating, in phases covering the
        // safety phase.
        let phases = r.range_u64(1, 4);
        let mut load = Vec::new();
        let mut left = safety;
        for i in 0..phases {
            let length = if i + 1 == phases {
                left
            } else {
                r.duration(Duration::ZERO, left)
            };
            left = Duration(left.0 - length.0);
            let every = match r.index(4) {
                0 => None,
                1 => Some(unit),
                2 => Some(unit.scale(1, 10)),
                _ => Some(unit.scale(1, 50)),
            };
            load.push(LoadPhase { length, every });
        }
        // Drawn last, so that the parameters above are those of a seed
        // drawn before these existed.
        let churn = r.chance(Ppm(333_333));
        let lasting_isolation = r.chance(Ppm::percent(50));
        let cluster_crash = r.chance(Ppm(166_667));
        if churn {
            crashes = r.range_u64(3, 8) as u32;
            crash_leader = Ppm::ALWAYS;
            partition = PartitionShape::LeaderMinority;
            partitions = r.range_u64(6, 16) as u32;
            // A leader cut off from the rest hears none of them either.
            partition_kind = PartitionKind::Symmetric;
        }
        FaultParams {
            seed,
            unit,
            safety,
            network,
            partition,
            partition_kind,
            partitions,
            crashes,
            crash_leader,
            pauses,
            slowdowns,
            skews,
            load,
            churn,
            lasting_isolation,
            cluster_crash,
        }
    }
}

// ----- the schedule generator ------------------------------------------------

/// A planned action, resolved to a concrete [`Input`] only when its time
/// comes: which node a crash hits depends on who leads then, and whether a
/// resume still makes sense depends on whether the node crashed meanwhile.
#[derive(Clone, Debug)]
enum Plan {
    Crash {
        down: Duration,
    },
    Restart(NodeId),
    CrashAll {
        down: Duration,
    },
    Pause {
        length: Duration,
    },
    Resume(NodeId),
    Slow {
        factor: Permille,
        length: Duration,
    },
    Unslow(NodeId),
    Skew {
        rate: Permille,
        length: Option<Duration>,
    },
    Unskew(NodeId),
    /// `hold: None` when its heal is planned already.
    Partition {
        hold: Option<Duration>,
    },
    /// `hold: None` lasts until the liveness phase.
    OneWayIsolation {
        hold: Option<Duration>,
    },
    HealAll,
    Load {
        every: Duration,
        until: Time,
    },
}

/// Turns [`FaultParams`] into inputs at times. It tracks the health it has
/// given every node, so that it never asks for something the world would
/// refuse (restarting a node that is up, resuming one that crashed).
pub struct Generator {
    params: FaultParams,
    servers: Vec<NodeId>,
    clients: Vec<NodeId>,
    rng: SimRng,
    workload_rng: SimRng,
    agenda: SortedMap<(Time, u64), Plan>,
    seq: u64,
    health: Vec<Health>,
    ops: u64,
    /// The one-way isolation that lasts into the liveness phase, once made.
    lasting: Option<(NodeId, Direction)>,
    /// Nodes besides the servers that crashes may hit
    /// ([`Sweepable::crash_also`]).
    crash_also: Vec<NodeId>,
}

impl Generator {
    /// A generator for a world with `node_count` nodes.
    pub fn new(
        params: &FaultParams,
        servers: Vec<NodeId>,
        clients: Vec<NodeId>,
        node_count: usize,
    ) -> Generator {
        let mut g = Generator {
            params: params.clone(),
            servers,
            clients,
            // The parameters used the start of the Faults stream; the events
            // use a stream derived from it, so adding a parameter later does
            // not shift every schedule.
            rng: SimRng::derived(params.seed, Stream::Faults as u64),
            workload_rng: SimRng::new(params.seed, Stream::Workload),
            agenda: SortedMap::new(),
            seq: 0,
            health: vec![Health::Up; node_count],
            ops: 0,
            lasting: None,
            crash_also: Vec::new(),
        };
        g.plan();
        g
    }

    /// Lets crashes hit `nodes` too, besides the servers (a queue's
    /// consumers). With none, the schedule is exactly as without.
    pub fn with_crash_also(mut self, nodes: Vec<NodeId>) -> Generator {
        self.crash_also = nodes;
        self
    }

    fn at(&mut self, t: Time, plan: Plan) {
        self.seq += 1;
        self.agenda.insert((t, self.seq), plan);
    }

    fn random_time(&mut self) -> Time {
        Time(
            self.rng
                .range_u64(0, self.params.safety.0.saturating_sub(1)),
        )
    }

    fn units(&mut self, lo: u64, hi: u64) -> Duration {
        // Tenths of a unit, so short faults are possible too.
        let tenths = self.rng.range_u64(lo * 10, hi * 10);
        self.params.unit.scale(tenths, 10)
    }

    /// Partition episodes do not overlap: each gets its own slot of the
    /// safety phase and ends with a heal-all. One slot, picked at random
    /// (the last if it is to last), holds the one-way isolation of a single
    /// node every seed has.
    fn plan_partition_slots(&mut self) {
        let p = self.params.clone();
        let episodes = u64::from(p.partitions) + 1;
        let window = p.safety.scale(85, 100);
        let slot = Duration(window.0 / episodes);
        let mut isolation_slot = self.rng.range_u64(0, episodes - 1);
        if p.lasting_isolation {
            // The last slot, and no heal: it ends with the safety phase.
            isolation_slot = episodes - 1;
        }
        for i in 0..episodes {
            // Hold 100-200 ms for a unit of 100 ms.
            let hold = self.units(1, 2).min(slot);
            let slot_start = Time(p.safety.0 / 20) + Duration(slot.0 * i);
            let start = slot_start + self.rng.duration(Duration::ZERO, Duration(slot.0 - hold.0));
            if i == isolation_slot {
                let hold = (!p.lasting_isolation).then_some(hold);
                self.at(start, Plan::OneWayIsolation { hold });
            } else {
                self.at(start, Plan::Partition { hold: Some(hold) });
            }
        }
    }

    /// Leader churn's partitions roll: from 5 % to 70 % of the safety phase,
    /// the leader of the moment is cut off in a minority for 1-2 units, the
    /// cut heals, and after a gap of 0-2 units (none at all half the time:
    /// the cut moves straight to whoever leads now) it happens again, up to
    /// `partitions` times. The one-way isolation of a single node follows,
    /// from 70 % to 90 %.
    fn plan_rolling_partitions(&mut self) {
        let p = self.params.clone();
        let chain_end = Time(p.safety.scale(75, 100).0);
        let mut t = Time(p.safety.0 / 20);
        for _ in 0..p.partitions {
            let hold = self.units(1, 2);
            if t + hold > chain_end {
                break;
            }
            // The heal is planned now, so that it comes before a partition
            // planned for the same moment.
            self.at(t, Plan::Partition { hold: None });
            self.at(t + hold, Plan::HealAll);
            let gap = if self.rng.chance(Ppm::percent(50)) {
                Duration::ZERO
            } else {
                self.units(0, 2)
            };
            t = t + hold + gap;
        }
        let hold = self.units(1, 2);
        let end = Time(p.safety.scale(90, 100).0);
        let start = chain_end
            + self
                .rng
                .duration(Duration::ZERO, Duration(end.0 - chain_end.0 - hold.0));
        let hold = (!p.lasting_isolation).then_some(hold);
        self.at(start, Plan::OneWayIsolation { hold });
    }

    fn plan(&mut self) {
        let p = self.params.clone();
        if p.churn {
            self.plan_rolling_partitions();
        } else {
            self.plan_partition_slots();
        }
        // Under leader churn a crashed leader comes back soon, racing the
        // election of its successor.
        let longest_down = if p.churn { 3 } else { 10 };
        for _ in 0..p.crashes {
            let t = self.random_time();
            let down = self.units(0, longest_down);
            self.at(t, Plan::Crash { down });
        }
        if p.cluster_crash {
            let t = Time(p.safety.scale(60, 100).0)
                + self.rng.duration(Duration::ZERO, p.safety.scale(35, 100));
            let down = self.units(0, 3);
            self.at(t, Plan::CrashAll { down });
        }
        for _ in 0..p.pauses {
            let t = self.random_time();
            let length = self.units(0, 10);
            self.at(t, Plan::Pause { length });
        }
        for _ in 0..p.slowdowns {
            let t = self.random_time();
            let factor = Permille(self.rng.range_u64(2_000, 10_000) as u32);
            let length = self.units(1, 10);
            self.at(t, Plan::Slow { factor, length });
        }
        for _ in 0..p.skews {
            let t = self.random_time();
            let mut rate = self.rng.range_u64(500, 2_000) as u32;
            if rate == 1_000 {
                rate = 2_000;
            }
            let length = self.rng.chance(Ppm::percent(50)).then(|| self.units(1, 10));
            self.at(
                t,
                Plan::Skew {
                    rate: Permille(rate),
                    length,
                },
            );
        }
        let mut start = Time::ZERO;
        for phase in &p.load {
            let until = start + phase.length;
            if let Some(every) = phase.every {
                self.at(start, Plan::Load { every, until });
            }
            start = until;
        }
    }

    /// The time of the next planned action, if any is left before the end
    /// of the safety phase.
    pub fn next_time(&self) -> Option<Time> {
        self.agenda
            .keys()
            .next()
            .map(|&(t, _)| t)
            .filter(|&t| t < Time(self.params.safety.0))
    }

    fn pick(&mut self, from: &[NodeId], ok: impl Fn(Health) -> bool) -> Option<NodeId> {
        let eligible: Vec<NodeId> = from
            .iter()
            .copied()
            .filter(|n| ok(self.health[n.index()]))
            .collect();
        (!eligible.is_empty()).then(|| eligible[self.rng.index(eligible.len())])
    }

    fn groups(&mut self, leader: Option<NodeId>) -> Vec<Vec<NodeId>> {
        let mut nodes = self.servers.clone();
        // Fisher-Yates with the fault stream.
        for i in (1..nodes.len()).rev() {
            let j = self.rng.index(i + 1);
            nodes.swap(i, j);
        }
        let n = nodes.len();
        match self.params.partition {
            PartitionShape::LeaderMinority => {
                // The leader first (a random server while none is known),
                // then 0 or more followers, short of half.
                if let Some(pos) = leader.and_then(|l| nodes.iter().position(|&x| x == l)) {
                    nodes.swap(0, pos);
                }
                let size = 1 + self
                    .rng
                    .range_u64(0, ((n - 1) / 2).saturating_sub(1) as u64);
                let rest = nodes.split_off(size as usize);
                // Which side a one-way partition lets through is random too.
                if self.rng.chance(Ppm::percent(50)) {
                    vec![nodes, rest]
                } else {
                    vec![rest, nodes]
                }
            }
            PartitionShape::Halves => {
                let b = nodes.split_off(n / 2);
                vec![nodes, b]
            }
            PartitionShape::Split => {
                let parts = if n >= 3 { self.rng.range_u64(2, 3) } else { 2 } as usize;
                // Cut points: distinct, sorted, inside 1..n.
                let mut cuts: Vec<usize> = Vec::new();
                while cuts.len() < parts - 1 {
                    let c = self.rng.range_u64(1, n as u64 - 1) as usize;
                    if !cuts.contains(&c) {
                        cuts.push(c);
                    }
                }
                cuts.sort_unstable();
                let mut groups = Vec::new();
                let mut from = 0;
                for c in cuts.into_iter().chain([n]) {
                    groups.push(nodes[from..c].to_vec());
                    from = c;
                }
                groups
            }
            PartitionShape::IsolateOne | PartitionShape::None => {
                let rest = nodes.split_off(1);
                vec![nodes, rest]
            }
        }
    }

    /// Takes the next planned action at time `now` and turns it into the
    /// inputs to apply now (possibly none: a resume for a node that crashed
    /// meanwhile is dropped, and its restart will do). `leader` is asked only
    /// for crashes and for partitions that cut the leader off.
    pub fn next_inputs<Op>(
        &mut self,
        now: Time,
        leader: impl FnOnce() -> Option<NodeId>,
        op: impl FnOnce(u64, &mut SimRng) -> Op,
    ) -> Vec<Input<Op>> {
        // The schedule does not depend on the protocol: it is planned once,
        // with the operation left as `()`, and only the one request a call
        // can make gets its operation (drawn as before, from the workload
        // stream, after the schedule's own draws).
        let mut leader = Some(leader);
        let inputs = self.next_planned(now, &mut || leader.take().and_then(|leader| leader()));
        let mut op = Some(op);
        inputs
            .into_iter()
            .map(|input| {
                input.map_op(|()| {
                    let op = op.take().expect("a call makes at most one request");
                    op(self.ops, &mut self.workload_rng)
                })
            })
            .collect()
    }

    /// [`Generator::next_inputs`] without operations: a request carries `()`.
    fn next_planned(
        &mut self,
        now: Time,
        leader: &mut dyn FnMut() -> Option<NodeId>,
    ) -> Vec<Input<()>> {
        let Some(((t, _), plan)) = self.agenda.pop_first() else {
            return Vec::new();
        };
        debug_assert!(t <= now, "a planned action was taken late");
        let up = |h: Health| h == Health::Up;
        let not_crashed = |h: Health| h != Health::Crashed;
        let servers = self.servers.clone();
        match plan {
            Plan::Crash { down } => {
                let aimed = self
                    .rng
                    .chance(self.params.crash_leader)
                    .then(&mut *leader)
                    .flatten()
                    .filter(|l| not_crashed(self.health[l.index()]));
                let mut targets = servers.clone();
                targets.extend(self.crash_also.iter().copied());
                let Some(n) = aimed.or_else(|| self.pick(&targets, not_crashed)) else {
                    return Vec::new();
                };
                self.health[n.index()] = Health::Crashed;
                self.at(now + down, Plan::Restart(n));
                vec![Input::Crash(n)]
            }
            Plan::CrashAll { down } => {
                let mut inputs = Vec::new();
                for n in servers {
                    if self.health[n.index()] != Health::Crashed {
                        self.health[n.index()] = Health::Crashed;
                        inputs.push(Input::Crash(n));
                    }
                    self.at(now + down, Plan::Restart(n));
                }
                inputs
            }
            Plan::Restart(n) => {
                if self.health[n.index()] != Health::Crashed {
                    return Vec::new();
                }
                self.health[n.index()] = Health::Up;
                vec![Input::Restart(n)]
            }
            Plan::Pause { length } => {
                let Some(n) = self.pick(&servers, up) else {
                    return Vec::new();
                };
                self.health[n.index()] = Health::Paused;
                self.at(now + length, Plan::Resume(n));
                vec![Input::Pause(n)]
            }
            Plan::Resume(n) => {
                if self.health[n.index()] != Health::Paused {
                    return Vec::new();
                }
                self.health[n.index()] = Health::Up;
                vec![Input::Resume(n)]
            }
            Plan::Slow { factor, length } => {
                let node = servers[self.rng.index(servers.len())];
                self.at(now + length, Plan::Unslow(node));
                vec![Input::Slow { node, factor }]
            }
            Plan::Unslow(node) => vec![Input::Slow {
                node,
                factor: Permille::ONE,
            }],
            Plan::Skew { rate, length } => {
                let node = servers[self.rng.index(servers.len())];
                if let Some(length) = length {
                    self.at(now + length, Plan::Unskew(node));
                }
                vec![Input::Skew { node, rate }]
            }
            Plan::Unskew(node) => vec![Input::Skew {
                node,
                rate: Permille::ONE,
            }],
            Plan::Partition { hold } => {
                if let Some(hold) = hold {
                    self.at(now + hold, Plan::HealAll);
                }
                if servers.len() < 2 {
                    return Vec::new();
                }
                if self.params.partition == PartitionShape::IsolateOne {
                    let node = servers[self.rng.index(servers.len())];
                    let direction = match self.params.partition_kind {
                        PartitionKind::Symmetric => Direction::Both,
                        PartitionKind::OneWay if self.rng.chance(Ppm::percent(50)) => {
                            Direction::Inbound
                        }
                        PartitionKind::OneWay => Direction::Outbound,
                    };
                    return vec![Input::Isolate { node, direction }];
                }
                let leader = if self.params.partition == PartitionShape::LeaderMinority {
                    leader()
                } else {
                    None
                };
                let groups = self.groups(leader);
                vec![Input::Partition {
                    groups,
                    kind: self.params.partition_kind,
                }]
            }
            Plan::OneWayIsolation { hold } => {
                if let Some(hold) = hold {
                    self.at(now + hold, Plan::HealAll);
                }
                let node = servers[self.rng.index(servers.len())];
                let direction = if self.rng.chance(Ppm::percent(50)) {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                if hold.is_none() {
                    self.lasting = Some((node, direction));
                }
                vec![Input::Isolate { node, direction }]
            }
            Plan::HealAll => {
                self.lasting = None;
                vec![Input::HealAll]
            }
            Plan::Load { every, until } => {
                let next = now
                    + self
                        .rng
                        .duration(Duration(every.0 / 2), every + Duration(every.0 / 2));
                if next < until && self.ops + 1 < MAX_OPS {
                    self.at(next, Plan::Load { every, until });
                }
                if self.ops >= MAX_OPS {
                    return Vec::new();
                }
                // Operations go to a client that is up; a protocol without
                // clients takes them at a server that is up.
                let targets = if self.clients.is_empty() {
                    servers
                } else {
                    self.clients.clone()
                };
                let Some(node) = self.pick(&targets, up) else {
                    return Vec::new();
                };
                self.ops += 1;
                vec![Input::Request { node, op: () }]
            }
        }
    }

    /// Picks the healed majority for the liveness phase and the inputs that
    /// heal it: every cut link to or from a majority server is healed, except
    /// the links a minority server's own isolation cuts; the links among the
    /// majority and the clients go back to the friendly defaults; and the
    /// majority and every client get their health, speed and clock back.
    /// The minority keeps every fault it has: a minority server may stay
    /// crashed, paused, slow, skewed, isolated (one way or both), and its
    /// links stay as lossy and slow as the seed made them. Planned actions
    /// that have not happened are dropped: the liveness phase has no new
    /// faults.
    ///
    /// (Partition episodes all end inside the safety phase; what is still
    /// cut when it ends is the lasting one-way isolation, if the seed has
    /// one.)
    pub fn heal(&mut self) -> (Vec<NodeId>, Vec<Input<()>>) {
        self.agenda.clear();
        let mut servers = self.servers.clone();
        for i in (1..servers.len()).rev() {
            let j = self.rng.index(i + 1);
            servers.swap(i, j);
        }
        servers.truncate(self.servers.len() / 2 + 1);
        servers.sort_unstable();
        let mut inputs = Vec::new();
        let healed: Vec<NodeId> = servers.iter().chain(&self.clients).copied().collect();
        let everyone: Vec<NodeId> = (0..self.health.len() as u32).map(NodeId).collect();
        // A minority server's own isolation stays; anything else that cuts
        // a link of the majority goes.
        let kept = |from: NodeId, to: NodeId| match self.lasting {
            Some((m, direction)) if !servers.contains(&m) => match direction {
                Direction::Inbound => to == m,
                Direction::Outbound => from == m,
                Direction::Both => to == m || from == m,
            },
            _ => false,
        };
        for &a in &everyone {
            for &b in &everyone {
                let touches_majority = servers.contains(&a) || servers.contains(&b);
                if a != b && touches_majority && !kept(a, b) {
                    inputs.push(Input::Heal { from: a, to: b });
                }
                if a != b && healed.contains(&a) && healed.contains(&b) && touches_majority {
                    inputs.push(Input::SetLink {
                        from: a,
                        to: b,
                        params: Some(LinkParams::default()),
                    });
                }
            }
        }
        for &n in &healed {
            match self.health[n.index()] {
                Health::Crashed => inputs.push(Input::Restart(n)),
                Health::Paused => inputs.push(Input::Resume(n)),
                Health::Up => {}
            }
            self.health[n.index()] = Health::Up;
            inputs.push(Input::Slow {
                node: n,
                factor: Permille::ONE,
            });
            inputs.push(Input::Skew {
                node: n,
                rate: Permille::ONE,
            });
        }
        (servers, inputs)
    }
}

// ----- running one seed ------------------------------------------------------

/// Why a seed failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A checker found a broken safety property (every violation of the
    /// first step that broke one).
    Safety(Vec<Violation>),
    /// The healed majority did not converge within the bound, or the run
    /// hit its step bound.
    Liveness(String),
    /// The protocol (or the engine) panicked.
    Panic(String),
    /// The world refused an input the generator made: a bug in the sweep.
    Refused(String),
}

impl Failure {
    /// A short name for the kind of failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Safety(_) => "safety violation",
            Failure::Liveness(_) => "liveness failure",
            Failure::Panic(_) => "panic",
            Failure::Refused(_) => "input refused",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Safety(vs) => {
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "violation: {v}")?;
                }
                Ok(())
            }
            Failure::Liveness(why) => write!(f, "liveness: {why}"),
            Failure::Panic(why) => write!(f, "panic: {why}"),
            Failure::Refused(why) => write!(f, "the world refused a generated input: {why}"),
        }
    }
}

/// What one seed did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedOutcome {
    /// The seed.
    pub seed: u64,
    /// The fault parameters it drew.
    pub params: FaultParams,
    /// The protocol options it drew ([`Sweepable::options`]).
    pub options: Vec<(&'static str, String)>,
    /// `Ok` if both phases passed.
    pub result: Result<(), Failure>,
    /// The rules the checkers could not decide by the end of the run
    /// ([`Undecided`]): neither a pass nor a failure, and reported as such.
    pub undecided: Vec<Undecided>,
    /// Steps taken.
    pub steps: u64,
    /// Inputs applied (faults, heals and client operations).
    pub inputs: u64,
    /// Virtual time at the end.
    pub end: Time,
    /// The trace hash at the end: equal natively and in wasm.
    pub trace_hash: u64,
}

/// Called with each step of a traced seed, after the checkers saw it.
pub type TraceFn<'a, P> = dyn FnMut(&StepRecord<NodeOf<P>>, &World<P>) + 'a;

struct Runner<'a, P: Sweepable> {
    world: World<P>,
    checkers: Checkers<P>,
    /// Every input applied, at its step and time.
    log: Vec<InputRecord<OpOf<P>>>,
    trace: Option<&'a mut TraceFn<'a, P>>,
}

impl<P: Sweepable> Runner<'_, P> {
    fn observe_last(&mut self) -> Result<(), Failure> {
        let record = self.world.last_record().expect("a step was just taken");
        let found = self.checkers.observe(record, &self.world);
        if let Some(trace) = self.trace.as_mut() {
            trace(record, &self.world);
        }
        if found > 0 {
            let step = record.step;
            let found: Vec<Violation> = self
                .checkers
                .violations()
                .iter()
                .filter(|v| v.step == step)
                .cloned()
                .collect();
            return Err(Failure::Safety(found));
        }
        if self.world.steps() >= MAX_STEPS {
            return Err(Failure::Liveness(format!(
                "the run reached its bound of {MAX_STEPS} steps at {} (a livelock or a message storm)",
                self.world.now()
            )));
        }
        Ok(())
    }

    /// Runs every event up to and including `t`, checking after each step.
    fn run_to(&mut self, t: Time) -> Result<(), Failure> {
        while self.world.run_until(t, 1).steps == 1 {
            self.observe_last()?;
        }
        Ok(())
    }

    fn apply(&mut self, input: Input<OpOf<P>>) -> Result<(), Failure> {
        let text = input.to_string();
        let (step, time) = (self.world.steps(), self.world.now());
        self.world
            .apply(input.clone())
            .map_err(|e| Failure::Refused(format!("`{text}` at {time}: {e}")))?;
        self.log.push(InputRecord { step, time, input });
        self.observe_last()
    }
}

/// Runs one seed of protocol `protocol` (shared, so a thread builds it once):
/// the safety phase under the generated faults, then the liveness phase.
/// A panic is caught and reported as the seed's failure.
pub fn run_seed<P: Sweepable>(protocol: &Rc<P>, seed: u64) -> SeedOutcome {
    run_seed_traced(protocol, seed, None)
}

/// [`run_seed`], calling `trace` with every step (to print a failing seed's
/// history). Tracing does not change the run.
pub fn run_seed_traced<'a, P: Sweepable>(
    protocol: &Rc<P>,
    seed: u64,
    trace: Option<&'a mut TraceFn<'a, P>>,
) -> SeedOutcome {
    run_recorded(protocol, seed, trace).outcome
}

/// One seed's run as data: the world's settings and every input the sweep
/// applied, each at the step and time it took. A run is a pure function of
/// (protocol, config, input log), so replaying `inputs` into a world of the
/// same protocol built with `config` (`Sim::apply_at`) gives the very run the
/// sweep checked, with the same trace hash: how the app opens a sweep seed.
#[derive(Clone, Debug)]
pub struct SeedRun<Op> {
    /// The world's settings: the seed, and the network it drew.
    pub config: WorldConfig,
    /// Every input, in order: faults, heals and client operations.
    pub inputs: Vec<InputRecord<Op>>,
    /// What the seed did; its `steps` and `trace_hash` are those of the
    /// moment the run stopped (right after a violation's step, or at the end
    /// of the liveness phase).
    pub outcome: SeedOutcome,
}

/// [`run_seed`], keeping the input log (see [`SeedRun`]).
pub fn record_seed<P: Sweepable>(protocol: &Rc<P>, seed: u64) -> SeedRun<OpOf<P>> {
    run_recorded(protocol, seed, None)
}

/// The world settings of seed `seed`, whose parameters are `params`.
fn seed_config(seed: u64, params: &FaultParams) -> WorldConfig {
    let mut config = WorldConfig::with_seed(seed);
    config.network = params.network;
    config
}

fn run_recorded<'a, P: Sweepable>(
    protocol: &Rc<P>,
    seed: u64,
    trace: Option<&'a mut TraceFn<'a, P>>,
) -> SeedRun<OpOf<P>> {
    let drawn = protocol.with_options(&mut SimRng::new(seed, Stream::Options));
    let protocol = &drawn.map_or_else(|| Rc::clone(protocol), Rc::new);
    let params = FaultParams::draw(seed, protocol.time_unit());
    let config = seed_config(seed, &params);
    let mut runner = Runner {
        world: World::from_shared(Rc::clone(protocol), config.clone()),
        checkers: protocol.checkers(),
        log: Vec::new(),
        trace,
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_phases(protocol, &params, &mut runner)
    }))
    .unwrap_or_else(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        Err(Failure::Panic(text))
    });
    let outcome = SeedOutcome {
        seed,
        params,
        options: protocol.options(),
        result,
        undecided: runner.checkers.undecided(),
        steps: runner.world.steps(),
        inputs: runner.log.len() as u64,
        end: runner.world.now(),
        trace_hash: runner.world.trace_hash(),
    };
    SeedRun {
        config,
        inputs: runner.log,
        outcome,
    }
}

fn run_phases<P: Sweepable>(
    protocol: &Rc<P>,
    params: &FaultParams,
    runner: &mut Runner<P>,
) -> Result<(), Failure> {
    let mut generator = Generator::new(
        params,
        protocol.servers(),
        protocol.clients(),
        runner.world.node_count(),
    )
    .with_crash_also(protocol.crash_also());
    // Safety phase: faults on, checkers after every step.
    while let Some(t) = generator.next_time() {
        runner.run_to(t)?;
        let inputs = generator.next_inputs(
            t,
            || protocol.leader(&runner.world),
            |n, rng| protocol.workload_op(n, rng),
        );
        for input in inputs {
            runner.apply(input)?;
        }
    }
    let end_of_safety = Time(params.safety.0);
    runner.run_to(end_of_safety)?;

    // Liveness phase: heal a random majority, no new faults, poll.
    let (healed, inputs) = generator.heal();
    for input in inputs {
        // Only links that are cut need healing.
        if let Input::Heal { from, to } = input {
            if !runner.world.network().is_cut(from, to) {
                continue;
            }
        }
        runner.apply(input.map_op(|()| unreachable!("heal inputs carry no operation")))?;
    }
    // Converged under a leadership that has lasted (see `Convergence`).
    let polls = LIVENESS_UNITS * POLLS_PER_UNIT;
    let mut convergence = Convergence::default();
    let mut last = String::new();
    for k in 1..=polls {
        let t = end_of_safety + params.unit.scale(k, POLLS_PER_UNIT);
        runner.run_to(t)?;
        match convergence.poll(&**protocol, &runner.world, &healed) {
            Ok(()) => return finish(runner),
            Err(why) => last = why,
        }
    }
    // A seed that did not converge still gets the end-of-run verdicts; a
    // broken safety rule (such as an acknowledged message that no live
    // server holds) says more than "did not converge".
    finish(runner)?;
    if !protocol.promises_liveness() {
        return Ok(());
    }
    Err(Failure::Liveness(not_converged(
        &healed,
        params.unit.scale(LIVENESS_UNITS, 1),
        &last,
    )))
}

/// The liveness sentence of a healed majority that has not converged within
/// `bound`, for the sweep and the app alike.
pub fn not_converged(healed: &[NodeId], bound: Duration, why: &str) -> String {
    let healed: Vec<String> = healed.iter().map(|n| n.to_string()).collect();
    format!(
        "the healed majority {{{}}} had not converged {} after healing: {why}",
        healed.join(" "),
        ms(bound)
    )
}

/// The liveness predicate, polled every `1 / POLLS_PER_UNIT` of a time unit
/// after healing: by the sweep's liveness phase, and by the app's liveness
/// monitor ([`crate::liveness`]). A protocol with leaders passes at a poll
/// where [`Sweepable::converged`] holds and the same epoch has held at every
/// poll of the last [`STABLE_UNITS`] (a leader deposed again and again by a
/// minority server never gets there). Without leaders, the first poll where
/// `converged` holds passes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Convergence {
    /// How many polls in a row have seen this epoch.
    streak: (u64, Option<u64>),
    /// How many leaderships the polls have seen.
    epochs: u64,
}

impl Convergence {
    /// One poll: `Ok` once converged under a lasting leadership, otherwise
    /// why not.
    pub fn poll<P: Sweepable>(
        &mut self,
        protocol: &P,
        world: &World<P>,
        healed: &[NodeId],
    ) -> Result<(), String> {
        let epoch = protocol.epoch(world);
        if epoch.is_some() && epoch == self.streak.1 {
            self.streak.0 += 1;
        } else {
            self.epochs += u64::from(epoch.is_some());
            self.streak = (1, epoch);
        }
        Self::judge(protocol, world, healed, epoch, self.streak.0, self.epochs)
    }

    /// Whether a poll now would pass, without counting it as one: between
    /// polls, the app looks again at steps that reach a milestone (a value
    /// learned), so that a cluster that converges and then falls quiet is
    /// seen to. A leadership's streak still grows only at polls.
    pub fn check<P: Sweepable>(
        &self,
        protocol: &P,
        world: &World<P>,
        healed: &[NodeId],
    ) -> Result<(), String> {
        let epoch = protocol.epoch(world);
        let (streak, epochs) = if epoch.is_some() && epoch == self.streak.1 {
            (self.streak.0, self.epochs)
        } else {
            (1, self.epochs + u64::from(epoch.is_some()))
        };
        Self::judge(protocol, world, healed, epoch, streak, epochs)
    }

    fn judge<P: Sweepable>(
        protocol: &P,
        world: &World<P>,
        healed: &[NodeId],
        epoch: Option<u64>,
        streak: u64,
        epochs: u64,
    ) -> Result<(), String> {
        let needed = STABLE_UNITS * POLLS_PER_UNIT + 1;
        match protocol.converged(world, healed) {
            Ok(()) if epoch.is_none() || streak >= needed => Ok(()),
            Ok(()) => Err(format!(
                "it converged, but no leadership lasted {} ({epochs} leaderships seen at the polls)",
                ms(protocol.time_unit().scale(STABLE_UNITS, 1)),
            )),
            Err(why) => Err(why),
        }
    }
}

/// The end of a seed that converged: the checkers' end-of-run verdicts
/// ([`crate::Checker::finish`], such as a queue's final drain).
fn finish<P: Sweepable>(runner: &mut Runner<P>) -> Result<(), Failure> {
    if runner.checkers.finish(&runner.world) > 0 {
        let step = runner.world.steps();
        let found = runner
            .checkers
            .violations()
            .iter()
            .filter(|v| v.step == step)
            .cloned()
            .collect();
        return Err(Failure::Safety(found));
    }
    Ok(())
}

// ----- the parallel driver ---------------------------------------------------

/// Runs seeds `seeds` of protocol `P` with `servers` servers (and the
/// teaching toggle `toggle`, if any) on `threads` threads. Each thread builds
/// its own protocol value and worlds. `on_done` is called from the worker
/// threads as each seed finishes (for progress); the returned outcomes are in
/// seed order, whatever order they finished in.
pub fn sweep<P: Sweepable>(
    servers: usize,
    toggle: Option<&str>,
    seeds: Range<u64>,
    threads: usize,
    on_done: &(dyn Fn(&SeedOutcome) + Sync),
) -> Result<Vec<SeedOutcome>, String> {
    // Refuse a bad size or toggle once, here, with the protocol's sentence.
    P::for_sweep(servers, toggle)?;
    let count = seeds.end.saturating_sub(seeds.start);
    let next = AtomicU64::new(0);
    let threads = threads.max(1).min(count.max(1) as usize);
    let mut outcomes: Vec<SeedOutcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let protocol = Rc::new(P::for_sweep(servers, toggle).expect("accepted above"));
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let outcome = run_seed(&protocol, seeds.start + i);
                        on_done(&outcome);
                        done.push(outcome);
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("run_seed catches panics"))
            .collect()
    });
    outcomes.sort_by_key(|o| o.seed);
    Ok(outcomes)
}

// ----- the test protocol -----------------------------------------------------

#[cfg(any(test, feature = "testkit"))]
mod broadcast_sweep {
    use std::collections::BTreeSet;

    use super::Sweepable;
    use crate::checker::Checkers;
    use crate::ids::NodeId;
    use crate::network::Health;
    use crate::rng::SimRng;
    use crate::testkit::broadcast::{Broadcast, BroadcastChecker};
    use crate::time::Duration;
    use crate::world::World;

    impl Sweepable for Broadcast {
        fn toggles() -> &'static [&'static str] {
            &["volatile-delivered"]
        }

        fn for_sweep(servers: usize, toggle: Option<&str>) -> Result<Self, String> {
            if !(2..=32).contains(&servers) {
                return Err(format!(
                    "broadcast runs with 2 to 32 servers, not {servers}"
                ));
            }
            let mut b = Broadcast::new(servers);
            match toggle {
                None => {}
                Some("volatile-delivered") => b.volatile_delivered = true,
                Some(other) => {
                    return Err(format!(
                        "broadcast has no toggle `{other}`; its toggles are: {}",
                        Self::toggles().join(", ")
                    ))
                }
            }
            Ok(b)
        }

        fn servers(&self) -> Vec<NodeId> {
            (0..self.servers as u32).map(NodeId).collect()
        }

        fn clients(&self) -> Vec<NodeId> {
            Vec::new()
        }

        fn time_unit(&self) -> Duration {
            // Two retransmission rounds.
            Duration(self.retransmit.0 * 2)
        }

        fn checkers(&self) -> Checkers<Self> {
            Checkers::new(vec![Box::new(BroadcastChecker::default())])
        }

        fn workload_op(&self, n: u64, _rng: &mut SimRng) -> u64 {
            n
        }

        /// Every healed server has delivered every value that a running
        /// server able to reach the healed majority has delivered. A running
        /// server retransmits each value it delivered until every peer
        /// acknowledges it, and a peer acknowledges only what it has
        /// delivered and persisted. The links among the healed servers are
        /// healed, so a value that reaches one of them reaches all; a
        /// minority server whose link to some healed server is not cut gets
        /// its values through (lossy links only delay retransmission). That
        /// covers every value a healed server delivered and every value an
        /// operation put into such a server. Values only a crashed, paused or
        /// cut-off minority server holds may be lost, and are not required.
        fn converged(&self, world: &World<Self>, healed: &[NodeId]) -> Result<(), String> {
            let mut required = BTreeSet::new();
            let mut holder = std::collections::BTreeMap::new();
            let net = world.network();
            for id in world.node_ids() {
                if world.conditions(id).health != Health::Up {
                    continue;
                }
                let reaches = healed.contains(&id) || healed.iter().any(|&h| !net.is_cut(id, h));
                if !reaches {
                    continue;
                }
                if let Some(node) = world.node(id) {
                    for &v in node.delivered() {
                        if required.insert(v) {
                            holder.insert(v, id);
                        }
                    }
                }
            }
            for &h in healed {
                let Some(node) = world.node(h) else {
                    return Err(format!("{h} is not running"));
                };
                let missing: Vec<u64> = required.difference(node.delivered()).copied().collect();
                if let Some(&v) = missing.first() {
                    return Err(format!(
                        "{h} has not delivered {} value(s) that running servers hold, such as v{v} (held by {})",
                        missing.len(),
                        holder[&v]
                    ));
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::broadcast::Broadcast;

    fn outcomes(servers: usize, toggle: Option<&str>, seeds: Range<u64>) -> Vec<SeedOutcome> {
        sweep::<Broadcast>(servers, toggle, seeds, 2, &|_| {}).expect("valid sweep")
    }

    #[test]
    fn the_correct_broadcast_passes_a_small_sweep() {
        for servers in [3, 5] {
            for o in outcomes(servers, None, 0..8) {
                assert_eq!(o.result, Ok(()), "seed {}:\n{}", o.seed, o.params);
                assert!(o.steps > 0);
            }
        }
    }

    #[test]
    fn the_volatile_delivered_toggle_is_caught() {
        let caught = outcomes(3, Some("volatile-delivered"), 0..20)
            .into_iter()
            .filter(|o| matches!(&o.result, Err(Failure::Safety(vs)) if vs[0].rule == "B1"))
            .count();
        assert!(caught > 0, "no seed of 20 caught the broken integrity rule");
    }

    #[test]
    fn a_seed_is_reproducible_and_independent_of_the_thread() {
        let all = outcomes(5, Some("volatile-delivered"), 0..4);
        let protocol = Rc::new(Broadcast::for_sweep(5, Some("volatile-delivered")).unwrap());
        for o in all {
            assert_eq!(run_seed(&protocol, o.seed), o);
        }
    }

    /// The app opens a sweep seed by replaying its recorded input log into
    /// a `Sim` (with checkpoints, as the app runs it): the replay must be the
    /// sweep's run, step for step, up to where the sweep stopped.
    #[test]
    fn a_recorded_seed_replays_to_the_same_trace_hash() {
        let mut failed = 0;
        for toggle in [None, Some("volatile-delivered")] {
            let protocol = Rc::new(Broadcast::for_sweep(3, toggle).unwrap());
            for seed in 0..6 {
                let run = record_seed(&protocol, seed);
                assert_eq!(run.outcome, run_seed(&protocol, seed));
                assert_eq!(run.inputs.len() as u64, run.outcome.inputs);
                let world = World::new((*protocol).clone(), run.config.clone());
                let mut sim = crate::sim::Sim::new(world, protocol.checkers());
                for r in &run.inputs {
                    sim.apply_at(r.step, r.time, r.input.clone(), &mut |_, _| {})
                        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                }
                sim.seek_step(run.outcome.steps);
                assert_eq!(sim.world().steps(), run.outcome.steps, "seed {seed}");
                assert_eq!(
                    sim.world().trace_hash(),
                    run.outcome.trace_hash,
                    "seed {seed} ({toggle:?})"
                );
                if let Err(Failure::Safety(vs)) = &run.outcome.result {
                    failed += 1;
                    assert_eq!(sim.violations().first(), vs.first(), "seed {seed}");
                }
            }
        }
        assert!(
            failed > 0,
            "no recorded seed broke a rule, so none was compared"
        );
    }

    #[test]
    fn parameters_stay_in_the_documented_ranges() {
        let unit = Duration::from_ms(100);
        let mut reordering = 0;
        for seed in 0..400 {
            let p = FaultParams::draw(seed, unit);
            let l = p.network.latency;
            assert!(l.min <= Duration::from_ms(30));
            assert!((Duration::from_ms(30)..=Duration::from_ms(100)).contains(&l.mean));
            assert!(p.network.drop <= Ppm::percent(30));
            assert!(p.network.duplicate <= Ppm::percent(50));
            reordering += usize::from(p.network.delay_spike != Ppm::NEVER);
            let total: u64 = p.load.iter().map(|ph| ph.length.0).sum();
            assert_eq!(total, p.safety.0);
            assert!(p.to_string().contains("one-way isolation"));
        }
        assert!((60..140).contains(&reordering), "{reordering} of 400");
    }

    #[test]
    fn every_seed_isolates_one_node_one_way_and_never_asks_the_impossible() {
        for seed in 0..200 {
            let p = FaultParams::draw(seed, Duration::from_ms(100));
            let servers: Vec<NodeId> = (0..5).map(NodeId).collect();
            let mut g = Generator::new(&p, servers, Vec::new(), 5);
            let mut one_way = false;
            while let Some(t) = g.next_time() {
                for input in g.next_inputs(t, || Some(NodeId(0)), |n, _| n) {
                    one_way |= matches!(
                        input,
                        Input::Isolate {
                            direction: Direction::Inbound | Direction::Outbound,
                            ..
                        }
                    );
                }
            }
            assert!(one_way, "seed {seed} never isolated a node one way");
        }
    }
    #[test]
    fn crashes_hit_the_extra_targets_and_no_others_and_none_leaves_schedules_alone() {
        let servers: Vec<NodeId> = (0..3).map(NodeId).collect();
        let clients = vec![NodeId(3), NodeId(4)];
        let crashed = |g: &mut Generator| {
            let mut hit = Vec::new();
            let mut inputs = Vec::new();
            while let Some(t) = g.next_time() {
                for input in g.next_inputs(t, || None, |n, _| n) {
                    if let Input::Crash(n) = input {
                        hit.push(n);
                    }
                    inputs.push(input.to_string());
                }
            }
            (hit, inputs)
        };
        let mut extra_hits = 0;
        for seed in 0..100 {
            let p = FaultParams::draw(seed, Duration::from_ms(100));
            let mut plain = Generator::new(&p, servers.clone(), clients.clone(), 5);
            let mut none =
                Generator::new(&p, servers.clone(), clients.clone(), 5).with_crash_also(Vec::new());
            assert_eq!(crashed(&mut plain), crashed(&mut none), "seed {seed}");
            let mut extra = Generator::new(&p, servers.clone(), clients.clone(), 5)
                .with_crash_also(vec![NodeId(4)]);
            let (hit, _) = crashed(&mut extra);
            assert!(
                !hit.contains(&NodeId(3)),
                "seed {seed} crashed a client not listed"
            );
            extra_hits += hit.iter().filter(|&&n| n == NodeId(4)).count();
        }
        assert!(
            extra_hits > 10,
            "the extra target was crashed {extra_hits} times"
        );
    }

    #[test]
    fn leader_churn_cuts_the_leader_off_in_a_minority() {
        let mut churned = 0;
        for seed in 0..300 {
            let p = FaultParams::draw(seed, Duration::from_ms(100));
            if !p.churn {
                continue;
            }
            churned += 1;
            assert_eq!(p.crash_leader, Ppm::ALWAYS);
            let servers: Vec<NodeId> = (0..5).map(NodeId).collect();
            let mut g = Generator::new(&p, servers, Vec::new(), 5);
            let mut cuts = 0;
            while let Some(t) = g.next_time() {
                for input in g.next_inputs(t, || Some(NodeId(3)), |n, _| n) {
                    if let Input::Partition { groups, .. } = input {
                        let with_leader = groups.iter().find(|g| g.contains(&NodeId(3))).unwrap();
                        assert!(with_leader.len() <= 2, "seed {seed}: {groups:?}");
                        cuts += 1;
                    }
                }
            }
            assert!(cuts >= 3, "seed {seed} cut the leader off {cuts} times");
        }
        assert!((70..130).contains(&churned), "{churned} of 300");
    }

    #[test]
    fn the_liveness_phase_heals_the_majority_and_keeps_a_minority_isolation() {
        let mut kept = 0;
        for seed in 0..200 {
            let p = FaultParams::draw(seed, Duration::from_ms(100));
            let servers: Vec<NodeId> = (0..5).map(NodeId).collect();
            let mut g = Generator::new(&p, servers, vec![NodeId(5)], 6);
            while let Some(t) = g.next_time() {
                g.next_inputs(t, || Some(NodeId(0)), |n, _| n);
            }
            let lasting = g.lasting;
            assert_eq!(lasting.is_some(), p.lasting_isolation, "seed {seed}");
            let (healed, inputs) = g.heal();
            assert_eq!(healed.len(), 3);
            assert!(!inputs.iter().any(|i| matches!(i, Input::HealAll)));
            for input in &inputs {
                match *input {
                    Input::Heal { from, to } => {
                        assert!(healed.contains(&from) || healed.contains(&to));
                        if let Some((m, d)) = lasting.filter(|(m, _)| !healed.contains(m)) {
                            let cut_by_it = match d {
                                Direction::Inbound => to == m,
                                Direction::Outbound => from == m,
                                Direction::Both => to == m || from == m,
                            };
                            assert!(!cut_by_it, "seed {seed}: {input}");
                        }
                    }
                    Input::Restart(n) | Input::Resume(n) => {
                        assert!(healed.contains(&n) || n == NodeId(5));
                    }
                    _ => {}
                }
            }
            kept += usize::from(lasting.is_some_and(|(m, _)| !healed.contains(&m)));
        }
        assert!(kept > 10, "only {kept} seeds kept a minority isolation");
    }
}
