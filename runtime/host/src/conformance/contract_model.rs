//! What any backend may answer, whatever its eviction policy: a cache may
//! forget, but may never return a value other than the key's latest, nor
//! one that expired, was invalidated or was flushed.

use std::collections::HashMap;

/// The one value a get of a key may return, if any.
struct Allowed {
    value: Vec<u8>,
    deadline: Option<u64>,
    /// Refs recorded by the put that stored `value`. Refs of earlier puts
    /// may or may not survive (the entry may have been evicted in between),
    /// so an invalidation of one of those may, but need not, remove it.
    refs: Vec<Vec<u8>>,
}

/// The contract-tier model.
#[derive(Default)]
pub(crate) struct ContractModel {
    allowed: HashMap<Vec<u8>, Allowed>,
    gets: u64,
    hits: u64,
}

impl ContractModel {
    pub(crate) fn reset(&mut self) {
        *self = ContractModel::default();
    }

    /// Checks one get's answer against what the contract allows.
    pub(crate) fn check_get(&mut self, key: &[u8], now: u64, got: Option<&[u8]>) -> Result<(), String> {
        self.gets += 1;
        let Some(got) = got else { return Ok(()) };
        self.hits += 1;
        match self.allowed.get(key) {
            None => Err(format!("get returned {got:?} for a key that has no live entry")),
            Some(a) if a.deadline.is_some_and(|d| d <= now) => {
                Err(format!("get at {now} ms returned an entry whose deadline was {} ms", a.deadline.unwrap_or(0)))
            }
            Some(a) if a.value != got => Err(format!("get returned {got:?}, but the latest put stored {:?}", a.value)),
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn put(&mut self, key: &[u8], redis_key: Option<&[u8]>, value: &[u8], ttl: Option<u64>, now: u64) {
        if ttl == Some(0) {
            self.allowed.remove(key);
            return;
        }
        let allowed = Allowed {
            value: value.to_vec(),
            deadline: ttl.map(|ttl| now.saturating_add(ttl)),
            refs: redis_key.into_iter().map(<[u8]>::to_vec).collect(),
        };
        self.allowed.insert(key.to_vec(), allowed);
    }

    pub(crate) fn invalidate(&mut self, keys: Option<&[Vec<u8>]>) {
        match keys {
            None => self.allowed.clear(),
            Some(keys) => {
                for key in keys {
                    self.allowed.remove(key);
                }
            }
        }
    }

    pub(crate) fn invalidate_refs(&mut self, redis_keys: Option<&[Vec<u8>]>) {
        let Some(redis_keys) = redis_keys else { return };
        self.allowed.retain(|_, a| !a.refs.iter().any(|r| redis_keys.contains(r)));
    }

    pub(crate) fn flush(&mut self) {
        self.allowed.clear();
    }

    /// Gets answered with a value, and gets in all, since init.
    pub(crate) fn hits_and_gets(&self) -> (u64, u64) {
        (self.hits, self.gets)
    }
}
