//! Linearizability: whether the results clients saw could have come from a
//! single copy of the object, each operation taking effect at one instant
//! between its call and its return (Herlihy and Wing). Raft's rule R8 and
//! Multi-Paxos's P8 check the replicated key-value store this way, through
//! [`Tracker`], one key at a time: keys are independent, so each key's
//! history is checked on its own, which keeps every search small.
//!
//! The search ([`search`]) is Wing and Gong's with Lowe's memo, as in
//! Porcupine, made iterative and resumable: the tracker feeds it each call
//! and return as the run makes them and lets it carry on from where it
//! stood, so a run's check costs about as much as one check of its whole
//! history, not one per completed operation. Each search has a step budget;
//! when it runs out the key is *undecided*, shown as such, and the search
//! resumes with the budget the next completions bring. It never hangs and
//! never guesses.
//!
//! [`model`] holds the objects ([`Kv`], and a compare-and-set register for
//! Jepsen-style histories), [`formats`] the readers of Porcupine's and
//! Jepsen's published histories, against whose verdicts the search is
//! tested (`tests/porcupine.rs`).

pub mod formats;
pub mod model;
pub mod search;

use sim::sorted::SortedMap;

use sim::{NodeId, Time, Undecided, Violation};

use crate::kv::{KvOp, RequestId};

pub use model::{CasInput, CasOutput, CasRegister, Kv, KvInput, KvValue};
pub use search::{Effect, Model, OpId, Search, Verdict};

use formats::Logged;

/// The search steps one completed operation adds to its key's budget.
pub const STEPS_PER_COMPLETION: u64 = 20_000;

/// The most budget a key can save up: a key that stays hard for long is
/// left undecided rather than allowed a long pause in one step of the run.
pub const MAX_SAVED_STEPS: u64 = 2_000_000;

/// The budget an undecided key gets once more when the run ends.
pub const FINAL_STEPS: u64 = 20_000_000;

/// How a logged history is fed to the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    /// Every event first, then one search over the whole history.
    Whole,
    /// A search step after every return, as the app's live check does.
    Live,
}

/// Checks a logged history one key at a time and returns the worst of the
/// keys' verdicts; a return without a pending call is an error.
///
/// With [`Feed::Live`] each return gives its key [`STEPS_PER_COMPLETION`]
/// steps and lets its search carry on, as the app's live check does. Then
/// the undecided keys take turns, each turn twice as long as the last, until
/// one is found not linearizable (which decides the history), all are
/// decided, or `budget` steps are spent in all. Taking turns is what
/// Porcupine's parallel partitions amount to: a history with one broken key
/// among hard but sound ones is decided as soon as the broken one is.
pub fn check_logged<M: Model + Clone>(
    model: &M,
    events: &[Logged<M::Input, M::Output>],
    budget: u64,
    feed: Feed,
) -> Result<Verdict, String> {
    let mut keys: SortedMap<String, Search<M>> = SortedMap::new();
    let mut pending: SortedMap<u64, (String, OpId)> = SortedMap::new();
    let mut spent = 0u64;
    for (i, event) in events.iter().enumerate() {
        match event {
            Logged::Call {
                process,
                key,
                input,
            } => {
                let search = keys
                    .entry(key.clone())
                    .or_insert_with(|| Search::new(model.clone()));
                let op = search.call(input.clone());
                // A process that calls again while a call is pending has
                // given that one up: it stays pending, never returning.
                pending.insert(*process, (key.clone(), op));
            }
            Logged::Return { process, output } => {
                let (key, op) = pending.remove(process).ok_or_else(|| {
                    format!("event {}: process {process} returns without a call", i + 1)
                })?;
                let search = keys.get_mut(&key).expect("called before");
                search.ret(op, output.clone());
                if feed == Feed::Live && search.verdict() != Verdict::NotLinearizable {
                    let mut steps = STEPS_PER_COMPLETION.min(budget - spent);
                    let granted = steps;
                    search.run(&mut steps);
                    spent += granted - steps;
                }
            }
        }
    }
    if keys
        .values()
        .any(|s| s.verdict() == Verdict::NotLinearizable)
    {
        return Ok(Verdict::NotLinearizable);
    }
    let mut turn = 10_000u64;
    loop {
        let mut undecided = false;
        for search in keys.values_mut() {
            // A decided search answers at once, spending nothing.
            let mut steps = turn.min(budget - spent);
            let granted = steps;
            let verdict = search.run(&mut steps);
            spent += granted - steps;
            match verdict {
                Verdict::NotLinearizable => return Ok(Verdict::NotLinearizable),
                Verdict::Unknown => undecided = true,
                Verdict::Linearizable => {}
            }
        }
        if !undecided {
            return Ok(Verdict::Linearizable);
        }
        if spent >= budget {
            return Ok(Verdict::Unknown);
        }
        turn = turn.saturating_mul(2);
    }
}

/// One operation of a key's history, for the sentence of a violation.
#[derive(Clone, Debug)]
struct Seen {
    client: NodeId,
    request: RequestId,
    op: KvOp,
    call: u64,
    ret: Option<(u64, String)>,
}

/// One key's live check.
#[derive(Clone, Debug)]
struct KeyCheck {
    search: Search<Kv>,
    /// Search steps saved up for this key.
    budget: u64,
    /// The operations of the search's window, in call order.
    seen: Vec<Seen>,
    /// How many operations the search had forgotten when `seen` was trimmed.
    forgotten: u64,
}

impl KeyCheck {
    fn new() -> KeyCheck {
        KeyCheck {
            search: Search::new(Kv),
            budget: 0,
            seen: Vec::new(),
            forgotten: 0,
        }
    }

    fn run(&mut self, steps: u64) -> Verdict {
        self.budget = (self.budget + steps).min(MAX_SAVED_STEPS.max(steps));
        let verdict = self.search.run(&mut self.budget);
        let (_, forgotten) = self.search.window();
        if forgotten > self.forgotten {
            let drop = (forgotten - self.forgotten) as usize;
            self.seen.drain(..drop);
            self.forgotten = forgotten;
        }
        verdict
    }

    fn describe(&self) -> String {
        let ops = self
            .seen
            .iter()
            .map(|o| match &o.ret {
                Some((s, r)) => format!(
                    "{}{} {} [{}..{}] -> \"{r}\"",
                    o.client, o.request, o.op, o.call, s
                ),
                None => format!("{}{} {} [{}..] pending", o.client, o.request, o.op, o.call),
            })
            .collect::<Vec<_>>()
            .join("; ");
        if self.forgotten == 0 {
            ops
        } else {
            format!(
                "after {} earlier operations, which left the value \"{}\": {ops}",
                self.forgotten,
                self.search.window_start()
            )
        }
    }
}

/// The client history of a run, checked as it grows, one key at a time.
/// Each completion gives its key [`STEPS_PER_COMPLETION`] more search steps
/// (or what [`Tracker::with_steps`] set) and lets its search carry on; a
/// key found not linearizable is reported once and then left alone (more
/// operations cannot make it linearizable).
#[derive(Clone, Debug)]
pub struct Tracker {
    keys: SortedMap<String, KeyCheck>,
    open: SortedMap<(NodeId, RequestId), (String, OpId)>,
    failed: Vec<String>,
    /// The search steps each completion adds to its key's budget.
    steps: u64,
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker::with_steps(STEPS_PER_COMPLETION)
    }
}

impl Tracker {
    /// An empty history whose completions each bring `steps` search steps
    /// (at least one). Fewer steps than the default leave busy keys
    /// undecided; the app offers it so that a class can see that state.
    pub fn with_steps(steps: u64) -> Tracker {
        Tracker {
            keys: SortedMap::new(),
            open: SortedMap::new(),
            failed: Vec::new(),
            steps: steps.max(1),
        }
    }

    /// Records that `client` invoked `op` as request `request` at `step`.
    /// Within one step, record completions before invocations: a client
    /// that invokes in the step its previous operation returned did so
    /// after seeing that return.
    pub fn invoke(&mut self, client: NodeId, request: RequestId, op: &KvOp, step: u64) {
        let key = op.key().to_string();
        let check = self.keys.entry(key.clone()).or_insert_with(KeyCheck::new);
        let input = match op {
            KvOp::Get { .. } => KvInput::Get,
            KvOp::Put { value, .. } => KvInput::Put(value.clone()),
            KvOp::Append { value, .. } => KvInput::Append(value.clone()),
        };
        let id = check.search.call(input);
        check.seen.push(Seen {
            client,
            request,
            op: op.clone(),
            call: step,
            ret: None,
        });
        self.open.insert((client, request), (key, id));
    }

    /// Records that `client` got `result` for request `request` at `step`
    /// and carries its key's check on. Returns a sentence naming the key
    /// and its history if that key has just been found not linearizable.
    pub fn complete(
        &mut self,
        client: NodeId,
        request: RequestId,
        result: &str,
        step: u64,
    ) -> Option<String> {
        let (key, id) = self.open.remove(&(client, request))?;
        let check = self.keys.get_mut(&key).expect("recorded at invoke");
        check.search.ret(id, Some(result.to_string()));
        let at = (id.0 - check.forgotten) as usize;
        check.seen[at].ret = Some((step, result.to_string()));
        if self.failed.contains(&key) {
            return None;
        }
        match check.run(self.steps) {
            Verdict::NotLinearizable => {
                let text = format!(
                    "no order of the operations on key \"{key}\" explains the results clients saw: {}",
                    check.describe()
                );
                self.failed.push(key);
                Some(text)
            }
            Verdict::Linearizable | Verdict::Unknown => None,
        }
    }

    /// Gives every undecided key [`FINAL_STEPS`] more, once the run is over;
    /// returns the sentences of the keys found not linearizable then.
    pub fn finish(&mut self) -> Vec<String> {
        let mut found = Vec::new();
        for (key, check) in self.keys.iter_mut() {
            if check.search.verdict() == Verdict::Unknown
                && check.run(FINAL_STEPS) == Verdict::NotLinearizable
            {
                found.push(format!(
                    "no order of the operations on key \"{key}\" explains the results clients saw: {}",
                    check.describe()
                ));
                self.failed.push(key.clone());
            }
        }
        found
    }

    /// The keys whose check could not decide within its budget, each with
    /// the number of operations its search holds.
    pub fn undecided(&self) -> Vec<(String, usize)> {
        self.keys
            .iter()
            .filter(|(_, c)| c.search.verdict() == Verdict::Unknown)
            .map(|(k, c)| (k.clone(), c.search.window().0))
            .collect()
    }

    /// `rule`'s entry for [`sim::Checker::undecided`]: empty when every key
    /// is decided.
    pub fn undecided_rule(&self, rule: &'static str) -> Vec<Undecided> {
        self.undecided_sentence()
            .map(|message| Undecided { rule, message })
            .into_iter()
            .collect()
    }

    /// [`Tracker::finish`] as `rule`'s end-of-run verdicts, found at `step`
    /// and `time`, for [`sim::Checker::finish`].
    pub fn finish_violations(
        &mut self,
        rule: &'static str,
        step: u64,
        time: Time,
    ) -> Vec<Violation> {
        self.finish()
            .into_iter()
            .map(|message| Violation {
                rule,
                step,
                time,
                nodes: Vec::new(),
                message,
            })
            .collect()
    }

    /// One sentence about the undecided keys, for the checker panel and the
    /// sweep (`None` when every key is decided).
    pub fn undecided_sentence(&self) -> Option<String> {
        let keys = self.undecided();
        if keys.is_empty() {
            return None;
        }
        let list = keys
            .iter()
            .map(|(k, n)| format!("key \"{k}\" ({n} operations)"))
            .collect::<Vec<_>>()
            .join(", ");
        Some(format!("could not decide within its budget: {list}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &str) -> KvOp {
        KvOp::Put {
            key: k.into(),
            value: v.into(),
        }
    }
    fn get(k: &str) -> KvOp {
        KvOp::Get { key: k.into() }
    }
    fn append(k: &str, v: &str) -> KvOp {
        KvOp::Append {
            key: k.into(),
            value: v.into(),
        }
    }

    /// A test operation: client, request, operation, call step, and the
    /// return step with the result (`None`: it never returns).
    type TestOp<'a> = (u32, u64, KvOp, u64, Option<(u64, &'a str)>);

    /// Feeds `(client, request, op, call step, return step, result)` in step
    /// order, completions before invocations within a step, and returns
    /// every violation sentence.
    fn feed(ops: &[TestOp<'_>]) -> (Tracker, Vec<String>) {
        let mut events: Vec<(u64, u8, usize)> = Vec::new();
        for (i, (_, _, _, call, ret)) in ops.iter().enumerate() {
            events.push((*call, 1, i));
            if let Some((s, _)) = ret {
                events.push((*s, 0, i));
            }
        }
        events.sort();
        let mut t = Tracker::default();
        let mut found = Vec::new();
        for (step, kind, i) in events {
            let (c, r, op, _, ret) = &ops[i];
            if kind == 1 {
                t.invoke(NodeId(*c), RequestId(*r), op, step);
            } else if let Some(text) =
                t.complete(NodeId(*c), RequestId(*r), ret.expect("returned").1, step)
            {
                found.push(text);
            }
        }
        (t, found)
    }

    #[test]
    fn overlapping_operations_may_take_either_order() {
        let (t, found) = feed(&[
            (1, 1, put("x", "a"), 1, Some((4, "a"))),
            (2, 1, get("x"), 2, Some((3, "a"))),
        ]);
        assert!(found.is_empty(), "{found:?}");
        assert!(t.undecided().is_empty());
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_caught() {
        let (_, found) = feed(&[
            (1, 1, put("x", "a"), 1, Some((2, "a"))),
            (2, 1, get("x"), 3, Some((4, ""))),
        ]);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("key \"x\""), "{}", found[0]);
    }

    #[test]
    fn a_client_operation_invoked_in_the_step_its_previous_one_returned_comes_after_it() {
        // One client: put(x,1) over steps 1..10, then, in step 10 itself,
        // get(x) over 10..20 reading "". The get was invoked after the put
        // returned, so it cannot be placed before it.
        let (_, found) = feed(&[
            (5, 1, put("x", "1"), 1, Some((10, "1"))),
            (5, 2, get("x"), 10, Some((20, ""))),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn an_acknowledged_put_lost_behind_a_later_one_is_caught() {
        // The shape of a Raft run with volatile term and vote: a client's
        // put(y,3) is acknowledged, then its append(y,11) shows y was 2.
        let (_, found) = feed(&[
            (5, 1, put("y", "2"), 10, Some((20, "2"))),
            (5, 2, put("y", "3"), 20, Some((30, "3"))),
            (5, 3, get("z"), 30, Some((40, ""))),
            (5, 4, get("z"), 40, Some((50, ""))),
            (5, 5, append("y", "11,"), 50, Some((60, "211,"))),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("key \"y\""), "{}", found[0]);
        assert!(found[0].contains("append(y, 11,)"), "{}", found[0]);
    }

    #[test]
    fn a_pending_write_may_or_may_not_have_happened() {
        let (_, found) = feed(&[
            (1, 1, put("x", "a"), 1, None),
            (2, 1, get("x"), 3, Some((4, "a"))),
            (2, 2, get("x"), 5, Some((6, "a"))),
        ]);
        assert!(found.is_empty(), "{found:?}");
        let (_, found) = feed(&[
            (1, 1, put("x", "a"), 1, None),
            (2, 1, get("x"), 3, Some((4, ""))),
            (2, 2, get("x"), 5, Some((6, "a"))),
            (2, 3, get("x"), 7, Some((8, ""))),
        ]);
        assert_eq!(
            found.len(),
            1,
            "a pending write cannot take effect and then un-happen"
        );
    }

    #[test]
    fn a_key_is_reported_once_and_keys_are_independent() {
        let (t, found) = feed(&[
            (1, 1, put("x", "a"), 1, Some((2, "a"))),
            (2, 1, get("x"), 3, Some((4, ""))),
            (2, 2, get("x"), 5, Some((6, "b"))),
            (1, 2, put("w", "q"), 7, Some((8, "q"))),
            (2, 3, get("w"), 9, Some((10, "q"))),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(t.undecided().is_empty());
    }

    #[test]
    fn a_long_run_is_forgotten_as_it_goes_and_the_sentence_says_so() {
        let mut t = Tracker::default();
        let mut step = 0;
        for r in 1..=2_000u64 {
            step += 1;
            t.invoke(NodeId(1), RequestId(r), &put("x", &r.to_string()), step);
            step += 1;
            assert_eq!(
                t.complete(NodeId(1), RequestId(r), &r.to_string(), step),
                None
            );
        }
        let check = t.keys.get("x").unwrap();
        assert_eq!(check.search.window(), (0, 2_000));
        assert!(check.seen.is_empty());
        t.invoke(NodeId(2), RequestId(1), &get("x"), step + 1);
        let text = t.complete(NodeId(2), RequestId(1), "7", step + 2).unwrap();
        assert!(
            text.contains("after 2000 earlier operations, which left the value \"2000\""),
            "{text}"
        );
    }

    #[test]
    fn an_undecided_key_is_named_and_decided_at_the_end() {
        // Fourteen puts that never return, and a read of a value none of
        // them wrote: proving that no subset and order of the puts explains
        // it takes far more than one completion's budget.
        let mut t = Tracker::default();
        for c in 0..14u32 {
            t.invoke(NodeId(c), RequestId(1), &put("x", &c.to_string()), 1);
        }
        t.invoke(NodeId(50), RequestId(1), &get("x"), 2);
        let found = t.complete(NodeId(50), RequestId(1), "nobody wrote this", 3);
        assert_eq!(found, None, "the budget runs out before deciding");
        assert_eq!(t.undecided(), vec![("x".to_string(), 15)]);
        let sentence = t.undecided_sentence().unwrap();
        assert!(sentence.contains("key \"x\" (15 operations)"), "{sentence}");
        let found = t.finish();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(t.undecided().is_empty());
        assert_eq!(
            t.finish(),
            Vec::<String>::new(),
            "a decided key is not reported again"
        );
    }
}
