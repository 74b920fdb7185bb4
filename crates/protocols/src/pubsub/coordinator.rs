//! The group coordinator: members, generations, partition assignments and
//! committed offsets of one consumer group. It runs on the broker that
//! leads the group's partition of the internal `__consumer_offsets` topic
//! (see the module doc of [`super`]), and everything it decides is a record
//! of that partition: a [`GroupEntry::Generation`] for every rebalance and
//! a [`GroupEntry::Commit`] for every accepted offset commit. It answers
//! (assignments, commit acknowledgements) only once the high watermark has
//! passed the record, so what a consumer was told survives the
//! coordinator's crash: the partition's next leader holds every committed
//! record, rebuilds the group from its log ([`GroupCoordinator::load`]) and
//! takes over.
//!
//! A rebalance (a member joins, or its session runs out) increments the
//! group's *generation* and hands every member its partitions, each with
//! the committed offset to resume from (a round-robin assignment over the
//! members in id order). Commits carry the member's generation; the
//! coordinator accepts a commit only from the partition's owner in the
//! current generation, so a member that missed a rebalance (paused, cut
//! off) cannot move the group's offsets (toggle `no-generation-fencing`
//! lifts the check).

use sim::sorted::SortedMap;
use std::rc::Rc;

use sim::{impl_encode, Encode, NodeId, Out, TraceHasher};

use super::msg::{GroupEntry, PubSubMsg, Record};
use super::node::{PubSubNode, PubSubTimer};
use super::{Generation, GroupId, Offset, PartitionId, Settings};

/// One group's state, as its offsets partition's records make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// The group.
    pub group: GroupId,
    /// The current generation (0 before the first rebalance).
    pub generation: Generation,
    /// The members, in id order.
    pub members: Vec<NodeId>,
    /// Who owns each partition in this generation.
    pub owners: SortedMap<PartitionId, NodeId>,
    /// The committed offset of each partition (absent: 0).
    pub offsets: SortedMap<PartitionId, Offset>,
}

impl Encode for GroupState {
    fn encode(&self, h: &mut TraceHasher) {
        (
            self.group,
            self.generation,
            &self.members,
            &self.owners,
            &self.offsets,
        )
            .encode(h);
    }
}

impl GroupState {
    /// The committed offset of `p`.
    pub fn offset(&self, p: PartitionId) -> Offset {
        self.offsets.get(&p).copied().unwrap_or_default()
    }
}

/// The group's committed offset of each partition by the commit records
/// of `log`.
fn committed_offsets(log: &[Record]) -> SortedMap<PartitionId, Offset> {
    let mut offsets: SortedMap<PartitionId, Offset> = SortedMap::new();
    for r in log {
        if let Some(GroupEntry::Commit {
            partition, offset, ..
        }) = &r.entry
        {
            let o = offsets.entry(*partition).or_default();
            *o = (*o).max(*offset);
        }
    }
    offsets
}

/// A rebalance's outcome, as the checker records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebalance {
    /// The group.
    pub group: GroupId,
    /// The new generation.
    pub generation: Generation,
    /// Each partition's owner and the offset it resumes from.
    pub assignment: Vec<(PartitionId, NodeId, Offset)>,
}

impl_encode!(Rebalance {
    group,
    generation,
    assignment
});

/// Each consumed partition's owner and the offset it resumes from.
pub type Assignment = Vec<(PartitionId, NodeId, Offset)>;

/// The coordinator of one group, on the leader of its offsets partition.
/// Volatile: a broker that takes the lead rebuilds it from its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCoordinator {
    settings: Rc<Settings>,
    /// The group as of the log end (appended records included, committed
    /// or not: they are this leader's own, or will be committed by it).
    state: GroupState,
    /// The latest generation record (its offset, and each partition's
    /// owner with the offset it resumes from), while its assignments have
    /// not gone out yet: they go when the high watermark passes it.
    announce: Option<(Offset, Assignment)>,
    /// Commits appended and not answered yet: the record's offset, the
    /// member, the partition and the committed offset.
    waiting: Vec<(Offset, NodeId, PartitionId, Offset)>,
    /// The log end when this coordinator took over. Its predecessor may
    /// have acknowledged commits anywhere below it (a new leader's high
    /// watermark lags the old one's), so until the high watermark reaches
    /// it, no assignment goes out: one would resume a partition from an
    /// offset the group has already committed past.
    takeover: Offset,
    /// Each member's session, as its last JoinGroup to this coordinator
    /// gave it. Assignments carry it, and a consumer adopts only one of
    /// its own session: one the network delayed past the consumer's
    /// restart would send it back to offsets committed since.
    sessions: SortedMap<NodeId, u64>,
    /// Members that asked for their assignment again while records were
    /// in the log above the high watermark: the last such record's offset,
    /// and the member. Answered when the high watermark passes it.
    joins: Vec<(Offset, NodeId)>,
}

impl GroupCoordinator {
    /// Rebuilds `group` from its offsets partition's log, whose high
    /// watermark (as this broker knows it) is `hw`, and gives every member
    /// a full session. A generation record not known to be committed is
    /// announced once it is, and once everything the log held at the
    /// takeover is (see [`GroupCoordinator::takeover`]).
    pub(super) fn load(
        settings: Rc<Settings>,
        group: GroupId,
        log: &[Record],
        hw: Offset,
        out: &mut Out<PubSubNode>,
    ) -> GroupCoordinator {
        let mut c = GroupCoordinator {
            settings,
            state: GroupState {
                group,
                generation: Generation(0),
                members: Vec::new(),
                owners: SortedMap::new(),
                offsets: SortedMap::new(),
            },
            announce: None,
            waiting: Vec::new(),
            takeover: Offset(log.len() as u64),
            sessions: SortedMap::new(),
            joins: Vec::new(),
        };
        let mut last_generation = None;
        for (o, r) in log.iter().enumerate() {
            if let Some(e) = &r.entry {
                if let GroupEntry::Generation { assignment, .. } = e {
                    last_generation = Some((Offset(o as u64), assignment.clone()));
                }
                c.apply(e);
            }
        }
        c.announce = last_generation.filter(|(o, _)| *o >= hw);
        for &m in &c.state.members {
            c.arm(m, out);
        }
        c
    }

    /// The group's state as of the log end.
    pub fn state(&self) -> &GroupState {
        &self.state
    }

    /// Applies one record of the offsets partition.
    fn apply(&mut self, entry: &GroupEntry) {
        let g = &mut self.state;
        match entry {
            GroupEntry::Generation {
                generation,
                members,
                assignment,
            } => {
                g.generation = *generation;
                g.members = members.clone();
                g.owners = assignment.iter().map(|&(p, m, _)| (p, m)).collect();
            }
            GroupEntry::Commit {
                partition, offset, ..
            } => {
                let o = g.offsets.entry(*partition).or_default();
                *o = (*o).max(*offset);
            }
        }
    }

    /// Records that `entry` was appended at `at`: the state follows it, and
    /// its answer waits for the high watermark.
    pub(super) fn appended(&mut self, at: Offset, entry: &GroupEntry) {
        self.apply(entry);
        match entry {
            GroupEntry::Generation { assignment, .. } => {
                self.announce = Some((at, assignment.clone()))
            }
            GroupEntry::Commit {
                partition,
                offset,
                member,
                ..
            } => self.waiting.push((at, *member, *partition, *offset)),
        }
    }

    fn arm(&self, member: NodeId, out: &mut Out<PubSubNode>) {
        let t = self.settings.group_session_timeout;
        out.set_timer(PubSubTimer::Member(self.state.group, member), t, t);
    }

    /// A member asks to join; `committed` is the committed prefix of the
    /// offsets partition and `log_end` its log end. Returns the generation
    /// record to append, if the group must rebalance.
    pub(super) fn on_join(
        &mut self,
        from: NodeId,
        session: u64,
        committed: &[Record],
        log_end: Offset,
        out: &mut Out<PubSubNode>,
    ) -> Option<GroupEntry> {
        self.arm(from, out);
        self.sessions.insert(from, session);
        let group = self.state.group;
        if self.state.members.contains(&from) {
            // A member that lost its assignment (it restarted, or missed
            // the message): the current one again, with the offsets
            // committed so far, once every record now in the log is
            // committed. Never sooner: a commit the member sent before it
            // restarted may be in the log and be acknowledged after this
            // answer is sent, and the answer must not resume below it. A
            // generation not committed yet goes out when it is.
            let hw = Offset(committed.len() as u64);
            if hw >= log_end {
                self.answer_join(from, committed, out);
            } else {
                self.joins.retain(|&(_, m)| m != from);
                self.joins.push((Offset(log_end.0 - 1), from));
            }
            return None;
        }
        let mut members = self.state.members.clone();
        members.push(from);
        members.sort_unstable();
        out.note(format!("{from} joins {group}"));
        Some(self.rebalance(members))
    }

    pub(super) fn on_heartbeat(
        &mut self,
        from: NodeId,
        generation: Generation,
        out: &mut Out<PubSubNode>,
    ) {
        let g = &self.state;
        let known = g.members.contains(&from);
        let current = g.generation;
        if known {
            self.arm(from, out);
        }
        out.send(
            from,
            PubSubMsg::GroupHeartbeatReply {
                group: g.group,
                generation: current,
                rejoin: !known || generation != current,
            },
        );
    }

    /// A member's session ran out: it leaves. Returns the generation record
    /// to append.
    pub(super) fn on_session_expired(
        &mut self,
        member: NodeId,
        out: &mut Out<PubSubNode>,
    ) -> Option<GroupEntry> {
        if !self.state.members.contains(&member) {
            return None;
        }
        let mut members = self.state.members.clone();
        members.retain(|&m| m != member);
        out.note(format!(
            "{member}'s session in {} ran out: it leaves",
            self.state.group
        ));
        Some(self.rebalance(members))
    }

    /// Sends `member` its partitions in the current generation, resuming
    /// from the offsets `committed` (the committed prefix of the offsets
    /// partition) holds, unless the current generation is not committed
    /// yet (it goes out when it is) or this coordinator has just taken
    /// over and its predecessor's records are not all committed (the
    /// member asks again).
    fn answer_join(&self, member: NodeId, committed: &[Record], out: &mut Out<PubSubNode>) {
        let settled = Offset(committed.len() as u64) >= self.takeover;
        if self.announce.is_some() || !settled {
            return;
        }
        let offsets = committed_offsets(committed);
        let partitions = self
            .state
            .owners
            .iter()
            .filter(|&(_, &o)| o == member)
            .map(|(&p, _)| (p, offsets.get(&p).copied().unwrap_or_default()))
            .collect();
        out.send(
            member,
            PubSubMsg::Assignment {
                group: self.state.group,
                generation: self.state.generation,
                partitions,
                session: self.sessions.get(&member).copied().unwrap_or(0),
            },
        );
    }

    /// The next generation over `members`.
    fn rebalance(&self, members: Vec<NodeId>) -> GroupEntry {
        let g = &self.state;
        let assignment = if members.is_empty() {
            Vec::new()
        } else {
            self.settings
                .consumed()
                .enumerate()
                .map(|(k, p)| (p, members[k % members.len()], g.offset(p)))
                .collect()
        };
        GroupEntry::Generation {
            generation: Generation(g.generation.0 + 1),
            members,
            assignment,
        }
    }

    /// A member commits; `log_end` and `hw` are the offsets partition's
    /// log end and high watermark. Returns the commit record to append:
    /// only the partition's owner in the current generation is accepted
    /// (the others are refused at once). A commit below the group's offset
    /// (the network delayed it behind a later one, or the member resumed
    /// below a commit of its own that was not committed yet when it asked
    /// for its assignment again) appends nothing, since the group's offset
    /// never goes back, but it is answered as accepted once every record
    /// now in the log is committed: the group will then never resume below
    /// it, which is all the answer promises. Dropping it would leave an
    /// at-most-once member waiting for ever for the answer it needs before
    /// it processes.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_commit(
        &mut self,
        from: NodeId,
        generation: Generation,
        partition: PartitionId,
        offset: Offset,
        log_end: Offset,
        hw: Offset,
        out: &mut Out<PubSubNode>,
    ) -> Option<GroupEntry> {
        let g = &self.state;
        let owner = g.generation == generation && g.owners.get(&partition) == Some(&from);
        if !owner && self.settings.generation_fencing {
            out.note(format!(
                "{from} is not the owner of {partition} in {} {}: its commit is refused",
                g.group, g.generation
            ));
            out.send(
                from,
                PubSubMsg::OffsetCommitReply {
                    group: g.group,
                    partition,
                    offset,
                    accepted: false,
                },
            );
            return None;
        }
        if offset < g.offset(partition) {
            if hw >= log_end {
                out.send(
                    from,
                    PubSubMsg::OffsetCommitReply {
                        group: g.group,
                        partition,
                        offset,
                        accepted: true,
                    },
                );
            } else if !self
                .waiting
                .iter()
                .any(|&(_, m, p, o)| (m, p, o) == (from, partition, offset))
            {
                // The record that raised the group's offset is in the log
                // below `log_end`: answered when the high watermark passes
                // the last record there.
                self.waiting
                    .push((Offset(log_end.0 - 1), from, partition, offset));
            }
            return None;
        }
        if self
            .waiting
            .iter()
            .any(|&(_, m, p, o)| (m, p, o) == (from, partition, offset))
        {
            // A resend of a commit that is appended and not committed yet:
            // it is answered when that one is.
            return None;
        }
        Some(GroupEntry::Commit {
            generation,
            partition,
            offset,
            member: from,
        })
    }

    /// The high watermark of the offsets partition reached `hw`, and
    /// `committed` is the log below it: what it passed is committed, and
    /// answered now.
    pub(super) fn on_high_watermark(
        &mut self,
        hw: Offset,
        committed: &[Record],
        out: &mut Out<PubSubNode>,
    ) {
        let group = self.state.group;
        let settled = hw >= self.takeover;
        let announce = self.announce.take_if(|(o, _)| *o < hw && settled);
        let announced = announce.is_some();
        if let Some((_, assignment)) = announce {
            // Each partition resumes from the group's committed offset as
            // the committed log has it now: the generation record's own
            // offset, or a commit after it. A coordinator that took over
            // with a stale high watermark announces a generation its
            // predecessor announced already, and commits acknowledged
            // since then must not be taken back: they are all in the log
            // below `takeover`, committed by now. Commit records not
            // committed yet are left out: they may still vanish.
            let offsets = committed_offsets(committed);
            let g = &self.state;
            for &m in &g.members {
                let partitions = assignment
                    .iter()
                    .filter(|&&(_, o, _)| o == m)
                    .map(|&(p, _, o)| (p, o.max(offsets.get(&p).copied().unwrap_or_default())))
                    .collect();
                out.send(
                    m,
                    PubSubMsg::Assignment {
                        group,
                        generation: g.generation,
                        partitions,
                        session: self.sessions.get(&m).copied().unwrap_or(0),
                    },
                );
            }
            let name = &self.settings.groups[group.0 as usize].name;
            out.milestone(
                "rebalance-completed",
                format!(
                    "group {name} is in {} with {} members",
                    g.generation,
                    g.members.len()
                ),
            );
        }
        let (due, joins): (Vec<_>, Vec<_>) = self.joins.drain(..).partition(|&(at, _)| at < hw);
        self.joins = joins;
        for (_, member) in due {
            // The announcement, if one went out just now, reached every
            // member already.
            if !announced && self.state.members.contains(&member) {
                self.answer_join(member, committed, out);
            }
        }
        let (done, waiting): (Vec<_>, Vec<_>) =
            self.waiting.drain(..).partition(|&(at, ..)| at < hw);
        self.waiting = waiting;
        for (_, member, partition, offset) in done {
            out.send(
                member,
                PubSubMsg::OffsetCommitReply {
                    group,
                    partition,
                    offset,
                    accepted: true,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::{Delivery, Epoch, GroupSpec, MsgKey};

    const P0: PartitionId = PartitionId(0);
    const MEMBER: NodeId = NodeId(5);

    fn settings() -> Rc<Settings> {
        let mut settings = Settings::safe(1);
        settings.groups.push(GroupSpec {
            name: "g".to_string(),
            members: 1,
            mode: Delivery::AtMostOnce,
        });
        Rc::new(settings)
    }

    fn record(at: u64, entry: GroupEntry) -> Record {
        Record {
            epoch: Epoch(1),
            id: MsgKey {
                producer: NodeId(0),
                n: at + 1,
            },
            key: 0,
            seq: None,
            entry: Some(entry),
        }
    }

    /// The offsets partition's log: generation 1 gives p0 to the member
    /// from 0, and the member's commit of p0 at 3 follows.
    fn log() -> Vec<Record> {
        vec![
            record(
                0,
                GroupEntry::Generation {
                    generation: Generation(1),
                    members: vec![MEMBER],
                    assignment: vec![(P0, MEMBER, Offset(0))],
                },
            ),
            record(
                1,
                GroupEntry::Commit {
                    generation: Generation(1),
                    partition: P0,
                    offset: Offset(3),
                    member: MEMBER,
                },
            ),
        ]
    }

    fn assignments(out: &Out<PubSubNode>) -> Vec<(NodeId, Vec<(PartitionId, Offset)>)> {
        out.sends()
            .iter()
            .filter_map(|(to, m)| match m {
                PubSubMsg::Assignment { partitions, .. } => Some((*to, partitions.clone())),
                _ => None,
            })
            .collect()
    }

    /// A new coordinator whose high watermark is behind its log announces
    /// the last generation once it is committed, with the offsets committed
    /// by then: the commit after the generation record was acknowledged by
    /// the old coordinator, and its member must not be sent back before it.
    #[test]
    fn a_generation_announced_again_resumes_from_the_commits_after_it() {
        let log = log();
        let mut out = Out::new();
        let mut c = GroupCoordinator::load(settings(), GroupId(0), &log, Offset(0), &mut out);
        assert!(assignments(&out).is_empty(), "nothing is committed yet");
        // Its high watermark passes the generation record, not yet the
        // commit that the old coordinator may have acknowledged: nothing
        // goes out.
        let mut out = Out::new();
        c.on_high_watermark(Offset(1), &log[..1], &mut out);
        assert!(
            assignments(&out).is_empty(),
            "the commit at 1 is not known committed"
        );
        // A member that asks for its assignment meanwhile waits too.
        let mut out = Out::new();
        c.on_join(MEMBER, 1, &log[..1], Offset(2), &mut out);
        assert!(
            assignments(&out).is_empty(),
            "a join waits for the takeover to settle"
        );
        let mut out = Out::new();
        c.on_high_watermark(Offset(2), &log, &mut out);
        assert_eq!(assignments(&out), vec![(MEMBER, vec![(P0, Offset(3))])]);
    }

    /// Once everything the log held at the takeover is committed, a member
    /// that asks again gets the current generation, with every commit.
    #[test]
    fn a_member_that_asks_after_the_takeover_settled_resumes_past_every_commit() {
        let log = log();
        let mut c =
            GroupCoordinator::load(settings(), GroupId(0), &log, Offset(2), &mut Out::new());
        let mut out = Out::new();
        c.on_join(MEMBER, 1, &log, Offset(2), &mut out);
        assert_eq!(assignments(&out), vec![(MEMBER, vec![(P0, Offset(3))])]);
    }

    /// A commit below the group's committed offset (the member was sent
    /// back, or the network delayed it) is answered, not dropped: an
    /// at-most-once member waits for the answer before it processes, and
    /// would wait for ever. The group's offset is left as it is.
    #[test]
    fn a_commit_below_the_groups_offset_is_answered_and_changes_nothing() {
        let log = log();
        let mut out = Out::new();
        let mut c = GroupCoordinator::load(settings(), GroupId(0), &log, Offset(2), &mut out);
        let mut out = Out::new();
        let entry = c.on_commit(
            MEMBER,
            Generation(1),
            P0,
            Offset(2),
            Offset(2),
            Offset(2),
            &mut out,
        );
        assert_eq!(entry, None, "no record moves the offset back");
        assert_eq!(c.state().offset(P0), Offset(3));
        let replies: Vec<_> = out
            .sends()
            .iter()
            .filter(|(to, m)| {
                *to == MEMBER
                    && matches!(
                        m,
                        PubSubMsg::OffsetCommitReply {
                            offset: Offset(2),
                            accepted: true,
                            ..
                        }
                    )
            })
            .collect();
        assert_eq!(replies.len(), 1, "{:?}", out.sends());
    }

    /// While the commit that raised the group's offset is not committed
    /// yet, a lower commit's answer waits for it: an answer says the
    /// group will never resume below that offset.
    #[test]
    fn a_lower_commit_is_answered_once_the_higher_one_is_committed() {
        let log = log();
        let mut out = Out::new();
        let mut c = GroupCoordinator::load(settings(), GroupId(0), &log, Offset(1), &mut out);
        let mut out = Out::new();
        let entry = c.on_commit(
            MEMBER,
            Generation(1),
            P0,
            Offset(2),
            Offset(2),
            Offset(1),
            &mut out,
        );
        assert_eq!(entry, None);
        assert!(out.sends().is_empty(), "{:?}", out.sends());
        let mut out = Out::new();
        c.on_high_watermark(Offset(2), &log, &mut out);
        let answered = out.sends().iter().any(|(to, m)| {
            *to == MEMBER
                && matches!(
                    m,
                    PubSubMsg::OffsetCommitReply {
                        offset: Offset(2),
                        accepted: true,
                        ..
                    }
                )
        });
        assert!(answered, "{:?}", out.sends());
    }

    /// A member that asks for its assignment again (it restarted) while
    /// its own commit is in the log above the high watermark waits for
    /// that commit: answered at once, it would resume below an offset the
    /// coordinator acknowledges a moment later.
    #[test]
    fn a_rejoin_waits_for_the_commits_above_the_high_watermark() {
        let log = log();
        let mut c = GroupCoordinator::load(
            settings(),
            GroupId(0),
            &log[..1],
            Offset(1),
            &mut Out::new(),
        );
        // The member's commit of p0 at 3 is appended, not committed.
        c.appended(
            Offset(1),
            &GroupEntry::Commit {
                generation: Generation(1),
                partition: P0,
                offset: Offset(3),
                member: MEMBER,
            },
        );
        let mut out = Out::new();
        c.on_join(MEMBER, 2, &log[..1], Offset(2), &mut out);
        assert!(
            assignments(&out).is_empty(),
            "the commit at 1 may still be acknowledged"
        );
        let mut out = Out::new();
        c.on_high_watermark(Offset(2), &log, &mut out);
        assert_eq!(assignments(&out), vec![(MEMBER, vec![(P0, Offset(3))])]);
        let session = out.sends().iter().find_map(|(_, m)| match m {
            PubSubMsg::Assignment { session, .. } => Some(*session),
            _ => None,
        });
        assert_eq!(session, Some(2), "the answer names the session that asked");
    }
}
