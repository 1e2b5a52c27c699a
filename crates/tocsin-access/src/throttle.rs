//! Failures counted per key (an address, an account) over a sliding
//! window, to slow guessing down: past the limit, the key waits until its
//! oldest failure leaves the window. Memory is bounded: at most `max_keys`
//! keys are tracked; when full, the key whose last failure is oldest goes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Limits of a [`Throttle`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Failures allowed in the window before the key must wait.
    pub max_failures: usize,
    /// The window, in seconds.
    pub window_secs: u64,
    /// Keys tracked at most.
    pub max_keys: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures: 10,
            window_secs: 900,
            max_keys: 100_000,
        }
    }
}

impl ThrottleConfig {
    /// An empty throttle.
    pub fn build(&self) -> Throttle {
        Throttle {
            config: self.clone(),
            keys: HashMap::new(),
        }
    }
}

/// Recent failures per key.
pub struct Throttle {
    config: ThrottleConfig,
    keys: HashMap<String, VecDeque<Instant>>,
}

impl Throttle {
    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_secs)
    }

    /// `Err(wait)` when `key` has had `max_failures` failures within the
    /// window before `now`.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let window = self.window();
        let Some(q) = self.keys.get_mut(key) else {
            return Ok(());
        };
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.is_empty() {
            self.keys.remove(key);
            return Ok(());
        }
        if q.len() >= self.config.max_failures.max(1) {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)));
        }
        Ok(())
    }

    /// Counts a failure of `key`.
    pub fn fail(&mut self, key: &str, now: Instant) {
        if !self.keys.contains_key(key) && self.keys.len() >= self.config.max_keys.max(1) {
            let stalest = self
                .keys
                .iter()
                .min_by_key(|(_, q)| q.back().copied())
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                self.keys.remove(&k);
            }
        }
        let max = self.config.max_failures.max(1);
        let q = self.keys.entry(key.to_string()).or_default();
        q.push_back(now);
        while q.len() > max {
            q.pop_front();
        }
    }

    /// Forgets `key`'s failures (after a success).
    pub fn clear(&mut self, key: &str) {
        self.keys.remove(key);
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max: usize, secs: u64, keys: usize) -> Throttle {
        ThrottleConfig {
            max_failures: max,
            window_secs: secs,
            max_keys: keys,
        }
        .build()
    }

    #[test]
    fn a_key_waits_after_its_limit_until_the_oldest_failure_leaves_the_window() {
        let mut t = cfg(3, 60, 10);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(t.check("10.0.0.1", t0 + Duration::from_secs(i)), Ok(()));
            t.fail("10.0.0.1", t0 + Duration::from_secs(i));
        }
        assert_eq!(
            t.check("10.0.0.1", t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(50))
        );
        assert_eq!(t.check("10.0.0.2", t0), Ok(()), "other keys are not slowed");
        assert_eq!(t.check("10.0.0.1", t0 + Duration::from_secs(60)), Ok(()));
        t.clear("10.0.0.1");
        assert!(t.is_empty());
    }

    #[test]
    fn a_flood_of_keys_keeps_memory_bounded() {
        let mut t = cfg(3, 60, 100);
        let t0 = Instant::now();
        for i in 0..10_000u64 {
            t.fail(&format!("k{i}"), t0 + Duration::from_millis(i));
        }
        assert_eq!(t.len(), 100);
    }
}
