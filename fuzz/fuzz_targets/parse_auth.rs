//! sshd, PAM and sudo messages behind a valid syslog header, so the
//! fuzzer spends its time in the message parsers.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, msg)) = data.split_first() else {
        return;
    };
    let program = [
        "sshd[812]",
        "sudo",
        "sshd[812]: pam_unix(sshd:auth)",
        "su[9]",
        "login",
    ][usize::from(which) % 5];
    let mut rec = format!("<38>Nov 30 10:00:00 may-chu-01 {program}: ").into_bytes();
    rec.extend_from_slice(msg);
    tocsin_fuzz::parse(tocsin_parse::Format::Syslog, &rec);
});
