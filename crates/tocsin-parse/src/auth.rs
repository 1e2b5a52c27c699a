//! Authentication messages inside syslog records: sshd, sudo, su and PAM
//! are read into authentication fields.

use tocsin_model::{Category, Event};

use crate::text::{set_ip, set_num};

fn auth(ev: &mut Event, dataset: &str, action: &str, outcome: &str) {
    ev.category = Category::Authentication;
    ev.fields.insert("event.dataset", dataset);
    ev.fields.insert("event.category", "authentication");
    ev.fields.insert("event.action", action);
    ev.fields.insert("event.outcome", outcome);
}

/// Reads `… from IP port N` into source fields.
fn from_port(ev: &mut Event, s: &str) {
    if let Some((_, tail)) = s.rsplit_once(" from ") {
        let mut w = tail.split_whitespace();
        if let Some(ip) = w.next() {
            set_ip(ev, "source.ip", ip);
        }
        if w.next() == Some("port")
            && let Some(port) = w.next()
        {
            set_num(ev, "source.port", port);
        }
    }
}

pub(crate) fn sshd(msg: &str, ev: &mut Event) {
    for (prefix, outcome) in [("Failed ", "failure"), ("Accepted ", "success")] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            // `password for [invalid user ]NAME from IP port N ssh2`
            let Some((method, rest)) = rest.split_once(" for ") else {
                return;
            };
            auth(ev, "sshd", "ssh_login", outcome);
            ev.fields.insert("ssh.method", method);
            let rest = match rest.strip_prefix("invalid user ") {
                Some(r) => {
                    ev.fields.insert("user.exists", false);
                    r
                }
                None => rest,
            };
            if let Some((user, _)) = rest.rsplit_once(" from ") {
                ev.fields.insert("user.name", user);
            }
            from_port(ev, rest);
            return;
        }
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        auth(ev, "sshd", "ssh_login", "failure");
        ev.fields.insert("user.exists", false);
        if let Some((user, _)) = rest.rsplit_once(" from ") {
            ev.fields.insert("user.name", user);
        }
        from_port(ev, rest);
    } else if msg.starts_with("Connection closed by ") || msg.starts_with("Disconnected from ") {
        ev.fields.insert("event.dataset", "sshd");
        ev.fields.insert("event.action", "ssh_disconnect");
        let rest = msg
            .trim_start_matches("Connection closed by ")
            .trim_start_matches("Disconnected from ")
            .trim_start_matches("authenticating user ")
            .trim_start_matches("invalid user ")
            .trim_start_matches("user ");
        // `[user ]IP port N [preauth]`
        let words: Vec<&str> = rest.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "port") {
            if i >= 1 {
                set_ip(ev, "source.ip", words[i - 1]);
                if i >= 2 {
                    ev.fields.insert("user.name", words[i - 2]);
                }
            }
            if let Some(port) = words.get(i + 1) {
                set_num(ev, "source.port", port);
            }
        }
    }
}

/// `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls`
/// and `alice : 3 incorrect password attempts ; TTY=…`.
pub(crate) fn sudo(msg: &str, ev: &mut Event) {
    let Some((user, rest)) = msg.split_once(" : ") else {
        return;
    };
    let user = user.trim();
    let failed = rest.contains("incorrect password") || rest.contains("NOT in sudoers");
    auth(
        ev,
        "sudo",
        "sudo",
        if failed { "failure" } else { "success" },
    );
    ev.fields.insert("user.name", user);
    for part in rest.split(" ; ") {
        let part = part.trim();
        if let Some((k, v)) = part.split_once('=') {
            match k {
                "USER" => ev.fields.insert("user.effective.name", v),
                "COMMAND" => ev.fields.insert("process.command_line", v),
                "PWD" => ev.fields.insert("process.working_directory", v),
                "TTY" => ev.fields.insert("process.tty", v),
                _ => {}
            }
        } else if failed {
            ev.fields.insert("error.message", part);
        }
    }
}

/// `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`,
/// `'su root' failed for lonvick on /dev/pts/8`.
pub(crate) fn su(msg: &str, ev: &mut Event) {
    let (outcome, rest) = match msg.strip_prefix("FAILED SU ") {
        Some(r) => ("failure", r),
        None => ("success", msg),
    };
    if let Some(rest) = rest.strip_prefix("(to ") {
        let Some((target, rest)) = rest.split_once(") ") else {
            return;
        };
        auth(ev, "su", "su", outcome);
        ev.fields.insert("user.effective.name", target);
        if let Some(user) = rest.split_whitespace().next() {
            ev.fields.insert("user.name", user);
        }
    } else if let Some((cmd, rest)) = msg.split_once(" failed for ") {
        auth(ev, "su", "su", "failure");
        if let Some(target) = cmd.trim_matches('\'').strip_prefix("su ") {
            ev.fields.insert("user.effective.name", target);
        }
        if let Some(user) = rest.split_whitespace().next() {
            ev.fields.insert("user.name", user);
        }
    }
}

/// `unix(sshd:auth): authentication failure; logname= uid=0 … rhost=1.2.3.4  user=root`
pub(crate) fn pam(rest: &str, ev: &mut Event) {
    let Some((module, rest)) = rest.split_once('(') else {
        return;
    };
    let Some((svc, rest)) = rest.split_once("): ") else {
        return;
    };
    ev.fields.insert("pam.module", format!("pam_{module}"));
    ev.fields.insert("pam.service", svc);
    let service = svc.split(':').next().unwrap_or(svc);
    if rest.starts_with("authentication failure") {
        auth(ev, service, "pam_authentication", "failure");
        for kv in rest.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                match k {
                    "rhost" => set_ip(ev, "source.ip", v),
                    "user" if !v.is_empty() => ev.fields.insert("user.name", v),
                    "ruser" if !v.is_empty() => ev.fields.insert("source.user.name", v),
                    _ => {}
                }
            }
        }
    } else if let Some(r) = rest.strip_prefix("session opened for user ") {
        ev.fields.insert("event.dataset", service);
        ev.fields.insert("event.action", "session_opened");
        if let Some(u) = r.split_whitespace().next() {
            ev.fields
                .insert("user.name", u.split('(').next().unwrap_or(u));
        }
    } else if let Some(r) = rest.strip_prefix("session closed for user ") {
        ev.fields.insert("event.dataset", service);
        ev.fields.insert("event.action", "session_closed");
        ev.fields.insert("user.name", r.trim());
    }
}

#[cfg(test)]
mod tests {
    use crate::Format;
    use crate::testutil::*;
    use tocsin_model::Category;

    #[test]
    fn sshd_messages() {
        let ev = parse(
            Format::Syslog,
            "Nov 24 10:00:00 srv01 sshd[811]: Failed password for invalid user admin from 203.0.113.9 port 52144 ssh2",
        );
        assert_eq!(ev.category, Category::Authentication);
        assert_eq!(s(&ev, "event.outcome"), "failure");
        assert_eq!(s(&ev, "user.name"), "admin");
        assert_eq!(s(&ev, "source.ip"), "203.0.113.9");
        assert_eq!(
            ev.fields.get("source.port").and_then(|v| v.as_i64()),
            Some(52144)
        );
        assert_eq!(s(&ev, "ssh.method"), "password");

        let ev = parse(
            Format::Syslog,
            "<38>Nov 24 10:00:00 srv01 sshd[811]: Accepted publickey for deploy from 10.36.1.5 port 40000 ssh2: RSA SHA256:abc",
        );
        assert_eq!(s(&ev, "event.outcome"), "success");
        assert_eq!(s(&ev, "user.name"), "deploy");
        assert_eq!(s(&ev, "source.ip"), "10.36.1.5");

        let ev = parse(
            Format::Syslog,
            "Nov 24 10:00:00 srv01 sshd[1]: Invalid user oracle from 198.51.100.7 port 1234",
        );
        assert_eq!(s(&ev, "user.name"), "oracle");
        assert_eq!(s(&ev, "source.ip"), "198.51.100.7");

        let ev = parse(
            Format::Syslog,
            "Nov 24 10:00:00 srv01 sshd[1]: Connection closed by authenticating user root 198.51.100.7 port 22 [preauth]",
        );
        assert_eq!(s(&ev, "user.name"), "root");
        assert_eq!(s(&ev, "source.ip"), "198.51.100.7");
    }

    #[test]
    fn sudo_su_and_pam() {
        let ev = parse(
            Format::Syslog,
            "Nov 24 10:00:00 srv01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat /etc/shadow",
        );
        assert_eq!(s(&ev, "user.name"), "alice");
        assert_eq!(s(&ev, "user.effective.name"), "root");
        assert_eq!(s(&ev, "process.command_line"), "/bin/cat /etc/shadow");
        assert_eq!(s(&ev, "event.outcome"), "success");

        let ev = parse(
            Format::Syslog,
            "Nov 24 10:00:00 srv01 sudo: bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
        );
        assert_eq!(s(&ev, "event.outcome"), "failure");

        let ev = parse(
            Format::Syslog,
            "Nov 24 10:00:00 srv01 su[5]: FAILED SU (to root) carol on pts/2",
        );
        assert_eq!(s(&ev, "event.outcome"), "failure");
        assert_eq!(s(&ev, "user.name"), "carol");
        assert_eq!(s(&ev, "user.effective.name"), "root");

        let ev = parse(
            Format::Syslog,
            "Nov 24 10:00:00 srv01 sshd[9]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
        );
        assert_eq!(s(&ev, "pam.module"), "pam_unix");
        assert_eq!(s(&ev, "event.dataset"), "sshd");
        assert_eq!(s(&ev, "source.ip"), "203.0.113.9");
        assert_eq!(s(&ev, "user.name"), "root");

        let ev = parse(
            Format::Syslog,
            "Nov 24 10:00:00 srv01 sudo: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
        );
        assert_eq!(s(&ev, "event.action"), "session_opened");
        assert_eq!(s(&ev, "user.name"), "root");
    }

    #[test]
    fn payloads_carried_over_syslog() {
        let ev = parse(
            Format::Syslog,
            r#"<190>Nov 24 10:00:00 web01 nginx: 203.0.113.9 - - [24/Nov/2026:10:00:00 +0700] "GET /?id=1%27%20or%201=1 HTTP/1.1" 200 12 "-" "sqlmap""#,
        );
        assert_eq!(s(&ev, "event.module"), "web");
        assert_eq!(s(&ev, "url.decoded"), "/?id=1' or 1=1");
        let ev = parse(
            Format::Syslog,
            "<134>Nov 24 10:00:00 fw01 CEF:0|Fortinet|FortiGate|7.0|0001|traffic deny|5|src=10.36.1.1 dst=8.8.8.8 act=deny",
        );
        assert_eq!(s(&ev, "event.module"), "cef");
        assert_eq!(s(&ev, "host.name"), "fw01");
        assert_eq!(s(&ev, "event.action"), "deny");
    }
}
