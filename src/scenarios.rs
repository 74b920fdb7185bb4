//! Scripted scenarios bundled with the app: one per teaching toggle, each a
//! short run that shows the rule the toggle breaks being broken.
//!
//! They are share links generated from the protocol's scenario scripts
//! (`crates/protocols/testdata/*/toggle-*.txt`) by this module's tests:
//! `REWRITE=1 cargo test -p clusterscope scenarios` writes
//! `static/scenarios/*.txt`; without it the tests check that the bundled
//! links still match the scripts and still trip exactly the rules the toggle
//! is meant to break, through the app's own build path.

use clusterscope::share::Shared;

use crate::lab::{Lab, Notice, Tone};

const RAFT: &str = include_str!("../static/scenarios/raft.txt");
const PAXOS: &str = include_str!("../static/scenarios/paxos.txt");
const PUBSUB: &str = include_str!("../static/scenarios/pubsub.txt");

/// One bundled scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The protocol.
    pub protocol: &'static str,
    /// The toggle it demonstrates.
    pub toggle: &'static str,
    /// Where the script's interesting part ends (virtual microseconds).
    pub end_us: u64,
    /// The share link fragment.
    pub fragment: &'static str,
}

/// Every bundled scenario.
pub fn all() -> Vec<Scenario> {
    let mut all = parse("raft", RAFT);
    all.extend(parse("paxos", PAXOS));
    all.extend(parse("pubsub", PUBSUB));
    all
}

/// The scenario for `toggle` of `protocol`.
pub fn find(protocol: &str, toggle: &str) -> Option<Scenario> {
    all()
        .into_iter()
        .find(|s| s.protocol == protocol && s.toggle == toggle)
}

fn parse(protocol: &'static str, text: &'static str) -> Vec<Scenario> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            Some(Scenario {
                protocol,
                toggle: f.next()?,
                end_us: f.next()?.parse().ok()?,
                fragment: f.next()?,
            })
        })
        .collect()
}

impl Scenario {
    /// The run of this scenario at its start, ready to play.
    pub fn open(&self) -> Result<Lab, String> {
        let shared = Shared::decode(self.fragment)
            .map_err(|e| format!("The bundled scenario for {} is damaged: {e}.", self.toggle))?;
        let mut lab = Lab::open(&shared)?;
        lab.notice = Some(self.notice());
        Ok(lab)
    }

    /// What the page says when it opens the scenario (also when it opens
    /// after a reload into the download that runs it).
    pub fn notice(&self) -> Notice {
        Notice {
            tone: Tone::Info,
            text: format!(
                "Scenario for the toggle {}: press play (or n for the next round) and watch the Checkers panel.",
                self.toggle
            ),
        }
    }
}

/// Where a bundled scenario ends: where its script ends, and for a toggle
/// that breaks liveness rather than a safety rule, late enough for the
/// liveness check's bound to pass (the sweep's [`sim::sweep::LIVENESS_UNITS`]
/// time units, and two more for the polls) so that the check fails in it.
#[cfg(test)]
fn scenario_end<P: sim::Sweepable>(
    script_end: sim::Time,
    protocol: &P,
    liveness: bool,
) -> sim::Time {
    if !liveness {
        return script_end;
    }
    let bound = protocol
        .time_unit()
        .scale(sim::sweep::LIVENESS_UNITS + 2, 1);
    script_end.max(sim::Time(bound.0))
}

/// What the three bundles' tests share: a toggle script's run as a bundle
/// line, a script's latency as the app's network, and the check that the
/// bundled file matches its scripts.
#[cfg(test)]
mod bundle {
    use protocols::script::{Runner, Scripted};
    use sim::{InputRecord, Interactive, Latency, LinkParams, Time};

    use crate::catalog::Setup;

    /// The bundle line of a toggle script's run: the toggle, where the
    /// scenario ends (us) and the link, played fast enough that the
    /// toggle's effect shows within a minute of play.
    pub fn line<P: Scripted + Interactive>(
        toggle: &str,
        runner: &Runner<P>,
        setup: Setup,
        end: Time,
    ) -> String {
        let protocol = runner
            .world()
            .expect("the script sets up a world")
            .protocol();
        let inputs: Vec<InputRecord<String>> = runner
            .input_log()
            .iter()
            .map(|r| InputRecord {
                step: r.step,
                time: r.time,
                input: r.input.clone().map_op(|op| protocol.format_op(&op)),
            })
            .collect();
        let mut shared = setup.to_shared(inputs, Time::ZERO, None, None);
        shared.speed = Some(100);
        format!("{toggle}\t{}\t{}\n", end.0, shared.encode())
    }

    /// A script's `latency=lo..hi` (milliseconds, `ms` optional).
    pub fn latency(value: &str) -> LinkParams {
        let ms = |v: &str| {
            sim::Duration::from_ms(v.trim_end_matches("ms").parse().expect("milliseconds"))
        };
        let (lo, hi) = value.split_once("..").unwrap_or((value, value));
        LinkParams {
            latency: Latency::uniform(ms(lo), ms(hi)),
            ..LinkParams::default()
        }
    }

    /// The bundled file equals what its scripts generate now, or, with
    /// `REWRITE` set, is rewritten.
    pub fn check(bundled: &str, fresh: &str, out: &str) {
        if std::env::var_os("REWRITE").is_some() {
            std::fs::create_dir_all(std::path::Path::new(out).parent().unwrap()).unwrap();
            std::fs::write(out, fresh).unwrap();
        } else {
            assert_eq!(
                bundled, fresh,
                "{out} is stale: run REWRITE=1 cargo test -p clusterscope scenarios"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use sim::sorted::SortedMap;

    use protocols::raft::{Raft, Toggle};
    use protocols::script::run_file;
    use sim::{LivenessStatus, Time};

    use super::*;
    use crate::catalog::{self, OptionValue, Setup};

    const SCRIPTS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/protocols/testdata/raft"
    );
    const OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/static/scenarios/raft.txt");

    /// The app's setup for a script's `setup` line.
    fn setup_of(args: &SortedMap<String, String>) -> Setup {
        let ms = |v: &str| {
            v.trim_end_matches("ms")
                .parse::<u64>()
                .expect("milliseconds")
        };
        let mut setup = Setup {
            protocol: "raft".into(),
            servers: args["servers"].parse().unwrap(),
            seed: args.get("seed").map_or(1, |s| s.parse().unwrap()),
            ..Setup::default()
        };
        if let Some(l) = args.get("latency") {
            setup.network = bundle::latency(l);
        }
        for (key, value) in args {
            let v = match key.as_str() {
                "servers" | "seed" | "latency" => continue,
                "toggle" => {
                    setup.toggles.push(value.clone());
                    continue;
                }
                "clients" | "batch" => OptionValue::Count(value.parse().unwrap()),
                "heartbeat" => OptionValue::Millis(ms(value)),
                "election" => {
                    let (a, b) = value.split_once("..").unwrap();
                    OptionValue::MillisRange(ms(a), ms(b))
                }
                "prevote" | "checkquorum" => OptionValue::Switch(value == "on"),
                other => panic!("a script setup key the app cannot express: {other}"),
            };
            setup.options.insert(key.clone(), v);
        }
        setup
    }

    /// Runs every toggle script and turns it into a line of the bundle.
    fn generate() -> String {
        let mut out = String::from(
            "# Generated by `REWRITE=1 cargo test -p clusterscope scenarios` from\n\
             # crates/protocols/testdata/raft/toggle-*.txt: toggle, end (us), link.\n",
        );
        for toggle in Toggle::ALL {
            let path = format!("{SCRIPTS}/toggle-{}.txt", toggle.name());
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let (_, runner) = run_file::<Raft>(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            let world = runner.world().expect("the script sets up a world");
            let end = scenario_end(world.now(), world.protocol(), toggle.trips().is_empty());
            out.push_str(&bundle::line(
                toggle.name(),
                &runner,
                setup_of(runner.setup_args()),
                end,
            ));
        }
        out
    }

    #[test]
    fn bundled_scenarios_match_their_scripts() {
        bundle::check(RAFT, &generate(), OUT);
    }

    /// Opened through the app's own path (link, catalog, replay), each
    /// scenario breaks exactly the rules its toggle is meant to break. (That
    /// the same script breaks nothing with the toggle off is checked by the
    /// protocol's scenario tests: a step-indexed input log does not fit a
    /// run that behaves differently, so it cannot be checked here.)
    #[test]
    fn each_scenario_trips_exactly_its_rules_in_the_app() {
        let raft = all().into_iter().filter(|s| s.protocol == "raft").count();
        assert_eq!(raft, Toggle::ALL.len(), "one scenario per toggle");
        for toggle in Toggle::ALL {
            let scenario = find("raft", toggle.name()).expect("bundled");
            let shared = Shared::decode(scenario.fragment).unwrap();
            let lab = Lab::open(&shared).unwrap_or_else(|e| panic!("{}: {e}", toggle.name()));
            let mut run = lab.run.borrow_mut();
            run.seek_time(Time(scenario.end_us));
            let mut rules: Vec<&'static str> = run.violations().iter().map(|v| v.rule).collect();
            rules.sort();
            rules.dedup();
            assert_eq!(rules, toggle.trips(), "with {}", toggle.name());
            // The liveness toggles break no safety rule; what the timeline
            // shows instead is the churn.
            let count = |kind: &str| {
                run.timeline()
                    .milestones
                    .iter()
                    .filter(|m| m.kind == kind)
                    .count()
            };
            match toggle {
                Toggle::NoPrevoteCheckquorum => {
                    assert!(
                        count("stepped-down") >= 5,
                        "the leader is deposed again and again: {}",
                        count("stepped-down")
                    )
                }
                Toggle::FixedElectionTimeout => assert!(
                    count("leader-elected") == 0 && count("term-started") >= 10,
                    "split votes without end: {} elected, {} elections",
                    count("leader-elected"),
                    count("term-started")
                ),
                _ => {}
            }
            // ... and the liveness check fails within the scenario, with
            // the sweep's sentence; the safety toggles' short runs leave it
            // pending.
            let live = run.liveness().expect("the app watches liveness");
            let failed = |since: u64, at: u64, reason: &str| LivenessStatus::Failed {
                since: Time(since),
                at: Time(at),
                reason: reason.to_string(),
            };
            match toggle {
                Toggle::NoPrevoteCheckquorum => assert_eq!(
                    live.status,
                    failed(297_851, 6_301_564, "the healed majority {n1 n2} had not converged 6000 ms after healing: n1 leads term 28 but has not committed an entry of it yet")
                ),
                Toggle::FixedElectionTimeout => assert_eq!(
                    live.status,
                    failed(0, 3_046_800, "the healed majority {n1 n2 n3} had not converged 3000 ms after healing: 0 leaders in term 17")
                ),
                _ => {
                    assert!(live.failures.is_empty(), "with {}", toggle.name());
                    assert!(
                        matches!(live.status, LivenessStatus::Pending { .. }),
                        "with {}: {:?}",
                        toggle.name(),
                        live.status
                    );
                }
            }
            assert_eq!(
                run.timeline().liveness.len(),
                usize::from(toggle.trips().is_empty()),
                "with {}",
                toggle.name()
            );
        }
    }

    #[test]
    fn every_toggle_in_settings_has_a_scenario() {
        let entry = catalog::entry("raft").unwrap();
        for t in entry.toggles {
            assert!(
                find("raft", t.name).is_some(),
                "{} has no bundled scenario",
                t.name
            );
        }
    }

    #[test]
    fn a_scenario_opens_at_its_start_with_its_future_on_the_timeline() {
        let s = find("raft", Toggle::VolatileTermAndVote.name()).unwrap();
        let lab = s.open().unwrap();
        let run = lab.run.borrow();
        assert_eq!(run.now(), Time::ZERO);
        assert!(!run.inputs().is_empty());
        assert_eq!(lab.speed, 0.1);
    }
}

/// The single-decree Paxos bundle, generated from
/// `crates/protocols/testdata/paxos/toggle-*.txt` like Raft's.
#[cfg(test)]
mod paxos_tests {
    use sim::sorted::SortedMap;

    use protocols::paxos::{Paxos, Toggle};
    use protocols::script::run_file;
    use sim::{LivenessStatus, Time};

    use super::*;
    use crate::catalog::{self, OptionValue, Setup};

    const SCRIPTS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/protocols/testdata/paxos"
    );
    const OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/static/scenarios/paxos.txt");

    /// The app's setup for a single-decree script's `setup` line.
    fn setup_of(args: &SortedMap<String, String>) -> Setup {
        let ms = |v: &str| {
            v.trim_end_matches("ms")
                .parse::<u64>()
                .expect("milliseconds")
        };
        let mut setup = Setup {
            protocol: "paxos".into(),
            servers: args["servers"].parse().unwrap(),
            seed: args.get("seed").map_or(1, |s| s.parse().unwrap()),
            ..Setup::default()
        };
        if let Some(l) = args.get("latency") {
            setup.network = bundle::latency(l);
        }
        for (key, value) in args {
            let v = match key.as_str() {
                "servers" | "seed" | "latency" => continue,
                "toggle" => {
                    setup.toggles.push(value.clone());
                    continue;
                }
                "proposers" => OptionValue::Count(value.parse().unwrap()),
                "start" | "timeout" | "backoff" => OptionValue::Millis(ms(value)),
                other => panic!("a script setup key the app cannot express: {other}"),
            };
            setup.options.insert(key.clone(), v);
        }
        setup
    }

    /// Runs every toggle script and turns it into a line of the bundle.
    fn generate() -> String {
        let mut out = String::from(
            "# Generated by `REWRITE=1 cargo test -p clusterscope scenarios` from\n\
             # crates/protocols/testdata/paxos/toggle-*.txt: toggle, end (us), link.\n",
        );
        for toggle in Toggle::ALL {
            let path = format!("{SCRIPTS}/toggle-{}.txt", toggle.name());
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let (_, runner) = run_file::<Paxos>(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            let world = runner.world().expect("the script sets up a world");
            let end = scenario_end(world.now(), world.protocol(), toggle.trips().is_empty());
            out.push_str(&bundle::line(
                toggle.name(),
                &runner,
                setup_of(runner.setup_args()),
                end,
            ));
        }
        out
    }

    #[test]
    fn bundled_paxos_scenarios_match_their_scripts() {
        bundle::check(PAXOS, &generate(), OUT);
    }

    /// Opened through the app's own path, each Paxos scenario breaks
    /// exactly the rules its toggle names; the livelock chooses nothing.
    #[test]
    fn each_paxos_scenario_trips_exactly_its_rules_in_the_app() {
        for toggle in Toggle::ALL {
            let scenario = find("paxos", toggle.name()).expect("bundled");
            let shared = Shared::decode(scenario.fragment).unwrap();
            let lab = Lab::open(&shared).unwrap_or_else(|e| panic!("{}: {e}", toggle.name()));
            let mut run = lab.run.borrow_mut();
            run.seek_time(Time(scenario.end_us));
            let mut rules: Vec<&'static str> = run.violations().iter().map(|v| v.rule).collect();
            rules.sort();
            rules.dedup();
            assert_eq!(rules, toggle.trips(), "with {}", toggle.name());
            if toggle == Toggle::NoBackoff {
                let count = |kind: &str| {
                    run.timeline()
                        .milestones
                        .iter()
                        .filter(|m| m.kind == kind)
                        .count()
                };
                assert!(
                    count("value-chosen") == 0 && count("ballot-started") >= 100,
                    "dueling without end: {} chosen, {} ballots",
                    count("value-chosen"),
                    count("ballot-started")
                );
            }
            let live = run.liveness().expect("the app watches liveness");
            if toggle == Toggle::NoBackoff {
                assert_eq!(
                    live.status,
                    LivenessStatus::Failed {
                        since: Time::ZERO,
                        at: Time(6_008_400),
                        reason: "the healed majority {n1 n2 n3} had not converged 6000 ms after healing: L1: n1 has not learned a chosen value".to_string(),
                    }
                );
            } else {
                assert!(live.failures.is_empty(), "with {}", toggle.name());
            }
        }
    }

    #[test]
    fn every_paxos_toggle_in_settings_has_a_scenario() {
        for name in ["paxos", "multipaxos"] {
            for t in catalog::entry(name).unwrap().toggles {
                assert!(
                    find("paxos", t.name).is_some(),
                    "{} has no bundled scenario",
                    t.name
                );
            }
        }
    }
}

/// The liveness check in the app: held in correct runs, failed in the
/// liveness toggles' scenarios (pausing and jumping like a violation, as no
/// safety rule), and a function of the moment when seeking.
#[cfg(test)]
mod liveness_tests {
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use sim::{LivenessStatus, Time};
    use yew::Reducible;

    use super::*;
    use crate::catalog::Setup;
    use crate::lab::Action;

    fn status(lab: &Lab) -> LivenessStatus {
        lab.run.borrow().liveness().unwrap().status.clone()
    }

    #[test]
    fn a_default_run_is_healed_from_the_start_and_holds() {
        for protocol in ["raft", "paxos", "multipaxos", "pubsub"] {
            let lab = Lab::new(Setup {
                protocol: protocol.into(),
                ..Setup::default()
            })
            .unwrap();
            lab.run.borrow_mut().seek_time(Time(3_000_000));
            let live = lab.run.borrow().liveness().unwrap().clone();
            let LivenessStatus::Held { since, at } = live.status else {
                panic!("{protocol}: {:?}", live.status);
            };
            assert_eq!(since, Time::ZERO, "{protocol}");
            assert!(at < Time(3_000_000), "{protocol}");
            assert_eq!(
                live.healed.len(),
                lab.run.borrow().node_count(),
                "{protocol}"
            );
            assert!(live.failures.is_empty(), "{protocol}");
        }
    }

    #[test]
    fn a_crash_waits_in_a_minority_and_a_healed_majority_holds_again() {
        let lab = Lab::new(Setup {
            protocol: "raft".into(),
            servers: 3,
            ..Setup::default()
        })
        .unwrap();
        let mut run = lab.run.borrow_mut();
        run.seek_time(Time(2_000_000));
        run.apply(sim::Input::Crash(sim::NodeId(0))).unwrap();
        run.apply(sim::Input::Crash(sim::NodeId(1))).unwrap();
        run.seek_time(Time(3_000_000));
        let LivenessStatus::Waiting(why) = run.liveness().unwrap().status.clone() else {
            panic!("{:?}", run.liveness().unwrap().status);
        };
        assert!(why.contains("n1 is crashed; n2 is crashed"), "{why}");
        run.apply(sim::Input::Restart(sim::NodeId(1))).unwrap();
        run.seek_time(Time(9_000_000));
        assert!(
            matches!(run.liveness().unwrap().status, LivenessStatus::Held { since, .. } if since >= Time(3_000_000)),
            "{:?}",
            run.liveness().unwrap().status
        );
    }

    /// "Drain and check" on a queue run: the cut link heals, the crashed
    /// broker stays down (two of three are up), the cluster settles, the
    /// final check finds nothing lost, and a link to that moment opens the
    /// same run with the same verdict.
    #[test]
    fn a_drain_settles_the_queue_checks_it_and_a_link_reproduces_it() {
        let mut lab = Rc::new(
            Lab::new(Setup {
                protocol: "pubsub".into(),
                ..Setup::default()
            })
            .unwrap(),
        );
        lab = lab.reduce(Action::Seek(Time(1_000_000)));
        for _ in 0..3 {
            lab = lab.reduce(Action::Request(None));
        }
        lab = lab.reduce(Action::Apply(sim::Input::Crash(sim::NodeId(0))));
        lab = lab.reduce(Action::Apply(sim::Input::Cut {
            from: sim::NodeId(1),
            to: sim::NodeId(2),
        }));
        lab = lab.reduce(Action::Seek(Time(1_500_000)));
        lab = lab.reduce(Action::Drain);
        let notice = lab.notice.as_ref().expect("a notice").text.clone();
        assert!(
            notice.starts_with(
                "Drained: ended 1 fault (n1 stays down, as if lost) at 1500.000 ms; the cluster settled"
            ),
            "{notice}"
        );
        assert!(
            notice.ends_with("the final check found nothing broken."),
            "{notice}"
        );
        let (drain, counters, hash, inputs) = {
            let run = lab.run.borrow();
            let drain = run.liveness().unwrap().drain.clone().unwrap();
            assert!(run.violations().is_empty(), "{:?}", run.violations());
            let counters: BTreeMap<&str, u64> = run.counters().into_iter().collect();
            (drain, counters, run.trace_hash(), run.inputs())
        };
        let (step, at) = drain.checked.unwrap();
        assert!(drain.settled && at > Time(1_500_000));
        assert_eq!(
            lab.run.borrow().steps(),
            step + 1,
            "the run stops at the check"
        );
        assert_eq!(
            (counters["lost"], counters["acknowledged"]),
            (0, 3),
            "{counters:?}"
        );
        let kinds: Vec<&str> = inputs.iter().map(|r| r.input.kind()).collect();
        assert_eq!(kinds[kinds.len() - 2..], ["heal-all", "drain"]);
        // The link carries the drain: the same moment, the same verdict.
        let opened = Lab::open(&lab.share(None)).unwrap();
        let run = opened.run.borrow();
        assert_eq!(run.trace_hash(), hash);
        assert_eq!(run.liveness().unwrap().drain, Some(drain));
    }

    /// Plays the no-backoff scenario the way a person does: it pauses at
    /// the failure with an amber notice, breaks no safety rule, and seeking
    /// back before it shows the check pending again.
    #[test]
    fn no_backoff_fails_liveness_pauses_there_and_seeking_back_undoes_it() {
        let scenario = find("paxos", "no-backoff").unwrap();
        let mut lab = Rc::new(scenario.open().unwrap());
        {
            let l = Rc::make_mut(&mut lab);
            l.playing = true;
            l.speed = crate::lab::SPEED_MAX;
        }
        for _ in 0..200 {
            if !lab.playing {
                break;
            }
            lab = lab.reduce(Action::Frame(100.0));
        }
        assert!(!lab.playing, "the run did not pause");
        let notice = lab.notice.clone().expect("a notice");
        assert_eq!(notice.tone, Tone::Liveness);
        assert_eq!(
            notice.text,
            "Liveness check L1 failed at 6008.400 ms (no safety rule broke): the healed majority {n1 n2 n3} had not converged 6000 ms after healing: L1: n1 has not learned a chosen value"
        );
        let failure = {
            let run = lab.run.borrow();
            assert!(run.violations().is_empty());
            let live = run.liveness().unwrap();
            assert_eq!(live.failures.len(), 1);
            assert_eq!(run.steps(), live.failures[0].step + 1);
            assert_eq!(run.timeline().liveness, live.failures);
            live.failures[0].clone()
        };
        let failed = status(&lab);
        assert!(matches!(failed, LivenessStatus::Failed { .. }));

        // Back before the failure: pending, and the timeline still marks it.
        lab = lab.reduce(Action::Seek(Time(failure.time.0 - 1_000)));
        assert!(
            matches!(
                status(&lab),
                LivenessStatus::Pending {
                    since: Time::ZERO,
                    ..
                }
            ),
            "{:?}",
            status(&lab)
        );
        assert!(lab.run.borrow().liveness().unwrap().failures.is_empty());
        assert_eq!(lab.run.borrow().timeline().liveness, vec![failure.clone()]);
        // And forward again: the same failure, at the same step.
        lab = lab.reduce(Action::SeekStep(failure.step + 1));
        assert_eq!(status(&lab), failed);
        assert_eq!(lab.run.borrow().liveness().unwrap().failures, vec![failure]);
    }
}

/// The pub/sub queue's bundle, generated from
/// `crates/protocols/testdata/pubsub/toggle-*.txt` like Raft's. The scripts
/// that find their loss only in the final check (`min-insync-one`,
/// `commit-before-processing`) end in `drain`, the app's "Drain and check",
/// so the link carries the drain and the app reaches the same verdict.
#[cfg(test)]
mod pubsub_tests {
    use sim::sorted::SortedMap;

    use protocols::pubsub::{PubSub, Toggle};
    use protocols::script::{run_file, Runner};
    use sim::Time;

    use super::*;
    use crate::catalog::{OptionValue, Setup};

    const SCRIPTS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/protocols/testdata/pubsub"
    );
    const OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/static/scenarios/pubsub.txt");

    /// The app's setup for a queue script's `setup` line.
    fn setup_of(args: &SortedMap<String, String>) -> Setup {
        let mut setup = Setup {
            protocol: "pubsub".into(),
            servers: args["brokers"].parse().unwrap(),
            seed: args.get("seed").map_or(1, |s| s.parse().unwrap()),
            ..Setup::default()
        };
        // A script without groups has none; the app's default has billing.
        setup
            .options
            .insert("billing".into(), OptionValue::Count(0));
        for (key, value) in args {
            match key.as_str() {
                "brokers" | "seed" => {}
                "latency" => setup.network = bundle::latency(value),
                "toggle" => setup.toggles.push(value.clone()),
                "partitions" | "producers" | "mininsync" => {
                    setup
                        .options
                        .insert(key.clone(), OptionValue::Count(value.parse().unwrap()));
                }
                "groups" => {
                    for g in value.split(',') {
                        let (name, members) = g.split_once(':').expect("name:members");
                        assert!(
                            name == "billing" || name == "audit",
                            "the app has groups billing and audit, not {name}"
                        );
                        setup
                            .options
                            .insert(name.into(), OptionValue::Count(members.parse().unwrap()));
                    }
                }
                other => panic!("a script setup key the app cannot express: {other}"),
            }
        }
        setup
    }

    /// Runs a toggle's script.
    fn run_script(toggle: Toggle) -> Runner<PubSub> {
        let path = format!("{SCRIPTS}/toggle-{}.txt", toggle.name());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (_, runner) = run_file::<PubSub>(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        runner
    }

    fn generate() -> String {
        let mut out = String::from(
            "# Generated by `REWRITE=1 cargo test -p clusterscope scenarios` from\n\
             # crates/protocols/testdata/pubsub/toggle-*.txt: toggle, end (us), link.\n",
        );
        for toggle in Toggle::ALL {
            let runner = run_script(toggle);
            let end = runner.world().expect("the script sets up a world").now();
            out.push_str(&bundle::line(
                toggle.name(),
                &runner,
                setup_of(runner.setup_args()),
                end,
            ));
        }
        out
    }

    #[test]
    fn bundled_pubsub_scenarios_match_their_scripts() {
        bundle::check(PUBSUB, &generate(), OUT);
    }

    /// Opened through the app's own path, each queue scenario breaks the
    /// rules its script breaks (in the final check too), and those are rules
    /// its toggle is meant to break.
    #[test]
    fn each_pubsub_scenario_trips_exactly_its_rules_in_the_app() {
        let bundled: Vec<&str> = all()
            .into_iter()
            .filter(|s| s.protocol == "pubsub")
            .map(|s| s.toggle)
            .collect();
        assert_eq!(bundled, Toggle::ALL.map(Toggle::name));
        for toggle in Toggle::ALL {
            let scenario = find("pubsub", toggle.name()).expect("bundled");
            let shared = Shared::decode(scenario.fragment).unwrap();
            let lab = Lab::open(&shared).unwrap_or_else(|e| panic!("{}: {e}", toggle.name()));
            let mut run = lab.run.borrow_mut();
            run.seek_time(Time(scenario.end_us));
            let mut rules: Vec<&'static str> = run.violations().iter().map(|v| v.rule).collect();
            rules.sort();
            rules.dedup();
            let runner = run_script(toggle);
            let mut expected: Vec<&'static str> = runner
                .checkers()
                .unwrap()
                .violations()
                .iter()
                .map(|v| v.rule)
                .collect();
            expected.sort();
            expected.dedup();
            assert!(!rules.is_empty(), "{} turns nothing red", toggle.name());
            assert_eq!(rules, expected, "with {}", toggle.name());
            assert!(
                rules.iter().all(|r| toggle.trips().contains(r)),
                "{}: {rules:?} outside {:?}",
                toggle.name(),
                toggle.trips()
            );
            // The live counters agree: a Q1 loss counts as lost, a Q5
            // duplicate as duplicated.
            let counters: SortedMap<&str, u64> = run.counters().into_iter().collect();
            assert_eq!(
                counters.keys().copied().collect::<Vec<_>>(),
                [
                    "acknowledged",
                    "delivered",
                    "duplicated",
                    "lost",
                    "published"
                ]
            );
            assert_eq!(
                counters["lost"] > 0,
                rules.contains(&"Q1"),
                "{}: {counters:?}",
                toggle.name()
            );
            assert_eq!(
                counters["duplicated"] > 0,
                rules.contains(&"Q5"),
                "{}: {counters:?}",
                toggle.name()
            );
            assert!(
                counters["published"] >= 1,
                "{}: {counters:?}",
                toggle.name()
            );
        }
    }
}
