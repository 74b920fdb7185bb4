//! Opening a link in slices. A link names a moment that can lie a day of
//! virtual time into a run, millions of events away: replaying it in one go
//! would freeze the tab. [`Opening`] replays a bounded number of events per
//! call to [`Opening::advance`], so the page can paint a progress bar and
//! answer Cancel between slices, and it holds `s` (the event count) to the
//! same one-day bound as `t`. Nothing replaces the current run until the
//! whole link has replayed; a link that fails at any point leaves it as it
//! was.

use sim::{AnySim, Time};

use clusterscope::share::{Shared, MAX_TIME};

use crate::catalog::Setup;
use crate::lab::{Lab, Notice, Tone};

/// Where a link's replay stands.
enum Stage {
    /// Applying the input log: the index of the next input.
    Inputs(usize),
    /// Every input applied: running to the link's moment.
    Moment,
}

/// A link being opened.
pub struct Opening {
    lab: Lab,
    shared: Shared,
    stage: Stage,
    /// What the replay must reach, for the progress bar: the last step it
    /// knows of, or the last time when the link names no step.
    goal: Goal,
    /// Set for a sweep link: the sentence to show once it is open.
    sweep: Option<(String, Option<sim::Violation>)>,
}

#[derive(Clone, Copy)]
enum Goal {
    Step(u64),
    Time(Time),
}

impl Opening {
    /// Reads the link's setup and builds its run, replaying nothing yet.
    /// A sweep link runs its seed here (a sweep run is short) to learn the
    /// inputs and moment it opens at.
    pub fn start(shared: &Shared) -> Result<Opening, String> {
        let (shared, sweep) = if shared.sweep.is_some() {
            let sweep = crate::catalog::expand_sweep(shared)?;
            (sweep.shared, Some((sweep.summary, sweep.violation)))
        } else {
            (shared.clone(), None)
        };
        let setup = Setup::from_shared(&shared)?;
        let lab = Lab::new(setup)?;
        let last_input = shared.inputs.last();
        let goal = match shared.step {
            Some(s) => Goal::Step(s.max(last_input.map_or(0, |r| r.step))),
            None => Goal::Time(shared.time.max(last_input.map_or(Time::ZERO, |r| r.time))),
        };
        Ok(Opening {
            lab,
            shared,
            stage: Stage::Inputs(0),
            goal,
            sweep,
        })
    }

    /// How far the replay is, from 0 to 1.
    pub fn progress(&self) -> f64 {
        let run = self.lab.run.borrow();
        let fraction = match self.goal {
            Goal::Step(0) | Goal::Time(Time::ZERO) => 1.0,
            Goal::Step(s) => run.steps() as f64 / s as f64,
            Goal::Time(t) => run.now().0 as f64 / t.0 as f64,
        };
        fraction.clamp(0.0, 1.0)
    }

    /// Replays at most about `budget` events. Returns `Ok(true)` once the
    /// link's moment is reached (then [`Opening::finish`] gives the lab),
    /// `Ok(false)` while there is more to do, and the sentence of what is
    /// wrong with the link if it cannot be opened.
    pub fn advance(&mut self, budget: u64) -> Result<bool, String> {
        let budget = budget.max(1);
        let mut run = self.lab.run.borrow_mut();
        if let Stage::Inputs(i) = self.stage {
            let Some(record) = self.shared.inputs.get(i) else {
                self.stage = Stage::Moment;
                return Ok(false);
            };
            let describe = |e: String| {
                format!(
                    "input {} of its log ({}) does not fit this run: {e}.",
                    i + 1,
                    record.input
                )
            };
            if record.step > run.steps() {
                let reached = forward(&mut **run, record.step, budget)?;
                if !reached {
                    return Ok(false);
                }
            }
            run.apply_at(record.step, record.time, record.input.clone())
                .map_err(|e| describe(e.to_string()))?;
            self.stage = Stage::Inputs(i + 1);
            return Ok(false);
        }
        match self.shared.step {
            Some(step) => {
                if step > run.steps() && !forward(&mut **run, step, budget)? {
                    return Ok(false);
                }
                if step < run.steps() {
                    // The moment lies before the last input: the run seeks
                    // back from its checkpoints.
                    run.seek_step(step);
                }
                let at = run.now();
                let time = self.shared.time;
                if time < at {
                    return Err(format!(
                        "its moment contradicts itself: event {step} (s={step}) happens at {at}, after the time it gives (t={}).",
                        time.0 / 1_000
                    ));
                }
                run.seek_moment(step, time);
                if run.now() != time {
                    let next = run
                        .next_event_time()
                        .map_or(String::new(), |next| format!(", at {next}"));
                    return Err(format!(
                        "its moment contradicts itself: it gives the time {time} (t={}) after event {step} (s={step}), but the run's next event comes before then{next}.",
                        time.0 / 1_000
                    ));
                }
                Ok(true)
            }
            None => {
                let time = self.shared.time;
                run.run_until(time, budget);
                let done =
                    run.now() >= time || run.next_event_time().is_none_or(|next| next > time);
                if done {
                    run.seek_time(time);
                }
                Ok(done)
            }
        }
    }

    /// The opened lab, with the notices its link calls for. Only after
    /// [`Opening::advance`] returned `Ok(true)`.
    pub fn finish(self) -> Lab {
        let Opening {
            mut lab,
            shared,
            sweep,
            ..
        } = self;
        if let Some(expected) = shared.hash {
            if lab.run.borrow().trace_hash() != expected {
                lab.notice = Some(Notice {
                    tone: Tone::Info,
                    text: "This link was made with a different version of Clusterscope, and the run replays differently here; what you see may not match what its author saw.".into(),
                });
            }
        }
        lab.embed = shared.embed.clone();
        if let Some(thousandths) = shared.speed {
            lab.speed = f64::from(thousandths) / 1_000.0;
        }
        lab.playing = shared.embed.as_ref().is_some_and(|e| e.autoplay);
        if let (Some((summary, violation)), None) = (sweep, &lab.notice) {
            let shown = violation.filter(|v| lab.run.borrow().violations().contains(v));
            lab.highlight = shown.as_ref().map_or(Vec::new(), |v| v.nodes.clone());
            lab.notice = Some(Notice {
                tone: if shown.is_some() {
                    Tone::Violation
                } else {
                    Tone::Info
                },
                text: summary,
            });
        }
        lab
    }

    /// The whole link at once, for links known to be short and for tests.
    pub fn open(shared: &Shared) -> Result<Lab, String> {
        let mut opening = Opening::start(shared)?;
        while !opening.advance(u64::MAX)? {}
        Ok(opening.finish())
    }
}

/// Runs `run` forward towards `step`, at most `budget` events. True once
/// it is there; an error if the run ends first or passes the one-day bound
/// that links are held to.
fn forward(run: &mut dyn AnySim, step: u64, budget: u64) -> Result<bool, String> {
    let to = step.min(run.steps().saturating_add(budget));
    run.seek_step(to);
    if run.now() > MAX_TIME {
        return Err(format!(
            "event {step} (s={step}) lies more than a day of virtual time into this run (it is still ahead at {}), and a link reaches at most one day (t={}).",
            run.now(),
            MAX_TIME.0 / 1_000
        ));
    }
    if run.steps() >= step {
        return Ok(true);
    }
    if run.steps() < to {
        return Err(format!(
            "event {step} (s={step}) is past the end of this run, which stops after {} events, at {}.",
            run.steps(),
            run.now()
        ));
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(fragment: &str) -> Shared {
        Shared::decode(fragment).unwrap_or_else(|e| panic!("{fragment}: {e}"))
    }

    /// Opens `fragment` in slices of `budget` events, counting the slices.
    fn in_slices(fragment: &str, budget: u64) -> Result<(Lab, u64), String> {
        let mut opening = Opening::start(&decode(fragment))?;
        let mut slices = 1;
        let mut last = 0.0;
        while !opening.advance(budget)? {
            let now = opening.progress();
            assert!(now >= last, "progress went back from {last} to {now}");
            last = now;
            slices += 1;
        }
        Ok((opening.finish(), slices))
    }

    /// A link opened a few events at a time is the same run, at the same
    /// moment, as one opened at once: with inputs, without a step, and for
    /// a sweep link.
    #[test]
    fn a_link_opened_in_slices_is_the_link_opened_at_once() {
        // A run with inputs, shared as the page shares it.
        let lab = Opening::open(&decode("v=1&p=raft&n=3&seed=3")).unwrap();
        {
            let mut run = lab.run.borrow_mut();
            run.run_until(Time::ZERO + sim::Duration::from_ms(300), u64::MAX);
            run.apply(sim::Input::Crash(sim::NodeId(0))).unwrap();
            run.run_until(Time::ZERO + sim::Duration::from_ms(1_000), u64::MAX);
            run.apply(sim::Input::Request {
                node: sim::NodeId(3),
                op: "put x 1".into(),
            })
            .unwrap();
            run.run_until(Time::ZERO + sim::Duration::from_ms(3_000), u64::MAX);
        }
        let shared = lab.share(None).encode();
        assert!(
            shared.contains("&in=") && shared.contains("&s="),
            "{shared}"
        );
        let links = [
            shared.as_str(),
            "v=1&p=raft&n=5&seed=1&t=2500",
            "v=1&p=raft&n=3&seed=0&sweep=1",
            "v=1&p=multipaxos&n=3&seed=2&t=4000",
            "v=1&p=pubsub&n=3&seed=2&t=3000",
        ];
        for link in links {
            let whole = Opening::open(&decode(link)).unwrap_or_else(|e| panic!("{link}: {e}"));
            let (sliced, slices) = in_slices(link, 20).unwrap();
            assert!(slices > 5, "{link}: {slices} slices");
            let (a, b) = (whole.run.borrow(), sliced.run.borrow());
            assert_eq!(
                (a.steps(), a.now(), a.trace_hash()),
                (b.steps(), b.now(), b.trace_hash()),
                "{link}"
            );
            assert_eq!(whole.notice, sliced.notice, "{link}");
        }
    }

    #[test]
    fn a_moment_whose_time_and_step_disagree_is_an_error() {
        // Event 600 of this run happens well after 1 ms.
        let early = Opening::open(&decode("v=1&p=raft&n=3&seed=3&t=1&s=600"))
            .err()
            .unwrap();
        assert!(
            early.starts_with("its moment contradicts itself: event 600 (s=600) happens at ")
                && early.ends_with(", after the time it gives (t=1)."),
            "{early}"
        );
        // And the run has events long before 60 s.
        let late = Opening::open(&decode("v=1&p=raft&n=3&seed=3&t=60000&s=600"))
            .err()
            .unwrap();
        assert!(
            late.starts_with(
                "its moment contradicts itself: it gives the time 60000.000 ms (t=60000) after event 600 (s=600), but the run's next event comes before then, at "
            ),
            "{late}"
        );
    }

    /// A step past the end of a run that stops is an error that says where
    /// the run ends, not a notice about another version.
    #[test]
    fn a_step_past_the_end_of_the_run_says_where_it_ends() {
        let link = "v=1&p=paxos&n=3&seed=1&t=1000&s=18446744073709551615&h=0123456789abcdef";
        let e = Opening::open(&decode(link)).err().unwrap();
        assert!(
            e.starts_with("event 18446744073709551615 (s=18446744073709551615) is past the end of this run, which stops after "),
            "{e}"
        );
    }
}
