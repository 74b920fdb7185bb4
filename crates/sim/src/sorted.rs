//! [`SortedMap`] and [`SortedSet`]: ordered collections kept as one sorted
//! `Vec`, with the part of `BTreeMap`'s and `BTreeSet`'s interface that the
//! engine, the protocols and the app use.
//!
//! They iterate in key order, exactly as the `BTree` collections do, so runs,
//! trace hashes and everything shown stay the same. They exist for the size
//! of the app: every distinct `BTreeMap<K, V>` brings its own copy of the
//! B-tree's node code (splitting, merging, iterators, drop), tens of KiB of
//! WebAssembly over all the key and value types here, while a sorted `Vec`
//! needs little more than a binary search. Most maps in a run are small (a
//! node's peers, a checker's open slots, the messages on the wire); the ones
//! that grow with the run (a checker's history of acknowledged or committed
//! messages) get their keys mostly in order, so an insert lands at or near
//! the end. Measured (`cargo xtask bench`, `cargo xtask sweep`, one machine,
//! one run each): sweeps and seeks as fast as with the B-trees or faster,
//! engine events per second within about 13 % either way.

use std::{
    borrow::Borrow,
    fmt,
    iter::FromIterator,
    ops::{Bound, Index, RangeBounds},
};

/// An ordered map: `BTreeMap`'s behaviour on a sorted `Vec` of entries.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

/// An ordered set: `BTreeSet`'s behaviour on a sorted `Vec`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortedSet<T> {
    items: Vec<T>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap {
            entries: Vec::new(),
        }
    }
}

impl<T> Default for SortedSet<T> {
    fn default() -> Self {
        SortedSet { items: Vec::new() }
    }
}

/// Where `key` is in `entries` (`Ok`) or would go (`Err`).
fn search<K, V, Q>(entries: &[(K, V)], key: &Q) -> Result<usize, usize>
where
    K: Borrow<Q>,
    Q: Ord + ?Sized,
{
    entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
}

/// The index range of the entries whose keys lie in `range`.
fn span<T, Q, R>(items: &[T], key: impl Fn(&T) -> &Q, range: &R) -> (usize, usize)
where
    Q: Ord + ?Sized,
    R: RangeBounds<Q>,
{
    let start = match range.start_bound() {
        Bound::Included(b) => items.partition_point(|x| key(x) < b),
        Bound::Excluded(b) => items.partition_point(|x| key(x) <= b),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(b) => items.partition_point(|x| key(x) <= b),
        Bound::Excluded(b) => items.partition_point(|x| key(x) < b),
        Bound::Unbounded => items.len(),
    };
    (start, end.max(start))
}

fn pair<K, V>(e: &(K, V)) -> (&K, &V) {
    (&e.0, &e.1)
}

fn pair_mut<K, V>(e: &mut (K, V)) -> (&K, &mut V) {
    (&e.0, &mut e.1)
}

/// Iterator over a map's entries, in key order.
pub type Iter<'a, K, V> =
    std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;
/// Iterator over a map's entries with mutable values, in key order.
pub type IterMut<'a, K, V> =
    std::iter::Map<std::slice::IterMut<'a, (K, V)>, fn(&'a mut (K, V)) -> (&'a K, &'a mut V)>;

impl<K, V> SortedMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        SortedMap {
            entries: Vec::new(),
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entries, in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        self.entries.iter().map(pair as fn(&(K, V)) -> (&K, &V))
    }

    /// The entries with mutable values, in key order.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        self.entries
            .iter_mut()
            .map(pair_mut as fn(&mut (K, V)) -> (&K, &mut V))
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator + Clone {
        self.entries.iter().map(|e| &e.0)
    }

    /// The values, in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator + Clone {
        self.entries.iter().map(|e| &e.1)
    }

    /// The values, mutable, in key order.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|e| &mut e.1)
    }

    /// The keys, in order, consuming the map.
    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator {
        self.entries.into_iter().map(|e| e.0)
    }

    /// The values, in key order, consuming the map.
    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.entries.into_iter().map(|e| e.1)
    }

    /// The entry with the smallest key.
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.entries.first().map(pair)
    }

    /// The entry with the largest key.
    pub fn last_key_value(&self) -> Option<(&K, &V)> {
        self.entries.last().map(pair)
    }

    /// Removes and returns the entry with the smallest key.
    pub fn pop_first(&mut self) -> Option<(K, V)> {
        if self.entries.is_empty() {
            None
        } else {
            Some(self.entries.remove(0))
        }
    }

    /// Removes and returns the entry with the largest key.
    pub fn pop_last(&mut self) -> Option<(K, V)> {
        self.entries.pop()
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    /// The value for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        search(&self.entries, key).ok().map(|i| &self.entries[i].1)
    }

    /// The stored key and the value for `key`.
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        search(&self.entries, key)
            .ok()
            .map(|i| pair(&self.entries[i]))
    }

    /// The value for `key`, mutable.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match search(&self.entries, key) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    /// Whether the map has an entry for `key`.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        search(&self.entries, key).is_ok()
    }

    /// Sets the value for `key`, returning the old one (the stored key stays).
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match search(&self.entries, &key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes the entry for `key`, returning its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.remove_entry(key).map(|e| e.1)
    }

    /// Removes the entry for `key`, returning it.
    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match search(&self.entries, key) {
            Ok(i) => Some(self.entries.remove(i)),
            Err(_) => None,
        }
    }

    /// The place of `key` in the map, to read, insert or change in place.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        match search(&self.entries, &key) {
            Ok(index) => Entry::Occupied(OccupiedEntry {
                entries: &mut self.entries,
                index,
            }),
            Err(index) => Entry::Vacant(VacantEntry {
                entries: &mut self.entries,
                index,
                key,
            }),
        }
    }

    /// The entries whose keys lie in `range`, in key order.
    pub fn range<Q, R>(&self, range: R) -> Iter<'_, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let (start, end) = span(&self.entries, |e| e.0.borrow(), &range);
        self.entries[start..end]
            .iter()
            .map(pair as fn(&(K, V)) -> (&K, &V))
    }

    /// The entries whose keys lie in `range`, with mutable values.
    pub fn range_mut<Q, R>(&mut self, range: R) -> IterMut<'_, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let (start, end) = span(&self.entries, |e| e.0.borrow(), &range);
        self.entries[start..end]
            .iter_mut()
            .map(pair_mut as fn(&mut (K, V)) -> (&K, &mut V))
    }

    /// Splits off and returns the entries with keys at or after `key`.
    pub fn split_off<Q>(&mut self, key: &Q) -> Self
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.entries.partition_point(|e| e.0.borrow() < key);
        SortedMap {
            entries: self.entries.split_off(at),
        }
    }

    /// Moves every entry of `other` into this map (`other`'s values win).
    pub fn append(&mut self, other: &mut Self) {
        for (k, v) in other.entries.drain(..) {
            self.insert(k, v);
        }
    }
}

/// A place in a [`SortedMap`], from [`SortedMap::entry`].
pub enum Entry<'a, K, V> {
    /// The key has no entry yet.
    Vacant(VacantEntry<'a, K, V>),
    /// The key has an entry.
    Occupied(OccupiedEntry<'a, K, V>),
}

/// A key with no entry in a [`SortedMap`].
pub struct VacantEntry<'a, K, V> {
    entries: &'a mut Vec<(K, V)>,
    index: usize,
    key: K,
}

/// An entry of a [`SortedMap`].
pub struct OccupiedEntry<'a, K, V> {
    entries: &'a mut Vec<(K, V)>,
    index: usize,
}

impl<'a, K, V> Entry<'a, K, V> {
    /// The value, inserting `default` if there is none.
    pub fn or_insert(self, default: V) -> &'a mut V {
        match self {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(default),
        }
    }

    /// The value, inserting `make()` if there is none.
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        match self {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(make()),
        }
    }

    /// The value, inserting `V::default()` if there is none.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }

    /// Changes the value in place if there is one.
    pub fn and_modify(mut self, change: impl FnOnce(&mut V)) -> Self {
        if let Entry::Occupied(e) = &mut self {
            change(e.get_mut());
        }
        self
    }

    /// The key.
    pub fn key(&self) -> &K {
        match self {
            Entry::Occupied(e) => e.key(),
            Entry::Vacant(e) => e.key(),
        }
    }
}

impl<'a, K, V> VacantEntry<'a, K, V> {
    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Inserts `value` for the key.
    pub fn insert(self, value: V) -> &'a mut V {
        self.entries.insert(self.index, (self.key, value));
        &mut self.entries[self.index].1
    }
}

impl<'a, K, V> OccupiedEntry<'a, K, V> {
    /// The key.
    pub fn key(&self) -> &K {
        &self.entries[self.index].0
    }

    /// The value.
    pub fn get(&self) -> &V {
        &self.entries[self.index].1
    }

    /// The value, mutable.
    pub fn get_mut(&mut self) -> &mut V {
        &mut self.entries[self.index].1
    }

    /// The value, mutable, for as long as the map is borrowed.
    pub fn into_mut(self) -> &'a mut V {
        &mut self.entries[self.index].1
    }

    /// Replaces the value, returning the old one.
    pub fn insert(&mut self, value: V) -> V {
        std::mem::replace(self.get_mut(), value)
    }

    /// Removes the entry, returning its value.
    pub fn remove(self) -> V {
        self.entries.remove(self.index).1
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = SortedMap::new();
        map.extend(iter);
        map
    }
}

impl<K: Ord, V> Extend<(K, V)> for SortedMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for SortedMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> Index<&Q> for SortedMap<K, V> {
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry for the key")
    }
}

impl<'a, K, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, K, V> IntoIterator for &'a mut SortedMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<T> SortedSet<T> {
    /// An empty set.
    pub const fn new() -> Self {
        SortedSet { items: Vec::new() }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// The elements, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The smallest element.
    pub fn first(&self) -> Option<&T> {
        self.items.first()
    }

    /// The largest element.
    pub fn last(&self) -> Option<&T> {
        self.items.last()
    }

    /// Removes and returns the smallest element.
    pub fn pop_first(&mut self) -> Option<T> {
        if self.items.is_empty() {
            None
        } else {
            Some(self.items.remove(0))
        }
    }

    /// Removes and returns the largest element.
    pub fn pop_last(&mut self) -> Option<T> {
        self.items.pop()
    }

    /// Keeps only the elements for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.items.retain(|x| keep(x));
    }
}

impl<T: Ord> SortedSet<T> {
    fn find<Q>(&self, value: &Q) -> Result<usize, usize>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.items.binary_search_by(|x| x.borrow().cmp(value))
    }

    /// Whether `value` is in the set.
    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(value).is_ok()
    }

    /// The stored element equal to `value`.
    pub fn get<Q>(&self, value: &Q) -> Option<&T>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(value).ok().map(|i| &self.items[i])
    }

    /// Adds `value`; false if it was already there (the stored one stays).
    pub fn insert(&mut self, value: T) -> bool {
        match self.find(&value) {
            Ok(_) => false,
            Err(i) => {
                self.items.insert(i, value);
                true
            }
        }
    }

    /// Removes `value`; false if it was not there.
    pub fn remove<Q>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.take(value).is_some()
    }

    /// Removes and returns the element equal to `value`.
    pub fn take<Q>(&mut self, value: &Q) -> Option<T>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self.find(value) {
            Ok(i) => Some(self.items.remove(i)),
            Err(_) => None,
        }
    }

    /// The elements in `range`, in order.
    pub fn range<Q, R>(&self, range: R) -> std::slice::Iter<'_, T>
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let (start, end) = span(&self.items, |x| x.borrow(), &range);
        self.items[start..end].iter()
    }

    /// Splits off and returns the elements at or after `value`.
    pub fn split_off<Q>(&mut self, value: &Q) -> Self
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let at = self.items.partition_point(|x| x.borrow() < value);
        SortedSet {
            items: self.items.split_off(at),
        }
    }

    /// Moves every element of `other` into this set.
    pub fn append(&mut self, other: &mut Self) {
        for x in other.items.drain(..) {
            self.insert(x);
        }
    }

    /// The elements of this set that are not in `other`, in order.
    pub fn difference<'a>(
        &'a self,
        other: &'a SortedSet<T>,
    ) -> impl Iterator<Item = &'a T> + Clone + 'a {
        self.items.iter().filter(move |x| !other.contains(*x))
    }

    /// The elements in both sets, in order.
    pub fn intersection<'a>(
        &'a self,
        other: &'a SortedSet<T>,
    ) -> impl Iterator<Item = &'a T> + Clone + 'a {
        self.items.iter().filter(move |x| other.contains(*x))
    }

    /// The elements in either set, in order, each once.
    pub fn union<'a>(&'a self, other: &'a SortedSet<T>) -> impl Iterator<Item = &'a T> + 'a {
        let mut all: Vec<&T> = self.items.iter().chain(other.items.iter()).collect();
        all.sort();
        all.dedup();
        all.into_iter()
    }

    /// Whether every element of this set is in `other`.
    pub fn is_subset(&self, other: &SortedSet<T>) -> bool {
        self.items.iter().all(|x| other.contains(x))
    }

    /// Whether every element of `other` is in this set.
    pub fn is_superset(&self, other: &SortedSet<T>) -> bool {
        other.is_subset(self)
    }
}

impl<T: fmt::Debug> fmt::Debug for SortedSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.items.iter()).finish()
    }
}

impl<T: Ord> FromIterator<T> for SortedSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut set = SortedSet::new();
        set.extend(iter);
        set
    }
}

impl<T: Ord> Extend<T> for SortedSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for x in iter {
            self.insert(x);
        }
    }
}

impl<'a, T: Ord + Copy + 'a> Extend<&'a T> for SortedSet<T> {
    fn extend<I: IntoIterator<Item = &'a T>>(&mut self, iter: I) {
        for x in iter {
            self.insert(*x);
        }
    }
}

impl<T: Ord, const N: usize> From<[T; N]> for SortedSet<T> {
    fn from(items: [T; N]) -> Self {
        items.into_iter().collect()
    }
}

impl<'a, T> IntoIterator for &'a SortedSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T> IntoIterator for SortedSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    proptest! {
        /// Any sequence of operations leaves a `SortedMap` and a `SortedSet`
        /// with the same contents, in the same order, as `BTreeMap` and
        /// `BTreeSet`, and every operation answers the same.
        #[test]
        fn behaves_as_the_btree_collections(ops in proptest::collection::vec((0u8..8, 0u8..20, 0u8..20), 0..200)) {
            let (mut map, mut btree) = (SortedMap::new(), BTreeMap::new());
            let (mut set, mut bset) = (SortedSet::new(), BTreeSet::new());
            for (op, k, v) in ops {
                match op {
                    0 => prop_assert_eq!(map.insert(k, v), btree.insert(k, v)),
                    1 => prop_assert_eq!(map.remove(&k), btree.remove(&k)),
                    2 => *map.entry(k).or_default() += v,
                    3 => {
                        *btree.entry(k).or_default() += v;
                        *map.entry(k).or_default() += 0;
                        *map.get_mut(&k).unwrap() += v;
                    }
                    4 => {
                        map.retain(|key, _| key % 3 != v % 3);
                        btree.retain(|key, _| key % 3 != v % 3);
                    }
                    5 => prop_assert_eq!(set.insert(k), bset.insert(k)),
                    6 => prop_assert_eq!(set.remove(&k), bset.remove(&k)),
                    _ => prop_assert_eq!(map.pop_first(), btree.pop_first()),
                }
                if op == 2 {
                    *btree.entry(k).or_default() += v;
                }
                let (lo, hi) = (k.min(v), k.max(v));
                prop_assert!(map.range(lo..hi).map(|(k, v)| (*k, *v)).eq(btree.range(lo..hi).map(|(k, v)| (*k, *v))));
                prop_assert!(map.range(lo..=hi).map(|(k, v)| (*k, *v)).eq(btree.range(lo..=hi).map(|(k, v)| (*k, *v))));
                prop_assert!(set.range(lo..).eq(bset.range(lo..)));
                prop_assert_eq!(map.get(&k), btree.get(&k));
                prop_assert_eq!(set.contains(&v), bset.contains(&v));
            }
            prop_assert!(map.iter().eq(btree.iter()));
            prop_assert!(set.iter().eq(bset.iter()));
            prop_assert_eq!(format!("{map:?} {set:?}"), format!("{btree:?} {bset:?}"));
            let (mut tail, mut btail) = (map.clone(), btree.clone());
            prop_assert!(tail.split_off(&10).iter().eq(btail.split_off(&10).iter()));
            prop_assert!(tail.iter().eq(btail.iter()));
        }
    }
}
