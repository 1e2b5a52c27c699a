//! Event counts per hour, input and agency, gathered per batch.

use std::collections::HashMap;

use tocsin_model::{AgencyCode, EventCount};

/// (events, unparsed) per agency code ("" when unattributed).
type ByAgency = HashMap<String, (i64, i64)>;

/// Event counts (events, unparsed) by hour, input and agency. Lookups by
/// borrowed names: a key is allocated only the first time it is seen.
#[derive(Default)]
pub(crate) struct Counts(HashMap<i64, HashMap<String, ByAgency>>);

/// The value under `k`, inserted empty when missing.
fn slot<'m, V: Default>(m: &'m mut HashMap<String, V>, k: &str) -> &'m mut V {
    if !m.contains_key(k) {
        m.insert(k.to_string(), V::default());
    }
    m.get_mut(k).expect("inserted just above")
}

impl Counts {
    pub(crate) fn add(&mut self, hour: i64, input: &str, agency: &str, events: i64, errors: i64) {
        let c = slot(slot(self.0.entry(hour).or_default(), input), agency);
        c.0 += events;
        c.1 += errors;
    }

    pub(crate) fn merge(&mut self, other: Counts) {
        for (hour, inputs) in other.0 {
            for (input, agencies) in inputs {
                for (agency, (events, errors)) in agencies {
                    self.add(hour, &input, &agency, events, errors);
                }
            }
        }
    }

    /// Events per input.
    pub(crate) fn per_input(&self) -> HashMap<&str, i64> {
        let mut out: HashMap<&str, i64> = HashMap::new();
        for inputs in self.0.values() {
            for (input, agencies) in inputs {
                *out.entry(input.as_str()).or_default() +=
                    agencies.values().map(|c| c.0).sum::<i64>();
            }
        }
        out
    }

    /// The rows to commit.
    pub(crate) fn rows(&self) -> Vec<EventCount> {
        let mut out = Vec::new();
        for (hour, inputs) in &self.0 {
            let at =
                chrono::DateTime::<chrono::Utc>::from_timestamp(hour * 3600, 0).unwrap_or_default();
            for (input, agencies) in inputs {
                for (agency, (events, errors)) in agencies {
                    out.push(EventCount {
                        hour: at,
                        input: input.clone(),
                        agency: Some(agency.as_str())
                            .filter(|a| !a.is_empty())
                            .map(AgencyCode::from),
                        events: *events,
                        errors: *errors,
                    });
                }
            }
        }
        out
    }
}
