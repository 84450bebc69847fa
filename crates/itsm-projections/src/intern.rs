//! String interning: each distinct group, agent, service or user id is stored once and referred
//! to by a `u32`, so 100k open tickets in ten groups hold ten group names, not 100k.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// An append-only table of distinct strings. Serialized as the plain list (the lookup map is
/// rebuilt on load), so snapshots carry each string once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<Box<str>>", into = "Vec<Box<str>>")]
pub struct Interner {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl From<Vec<Box<str>>> for Interner {
    fn from(names: Vec<Box<str>>) -> Self {
        let index = names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| Some((name.clone(), u32::try_from(i).ok()?)))
            .collect();
        Interner { names, index }
    }
}

impl From<Interner> for Vec<Box<str>> {
    fn from(interner: Interner) -> Self {
        interner.names
    }
}

impl Interner {
    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        // More than 4 billion distinct ids cannot happen on one desk; saturate rather than panic.
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.into());
        self.index.insert(name.into(), id);
        id
    }

    /// The id of `name` if it was ever interned.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The string of an id.
    pub fn name(&self, id: u32) -> &str {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.names.get(i))
            .map_or("", |name| name)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Heap bytes held: each string twice (list and map key) plus the map's slots.
    pub fn approximate_heap_bytes(&self) -> usize {
        let strings: usize = self.names.iter().map(|name| name.len()).sum();
        2 * strings
            + self.names.capacity() * std::mem::size_of::<Box<str>>()
            + self.index.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
    }
}
