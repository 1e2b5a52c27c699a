//! The national center's list of the province's addresses seen in
//! botnets, imported as botnet sightings for the agencies owning them.

use tocsin_intel::feeds::{Problem, parse_national};
use tocsin_model::{
    Actor, Attributor, Device, IndicatorKind, IntelHit, Inventory, Sighting, Threat,
};
use tocsin_store::{Store, StoreError};

/// What an import did.
#[derive(Debug, Default)]
pub struct NationalReport {
    /// Rows imported as sightings.
    pub imported: usize,
    /// Rows whose address no agency owns (kept out: no one to tell).
    pub unowned: Vec<(u64, String)>,
    /// Rows that could not be read.
    pub problems: Vec<Problem>,
    /// Every row refused, counted.
    pub rejected: u64,
}

/// The sightings `bytes` (the national list) holds for `inv`'s agencies.
pub fn sightings(bytes: &[u8], inv: &Inventory, source: &str) -> (Vec<Sighting>, NationalReport) {
    let (rows, parsed) = parse_national(bytes);
    let attributor = Attributor::build(inv);
    let mut report = NationalReport {
        problems: parsed.problems,
        rejected: parsed.rejected,
        ..NationalReport::default()
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let hit = attributor.lookup(r.ip);
        let Some(agency) = hit.agency.map(|i| inv.agencies[i].code.clone()) else {
            report.unowned.push((r.line, r.ip.to_string()));
            continue;
        };
        let asset = hit.asset.map(|i| inv.assets[i].code.clone());
        out.push(Sighting {
            hit: IntelHit {
                // The national center lists the agency's own address as a
                // bot: that address is the indicator it shares.
                indicator: r.ip.to_string(),
                kind: IndicatorKind::Ip,
                source: source.to_string(),
                threat: Threat::BotnetCc,
                family: r.family.clone(),
                confidence: 90,
                field: "national list".into(),
                device: Device::new(Some(r.ip), None, None),
            },
            at: r.at,
            agency: Some(agency),
            asset,
            late: false,
        });
    }
    report.imported = out.len();
    (out, report)
}

/// Imports the list into `store` (audited as `actor`).
pub async fn import(
    store: &Store,
    bytes: &[u8],
    source: &str,
    actor: &Actor,
    what: &str,
) -> Result<NationalReport, StoreError> {
    let inv = store.load_inventory().await?;
    let (s, report) = sightings(bytes, &inv, source);
    store.import_sightings(&s, actor, what).await?;
    Ok(report)
}
