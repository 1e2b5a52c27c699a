//! Reading the Prometheus text exposition back, for clients of `/metrics`
//! (the benchmark, end-to-end tests): the one reader of the text format.

/// The sum of every series named `name` (all label sets).
pub fn sum_in_text(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The upper bound of the bucket holding quantile `q` (0–1) of the
/// detection latency histogram, seconds (NaN when it is empty).
pub fn histogram_quantile(text: &str, q: f64) -> f64 {
    let name = "tocsin_detection_latency_seconds_bucket{le=\"";
    let buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix(name))
        .filter_map(|l| {
            let (le, rest) = l.split_once("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, rest.trim().parse().ok()?))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    if total == 0.0 {
        return f64::NAN;
    }
    buckets
        .iter()
        .find(|(_, c)| *c >= q * total)
        .map_or(f64::NAN, |b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_registry_renders() {
        let m = crate::Metrics::default();
        m.counter("tocsin_x_total", "X.", &[("input", "a")]).add(3);
        m.counter("tocsin_x_total", "X.", &[("input", "b")]).add(4);
        m.counter("tocsin_x_total_other", "Y.", &[]).add(100);
        for us in [1_500, 1_500, 1_500, 2_000_000] {
            m.latency.observe_us(us);
        }
        let t = m.render();
        assert_eq!(sum_in_text(&t, "tocsin_x_total"), 7.0);
        assert_eq!(histogram_quantile(&t, 0.5), 0.0025);
        assert_eq!(histogram_quantile(&t, 0.99), 2.5);
        assert!(histogram_quantile("", 0.5).is_nan());
    }
}
