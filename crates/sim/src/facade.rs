//! The protocol-agnostic face of a run, for the app.
//!
//! The app holds a `Box<dyn AnySim>` and never names a protocol type: the
//! stage, the messages, the timeline, the event log and the checker panel are
//! drawn from the plain data here. A protocol adds [`Interactive`] (how to
//! make, read and write client operations, and which timer a node widget
//! draws as its countdown ring) and gets all of it.

use std::collections::VecDeque;
use std::fmt;

use crate::checker::{Rule, Violation};
use crate::ids::{MsgId, NodeId};
use crate::input::{Input, InputRecord};
use crate::liveness::{ending_every_fault, Liveness, LivenessState};
use crate::network::{Conditions, InputError, Link, LinkParams};
use crate::node::{Message, Milestone, Node, NodeKind, NodeScene};
use crate::sim::{Fork, Sim};
use crate::sweep::Sweepable;
use crate::time::{Duration, Time};
use crate::trace::{Fate, StepRecord};
use crate::world::{NodeOf, OpOf, RunOutcome, World, WorldConfig};

/// What a protocol adds so that people can drive it from the app.
pub trait Interactive: Sweepable {
    /// Server, client, producer or consumer: also for crashed nodes, whose
    /// scene is gone, so the stage can still place them.
    fn node_kind(&self, id: NodeId) -> NodeKind;
    /// The operation the "client request" button sends, the `n`th of the run.
    fn sample_op(&self, n: u64) -> OpOf<Self>;
    /// Reads an operation typed by a person or stored in a link.
    fn parse_op(&self, text: &str) -> Result<OpOf<Self>, String>;
    /// Writes an operation so that [`Interactive::parse_op`] reads it back.
    fn format_op(&self, op: &OpOf<Self>) -> String;
    /// Where a request goes when the person does not pick a node.
    fn request_target(&self) -> Option<NodeId> {
        self.clients().first().copied()
    }
    /// The timer a node widget draws as a countdown ring (Raft: the election
    /// timeout), if the protocol has one.
    fn countdown_timer(&self) -> Option<<NodeOf<Self> as Node>::Timer> {
        None
    }
    /// A colour slot (0 to 11) for each message kind, for the stage and its
    /// legend. A request and its reply usually share a slot; replies are
    /// drawn hollow. Kinds not listed get a slot from a hash of their name.
    fn message_colours(&self) -> &'static [(&'static str, u8)] {
        &[]
    }
    /// Protocol-specific entries for a node's menu, each a label and the
    /// operation (as text) it hands to that node: Raft's "Time out now".
    fn node_actions(&self, id: NodeId) -> Vec<(String, String)> {
        let _ = id;
        Vec::new()
    }
    /// The name and description of the protocol's liveness check, which
    /// the app's checker panel shows (see [`crate::liveness`]).
    fn liveness_rule(&self) -> Rule {
        Rule {
            id: "L",
            name: "Liveness",
            description: "Once a majority can talk again, the cluster converges within the bound.",
        }
    }
}

/// One node, as the stage draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node.
    pub id: NodeId,
    /// Its kind, known even while it is crashed.
    pub kind: NodeKind,
    /// The protocol's picture of it; `None` while crashed.
    pub scene: Option<NodeScene>,
    /// Health, slowdown and clock rate.
    pub conditions: Conditions,
    /// When its countdown timer was set and when it fires, if pending.
    pub countdown: Option<(Time, Time)>,
}

/// One message copy on the network, as the stage draws it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageView {
    /// The copy's id (clicking it drops it).
    pub id: MsgId,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// The message type, which picks the colour.
    pub kind: &'static str,
    /// Replies are drawn differently from requests.
    pub is_reply: bool,
    /// When it left.
    pub sent: Time,
    /// When it arrives.
    pub arrives: Time,
    /// Whether it will be delivered.
    pub fate: Fate,
    /// For a network duplicate, the original.
    pub duplicate_of: Option<MsgId>,
}

/// One line of the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepSummary {
    /// The step number (click to jump there).
    pub step: u64,
    /// Its virtual time.
    pub time: Time,
    /// `deliver`, `lost`, `timer`, or an input kind such as `crash`.
    pub kind: &'static str,
    /// The readable line.
    pub headline: String,
    /// Every node the step touched, for the node filter.
    pub nodes: Vec<NodeId>,
    /// The handler's notes.
    pub notes: Vec<String>,
    /// Milestones reached in this step.
    pub milestones: Vec<Milestone>,
    /// Whether it was a fault injected from outside.
    pub fault: bool,
}

impl StepSummary {
    fn of<N: Node>(r: &StepRecord<N>) -> StepSummary {
        StepSummary {
            step: r.step,
            time: r.time,
            kind: r.event.kind(),
            headline: r.headline(),
            nodes: r.nodes().collect(),
            notes: r.out.notes().to_vec(),
            milestones: r.out.milestones().to_vec(),
            fault: matches!(&r.event, crate::trace::StepEvent::Input(i) if i.is_fault()),
        }
    }
}

/// A mark on the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The step.
    pub step: u64,
    /// Its time.
    pub time: Time,
    /// What kind of mark: a milestone kind, or an input kind for faults.
    pub kind: &'static str,
    /// A sentence for the tooltip.
    pub text: String,
}

/// Buckets of the timeline's event-density strip.
const MAX_BUCKETS: usize = 512;
/// The most marks of one kind the timeline keeps (the oldest stay).
const MAX_MARKS: usize = 4_096;
/// How many recent event-log lines are kept while running forward.
pub const RECENT_LOG: usize = 500;

/// Everything the timeline draws, for the whole timeline up to its horizon
/// (also the part after the current moment, after stepping back).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Width of one density bucket.
    pub bucket: Duration,
    /// Steps per bucket, from time zero to the horizon.
    pub density: Vec<u64>,
    /// Faults and other inputs from the input log.
    pub inputs: Vec<Mark>,
    /// Protocol milestones.
    pub milestones: Vec<Mark>,
    /// Every violation found up to the horizon.
    pub violations: Vec<Violation>,
    /// Every liveness failure found up to the horizon (no safety rule).
    pub liveness: Vec<Violation>,
}

/// Why an action from the app was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionError {
    /// The world refused the input.
    Input(InputError),
    /// The operation text could not be read.
    Op(String),
    /// A saved input log does not fit this run.
    Log(String),
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionError::Input(e) => e.fmt(f),
            ActionError::Op(e) => write!(f, "that request cannot be read: {e}"),
            ActionError::Log(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ActionError {}

/// A run of any protocol, as the app sees it. Object safe.
pub trait AnySim {
    /// The protocol's short name.
    fn protocol_name(&self) -> &'static str;
    /// The world's settings (seed, network defaults).
    fn world_config(&self) -> &WorldConfig;
    /// The current virtual time.
    fn now(&self) -> Time;
    /// Steps taken so far.
    fn steps(&self) -> u64;
    /// The furthest step and time this timeline has reached.
    fn horizon(&self) -> (u64, Time);
    /// The time of the next event, if any.
    fn next_event_time(&self) -> Option<Time>;
    /// How many nodes there are.
    fn node_count(&self) -> usize;
    /// One node, for the stage.
    fn node(&self, id: NodeId) -> NodeInfo;
    /// What the node last persisted, as text (shown while it is crashed,
    /// when that is all that is left of it); `None` if it never persisted.
    fn persisted(&self, id: NodeId) -> Option<String>;
    /// Every message on the network now, appended to `out`.
    fn messages(&self, out: &mut Vec<MessageView>);
    /// The hover label of a message in flight.
    fn message_label(&self, id: MsgId) -> Option<String>;
    /// Links that differ from the defaults: cut, or with their own parameters.
    fn unusual_links(&self) -> Vec<(NodeId, NodeId, Link)>;
    /// The network defaults.
    fn network_defaults(&self) -> LinkParams;
    /// Takes one step forward.
    fn step(&mut self) -> Option<StepSummary>;
    /// Goes back one step; false at the start.
    fn step_back(&mut self) -> bool;
    /// Runs to time `t`, at most `max_steps` steps.
    fn run_until(&mut self, t: Time, max_steps: u64) -> RunOutcome;
    /// Runs to the next milestone, at most `max_steps` steps and at most
    /// `max_units` of the protocol's time unit (a quiet cluster has no next
    /// round; it must not run for minutes looking for one).
    fn run_to_milestone(&mut self, max_steps: u64, max_units: u64) -> Option<Milestone>;
    /// "Drain and check": applies the inputs that end the faults
    /// ([`ending_every_fault`]) and [`Input::Drain`], then runs on, at most
    /// `max_steps` steps, until the checkers have given their end-of-run
    /// verdicts (the liveness monitor decides when: see
    /// [`crate::liveness`]). Returns a fork, if the first input made one,
    /// and how many faults were ended; the verdicts are in
    /// [`AnySim::violations`] and the state in [`LivenessState::drain`].
    fn drain(&mut self, max_steps: u64) -> Result<(Option<Fork>, usize), ActionError>;
    /// The protocol's natural time unit (Raft: the longest election timeout).
    fn time_unit(&self) -> Duration;
    /// Goes to time `t`.
    fn seek_time(&mut self, t: Time);
    /// Goes to the moment after `step` steps.
    fn seek_step(&mut self, step: u64);
    /// Goes to the moment after `step` steps with the clock at `time` (see
    /// [`Sim::seek_moment`]).
    fn seek_moment(&mut self, step: u64, time: Time);
    /// Applies an input (operations as text); may fork the run.
    fn apply(&mut self, input: Input<String>) -> Result<Option<Fork>, ActionError>;
    /// Applies a logged input at exactly its step and time, running forward
    /// to get there: how a share link's input log is loaded.
    fn apply_at(&mut self, step: u64, time: Time, input: Input<String>) -> Result<(), ActionError>;
    /// A "client request" with the protocol's sample operation, to `node`
    /// or the default target.
    fn sample_request(&mut self, node: Option<NodeId>) -> Result<Option<Fork>, ActionError>;
    /// The input log with operations as text.
    fn inputs(&self) -> Vec<InputRecord<String>>;
    /// Protocol-specific menu entries for a node: (label, operation text).
    fn node_actions(&self, id: NodeId) -> Vec<(String, String)>;
    /// Colour slots by message kind (see [`Interactive::message_colours`]).
    fn message_colours(&self) -> &'static [(&'static str, u8)];
    /// The run itself, for a protocol's own widget to downcast.
    fn as_any(&self) -> &dyn std::any::Any;
    /// Violations up to the current moment.
    fn violations(&self) -> &[Violation];
    /// Every rule checked.
    fn rules(&self) -> Vec<Rule>;
    /// The liveness check at the current moment.
    fn liveness(&self) -> Option<&LivenessState>;
    /// The checkers' live counters at the current moment (see
    /// [`crate::Checker::counters`]); empty for most protocols.
    fn counters(&self) -> Vec<(&'static str, u64)>;
    /// The rules the checkers could not decide so far (see
    /// [`crate::Checker::undecided`]): shown as undecided, never as holding.
    fn undecided(&self) -> Vec<crate::Undecided>;
    /// The timeline up to the horizon.
    fn timeline(&self) -> &Timeline;
    /// The most recent event-log lines up to the current moment, oldest first.
    fn recent_log(&mut self, count: usize) -> Vec<StepSummary>;
    /// Event-log lines for steps `from..to`, read from the past by replay.
    fn log_range(&self, from: u64, to: u64) -> Vec<StepSummary>;
    /// The trace hash of everything up to now.
    fn trace_hash(&self) -> u64;
}

/// A run of protocol `P`: a [`Sim`] plus what the app's views keep.
pub struct Run<P: Interactive> {
    sim: Sim<P>,
    timeline: Timeline,
    /// Step number at which each density bucket starts.
    bucket_starts: Vec<u64>,
    recent: VecDeque<StepSummary>,
    requests: u64,
}

impl<P: Interactive> Run<P> {
    /// A fresh run of `protocol` with these world settings, watched by the
    /// protocol's checkers.
    pub fn new(protocol: P, config: WorldConfig) -> Run<P> {
        let mut checkers = protocol.checkers();
        checkers.push(Box::new(Liveness::new(&protocol, protocol.liveness_rule())));
        let sim = Sim::new(World::new(protocol, config), checkers);
        Run {
            sim,
            timeline: Timeline {
                bucket: Duration::from_ms(10),
                ..Timeline::default()
            },
            bucket_starts: vec![0],
            recent: VecDeque::new(),
            requests: 0,
        }
    }

    /// The sim underneath.
    pub fn sim(&self) -> &Sim<P> {
        &self.sim
    }

    fn protocol(&self) -> &P {
        self.sim.world().protocol()
    }

    /// Records a step just taken, for the timeline (if it extends the
    /// horizon) and the recent log.
    fn note_step(
        timeline: &mut Timeline,
        bucket_starts: &mut Vec<u64>,
        recent: &mut VecDeque<StepSummary>,
        horizon_before: u64,
        record: &StepRecord<NodeOf<P>>,
        violations: &[Violation],
    ) {
        if record.step >= horizon_before {
            Self::extend_density(timeline, bucket_starts, record.step, record.time);
            for m in record.out.milestones() {
                if timeline.milestones.len() < MAX_MARKS {
                    timeline.milestones.push(Mark {
                        step: record.step,
                        time: record.time,
                        kind: m.kind,
                        text: m.text.clone(),
                    });
                }
            }
            if let crate::trace::StepEvent::Input(i) = &record.event {
                if timeline.inputs.len() < MAX_MARKS {
                    timeline.inputs.push(Mark {
                        step: record.step,
                        time: record.time,
                        kind: i.kind(),
                        text: record.headline(),
                    });
                }
            }
            for v in violations
                .iter()
                .rev()
                .take_while(|v| v.step == record.step)
            {
                if !timeline.violations.contains(v) {
                    timeline.violations.push(v.clone());
                }
            }
        }
        recent.push_back(StepSummary::of(record));
        if recent.len() > RECENT_LOG {
            recent.pop_front();
        }
    }

    fn extend_density(timeline: &mut Timeline, starts: &mut Vec<u64>, step: u64, time: Time) {
        let mut bucket = (time.0 / timeline.bucket.0) as usize;
        while bucket >= MAX_BUCKETS {
            // Too long a run for this width: merge pairs and double it.
            let merged: Vec<u64> = starts.iter().step_by(2).copied().collect();
            *starts = merged;
            timeline.bucket = Duration(timeline.bucket.0 * 2);
            bucket = (time.0 / timeline.bucket.0) as usize;
        }
        while starts.len() <= bucket {
            starts.push(step);
        }
        timeline.density = starts.windows(2).map(|w| w[1] - w[0]).collect();
        timeline.density.push(step + 1 - starts[starts.len() - 1]);
    }

    /// After moving to an earlier or arbitrary moment, drops recent-log lines
    /// that are not in the past of the current step.
    fn trim_recent(&mut self) {
        let now = self.sim.world().steps();
        while self.recent.back().is_some_and(|s| s.step >= now) {
            self.recent.pop_back();
        }
        if self.recent.back().is_some_and(|s| s.step + 1 != now) {
            self.recent.clear();
        }
    }

    fn forked(&mut self, fork: Fork) {
        let t = &mut self.timeline;
        t.inputs.retain(|m| m.step < fork.at_step);
        t.milestones.retain(|m| m.step < fork.at_step);
        t.violations.retain(|v| v.step < fork.at_step);
        t.liveness.retain(|v| v.step < fork.at_step);
        let time = self.sim.world().now();
        let keep = (time.0 / t.bucket.0) as usize + 1;
        self.bucket_starts.truncate(keep.max(1));
        t.density.truncate(self.bucket_starts.len());
        if let Some(last) = t.density.last_mut() {
            *last = fork
                .at_step
                .saturating_sub(self.bucket_starts[self.bucket_starts.len() - 1]);
        }
    }

    /// Puts the violations found beyond the old horizon on the timeline
    /// (step observers cannot see the checkers, so this runs after a batch).
    fn absorb_violations(&mut self, horizon_before: u64) {
        self.absorb_liveness(horizon_before);
        for v in self
            .sim
            .violations()
            .iter()
            .filter(|v| v.step >= horizon_before)
        {
            if !self.timeline.violations.contains(v) {
                self.timeline.violations.push(v.clone());
            }
        }
    }

    /// Puts the liveness failures found beyond the old horizon on the
    /// timeline (in step order, so only the newest are looked at).
    fn absorb_liveness(&mut self, horizon_before: u64) {
        let failures = self.sim.liveness().map_or(&[][..], |l| &l.failures[..]);
        let new = failures
            .iter()
            .rev()
            .take_while(|v| v.step >= horizon_before);
        for v in new.collect::<Vec<_>>().into_iter().rev() {
            if !self.timeline.liveness.contains(v) {
                self.timeline.liveness.push(v.clone());
            }
        }
    }

    fn apply_input(&mut self, input: Input<OpOf<P>>) -> Result<Option<Fork>, ActionError> {
        let horizon = self.sim.horizon().0;
        let fork = self.sim.apply(input).map_err(ActionError::Input)?;
        if let Some(f) = fork {
            self.forked(f);
        }
        self.trim_recent();
        let record = self.sim.world().last_record().expect("an input is a step");
        Self::note_step(
            &mut self.timeline,
            &mut self.bucket_starts,
            &mut self.recent,
            if fork.is_some() { 0 } else { horizon },
            record,
            self.sim.violations(),
        );
        self.absorb_liveness(if fork.is_some() { 0 } else { horizon });
        Ok(fork)
    }
}

impl<P: Interactive> AnySim for Run<P> {
    fn protocol_name(&self) -> &'static str {
        self.protocol().name()
    }
    fn world_config(&self) -> &WorldConfig {
        self.sim.world().config()
    }
    fn now(&self) -> Time {
        self.sim.world().now()
    }
    fn steps(&self) -> u64 {
        self.sim.world().steps()
    }
    fn horizon(&self) -> (u64, Time) {
        self.sim.horizon()
    }
    fn next_event_time(&self) -> Option<Time> {
        self.sim.world().next_event_time()
    }
    fn node_count(&self) -> usize {
        self.sim.world().node_count()
    }

    fn node(&self, id: NodeId) -> NodeInfo {
        let world = self.sim.world();
        NodeInfo {
            id,
            kind: self.protocol().node_kind(id),
            scene: world.scene(id),
            conditions: world.conditions(id),
            countdown: self
                .protocol()
                .countdown_timer()
                .and_then(|t| world.timer_window(id, &t)),
        }
    }

    fn persisted(&self, id: NodeId) -> Option<String> {
        self.sim.world().durable(id).map(|d| {
            let text = format!("{d:?}");
            // A long log would flood the inspector; the head says enough.
            const MAX: usize = 800;
            if text.chars().count() > MAX {
                format!("{}…", text.chars().take(MAX).collect::<String>())
            } else {
                text
            }
        })
    }

    fn messages(&self, out: &mut Vec<MessageView>) {
        out.extend(self.sim.world().in_flight().map(|m| MessageView {
            id: m.id,
            from: m.from,
            to: m.to,
            kind: m.msg.kind(),
            is_reply: m.msg.is_reply(),
            sent: m.sent,
            arrives: m.arrives,
            fate: m.fate,
            duplicate_of: m.duplicate_of,
        }));
    }

    fn message_label(&self, id: MsgId) -> Option<String> {
        self.sim
            .world()
            .message(id)
            .map(|m| format!("{} {}: {}", m.msg.kind(), m.id, m.msg.label()))
    }

    fn unusual_links(&self) -> Vec<(NodeId, NodeId, Link)> {
        self.sim
            .world()
            .network()
            .unusual_links()
            .map(|(a, b, l)| (a, b, *l))
            .collect()
    }

    fn network_defaults(&self) -> LinkParams {
        *self.sim.world().network().defaults()
    }

    fn step(&mut self) -> Option<StepSummary> {
        let before = self.sim.horizon().0;
        self.trim_recent();
        self.sim.step()?;
        let record = self
            .sim
            .world()
            .last_record()
            .expect("a step was just taken");
        Self::note_step(
            &mut self.timeline,
            &mut self.bucket_starts,
            &mut self.recent,
            before,
            record,
            self.sim.violations(),
        );
        self.absorb_liveness(before);
        self.recent.back().cloned()
    }

    fn step_back(&mut self) -> bool {
        let moved = self.sim.step_back();
        self.trim_recent();
        moved
    }

    fn run_until(&mut self, t: Time, max_steps: u64) -> RunOutcome {
        self.trim_recent();
        let before = self.sim.horizon().0;
        let Run {
            sim,
            timeline,
            bucket_starts,
            recent,
            ..
        } = self;
        let outcome = sim.run_until_observed(t, max_steps, &mut |r, _| {
            Self::note_step(timeline, bucket_starts, recent, before, r, &[]);
        });
        self.absorb_violations(before);
        outcome
    }

    fn drain(&mut self, max_steps: u64) -> Result<(Option<Fork>, usize), ActionError> {
        let ends = ending_every_fault(self.sim.world());
        let ended = ends.len();
        let mut fork = None;
        for input in ends.into_iter().chain([Input::Drain]) {
            let f = self.apply_input(input)?;
            fork = fork.or(f);
        }
        let checked = |run: &Self| {
            run.liveness()
                .and_then(|l| l.drain.as_ref())
                .is_none_or(|d| d.checked.is_some())
        };
        for _ in 0..max_steps {
            if checked(self) || self.step().is_none() {
                break;
            }
        }
        Ok((fork, ended))
    }

    fn run_to_milestone(&mut self, max_steps: u64, max_units: u64) -> Option<Milestone> {
        let deadline = self.now() + Duration(self.time_unit().0.saturating_mul(max_units));
        for _ in 0..max_steps {
            if self.next_event_time().is_none_or(|t| t > deadline) {
                self.run_until(deadline, max_steps);
                return None;
            }
            let summary = self.step()?;
            if let Some(m) = summary.milestones.first() {
                return Some(m.clone());
            }
        }
        None
    }

    fn time_unit(&self) -> Duration {
        self.protocol().time_unit()
    }

    fn seek_time(&mut self, t: Time) {
        let horizon = self.sim.horizon();
        if t <= horizon.1 {
            // A moment this timeline has reached: from the nearest
            // checkpoint, never by running on from here, so that seeking
            // anywhere costs at most about one checkpoint interval.
            self.sim.seek_time(t);
            self.trim_recent();
        } else {
            // Past the horizon: jump to it, then run on, recording the new
            // steps for the timeline.
            if self.steps() < horizon.0 {
                self.sim.seek_step(horizon.0);
                self.trim_recent();
            }
            self.run_until(t, u64::MAX);
        }
    }

    fn seek_step(&mut self, step: u64) {
        let horizon = self.sim.horizon().0;
        if step > horizon && self.steps() < horizon {
            self.sim.seek_step(horizon);
            self.trim_recent();
        }
        if step > horizon {
            let need = step - self.steps();
            for _ in 0..need {
                if self.step().is_none() {
                    break;
                }
            }
        } else {
            self.sim.seek_step(step);
            self.trim_recent();
        }
    }

    fn seek_moment(&mut self, step: u64, time: Time) {
        self.seek_step(step);
        self.sim.seek_moment(step, time);
        self.trim_recent();
    }

    fn apply(&mut self, input: Input<String>) -> Result<Option<Fork>, ActionError> {
        let input = input
            .try_map_op(|text| self.protocol().parse_op(&text))
            .map_err(ActionError::Op)?;
        self.apply_input(input)
    }

    fn apply_at(&mut self, step: u64, time: Time, input: Input<String>) -> Result<(), ActionError> {
        let input = input
            .try_map_op(|text| self.protocol().parse_op(&text))
            .map_err(ActionError::Op)?;
        let horizon = self.sim.horizon().0;
        self.trim_recent();
        let Run {
            sim,
            timeline,
            bucket_starts,
            recent,
            ..
        } = self;
        sim.apply_at(step, time, input, &mut |r, _| {
            Self::note_step(timeline, bucket_starts, recent, horizon, r, &[])
        })
        .map_err(ActionError::Log)?;
        let record = sim.world().last_record().expect("an input is a step");
        Self::note_step(timeline, bucket_starts, recent, horizon, record, &[]);
        self.absorb_violations(horizon);
        Ok(())
    }

    fn sample_request(&mut self, node: Option<NodeId>) -> Result<Option<Fork>, ActionError> {
        let target = node
            .or_else(|| self.protocol().request_target())
            .ok_or_else(|| {
                ActionError::Op(format!(
                    "the {} protocol has no client to send a request from",
                    self.protocol().name()
                ))
            })?;
        self.requests += 1;
        let op = self.protocol().sample_op(self.requests);
        self.apply_input(Input::Request { node: target, op })
    }

    fn inputs(&self) -> Vec<InputRecord<String>> {
        self.sim
            .inputs()
            .iter()
            .map(|r| InputRecord {
                step: r.step,
                time: r.time,
                input: r.input.clone().map_op(|op| self.protocol().format_op(&op)),
            })
            .collect()
    }

    fn node_actions(&self, id: NodeId) -> Vec<(String, String)> {
        self.protocol().node_actions(id)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn message_colours(&self) -> &'static [(&'static str, u8)] {
        self.protocol().message_colours()
    }

    fn violations(&self) -> &[Violation] {
        self.sim.violations()
    }

    fn rules(&self) -> Vec<Rule> {
        self.sim.rules()
    }

    fn liveness(&self) -> Option<&LivenessState> {
        self.sim.liveness()
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        self.sim.counters()
    }

    fn undecided(&self) -> Vec<crate::Undecided> {
        self.sim.undecided()
    }

    fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    fn recent_log(&mut self, count: usize) -> Vec<StepSummary> {
        let now = self.steps();
        let want = (count as u64).min(now);
        let have = self.recent.len() as u64;
        if have < want {
            let from = now - want;
            self.recent = self.log_range(from, now).into();
        }
        let skip = self.recent.len().saturating_sub(count);
        self.recent.iter().skip(skip).cloned().collect()
    }

    fn log_range(&self, from: u64, to: u64) -> Vec<StepSummary> {
        let mut out = Vec::new();
        self.sim
            .replay_range(from, to, &mut |r, _| out.push(StepSummary::of(r)));
        out
    }

    fn trace_hash(&self) -> u64 {
        self.sim.world().trace_hash()
    }
}
