//! The attribution policy: which agency and asset an event belongs to.
//! One policy, used by the pipeline, `tocsin hunt` and the console's IP
//! lookup.
//!
//! An event is attributed by its own addresses and names, in the order that
//! fits its kind:
//!
//! * what a sensor saw on the wire (an IDS alert, a flow, a firewall
//!   record): the source address (an infected device, an inside attacker),
//!   then the destination (an attacked server), then the host;
//! * what a host logged about itself (log-ons, processes, web requests):
//!   the host's address, its name (an asset's host name), the asset the
//!   input reads for, the address that sent the record, then destination
//!   and source.
//!
//! Each candidate must fall **within the scope its input may speak for**:
//! by default the input's agency and that agency's descendants; a
//! collector at the center can be given a wider scope (`scope = "all"`, or
//! a list). An address of an agency outside the scope does not move the
//! event there: the event stays with the input's agency and is flagged
//! ([`tocsin_model::EventAttribution::outside_scope`]) — an agency's
//! collector cannot file events under another agency. When nothing in the
//! event attributes it, the input's agency does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use tocsin_model::{
    Agency, AgencyCode, Asset, Attributor, Category, Event, EventKind, Inventory, Scope,
    ScopeSetting, SourceTrust, Value,
};

/// A [`SourceTrust`] resolved against one inventory.
#[derive(Clone, Debug)]
struct Resolved {
    agency: Option<AgencyCode>,
    scope: Scope,
    asset: Option<usize>,
    sensor: bool,
}

/// What attributing one event noticed, for the pipeline to count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Noted {
    /// An address of the event belongs to an agency outside its input's
    /// scope (the event stayed with the input's agency).
    pub outside_scope: bool,
    /// The event claimed to be a sensor's alert, from an input that is not
    /// a sensor: kept as an ordinary event.
    pub untrusted_alert: bool,
}

/// The policy over one inventory version. Cheap to share between threads;
/// rebuilt when the inventory changes.
#[derive(Clone, Debug)]
pub struct AttributionPolicy {
    version: i64,
    inventory: Arc<Inventory>,
    attributor: Attributor,
    /// Asset host names (full and first label, lowercase) → asset index.
    hosts: HashMap<String, usize>,
    sources: HashMap<String, Resolved>,
}

/// Where an event's attribution may come from, in the policy's order.
#[derive(Clone, Copy, Debug)]
enum Step {
    Field(&'static str),
    HostName,
    InputAsset,
    Peer,
}

/// A sensor's view of the wire: who started it first.
const NETWORK: [Step; 6] = [
    Step::Field("source.ip"),
    Step::Field("destination.ip"),
    Step::Field("host.ip"),
    Step::HostName,
    Step::InputAsset,
    Step::Peer,
];

/// A host's view of itself: the host first.
const HOST: [Step; 6] = [
    Step::Field("host.ip"),
    Step::HostName,
    Step::InputAsset,
    Step::Peer,
    Step::Field("destination.ip"),
    Step::Field("source.ip"),
];

impl AttributionPolicy {
    /// The policy for `inventory` (stored at `version`), with what each
    /// input may speak for (input name → trust).
    pub fn new(
        version: i64,
        inventory: Arc<Inventory>,
        sources: &HashMap<String, SourceTrust>,
    ) -> Self {
        let mut hosts = HashMap::new();
        for (i, a) in inventory.assets.iter().enumerate() {
            for h in &a.hostnames {
                let h = h.to_ascii_lowercase();
                if let Some((short, _)) = h.split_once('.') {
                    hosts.entry(short.to_string()).or_insert(i);
                }
                hosts.insert(h, i);
            }
        }
        let mut p = AttributionPolicy {
            version,
            attributor: Attributor::build(&inventory),
            inventory,
            hosts,
            sources: HashMap::new(),
        };
        p.sources = sources
            .iter()
            .map(|(name, t)| (name.clone(), p.resolve(t)))
            .collect();
        p
    }

    /// The inventory version this policy was built from.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The inventory.
    pub fn inventory(&self) -> &Arc<Inventory> {
        &self.inventory
    }

    fn resolve(&self, t: &SourceTrust) -> Resolved {
        let scope = match (&t.scope, &t.agency) {
            (ScopeSetting::All, _) | (ScopeSetting::Agency, None) => Scope::All,
            (ScopeSetting::Agency, Some(a)) => self.inventory.subtree(a),
            (ScopeSetting::Agencies(list), _) => {
                let mut set = std::collections::BTreeSet::new();
                for a in list.iter().chain(t.agency.iter()) {
                    if let Some(s) = self.inventory.subtree(a).agencies() {
                        set.extend(s.iter().cloned());
                    }
                }
                Scope::Agencies(Arc::new(set))
            }
        };
        Resolved {
            agency: t.agency.clone(),
            sensor: t.sensor,
            scope,
            asset: t
                .asset
                .as_ref()
                .and_then(|c| self.inventory.assets.iter().position(|a| &a.code == c)),
        }
    }

    /// The agency and asset an address belongs to (the console's lookup).
    pub fn lookup(&self, ip: IpAddr) -> (Option<&Agency>, Option<&Asset>) {
        let a = self.attributor.lookup(ip);
        (
            a.agency.and_then(|i| self.inventory.agencies.get(i)),
            a.asset.and_then(|i| self.inventory.assets.get(i)),
        )
    }

    /// Attributes `ev`, received through `input` from `peer`; `sender` is
    /// the agency the record's envelope names (an HTTP key's), used when
    /// the input is not configured here (records queued before a
    /// configuration change).
    pub fn attribute(
        &self,
        ev: &mut Event,
        input: &str,
        peer: Option<IpAddr>,
        sender: Option<&str>,
    ) -> Noted {
        let fallback;
        let src = match self.sources.get(input) {
            Some(r) => r,
            None => {
                fallback = self.resolve(&SourceTrust {
                    agency: sender.map(AgencyCode::from),
                    ..SourceTrust::default()
                });
                &fallback
            }
        };
        let mut noted = Noted::default();
        if ev.kind == EventKind::Alert && !src.sensor {
            ev.kind = EventKind::Event;
            ev.fields.insert("tocsin.untrusted_alert", true);
            noted.untrusted_alert = true;
        }
        let network = ev.kind == EventKind::Alert
            || matches!(
                ev.category,
                Category::Network | Category::IntrusionDetection
            );
        let order: &[Step] = if self.inventory.agencies.is_empty() {
            // No agency to find: the sender's is all there is (and no
            // field need be read).
            &[]
        } else if network {
            &NETWORK
        } else {
            &HOST
        };
        let mut outside: Option<AgencyCode> = None;
        for step in order {
            let mut hits: [Option<(usize, Option<usize>)>; 4] = [None; 4];
            match *step {
                Step::Field(name) => {
                    for (slot, ip) in hits.iter_mut().zip(addresses(ev.fields.get(name))) {
                        *slot = self.by_address(ip);
                    }
                }
                Step::HostName => {
                    let host = ev
                        .fields
                        .get_str("host.name")
                        .or(ev.observer.host.as_deref());
                    // Host names are mostly lowercase already: no copy then.
                    let found = host.and_then(|h| {
                        if h.bytes().any(|b| b.is_ascii_uppercase()) {
                            self.hosts.get(&h.to_ascii_lowercase())
                        } else {
                            self.hosts.get(h)
                        }
                    });
                    hits[0] = found.and_then(|&i| self.by_asset(i));
                }
                Step::InputAsset => hits[0] = src.asset.and_then(|i| self.by_asset(i)),
                Step::Peer => hits[0] = peer.and_then(|ip| self.by_address(ip)),
            }
            for (agency, asset) in hits.into_iter().flatten() {
                let code = &self.inventory.agencies[agency].code;
                if src.scope.allows(Some(code)) {
                    ev.attribution.agency = Some(code.clone());
                    ev.attribution.asset = asset.map(|i| self.inventory.assets[i].code.clone());
                    noted.outside_scope = outside.is_some();
                    ev.attribution.outside_scope = outside;
                    return noted;
                }
                outside.get_or_insert_with(|| code.clone());
            }
        }
        ev.attribution.agency = src.agency.clone();
        ev.attribution.asset = None;
        noted.outside_scope = outside.is_some();
        ev.attribution.outside_scope = outside;
        noted
    }

    fn by_address(&self, ip: IpAddr) -> Option<(usize, Option<usize>)> {
        let a = self.attributor.lookup(ip);
        a.agency.map(|g| (g, a.asset))
    }

    fn by_asset(&self, i: usize) -> Option<(usize, Option<usize>)> {
        let owner = &self.inventory.assets.get(i)?.owner;
        let g = self
            .inventory
            .agencies
            .iter()
            .position(|a| &a.code == owner)?;
        Some((g, Some(i)))
    }
}

/// The addresses of an address field: one, or the first few of a list
/// (`host.ip` is a list in Beats' events).
fn addresses(v: Option<&Value>) -> impl Iterator<Item = IpAddr> + '_ {
    let (one, list): (Option<&str>, &[Value]) = match v {
        Some(Value::Str(s)) => (Some(s), &[]),
        Some(Value::List(l)) => (None, l.as_slice()),
        _ => (None, &[]),
    };
    one.into_iter()
        .chain(list.iter().filter_map(Value::as_str))
        .filter_map(|s| s.trim().parse().ok())
}
