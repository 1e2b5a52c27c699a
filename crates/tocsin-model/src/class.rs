//! The classes of attack the center counts: what every alert is labelled
//! with, so the yearly report (1,024 admin takeovers, 793 malware, 342 web
//! attacks, 15 denials of service) is a count, not a reading of titles.

use crate::named_enum;

named_enum!(
    /// What kind of attack an alert is evidence of.
    AttackClass {
        /// Taking over administrator rights: brute force, spraying, a
        /// success after failures, new administrators, exploitation of a
        /// server, credential theft.
        PrivilegeTakeover => "privilege_takeover",
        /// Malware on a device: suspicious processes, antivirus and EDR
        /// detections, command-and-control beaconing.
        Malware => "malware",
        /// Attacks on web applications: SQL injection, XSS, traversal,
        /// command injection, web shells.
        WebAttack => "web_attack",
        /// Denial of service: floods and request-rate anomalies.
        Dos => "dos",
        /// A device talking to a botnet's controllers (threat
        /// intelligence).
        Botnet => "botnet",
        /// Scanning and reconnaissance.
        Recon => "recon",
        /// Anything else.
        Other => "other",
    }
);

// `named_enum!` writes the derives; `Default` is spelled out here.
#[allow(clippy::derivable_impls)]
impl Default for AttackClass {
    fn default() -> Self {
        AttackClass::Other
    }
}

impl AttackClass {
    /// The class a detection's tags say: an explicit `tocsin.class.<name>`
    /// tag wins; else the first ATT&CK technique Tocsin knows, else the
    /// first tactic; else [`AttackClass::Other`].
    pub fn from_tags<S: AsRef<str>>(tags: &[S]) -> AttackClass {
        let tags = || tags.iter().map(|t| t.as_ref().trim().to_ascii_lowercase());
        if let Some(c) = tags().find_map(|t| t.strip_prefix("tocsin.class.")?.parse().ok()) {
            return c;
        }
        if let Some(c) = tags().find_map(|t| by_technique(t.strip_prefix("attack.t")?)) {
            return c;
        }
        tags()
            .find_map(|t| by_tactic(t.strip_prefix("attack.")?))
            .unwrap_or_default()
    }
}

/// The first ATT&CK technique in `tags` (`attack.t1110.001` →
/// `T1110.001`).
pub fn technique<S: AsRef<str>>(tags: &[S]) -> Option<String> {
    tags.iter().find_map(|t| {
        let t = t.as_ref().trim();
        // `get`, not indexing: a tag is whatever a rule file says.
        let id = t.get(7..).filter(|_| {
            t.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("attack."))
        })?;
        let digits = id.strip_prefix(['t', 'T'])?;
        (digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .then(|| format!("T{digits}"))
    })
}

/// Techniques by number (without the `t`, sub-technique ignored).
fn by_technique(t: &str) -> Option<AttackClass> {
    use AttackClass::*;
    let base = t.split('.').next()?;
    Some(match base {
        // Brute force, valid accounts, account manipulation and creation,
        // privilege escalation, credential dumping and theft, remote
        // services used with stolen credentials.
        "1110" | "1078" | "1098" | "1136" | "1068" | "1003" | "1548" | "1134" | "1558" | "1552"
        | "1555" | "1556" | "1021" | "1212" => PrivilegeTakeover,
        // Exploiting a public application; server software components
        // (web shells).
        "1190" | "1505" => WebAttack,
        // Network and endpoint denial of service.
        "1498" | "1499" => Dos,
        // Scanning, gathering, discovery of services.
        "1595" | "1592" | "1590" | "1046" | "1589" => Recon,
        // Execution, persistence, evasion, command and control, impact.
        "1059" | "1204" | "1105" | "1071" | "1027" | "1486" | "1490" | "1047" | "1053" | "1543"
        | "1547" | "1562" | "1070" | "1218" | "1055" | "1112" | "1036" | "1573" | "1571"
        | "1568" | "1219" | "1566" | "1140" | "1569" => Malware,
        _ => return None,
    })
}

/// Tactics (`attack.credential_access`).
fn by_tactic(t: &str) -> Option<AttackClass> {
    use AttackClass::*;
    Some(match t {
        "credential_access"
        | "credential-access"
        | "privilege_escalation"
        | "privilege-escalation"
        | "lateral_movement"
        | "lateral-movement" => PrivilegeTakeover,
        "execution"
        | "persistence"
        | "defense_evasion"
        | "defense-evasion"
        | "command_and_control"
        | "command-and-control"
        | "impact"
        | "exfiltration" => Malware,
        "reconnaissance" | "discovery" => Recon,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_class_wins_then_technique_then_tactic() {
        let c = AttackClass::from_tags(&["attack.t1110", "tocsin.class.web_attack"]);
        assert_eq!(c, AttackClass::WebAttack);
        let c = AttackClass::from_tags(&["attack.credential_access", "attack.t1190"]);
        assert_eq!(c, AttackClass::WebAttack);
        let c = AttackClass::from_tags(&["attack.T1110.001"]);
        assert_eq!(c, AttackClass::PrivilegeTakeover);
        let c = AttackClass::from_tags(&["attack.execution", "attack.t9999"]);
        assert_eq!(c, AttackClass::Malware);
        assert_eq!(AttackClass::from_tags::<&str>(&[]), AttackClass::Other);
        assert_eq!(
            AttackClass::from_tags(&["tocsin.class.nonsense"]),
            AttackClass::Other
        );
    }

    #[test]
    fn technique_is_the_first_attack_id() {
        assert_eq!(
            technique(&["attack.execution", "attack.t1059.001", "attack.t1027"]).as_deref(),
            Some("T1059.001")
        );
        assert_eq!(technique(&["attack.tactic", "attack.t", "cve.2021"]), None);
        assert_eq!(technique(&["attack.tx"]), None);
        assert_eq!(
            technique(&["attack.éx", "attack.ét1059", "attacké.t1"]),
            None
        );
    }
}
