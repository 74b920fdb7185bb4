//! The canonical encoding behind the trace hash.
//!
//! `std::hash::Hash` is not fit for this: its output may differ between
//! platforms (`usize` is 32 bits in wasm) and Rust versions. Instead every
//! value that enters a trace says explicitly which bytes it stands for, and a
//! fixed 64-bit mixing function folds them into the hash. The same run gives
//! the same hash natively and in the browser.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

use crate::ids::{MsgId, NodeId};
use crate::time::{Duration, Permille, Ppm, Time};

/// Folds a canonical encoding of values into a 64-bit hash.
#[derive(Clone, Debug)]
pub struct TraceHasher {
    state: u64,
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher {
            state: 0xcbf2_9ce4_8422_2325,
        }
    }
}

impl TraceHasher {
    /// A hasher in its initial state.
    pub fn new() -> TraceHasher {
        TraceHasher::default()
    }

    /// Mixes in one 64-bit word (a multiply-rotate step, then SplitMix's
    /// finaliser at `finish`).
    pub fn word(&mut self, x: u64) {
        self.state = (self.state ^ x)
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(29)
            ^ (x >> 32);
    }

    /// Mixes in a byte string, length first so that concatenations differ.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.word(u64::from_le_bytes(buf));
        }
    }

    /// The hash of everything mixed in so far.
    pub fn finish(&self) -> u64 {
        crate::rng::splitmix64(self.state)
    }
}

/// A value with a canonical, platform-independent encoding for the trace hash.
///
/// Implement it by encoding every field in a fixed order; for enums, encode a
/// distinct tag first. [`impl_encode!`](crate::impl_encode) writes it for
/// structs and for enums without fields.
pub trait Encode {
    /// Feeds this value's canonical encoding to `h`.
    fn encode(&self, h: &mut TraceHasher);
}

macro_rules! encode_as_u64 {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, h: &mut TraceHasher) {
                h.word(*self as u64);
            }
        }
    )*};
}
encode_as_u64!(u8, u16, u32, u64, i8, i16, i32, i64, bool);

/// `usize` is encoded as 64 bits on every platform.
impl Encode for usize {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(*self as u64);
    }
}

impl Encode for char {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(u64::from(u32::from(*self)));
    }
}

impl Encode for str {
    fn encode(&self, h: &mut TraceHasher) {
        h.bytes(self.as_bytes());
    }
}

impl Encode for String {
    fn encode(&self, h: &mut TraceHasher) {
        h.bytes(self.as_bytes());
    }
}

impl Encode for () {
    fn encode(&self, _h: &mut TraceHasher) {}
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, h: &mut TraceHasher) {
        (**self).encode(h);
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    fn encode(&self, h: &mut TraceHasher) {
        (**self).encode(h);
    }
}

impl<T: Encode + ?Sized> Encode for Rc<T> {
    fn encode(&self, h: &mut TraceHasher) {
        (**self).encode(h);
    }
}

impl<T: Encode + ?Sized> Encode for Arc<T> {
    fn encode(&self, h: &mut TraceHasher) {
        (**self).encode(h);
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, h: &mut TraceHasher) {
        match self {
            None => h.word(0),
            Some(x) => {
                h.word(1);
                x.encode(h);
            }
        }
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.len() as u64);
        for x in self {
            x.encode(h);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, h: &mut TraceHasher) {
        self.as_slice().encode(h);
    }
}

impl<K: Encode, V: Encode> Encode for BTreeMap<K, V> {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.len() as u64);
        for (k, v) in self {
            k.encode(h);
            v.encode(h);
        }
    }
}

impl<T: Encode> Encode for BTreeSet<T> {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.len() as u64);
        for x in self {
            x.encode(h);
        }
    }
}

impl<K: Encode, V: Encode> Encode for crate::sorted::SortedMap<K, V> {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.len() as u64);
        for (k, v) in self {
            k.encode(h);
            v.encode(h);
        }
    }
}

impl<T: Encode> Encode for crate::sorted::SortedSet<T> {
    fn encode(&self, h: &mut TraceHasher) {
        h.word(self.len() as u64);
        for x in self {
            x.encode(h);
        }
    }
}

macro_rules! encode_tuple {
    ($($name:ident),+) => {
        impl<$($name: Encode),+> Encode for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode(&self, h: &mut TraceHasher) {
                let ($($name,)+) = self;
                $($name.encode(h);)+
            }
        }
    };
}
encode_tuple!(A);
encode_tuple!(A, B);
encode_tuple!(A, B, C);
encode_tuple!(A, B, C, D);
encode_tuple!(A, B, C, D, E);
encode_tuple!(A, B, C, D, E, F);

macro_rules! encode_newtype {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, h: &mut TraceHasher) {
                h.word(self.0 as u64);
            }
        }
    )*};
}
encode_newtype!(NodeId, MsgId, Time, Duration, Permille, Ppm);

/// Implements [`Encode`] for a struct by encoding the named fields in order,
/// or for a field-less enum by its discriminant.
///
/// ```
/// use sim::{impl_encode, Encode, TraceHasher};
/// struct Vote { term: u64, granted: bool }
/// impl_encode!(Vote { term, granted });
///
/// #[derive(Clone, Copy)]
/// enum Role { Follower, Leader }
/// impl_encode!(enum Role);
///
/// let mut h = TraceHasher::new();
/// Vote { term: 3, granted: true }.encode(&mut h);
/// Role::Leader.encode(&mut h);
/// assert_ne!(h.finish(), TraceHasher::new().finish());
/// ```
#[macro_export]
macro_rules! impl_encode {
    (enum $t:ty) => {
        impl $crate::Encode for $t {
            fn encode(&self, h: &mut $crate::TraceHasher) {
                h.word(*self as u64);
            }
        }
    };
    ($t:ty { $($field:ident),* $(,)? }) => {
        impl $crate::Encode for $t {
            fn encode(&self, h: &mut $crate::TraceHasher) {
                $( $crate::Encode::encode(&self.$field, h); )*
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash<T: Encode + ?Sized>(x: &T) -> u64 {
        let mut h = TraceHasher::new();
        x.encode(&mut h);
        h.finish()
    }

    #[test]
    fn encoding_distinguishes_structure() {
        assert_ne!(hash(&("ab", "c")), hash(&("a", "bc")));
        assert_ne!(hash(&vec![1u32, 2]), hash(&vec![1u32, 2, 0]));
        assert_ne!(hash(&Some(0u8)), hash(&None::<u8>));
        assert_eq!(hash(&5usize), hash(&5u64));
    }

    /// The hash is part of the share-URL and trace-file format, so its values
    /// are pinned: a change here breaks every saved trace.
    #[test]
    fn hash_values_are_pinned() {
        assert_eq!(hash(&()), PIN_EMPTY);
        assert_eq!(hash(&(1u64, "raft", vec![NodeId(2)])), PIN_TUPLE);
    }
    const PIN_EMPTY: u64 = 0xc381_7c01_6ba4_ff30;
    const PIN_TUPLE: u64 = 0xe3b8_b1c5_cd95_bf35;
}
