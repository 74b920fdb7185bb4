//! Linearizability of the key-value history, checked per key (Raft's R8,
//! Multi-Paxos's P8). Both protocols' checkers use [`Tracker`].
//!
//! A history is linearizable if every operation can be given one instant
//! between its invocation and its completion such that, in that order, the
//! operations are a legal run of a single-copy key-value store (Herlihy and
//! Wing). Keys are independent, so each key's sub-history is checked on its
//! own, which keeps the search small. The search is Wing and Gong's, with
//! Lowe's memo of (linearized set, state) pairs, as in Porcupine: repeatedly
//! pick an operation that may go first (it was invoked before every remaining
//! completed operation returned), apply it to the model, and recurse.
//! Operations that never completed may take effect or not. The search has a
//! step budget: when it runs out the answer is "unknown", never a hang.

use sim::sorted::{SortedMap, SortedSet};

use sim::NodeId;

use crate::kv::{KvOp, RequestId};

/// One operation in a key's history.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HistOp {
    client: NodeId,
    request: RequestId,
    op: KvOp,
    /// The step at which the client invoked it.
    call: u64,
    /// The step at which the client saw the result, with the result.
    ret: Option<(u64, String)>,
}

/// The outcome of checking one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order explains every result.
    Linearizable,
    /// No order does.
    NotLinearizable,
    /// The search ran out of budget.
    Unknown,
}

/// The client history, split by key.
#[derive(Clone, Debug, Default)]
pub struct History {
    keys: SortedMap<String, Vec<HistOp>>,
    open: SortedMap<(NodeId, RequestId), (String, usize)>,
}

/// The default number of search steps per check.
pub const DEFAULT_BUDGET: u64 = 50_000;

impl History {
    /// Records that `client` invoked `op` as request `request` at `step`.
    pub fn invoke(&mut self, client: NodeId, request: RequestId, op: &KvOp, step: u64) {
        let key = op.key().to_string();
        let ops = self.keys.entry(key.clone()).or_default();
        ops.push(HistOp {
            client,
            request,
            op: op.clone(),
            call: step,
            ret: None,
        });
        self.open.insert((client, request), (key, ops.len() - 1));
    }

    /// Records that `client` got `result` for request `request` at `step`,
    /// and returns the key it was about (`None` for an unknown request).
    pub fn complete(
        &mut self,
        client: NodeId,
        request: RequestId,
        result: &str,
        step: u64,
    ) -> Option<String> {
        let (key, i) = self.open.remove(&(client, request))?;
        self.keys.get_mut(&key).expect("recorded at invoke")[i].ret =
            Some((step, result.to_string()));
        Some(key)
    }

    /// Checks one key's history within `budget` search steps.
    pub fn check_key(&self, key: &str, budget: u64) -> Verdict {
        let Some(ops) = self.keys.get(key) else {
            return Verdict::Linearizable;
        };
        let mut search = Search {
            ops,
            done: vec![false; ops.len()],
            memo: SortedSet::new(),
            budget,
        };
        match search.run(String::new()) {
            Some(true) => Verdict::Linearizable,
            Some(false) => Verdict::NotLinearizable,
            None => Verdict::Unknown,
        }
    }

    /// How many operations one key's history holds.
    pub fn len_of(&self, key: &str) -> usize {
        self.keys.get(key).map_or(0, Vec::len)
    }

    /// A short readable description of one key's history, for a violation.
    pub fn describe_key(&self, key: &str) -> String {
        let Some(ops) = self.keys.get(key) else {
            return String::new();
        };
        ops.iter()
            .map(|o| match &o.ret {
                Some((s, r)) => format!(
                    "{}{} {} [{}..{}] -> \"{r}\"",
                    o.client, o.request, o.op, o.call, s
                ),
                None => format!("{}{} {} [{}..] pending", o.client, o.request, o.op, o.call),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A client history checked as it grows: each completion rechecks its key.
/// A key whose search ran out of budget is checked again only once its
/// history has doubled, so a hard history costs O(log n) searches rather
/// than one per completion; a key found not linearizable is reported once.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    history: History,
    failed_keys: Vec<String>,
    recheck_at: SortedMap<String, usize>,
    unknown_checks: u64,
}

impl Tracker {
    /// Records an invocation (see [`History::invoke`]).
    pub fn invoke(&mut self, client: NodeId, request: RequestId, op: &KvOp, step: u64) {
        self.history.invoke(client, request, op, step);
    }

    /// Records a completion and checks its key. Returns a sentence naming
    /// the key and its history if that key has just been found not
    /// linearizable.
    pub fn complete(
        &mut self,
        client: NodeId,
        request: RequestId,
        result: &str,
        step: u64,
    ) -> Option<String> {
        let key = self.history.complete(client, request, result, step)?;
        if self.failed_keys.contains(&key) {
            return None;
        }
        let len = self.history.len_of(&key);
        if self.recheck_at.get(&key).is_some_and(|&at| len < at) {
            return None;
        }
        match self.history.check_key(&key, DEFAULT_BUDGET) {
            Verdict::Linearizable => None,
            Verdict::Unknown => {
                self.unknown_checks += 1;
                self.recheck_at.insert(key, 2 * len);
                None
            }
            Verdict::NotLinearizable => {
                let text = format!(
                    "no order of the operations on key \"{key}\" explains the results clients saw: {}",
                    self.history.describe_key(&key)
                );
                self.failed_keys.push(key);
                Some(text)
            }
        }
    }

    /// How many checks ran out of budget ("unknown").
    pub fn unknown_checks(&self) -> u64 {
        self.unknown_checks
    }
}

struct Search<'a> {
    ops: &'a [HistOp],
    done: Vec<bool>,
    memo: SortedSet<(Vec<bool>, String)>,
    budget: u64,
}

impl Search<'_> {
    /// `Some(found)`, or `None` when the budget ran out.
    fn run(&mut self, state: String) -> Option<bool> {
        let remaining_completed: Vec<usize> = (0..self.ops.len())
            .filter(|&i| !self.done[i] && self.ops[i].ret.is_some())
            .collect();
        if remaining_completed.is_empty() {
            return Some(true);
        }
        let min_ret = remaining_completed
            .iter()
            .map(|&i| self.ops[i].ret.as_ref().expect("completed").0)
            .min()
            .expect("non-empty");
        for i in 0..self.ops.len() {
            if self.done[i] || self.ops[i].call > min_ret {
                continue;
            }
            let op = &self.ops[i];
            // A pending read changes nothing and constrains nothing.
            if op.ret.is_none() && matches!(op.op, KvOp::Get { .. }) {
                continue;
            }
            let (next, output) = step(&state, &op.op);
            if let Some((_, expected)) = &op.ret {
                if *expected != output {
                    continue;
                }
            }
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            self.done[i] = true;
            if self.memo.insert((self.done.clone(), next.clone())) {
                match self.run(next) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => return None,
                }
            }
            self.done[i] = false;
        }
        Some(false)
    }
}

/// The single-copy model: the new value and the operation's result.
fn step(state: &str, op: &KvOp) -> (String, String) {
    match op {
        KvOp::Put { value, .. } => (value.clone(), value.clone()),
        KvOp::Get { .. } => (state.to_string(), state.to_string()),
        KvOp::Append { value, .. } => {
            let v = format!("{state}{value}");
            (v.clone(), v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: &str) -> KvOp {
        KvOp::Put {
            key: "x".into(),
            value: v.into(),
        }
    }
    fn get() -> KvOp {
        KvOp::Get { key: "x".into() }
    }

    #[test]
    fn overlapping_operations_may_take_either_order() {
        let mut h = History::default();
        h.invoke(NodeId(1), RequestId(1), &put("a"), 1);
        h.invoke(NodeId(2), RequestId(1), &get(), 2);
        h.complete(NodeId(2), RequestId(1), "a", 3);
        h.complete(NodeId(1), RequestId(1), "a", 4);
        assert_eq!(h.check_key("x", DEFAULT_BUDGET), Verdict::Linearizable);
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_caught() {
        let mut h = History::default();
        h.invoke(NodeId(1), RequestId(1), &put("a"), 1);
        h.complete(NodeId(1), RequestId(1), "a", 2);
        h.invoke(NodeId(2), RequestId(1), &get(), 3);
        h.complete(NodeId(2), RequestId(1), "", 4);
        assert_eq!(h.check_key("x", DEFAULT_BUDGET), Verdict::NotLinearizable);
    }

    #[test]
    fn a_pending_write_may_or_may_not_have_happened() {
        let mut h = History::default();
        h.invoke(NodeId(1), RequestId(1), &put("a"), 1);
        h.invoke(NodeId(2), RequestId(1), &get(), 3);
        h.complete(NodeId(2), RequestId(1), "a", 4);
        h.invoke(NodeId(2), RequestId(2), &get(), 5);
        h.complete(NodeId(2), RequestId(2), "a", 6);
        assert_eq!(h.check_key("x", DEFAULT_BUDGET), Verdict::Linearizable);
    }

    #[test]
    fn the_budget_gives_unknown_instead_of_hanging() {
        let mut h = History::default();
        for c in 0..12 {
            h.invoke(NodeId(c), RequestId(1), &put(&c.to_string()), 1);
        }
        for c in 0..12 {
            h.complete(NodeId(c), RequestId(1), &c.to_string(), 100);
        }
        h.invoke(NodeId(50), RequestId(1), &get(), 101);
        h.complete(NodeId(50), RequestId(1), "nobody wrote this", 102);
        assert_eq!(h.check_key("x", 100), Verdict::Unknown);
        assert_eq!(h.check_key("x", 10_000_000), Verdict::NotLinearizable);
    }
}
