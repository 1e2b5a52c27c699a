//! The message inside a syslog record, handed to the parser of its program
//! or payload: sshd, sudo, su and PAM (`auth`), web servers' access lines,
//! Suricata's EVE JSON, CEF.

use tocsin_model::Event;

use crate::{PResult, Parser};

/// Parses `msg` further when the program (or the payload) is known.
pub fn dispatch(p: &Parser, msg: &str, ev: &mut Event) -> PResult<()> {
    let program = ev.fields.get_str("process.name").unwrap_or("").to_string();
    if let Some(i) = msg.find("CEF:") {
        return crate::cef::parse_payload(p, &msg[i..], ev);
    }
    if msg.starts_with('{') && program.starts_with("suricata") {
        let o = crate::json::object(msg)?;
        return crate::eve::parse(p, &o, ev);
    }
    if matches!(program.as_str(), "nginx" | "apache" | "apache2" | "httpd")
        && crate::access::looks_like(msg)
    {
        return crate::access::parse(p, msg, ev);
    }
    if let Some(rest) = msg.strip_prefix("pam_") {
        crate::auth::pam(rest, ev);
        return Ok(());
    }
    match program.as_str() {
        "sshd" => crate::auth::sshd(msg, ev),
        "sudo" => crate::auth::sudo(msg, ev),
        "su" => crate::auth::su(msg, ev),
        _ => {}
    }
    Ok(())
}
