use tocsin_model::{IndicatorKind, Threat};

use super::*;

fn d() -> FeedDefaults {
    FeedDefaults::default()
}

#[test]
fn the_real_feodo_blocklist_reads_whole() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/feeds/feodo-ipblocklist-2024-04-04.csv"
    );
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("SKIPPED: {path} is absent (../shared/corpus beside the clone)");
        return;
    };
    let p = parse(FeedFormat::FeodoCsv, &bytes, &d()).unwrap();
    assert_eq!(p.problems, [], "the quoted header row is not a bad row");
    // The file says how many it holds: "# END 28 entries".
    assert_eq!(p.indicators.len(), 28);
    let first = &p.indicators[0];
    assert_eq!(first.value, "192.9.135.73");
    assert_eq!(first.kind, IndicatorKind::Ip);
    assert_eq!(first.threat, Threat::BotnetCc);
    assert_eq!(first.family.as_deref(), Some("Pikabot"));
    assert_eq!(first.confidence, 90, "online");
    assert_eq!(
        first.first_seen.map(|t| t.to_rfc3339()).as_deref(),
        Some("2023-05-23T17:51:44+00:00")
    );
}

#[test]
fn feodo_rows_that_are_wrong_are_named_and_the_rest_reads() {
    let feed = b"# comment\n\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
\"2024-02-08 19:20:49\",\"85.239.243.155\",\"5000\",\"offline\",\"2024-03-11\",\"Pikabot\"\n\
\"2024-02-08 19:20:49\",\"85.239.243.999\",\"5000\",\"offline\",\"2024-03-11\",\"Pikabot\"\n\
\"2024-02-08\",\"\xff\xfe\",\"1\"\n\
\"2024-02-08 19:20:49\",\"37.60.242.85\",\"9785\",\"online\",\"2024-03-04\",\"None\"\n";
    let p = parse(FeedFormat::FeodoCsv, feed, &d()).unwrap();
    assert_eq!(p.indicators.len(), 2);
    assert_eq!(p.indicators[1].family, None, "None is no family");
    assert_eq!(p.rejected, 2);
    assert_eq!(p.problems[0].line, 5, "invalid UTF-8, by line");
    assert_eq!(p.problems[1].line, 4);
    assert_eq!(p.problems[1].field.as_deref(), Some("dst_ip"));
    assert!(p.problems[1].reason.contains("85.239.243.999"));
}

#[test]
fn feodo_json() {
    let feed = br#"[{"ip_address":"50.16.16.211","port":443,"status":"online","hostname":null,"as_number":14618,"first_seen":"2022-07-26 13:00:22","last_online":"2024-04-04","malware":"QakBot"},
                   {"ip_address":"nope"}, {"port":1}]"#;
    let p = parse(FeedFormat::FeodoJson, feed, &d()).unwrap();
    assert_eq!(p.indicators.len(), 1);
    assert_eq!(p.indicators[0].family.as_deref(), Some("QakBot"));
    assert_eq!(p.rejected, 2);
    assert!(parse(FeedFormat::FeodoJson, b"{\"a\":1}", &d()).is_err());
    assert!(parse(FeedFormat::FeodoJson, b"\x00\x01", &d()).is_err());
}

#[test]
fn urlhaus_with_its_commented_header_and_tag_lists() {
    let feed = b"################################################################\n\
# abuse.ch URLhaus Database Dump (CSV - recent URLs only)        #\n\
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
\"3032451\",\"2024-04-04 06:54:05\",\"http://115.55.237.117:44390/Mozi.m\",\"online\",\"2024-04-04 06:54:05\",\"malware_download\",\"32-bit,elf,mips,Mozi\",\"https://urlhaus.abuse.ch/url/3032451/\",\"lrz_urlhaus\"\n\
\"3032450\",\"2024-04-04 06:53:07\",\"https://Dl.Example.COM:443/pay load.exe#x\",\"offline\",\"\",\"malware_download\",\"exe,AgentTesla\",\"https://urlhaus.abuse.ch/url/3032450/\",\"x\"\n\
\"3032449\",\"2024-04-04 06:53:07\",\"not a url\",\"online\",\"\",\"malware_download\",\"\",\"\",\"\"\n";
    let p = parse(FeedFormat::UrlhausCsv, feed, &d()).unwrap();
    let vals: Vec<_> = p
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect();
    assert_eq!(
        vals,
        [
            (IndicatorKind::IpPort, "115.55.237.117:44390"),
            (IndicatorKind::Url, "http://115.55.237.117:44390/Mozi.m"),
            (IndicatorKind::Url, "https://dl.example.com/pay load.exe"),
        ]
    );
    assert_eq!(
        p.indicators[0].family.as_deref(),
        Some("Mozi"),
        "not an architecture tag"
    );
    assert_eq!(p.indicators[2].family.as_deref(), Some("AgentTesla"));
    assert_eq!(p.problems.len(), 1);
    assert_eq!(p.problems[0].line, 6);
}

#[test]
fn threatfox_separators_nulls_and_both_widths() {
    let feed = b"# \"first_seen_utc\", \"ioc_id\", \"ioc_value\", \"ioc_type\", \"threat_type\", \"fk_malware\", \"malware_alias\", \"malware_printable\", \"last_seen_utc\", \"confidence_level\", \"is_compromised\", \"reference\", \"tags\", \"anonymous\", \"reporter\"\n\
\"2024-04-04 06:40:12\", \"1260001\", \"45.155.205.233:4782\", \"ip:port\", \"botnet_cc\", \"win.quasar_rat\", \"None\", \"Quasar RAT\", \"None\", \"100\", \"0\", \"None\", \"QuasarRAT\", \"0\", \"abuse_ch\"\n\
\"2024-04-04 06:40:12\", \"1260002\", \"evil-c2.example\", \"domain\", \"botnet_cc\", \"win.cobalt_strike\", \"None\", \"Cobalt Strike\", \"None\", \"75\", \"0\", \"None\", \"None\", \"0\", \"x\"\n\
\"2024-04-04 06:40:12\", \"1260003\", \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\", \"sha256_hash\", \"payload\", \"None\", \"None\", \"None\", \"None\", \"50\", \"0\", \"None\", \"None\", \"0\", \"x\"\n\
\"2024-04-04 06:40:12\", \"1260004\", \"x\", \"email\", \"payload\", \"None\", \"None\", \"None\", \"None\", \"50\", \"0\", \"None\", \"None\", \"0\", \"x\"\n";
    let p = parse(FeedFormat::ThreatfoxCsv, feed, &d()).unwrap();
    assert_eq!(p.indicators.len(), 3);
    assert_eq!(p.indicators[0].value, "45.155.205.233:4782");
    assert_eq!(p.indicators[0].family.as_deref(), Some("Quasar RAT"));
    assert_eq!(p.indicators[0].confidence, 100);
    assert_eq!(p.indicators[2].threat, Threat::Payload);
    assert_eq!(p.indicators[2].family, None);
    assert_eq!(p.problems[0].line, 5);
    // The older 14-column export, no header: read by the known columns.
    let old = b"\"2021-03-01 10:00:00\", \"1\", \"old-c2.example\", \"domain\", \"botnet_cc\", \"win.emotet\", \"None\", \"Emotet\", \"None\", \"75\", \"None\", \"None\", \"0\", \"x\"\n";
    let p = parse(FeedFormat::ThreatfoxCsv, old, &d()).unwrap();
    assert_eq!(p.indicators[0].family.as_deref(), Some("Emotet"));
}

#[test]
fn plain_lists_mixed_and_commented() {
    let feed = "# Danh sách chặn của Trung tâm — đã rà soát\n\
192.0.2.1\n198.51.100.0/24 ; SBL123\n\nevil.example # tên miền độc hại\n\
http://dl.example/x\nd41d8cd98f00b204e9800998ecf8427e\nkhông-phải-gì\u{0}\n10.0.0.1/8\n";
    let p = parse(FeedFormat::Plain, feed.as_bytes(), &d()).unwrap();
    assert_eq!(p.indicators.len(), 5);
    assert_eq!(p.rejected, 2);
    assert_eq!(
        p.problems[0].line, 8,
        "NUL in a value is refused: {:?}",
        p.problems
    );
    assert_eq!(p.problems[1].line, 9, "host bits set");
}

#[test]
fn misp_attributes_with_to_ids_and_galaxy_family() {
    let ev = r#"{"Event":{"info":"Chiến dịch Emotet nhắm cơ quan nhà nước","Tag":[{"name":"misp-galaxy:malpedia=\"Emotet\""},{"name":"kill-chain:command-and-control"}],
      "Attribute":[
        {"type":"ip-dst","value":"192.0.2.50","to_ids":true,"category":"Network activity","timestamp":"1712214183"},
        {"type":"ip-dst|port","value":"192.0.2.51|8080","to_ids":true},
        {"type":"domain","value":"emotet-c2.example","to_ids":"1"},
        {"type":"comment","value":"ghi chú","to_ids":false},
        {"type":"ip-dst","value":"192.0.2.52","to_ids":false},
        {"type":"url","value":"http://emotet.example/a.doc","to_ids":true,"category":"Payload delivery"}
      ],
      "Object":[{"Attribute":[{"type":"filename|sha256","value":"a.doc|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","to_ids":true},
                              {"type":"ip-dst","value":"999.1.1.1","to_ids":true}]}]}}"#;
    let p = parse(FeedFormat::Misp, ev.as_bytes(), &d()).unwrap();
    let got: Vec<_> = p
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.as_str(), i.threat))
        .collect();
    assert_eq!(
        got,
        [
            (IndicatorKind::Ip, "192.0.2.50", Threat::BotnetCc),
            (IndicatorKind::IpPort, "192.0.2.51:8080", Threat::BotnetCc),
            (IndicatorKind::Domain, "emotet-c2.example", Threat::BotnetCc),
            (
                IndicatorKind::Url,
                "http://emotet.example/a.doc",
                Threat::MalwareDownload
            ),
            (
                IndicatorKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                Threat::Payload
            ),
        ]
    );
    assert!(
        p.indicators
            .iter()
            .all(|i| i.family.as_deref() == Some("Emotet"))
    );
    assert_eq!(p.rejected, 1);
    assert!(parse(FeedFormat::Misp, b"[]", &d()).is_err());
}

#[test]
fn stix_bundles_with_relationships() {
    let b = br#"{"type":"bundle","id":"bundle--1","objects":[
      {"type":"indicator","id":"indicator--1","pattern_type":"stix","pattern":"[ipv4-addr:value = '203.0.113.10'] OR [domain-name:value = 'C2.Example']","indicator_types":["malicious-activity"],"valid_from":"2024-04-01T00:00:00Z","valid_until":"2030-01-01T00:00:00Z","confidence":80},
      {"type":"indicator","id":"indicator--2","pattern_type":"stix","pattern":"[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']","valid_from":"2024-04-01T00:00:00Z"},
      {"type":"indicator","id":"indicator--3","pattern_type":"stix","pattern":"[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']","valid_from":"2024-04-01T00:00:00Z"},
      {"type":"indicator","id":"indicator--4","pattern_type":"sigma","pattern":"title: x","valid_from":"2024-04-01T00:00:00Z"},
      {"type":"malware","id":"malware--1","name":"PlugX","is_family":true},
      {"type":"relationship","id":"relationship--1","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"malware--1"}
    ]}"#;
    let p = parse(FeedFormat::Stix, b, &d()).unwrap();
    let got: Vec<_> = p
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (IndicatorKind::Ip, "203.0.113.10"),
            (IndicatorKind::Domain, "c2.example"),
            (
                IndicatorKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
        ]
    );
    assert_eq!(p.indicators[0].family.as_deref(), Some("PlugX"));
    assert_eq!(p.indicators[0].confidence, 80);
    assert!(p.indicators[0].expires.is_some());
    assert_eq!(p.rejected, 2);
    assert_eq!(p.problems[0].line, 3);
    assert_eq!(p.problems[1].field.as_deref(), Some("pattern_type"));
}

#[test]
fn the_national_list_in_vietnamese() {
    let csv = "STT,Địa chỉ IP,Thời gian phát hiện,Tên mạng botnet,Cổng,Tên miền\n\
1,14.160.32.7,12/03/2019 10:22:01,Mirai,23,\n\
2,14.160.32.8,2019-03-13 08:00,Conficker,,c2.conficker.example\n\
3,14.160.32.x,12/03/2019,Mirai,,\n\
4,14.160.32.9,ngày mai,Mirai,,\n\
5,14.160.32.10,12/03/2019,Mirai,cổng 80,\n";
    let (rows, p) = parse_national(csv.as_bytes());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].family.as_deref(), Some("Mirai"));
    assert_eq!(rows[0].port, Some(23));
    assert_eq!(rows[0].at.to_rfc3339(), "2019-03-12T03:22:01+00:00");
    assert_eq!(rows[1].domain.as_deref(), Some("c2.conficker.example"));
    let lines: Vec<_> = p
        .problems
        .iter()
        .map(|p| (p.line, p.field.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        lines,
        [
            (4, "address".into()),
            (5, "time".into()),
            (6, "port".into())
        ]
    );
    // Semicolons, as a spreadsheet in Vietnamese settings saves them.
    let (rows, _) =
        parse_national("IP;Thời gian;Mã độc\n14.160.32.7;12/03/2019;Mirai\n".as_bytes());
    assert_eq!(rows.len(), 1);
    let (rows, p) = parse_national(b"a,b\n1,2\n");
    assert!(rows.is_empty());
    assert_eq!(p.problems[0].line, 1);
}

#[test]
fn hostile_feeds_are_bounded_and_never_panic() {
    let huge = "a".repeat(2_000_000);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for f in FeedFormat::ALL {
        for input in [
            huge.as_bytes(),
            deep.as_bytes(),
            b"\x00\x00\xff\n\"\n,,,,\n#\n".as_slice(),
            b"{\"Event\":{\"Attribute\":[{\"type\":\"ip-dst\",\"value\":1,\"to_ids\":true}]}}"
                .as_slice(),
            b"{\"objects\":[{\"type\":\"indicator\",\"pattern\":\"[[[['\"}]}".as_slice(),
        ] {
            let _ = parse(*f, input, &d());
        }
    }
    let _ = parse_national(huge.as_bytes());
}

/// A minimal .xlsx as a spreadsheet program writes it: the national list
/// with Vietnamese headers, a date cell (a serial number styled as a
/// date), a port as a number, and a bad address.
fn national_xlsx() -> Vec<u8> {
    use std::io::Write;
    let files: &[(&str, &str)] = &[
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Danh sách" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
        ),
        (
            "xl/styles.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>"#,
        ),
        (
            "xl/worksheets/sheet1.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>STT</t></is></c><c r="B1" t="inlineStr"><is><t>Địa chỉ IP</t></is></c><c r="C1" t="inlineStr"><is><t>Thời gian phát hiện</t></is></c><c r="D1" t="inlineStr"><is><t>Tên mạng botnet</t></is></c><c r="E1" t="inlineStr"><is><t>Cổng</t></is></c></row>
<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>14.160.32.7</t></is></c><c r="C2" s="1"><v>43536.5</v></c><c r="D2" t="inlineStr"><is><t>Mirai</t></is></c><c r="E2"><v>23</v></c></row>
<row r="3"><c r="A3"><v>2</v></c><c r="B3" t="inlineStr"><is><t>14.160.32.x</t></is></c><c r="C3" s="1"><v>43536.5</v></c><c r="D3" t="inlineStr"><is><t>Mirai</t></is></c></row>
</sheetData></worksheet>"#,
        ),
    ];
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, body) in files {
        z.start_file(*name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

#[test]
fn the_national_list_as_a_spreadsheet() {
    let (rows, p) = parse_national(&national_xlsx());
    assert_eq!(rows.len(), 1, "{:?}", p.problems);
    assert_eq!(rows[0].ip.to_string(), "14.160.32.7");
    assert_eq!(rows[0].port, Some(23), "a number cell is a port");
    assert_eq!(rows[0].family.as_deref(), Some("Mirai"));
    // 43536.5 is 12 March 2019, noon, in Vietnam's time.
    assert_eq!(rows[0].at.to_rfc3339(), "2019-03-12T05:00:00+00:00");
    assert_eq!(p.problems.len(), 1);
    assert_eq!(
        (p.problems[0].line, p.problems[0].field.as_deref()),
        (3, Some("address"))
    );
    // Not a spreadsheet after all: said, not a panic.
    let (rows, p) = parse_national(b"PK\x03\x04garbage");
    assert!(rows.is_empty());
    assert!(
        p.problems[0].reason.contains("spreadsheet"),
        "{:?}",
        p.problems
    );
}
