//! Windows events as Winlogbeat (ECS, `winlog.*`) or NXLog
//! (`im_msvistalog` flat JSON) ship them. The original keys are kept
//! (Sigma's mappings know both shapes); the common ECS fields are added.

use serde_json::{Map, Value as J};
use tocsin_model::{Category, Event};

use crate::json::{flatten, get_text, set_time};
use crate::text::{set_ip, set_num};
use crate::{PResult, Parser};

pub fn looks_like(o: &Map<String, J>) -> bool {
    o.contains_key("winlog")
        || (o.contains_key("EventID")
            && (o.contains_key("Channel") || o.contains_key("SourceName")))
}

/// (Winlogbeat path, NXLog key) pairs for the same datum.
fn text(o: &Map<String, J>, beat: &str, nx: &str) -> Option<String> {
    get_text(o, beat).or_else(|| get_text(o, nx))
}

pub fn parse(p: &Parser, o: &Map<String, J>, ev: &mut Event) -> PResult<()> {
    let code = text(o, "winlog.event_id", "EventID")
        .or_else(|| get_text(o, "event.code"))
        .ok_or("windows: no event id (`winlog.event_id` or `EventID`)")?;
    flatten(p, o, "", ev);
    set_time(
        p,
        o,
        ev,
        &["@timestamp", "EventTime", "TimeCreated", "UtcTime"],
    );
    ev.fields.insert("event.module", "windows");
    set_num(ev, "event.code", &code);
    let channel = text(o, "winlog.channel", "Channel").unwrap_or_default();
    if !channel.is_empty() {
        ev.fields.insert("winlog.channel", channel.as_str());
    }
    if let Some(h) = text(o, "winlog.computer_name", "Hostname") {
        ev.fields.insert("host.name", h.as_str());
        ev.observer.host = Some(h);
    }
    let data = |k: &str| text(o, &format!("winlog.event_data.{k}"), k);
    if let Some(ip) = data("IpAddress").or_else(|| data("SourceAddress")) {
        set_ip(ev, "source.ip", &ip);
    }
    if let Some(port) = data("IpPort") {
        set_num(ev, "source.port", &port);
    }
    if let Some(u) = data("TargetUserName") {
        ev.fields.insert("user.name", u);
    }
    if let Some(d) = data("TargetDomainName") {
        ev.fields.insert("user.domain", d);
    }
    let security = channel.eq_ignore_ascii_case("security");
    let sysmon = channel.contains("Sysmon");
    ev.category = match code.as_str() {
        "4624" | "4625" | "4648" | "4771" | "4776" if security => {
            ev.fields.insert("event.category", "authentication");
            ev.fields.insert(
                "event.outcome",
                if matches!(code.as_str(), "4625" | "4771") {
                    "failure"
                } else {
                    "success"
                },
            );
            Category::Authentication
        }
        "4688" if security => Category::Process,
        "1" | "5" if sysmon => Category::Process,
        "3" | "22" if sysmon => Category::Network,
        "11" | "23" | "26" if sysmon => Category::File,
        "12" | "13" | "14" if sysmon => Category::Registry,
        _ => Category::Host,
    };
    if ev.category == Category::Process
        && let Some(cmd) = data("CommandLine")
    {
        ev.fields.insert("process.command_line", cmd);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Format;
    use crate::testutil::*;
    use tocsin_model::Category;

    #[test]
    fn winlogbeat_failed_logon() {
        let ev = parse(
            Format::Windows,
            r#"{"@timestamp":"2026-11-24T03:00:00.000Z","event":{"code":"4625"},"winlog":{"channel":"Security","event_id":4625,"computer_name":"DC01.ngocson.gov.vn","event_data":{"TargetUserName":"administrator","IpAddress":"10.36.40.12","IpPort":"51000","LogonType":"3"}}}"#,
        );
        assert_eq!(
            ev.category,
            Category::Authentication,
            "{:?}",
            ev.parse_error
        );
        assert_eq!(s(&ev, "event.outcome"), "failure");
        assert_eq!(s(&ev, "user.name"), "administrator");
        assert_eq!(s(&ev, "source.ip"), "10.36.40.12");
        assert_eq!(s(&ev, "host.name"), "DC01.ngocson.gov.vn");
        assert_eq!(s(&ev, "winlog.event_data.LogonType"), "3");
        assert_eq!(
            ev.fields.get("event.code").and_then(|v| v.as_i64()),
            Some(4625)
        );
    }

    #[test]
    fn nxlog_sysmon_process() {
        let ev = parse(
            Format::Windows,
            r#"{"EventTime":"2026-11-24 10:00:00","Hostname":"PC-17","EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","SourceName":"Microsoft-Windows-Sysmon","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd /c whoami"}"#,
        );
        assert_eq!(ev.category, Category::Process);
        assert_eq!(s(&ev, "process.command_line"), "cmd /c whoami");
        assert_eq!(s(&ev, "Image"), r"C:\Windows\System32\cmd.exe");
        assert_eq!(ev.timestamp.utc.to_rfc3339(), "2026-11-24T03:00:00+00:00");
        let ev = parse(Format::Windows, r#"{"Channel":"Security"}"#);
        assert!(ev.parse_error.unwrap_or_default().contains("no event id"));
    }
}
