//! Liveness as a run plays: the seed sweep's liveness check, watched by the
//! app.
//!
//! The sweep heals a random majority and then polls the protocol's own
//! predicate ([`Sweepable::converged`], under a leadership that lasts: see
//! [`Convergence`]) every `1 / POLLS_PER_UNIT` of a time unit, and fails the
//! seed if it has not held [`LIVENESS_UNITS`] time units after healing. A
//! [`Liveness`] monitor runs the same predicate on any run, with healing read
//! off the world instead of planned:
//!
//! - **Healed** means a majority of the servers are up, at normal speed and
//!   clock rate, and every link among them, both ways, is uncut and loses,
//!   duplicates and holds back nothing; and every client is up with such
//!   links to all of them. The healed group is the largest such set of
//!   servers (the lowest ids on a tie) plus the clients: the sweep's "healed
//!   majority". Servers outside it may keep any fault, as in the sweep.
//! - An **episode** starts when the cluster becomes healed or its healed
//!   group changes (a member crashes, a server rejoins). The check is then
//!   *pending*; it *holds* at the first poll that passes, and *fails* at the
//!   first poll at or past the bound after the episode began that does not.
//!   Held and failed stay so until the episode ends; without a healed
//!   majority the check *waits*.
//! - **Polls** happen after the first step at or after each poll time
//!   (multiples of the poll interval). An input (a fault or a heal) and a
//!   step that reaches a milestone between polls are looked at too (the
//!   healed group read again, convergence checked), without counting as a
//!   poll (a leader
//!   must still last [`crate::sweep::STABLE_UNITS`] of polls), so that a
//!   cluster that converges and then falls quiet (single-decree Paxos
//!   stops once every server has learned) is seen to hold. Any other step
//!   costs one comparison. A cluster with no events left is not polled
//!   again: one that fell quiet before converging stays pending.
//!
//! The monitor is a [`Checker`] that enforces no safety rule: it rides in
//! the sim's checkers, so checkpoints, seeks and forks carry its state, and
//! what it shows is a pure function of the run up to the current step. It
//! never touches the world, so the trace hash is unchanged.

use std::marker::PhantomData;

use crate::checker::{Checker, Report, Rule, Violation};
use crate::ids::NodeId;
use crate::input::Input;
use crate::network::Health;
use crate::network::LinkParams;
use crate::sweep::{not_converged, Convergence, Sweepable, LIVENESS_UNITS, POLLS_PER_UNIT};
use crate::time::{Duration, Permille, Ppm, Time};
use crate::trace::{StepEvent, StepRecord};
use crate::world::{NodeOf, OpOf, World};

/// The most failures a monitor keeps (the oldest stay).
pub const MAX_FAILURES: usize = 256;

/// Where the liveness check stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LivenessStatus {
    /// No healed majority: which faults stand in the way.
    Waiting(String),
    /// Healed at `since`, not converged yet: the last poll's reason.
    Pending {
        /// When the episode began.
        since: Time,
        /// Why the last poll did not pass.
        reason: String,
    },
    /// Converged at `at`, `since` after healing.
    Held {
        /// When the episode began.
        since: Time,
        /// The poll that passed.
        at: Time,
    },
    /// Not converged within the bound.
    Failed {
        /// When the episode began.
        since: Time,
        /// The poll that found the bound passed.
        at: Time,
        /// The sweep's sentence.
        reason: String,
    },
}

/// A final check under way or done (see [`crate::Input::Drain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrainState {
    /// When the drain was asked for.
    pub requested: Time,
    /// The step that asked for it.
    pub step: u64,
    /// The step and time at which the cluster had settled (or the bound
    /// passed) and the checkers gave their verdicts; `None` while waiting.
    pub checked: Option<(u64, Time)>,
    /// Whether it had settled then (`false`: the bound passed first).
    pub settled: bool,
}

/// What the app shows of the liveness check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivenessState {
    /// The check's name and description (Raft's, Paxos's L1 or L2).
    pub rule: Rule,
    /// How long after healing the check may take.
    pub bound: Duration,
    /// Where it stands.
    pub status: LivenessStatus,
    /// The healed group of this episode (empty while waiting).
    pub healed: Vec<NodeId>,
    /// Every failure so far, as violations of [`LivenessState::rule`] (not
    /// a safety rule: the app keeps them apart).
    pub failures: Vec<Violation>,
    /// The latest final check, if one was asked for.
    pub drain: Option<DrainState>,
}

/// The liveness monitor of one run (see the module documentation).
pub struct Liveness<P> {
    state: LivenessState,
    interval: Duration,
    next_poll: Time,
    convergence: Convergence,
    /// The drain's verdicts are due at the step just observed.
    finish_due: bool,
    _protocol: PhantomData<fn() -> P>,
}

impl<P> Clone for Liveness<P> {
    fn clone(&self) -> Self {
        Liveness {
            state: self.state.clone(),
            interval: self.interval,
            next_poll: self.next_poll,
            convergence: self.convergence.clone(),
            finish_due: self.finish_due,
            _protocol: PhantomData,
        }
    }
}

impl<P: Sweepable> Liveness<P> {
    /// A monitor for `protocol`, named by `rule`, with the sweep's bound
    /// ([`LIVENESS_UNITS`] time units) and poll interval.
    pub fn new(protocol: &P, rule: Rule) -> Liveness<P> {
        let unit = protocol.time_unit();
        Liveness {
            state: LivenessState {
                rule,
                bound: unit.scale(LIVENESS_UNITS, 1),
                status: LivenessStatus::Waiting("the run has not started".to_string()),
                healed: Vec::new(),
                failures: Vec::new(),
                drain: None,
            },
            interval: Duration(unit.scale(1, POLLS_PER_UNIT).0.max(1)),
            next_poll: Time::ZERO,
            convergence: Convergence::default(),
            finish_due: false,
            _protocol: PhantomData,
        }
    }

    /// Where the check stands.
    pub fn state(&self) -> &LivenessState {
        &self.state
    }

    /// Reads the healed group off the world: waiting without one, a new
    /// episode when it changed.
    fn episode(&mut self, now: Time, world: &World<P>) {
        let healed = match healed_group(world.protocol(), world) {
            Ok(h) => h,
            Err(why) => {
                self.state.status = LivenessStatus::Waiting(why);
                self.state.healed.clear();
                return;
            }
        };
        if healed != self.state.healed || matches!(self.state.status, LivenessStatus::Waiting(_)) {
            self.state.healed = healed;
            self.convergence = Convergence::default();
            self.state.status = LivenessStatus::Pending {
                since: now,
                reason: "not polled yet".to_string(),
            };
        }
    }

    fn poll(&mut self, step: u64, now: Time, world: &World<P>) {
        let protocol = world.protocol();
        self.episode(now, world);
        let LivenessStatus::Pending { since, .. } = self.state.status else {
            return;
        };
        self.state.status = match self.convergence.poll(protocol, world, &self.state.healed) {
            Ok(()) => LivenessStatus::Held { since, at: now },
            Err(why) if now.saturating_since(since) >= self.state.bound => {
                let servers = protocol.servers();
                let reason = not_converged(&self.state.healed, self.state.bound, &why);
                if self.state.failures.len() < MAX_FAILURES {
                    self.state.failures.push(Violation {
                        rule: self.state.rule.id,
                        step,
                        time: now,
                        nodes: self
                            .state
                            .healed
                            .iter()
                            .copied()
                            .filter(|n| servers.contains(n))
                            .collect(),
                        message: reason.clone(),
                    });
                }
                LivenessStatus::Failed {
                    since,
                    at: now,
                    reason,
                }
            }
            Err(reason) => LivenessStatus::Pending { since, reason },
        };
    }
}

impl<P: Sweepable> Liveness<P> {
    /// Between polls: holds if a poll now would pass.
    fn look(&mut self, now: Time, world: &World<P>) {
        let LivenessStatus::Pending { since, .. } = self.state.status else {
            return;
        };
        if self
            .convergence
            .check(world.protocol(), world, &self.state.healed)
            .is_ok()
        {
            self.state.status = LivenessStatus::Held { since, at: now };
        }
    }
}

impl<P: Sweepable + 'static> Checker<P> for Liveness<P> {
    /// None: the check is no safety rule, and is listed on its own.
    fn rules(&self) -> &'static [Rule] {
        &[]
    }

    fn observe(
        &mut self,
        record: &StepRecord<NodeOf<P>>,
        world: &World<P>,
        _report: &mut Report<'_>,
    ) {
        self.finish_due = false;
        if let StepEvent::Input(Input::Drain) = record.event {
            // A new episode from here, even if nothing changed: work that
            // came in since the last one held must settle too.
            self.state.status = LivenessStatus::Waiting(String::new());
            self.state.drain = Some(DrainState {
                requested: record.time,
                step: record.step,
                checked: None,
                settled: false,
            });
        }
        if record.time < self.next_poll {
            // An input (a fault, a heal) may start or end an episode at
            // once; a milestone may be convergence.
            if matches!(record.event, StepEvent::Input(_)) || !record.out.milestones().is_empty() {
                self.episode(record.time, world);
                self.look(record.time, world);
            }
        } else {
            let i = self.interval.0;
            self.next_poll = Time((record.time.0 / i + 1).saturating_mul(i));
            self.poll(record.step, record.time, world);
        }
        // A drain waits for the episode it began (or a later one) to be
        // decided, then asks for the verdicts.
        let decided = match self.state.status {
            LivenessStatus::Held { .. } => Some(true),
            LivenessStatus::Failed { .. } => Some(false),
            _ => None,
        };
        if let (Some(settled), Some(d)) = (decided, self.state.drain.as_mut()) {
            if d.checked.is_none() {
                d.checked = Some((record.step, record.time));
                d.settled = settled;
                self.finish_due = true;
            }
        }
    }

    fn finish_due(&self) -> bool {
        self.finish_due
    }

    fn liveness(&self) -> Option<&LivenessState> {
        Some(&self.state)
    }
}

/// The inputs that end the faults for a final check, in order: every
/// crashed server stays down for good (as if its disk were lost: the
/// sweep's liveness phase leaves a minority so) unless the servers that are
/// up fall short of a majority, when the lowest crashed ones restart;
/// crashed clients restart; paused nodes resume; every node runs at normal
/// speed and clock rate; every cut link heals; and the network defaults and
/// every link's own parameters lose, duplicate and hold back nothing
/// (latencies are kept). With them applied, the nodes that are up form the
/// healed group. The app's "Drain and check" applies them, then
/// [`Input::Drain`]. Empty if there is nothing to end.
pub fn ending_every_fault<P: Sweepable>(world: &World<P>) -> Vec<Input<OpOf<P>>> {
    let mut inputs = Vec::new();
    let servers = world.protocol().servers();
    let crashed = |n: NodeId| world.conditions(n).health == Health::Crashed;
    let mut short =
        (servers.len() / 2 + 1).saturating_sub(servers.iter().filter(|&&s| !crashed(s)).count());
    let count = world.node_count() as u32;
    for node in (0..count).map(NodeId) {
        let c = world.conditions(node);
        match c.health {
            Health::Crashed if !servers.contains(&node) || short > 0 => {
                short -= usize::from(servers.contains(&node));
                inputs.push(Input::Restart(node));
            }
            Health::Crashed => continue,
            Health::Paused => inputs.push(Input::Resume(node)),
            Health::Up => {}
        }
        if c.slowdown != Permille::ONE {
            inputs.push(Input::Slow {
                node,
                factor: Permille::ONE,
            });
        }
        if c.clock_rate != Permille::ONE {
            inputs.push(Input::Skew {
                node,
                rate: Permille::ONE,
            });
        }
    }
    let net = world.network();
    let links = || {
        (0..count).flat_map(|a| {
            (0..count)
                .filter(move |&b| b != a)
                .map(move |b| (NodeId(a), NodeId(b)))
        })
    };
    if links().any(|(a, b)| net.is_cut(a, b)) {
        inputs.push(Input::HealAll);
    }
    let cleaned = |p: &LinkParams| LinkParams {
        drop: Ppm::NEVER,
        duplicate: Ppm::NEVER,
        delay_spike: Ppm::NEVER,
        ..*p
    };
    let defaults = net.defaults();
    if cleaned(defaults) != *defaults {
        inputs.push(Input::SetNetwork(cleaned(defaults)));
    }
    for (from, to) in links() {
        if let Some(own) = &net.link(from, to).params {
            if cleaned(own) != *own {
                inputs.push(Input::SetLink {
                    from,
                    to,
                    params: Some(cleaned(own)),
                });
            }
        }
    }
    inputs
}

/// Whether a link loses nothing, duplicates nothing and holds nothing back.
fn clean<P: Sweepable>(world: &World<P>, from: NodeId, to: NodeId) -> bool {
    let net = world.network();
    let p = net.params(from, to);
    !net.is_cut(from, to)
        && p.drop == Ppm::NEVER
        && p.duplicate == Ppm::NEVER
        && p.delay_spike == Ppm::NEVER
}

/// What is wrong with a node, if anything.
fn node_fault<P: Sweepable>(world: &World<P>, id: NodeId) -> Option<String> {
    let c = world.conditions(id);
    match c.health {
        Health::Crashed => Some(format!("{id} is crashed")),
        Health::Paused => Some(format!("{id} is paused")),
        Health::Up if c.slowdown != Permille::ONE => Some(format!("{id} is slowed down")),
        Health::Up if c.clock_rate != Permille::ONE => Some(format!("{id}'s clock is skewed")),
        Health::Up => None,
    }
}

fn link_fault<P: Sweepable>(world: &World<P>, from: NodeId, to: NodeId) -> Option<String> {
    if world.network().is_cut(from, to) {
        Some(format!("{from}→{to} is cut"))
    } else if !clean(world, from, to) {
        Some(format!("{from}→{to} loses or reorders messages"))
    } else {
        None
    }
}

/// The healed group: the largest set of healthy servers with clean links
/// among them (lowest ids on a tie), if it is a majority, plus the clients,
/// which must be healthy with clean links to and from each of those servers.
/// Otherwise the faults in the way, in a sentence.
pub fn healed_group<P: Sweepable>(protocol: &P, world: &World<P>) -> Result<Vec<NodeId>, String> {
    let servers = protocol.servers();
    let majority = servers.len() / 2 + 1;
    let mut faults: Vec<String> = servers
        .iter()
        .filter_map(|&s| node_fault(world, s))
        .collect();
    let good: Vec<NodeId> = servers
        .iter()
        .copied()
        .filter(|&s| node_fault(world, s).is_none())
        .collect();
    // Servers beyond 64 cannot be in a bitmask; no protocol has that many.
    let good = &good[..good.len().min(64)];
    let mut adj = vec![0u64; good.len()];
    for (i, &a) in good.iter().enumerate() {
        for (j, &b) in good.iter().enumerate().skip(i + 1) {
            let fault = link_fault(world, a, b).or_else(|| link_fault(world, b, a));
            match fault {
                None => {
                    adj[i] |= 1 << j;
                    adj[j] |= 1 << i;
                }
                Some(f) => faults.push(f),
            }
        }
    }
    let all = if good.len() == 64 {
        u64::MAX
    } else {
        (1u64 << good.len()) - 1
    };
    let mut best = 0u64;
    largest_clique(&adj, 0, all, &mut best);
    if (best.count_ones() as usize) < majority {
        let more = faults.len().saturating_sub(3);
        faults.truncate(3);
        let mut why = format!(
            "no majority of servers is up and connected without faults ({})",
            faults.join("; ")
        );
        if more > 0 {
            why = format!("{why}, and {more} more");
        }
        return Err(why);
    }
    let mut group: Vec<NodeId> = good
        .iter()
        .enumerate()
        .filter(|(i, _)| best & (1 << i) != 0)
        .map(|(_, &n)| n)
        .collect();
    let majority_group = group.clone();
    for c in protocol.clients() {
        if let Some(f) = node_fault(world, c) {
            return Err(format!("client {f}"));
        }
        for &s in &majority_group {
            if let Some(f) = link_fault(world, c, s).or_else(|| link_fault(world, s, c)) {
                return Err(f);
            }
        }
        group.push(c);
    }
    Ok(group)
}

/// Branch and bound over the candidates, lowest index first, so that of
/// the largest cliques the one with the lowest ids is found first and kept.
fn largest_clique(adj: &[u64], current: u64, candidates: u64, best: &mut u64) {
    if current.count_ones() + candidates.count_ones() <= best.count_ones() {
        return;
    }
    if candidates == 0 {
        *best = current;
        return;
    }
    let v = candidates.trailing_zeros() as usize;
    let bit = 1u64 << v;
    largest_clique(adj, current | bit, candidates & adj[v], best);
    largest_clique(adj, current, candidates & !bit, best);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Checkers;
    use crate::input::Input;
    use crate::sim::Sim;
    use crate::testkit::broadcast::Broadcast;
    use crate::world::{Protocol, WorldConfig};

    const RULE: Rule = Rule {
        id: "L",
        name: "Delivery",
        description: "test",
    };

    fn sim() -> Sim<Broadcast> {
        let b = Broadcast::for_sweep(5, None).unwrap();
        let checkers = Checkers::new(vec![Box::new(Liveness::new(&b, RULE))]);
        Sim::new(World::new(b, WorldConfig::with_seed(3)), checkers)
    }

    fn status(sim: &Sim<Broadcast>) -> LivenessStatus {
        sim.liveness().unwrap().status.clone()
    }

    #[test]
    fn the_largest_clique_has_the_lowest_ids() {
        // 0-1-2 a triangle, 2-3-4 a triangle: both size 3, {0,1,2} wins.
        let adj = [0b00110, 0b00101, 0b11011, 0b10100, 0b01100];
        let mut best = 0;
        largest_clique(&adj, 0, 0b11111, &mut best);
        assert_eq!(best, 0b00111);
    }

    /// Each kind of fault keeps exactly its node, or one end of its link,
    /// out of the healed group, and the sentence names it.
    #[test]
    fn every_fault_keeps_its_node_or_link_out_of_the_healed_group() {
        let healed = |sim: &Sim<Broadcast>| healed_group(sim.world().protocol(), sim.world());
        let ids = |v: &[u32]| v.iter().map(|&i| NodeId(i)).collect::<Vec<_>>();
        let mut sim = sim();
        assert_eq!(healed(&sim).unwrap(), ids(&[0, 1, 2, 3, 4]));
        sim.apply(Input::Slow {
            node: NodeId(1),
            factor: Permille(3_000),
        })
        .unwrap();
        assert_eq!(healed(&sim).unwrap(), ids(&[0, 2, 3, 4]));
        sim.apply(Input::Skew {
            node: NodeId(2),
            rate: Permille(1_500),
        })
        .unwrap();
        assert_eq!(healed(&sim).unwrap(), ids(&[0, 3, 4]));
        // One lossy, one duplicating and one spiking link, each between
        // two of the three left: no majority, and every fault is named.
        let defaults = *sim.world().network().defaults();
        for (from, to, params) in [
            (
                0,
                3,
                LinkParams {
                    drop: Ppm(1),
                    ..defaults
                },
            ),
            (
                3,
                4,
                LinkParams {
                    duplicate: Ppm(1),
                    ..defaults
                },
            ),
            (
                4,
                0,
                LinkParams {
                    delay_spike: Ppm(1),
                    ..defaults
                },
            ),
        ] {
            sim.apply(Input::SetLink {
                from: NodeId(from),
                to: NodeId(to),
                params: Some(params),
            })
            .unwrap();
        }
        let why = healed(&sim).unwrap_err();
        assert!(why.starts_with("no majority of servers is up"), "{why}");
        for fault in [
            "n2 is slowed down",
            "n3's clock is skewed",
            "n1→n4 loses or reorders messages",
        ] {
            assert!(why.contains(fault), "{fault}: {why}");
        }
        assert!(why.contains("and 2 more"), "{why}");
        // The drain's inputs clear every kind of noise on those links.
        let ends = ending_every_fault(sim.world());
        for input in ends {
            if let Input::SetLink {
                params: Some(p), ..
            } = &input
            {
                assert_eq!(
                    (p.drop, p.duplicate, p.delay_spike),
                    (Ppm::NEVER, Ppm::NEVER, Ppm::NEVER)
                );
            }
            sim.apply(input).unwrap();
        }
        assert_eq!(healed(&sim).unwrap(), ids(&[0, 1, 2, 3, 4]));
    }

    #[test]
    fn a_healthy_run_holds_and_a_minority_fault_keeps_it_healed() {
        let mut sim = sim();
        sim.run_until(Time(2_000_000), u64::MAX);
        assert!(
            matches!(status(&sim), LivenessStatus::Held { .. }),
            "{:?}",
            status(&sim)
        );
        // Cutting two servers off leaves a healed majority of three: a new
        // episode, which holds again.
        sim.apply(Input::Crash(NodeId(4))).unwrap();
        sim.apply(Input::Crash(NodeId(3))).unwrap();
        sim.run_until(Time(4_000_000), u64::MAX);
        assert_eq!(
            sim.liveness().unwrap().healed,
            vec![NodeId(0), NodeId(1), NodeId(2)]
        );
        assert!(matches!(status(&sim), LivenessStatus::Held { .. }));
        // A third crash leaves no majority: the check waits, and says why.
        sim.apply(Input::Crash(NodeId(2))).unwrap();
        sim.run_until(Time(5_000_000), u64::MAX);
        let LivenessStatus::Waiting(why) = status(&sim) else {
            panic!("{:?}", status(&sim));
        };
        assert!(why.contains("n3 is crashed"), "{why}");
    }

    #[test]
    fn the_state_is_a_function_of_the_step_and_seeking_restores_it() {
        let mut sim = sim();
        sim.run_until(Time(300_000), u64::MAX);
        sim.apply(Input::Crash(NodeId(0))).unwrap();
        sim.apply(Input::Crash(NodeId(1))).unwrap();
        sim.apply(Input::Crash(NodeId(2))).unwrap();
        sim.run_until(Time(3_000_000), u64::MAX);
        let mut seen = Vec::new();
        let end = sim.world().steps();
        for s in (0..=end).step_by(7) {
            sim.seek_step(s);
            seen.push((s, status(&sim)));
        }
        for (s, st) in seen.iter().rev() {
            sim.seek_step(*s);
            assert_eq!(&status(&sim), st, "step {s}");
        }
    }

    /// A checker whose end-of-run verdict names the step it was asked at.
    #[derive(Clone)]
    struct Verdict;

    impl Checker<Broadcast> for Verdict {
        fn rules(&self) -> &'static [Rule] {
            &[]
        }
        fn observe(
            &mut self,
            _record: &StepRecord<NodeOf<Broadcast>>,
            _world: &World<Broadcast>,
            _report: &mut Report<'_>,
        ) {
        }
        fn finish(&mut self, world: &World<Broadcast>) -> Vec<Violation> {
            vec![Violation {
                rule: "V",
                step: world.steps(),
                time: world.now(),
                nodes: Vec::new(),
                message: "asked".to_string(),
            }]
        }
    }

    #[test]
    fn a_drain_ends_every_fault_waits_to_settle_then_asks_for_the_verdicts_once() {
        let b = Broadcast::for_sweep(5, None).unwrap();
        let checkers = Checkers::new(vec![Box::new(Liveness::new(&b, RULE)), Box::new(Verdict)]);
        let mut sim = Sim::new(World::new(b, WorldConfig::with_seed(3)), checkers);
        sim.run_until(Time(300_000), u64::MAX);
        assert!(ending_every_fault(sim.world()).is_empty());
        sim.apply(Input::Crash(NodeId(0))).unwrap();
        sim.apply(Input::Pause(NodeId(1))).unwrap();
        sim.apply(Input::Cut {
            from: NodeId(2),
            to: NodeId(3),
        })
        .unwrap();
        sim.apply(Input::Slow {
            node: NodeId(3),
            factor: Permille(3_000),
        })
        .unwrap();
        let lossy = LinkParams {
            drop: Ppm(100_000),
            ..*sim.world().network().defaults()
        };
        sim.apply(Input::SetLink {
            from: NodeId(4),
            to: NodeId(2),
            params: Some(lossy),
        })
        .unwrap();
        sim.run_until(Time(600_000), u64::MAX);
        let ends = ending_every_fault(sim.world());
        // n0 stays down for good: four of five are up.
        let kinds: Vec<&str> = ends.iter().map(Input::kind).collect();
        assert_eq!(kinds, ["resume", "slow", "heal-all", "set-link"]);
        for input in ends {
            sim.apply(input).unwrap();
        }
        assert!(ending_every_fault(sim.world()).is_empty());
        assert_eq!(
            healed_group(sim.world().protocol(), sim.world())
                .unwrap()
                .len(),
            4
        );
        // Work still under way when the drain is asked for: it waits.
        sim.apply(Input::Request {
            node: NodeId(2),
            op: 77,
        })
        .unwrap();
        sim.apply(Input::Drain).unwrap();
        let asked = sim.world().steps() - 1;
        let drain = sim.liveness().unwrap().drain.clone().unwrap();
        assert_eq!((drain.step, drain.checked), (asked, None));
        assert!(sim.violations().is_empty());
        sim.run_until(Time(5_000_000), u64::MAX);
        let drain = sim.liveness().unwrap().drain.clone().unwrap();
        let (step, time) = drain.checked.expect("settled within the bound");
        assert!(drain.settled && step > asked);
        // Asked once, stamped with the step that settled.
        let v = sim.violations();
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].rule, v[0].step, v[0].time), ("V", step, time));
        // A function of the step: before it, not asked yet.
        sim.seek_step(step);
        assert!(sim.violations().is_empty());
        sim.seek_step(step + 1);
        assert_eq!(sim.violations().len(), 1);
    }

    #[test]
    fn a_drain_restarts_crashed_servers_only_to_make_a_majority() {
        let mut sim = sim();
        sim.run_until(Time(300_000), u64::MAX);
        for n in [4, 1, 2, 3] {
            sim.apply(Input::Crash(NodeId(n))).unwrap();
        }
        // One of five is up: the two lowest crashed restart.
        let ends = ending_every_fault(sim.world());
        assert_eq!(ends, [Input::Restart(NodeId(1)), Input::Restart(NodeId(2))]);
    }

    /// Broadcast judged by a predicate that never holds: a cluster that
    /// never converges, for the monitor's failure path.
    struct Stuck(Broadcast);

    impl Protocol for Stuck {
        type Node = NodeOf<Broadcast>;
        fn name(&self) -> &'static str {
            "stuck"
        }
        fn node_count(&self) -> usize {
            self.0.node_count()
        }
        fn new_node(&self, id: NodeId) -> Self::Node {
            self.0.new_node(id)
        }
    }

    impl Sweepable for Stuck {
        fn toggles() -> &'static [&'static str] {
            &[]
        }
        fn for_sweep(servers: usize, toggle: Option<&str>) -> Result<Self, String> {
            Broadcast::for_sweep(servers, toggle).map(Stuck)
        }
        fn servers(&self) -> Vec<NodeId> {
            self.0.servers()
        }
        fn clients(&self) -> Vec<NodeId> {
            self.0.clients()
        }
        fn time_unit(&self) -> Duration {
            self.0.time_unit()
        }
        fn checkers(&self) -> Checkers<Self> {
            Checkers::default()
        }
        fn workload_op(&self, n: u64, _rng: &mut crate::rng::SimRng) -> u64 {
            n
        }
        fn converged(&self, _world: &World<Self>, _healed: &[NodeId]) -> Result<(), String> {
            Err("it never does".to_string())
        }
    }

    #[test]
    fn a_cluster_that_never_converges_fails_once_the_bound_has_passed() {
        let stuck = Stuck(Broadcast::for_sweep(3, None).unwrap());
        let checkers = Checkers::new(vec![Box::new(Liveness::new(&stuck, RULE))]);
        let mut sim = Sim::new(World::new(stuck, WorldConfig::with_seed(3)), checkers);
        let bound = sim.liveness().unwrap().bound;
        // Work that keeps the servers busy, so that polls keep coming.
        let mut op = 0;
        let mut busy_until = |sim: &mut Sim<Stuck>, end: Time| {
            while sim.world().now() < end {
                let next = Time(sim.world().now().0 + 100_000);
                sim.run_until(next, u64::MAX);
                let node = NodeId((op % 3) as u32);
                sim.apply(Input::Request { node, op }).unwrap();
                op += 1;
            }
        };
        busy_until(&mut sim, Time(bound.0 / 2));
        let LivenessStatus::Pending { since, reason } = sim.liveness().unwrap().status.clone()
        else {
            panic!("{:?}", sim.liveness().unwrap().status.clone());
        };
        assert_eq!(reason, "it never does");
        assert!(sim.liveness().unwrap().failures.is_empty());
        busy_until(&mut sim, Time(since.0 + 2 * bound.0));
        let LivenessStatus::Failed {
            since: failed_since,
            at,
            reason,
        } = sim.liveness().unwrap().status.clone()
        else {
            panic!("{:?}", sim.liveness().unwrap().status.clone());
        };
        assert_eq!(failed_since, since);
        assert!(at.saturating_since(since) >= bound);
        let healed = [NodeId(0), NodeId(1), NodeId(2)];
        assert_eq!(reason, not_converged(&healed, bound, "it never does"));
        // One failure, recorded as a violation of the liveness rule, kept
        // apart from the safety rules; later polls do not repeat it.
        let failures = &sim.liveness().unwrap().failures;
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(
            (failures[0].rule, failures[0].time, &failures[0].nodes[..]),
            ("L", at, &healed[..])
        );
        assert_eq!(failures[0].message, reason);
        assert!(sim.violations().is_empty());
        // A drain starts a new episode, which fails in its turn: the
        // verdicts are asked for, with the cluster found unsettled.
        sim.apply(Input::Drain).unwrap();
        let asked = sim.world().now();
        busy_until(&mut sim, Time(asked.0 + 2 * bound.0));
        let state = sim.liveness().unwrap();
        assert_eq!(state.failures.len(), 2);
        let drain = state.drain.clone().unwrap();
        let (_, checked) = drain.checked.expect("decided");
        assert!(!drain.settled);
        assert!(checked.saturating_since(asked) >= bound);
    }
}
