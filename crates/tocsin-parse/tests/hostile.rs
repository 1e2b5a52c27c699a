//! Hostile and foreign records: whatever bytes arrive, in whatever format
//! an input declares, parsing returns an event — never a panic — and keeps
//! the record. Vietnamese text, invalid UTF-8, NUL, CRLF, empty and very
//! long records, and structured prefixes that lead each parser deep into
//! its code (syslog headers, CEF, JSON, access-log lines).

use proptest::prelude::*;
use tocsin_model::EventKind;
use tocsin_parse::{Format, Parser, ParserConfig, Received};

fn parser() -> Parser {
    ParserConfig::default().build()
}

fn rx() -> Received<'static> {
    Received {
        input: "test",
        at: chrono::Utc::now(),
        peer: Some("10.36.5.7".parse().expect("address")),
    }
}

/// Parses `raw` in every format; the original is kept (lossily) whatever
/// happens.
fn parse_all(raw: &[u8]) {
    let p = parser();
    for f in Format::ALL {
        let ev = p.parse(f, raw, &rx());
        if ev.kind == EventKind::PipelineError {
            assert!(ev.parse_error.is_some(), "{f:?}: failure without a reason");
        }
        let lossy = String::from_utf8_lossy(raw);
        let kept = lossy.trim_end_matches(['\r', '\n', '\0']);
        assert_eq!(ev.original, kept, "{f:?}: the record is kept");
    }
}

/// The records of the issue that stopped detection, and their neighbours.
#[test]
fn issue_10_vietnamese_after_the_priority_does_not_panic() {
    for raw in [
        "<38>Đăng nhập thất bại cho người dùng quản trị",
        "Nov 30 11:00:0ă host sshd[1]: x",
        "<38>Nov 30 11:00:0ă host sshd[1]: x",
        "Ngày 30 tháng 11 máy chủ báo lỗi",
        "<13>1 2026-11-30T11:00:00+07:00 máy-chủ ứng-dụng 1 - - Tin nhắn",
        "<13>1 - - - - - [ví_dụ@1 khóa=\"giá trị\"] nội dung",
        "CEF:0|Hãng|Sản phẩm|1|1|Tên|5|src=10.0.0.1 msg=Xin chào",
        "<134>Nov 30 11:00:00 tường-lửa CEF:0|Hãng|Sản phẩm|1|1|Tên|5|msg=Đã chặn",
        "10.0.0.1 - - [30/Nov/2026:11:00:00 +0700] \"GET /tìm-kiếm?q=đường HTTP/1.1\" 200 5 \"-\" \"Trình duyệt\"",
        "{\"message\":\"Đăng nhập thất bại\",\"source\":{\"ip\":\"10.0.0.1\"}}",
    ] {
        parse_all(raw.as_bytes());
    }
}

#[test]
fn edge_records_do_not_panic() {
    let long = "a".repeat(1 << 20);
    let nested = "[".repeat(10_000);
    let deep_obj = "{\"a\":".repeat(10_000);
    for raw in [
        &b""[..],
        b"\0",
        b"\r\n",
        b"<",
        b"<>",
        b"<1",
        b"<999>",
        b"\xff\xfe\xfd",
        b"<38>\xff\xfe Nov 30",
        b"Nov 30 11:00:00",
        b"Nov 30 11:00:00 ",
        b"CEF:",
        b"CEF:0|",
        b"{",
        b"{}",
        b"{\"a\":\0}",
        long.as_bytes(),
        nested.as_bytes(),
        deep_obj.as_bytes(),
    ] {
        parse_all(raw);
    }
}

/// Text drawn from the alphabets logs here are written in.
fn text() -> impl Strategy<Value = String> {
    let pieces = prop::collection::vec(
        prop_oneof![
            Just("ă".to_string()),
            Just("Đ".to_string()),
            Just("ườ".to_string()),
            Just("ệ".to_string()),
            Just(" ".to_string()),
            Just(":".to_string()),
            Just("|".to_string()),
            Just("=".to_string()),
            Just("\\".to_string()),
            Just("\"".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("\0".to_string()),
            Just("\r\n".to_string()),
            "[a-zA-Z0-9./_-]{0,6}",
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..40,
    );
    pieces.prop_map(|v| v.concat())
}

/// A prefix that leads a parser past its first checks.
fn prefix() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("<38>".to_string()),
        Just("<165>1 ".to_string()),
        Just("<38>Nov 30 11:00:0".to_string()),
        Just("Nov 30 11:00:00 web01 sshd[12]: ".to_string()),
        Just("<13>1 2026-11-30T11:00:00Z h a p m [x@1 ".to_string()),
        Just("CEF:0|".to_string()),
        Just("<134>Nov 30 11:00:00 fw CEF:0|a|b|1|2|n|5|".to_string()),
        Just("10.0.0.1 - - [30/Nov/2026:11:00:00 +0700] \"GET ".to_string()),
        Just("{\"event_type\":\"alert\",\"src_ip\":\"".to_string()),
        Just("{\"winlog\":{\"event_id\":".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn any_text_after_any_prefix_parses_without_panic(p in prefix(), t in text()) {
        parse_all(format!("{p}{t}").as_bytes());
    }

    #[test]
    fn any_bytes_parse_without_panic(p in prefix(), b in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut raw = p.into_bytes();
        raw.extend(b);
        parse_all(&raw);
    }
}
