//! The search behind every linearizability check: Wing and Gong's
//! depth-first search for a linearization, with Lowe's memo of visited
//! configurations, in the shape Porcupine gives it, made resumable so that
//! a history can be checked while it grows.
//!
//! The history is a sequence of events in the order they happened: an
//! operation is *called*, and later it *returns* (or never does). The search
//! keeps the events not yet linearized in time order and walks them from the
//! oldest. A call it meets before the first return is a candidate to take
//! effect next: it applies the operation to the model and, if the model
//! accepts the result the operation returned, *lifts* the operation out of
//! the sequence (its call and its return) and starts again from the oldest
//! event. Meeting a return means the operation that returned there cannot
//! wait any longer, and no candidate before it worked: the search
//! backtracks, putting the last lifted operation back and trying the next
//! candidate after it. It succeeds when no return is left, and fails when it
//! must backtrack with nothing lifted.
//!
//! A *configuration* is the set of lifted operations and the model's state.
//! The same configuration is often reached by different orders of
//! concurrent operations; what follows from it does not depend on the
//! order, so the memo remembers every configuration entered and the search
//! never enters one twice. That memo is what keeps the search from being
//! exponential in practice (Lowe, "Testing for linearizability", 2017).
//!
//! What this module adds to the textbook search:
//!
//! - **It never recurses.** The path is an explicit stack, so a history of
//!   a million operations needs no more machine stack than one of three.
//! - **Membership is constant time.** Lifted events are cleared bits of a
//!   bitset, found again with word-at-a-time scans; the memo is a hash set.
//!   Nothing depends on the hash set's iteration order, which is never
//!   used, and the hasher is fixed, so a result never varies.
//! - **Configurations are stored compactly.** Operations are numbered in
//!   the order they were called, so a lifted set is "everything below the
//!   lowest operation not lifted, nothing above the highest lifted, and some
//!   between", stored as the first and the bits between: a few words for a
//!   history of fifty concurrent clients, and one for a sequential history
//!   of any length.
//! - **It resumes.** Events can be added at any time; [`Search::run`] takes
//!   a step budget and picks up where it stopped, whether it stopped because
//!   the budget ran out or because it had explained every return so far. An
//!   operation that returns after the search already placed it (with its
//!   result still unknown) is checked against the place it was given, and
//!   the search backs out of that place if the result does not fit.
//! - **It forgets what can no longer matter.** At a moment when no
//!   operation is in flight and the history so far leaves the model in one
//!   state however it is linearized (for example right after a lone write),
//!   no later event can make the search revisit the past: the search keeps
//!   that state and drops everything before it. So a long run's check costs
//!   memory for its last few operations only.
//!
//! An operation that never returns may take effect at any point after its
//! call, or not at all; one that returned with an unknown result (a timeout)
//! must take effect before its return, with any result.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A sequential specification: the object the history claims to be.
pub trait Model {
    /// An operation's name and arguments.
    type Input: Clone + fmt::Debug;
    /// What an operation returned.
    type Output: Clone + fmt::Debug;
    /// The object's state.
    type State: Clone + Eq + Hash + fmt::Debug;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input` is applied in `state`, if it may return
    /// `output` there (`None` for an unknown result, which any state
    /// allows); `None` if it may not.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// How the operation changes the state (used to forget the past safely).
    fn effect(&self, input: &Self::Input) -> Effect;
}

/// How an operation changes the model's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Never changes it (a read).
    ReadOnly,
    /// Replaces it with something that does not depend on it (a write).
    Overwrite,
    /// Changes it in a way that depends on it (an append, a compare-and-set).
    Update,
}

/// Where a search stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the operations explains every result seen so far.
    Linearizable,
    /// No order does, and none ever will: more events cannot fix it.
    NotLinearizable,
    /// The step budget ran out before the search decided; running it again
    /// with more budget carries on from where it stopped.
    Unknown,
}

/// An operation of a search, numbered from 0 in the order of the calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// No node, no frame.
const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Call,
    Return,
}

/// One event of the history: a call or a return of operation `op` (an
/// index into `ops`).
#[derive(Clone, Copy, Debug)]
struct Event {
    kind: Kind,
    op: u32,
}

#[derive(Clone, Debug)]
struct Op<M: Model> {
    input: M::Input,
    /// The result, once known.
    output: Option<M::Output>,
    /// The index of the call event, and of the return event (`NONE` while
    /// the operation has not returned).
    call: u32,
    ret: u32,
    /// The index of the stack frame that lifted it, or `NONE`.
    frame: u32,
}

/// One operation placed on the current path.
#[derive(Clone, Debug)]
struct Frame<M: Model> {
    op: u32,
    /// The state before it took effect.
    before: M::State,
    /// `top` and `bottom` before it was lifted.
    top: u32,
    bottom: u32,
}

/// A configuration in the memo: every operation below `bottom` has taken
/// effect, none at or above `top`, and between them those whose bits are
/// set in `words` (the lifted-set words from the one holding `bottom` to
/// the one holding `top - 1`); the state they leave is `state`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Config<S> {
    bottom: u32,
    words: Words,
    state: S,
}

/// A lifted set's words, kept in place when there are few (nearly always),
/// so that comparing a configuration in the memo reads no other memory.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Words {
    Few(u8, [u64; 3]),
    Many(Box<[u64]>),
}

impl Words {
    fn of(words: &[u64]) -> Words {
        if words.len() <= 3 {
            let mut few = [0; 3];
            few[..words.len()].copy_from_slice(words);
            Words::Few(words.len() as u8, few)
        } else {
            Words::Many(words.into())
        }
    }

    fn as_slice(&self) -> &[u64] {
        match self {
            Words::Few(n, few) => &few[..*n as usize],
            Words::Many(many) => many,
        }
    }
}

/// A fixed multiply-rotate hasher (the one rustc uses): fast on the short
/// keys of the memo, and the same in every run and on every platform.
#[derive(Clone, Copy, Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A hasher for keys that are hashes already.
#[derive(Clone, Copy, Default)]
struct Passthrough(u64);

impl Hasher for Passthrough {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The memo: configurations by hash, as in Porcupine, so that a lookup
/// hashes the search's own words and state in place and allocates only
/// when it records a new configuration. The state is hashed with the set:
/// concurrent appends give one lifted set many states.
#[derive(Clone, Debug)]
struct Memo<S> {
    buckets: HashMap<u64, Vec<u32>, BuildHasherDefault<Passthrough>>,
    entries: Vec<Config<S>>,
    len: usize,
}

impl<S: Clone + Eq + Hash> Memo<S> {
    fn new() -> Memo<S> {
        Memo {
            buckets: HashMap::default(),
            entries: Vec::new(),
            len: 0,
        }
    }

    fn hash(bottom: u32, words: &[u64], state: &S) -> u64 {
        let mut h = FxHasher::default();
        h.write_u32(bottom);
        for &w in words {
            h.write_u64(w);
        }
        state.hash(&mut h);
        h.finish()
    }

    fn position(&self, hash: u64, bottom: u32, words: &[u64], state: &S) -> Option<usize> {
        self.buckets.get(&hash)?.iter().position(|&i| {
            let c = &self.entries[i as usize];
            c.bottom == bottom && c.words.as_slice() == words && c.state == *state
        })
    }

    /// Records the configuration; false if it was there already.
    fn insert(&mut self, bottom: u32, words: &[u64], state: &S) -> bool {
        let hash = Self::hash(bottom, words, state);
        if self.position(hash, bottom, words, state).is_some() {
            return false;
        }
        let index = u32::try_from(self.entries.len()).expect("fewer than 2^32 configurations");
        self.entries.push(Config {
            bottom,
            words: Words::of(words),
            state: state.clone(),
        });
        self.buckets.entry(hash).or_default().push(index);
        self.len += 1;
        true
    }

    /// Forgets the configuration (its slot in `entries` stays, unused).
    fn remove(&mut self, bottom: u32, words: &[u64], state: &S) {
        let hash = Self::hash(bottom, words, state);
        if let Some(at) = self.position(hash, bottom, words, state) {
            let bucket = self.buckets.get_mut(&hash).expect("found in it");
            bucket.swap_remove(at);
            if bucket.is_empty() {
                self.buckets.remove(&hash);
            }
            self.len -= 1;
        }
    }

    fn clear(&mut self) {
        self.buckets.clear();
        self.entries.clear();
        self.len = 0;
    }
}

/// A linearizability search over one history of one object, fed events as
/// they happen.
#[derive(Clone)]
pub struct Search<M: Model> {
    model: M,
    /// Operations and events of the current window (everything since the
    /// search last forgot the past), in call order and in time order.
    ops: Vec<Op<M>>,
    events: Vec<Event>,
    /// Bit `i` is set while event `i` is not lifted.
    present: Vec<u64>,
    /// No event below this index is present.
    low: u32,
    /// Return events present: when none is left, every result is explained.
    returns_present: u32,
    /// The path: the lifted operations in the order they took effect.
    stack: Vec<Frame<M>>,
    state: M::State,
    /// The lifted set: a bit per operation; one above the highest lifted;
    /// the lowest not lifted.
    lifted: Vec<u64>,
    top: u32,
    bottom: u32,
    memo: Memo<M::State>,
    /// The event the search looks at next (`None`: the oldest present).
    cursor: Option<u32>,
    verdict: Verdict,
    /// Operations before the window (forgotten), for numbering.
    base: u64,
    /// Operations called and not yet returned.
    in_flight: u32,
    /// Whether the history up to the last moment with nothing in flight
    /// leaves one state however it is linearized, and what the operations
    /// since that moment did.
    settled: bool,
    changes_since_quiet: u32,
    overwrites_since_quiet: u32,
}

impl<M: Model + fmt::Debug> fmt::Debug for Search<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Search")
            .field("model", &self.model)
            .field("operations", &self.ops.len())
            .field("forgotten", &self.base)
            .field("depth", &self.stack.len())
            .field("memo", &self.memo.len)
            .field("verdict", &self.verdict)
            .finish()
    }
}

impl<M: Model> Search<M> {
    /// A search over an empty history of `model`.
    pub fn new(model: M) -> Search<M> {
        let state = model.init();
        Search {
            model,
            ops: Vec::new(),
            events: Vec::new(),
            present: Vec::new(),
            low: 0,
            returns_present: 0,
            stack: Vec::new(),
            state,
            lifted: Vec::new(),
            top: 0,
            bottom: 0,
            memo: Memo::new(),
            cursor: None,
            verdict: Verdict::Linearizable,
            base: 0,
            in_flight: 0,
            settled: true,
            changes_since_quiet: 0,
            overwrites_since_quiet: 0,
        }
    }

    /// Records that an operation was called now; returns its id.
    pub fn call(&mut self, input: M::Input) -> OpId {
        match self.model.effect(&input) {
            Effect::ReadOnly => {}
            Effect::Overwrite => {
                self.changes_since_quiet += 1;
                self.overwrites_since_quiet += 1;
            }
            Effect::Update => self.changes_since_quiet += 1,
        }
        let index = self.ops.len() as u32;
        let call = self.push_event(Kind::Call, index);
        self.ops.push(Op {
            input,
            output: None,
            call,
            ret: NONE,
            frame: NONE,
        });
        self.in_flight += 1;
        OpId(self.base + u64::from(index))
    }

    /// Records that operation `op` returned now with `output` (`None`: it
    /// returned, but what it returned is unknown, as with a timeout).
    ///
    /// # Panics
    ///
    /// If `op` was not called, or already returned.
    pub fn ret(&mut self, op: OpId, output: Option<M::Output>) {
        let index =
            op.0.checked_sub(self.base)
                .and_then(|i| u32::try_from(i).ok())
                .filter(|&i| (i as usize) < self.ops.len())
                .expect("an operation of this search that is in flight");
        assert_eq!(self.ops[index as usize].ret, NONE, "{op:?} returned twice");
        self.in_flight -= 1;
        if self.in_flight == 0 {
            // A quiet moment: everything called has returned.
            self.settled = match (self.changes_since_quiet, self.overwrites_since_quiet) {
                (0, _) => self.settled,
                (1, 1) => true,
                (1, _) => self.settled,
                _ => false,
            };
            self.changes_since_quiet = 0;
            self.overwrites_since_quiet = 0;
        }
        let lifted = self.ops[index as usize].frame != NONE;
        let ret = self.push_event(Kind::Return, index);
        self.ops[index as usize].ret = ret;
        self.ops[index as usize].output = output;
        if lifted {
            // The search already gave this operation a place, with its
            // result unknown: its return event is not in the sequence. Keep
            // the place if the result fits it, else back out of it.
            self.clear_present(ret);
            let frame = self.ops[index as usize].frame as usize;
            let after = self.stack.get(frame + 1).map_or(&self.state, |f| &f.before);
            let op = &self.ops[index as usize];
            let fits = self
                .model
                .step(&self.stack[frame].before, &op.input, op.output.as_ref())
                .is_some_and(|s| s == *after);
            if !fits {
                self.back_out_of(frame);
            }
        } else {
            self.returns_present += 1;
        }
    }

    /// Carries the search on for at most `*budget` steps (each step tries
    /// one candidate or backtracks once), taking what it spends from
    /// `budget`.
    pub fn run(&mut self, budget: &mut u64) -> Verdict {
        if self.verdict == Verdict::NotLinearizable {
            return self.verdict;
        }
        loop {
            if self.returns_present == 0 {
                self.verdict = Verdict::Linearizable;
                self.cursor = None;
                self.forget_if_settled();
                return self.verdict;
            }
            if *budget == 0 {
                self.verdict = Verdict::Unknown;
                return self.verdict;
            }
            *budget -= 1;
            // A return is present, and every candidate lies before the
            // first one, so the scan always meets an event.
            let at = match self.cursor {
                Some(at) => Some(at),
                None => self.next_present(self.low),
            }
            .expect("a present return ends every scan");
            let event = self.events[at as usize];
            match event.kind {
                Kind::Call => {
                    let op = &self.ops[event.op as usize];
                    let next = self.model.step(&self.state, &op.input, op.output.as_ref());
                    self.cursor = self.next_present(at + 1);
                    if let Some(next) = next {
                        let before = std::mem::replace(&mut self.state, next);
                        self.lift(event.op, before);
                        let words = Self::words(&self.lifted, self.top, self.bottom);
                        if self.memo.insert(self.bottom, words, &self.state) {
                            self.cursor = None;
                        } else {
                            self.unlift_top();
                        }
                    }
                }
                Kind::Return => {
                    if self.stack.is_empty() {
                        self.verdict = Verdict::NotLinearizable;
                        return self.verdict;
                    }
                    let op = self.unlift_top();
                    self.cursor = self.next_present(self.ops[op as usize].call + 1);
                }
            }
        }
    }

    /// Where the search stands after its last [`Search::run`].
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// How many operations the search holds now (those it has not
    /// forgotten), and how many it has forgotten.
    pub fn window(&self) -> (usize, u64) {
        (self.ops.len(), self.base)
    }

    /// The operations the search holds now, in call order, with their
    /// results where known and whether they have returned.
    pub fn operations(&self) -> impl Iterator<Item = (&M::Input, Option<&M::Output>, bool)> {
        self.ops
            .iter()
            .map(|o| (&o.input, o.output.as_ref(), o.ret != NONE))
    }

    /// The state the forgotten operations left (the model's initial state
    /// if none was forgotten).
    pub fn window_start(&self) -> &M::State {
        self.stack.first().map_or(&self.state, |f| &f.before)
    }

    /// How many configurations the memo holds.
    pub fn memo_len(&self) -> usize {
        self.memo.len
    }

    fn push_event(&mut self, kind: Kind, op: u32) -> u32 {
        let i = u32::try_from(self.events.len()).expect("fewer than 2^32 events in a window");
        self.events.push(Event { kind, op });
        if (i as usize) / 64 >= self.present.len() {
            self.present.push(0);
        }
        self.present[(i / 64) as usize] |= 1 << (i % 64);
        self.low = self.low.min(i);
        i
    }

    fn set_present(&mut self, i: u32) {
        self.present[(i / 64) as usize] |= 1 << (i % 64);
        self.low = self.low.min(i);
    }

    fn clear_present(&mut self, i: u32) {
        self.present[(i / 64) as usize] &= !(1 << (i % 64));
    }

    /// The first present event at or after `from`.
    fn next_present(&mut self, from: u32) -> Option<u32> {
        let mut w = (from / 64) as usize;
        if w >= self.present.len() {
            return None;
        }
        let mut word = self.present[w] & (!0u64 << (from % 64));
        loop {
            if word != 0 {
                let i = (w as u32) * 64 + word.trailing_zeros();
                if from <= self.low {
                    self.low = i;
                }
                return Some(i);
            }
            w += 1;
            if w >= self.present.len() {
                if from <= self.low {
                    self.low = (w as u32) * 64;
                }
                return None;
            }
            word = self.present[w];
        }
    }

    /// The current lifted set as the memo stores it: the lowest operation
    /// not lifted, and the words from the one holding it to the one holding
    /// the highest lifted.
    fn words(lifted: &[u64], top: u32, bottom: u32) -> &[u64] {
        if top <= bottom {
            &[]
        } else {
            &lifted[(bottom / 64) as usize..=((top - 1) / 64) as usize]
        }
    }

    /// Takes operation `op` out of the sequence and onto the path.
    fn lift(&mut self, op: u32, before: M::State) {
        let frame = Frame {
            op,
            before,
            top: self.top,
            bottom: self.bottom,
        };
        let w = (op / 64) as usize;
        if w >= self.lifted.len() {
            self.lifted.resize(w + 1, 0);
        }
        self.lifted[w] |= 1 << (op % 64);
        self.top = self.top.max(op + 1);
        if op == self.bottom {
            // The lowest operation not lifted is further up now.
            let mut b = op + 1;
            while (b as usize) < self.lifted.len() * 64
                && self.lifted[(b / 64) as usize] & (1 << (b % 64)) != 0
            {
                b += 1;
            }
            self.bottom = b;
        }
        let (call, ret) = (self.ops[op as usize].call, self.ops[op as usize].ret);
        self.clear_present(call);
        if ret != NONE {
            self.clear_present(ret);
            self.returns_present -= 1;
        }
        self.ops[op as usize].frame = self.stack.len() as u32;
        self.stack.push(frame);
    }

    /// Puts the last lifted operation back into the sequence; returns it.
    fn unlift_top(&mut self) -> u32 {
        let frame = self.stack.pop().expect("a lifted operation");
        let op = frame.op;
        self.lifted[(op / 64) as usize] &= !(1 << (op % 64));
        self.top = frame.top;
        self.bottom = frame.bottom;
        self.state = frame.before;
        let (call, ret) = (self.ops[op as usize].call, self.ops[op as usize].ret);
        self.set_present(call);
        if ret != NONE {
            self.set_present(ret);
            self.returns_present += 1;
        }
        self.ops[op as usize].frame = NONE;
        op
    }

    /// Unwinds the path down to and including `frame`, whose operation has
    /// just returned a result that does not fit the place it was given. The
    /// configurations on the unwound part were entered on the strength of
    /// that place, not found to be dead ends, so they leave the memo; the
    /// search then tries the candidates after that operation.
    fn back_out_of(&mut self, frame: usize) {
        let mut op = NONE;
        while self.stack.len() > frame {
            let words = Self::words(&self.lifted, self.top, self.bottom);
            self.memo.remove(self.bottom, words, &self.state);
            op = self.unlift_top();
        }
        // Its return is present now, so the scan after it meets an event.
        self.cursor = self.next_present(self.ops[op as usize].call + 1);
    }

    /// At a quiet moment whose state is the same for every linearization,
    /// drops the window: its operations can never be placed differently in
    /// a way that matters to what follows.
    fn forget_if_settled(&mut self) {
        if self.in_flight != 0 || !self.settled || self.ops.is_empty() {
            return;
        }
        self.base += self.ops.len() as u64;
        self.ops.clear();
        self.events.clear();
        self.present.clear();
        self.low = 0;
        self.stack.clear();
        self.lifted.clear();
        self.top = 0;
        self.bottom = 0;
        self.memo.clear();
        self.cursor = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{Kv, KvInput, KvValue};
    use super::*;

    /// SplitMix64: a small deterministic generator for test histories.
    struct Rng(u64);

    impl Rng {
        fn random_range(&mut self, range: impl Into<RangeOf>) -> u32 {
            let RangeOf(lo, hi) = range.into();
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            lo + (z % u64::from(hi - lo)) as u32
        }
    }

    /// A half-open range `[lo, hi)` of `u32`.
    struct RangeOf(u32, u32);

    impl From<std::ops::Range<u32>> for RangeOf {
        fn from(r: std::ops::Range<u32>) -> RangeOf {
            RangeOf(r.start, r.end)
        }
    }

    impl From<std::ops::RangeInclusive<u32>> for RangeOf {
        fn from(r: std::ops::RangeInclusive<u32>) -> RangeOf {
            RangeOf(*r.start(), *r.end() + 1)
        }
    }

    /// One operation of a test history: its input, its call and return
    /// times (`None`: never returned), and its result.
    type TestOp = (KvInput, u32, Option<u32>, Option<String>);

    /// Whether some order of `ops` respecting real time explains every
    /// result, by trying every order of every subset of the pending ones:
    /// slow, and obviously right.
    fn brute_force(ops: &[TestOp]) -> bool {
        fn go(ops: &[TestOp], done: &mut Vec<bool>, state: &KvValue) -> bool {
            let must: Vec<usize> = (0..ops.len())
                .filter(|&i| !done[i] && ops[i].2.is_some())
                .collect();
            if must.is_empty() {
                return true;
            }
            let min_ret = must.iter().map(|&i| ops[i].2.unwrap()).min().unwrap();
            for i in 0..ops.len() {
                if done[i] || ops[i].1 >= min_ret {
                    continue;
                }
                let Some(next) = Kv.step(state, &ops[i].0, ops[i].3.as_ref()) else {
                    continue;
                };
                done[i] = true;
                if go(ops, done, &next) {
                    return true;
                }
                done[i] = false;
            }
            false
        }
        go(ops, &mut vec![false; ops.len()], &Kv.init())
    }

    /// A random history of up to `n` operations by up to four clients, each
    /// with at most one operation in flight; results are true to some
    /// single copy most of the time and perturbed now and then, so both
    /// verdicts occur.
    fn random_history(rng: &mut Rng, n: u32) -> Vec<TestOp> {
        let mut ops: Vec<TestOp> = Vec::new();
        let mut busy_until = [Some(0u32); 4];
        let mut t = 0;
        let mut truth = String::new();
        for _ in 0..rng.random_range(1..=n) {
            t += rng.random_range(0..3u32);
            let c = rng.random_range(0..4) as usize;
            // A client whose operation never returns is gone for good.
            let Some(free_at) = busy_until[c] else {
                continue;
            };
            let call = t.max(free_at) + 1;
            let input = match rng.random_range(0..3u32) {
                0 => KvInput::Get,
                1 => KvInput::Put(rng.random_range(0..3u32).to_string()),
                _ => KvInput::Append(rng.random_range(0..3u32).to_string()),
            };
            let returns = rng.random_range(0..8u32) != 0;
            let ret = returns.then(|| call + rng.random_range(1..6u32));
            let mut output = match &input {
                KvInput::Get => truth.clone(),
                KvInput::Put(v) => {
                    truth = v.clone();
                    v.clone()
                }
                KvInput::Append(v) => {
                    truth.push_str(v);
                    truth.clone()
                }
            };
            if rng.random_range(0..6u32) == 0 {
                output = rng.random_range(0..3u32).to_string();
            }
            busy_until[c] = ret;
            ops.push((input, call, ret, ret.map(|_| output)));
        }
        ops
    }

    /// Feeds `ops` to a search in time order (returns before calls at the
    /// same time), running after each return when `live`.
    fn search(ops: &[TestOp], live: bool) -> Verdict {
        let mut events: Vec<(u32, u8, usize)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            events.push((op.1, 1, i));
            if let Some(r) = op.2 {
                events.push((r, 0, i));
            }
        }
        events.sort();
        let mut s = Search::new(Kv);
        let mut ids = vec![None; ops.len()];
        let mut budget = u64::MAX;
        for (_, kind, i) in events {
            if kind == 1 {
                ids[i] = Some(s.call(ops[i].0.clone()));
            } else {
                s.ret(ids[i].unwrap(), ops[i].3.clone());
                if live {
                    s.run(&mut budget);
                }
            }
        }
        s.run(&mut budget)
    }

    #[test]
    fn the_search_agrees_with_brute_force_on_random_histories() {
        let mut rng = Rng(7);
        let (mut yes, mut no) = (0, 0);
        for case in 0..3_000 {
            let ops = random_history(&mut rng, 9);
            let expected = if brute_force(&ops) {
                yes += 1;
                Verdict::Linearizable
            } else {
                no += 1;
                Verdict::NotLinearizable
            };
            assert_eq!(search(&ops, false), expected, "case {case}, whole: {ops:?}");
            assert_eq!(search(&ops, true), expected, "case {case}, live: {ops:?}");
        }
        // Both verdicts are well represented, so the agreement means something.
        assert!(yes > 500 && no > 500, "{yes} linearizable, {no} not");
    }

    #[test]
    fn a_sequential_history_of_any_length_needs_no_stack_and_little_memory() {
        // Fed whole and searched once at the end, so nothing is forgotten:
        // the path is 200,000 operations deep (a recursive search would
        // overflow the stack long before) and the memo holds one small
        // configuration per operation.
        let mut s = Search::new(Kv);
        for i in 0..200_000u32 {
            let input = if i % 2 == 0 {
                KvInput::Put((i % 7).to_string())
            } else {
                KvInput::Get
            };
            let output = (i % 2 == 1).then(|| ((i - 1) % 7).to_string());
            let op = s.call(input);
            s.ret(op, output);
        }
        // A write still in flight at the end keeps the history from being
        // quiet, so the search keeps its whole window.
        s.call(KvInput::Put("last".into()));
        let mut budget = u64::MAX;
        assert_eq!(s.run(&mut budget), Verdict::Linearizable);
        assert_eq!(s.window(), (200_001, 0));
        assert_eq!(s.memo_len(), 200_000);
        // One step per operation: nothing was tried twice.
        assert_eq!(u64::MAX - budget, 200_000);
    }

    #[test]
    fn a_result_that_does_not_fit_an_early_place_is_moved() {
        // put(1) is in flight; a get sees "1", so the search places the put
        // before it with its result unknown. Then the put returns "1" (it
        // fits); a second in-flight put(2) placed early to explain a get of
        // "2" returns "x", which fits nowhere: not linearizable.
        let mut s = Search::new(Kv);
        let mut budget = u64::MAX;
        let p1 = s.call(KvInput::Put("1".into()));
        let g = s.call(KvInput::Get);
        s.ret(g, Some("1".into()));
        assert_eq!(s.run(&mut budget), Verdict::Linearizable);
        s.ret(p1, Some("1".into()));
        assert_eq!(s.run(&mut budget), Verdict::Linearizable);
        let p2 = s.call(KvInput::Put("2".into()));
        let g = s.call(KvInput::Get);
        s.ret(g, Some("2".into()));
        assert_eq!(s.run(&mut budget), Verdict::Linearizable);
        s.ret(p2, Some("x".into()));
        assert_eq!(s.run(&mut budget), Verdict::NotLinearizable);
    }

    #[test]
    fn the_past_is_forgotten_only_when_it_cannot_matter() {
        let mut s = Search::new(Kv);
        let mut budget = u64::MAX;
        // Two concurrent puts: either may be last, so at the quiet moment
        // after them the state is not settled and nothing is forgotten.
        let a = s.call(KvInput::Put("a".into()));
        let b = s.call(KvInput::Put("b".into()));
        s.ret(a, None);
        s.ret(b, None);
        assert_eq!(s.run(&mut budget), Verdict::Linearizable);
        assert_eq!(s.window(), (2, 0));
        // A read of "a" then forces the order b, a: the search must still
        // be able to go back and find it.
        let g = s.call(KvInput::Get);
        s.ret(g, Some("a".into()));
        assert_eq!(s.run(&mut budget), Verdict::Linearizable);
        assert_eq!(s.window(), (3, 0));
        // A lone put settles everything before it.
        let c = s.call(KvInput::Put("c".into()));
        s.ret(c, None);
        assert_eq!(s.run(&mut budget), Verdict::Linearizable);
        assert_eq!(s.window(), (0, 4));
        assert_eq!(&**s.window_start(), "c");
        let g = s.call(KvInput::Get);
        s.ret(g, Some("a".into()));
        assert_eq!(s.run(&mut budget), Verdict::NotLinearizable);
    }

    const PINNED: u64 = 15_356_862_144_684_728_221;

    #[test]
    fn the_hasher_is_fixed() {
        let mut h = FxHasher::default();
        h.write(b"clusterscope");
        h.write_u32(7);
        // The same on every platform and in every run: pinned.
        assert_eq!(h.finish(), PINNED);
    }
}
