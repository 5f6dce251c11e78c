//! Placeholder being replaced: a `HashMap`-backed stand-in with the `Dict`
//! API, so the rest of the crate compiles until the real table lands.
#![allow(missing_docs, clippy::all)]

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Clone)]
pub struct Dict<K, V, S = RandomState> {
    map: HashMap<K, V, S>,
}

impl<K: Hash + Eq, V> Default for Dict<K, V> {
    fn default() -> Self {
        Dict {
            map: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Ord + Clone, V> Dict<K, V> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn get<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(k)
    }
    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.map.get_mut(k)
    }
    pub fn contains_key<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.map.contains_key(k)
    }
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.map.insert(k, v)
    }
    pub fn get_or_insert_with(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        self.map.entry(k).or_insert_with(f)
    }
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.map.remove(k)
    }
    pub fn remove_entry<Q: Hash + Eq + ?Sized>(&mut self, k: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
    {
        self.map.remove_entry(k)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.map.iter_mut()
    }
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }
    pub fn clear(&mut self) {
        self.map.clear()
    }
    pub fn retain(&mut self, f: impl FnMut(&K, &mut V) -> bool) {
        self.map.retain(f)
    }
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&K, &V)) -> u64 {
        let mut keys: Vec<&K> = self.map.keys().collect();
        keys.sort();
        if let Some(k) = keys.get(cursor as usize) {
            f(k, &self.map[*k]);
        }
        if cursor as usize + 1 >= keys.len() {
            0
        } else {
            cursor + 1
        }
    }
    pub fn random_entry(&self, rng: &mut impl FnMut() -> u64) -> Option<(&K, &V)> {
        if self.map.is_empty() {
            return None;
        }
        let n = (rng() % self.map.len() as u64) as usize;
        self.map.iter().nth(n)
    }
    pub fn sample(&self, count: usize, rng: &mut impl FnMut() -> u64) -> Vec<(&K, &V)> {
        if self.map.is_empty() {
            return Vec::new();
        }
        let skip = (rng() % self.map.len() as u64) as usize;
        self.map
            .iter()
            .cycle()
            .skip(skip)
            .take(count.min(self.map.len()))
            .collect()
    }
    pub fn rehash_step(&mut self, _buckets: usize) -> bool {
        false
    }
    pub fn memory_usage(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(K, V)>() + 1)
    }
}
