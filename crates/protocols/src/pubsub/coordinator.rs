//! The group coordinator: members, generations, partition assignments and
//! committed offsets of every consumer group. It runs inside the controller
//! node and shares its durability: every change is persisted in the step
//! that makes it, before it is announced (see the module doc of [`super`]
//! for why it lives there and not on a broker).
//!
//! A rebalance (a member joins, or its session runs out) increments the
//! group's *generation* and hands every member its partitions, each with
//! the committed offset to resume from (a round-robin assignment over the
//! members in id order). Commits carry the member's generation; the
//! coordinator accepts a commit only from the partition's owner in the
//! current generation, so a member that missed a rebalance (paused, cut
//! off) cannot move the group's offsets (toggle `no-generation-fencing`
//! lifts the check).

use std::collections::BTreeMap;
use std::rc::Rc;

use sim::{impl_encode, Encode, NodeId, Out, TraceHasher};

use super::msg::PubSubMsg;
use super::node::{PubSubNode, PubSubObs, PubSubTimer};
use super::{Generation, GroupId, Offset, PartitionId, Settings};

/// One group's durable state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// The group.
    pub group: GroupId,
    /// The current generation (0 before the first rebalance).
    pub generation: Generation,
    /// The members, in id order.
    pub members: Vec<NodeId>,
    /// Who owns each partition in this generation.
    pub owners: BTreeMap<PartitionId, NodeId>,
    /// The committed offset of each partition (absent: 0).
    pub offsets: BTreeMap<PartitionId, Offset>,
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

/// The coordinator of every group.
#[derive(Clone, Debug)]
pub struct Coordinator {
    settings: Rc<Settings>,
    groups: Vec<GroupState>,
}

impl Coordinator {
    /// A coordinator with every group empty.
    pub fn new(settings: Rc<Settings>) -> Coordinator {
        let groups = settings
            .group_ids()
            .map(|group| GroupState {
                group,
                generation: Generation(0),
                members: Vec::new(),
                owners: BTreeMap::new(),
                offsets: BTreeMap::new(),
            })
            .collect();
        Coordinator { settings, groups }
    }

    /// Every group's state.
    pub fn groups(&self) -> &[GroupState] {
        &self.groups
    }

    /// Restores the durable state and gives every known member a full
    /// session.
    pub(super) fn start(&mut self, durable: Option<&[GroupState]>, out: &mut Out<PubSubNode>) {
        if let Some(groups) = durable {
            self.groups = groups.to_vec();
        }
        for g in &self.groups {
            for &m in &g.members {
                self.arm(g.group, m, out);
            }
        }
    }

    fn arm(&self, group: GroupId, member: NodeId, out: &mut Out<PubSubNode>) {
        let t = self.settings.group_session_timeout;
        out.set_timer(PubSubTimer::Member(group, member), t, t);
    }

    fn get(&mut self, group: GroupId) -> Option<&mut GroupState> {
        self.groups.get_mut(group.0 as usize)
    }

    /// Handles a group message; returns whether the durable state changed.
    pub(super) fn on_message(
        &mut self,
        from: NodeId,
        msg: &PubSubMsg,
        out: &mut Out<PubSubNode>,
    ) -> bool {
        match msg {
            PubSubMsg::JoinGroup { group } => self.on_join(from, *group, out),
            PubSubMsg::GroupHeartbeat { group, generation } => {
                self.on_heartbeat(from, *group, *generation, out);
                false
            }
            PubSubMsg::OffsetCommit {
                group,
                generation,
                partition,
                offset,
            } => self.on_commit(from, *group, *generation, *partition, *offset, out),
            _ => false,
        }
    }

    fn on_join(&mut self, from: NodeId, group: GroupId, out: &mut Out<PubSubNode>) -> bool {
        self.arm(group, from, out);
        let Some(g) = self.get(group) else {
            return false;
        };
        if g.members.contains(&from) {
            // A member that lost its assignment (it restarted, or missed
            // the message): the current one again.
            let partitions = g
                .owners
                .iter()
                .filter(|&(_, &o)| o == from)
                .map(|(&p, _)| (p, g.offset(p)))
                .collect();
            out.send(
                from,
                PubSubMsg::Assignment {
                    group,
                    generation: g.generation,
                    partitions,
                },
            );
            return false;
        }
        g.members.push(from);
        g.members.sort_unstable();
        out.note(format!("{from} joins {group}"));
        self.rebalance(group, out);
        true
    }

    fn on_heartbeat(
        &mut self,
        from: NodeId,
        group: GroupId,
        generation: Generation,
        out: &mut Out<PubSubNode>,
    ) {
        let Some(g) = self.groups.get(group.0 as usize) else {
            return;
        };
        let known = g.members.contains(&from);
        let current = g.generation;
        if known {
            self.arm(group, from, out);
        }
        out.send(
            from,
            PubSubMsg::GroupHeartbeatReply {
                group,
                generation: current,
                rejoin: !known || generation != current,
            },
        );
    }

    /// A member's session ran out: it leaves, and the group rebalances.
    /// Returns whether the durable state changed.
    pub(super) fn on_session_expired(
        &mut self,
        group: GroupId,
        member: NodeId,
        out: &mut Out<PubSubNode>,
    ) -> bool {
        let Some(g) = self.get(group) else {
            return false;
        };
        if !g.members.contains(&member) {
            return false;
        }
        g.members.retain(|&m| m != member);
        out.note(format!("{member}'s session in {group} ran out: it leaves"));
        self.rebalance(group, out);
        true
    }

    fn rebalance(&mut self, group: GroupId, out: &mut Out<PubSubNode>) {
        let partitions: Vec<PartitionId> = self.settings.consumed().collect();
        let Some(g) = self.get(group) else { return };
        g.generation = Generation(g.generation.0 + 1);
        g.owners.clear();
        if !g.members.is_empty() {
            for (k, &p) in partitions.iter().enumerate() {
                g.owners.insert(p, g.members[k % g.members.len()]);
            }
        }
        let g = g.clone();
        for &m in &g.members {
            let mine = g
                .owners
                .iter()
                .filter(|&(_, &o)| o == m)
                .map(|(&p, _)| (p, g.offset(p)))
                .collect();
            out.send(
                m,
                PubSubMsg::Assignment {
                    group,
                    generation: g.generation,
                    partitions: mine,
                },
            );
        }
        out.observe(PubSubObs::Rebalanced(Rebalance {
            group,
            generation: g.generation,
            assignment: g
                .owners
                .iter()
                .map(|(&p, &m)| (p, m, g.offset(p)))
                .collect(),
        }));
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

    fn on_commit(
        &mut self,
        from: NodeId,
        group: GroupId,
        generation: Generation,
        partition: PartitionId,
        offset: Offset,
        out: &mut Out<PubSubNode>,
    ) -> bool {
        let fencing = self.settings.generation_fencing;
        let Some(g) = self.get(group) else {
            return false;
        };
        let owner = g.generation == generation && g.owners.get(&partition) == Some(&from);
        let accepted = owner || !fencing;
        out.send(
            from,
            PubSubMsg::OffsetCommitReply {
                group,
                partition,
                offset,
                accepted,
            },
        );
        if !accepted {
            out.note(format!(
                "{from} is not the owner of {partition} in {group} {}: its commit is refused",
                g.generation
            ));
            return false;
        }
        if offset < g.offset(partition) {
            // A commit the network delayed behind a later one: offsets
            // never go back.
            return false;
        }
        g.offsets.insert(partition, offset);
        out.observe(PubSubObs::CommitAccepted {
            group,
            generation,
            partition,
            offset,
            member: from,
        });
        true
    }
}
