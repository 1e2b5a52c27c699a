//! Inventory files: every bad input named by file, line and field; round trips.

#![allow(clippy::unwrap_used)] // tests fail loudly on bad fixtures

use tocsin_inventory::{Diagnostic, Draft, parse_csv, parse_toml, to_csv, to_toml};
use tocsin_sim as synth;

const GOOD: &str = r#"
[[agency]]
code = "H-DONGSON"
name = "Huyện Đông Sơn (cũ)"
kind = "district"
ranges = ["10.40.0.0/18"]

[[agency]]
code = "XA-DONGTIEN"
name = "Xã Đông Tiến"
kind = "commune"
parent = "H-DONGSON"
ranges = ["10.40.3.0/24"]

[[agency.contacts]]
name = "Lê Thị Mai"
role = "Cán bộ CNTT"
emails = ["mai.lt@dongtien.example.gov.vn"]
phones = ["0912 345 678"]

[[agency]]
code = "STC"
name = "Sở Tài chính"
name_en = "Department of Finance"
kind = "department"
ranges = ["10.36.5.0/24", "2001:db8:36:5::/64"]

[[asset]]
code = "WEB-STC"
name = "Cổng thông tin Sở Tài chính"
kind = "website"
owner = "STC"
level = 2
addresses = ["203.0.113.21"]
hostnames = ["stc.example.gov.vn"]
urls = ["https://stc.example.gov.vn/"]
"#;

fn errors(text: &str) -> Vec<Diagnostic> {
    match parse_toml(text, "inv.toml") {
        Err(d) => d.0,
        Ok(draft) => match draft.validate() {
            Err(d) => d.0,
            Ok(_) => Vec::new(),
        },
    }
}

/// Asserts exactly one diagnostic at `line` and `field` whose message has `needle`.
fn assert_one(text: &str, line: usize, field: Option<&str>, needle: &str) {
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "expected one error, got: {errs:#?}");
    let e = &errs[0];
    assert_eq!(e.file, "inv.toml");
    assert_eq!(e.line, line, "{e}");
    assert_eq!(e.field.as_deref(), field, "{e}");
    assert!(e.message.contains(needle), "`{needle}` not in: {e}");
}

#[test]
fn good_file_loads() {
    let inv = parse_toml(GOOD, "inv.toml").unwrap().validate().unwrap();
    assert_eq!(inv.agencies.len(), 3);
    assert_eq!(
        inv.agencies[1].contacts[0].emails,
        ["mai.lt@dongtien.example.gov.vn"]
    );
    assert_eq!(inv.assets[0].level.get(), 2);
}

#[test]
fn overlapping_ranges_of_unrelated_agencies() {
    let bad = GOOD.replace("\"10.36.5.0/24\"", "\"10.40.3.128/25\"");
    let errs = errors(&bad);
    // It lies inside both the district's /18 and the commune's /24.
    assert_eq!(errs.len(), 2, "{errs:#?}");
    for e in &errs {
        assert_eq!((e.line, e.field.as_deref()), (26, Some("ranges")), "{e}");
    }
    assert!(
        errs[0]
            .message
            .contains("overlaps range 10.40.0.0/18 of agency `H-DONGSON` (inv.toml:6)"),
        "{}",
        errs[0]
    );
    assert!(
        errs[1]
            .message
            .contains("overlaps range 10.40.3.0/24 of agency `XA-DONGTIEN` (inv.toml:13)"),
        "{}",
        errs[1]
    );
}

#[test]
fn nested_range_under_parent_is_allowed() {
    // XA-DONGTIEN's /24 sits inside its parent district's /18: fine.
    assert!(errors(GOOD).is_empty());
    // The same range twice in unrelated agencies is not.
    let bad = GOOD.replace("\"10.36.5.0/24\"", "\"10.40.3.0/24\"");
    let errs = errors(&bad);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs.iter()
            .all(|e| e.line == 26 && e.message.contains("of agency `STC` overlaps"))
    );
}

#[test]
fn unknown_parent() {
    let bad = GOOD.replace("parent = \"H-DONGSON\"", "parent = \"H-DONGSONN\"");
    let errs = errors(&bad);
    assert!(
        errs.iter().any(|e| e.line == 12
            && e.field.as_deref() == Some("parent")
            && e.message.contains("unknown parent agency `H-DONGSONN`")),
        "{errs:#?}"
    );
    // Without its parent, the commune's range is no longer allowed inside the district's.
    assert_eq!(errs.len(), 2, "{errs:#?}");
}

#[test]
fn bad_cidr() {
    let bad = GOOD.replace("\"10.40.3.0/24\"", "\"10.40.3.7/24\"");
    assert_one(
        &bad,
        13,
        Some("ranges"),
        "host bits are set; the network address is 10.40.3.0/24",
    );
    let bad = GOOD.replace("\"10.40.3.0/24\"", "\"10.40.300.0/24\"");
    assert_one(&bad, 13, Some("ranges"), "is not an IP address");
}

#[test]
fn duplicate_code() {
    let bad = GOOD.replace("code = \"STC\"", "code = \"XA-DONGTIEN\"");
    let errs = errors(&bad);
    let dup: Vec<_> = errs
        .iter()
        .filter(|e| e.message.contains("duplicate agency code"))
        .collect();
    assert_eq!(dup.len(), 1, "{errs:#?}");
    assert_eq!(dup[0].line, 22);
    assert!(
        dup[0].message.contains("first defined at inv.toml:9"),
        "{}",
        dup[0]
    );
}

#[test]
fn bad_url() {
    let bad = GOOD.replace("https://stc.example.gov.vn/", "stc.example.gov.vn");
    assert_one(&bad, 36, Some("urls"), "is not a URL");
    let bad = GOOD.replace("https://stc.example.gov.vn/", "ftp://stc.example.gov.vn/");
    assert_one(&bad, 36, Some("urls"), "scheme must be http or https");
}

#[test]
fn other_field_errors() {
    let bad = GOOD.replace("level = 2", "level = 7");
    assert_one(&bad, 33, Some("level"), "not a security level 1–5");
    let bad = GOOD.replace("owner = \"STC\"", "owner = \"SXD\"");
    assert_one(&bad, 32, Some("owner"), "unknown owner agency `SXD`");
    let bad = GOOD.replace("kind = \"department\"", "kind = \"ministry\"");
    assert_one(&bad, 25, Some("kind"), "not one of");
    let bad = GOOD.replace("mai.lt@dongtien.example.gov.vn", "mai.lt.example.gov.vn");
    assert_one(&bad, 18, Some("contacts.emails"), "not an e-mail address");
}

#[test]
fn syntax_and_shape_errors_name_the_line() {
    let bad = GOOD.replace("kind = \"commune\"", "kind = commune");
    let errs = errors(&bad);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 11, "{}", errs[0]);
    let bad = GOOD.replace("name_en = ", "english_name = ");
    let errs = errors(&bad);
    assert!(errs[0].message.contains("english_name"), "{}", errs[0]);
    assert_eq!(errs[0].line, 24, "{}", errs[0]);
}

#[test]
fn parent_cycle() {
    let bad = GOOD.replace(
        "kind = \"district\"",
        "kind = \"district\"\nparent = \"XA-DONGTIEN\"",
    );
    let errs = errors(&bad);
    assert!(
        errs.iter().any(|e| e.message.contains("loops back")),
        "{errs:#?}"
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let bad = GOOD
        .replace("parent = \"H-DONGSON\"", "parent = \"NOPE\"")
        .replace("level = 2", "level = 0")
        .replace("https://stc.example.gov.vn/", "nope");
    // The unknown parent also makes the commune's range overlap its former
    // parent's, so four problems are found in one pass.
    assert_eq!(errors(&bad).len(), 4, "{:#?}", errors(&bad));
}

#[test]
fn toml_round_trip() {
    let inv = parse_toml(GOOD, "inv.toml").unwrap().validate().unwrap();
    let text = to_toml(&inv);
    let back = parse_toml(&text, "export.toml")
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(back, inv);
}

#[test]
fn synthetic_province_round_trips_through_toml_and_csv() {
    let inv = synth::province();
    let back = parse_toml(&to_toml(&inv), "p.toml")
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(back, inv);
    let (ag, ct, asv) = to_csv(&inv).unwrap();
    let mut draft = Draft::default();
    parse_csv(&ag, "agencies.csv", &mut draft).unwrap();
    parse_csv(&ct, "contacts.csv", &mut draft).unwrap();
    parse_csv(&asv, "assets.csv", &mut draft).unwrap();
    assert_eq!(draft.validate().unwrap(), inv);
}

#[test]
fn csv_errors_name_line_and_column() {
    let csv = "code,name,kind,ranges\nSTC,Sở Tài chính,department,10.36.5.0/24\nSXD,Sở Xây dựng,department,10.36.5.0/25;10.36.6.0/33\n";
    let mut draft = Draft::default();
    parse_csv(csv, "agencies.csv", &mut draft).unwrap();
    let errs = draft.validate().unwrap_err().0;
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs.iter().all(|e| e.file == "agencies.csv"
            && e.line == 3
            && e.field.as_deref() == Some("ranges"))
    );
    let mut draft = Draft::default();
    let errs = parse_csv("code,name,colour\n", "agencies.csv", &mut draft)
        .unwrap_err()
        .0;
    assert!(errs.iter().any(|e| e.field.as_deref() == Some("colour")));
    assert!(
        errs.iter()
            .any(|e| e.field.as_deref() == Some("kind") && e.message.contains("missing"))
    );
}

#[test]
fn merge_replaces_by_code() {
    let inv = parse_toml(GOOD, "inv.toml").unwrap().validate().unwrap();
    let mut base = Draft::from_inventory(&inv, "database");
    let newer = parse_toml(
        "[[agency]]\ncode = \"STC\"\nname = \"Sở Tài chính (mới)\"\nkind = \"department\"\n",
        "upd.toml",
    )
    .unwrap();
    base.merge(newer);
    let merged = base.validate().unwrap();
    assert_eq!(merged.agencies.len(), 3);
    assert_eq!(merged.agency("STC").unwrap().name, "Sở Tài chính (mới)");
}
