//! The objects a history can claim to be: the key-value store that Raft and
//! Multi-Paxos replicate (one key at a time), and a compare-and-set
//! register, the object of Jepsen's etcd and Knossos histories.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::rc::Rc;

use super::search::{Effect, Model};

/// A key's value in the search: shared, so that a read, and the memo's copy
/// of a state, copy nothing of a value that may be long, and hashed once,
/// when it is made. The hash is FNV-1a over the bytes, which an append
/// carries on from the old value's hash over the appended bytes alone.
#[derive(Clone, Debug)]
pub struct KvValue {
    text: Rc<str>,
    hash: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

impl KvValue {
    fn new(text: &str) -> KvValue {
        KvValue {
            text: Rc::from(text),
            hash: fnv(FNV_OFFSET, text.as_bytes()),
        }
    }

    fn appended(&self, value: &str) -> KvValue {
        let mut next = String::with_capacity(self.text.len() + value.len());
        next.push_str(&self.text);
        next.push_str(value);
        KvValue {
            text: Rc::from(next),
            hash: fnv(self.hash, value.as_bytes()),
        }
    }
}

impl PartialEq for KvValue {
    fn eq(&self, other: &KvValue) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for KvValue {}

impl Hash for KvValue {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash);
    }
}

impl Deref for KvValue {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for KvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One key of the replicated key-value store: its value is a string, and
/// an absent key reads as the empty string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kv;

/// An operation on one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvInput {
    /// Read the value.
    Get,
    /// Set the value.
    Put(String),
    /// Append to the value.
    Append(String),
}

impl Model for Kv {
    type Input = KvInput;
    /// What the operation answered: the value read, or the value after a
    /// put or an append (what this project's servers answer).
    type Output = String;
    type State = KvValue;

    fn init(&self) -> KvValue {
        KvValue::new("")
    }

    fn step(&self, state: &KvValue, input: &KvInput, output: Option<&String>) -> Option<KvValue> {
        let fits = |next: &str| output.is_none_or(|seen| seen == next);
        match input {
            KvInput::Get => fits(state).then(|| state.clone()),
            KvInput::Put(value) => fits(value).then(|| KvValue::new(value)),
            KvInput::Append(value) => {
                let next = state.appended(value);
                fits(&next).then_some(next)
            }
        }
    }

    fn effect(&self, input: &KvInput) -> Effect {
        match input {
            KvInput::Get => Effect::ReadOnly,
            KvInput::Put(_) => Effect::Overwrite,
            KvInput::Append(_) => Effect::Update,
        }
    }
}

/// A register holding an integer or nothing, with read, write and
/// compare-and-set (Jepsen's `cas-register`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CasRegister;

/// An operation on the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CasInput {
    /// Read the value.
    Read,
    /// Set the value.
    Write(i64),
    /// Set the value to `.1` if it is `.0`.
    Cas(i64, i64),
}

/// What an operation on the register answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CasOutput {
    /// A read saw this (`None`: the register was empty).
    Read(Option<i64>),
    /// A write took effect.
    Written,
    /// A compare-and-set succeeded (`true`) or found another value.
    Cas(bool),
}

impl Model for CasRegister {
    type Input = CasInput;
    type Output = CasOutput;
    type State = Option<i64>;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &CasInput,
        output: Option<&CasOutput>,
    ) -> Option<Option<i64>> {
        match (*input, output) {
            (CasInput::Read, None) => Some(*state),
            (CasInput::Read, Some(CasOutput::Read(seen))) => (seen == state).then_some(*state),
            (CasInput::Write(v), None | Some(CasOutput::Written)) => Some(Some(v)),
            (CasInput::Cas(from, to), output) => {
                let matches = *state == Some(from);
                match output {
                    None => Some(if matches { Some(to) } else { *state }),
                    Some(CasOutput::Cas(ok)) if *ok == matches => {
                        Some(if matches { Some(to) } else { *state })
                    }
                    _ => None,
                }
            }
            // An answer of the wrong kind fits nowhere.
            _ => None,
        }
    }

    fn effect(&self, input: &CasInput) -> Effect {
        match input {
            CasInput::Read => Effect::ReadOnly,
            CasInput::Write(_) => Effect::Overwrite,
            CasInput::Cas(..) => Effect::Update,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appended_value_hashes_as_the_same_text_made_at_once() {
        let built = KvValue::new("ab").appended("c").appended("de");
        let whole = KvValue::new("abcde");
        assert_eq!(built, whole);
        assert_eq!(built.hash, whole.hash);
        assert_ne!(KvValue::new("abc").appended("d"), KvValue::new("abdc"));
    }

    #[test]
    fn the_key_value_model_checks_every_answer() {
        let empty = Kv.init();
        assert_eq!(
            Kv.step(&empty, &KvInput::Get, Some(&String::new())),
            Some(empty.clone())
        );
        assert_eq!(Kv.step(&empty, &KvInput::Get, Some(&"x".to_string())), None);
        let a = Kv
            .step(&empty, &KvInput::Append("a".into()), Some(&"a".into()))
            .unwrap();
        assert_eq!(&*a, "a");
        assert_eq!(
            Kv.step(&a, &KvInput::Append("b".into()), Some(&"b".into())),
            None
        );
        assert_eq!(
            Kv.step(&a, &KvInput::Put("z".into()), Some(&"y".into())),
            None
        );
        assert_eq!(&*Kv.step(&a, &KvInput::Put("z".into()), None).unwrap(), "z");
    }

    #[test]
    fn the_register_model_follows_jepsens_cas_register() {
        let r = CasRegister;
        assert_eq!(
            r.step(&None, &CasInput::Read, Some(&CasOutput::Read(None))),
            Some(None)
        );
        assert_eq!(
            r.step(&Some(1), &CasInput::Read, Some(&CasOutput::Read(None))),
            None
        );
        assert_eq!(r.step(&Some(1), &CasInput::Read, None), Some(Some(1)));
        assert_eq!(
            r.step(&Some(1), &CasInput::Write(2), Some(&CasOutput::Written)),
            Some(Some(2))
        );
        assert_eq!(
            r.step(&Some(1), &CasInput::Cas(1, 3), Some(&CasOutput::Cas(true))),
            Some(Some(3))
        );
        assert_eq!(
            r.step(&Some(1), &CasInput::Cas(1, 3), Some(&CasOutput::Cas(false))),
            None
        );
        assert_eq!(
            r.step(&Some(2), &CasInput::Cas(1, 3), Some(&CasOutput::Cas(false))),
            Some(Some(2))
        );
        assert_eq!(
            r.step(&Some(2), &CasInput::Cas(1, 3), Some(&CasOutput::Cas(true))),
            None
        );
        // An unknown outcome takes effect exactly when it could.
        assert_eq!(r.step(&Some(1), &CasInput::Cas(1, 3), None), Some(Some(3)));
        assert_eq!(r.step(&Some(2), &CasInput::Cas(1, 3), None), Some(Some(2)));
        // An answer of the wrong kind fits nowhere.
        assert_eq!(
            r.step(&Some(1), &CasInput::Write(2), Some(&CasOutput::Cas(true))),
            None
        );
    }
}
