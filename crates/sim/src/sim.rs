//! Time travel: a [`World`] with its input log, checkers and checkpoints.
//!
//! A run is a pure function of (protocol, config, seed, input log), so the
//! past never needs to be stored, only recomputed. Every `K` steps the sim
//! keeps a checkpoint (a clone of the world and the checkers); to go back it
//! restores the nearest earlier checkpoint and replays. The number of
//! checkpoints is bounded: when there are too many, every other one is
//! dropped and `K` doubles, so memory stays flat while seek time grows only
//! with the spacing. Acting in the past forks the run: the inputs after that
//! moment are dropped, and the caller is told how many (RaftScope's seek and
//! fork work the same way).

use crate::checker::{Checkers, Rule, Violation};
use crate::input::{Input, InputRecord};
use crate::network::InputError;
use crate::node::Milestone;
use crate::time::Time;
use crate::trace::StepRecord;
use crate::world::{NodeOf, OpOf, Protocol, RunOutcome, World};

/// The most checkpoints a sim keeps at once.
pub const MAX_CHECKPOINTS: usize = 128;
/// The initial number of steps between checkpoints.
pub const INITIAL_CHECKPOINT_EVERY: u64 = 256;

/// A callback shown each step as it is taken or replayed, with the world
/// right after it.
pub type StepObserver<'a, P> = dyn FnMut(&StepRecord<NodeOf<P>>, &World<P>) + 'a;

#[derive(Clone)]
struct Checkpoint<P: Protocol> {
    world: World<P>,
    checkers: Checkers<P>,
}

/// What acting in the past threw away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fork {
    /// The step at which the run forked.
    pub at_step: u64,
    /// How many later inputs were dropped from the log.
    pub dropped_inputs: usize,
    /// How many steps of the old future were discarded.
    pub dropped_steps: u64,
}

/// A world you can step through, rewind and replay.
pub struct Sim<P: Protocol> {
    world: World<P>,
    checkers: Checkers<P>,
    inputs: Vec<InputRecord<OpOf<P>>>,
    /// The furthest step this timeline has reached, and its time.
    horizon: (u64, Time),
    checkpoints: Vec<Checkpoint<P>>,
    checkpoint_every: u64,
}

impl<P: Protocol> Sim<P> {
    /// A sim of `world` (usually fresh) watched by `checkers`.
    pub fn new(world: World<P>, checkers: Checkers<P>) -> Sim<P> {
        let first = Checkpoint {
            world: world.clone(),
            checkers: checkers.clone(),
        };
        Sim {
            horizon: (world.steps(), world.now()),
            world,
            checkers,
            inputs: Vec::new(),
            checkpoints: vec![first],
            checkpoint_every: INITIAL_CHECKPOINT_EVERY,
        }
    }

    /// The world as it is at the current moment.
    pub fn world(&self) -> &World<P> {
        &self.world
    }

    /// Every violation found up to the current moment.
    pub fn violations(&self) -> &[Violation] {
        self.checkers.violations()
    }

    /// The liveness monitor's state, if the checkers include one.
    pub fn liveness(&self) -> Option<&crate::liveness::LivenessState> {
        self.checkers.liveness()
    }

    /// The checkers' live counters at the current moment.
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        self.checkers.counters()
    }

    /// The rules the checkers could not decide so far, at the current
    /// moment ([`crate::Undecided`]).
    pub fn undecided(&self) -> Vec<crate::Undecided> {
        self.checkers.undecided()
    }

    /// Every rule the checkers enforce.
    pub fn rules(&self) -> Vec<Rule> {
        self.checkers.rules()
    }

    /// The input log of this timeline, past and future, in order.
    pub fn inputs(&self) -> &[InputRecord<OpOf<P>>] {
        &self.inputs
    }

    /// The furthest step (and its time) this timeline has reached. Stepping
    /// back keeps it; acting in the past cuts it back.
    pub fn horizon(&self) -> (u64, Time) {
        self.horizon
    }

    /// How many checkpoints are held now.
    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.len()
    }

    /// Takes one step forward: the next logged input if one is due, else the
    /// next event. `None` if nothing is left to happen.
    pub fn step(&mut self) -> Option<&StepRecord<NodeOf<P>>> {
        if self.advance(Time::MAX, 1, &mut |_, _| {}).steps == 1 {
            self.world.last_record()
        } else {
            None
        }
    }

    /// Runs up to and including time `t` (replaying logged inputs on the way),
    /// taking at most `max_steps` steps.
    pub fn run_until(&mut self, t: Time, max_steps: u64) -> RunOutcome {
        self.run_until_observed(t, max_steps, &mut |_, _| {})
    }

    /// Like [`Sim::run_until`], showing every step taken to `observe` (the
    /// app keeps its recent event log this way while playing).
    pub fn run_until_observed(
        &mut self,
        t: Time,
        max_steps: u64,
        observe: &mut StepObserver<'_, P>,
    ) -> RunOutcome {
        let outcome = self.advance(t, max_steps, observe);
        if outcome.reached {
            self.world.set_now(t);
            self.note_horizon();
        }
        outcome
    }

    /// Steps forward until a step records a milestone (one "round"), at most
    /// `max_steps` steps. Returns the first milestone of that step.
    pub fn run_to_milestone(&mut self, max_steps: u64) -> Option<Milestone> {
        for _ in 0..max_steps {
            let record = self.step()?;
            if let Some(m) = record.out.milestones().first() {
                return Some(m.clone());
            }
        }
        None
    }

    /// Goes back one step. Returns false at the start of the run.
    pub fn step_back(&mut self) -> bool {
        match self.world.steps() {
            0 => false,
            n => {
                self.seek_step(n - 1);
                true
            }
        }
    }

    /// Puts the sim right after step `target - 1` (so that `target` steps
    /// have been taken), replaying from the nearest checkpoint.
    pub fn seek_step(&mut self, target: u64) {
        // The latest checkpoint at or before `target`: restore it when going
        // back, or when it lies ahead of the current step.
        let i = self
            .checkpoints
            .partition_point(|c| c.world.steps() <= target)
            - 1;
        if target < self.world.steps() || self.checkpoints[i].world.steps() > self.world.steps() {
            self.restore(i);
        }
        let need = target - self.world.steps();
        self.advance(Time::MAX, need, &mut |_, _| {});
    }

    /// Puts the sim at exactly the moment after `step` steps with the clock
    /// at `time`: the way a share link names a moment, since several steps
    /// can share one virtual time. If `time` is earlier than the last of
    /// those steps, or later than the next event, the clock stays at the
    /// step's own time.
    pub fn seek_moment(&mut self, step: u64, time: Time) {
        self.seek_step(step);
        if time > self.world.now() {
            self.world.skip_non_steps(time);
            if self.world.next_event_time().is_none_or(|next| next >= time) {
                self.world.set_now(time);
                self.note_horizon();
            }
        }
    }

    /// Puts the sim at virtual time `t`: every step at or before `t` taken, the
    /// clock at `t`.
    pub fn seek_time(&mut self, t: Time) {
        // The latest checkpoint at or before `t`. Restore it when going back,
        // or when it lies ahead of the current step: replaying from it is
        // then shorter than running on from here, so any seek replays at
        // most one checkpoint interval.
        let i = self
            .checkpoints
            .partition_point(|c| c.world.now() <= t)
            .max(1)
            - 1;
        let ahead = self.checkpoints[i].world.steps() > self.world.steps();
        if t < self.world.now() || ahead {
            self.restore(i);
        }
        self.run_until(t, u64::MAX);
    }

    /// Applies an input now. If the sim is in the past of its timeline, the
    /// run forks: later inputs are dropped, and the returned [`Fork`] says
    /// what was lost. An invalid input changes nothing.
    pub fn apply(&mut self, input: Input<OpOf<P>>) -> Result<Option<Fork>, InputError> {
        let step = self.world.steps();
        let time = self.world.now();
        self.world.apply(input.clone())?;
        let fork = (step < self.horizon.0 || self.inputs.last().is_some_and(|r| r.step >= step))
            .then(|| {
                let keep = self.inputs.partition_point(|r| r.step < step);
                let fork = Fork {
                    at_step: step,
                    dropped_inputs: self.inputs.len() - keep,
                    dropped_steps: self.horizon.0.saturating_sub(step),
                };
                self.inputs.truncate(keep);
                self.checkpoints.retain(|c| c.world.steps() <= step);
                self.horizon = (step, time);
                fork
            });
        self.inputs.push(InputRecord { step, time, input });
        self.after_step();
        Ok(fork)
    }

    /// Runs forward to exactly step `step` at time `time` and applies `input`
    /// there: how a saved input log (a share link) is loaded. Refuses, with a
    /// sentence, a log that this run cannot follow: a step in the past, a
    /// step the run reaches only after `time`, or events still due before
    /// `time` at that step.
    /// Each step run on the way is shown to `observe`.
    pub fn apply_at(
        &mut self,
        step: u64,
        time: Time,
        input: Input<OpOf<P>>,
        observe: &mut StepObserver<'_, P>,
    ) -> Result<(), String> {
        if step < self.world.steps() || time < self.world.now() {
            return Err(format!(
                "it is logged at step {step} ({time}), but the run is already at step {} ({})",
                self.world.steps(),
                self.world.now()
            ));
        }
        while self.world.steps() < step {
            if !replay_one(&mut self.world, &self.inputs, time) {
                return Err(format!(
                    "it is logged at step {step}, but by {time} the run has taken only {} steps",
                    self.world.steps()
                ));
            }
            self.after_step();
            observe(
                self.world.last_record().expect("a step was just taken"),
                &self.world,
            );
        }
        // Cancelled timers and other events that are not steps do not count
        // as "still due": the original run passed them on its way here.
        self.world.skip_non_steps(time);
        if let Some(next) = self.world.next_event_time().filter(|&next| next < time) {
            return Err(format!("it is logged at step {step} at {time}, but an event is still due at {next} before it"));
        }
        self.world.set_now(time);
        self.apply(input).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Runs forward, replaying logged inputs at their exact steps, and shows
    /// each step to `observe` after the checkers have seen it.
    fn advance(
        &mut self,
        t: Time,
        max_steps: u64,
        observe: &mut StepObserver<'_, P>,
    ) -> RunOutcome {
        let mut steps = 0;
        while steps < max_steps {
            if !replay_one(&mut self.world, &self.inputs, t) {
                return RunOutcome {
                    steps,
                    reached: true,
                };
            }
            self.after_step();
            observe(
                self.world.last_record().expect("a step was just taken"),
                &self.world,
            );
            steps += 1;
        }
        // Out of steps: `t` is reached only if neither an event nor a logged
        // input is still due by then (else the caller would move the clock
        // past the input's time).
        let at = self.world.steps();
        let input_due = self
            .inputs
            .get(self.inputs.partition_point(|r| r.step < at))
            .is_some_and(|r| r.step == at && r.time <= t);
        let reached = !input_due && self.world.next_event_time().is_none_or(|next| next > t);
        RunOutcome { steps, reached }
    }

    /// Shows steps `from..to` of this timeline to `f`, without moving the
    /// sim: a copy of the nearest earlier checkpoint is replayed. This is how
    /// the event log reads the past. Steps beyond the last one taken so far
    /// are not shown; at most `to - from` steps are replayed past `from`.
    pub fn replay_range(&self, from: u64, to: u64, f: &mut StepObserver<'_, P>) {
        let to = to.min(self.horizon.0);
        if from >= to {
            return;
        }
        let i = self
            .checkpoints
            .partition_point(|c| c.world.steps() <= from)
            - 1;
        let mut world = self.checkpoints[i].world.clone();
        while world.steps() < to {
            if !replay_one(&mut world, &self.inputs, Time::MAX) {
                return;
            }
            if world.steps() > from {
                f(world.last_record().expect("a step was just taken"), &world);
            }
        }
    }

    fn after_step(&mut self) {
        let record = self.world.last_record().expect("a step was just taken");
        self.checkers.observe(record, &self.world);
        self.note_horizon();
        let steps = self.world.steps();
        let last = self.checkpoints.last().map_or(0, |c| c.world.steps());
        if steps >= last + self.checkpoint_every && steps % self.checkpoint_every == 0 {
            self.checkpoints.push(Checkpoint {
                world: self.world.clone(),
                checkers: self.checkers.clone(),
            });
            if self.checkpoints.len() > MAX_CHECKPOINTS {
                self.thin_checkpoints();
            }
        }
    }

    /// Keeps the first checkpoint and every other one after it, and doubles
    /// the spacing for the future.
    fn thin_checkpoints(&mut self) {
        self.checkpoint_every *= 2;
        let every = self.checkpoint_every;
        let mut i = 0;
        self.checkpoints.retain(|c| {
            let keep = i == 0 || c.world.steps() % every == 0;
            i += 1;
            keep
        });
    }

    fn note_horizon(&mut self) {
        if self.world.steps() > self.horizon.0
            || (self.world.steps() == self.horizon.0 && self.world.now() > self.horizon.1)
        {
            self.horizon = (self.world.steps(), self.world.now());
        }
    }

    fn restore(&mut self, i: usize) {
        let c = &self.checkpoints[i];
        self.world = c.world.clone();
        self.checkers = c.checkers.clone();
    }
}

/// Takes the next step of `world` along the input log: the logged input due
/// at this step if there is one, else the next event at or before `t`.
/// Returns false if neither happens by `t`. Never moves the clock past the
/// step it takes, so an input replays at exactly the time it was logged.
fn replay_one<P: Protocol>(world: &mut World<P>, inputs: &[InputRecord<OpOf<P>>], t: Time) -> bool {
    let at = world.steps();
    let due = inputs.partition_point(|r| r.step < at);
    match inputs.get(due).filter(|r| r.step == at) {
        Some(record) => {
            // What the original run handled on its way to this moment
            // without taking a step, the replay handles too (see
            // `World::skip_non_steps`); when stopping short of the input,
            // up to `t`, so that the caller may move the clock to `t`.
            world.skip_non_steps(record.time.min(t));
            if record.time > t {
                return false;
            }
            world.set_now(record.time);
            if let Err(e) = world.apply(record.input.clone()) {
                panic!("replaying the input logged at step {at} failed: {e}; the log does not match the run");
            }
            true
        }
        None => world.step_within(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Checkers;
    use crate::ids::NodeId;
    use crate::testkit::broadcast::{Broadcast, BroadcastChecker};
    use crate::world::WorldConfig;

    fn sim() -> Sim<Broadcast> {
        let world = World::new(Broadcast::new(3), WorldConfig::with_seed(11));
        Sim::new(
            world,
            Checkers::new(vec![Box::new(BroadcastChecker::default())]),
        )
    }

    /// An input logged during a quiet stretch must replay at its own time,
    /// not at the end of the stretch. (Replay once took the step before it
    /// with `World::run_until(t, 1)`, which moved the clock on to `t`.)
    #[test]
    fn an_input_after_a_quiet_stretch_replays_at_its_own_time() {
        let mut s = sim();
        s.run_until(Time(100_000), 1_000);
        s.apply(Input::Request {
            node: NodeId(1),
            op: 5,
        })
        .unwrap();
        s.run_until(Time(200_000), 10_000);
        let straight = (s.world().trace_hash(), s.world().steps());

        s.seek_step(0);
        s.run_until(Time(200_000), 10_000);
        assert_eq!((s.world().trace_hash(), s.world().steps()), straight);

        let mut input_time = None;
        s.replay_range(0, straight.1, &mut |r, _| {
            if matches!(
                r.event,
                crate::trace::StepEvent::Input(Input::Request { .. })
            ) {
                input_time = Some(r.time);
            }
        });
        assert_eq!(input_time, Some(Time(100_000)));
    }

    #[test]
    fn replay_range_shows_exactly_the_steps_asked_for() {
        let mut s = sim();
        s.apply(Input::Request {
            node: NodeId(0),
            op: 1,
        })
        .unwrap();
        s.run_until(Time(300_000), 10_000);
        let mut seen = Vec::new();
        s.replay_range(2, 9, &mut |r, _| seen.push(r.step));
        assert_eq!(seen, (2..9).collect::<Vec<_>>());
        // The sim itself did not move.
        assert_eq!(s.world().now(), Time(300_000));
    }
}
