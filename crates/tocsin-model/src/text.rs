//! Text helpers shared by every stage.

/// Vietnamese text → plain lowercase ASCII letters and digits, everything
/// else dropped: `Đông Sơn` → `dongson`. Used for codes, host names and
/// for searching without caring about diacritics or spacing.
pub fn fold_vietnamese(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let m = match c {
            'à' | 'á' | 'ả' | 'ã' | 'ạ' | 'ă' | 'ằ' | 'ắ' | 'ẳ' | 'ẵ' | 'ặ' | 'â' | 'ầ' | 'ấ'
            | 'ẩ' | 'ẫ' | 'ậ' => 'a',
            'è' | 'é' | 'ẻ' | 'ẽ' | 'ẹ' | 'ê' | 'ề' | 'ế' | 'ể' | 'ễ' | 'ệ' => {
                'e'
            }
            'ì' | 'í' | 'ỉ' | 'ĩ' | 'ị' => 'i',
            'ò' | 'ó' | 'ỏ' | 'õ' | 'ọ' | 'ô' | 'ồ' | 'ố' | 'ổ' | 'ỗ' | 'ộ' | 'ơ' | 'ờ' | 'ớ'
            | 'ở' | 'ỡ' | 'ợ' => 'o',
            'ù' | 'ú' | 'ủ' | 'ũ' | 'ụ' | 'ư' | 'ừ' | 'ứ' | 'ử' | 'ữ' | 'ự' => {
                'u'
            }
            'ỳ' | 'ý' | 'ỷ' | 'ỹ' | 'ỵ' => 'y',
            'đ' => 'd',
            c if c.is_ascii_alphanumeric() => c,
            _ => continue,
        };
        out.push(m);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn folds() {
        assert_eq!(super::fold_vietnamese("Đông Sơn"), "dongson");
        assert_eq!(super::fold_vietnamese("Ủy ban MTTQ"), "uybanmttq");
    }
}
