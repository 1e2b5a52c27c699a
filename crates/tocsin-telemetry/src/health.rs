//! Health: whether each part of a node is doing its work, and if not, why
//! — what `/healthz`, the Inputs page and the log say to an operator.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::Metrics;

/// One part's condition.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum Condition {
    /// Doing its work.
    Ok,
    /// Not doing all of it: paused, retrying, restarting — with why.
    Degraded(String),
}

/// The conditions of a node's parts (`pipeline`, `queue`, `store`…).
#[derive(Debug, Default)]
pub struct Health {
    parts: Mutex<BTreeMap<&'static str, Condition>>,
}

impl Health {
    /// `part` is doing its work again.
    pub fn ok(&self, part: &'static str) {
        self.set(part, Condition::Ok);
    }

    /// `part` is not doing its work, because of `reason`. Logged once per
    /// change of reason.
    pub fn degraded(&self, part: &'static str, reason: impl Into<String>) {
        self.set(part, Condition::Degraded(reason.into()));
    }

    fn set(&self, part: &'static str, c: Condition) {
        let mut m = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        if m.get(part) == Some(&c) {
            return;
        }
        match &c {
            Condition::Ok if m.contains_key(part) => tracing::info!(part, "recovered"),
            Condition::Ok => {}
            Condition::Degraded(why) => tracing::warn!(part, reason = %why, "degraded"),
        }
        m.insert(part, c);
    }

    /// Every part's condition.
    pub fn parts(&self) -> BTreeMap<&'static str, Condition> {
        self.parts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// (part, reason) of every degraded part; empty when all is well.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        self.parts()
            .into_iter()
            .filter_map(|(k, c)| match c {
                Condition::Ok => None,
                Condition::Degraded(why) => Some((k, why)),
            })
            .collect()
    }
}

impl Metrics {
    /// The node's health.
    pub fn health(&self) -> &Health {
        &self.health
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degraded_parts_say_why_until_they_recover() {
        let h = Health::default();
        h.ok("pipeline");
        assert!(h.problems().is_empty());
        h.degraded("store", "disk full");
        h.degraded("queue", "cannot write");
        assert_eq!(
            h.problems(),
            vec![
                ("queue", "cannot write".to_string()),
                ("store", "disk full".to_string())
            ]
        );
        h.ok("store");
        assert_eq!(h.problems().len(), 1);
    }
}
