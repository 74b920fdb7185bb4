//! The lab: the run and everything the page shows about it, behind one
//! reducer. Components read plain data from it and dispatch [`Action`]s; none
//! of them touches the world directly (ARCHITECTURE.md, "The app").
//!
//! The run itself lives in an `Rc<RefCell<..>>` outside Yew's state, so an
//! action mutates it in place and bumps `version` rather than cloning a
//! world. Components that depend on the run compare `version`.

use std::cell::RefCell;
use std::rc::Rc;

use sim::{AnySim, Input, NodeId, Time, Violation};
use yew::prelude::*;

use clusterscope::share::{Embed, Shared};

use crate::catalog::{self, Setup};

/// The page's clock (ms), where there is one (not in native tests).
pub(crate) fn wall_now() -> Option<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()?.performance().map(|p| p.now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// The most steps one animation frame may take. A livelock (or a very high
/// speed) must never freeze the tab: past this the run pauses and says why.
pub const MAX_STEPS_PER_FRAME: u64 = 20_000;
/// The most wall time one wake of the play loop may account for: after the
/// tab was in the background, the run does not jump ahead by minutes. The
/// loop wakes at least every 100 ms (plus up to a frame), well under this,
/// so a wake on time is never cut short (the run would fall behind the
/// messages gliding on the compositor).
pub const MAX_FRAME_MS: f64 = 250.0;
/// The bounds on "next round": steps, and the protocol's time units.
pub const MAX_STEPS_PER_ROUND: u64 = 100_000;
/// See [`MAX_STEPS_PER_ROUND`].
pub const ROUND_TIME_UNITS: u64 = 20;
/// The most steps a drain may run looking for the cluster to settle (the
/// liveness bound usually ends it far sooner).
pub const MAX_STEPS_PER_DRAIN: u64 = 1_000_000;

/// Playback speed in virtual time per wall time, on a log scale from 1/1000
/// to 10. The default shows a message crossing the stage in about a second.
pub const SPEED_MIN: f64 = 0.001;
/// See [`SPEED_MIN`].
pub const SPEED_MAX: f64 = 10.0;
/// See [`SPEED_MIN`].
pub const SPEED_DEFAULT: f64 = 0.02;

/// Something the page tells the person, above the stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// How it looks.
    pub tone: Tone,
    /// The sentence.
    pub text: String,
}

/// A notice's tone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Something happened that the person should know (a fork).
    Info,
    /// The person's input was refused, or a link could not be read.
    Error,
    /// A safety property broke.
    Violation,
    /// The liveness check failed (no safety rule broke).
    Liveness,
}

/// Everything the page shows.
#[derive(Clone)]
pub struct Lab {
    /// The run.
    pub run: Rc<RefCell<Box<dyn AnySim>>>,
    /// How the run was set up (for settings and links).
    pub setup: Rc<Setup>,
    /// Bumped whenever the run changes.
    pub version: u64,
    /// Whether the animation loop runs.
    pub playing: bool,
    /// Virtual time per wall time.
    pub speed: f64,
    /// The notice shown above the stage, if any.
    pub notice: Option<Notice>,
    /// The node the inspector shows.
    pub selected: Option<NodeId>,
    /// Nodes to highlight (those in the violation being shown).
    pub highlight: Vec<NodeId>,
    /// Embed mode, if the page is in an iframe for course material.
    pub embed: Option<Embed>,
    /// While playing, the wall time (ms, the animation frames' clock) the
    /// run's clock was last moved to: by the play loop at each wake, or by
    /// an action that caught the run up first (see `reduce`). Between
    /// wakes the run's clock stands still while messages glide on.
    pub wake: Rc<std::cell::Cell<Option<f64>>>,
}

impl PartialEq for Lab {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.run, &other.run)
            && self.version == other.version
            && self.playing == other.playing
            && self.speed == other.speed
            && self.notice == other.notice
            && self.selected == other.selected
            && self.highlight == other.highlight
            && self.embed == other.embed
            && Rc::ptr_eq(&self.setup, &other.setup)
    }
}

/// What components can ask the lab to do.
pub enum Action {
    /// Stop it.
    Pause,
    /// Play if paused, pause if playing.
    TogglePlay,
    /// One step forward.
    Step,
    /// One step back.
    StepBack,
    /// Forward to the next milestone (leader elected, value chosen...).
    NextRound,
    /// Go to a virtual time (the timeline scrubber).
    Seek(Time),
    /// Go to the moment right after a step (the event log).
    SeekStep(u64),
    /// Do something to the run: a fault, a setting, a request.
    Apply(Input<String>),
    /// Send the protocol's sample client request.
    Request(Option<NodeId>),
    /// End the faults, wait for the cluster to settle, and run the
    /// checkers' end-of-run verdicts (a queue's lost and duplicated
    /// messages): see [`sim::Input::Drain`].
    Drain,
    /// One animation frame: `wall_ms` of wall time passed.
    Frame(f64),
    /// Change the playback speed.
    SetSpeed(f64),
    /// Show a node in the inspector.
    Select(Option<NodeId>),
    /// Start a new run with this setup (settings, or a link).
    Load(Box<Setup>),
    /// Replace everything with a run opened from a link.
    Open(Box<Lab>),
    /// Show a notice.
    Notify(Notice),
    /// Hide the notice.
    Dismiss,
}

impl Lab {
    /// A fresh run of `setup`.
    pub fn new(setup: Setup) -> Result<Lab, String> {
        let run = catalog::build(&setup)?;
        Ok(Lab {
            run: Rc::new(RefCell::new(run)),
            setup: Rc::new(setup),
            version: 0,
            playing: false,
            speed: SPEED_DEFAULT,
            notice: None,
            selected: None,
            highlight: Vec::new(),
            embed: None,
            wake: Rc::default(),
        })
    }

    /// Opens a link: parse, validate, build, replay every input and seek to
    /// the link's moment, all at once (the page opens links in slices with
    /// [`crate::opening::Opening`]). Only if all of that works is the result
    /// returned; the caller keeps the current run otherwise.
    pub fn open(shared: &Shared) -> Result<Lab, String> {
        crate::opening::Opening::open(shared)
    }

    /// The link to this moment.
    pub fn share(&self, embed: Option<Embed>) -> Shared {
        let run = self.run.borrow();
        let mut shared =
            self.setup
                .to_shared(run.inputs(), run.now(), Some(run.trace_hash()), embed);
        shared.speed = Some((self.speed * 1_000.0).round().clamp(1.0, 10_000.0) as u32);
        shared.step = Some(run.steps());
        shared
    }

    fn changed(mut self) -> Self {
        self.version += 1;
        self
    }

    /// How many violations and liveness failures the run has found up to
    /// now: what [`Lab::catch_violation`] compares with.
    fn seen(&self) -> (usize, usize) {
        let run = self.run.borrow();
        (
            run.violations().len(),
            run.liveness().map_or(0, |l| l.failures.len()),
        )
    }

    /// After the run moved forward: if a new violation appeared, pause and
    /// show the moment it broke, with its nodes highlighted. A new liveness
    /// failure pauses and jumps the same way, said as what it is.
    fn catch_violation(&mut self, (seen_before, failed_before): (usize, usize)) {
        let (found, failed): (Option<Violation>, Option<Violation>) = {
            let run = self.run.borrow();
            (
                run.violations().get(seen_before).cloned(),
                run.liveness()
                    .and_then(|l| l.failures.get(failed_before))
                    .cloned(),
            )
        };
        if let (None, Some(f)) = (&found, failed) {
            self.playing = false;
            self.run.borrow_mut().seek_step(f.step + 1);
            self.highlight.clear();
            self.notice = Some(Notice {
                tone: Tone::Liveness,
                text: format!(
                    "Liveness check {} failed at {} (no safety rule broke): {}",
                    f.rule, f.time, f.message
                ),
            });
        }
        if let Some(v) = found {
            self.playing = false;
            self.run.borrow_mut().seek_step(v.step + 1);
            self.highlight = v.nodes.clone();
            self.notice = Some(Notice {
                tone: Tone::Violation,
                text: format!("{} broke at {}: {}", v.rule, v.time, v.message),
            });
        }
    }

    /// After an action on the run: say if it forked or was refused, and
    /// catch a violation it caused.
    fn acted(
        &mut self,
        result: Result<Option<sim::Fork>, sim::ActionError>,
        seen_before: (usize, usize),
    ) {
        match result {
            Ok(fork) => self.forked_notice(fork),
            Err(e) => {
                self.notice = Some(Notice {
                    tone: Tone::Error,
                    text: capitalise(&e.to_string()),
                })
            }
        }
        self.catch_violation(seen_before);
    }

    /// What a drain found, when its verdicts broke nothing (a broken rule
    /// replaces this with its own notice).
    fn drained_notice(&mut self, ended: usize) {
        let run = self.run.borrow();
        let Some(drain) = run.liveness().and_then(|l| l.drain.clone()) else {
            return;
        };
        let mut faults = match ended {
            0 => "no fault to end".to_string(),
            1 => "ended 1 fault".to_string(),
            n => format!("ended {n} faults"),
        };
        // Crashed servers stay down, as if their disks were lost.
        let down: Vec<String> = (0..run.node_count() as u32)
            .map(NodeId)
            .filter(|&n| run.node(n).conditions.health == sim::Health::Crashed)
            .map(|n| n.to_string())
            .collect();
        if !down.is_empty() {
            let verb = if down.len() == 1 { "stays" } else { "stay" };
            faults = format!("{faults} ({} {verb} down, as if lost)", down.join(", "));
        }
        let text = match drain.checked {
            Some((_, at)) if drain.settled => format!(
                "Drained: {faults} at {}; the cluster settled {} later, and the final check found nothing broken.",
                drain.requested,
                at.saturating_since(drain.requested)
            ),
            Some((_, at)) => format!(
                "Drained: {faults} at {}; the cluster had not settled by {at}, and the final check there found nothing broken.",
                drain.requested
            ),
            None => format!(
                "Drained: {faults} at {}; the cluster has not settled yet (the run stopped at {}), so nothing is checked yet.",
                drain.requested,
                run.now()
            ),
        };
        drop(run);
        self.notice = Some(Notice {
            tone: Tone::Info,
            text,
        });
    }

    fn forked_notice(&mut self, fork: Option<sim::Fork>) {
        if let Some(f) = fork {
            self.notice = Some(Notice {
                tone: Tone::Info,
                text: if f.dropped_inputs == 0 {
                    format!("You acted in the past, so the run forked at step {}: what happened after it is recomputed.", f.at_step)
                } else {
                    format!(
                        "You acted in the past, so the run forked at step {}: {} later action{} dropped.",
                        f.at_step,
                        f.dropped_inputs,
                        if f.dropped_inputs == 1 { " was" } else { "s were" }
                    )
                },
            });
        }
    }
}

impl Reducible for Lab {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        // Whatever a person does while the run plays (pause it, crash a
        // node, send a request, drop a message where it is drawn) happens
        // at the moment the page shows, not at the loop's last wake: the
        // run first catches up with the wall clock.
        if self.playing && !matches!(action, Action::Frame(_)) {
            if let (Some(wake), Some(now)) = (self.wake.get(), wall_now()) {
                let caught = self.act(Action::Frame(now - wake));
                caught.wake.set(Some(now));
                return caught.act(action);
            }
        }
        self.act(action)
    }
}

impl Lab {
    /// Carries out `action` (see `Reducible::reduce`).
    fn act(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut lab = (*self).clone();
        let seen = lab.seen();
        match action {
            Action::Pause => lab.playing = false,
            Action::TogglePlay => lab.playing = !lab.playing,
            Action::Step => {
                lab.playing = false;
                lab.run.borrow_mut().step();
                lab.catch_violation(seen);
            }
            Action::StepBack => {
                lab.playing = false;
                lab.run.borrow_mut().step_back();
            }
            Action::NextRound => {
                lab.playing = false;
                let (reached, waited) = {
                    let mut run = lab.run.borrow_mut();
                    let start = run.now();
                    let reached = run.run_to_milestone(MAX_STEPS_PER_ROUND, ROUND_TIME_UNITS);
                    (reached, run.now().saturating_since(start))
                };
                if reached.is_none() {
                    lab.notice = Some(Notice {
                        tone: Tone::Info,
                        text: format!(
                            "No protocol round completed in the next {waited}. The cluster may be quiet (send a client request) or stuck (a livelock: watch the timeline)."
                        ),
                    });
                }
                lab.catch_violation(seen);
            }
            Action::Seek(t) => {
                lab.run.borrow_mut().seek_time(t);
                lab.catch_violation(seen);
            }
            Action::SeekStep(s) => {
                lab.playing = false;
                lab.run.borrow_mut().seek_step(s);
                lab.catch_violation(seen);
            }
            Action::Apply(input) => {
                let result = lab.run.borrow_mut().apply(input);
                lab.acted(result, seen);
            }
            Action::Drain => {
                lab.playing = false;
                let result = lab.run.borrow_mut().drain(MAX_STEPS_PER_DRAIN);
                if let Ok((_, ended)) = result {
                    lab.drained_notice(ended);
                }
                // A fork or a refusal says so instead, a broken rule too.
                lab.acted(result.map(|(fork, _)| fork), seen);
            }
            Action::Request(node) => {
                let result = lab.run.borrow_mut().sample_request(node);
                lab.acted(result, seen);
            }
            Action::Frame(wall_ms) => {
                if !lab.playing {
                    return self;
                }
                let before = lab.run.borrow().steps();
                let advance =
                    (wall_ms.clamp(0.0, MAX_FRAME_MS) * 1_000.0 * lab.speed).round() as u64;
                let outcome = {
                    let mut run = lab.run.borrow_mut();
                    let target = Time(run.now().0.saturating_add(advance));
                    run.run_until(target, MAX_STEPS_PER_FRAME)
                };
                if !outcome.reached {
                    lab.playing = false;
                    lab.notice = Some(Notice {
                        tone: Tone::Info,
                        text: format!("Paused: more than {MAX_STEPS_PER_FRAME} events fell into one frame. Lower the speed, or step through them."),
                    });
                }
                lab.catch_violation(seen);
                // Only the clock moved: the same state, so nothing
                // re-renders; the animation loop hands the new moment to
                // what draws time (live.rs).
                if lab.playing && lab.run.borrow().steps() == before {
                    return self;
                }
            }
            Action::SetSpeed(s) => {
                lab.speed = s.clamp(SPEED_MIN, SPEED_MAX);
                return Rc::new(lab);
            }
            Action::Select(node) => {
                lab.selected = node;
                return Rc::new(lab);
            }
            Action::Load(setup) => match Lab::new(*setup) {
                Ok(mut fresh) => {
                    fresh.speed = lab.speed;
                    fresh.embed = lab.embed.clone();
                    fresh.version = lab.version + 1;
                    return Rc::new(fresh);
                }
                Err(e) => {
                    lab.notice = Some(Notice {
                        tone: Tone::Error,
                        text: e,
                    })
                }
            },
            Action::Open(fresh) => {
                let mut fresh = *fresh;
                fresh.version = lab.version + 1;
                return Rc::new(fresh);
            }
            Action::Notify(n) => {
                // Counts as a change, so the address bar is written again
                // (a refused pasted link must not stay there).
                lab.notice = Some(n);
            }
            Action::Dismiss => {
                lab.notice = None;
                lab.highlight.clear();
                return Rc::new(lab);
            }
        }
        Rc::new(lab.changed())
    }
}

/// Error texts are written to follow "cannot ...": start them as a sentence.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The lab as components see it.
pub type LabHandle = UseReducerHandle<Lab>;
