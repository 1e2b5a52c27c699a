//! The synthetic province `tocsin demo` runs on: "Tỉnh Ngọc Sơn", fictional,
//! shaped like the seed report's province.
//!
//! 48 provincial units, 423 communes and wards (with the 27 legacy districts
//! they belonged to before 1 July 2025, kept as parents so older data still
//! attributes), an IP plan, 55 data-center servers, 128 websites, the
//! public-service portal, the document system serving every unit and
//! commune, and the network core. Deterministic: the same province every run.
//!
//! IP plan (all private or documentation ranges):
//!
//! | block | holder |
//! |---|---|
//! | 10.36.1.0/24 … 10.36.48.0/24 | the 48 provincial units' LANs |
//! | 10.36.250.0/23 | the provincial data center (the ICT center) |
//! | 10.40.0.0/14 | the 27 legacy districts, one /18 each; each commune a /24 inside |
//! | 203.0.113.0/24, 198.51.100.0/24 | public addresses of hosted websites and services |
//! | 2001:db8:36::/48 | IPv6: one /64 per provincial unit |

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use tocsin_model::{Agency, AgencyKind, Asset, AssetKind, Cidr, Contact, Inventory, SecurityLevel};

/// The demo province's domain.
pub const DOMAIN: &str = "ngocson.gov.vn";

/// Code of the ICT center that runs the SOC.
pub const CENTER: &str = "TTCNTT";

const UNITS: &[(&str, &str, &str, AgencyKind)] = &[
    (
        "VP-UBND",
        "Văn phòng UBND tỉnh",
        "Office of the Provincial People's Committee",
        AgencyKind::Department,
    ),
    (
        "VP-TU",
        "Văn phòng Tỉnh ủy",
        "Office of the Provincial Party Committee",
        AgencyKind::Department,
    ),
    (
        "VP-HDND",
        "Văn phòng Đoàn ĐBQH và HĐND tỉnh",
        "Office of the National Assembly Delegation and People's Council",
        AgencyKind::Department,
    ),
    (
        "SNV",
        "Sở Nội vụ",
        "Department of Home Affairs",
        AgencyKind::Department,
    ),
    (
        "STC",
        "Sở Tài chính",
        "Department of Finance",
        AgencyKind::Department,
    ),
    (
        "STP",
        "Sở Tư pháp",
        "Department of Justice",
        AgencyKind::Department,
    ),
    (
        "SCT",
        "Sở Công Thương",
        "Department of Industry and Trade",
        AgencyKind::Department,
    ),
    (
        "SNNMT",
        "Sở Nông nghiệp và Môi trường",
        "Department of Agriculture and Environment",
        AgencyKind::Department,
    ),
    (
        "SXD",
        "Sở Xây dựng",
        "Department of Construction",
        AgencyKind::Department,
    ),
    (
        "SKHCN",
        "Sở Khoa học và Công nghệ",
        "Department of Science and Technology",
        AgencyKind::Department,
    ),
    (
        "SGDDT",
        "Sở Giáo dục và Đào tạo",
        "Department of Education and Training",
        AgencyKind::Department,
    ),
    (
        "SYT",
        "Sở Y tế",
        "Department of Health",
        AgencyKind::Department,
    ),
    (
        "SVHTTDL",
        "Sở Văn hóa, Thể thao và Du lịch",
        "Department of Culture, Sports and Tourism",
        AgencyKind::Department,
    ),
    (
        "SDTTG",
        "Sở Dân tộc và Tôn giáo",
        "Department of Ethnic Minorities and Religions",
        AgencyKind::Department,
    ),
    (
        "SNGV",
        "Sở Ngoại vụ",
        "Department of Foreign Affairs",
        AgencyKind::Department,
    ),
    (
        "TTR",
        "Thanh tra tỉnh",
        "Provincial Inspectorate",
        AgencyKind::Department,
    ),
    (
        "BQL-KKT",
        "Ban Quản lý Khu kinh tế và các Khu công nghiệp",
        "Economic Zone Authority",
        AgencyKind::Department,
    ),
    (
        "TTHCC",
        "Trung tâm Phục vụ hành chính công tỉnh",
        "Public Administration Service Center",
        AgencyKind::Department,
    ),
    (
        CENTER,
        "Trung tâm Công nghệ thông tin và Truyền thông",
        "ICT Center (provincial SOC)",
        AgencyKind::Department,
    ),
    (
        "BQLDA-DD",
        "Ban QLDA đầu tư xây dựng các công trình dân dụng",
        "Civil Works Project Board",
        AgencyKind::Department,
    ),
    (
        "QDTPT",
        "Quỹ Đầu tư phát triển tỉnh",
        "Development Investment Fund",
        AgencyKind::Department,
    ),
    (
        "DPTTH",
        "Đài Phát thanh và Truyền hình tỉnh",
        "Provincial Radio and Television",
        AgencyKind::Department,
    ),
    (
        "BAO",
        "Báo Ngọc Sơn",
        "Ngoc Son Newspaper",
        AgencyKind::Department,
    ),
    (
        "MTTQ",
        "Ủy ban MTTQ Việt Nam tỉnh",
        "Provincial Fatherland Front",
        AgencyKind::Department,
    ),
    (
        "TINHDOAN",
        "Tỉnh đoàn",
        "Provincial Youth Union",
        AgencyKind::Department,
    ),
    (
        "HLHPN",
        "Hội Liên hiệp Phụ nữ tỉnh",
        "Provincial Women's Union",
        AgencyKind::Department,
    ),
    (
        "HND",
        "Hội Nông dân tỉnh",
        "Provincial Farmers' Union",
        AgencyKind::Department,
    ),
    (
        "HCCB",
        "Hội Cựu chiến binh tỉnh",
        "Provincial Veterans' Association",
        AgencyKind::Department,
    ),
    (
        "LDLD",
        "Liên đoàn Lao động tỉnh",
        "Provincial Labour Federation",
        AgencyKind::Department,
    ),
    (
        "LMHTX",
        "Liên minh Hợp tác xã tỉnh",
        "Provincial Cooperative Alliance",
        AgencyKind::Department,
    ),
    (
        "BVDK",
        "Bệnh viện Đa khoa tỉnh",
        "Provincial General Hospital",
        AgencyKind::Department,
    ),
    (
        "BVNHI",
        "Bệnh viện Nhi tỉnh",
        "Provincial Children's Hospital",
        AgencyKind::Department,
    ),
    (
        "CDC",
        "Trung tâm Kiểm soát bệnh tật tỉnh",
        "Provincial Centre for Disease Control",
        AgencyKind::Department,
    ),
    (
        "DHNS",
        "Trường Đại học Ngọc Sơn",
        "Ngoc Son University",
        AgencyKind::Department,
    ),
    (
        "CDYT",
        "Trường Cao đẳng Y tế",
        "Medical College",
        AgencyKind::Department,
    ),
    (
        "VQG",
        "Vườn quốc gia Bến Lam",
        "Ben Lam National Park",
        AgencyKind::Department,
    ),
    (
        "CA",
        "Công an tỉnh",
        "Provincial Police",
        AgencyKind::Sector,
    ),
    (
        "BCHQS",
        "Bộ Chỉ huy Quân sự tỉnh",
        "Provincial Military Command",
        AgencyKind::Sector,
    ),
    (
        "THUE",
        "Thuế tỉnh",
        "Provincial Tax Office",
        AgencyKind::Sector,
    ),
    (
        "KBNN",
        "Kho bạc Nhà nước khu vực",
        "Regional State Treasury",
        AgencyKind::Sector,
    ),
    (
        "BHXH",
        "Bảo hiểm xã hội tỉnh",
        "Provincial Social Insurance",
        AgencyKind::Sector,
    ),
    (
        "HQ",
        "Chi cục Hải quan khu vực",
        "Regional Customs Branch",
        AgencyKind::Sector,
    ),
    (
        "TKE",
        "Thống kê tỉnh",
        "Provincial Statistics Office",
        AgencyKind::Sector,
    ),
    (
        "NHNN",
        "Ngân hàng Nhà nước chi nhánh tỉnh",
        "State Bank Provincial Branch",
        AgencyKind::Sector,
    ),
    (
        "TAND",
        "Tòa án nhân dân tỉnh",
        "Provincial People's Court",
        AgencyKind::Sector,
    ),
    (
        "VKSND",
        "Viện Kiểm sát nhân dân tỉnh",
        "Provincial People's Procuracy",
        AgencyKind::Sector,
    ),
    (
        "THADS",
        "Thi hành án dân sự tỉnh",
        "Provincial Civil Judgment Enforcement",
        AgencyKind::Sector,
    ),
    (
        "VPDKDD",
        "Văn phòng Đăng ký đất đai tỉnh",
        "Land Registration Office",
        AgencyKind::Sector,
    ),
];

const DISTRICTS: &[&str] = &[
    "Hạc Thành",
    "Bỉm Sơn",
    "Sầm Sơn",
    "Nghi Sơn",
    "Đông Sơn",
    "Quảng Xương",
    "Hoằng Hóa",
    "Hậu Lộc",
    "Nga Sơn",
    "Hà Trung",
    "Vĩnh Lộc",
    "Yên Định",
    "Thiệu Hóa",
    "Triệu Sơn",
    "Nông Cống",
    "Như Thanh",
    "Như Xuân",
    "Thường Xuân",
    "Thọ Xuân",
    "Ngọc Lặc",
    "Cẩm Thủy",
    "Thạch Thành",
    "Bá Thước",
    "Lang Chánh",
    "Quan Hóa",
    "Quan Sơn",
    "Mường Lát",
];

const FIRST: &[&str] = &[
    "An",
    "Bình",
    "Cẩm",
    "Đông",
    "Định",
    "Hải",
    "Hòa",
    "Hoằng",
    "Hợp",
    "Kim",
    "Lam",
    "Liên",
    "Minh",
    "Nam",
    "Nga",
    "Ngọc",
    "Nguyệt",
    "Phú",
    "Quảng",
    "Tân",
    "Thạch",
    "Thanh",
    "Thiệu",
    "Thọ",
    "Thuận",
    "Tiến",
    "Trung",
    "Trường",
    "Vạn",
    "Vĩnh",
    "Xuân",
    "Yên",
];

const SECOND: &[&str] = &[
    "Ấn", "Bình", "Châu", "Đạo", "Đức", "Giang", "Hải", "Hưng", "Khê", "Lâm", "Lộc", "Long", "Lợi",
    "Lương", "Minh", "Ninh", "Phong", "Phúc", "Phú", "Quang", "Sơn", "Tân", "Thành", "Thịnh",
    "Tiến", "Trạch", "Trung", "Vân", "Vinh", "Xuyên",
];

const FAMILY: &[&str] = &[
    "Nguyễn", "Lê", "Trần", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi", "Đặng", "Ngô", "Lương", "Trịnh",
];
const MIDDLE: &[&str] = &[
    "Văn", "Thị", "Đức", "Minh", "Thu", "Hữu", "Ngọc", "Quang", "Thanh",
];
const GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Long",
    "Mai", "Nam", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Việt",
];

pub use tocsin_model::fold_vietnamese as fold;

/// A small deterministic generator (xorshift64): the demo province and
/// the demo's log feed are the same on every run.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next_u64() % 1000 < per_mille
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Cidr {
    Cidr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, d)), len).expect("synthetic ranges are aligned")
}

fn level(n: u8) -> SecurityLevel {
    SecurityLevel::new(n).expect("synthetic levels are 1–5")
}

fn contact(rng: &mut Rng, role: &str, domain: &str) -> Contact {
    let (f, m, g) = (rng.pick(FAMILY), rng.pick(MIDDLE), rng.pick(GIVEN));
    let user = format!(
        "{}{}{}",
        fold(g),
        fold(f).chars().next().unwrap_or('x'),
        fold(m).chars().next().unwrap_or('x')
    );
    Contact {
        name: format!("{f} {m} {g}"),
        role: role.to_string(),
        emails: vec![format!("{user}@{domain}")],
        phones: vec![format!(
            "09{} {:03} {:03}",
            rng.next_u64() % 10,
            rng.next_u64() % 1000,
            rng.next_u64() % 1000
        )],
    }
}

/// The communes: (legacy district index, "Xã …"/"Phường …" name), 423 of them.
fn communes() -> Vec<(usize, String)> {
    let mut out = Vec::with_capacity(423);
    let mut i = 0usize;
    'outer: for a in FIRST {
        for b in SECOND {
            if a == b {
                continue;
            }
            let district = i % DISTRICTS.len();
            let prefix = if district < 4 && i.is_multiple_of(3) {
                "Phường"
            } else {
                "Xã"
            };
            out.push((district, format!("{prefix} {a} {b}")));
            i += 1;
            if out.len() == 423 {
                break 'outer;
            }
        }
    }
    out
}

/// Builds the demo province.
pub fn province() -> Inventory {
    let mut rng = Rng(0x5eed_0036_2019_0646);
    let mut inv = Inventory::default();

    for (i, (code, name, en, kind)) in UNITS.iter().enumerate() {
        let n = (i + 1) as u8;
        let mut a = Agency::new(code, name, *kind);
        a.name_en = Some(en.to_string());
        let dom = format!("{}.{DOMAIN}", fold(code));
        a.ranges.push(v4(10, 36, n, 0, 24));
        a.ranges.push(
            Cidr::new(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x36, u16::from(n), 0, 0, 0, 0)),
                64,
            )
            .expect("aligned"),
        );
        if *code == CENTER {
            a.ranges.push(v4(10, 36, 250, 0, 23));
            a.ranges.push(v4(203, 0, 113, 0, 24));
            a.ranges.push(v4(198, 51, 100, 0, 24));
        }
        a.contacts
            .push(contact(&mut rng, "Lãnh đạo phụ trách CNTT", &dom));
        a.contacts
            .push(contact(&mut rng, "Cán bộ chuyên trách CNTT", &dom));
        inv.agencies.push(a);
    }

    for (d, name) in DISTRICTS.iter().enumerate() {
        let code = format!("H-{}", fold(name).to_uppercase());
        let mut a = Agency::new(&code, &format!("Huyện {name} (cũ)"), AgencyKind::District);
        a.name_en = Some(format!("Former {} District", fold(name)));
        let (b, c) = (40 + (d / 4) as u8, ((d % 4) * 64) as u8);
        a.ranges.push(v4(10, b, c, 0, 18));
        inv.agencies.push(a);
    }

    let mut per_district = vec![0u8; DISTRICTS.len()];
    for (d, name) in communes() {
        let short = name.split_once(' ').map_or(name.as_str(), |x| x.1);
        let code = format!("XA-{}", fold(short).to_uppercase());
        let district_code = format!("H-{}", fold(DISTRICTS[d]).to_uppercase());
        let mut a = Agency::new(&code, &name, AgencyKind::Commune);
        a.parent = Some(district_code.as_str().into());
        let (b, c) = (40 + (d / 4) as u8, ((d % 4) * 64) as u8 + per_district[d]);
        per_district[d] += 1;
        a.ranges.push(v4(10, b, c, 0, 24));
        let dom = format!("{}.{DOMAIN}", fold(short));
        a.contacts.push(contact(
            &mut rng,
            "Công chức văn hóa - xã hội (phụ trách CNTT)",
            &dom,
        ));
        inv.agencies.push(a);
    }

    add_assets(&mut inv, &mut rng);
    inv
}

fn asset(code: String, name: String, kind: AssetKind, owner: &str, lvl: u8) -> Asset {
    Asset {
        code: code.as_str().into(),
        name,
        kind,
        owner: owner.into(),
        level: level(lvl),
        addresses: Vec::new(),
        hostnames: Vec::new(),
        urls: Vec::new(),
        description: None,
    }
}

fn add_assets(inv: &mut Inventory, rng: &mut Rng) {
    let units: Vec<(String, String)> = UNITS
        .iter()
        .map(|u| (u.0.to_string(), u.1.to_string()))
        .collect();

    // Shared platforms run by the center.
    let services = [
        (
            "SVC-DVC",
            "Cổng dịch vụ công trực tuyến tỉnh",
            "dichvucong",
            4,
            10,
        ),
        (
            "SVC-QLVB",
            "Phần mềm quản lý văn bản và hồ sơ công việc (48 đơn vị, 423 xã)",
            "qlvb",
            3,
            11,
        ),
        (
            "SVC-MOTCUA",
            "Hệ thống thông tin giải quyết thủ tục hành chính (một cửa)",
            "motcua",
            4,
            12,
        ),
        (
            "SVC-LGSP",
            "Nền tảng tích hợp, chia sẻ dữ liệu tỉnh (LGSP)",
            "lgsp",
            4,
            13,
        ),
        ("SVC-MAIL", "Hệ thống thư điện tử công vụ", "mail", 3, 14),
        (
            "SVC-HNTH",
            "Hệ thống hội nghị truyền hình tỉnh (31 điểm cầu)",
            "hop",
            3,
            15,
        ),
        ("SVC-CTT", "Cổng thông tin điện tử tỉnh", "www", 3, 16),
        ("SVC-CKS", "Dịch vụ chứng thực chữ ký số", "cks", 3, 17),
    ];
    for (code, name, host, lvl, last) in services {
        let mut a = asset(code.into(), name.into(), AssetKind::Service, CENTER, lvl);
        a.addresses.push(v4(203, 0, 113, last, 32));
        a.addresses.push(v4(10, 36, 250, last, 32));
        let h = if host == "www" {
            DOMAIN.to_string()
        } else {
            format!("{host}.{DOMAIN}")
        };
        a.urls.push(format!("https://{h}/"));
        a.hostnames.push(h);
        inv.assets.push(a);
    }

    // 55 data-center servers, owned by the units whose systems they carry.
    let roles = ["web", "app", "db", "mail", "file", "ad", "backup", "log"];
    for i in 1..=55u8 {
        let (owner, oname) = if i <= 20 {
            (CENTER.to_string(), "TTCNTT".to_string())
        } else {
            units[(i as usize * 7) % units.len()].clone()
        };
        let role = roles[i as usize % roles.len()];
        let mut a = asset(
            format!("SRV-DC-{i:03}"),
            format!("Máy chủ {role} {i:02} ({oname})"),
            AssetKind::Server,
            &owner,
            2 + (i % 3),
        );
        a.addresses.push(v4(10, 36, 250, 20 + i, 32));
        a.hostnames.push(format!("{role}{i:02}.dc.{DOMAIN}"));
        inv.assets.push(a);
    }

    // 128 websites: every provincial unit, then 80 communes.
    let mut n = 0u8;
    for (code, name) in &units {
        n += 1;
        let host = format!("{}.{DOMAIN}", fold(code));
        let mut a = asset(
            format!("WEB-{code}"),
            format!("Cổng thông tin điện tử {name}"),
            AssetKind::Website,
            code,
            2,
        );
        a.addresses.push(v4(203, 0, 113, 100 + n, 32));
        a.urls.push(format!("https://{host}/"));
        a.hostnames.push(host);
        inv.assets.push(a);
    }
    let communes: Vec<(String, String)> = inv
        .agencies
        .iter()
        .filter(|a| a.kind == AgencyKind::Commune)
        .step_by(5)
        .take(80)
        .map(|a| (a.code.to_string(), a.name.clone()))
        .collect();
    for (i, (code, name)) in communes.iter().enumerate() {
        let slug = fold(code.trim_start_matches("XA-"));
        let host = format!("{slug}.{DOMAIN}");
        let mut a = asset(
            format!("WEB-{code}"),
            format!("Trang thông tin điện tử {name}"),
            AssetKind::Website,
            code,
            1,
        );
        a.addresses.push(v4(198, 51, 100, 10 + i as u8, 32));
        a.urls.push(format!("https://{host}/"));
        a.hostnames.push(host);
        inv.assets.push(a);
    }

    // Network core and each unit's office LAN.
    for (code, name, last) in [
        ("NET-FW-CORE", "Tường lửa lõi trung tâm dữ liệu", 1u8),
        ("NET-SW-CORE", "Chuyển mạch lõi trung tâm dữ liệu", 2),
        ("NET-VPN", "Cổng VPN kết nối các đơn vị", 3),
        ("NET-WAF", "Tường lửa ứng dụng web (WAF)", 4),
    ] {
        let mut a = asset(
            code.into(),
            name.into(),
            AssetKind::NetworkDevice,
            CENTER,
            4,
        );
        a.addresses.push(v4(10, 36, 250, last, 32));
        inv.assets.push(a);
    }
    for (i, (code, name)) in units.iter().enumerate() {
        let mut a = asset(
            format!("LAN-{code}"),
            format!("Máy trạm {name}"),
            AssetKind::EndpointGroup,
            code,
            1 + (rng.next_u64() % 2) as u8,
        );
        a.addresses.push(v4(10, 36, (i + 1) as u8, 0, 24));
        inv.assets.push(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_inventory::Draft;

    #[test]
    fn province_has_the_seed_shape_and_validates() {
        let inv = province();
        let count = |k| inv.agencies.iter().filter(|a| a.kind == k).count();
        assert_eq!(
            count(AgencyKind::Department) + count(AgencyKind::Sector),
            48
        );
        assert_eq!(count(AgencyKind::Commune), 423);
        assert_eq!(count(AgencyKind::District), 27);
        let akind = |k| inv.assets.iter().filter(|a| a.kind == k).count();
        assert_eq!(akind(AssetKind::Server), 55);
        assert_eq!(akind(AssetKind::Website), 128);
        // The generated province must pass the same validation as a user's file.
        let back = Draft::from_inventory(&inv, "synth").validate();
        assert!(
            back.is_ok(),
            "{}",
            back.err().map(|d| d.to_string()).unwrap_or_default()
        );
    }

    #[test]
    fn fold_strips_vietnamese_marks() {
        assert_eq!(fold("Đông Sơn"), "dongson");
        assert_eq!(fold("Nguyễn Thị Hạnh"), "nguyenthihanh");
    }
}
