//! Who may connect, and how many at once: the source allowlist and the
//! connection limits of a listening socket.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tocsin_model::Cidr;

/// Why a connection was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The source is not in the input's `allow` list.
    NotAllowed,
    /// The input holds `max_connections` already.
    TooMany,
    /// This source holds `max_connections_per_source` already.
    TooManyFromSource,
}

/// Whether `ip` may send to an input with this allowlist (empty: anyone).
pub fn allowed(allow: &[Cidr], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    allow.is_empty() || allow.iter().any(|c| c.contains(ip))
}

/// The connections an input holds, in all and per source.
#[derive(Debug)]
pub struct Limiter {
    max: usize,
    per_source: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One admitted connection; its place is given back when dropped.
#[derive(Debug)]
pub struct Admitted {
    limiter: Arc<Limiter>,
    ip: IpAddr,
}

impl Limiter {
    /// At most `max` connections, `per_source` of them from one address
    /// (zero is taken as one).
    pub fn new(max: usize, per_source: usize) -> Arc<Limiter> {
        Arc::new(Limiter {
            max: max.max(1),
            per_source: per_source.max(1),
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// Admits a connection from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refusal> {
        let ip = ip.to_canonical();
        let mut g = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 >= self.max {
            return Err(Refusal::TooMany);
        }
        let n = g.1.entry(ip).or_default();
        if *n >= self.per_source {
            return Err(Refusal::TooManyFromSource);
        }
        *n += 1;
        g.0 += 1;
        Ok(Admitted {
            limiter: self.clone(),
            ip,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut g = self.limiter.open.lock().unwrap_or_else(|e| e.into_inner());
        g.0 = g.0.saturating_sub(1);
        if let Some(n) = g.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                g.1.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_in_all_and_per_source() {
        let l = Limiter::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        let a1 = l.admit(a).unwrap();
        let _a2 = l.admit(a).unwrap();
        assert_eq!(l.admit(a).unwrap_err(), Refusal::TooManyFromSource);
        let _b1 = l.admit(b).unwrap();
        assert_eq!(
            l.admit("10.0.0.3".parse().unwrap()).unwrap_err(),
            Refusal::TooMany
        );
        drop(a1);
        assert!(l.admit(a).is_ok());
    }

    #[test]
    fn allowlists() {
        let allow: Vec<Cidr> = vec!["10.36.0.0/16".parse().unwrap()];
        assert!(allowed(&allow, "10.36.5.1".parse().unwrap()));
        assert!(allowed(&allow, "::ffff:10.36.5.1".parse().unwrap()));
        assert!(!allowed(&allow, "203.0.113.9".parse().unwrap()));
        assert!(allowed(&[], "203.0.113.9".parse().unwrap()));
    }
}
