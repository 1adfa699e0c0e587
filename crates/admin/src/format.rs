//! How Java prints numbers, dates and addresses, since tools parse ZooKeeper's output as Java
//! wrote it.

use std::net::{IpAddr, SocketAddr};

/// `Long.toHexString`: two's complement, lower case, no leading zeros (so -1 is 16 `f`s).
pub(crate) fn hex(value: i64) -> String {
    format!("{:x}", value as u64)
}

/// `num / den` rounded half-up to 4 decimals (ZooKeeper's `AvgMinMaxCounter.getAvg`), printed
/// as a Java double. Zero samples print `0.0`.
pub(crate) fn rounded_ratio(num: u128, den: u128) -> String {
    if den == 0 {
        return java_double(0.0);
    }
    let scaled = (num * 20_000 + den) / (2 * den);
    java_double(scaled as f64 / 10_000.0)
}

/// Java's `Double.toString`: shortest round-trip digits, plain notation with at least one
/// fractional digit for magnitudes in [10⁻³, 10⁷), `d.dddE<n>` outside it.
pub(crate) fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    let abs = x.abs();
    // Rust's `{:e}` gives the same shortest digits Java chooses, e.g. `3.3529e0`, `1e7`.
    let sci = format!("{abs:e}");
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        return sci;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (1e-3..1e7).contains(&abs) {
        if exponent >= 0 {
            let int_len = exponent as usize + 1;
            let (int_part, frac) = if digits.len() > int_len {
                (digits[..int_len].to_owned(), digits[int_len..].to_owned())
            } else {
                (format!("{digits:0<int_len$}"), "0".to_owned())
            };
            format!("{sign}{int_part}.{frac}")
        } else {
            let zeros = "0".repeat((-exponent - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exponent}")
    }
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `java.util.Date.toString()` in UTC: `Sun Nov 22 04:05:41 UTC 2026`.
pub(crate) fn java_date(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = WEEKDAYS[(days + 4).rem_euclid(7) as usize];
    format!(
        "{weekday} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        MONTHS[(month - 1) as usize],
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `InetSocketAddress.toString()` for an unresolved-name address: `/127.0.0.1:2181`,
/// `/[0:0:0:0:0:0:0:1]:2181` (Java writes IPv6 uncompressed, and IPv4-mapped as IPv4).
pub(crate) fn java_socket_addr(addr: &SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("/{ip}:{}", addr.port()),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return format!("/{v4}:{}", addr.port());
            }
            let groups: Vec<String> = ip.segments().iter().map(|g| format!("{g:x}")).collect();
            let scope = match addr {
                SocketAddr::V6(v6) if v6.scope_id() != 0 => format!("%{}", v6.scope_id()),
                _ => String::new(),
            };
            format!("/[{}{scope}]:{}", groups.join(":"), addr.port())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_unsigned_like_java() {
        assert_eq!(hex(0), "0");
        assert_eq!(hex(0x7), "7");
        assert_eq!(hex(0x1000006f84b0001), "1000006f84b0001");
        assert_eq!(hex(-1), "ffffffffffffffff");
    }

    #[test]
    fn rounded_ratio_matches_zookeeper_samples() {
        // Values seen in ZooKeeper 3.8's `mntr`: 57/17, 3/17, 76.3333, 7.75, 2.2, 5.0, 0.0.
        assert_eq!(rounded_ratio(57, 17), "3.3529");
        assert_eq!(rounded_ratio(3, 17), "0.1765");
        assert_eq!(rounded_ratio(229, 3), "76.3333");
        assert_eq!(rounded_ratio(31, 4), "7.75");
        assert_eq!(rounded_ratio(22, 10), "2.2");
        assert_eq!(rounded_ratio(35, 7), "5.0");
        assert_eq!(rounded_ratio(0, 17), "0.0");
        assert_eq!(rounded_ratio(5, 0), "0.0");
        // Half-up, not half-even: 1/32 = 0.03125.
        assert_eq!(rounded_ratio(1, 32), "0.0313");
        assert_eq!(rounded_ratio(2, 3), "0.6667");
    }

    #[test]
    fn java_double_notation() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(-0.0), "-0.0");
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(0.5), "0.5");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(0.00012), "1.2E-4");
        assert_eq!(java_double(9_999_999.5), "9999999.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(12_345_678.9), "1.23456789E7");
        assert_eq!(java_double(-2.25), "-2.25");
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(f64::INFINITY), "Infinity");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn java_date_in_utc() {
        // `dump` on ZooKeeper 3.8 printed this for 1795320341000.
        assert_eq!(java_date(1_795_320_341_000), "Sun Nov 22 04:05:41 UTC 2026");
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(java_date(-1), "Wed Dec 31 23:59:59 UTC 1969");
    }

    #[test]
    fn java_socket_addresses() {
        let a: SocketAddr = "127.0.0.1:50922".parse().unwrap();
        assert_eq!(java_socket_addr(&a), "/127.0.0.1:50922");
        let a: SocketAddr = "[::1]:2181".parse().unwrap();
        assert_eq!(java_socket_addr(&a), "/[0:0:0:0:0:0:0:1]:2181");
        let a: SocketAddr = "[fe80::1%2]:2181".parse().unwrap();
        assert_eq!(java_socket_addr(&a), "/[fe80:0:0:0:0:0:0:1%2]:2181");
        let a: SocketAddr = "[::ffff:10.0.0.1]:7".parse().unwrap();
        assert_eq!(java_socket_addr(&a), "/10.0.0.1:7");
    }
}
