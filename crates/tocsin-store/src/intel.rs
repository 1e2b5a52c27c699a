//! Threat intelligence as the center accounts for it: sightings per
//! indicator and agency, infected devices and their contacts, and each
//! feed's last load. Every read of agency-owned rows takes the caller's
//! [`Scope`].
//!
//! Sightings are written with a batch's counts and queue position (see
//! `ingest::progress`), once per batch even when its alerts had to be
//! isolated, so the figures are exact across crashes and replays. A
//! sighting is a counter per (indicator, agency), not a row per contact:
//! the table grows with what was seen, not with traffic (MISP's pairwise
//! correlation table is the warning).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use tocsin_model::{
    Actor, AgencyCode, AssetCode, DeviceStatus, IndicatorKind, Scope, Sighting, Threat,
};

use crate::error::corrupt;
use crate::text::safe;
use crate::{Store, StoreError, scope, time};

/// A device seen contacting indicators.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InfectedDevice {
    /// Its number.
    pub id: i64,
    /// The agency it belongs to.
    pub agency: AgencyCode,
    /// `mac:…`, `host:…` or `ip:…`.
    pub device_key: String,
    /// Its last address.
    pub ip: Option<String>,
    /// Its host name, when known.
    pub hostname: Option<String>,
    /// Its MAC address, when known.
    pub mac: Option<String>,
    /// The asset, when the inventory knows it.
    pub asset: Option<AssetCode>,
    /// Whether any contact was with a botnet's C2.
    pub botnet: bool,
    /// First contact.
    pub first_seen: DateTime<Utc>,
    /// Last contact.
    pub last_seen: DateTime<Utc>,
    /// Contacts counted.
    pub contacts: i64,
    /// Indicators contacted.
    pub indicators: Vec<String>,
    /// Families named by the feeds.
    pub families: Vec<String>,
    /// Where it stands.
    pub status: DeviceStatus,
    /// When the status last changed.
    pub status_at: DateTime<Utc>,
    /// Whether it was found by searching the archive after the fact.
    pub found_late: bool,
}

/// Which infected devices to list. The default: every one in scope,
/// newest contact first, at most 500.
#[derive(Clone, Debug, Default)]
pub struct DeviceFilter {
    /// Only this agency's.
    pub agency: Option<AgencyCode>,
    /// Only devices whose families include this one (exact, case
    /// insensitive).
    pub family: Option<String>,
    /// Only this status.
    pub status: Option<DeviceStatus>,
    /// Only devices seen at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only devices seen before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only devices that talked to a botnet.
    pub botnet: bool,
    /// At most this many (default 500, at most 10,000).
    pub limit: Option<i64>,
}

/// Per agency: devices and addresses that contacted indicators in a
/// period — the report's figures.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AgencyIntelCount {
    /// The agency.
    pub agency: AgencyCode,
    /// Distinct devices that contacted any indicator.
    pub devices: i64,
    /// Distinct addresses that contacted a botnet C2.
    pub botnet_addresses: i64,
    /// Contacts counted.
    pub contacts: i64,
}

/// An address of an agency seen talking to a botnet C2.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BotnetAddress {
    /// The agency.
    pub agency: AgencyCode,
    /// The agency's address.
    pub ip: String,
    /// The C2 indicators it contacted.
    pub indicators: Vec<String>,
    /// Contacts in the period.
    pub contacts: i64,
    /// First day seen in the period.
    pub first_day: String,
    /// Last day seen in the period.
    pub last_day: String,
}

/// One indicator's sightings in one agency.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SightingRow {
    /// The indicator.
    pub indicator: String,
    /// Its kind.
    pub kind: IndicatorKind,
    /// The agency ("" when the event was not attributed).
    pub agency: String,
    /// The feed.
    pub source: String,
    /// What it points at.
    pub threat: Threat,
    /// The family.
    pub family: Option<String>,
    /// How many events matched.
    pub count: i64,
    /// Of which found late (retro-hunt).
    pub late_count: i64,
    /// First match.
    pub first_seen: DateTime<Utc>,
    /// Last match.
    pub last_seen: DateTime<Utc>,
}

/// A feed's last load, as the console shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedStatus {
    /// Its name.
    pub name: String,
    /// Its format.
    pub format: String,
    /// Where it is read from (path or URL).
    pub location: String,
    /// The last try.
    pub attempted_at: Option<DateTime<Utc>>,
    /// The last load that worked (its indicators are in force).
    pub loaded_at: Option<DateTime<Utc>>,
    /// Indicators in force from it.
    pub indicators: i64,
    /// Rows refused at the last load.
    pub rejected: i64,
    /// Why the last try failed, if it did.
    pub error: Option<String>,
    /// The first refused rows (line and reason).
    pub problems: Vec<String>,
}

/// A retro-hunt: the archive searched for indicators that arrived late.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetroStatus {
    /// Its number.
    pub id: i64,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended (none while it runs).
    pub finished_at: Option<DateTime<Utc>>,
    /// The oldest archive hour searched.
    pub since: Option<DateTime<Utc>>,
    /// New indicators searched for.
    pub indicators: i64,
    /// Archive files to read.
    pub files_total: i64,
    /// Files read.
    pub files_done: i64,
    /// Events looked up.
    pub events: i64,
    /// Matches found.
    pub hits: i64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// Records a batch's sightings inside its transaction.
pub(crate) async fn record(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    sightings: &[Sighting],
) -> Result<(), StoreError> {
    for s in sightings {
        let at = time::text(s.at);
        let agency = s.agency.as_ref().map_or("", AgencyCode::as_str);
        let h = &s.hit;
        sqlx::query(
            "INSERT INTO intel_sightings (indicator, kind, agency, source, threat, family, count, late_count, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8) \
             ON CONFLICT (indicator, kind, agency) DO UPDATE SET count = intel_sightings.count + 1, \
             late_count = intel_sightings.late_count + excluded.late_count, \
             source = excluded.source, threat = excluded.threat, family = COALESCE(excluded.family, intel_sightings.family), \
             first_seen = CASE WHEN excluded.first_seen < intel_sightings.first_seen THEN excluded.first_seen ELSE intel_sightings.first_seen END, \
             last_seen = CASE WHEN excluded.last_seen > intel_sightings.last_seen THEN excluded.last_seen ELSE intel_sightings.last_seen END",
        )
        .bind(safe(&h.indicator).into_owned())
        .bind(h.kind.as_str())
        .bind(safe(agency).into_owned())
        .bind(safe(&h.source).into_owned())
        .bind(h.threat.as_str())
        .bind(h.family.as_deref().map(|f| safe(f).into_owned()))
        .bind(i64::from(s.late))
        .bind(&at)
        .execute(&mut **tx)
        .await?;
        if let (Some(agency), Some(device)) = (&s.agency, &h.device) {
            device_contact(tx, s, agency, device, &at).await?;
        }
    }
    Ok(())
}

/// One contact of an agency's device: the device's record made or
/// updated (a cleaned device seen again is reinfected), and the contact
/// counted per address, indicator and day.
async fn device_contact(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    s: &Sighting,
    agency: &AgencyCode,
    device: &tocsin_model::Device,
    at: &str,
) -> Result<(), StoreError> {
    let h = &s.hit;
    let key = safe(&device.key).into_owned();
    let ip = device.ip.map(|i| i.to_string());
    let botnet = i64::from(h.threat.is_botnet());
    let row = sqlx::query(
        "SELECT id, indicators, families, status, status_at, last_seen FROM infected_devices WHERE agency = $1 AND device_key = $2",
    )
    .bind(agency.as_str())
    .bind(&key)
    .fetch_optional(&mut **tx)
    .await?;
    let id: i64 = match row {
        None => {
            let indicators = serde_json::to_string(&[&h.indicator]).unwrap_or_default();
            let families =
                serde_json::to_string(&h.family.iter().collect::<Vec<_>>()).unwrap_or_default();
            let row = sqlx::query(
                "INSERT INTO infected_devices (agency, device_key, ip, hostname, mac, asset, botnet, first_seen, last_seen, contacts, indicators, families, status, status_at, found_late) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1, $9, $10, 'open', $8, $11) RETURNING id",
            )
            .bind(agency.as_str())
            .bind(&key)
            .bind(&ip)
            .bind(device.hostname.as_deref().map(|x| safe(x).into_owned()))
            .bind(device.mac.as_deref().map(|x| safe(x).into_owned()))
            .bind(s.asset.as_ref().map(|a| a.as_str().to_string()))
            .bind(botnet)
            .bind(at)
            .bind(safe(&indicators).into_owned())
            .bind(safe(&families).into_owned())
            .bind(i64::from(s.late))
            .fetch_one(&mut **tx)
            .await?;
            row.try_get("id")?
        }
        Some(r) => {
            let id: i64 = r.try_get("id")?;
            let mut indicators: BTreeSet<String> =
                serde_json::from_str(&r.try_get::<String, _>("indicators")?).unwrap_or_default();
            let mut families: BTreeSet<String> =
                serde_json::from_str(&r.try_get::<String, _>("families")?).unwrap_or_default();
            // Bounded: a device that contacts thousands of indicators keeps
            // the first 100 named (its contacts are all counted).
            if indicators.len() < 100 {
                indicators.insert(h.indicator.clone());
            }
            if let Some(f) = &h.family
                && families.len() < 20
            {
                families.insert(f.clone());
            }
            let status: String = r.try_get("status")?;
            let status_at: String = r.try_get("status_at")?;
            let (status, status_at) =
                if status == DeviceStatus::Cleaned.as_str() && at > status_at.as_str() {
                    (
                        DeviceStatus::Reinfected.as_str().to_string(),
                        at.to_string(),
                    )
                } else {
                    (status, status_at)
                };
            sqlx::query(
                "UPDATE infected_devices SET ip = COALESCE($1, ip), hostname = COALESCE($2, hostname), mac = COALESCE($3, mac), \
                 asset = COALESCE($4, asset), botnet = CASE WHEN $5 > botnet THEN $5 ELSE botnet END, \
                 last_seen = CASE WHEN $6 > last_seen THEN $6 ELSE last_seen END, \
                 first_seen = CASE WHEN $6 < first_seen THEN $6 ELSE first_seen END, \
                 contacts = contacts + 1, indicators = $7, families = $8, status = $9, status_at = $10 WHERE id = $11",
            )
            .bind(&ip)
            .bind(device.hostname.as_deref().map(|x| safe(x).into_owned()))
            .bind(device.mac.as_deref().map(|x| safe(x).into_owned()))
            .bind(s.asset.as_ref().map(|a| a.as_str().to_string()))
            .bind(botnet)
            .bind(at)
            .bind(serde_json::to_string(&indicators).unwrap_or_default())
            .bind(serde_json::to_string(&families).unwrap_or_default())
            .bind(status)
            .bind(status_at)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            id
        }
    };
    if let Some(ip) = &ip {
        sqlx::query(
            "INSERT INTO infected_contacts (device, ip, indicator, day, botnet, count) VALUES ($1, $2, $3, $4, $5, 1) \
             ON CONFLICT (device, ip, indicator, day) DO UPDATE SET count = infected_contacts.count + 1",
        )
        .bind(id)
        .bind(ip)
        .bind(safe(&h.indicator).into_owned())
        .bind(&at[..10])
        .bind(botnet)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn device_row(r: &AnyRow) -> Result<InfectedDevice, StoreError> {
    let text = |c: &str| r.try_get::<String, _>(c);
    let opt = |c: &str| r.try_get::<Option<String>, _>(c);
    let status = text("status")?;
    Ok(InfectedDevice {
        id: r.try_get("id")?,
        agency: AgencyCode(text("agency")?),
        device_key: text("device_key")?,
        ip: opt("ip")?,
        hostname: opt("hostname")?,
        mac: opt("mac")?,
        asset: opt("asset")?.map(AssetCode),
        botnet: r.try_get::<i64, _>("botnet")? != 0,
        first_seen: time::parse(&text("first_seen")?, "first_seen")?,
        last_seen: time::parse(&text("last_seen")?, "last_seen")?,
        contacts: r.try_get("contacts")?,
        indicators: serde_json::from_str(&text("indicators")?).unwrap_or_default(),
        families: serde_json::from_str(&text("families")?).unwrap_or_default(),
        status: status
            .parse()
            .map_err(|e| corrupt("device status", &status, e))?,
        status_at: time::parse(&text("status_at")?, "status_at")?,
        found_late: r.try_get::<i64, _>("found_late")? != 0,
    })
}

const DEVICE_COLUMNS: &str = "id, agency, device_key, ip, hostname, mac, asset, botnet, first_seen, last_seen, contacts, indicators, families, status, status_at, found_late";

/// The period bounds as stored text (open ends as extreme text).
fn period(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> (String, String) {
    (
        since.map_or_else(String::new, time::text),
        until.map_or_else(|| "9999".to_string(), time::text),
    )
}

impl Store {
    /// Records sightings that did not come through the pipeline (the
    /// national center's list), with an audit entry saying what was
    /// imported, in one transaction.
    pub async fn import_sightings(
        &self,
        sightings: &[Sighting],
        actor: &Actor,
        what: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        record(&mut tx, sightings).await?;
        crate::audit::append(
            &mut tx,
            crate::audit::Change::new(actor, "intel.import", what.to_string())
                .states(None, Some(format!("{} sightings", sightings.len()))),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Infected devices in `scope`, newest contact first.
    pub async fn infected_devices(
        &self,
        scope: &Scope,
        f: &DeviceFilter,
    ) -> Result<Vec<InfectedDevice>, StoreError> {
        let (since, until) = period(f.since, f.until);
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM infected_devices WHERE ($1 IS NULL OR agency = $1) AND ($2 IS NULL OR status = $2) \
             AND last_seen >= $3 AND first_seen < $4 AND ($5 = 0 OR botnet = 1) AND {} ORDER BY last_seen DESC, id DESC LIMIT $6",
            scope::clause(scope, "agency", 7)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(f.agency.as_ref().map(AgencyCode::as_str))
            .bind(f.status.map(DeviceStatus::as_str))
            .bind(since)
            .bind(until)
            .bind(i64::from(f.botnet))
            // The family is matched after reading (a JSON list); read more
            // so the limit still holds after filtering.
            .bind(if f.family.is_some() {
                10_000
            } else {
                f.limit.unwrap_or(500).clamp(1, 10_000)
            });
        let rows = scope::bind(q, scope).fetch_all(&self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let d = device_row(r)?;
            if let Some(fam) = &f.family
                && !d.families.iter().any(|x| x.eq_ignore_ascii_case(fam))
            {
                continue;
            }
            out.push(d);
        }
        out.truncate(f.limit.unwrap_or(500).clamp(1, 10_000) as usize);
        Ok(out)
    }

    /// One infected device in `scope`.
    pub async fn infected_device(
        &self,
        scope: &Scope,
        id: i64,
    ) -> Result<Option<InfectedDevice>, StoreError> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS} FROM infected_devices WHERE id = $1 AND {}",
            scope::clause(scope, "agency", 2)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
        let row = scope::bind(q, scope).fetch_optional(&self.pool()).await?;
        row.as_ref().map(device_row).transpose()
    }

    /// Moves a device in `scope` to `status` (the agency was told, or
    /// cleaned it), audited. False when there is no such device in scope.
    pub async fn set_device_status(
        &self,
        scope: &Scope,
        id: i64,
        status: DeviceStatus,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "SELECT status, agency, device_key FROM infected_devices WHERE id = $1 AND {}",
            scope::clause(scope, "agency", 2)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
        let Some(row) = scope::bind(q, scope).fetch_optional(&mut *tx).await? else {
            return Ok(false);
        };
        let before: String = row.try_get("status")?;
        let agency: String = row.try_get("agency")?;
        let key: String = row.try_get("device_key")?;
        sqlx::query("UPDATE infected_devices SET status = $1, status_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(time::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::audit::append(
            &mut tx,
            crate::audit::Change::new(
                actor,
                "device.status",
                format!("device {id} ({agency} {key})"),
            )
            .states(Some(before), Some(status.as_str().to_string())),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Per agency in `scope`: devices that contacted any indicator and
    /// addresses that contacted a botnet C2, between `since` and `until`
    /// (by day of contact, UTC). Exact: counted from the per-day contact
    /// records, not from alerts.
    pub async fn intel_counts(
        &self,
        scope: &Scope,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<AgencyIntelCount>, StoreError> {
        let (since, until) = period(since, until);
        let sql = format!(
            "SELECT d.agency AS agency, COUNT(DISTINCT d.id) AS devices, \
             COUNT(DISTINCT CASE WHEN c.botnet = 1 THEN c.ip END) AS botnet_addresses, CAST(SUM(c.count) AS BIGINT) AS contacts \
             FROM infected_contacts c JOIN infected_devices d ON d.id = c.device \
             WHERE c.day >= $1 AND c.day < $2 AND {} GROUP BY d.agency ORDER BY devices DESC, d.agency",
            scope::clause(scope, "d.agency", 3)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since.get(..10).unwrap_or("").to_string())
            .bind(until.get(..10).unwrap_or("9999").to_string());
        let rows = scope::bind(q, scope).fetch_all(&self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(AgencyIntelCount {
                    agency: AgencyCode(r.try_get("agency")?),
                    devices: r.try_get("devices")?,
                    botnet_addresses: r.try_get("botnet_addresses")?,
                    contacts: r.try_get::<Option<i64>, _>("contacts")?.unwrap_or(0),
                })
            })
            .collect()
    }

    /// The addresses of agencies in `scope` seen talking to botnet C2s in
    /// the period, most contacts first.
    pub async fn botnet_addresses(
        &self,
        scope: &Scope,
        agency: Option<&AgencyCode>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<BotnetAddress>, StoreError> {
        let (since, until) = period(since, until);
        let sql = format!(
            "SELECT d.agency AS agency, c.ip AS ip, c.indicator AS indicator, CAST(SUM(c.count) AS BIGINT) AS contacts, MIN(c.day) AS first_day, MAX(c.day) AS last_day \
             FROM infected_contacts c JOIN infected_devices d ON d.id = c.device \
             WHERE c.botnet = 1 AND c.day >= $1 AND c.day < $2 AND ($3 IS NULL OR d.agency = $3) AND {} \
             GROUP BY d.agency, c.ip, c.indicator ORDER BY d.agency, c.ip LIMIT 20000",
            scope::clause(scope, "d.agency", 4)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since.get(..10).unwrap_or("").to_string())
            .bind(until.get(..10).unwrap_or("9999").to_string())
            .bind(agency.map(AgencyCode::as_str));
        let rows = scope::bind(q, scope).fetch_all(&self.pool()).await?;
        let mut out: Vec<BotnetAddress> = Vec::new();
        for r in &rows {
            let agency = AgencyCode(r.try_get("agency")?);
            let ip: String = r.try_get("ip")?;
            let indicator: String = r.try_get("indicator")?;
            let contacts: i64 = r.try_get::<Option<i64>, _>("contacts")?.unwrap_or(0);
            let first: String = r.try_get("first_day")?;
            let last: String = r.try_get("last_day")?;
            match out.last_mut() {
                Some(b) if b.agency == agency && b.ip == ip => {
                    b.indicators.push(indicator);
                    b.contacts += contacts;
                    b.first_day = b.first_day.clone().min(first);
                    b.last_day = b.last_day.clone().max(last);
                }
                _ => out.push(BotnetAddress {
                    agency,
                    ip,
                    indicators: vec![indicator],
                    contacts,
                    first_day: first,
                    last_day: last,
                }),
            }
        }
        out.sort_by(|a, b| b.contacts.cmp(&a.contacts).then(a.ip.cmp(&b.ip)));
        Ok(out)
    }

    /// Sightings in `scope`, most recent first. Unattributed sightings
    /// (agency "") are the whole province's only.
    pub async fn sightings(
        &self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<SightingRow>, StoreError> {
        let sql = format!(
            "SELECT indicator, kind, agency, source, threat, family, count, late_count, first_seen, last_seen FROM intel_sightings \
             WHERE {} ORDER BY last_seen DESC LIMIT $1",
            scope::clause(scope, "agency", 2)
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit.clamp(1, 10_000));
        let rows = scope::bind(q, scope).fetch_all(&self.pool()).await?;
        rows.iter()
            .map(|r| {
                let text = |c: &str| r.try_get::<String, _>(c);
                let kind = text("kind")?;
                let threat = text("threat")?;

                Ok(SightingRow {
                    indicator: text("indicator")?,
                    kind: kind
                        .parse()
                        .map_err(|e| corrupt("indicator kind", &kind, e))?,
                    agency: text("agency")?,
                    source: text("source")?,
                    threat: threat.parse().map_err(|e| corrupt("threat", &threat, e))?,
                    family: r.try_get("family")?,
                    count: r.try_get("count")?,
                    late_count: r.try_get("late_count")?,
                    first_seen: time::parse(&text("first_seen")?, "first_seen")?,
                    last_seen: time::parse(&text("last_seen")?, "last_seen")?,
                })
            })
            .collect()
    }

    /// Records a feed's load (or failed try). A failed try keeps the
    /// counts of the last good load and says why.
    pub async fn record_feed(&self, s: &FeedStatus) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO intel_feeds (name, format, location, attempted_at, loaded_at, indicators, rejected, error, problems) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (name) DO UPDATE SET format = excluded.format, location = excluded.location, attempted_at = excluded.attempted_at, \
             loaded_at = COALESCE(excluded.loaded_at, intel_feeds.loaded_at), \
             indicators = CASE WHEN excluded.loaded_at IS NULL THEN intel_feeds.indicators ELSE excluded.indicators END, \
             rejected = CASE WHEN excluded.loaded_at IS NULL THEN intel_feeds.rejected ELSE excluded.rejected END, \
             error = excluded.error, \
             problems = CASE WHEN excluded.loaded_at IS NULL THEN intel_feeds.problems ELSE excluded.problems END",
        )
        .bind(safe(&s.name).into_owned())
        .bind(safe(&s.format).into_owned())
        .bind(safe(&s.location).into_owned())
        .bind(s.attempted_at.map(time::text))
        .bind(s.loaded_at.map(time::text))
        .bind(s.indicators)
        .bind(s.rejected)
        .bind(s.error.as_deref().map(|e| safe(e).into_owned()))
        .bind(safe(&serde_json::to_string(&s.problems).unwrap_or_default()).into_owned())
        .execute(&self.pool())
        .await?;
        Ok(())
    }

    /// Every feed's last load, by name.
    pub async fn feeds(&self) -> Result<Vec<FeedStatus>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, format, location, attempted_at, loaded_at, indicators, rejected, error, problems FROM intel_feeds ORDER BY name",
        )
        .fetch_all(&self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedStatus {
                    name: r.try_get("name")?,
                    format: r.try_get("format")?,
                    location: r.try_get("location")?,
                    attempted_at: time::opt(r, "attempted_at")?,
                    loaded_at: time::opt(r, "loaded_at")?,
                    indicators: r.try_get("indicators")?,
                    rejected: r.try_get("rejected")?,
                    error: r.try_get("error")?,
                    problems: serde_json::from_str(&r.try_get::<String, _>("problems")?)
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Starts recording a retro-hunt for `indicators` new indicators over
    /// the archive since `since`; returns its number.
    pub async fn retro_started(
        &self,
        indicators: i64,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO intel_retro (started_at, since, indicators) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(time::now())
        .bind(time::text(since))
        .bind(indicators)
        .fetch_one(&self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// A retro-hunt's progress so far; `done` with its end (and why it
    /// failed, if it did).
    pub async fn retro_progress(
        &self,
        id: i64,
        p: &RetroStatus,
        done: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE intel_retro SET files_total = $1, files_done = $2, events = $3, hits = $4, error = $5, finished_at = $6 WHERE id = $7",
        )
        .bind(p.files_total)
        .bind(p.files_done)
        .bind(p.events)
        .bind(p.hits)
        .bind(p.error.as_deref().map(|e| safe(e).into_owned()))
        .bind(done.then(time::now))
        .bind(id)
        .execute(&self.pool())
        .await?;
        Ok(())
    }

    /// The latest retro-hunts, newest first.
    pub async fn retro_hunts(&self, limit: i64) -> Result<Vec<RetroStatus>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, started_at, finished_at, since, indicators, files_total, files_done, events, hits, error FROM intel_retro ORDER BY id DESC LIMIT $1",
        )
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let t = |c: &str| -> Result<DateTime<Utc>, StoreError> {
                    time::parse(&r.try_get::<String, _>(c)?, c)
                };
                Ok(RetroStatus {
                    id: r.try_get("id")?,
                    started_at: Some(t("started_at")?),
                    finished_at: time::opt(r, "finished_at")?,
                    since: Some(t("since")?),
                    indicators: r.try_get("indicators")?,
                    files_total: r.try_get("files_total")?,
                    files_done: r.try_get("files_done")?,
                    events: r.try_get("events")?,
                    hits: r.try_get("hits")?,
                    error: r.try_get("error")?,
                })
            })
            .collect()
    }
}
