//! The attribution policy, case by case: what an event's own addresses say,
//! within the scope its input may speak for.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;

use tocsin_detect::{AttributionPolicy, ScopeSetting, SourceTrust};
use tocsin_model::{
    Agency, AgencyKind, Asset, AssetKind, Category, Event, EventKind, Inventory, Observer,
    SecurityLevel, Timestamp, Value,
};

fn inventory() -> Inventory {
    let mut inv = Inventory::default();
    let mut agency = |code: &str, kind, range: &str, parent: Option<&str>| {
        let mut a = Agency::new(code, code, kind);
        a.ranges.push(range.parse().unwrap());
        a.parent = parent.map(Into::into);
        inv.agencies.push(a);
    };
    agency("TTCNTT", AgencyKind::Department, "10.36.0.0/24", None);
    agency("SYT", AgencyKind::Department, "10.36.12.0/24", None);
    agency(
        "BV-TINH",
        AgencyKind::Enterprise,
        "10.36.13.0/24",
        Some("SYT"),
    );
    agency("XA-DONGPHUC", AgencyKind::Commune, "10.37.5.0/24", None);
    inv.assets.push(Asset {
        code: "PORTAL".into(),
        name: "Cổng dịch vụ công".into(),
        kind: AssetKind::Service,
        owner: "TTCNTT".into(),
        level: SecurityLevel::new(3).unwrap(),
        addresses: vec!["10.36.0.10/32".parse().unwrap()],
        hostnames: vec!["dichvucong.ngocson.gov.vn".into()],
        urls: vec![],
        description: None,
    });
    inv
}

fn policy(sources: &[(&str, SourceTrust)]) -> AttributionPolicy {
    let sources: HashMap<_, _> = sources
        .iter()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    AttributionPolicy::new(1, Arc::new(inventory()), &sources)
}

fn event(kind: EventKind, category: Category, fields: &[(&'static str, Value)]) -> Event {
    let mut ev = Event::new(
        Timestamp::received(chrono::Utc::now()),
        Observer::default(),
        "",
    );
    ev.kind = kind;
    ev.category = category;
    for (k, v) in fields {
        ev.fields.insert(*k, v.clone());
    }
    ev
}

fn bound(agency: &str, scope: ScopeSetting) -> SourceTrust {
    SourceTrust {
        agency: Some(agency.into()),
        scope,
        asset: None,
        sensor: false,
    }
}

fn who(ev: &Event) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        ev.attribution.agency.as_ref().map(|a| a.as_str()),
        ev.attribution.asset.as_ref().map(|a| a.as_str()),
        ev.attribution.outside_scope.as_ref().map(|a| a.as_str()),
    )
}

/// The demo's case: a commune PC's process event, shipped by a collector
/// at the center, goes to the commune (its host address), not to the
/// collector's agency.
#[test]
fn a_host_event_goes_to_its_hosts_agency() {
    let p = policy(&[("winlogbeat", bound("TTCNTT", ScopeSetting::All))]);
    let mut ev = event(
        EventKind::Event,
        Category::Process,
        &[
            ("host.name", "PC-XA-017".into()),
            (
                "host.ip",
                Value::List(vec!["fe80::1".into(), "10.37.5.44".into()]),
            ),
            ("source.ip", "10.36.12.9".into()),
        ],
    );
    p.attribute(
        &mut ev,
        "winlogbeat",
        Some("10.36.0.2".parse().unwrap()),
        Some("TTCNTT"),
    );
    assert_eq!(who(&ev), (Some("XA-DONGPHUC"), None, None));
}

/// An agency's own collector cannot file events under another agency: the
/// event stays with the collector's agency, flagged with the other.
#[test]
fn an_address_outside_the_inputs_scope_is_flagged_not_followed() {
    let p = policy(&[("winlogbeat-syt", bound("SYT", ScopeSetting::Agency))]);
    let mut ev = event(
        EventKind::Event,
        Category::Process,
        &[("host.ip", "10.37.5.44".into())],
    );
    p.attribute(&mut ev, "winlogbeat-syt", None, Some("SYT"));
    assert_eq!(who(&ev), (Some("SYT"), None, Some("XA-DONGPHUC")));
    // Inside the scope (a descendant of SYT) it is followed.
    let mut ev = event(
        EventKind::Event,
        Category::Process,
        &[("host.ip", "10.36.13.7".into())],
    );
    p.attribute(&mut ev, "winlogbeat-syt", None, Some("SYT"));
    assert_eq!(who(&ev), (Some("BV-TINH"), None, None));
}

/// A sensor's alert about an infected device goes to the device's agency
/// (the source), before the destination or the sensor itself.
#[test]
fn a_sensor_alert_goes_to_its_source_first() {
    let p = policy(&[(
        "suricata",
        SourceTrust {
            sensor: true,
            ..bound("TTCNTT", ScopeSetting::All)
        },
    )]);
    let mut ev = event(
        EventKind::Alert,
        Category::IntrusionDetection,
        &[
            ("source.ip", "10.36.12.77".into()),
            ("destination.ip", "185.220.101.4".into()),
            ("host.ip", "10.36.0.2".into()),
        ],
    );
    p.attribute(
        &mut ev,
        "suricata",
        Some("10.36.0.2".parse().unwrap()),
        None,
    );
    assert_eq!(who(&ev), (Some("SYT"), None, None));
    // An attack on the portal from outside: the destination, with its asset.
    let mut ev = event(
        EventKind::Alert,
        Category::IntrusionDetection,
        &[
            ("source.ip", "203.0.113.9".into()),
            ("destination.ip", "10.36.0.10".into()),
        ],
    );
    p.attribute(&mut ev, "suricata", None, None);
    assert_eq!(who(&ev), (Some("TTCNTT"), Some("PORTAL"), None));
}

/// A file input names the asset it reads for: an access log of the portal
/// carries no address of the portal, but its alerts name the portal.
#[test]
fn a_file_input_names_its_asset() {
    let p = policy(&[(
        "nginx-dichvucong",
        SourceTrust {
            agency: Some("TTCNTT".into()),
            scope: ScopeSetting::Agency,
            asset: Some("PORTAL".into()),
            sensor: false,
        },
    )]);
    let mut ev = event(
        EventKind::Event,
        Category::Web,
        &[("source.ip", "203.0.113.9".into())],
    );
    p.attribute(&mut ev, "nginx-dichvucong", None, None);
    assert_eq!(who(&ev), (Some("TTCNTT"), Some("PORTAL"), None));
}

/// A host name that is an asset's attributes the event to the asset.
#[test]
fn an_asset_host_name_attributes() {
    let p = policy(&[]);
    let mut ev = event(
        EventKind::Event,
        Category::Authentication,
        &[
            ("host.name", "DICHVUCONG".into()),
            ("source.ip", "10.36.12.5".into()),
        ],
    );
    // Not configured here: the envelope's agency decides the scope (none:
    // the center's collector, every agency).
    p.attribute(&mut ev, "syslog-udp", None, None);
    assert_eq!(who(&ev), (Some("TTCNTT"), Some("PORTAL"), None));
}

/// Nothing in the event attributes it: the input's agency does; an
/// unbound input leaves it unattributed.
#[test]
fn the_inputs_agency_is_the_fallback() {
    let p = policy(&[("http-syt", bound("SYT", ScopeSetting::Agency))]);
    let mut ev = event(
        EventKind::Event,
        Category::Other,
        &[("source.ip", "8.8.8.8".into())],
    );
    p.attribute(&mut ev, "http-syt", None, None);
    assert_eq!(who(&ev), (Some("SYT"), None, None));
    let mut ev = event(EventKind::Event, Category::Other, &[]);
    p.attribute(
        &mut ev,
        "syslog-udp",
        Some("192.0.2.1".parse().unwrap()),
        None,
    );
    assert_eq!(who(&ev), (None, None, None));
}

/// A list scope: the named agencies and their descendants.
#[test]
fn a_list_scope_holds_the_named_subtrees() {
    let p = policy(&[(
        "relay",
        bound("TTCNTT", ScopeSetting::Agencies(vec!["SYT".into()])),
    )]);
    for (ip, want) in [
        ("10.36.13.1", ("BV-TINH", None)),
        ("10.36.0.9", ("TTCNTT", None)),
        ("10.37.5.1", ("TTCNTT", Some("XA-DONGPHUC"))),
    ] {
        let mut ev = event(EventKind::Event, Category::Host, &[("host.ip", ip.into())]);
        p.attribute(&mut ev, "relay", None, None);
        let (a, _, o) = who(&ev);
        assert_eq!((a.unwrap(), o), want, "{ip}");
    }
}

#[test]
fn scope_settings_read_from_toml() {
    #[derive(serde::Deserialize)]
    struct S {
        scope: ScopeSetting,
    }
    let r = |t: &str| toml::from_str::<S>(t).map(|s| s.scope);
    assert_eq!(r("scope = \"all\"").unwrap(), ScopeSetting::All);
    assert_eq!(r("scope = \"agency\"").unwrap(), ScopeSetting::Agency);
    assert_eq!(
        r("scope = [\"SYT\"]").unwrap(),
        ScopeSetting::Agencies(vec!["SYT".into()])
    );
    let e = r("scope = \"everything\"").unwrap_err().to_string();
    assert!(e.contains("everything"), "{e}");
}

/// Issue 11: anyone can write an `alert` record; only a sensor's become
/// alerts. From another input the record stays an event, marked.
#[test]
fn only_sensors_raise_sensor_alerts() {
    let p = policy(&[
        (
            "ids",
            SourceTrust {
                sensor: true,
                ..bound("TTCNTT", ScopeSetting::All)
            },
        ),
        ("syslog", bound("TTCNTT", ScopeSetting::All)),
    ]);
    let alert = || event(EventKind::Alert, Category::IntrusionDetection, &[]);
    let mut ev = alert();
    let n = p.attribute(&mut ev, "ids", None, None);
    assert_eq!((ev.kind, n.untrusted_alert), (EventKind::Alert, false));
    let mut ev = alert();
    let n = p.attribute(&mut ev, "syslog", None, None);
    assert_eq!((ev.kind, n.untrusted_alert), (EventKind::Event, true));
    assert_eq!(
        ev.fields.get("tocsin.untrusted_alert"),
        Some(&Value::Bool(true))
    );
    // Not configured here: not a sensor.
    let mut ev = alert();
    assert!(p.attribute(&mut ev, "unknown", None, None).untrusted_alert);
}

/// Without an inventory nothing can be found by address or name: the
/// input's agency is the answer, and a non-sensor's alert is still kept as
/// an event.
#[test]
fn with_no_inventory_the_inputs_agency_decides() {
    let sources: HashMap<String, SourceTrust> =
        [("http-syt".to_string(), bound("SYT", ScopeSetting::Agency))].into();
    let p = AttributionPolicy::new(1, Arc::new(Inventory::default()), &sources);
    let mut ev = event(
        EventKind::Alert,
        Category::IntrusionDetection,
        &[
            ("source.ip", "10.36.12.5".into()),
            ("host.name", "dichvucong".into()),
        ],
    );
    let noted = p.attribute(
        &mut ev,
        "http-syt",
        Some("10.36.12.9".parse().unwrap()),
        None,
    );
    assert_eq!(who(&ev), (Some("SYT"), None, None));
    assert!(noted.untrusted_alert && ev.kind == EventKind::Event);
    let mut ev = event(EventKind::Event, Category::Other, &[]);
    p.attribute(&mut ev, "syslog-udp", None, None);
    assert_eq!(who(&ev), (None, None, None));
}
