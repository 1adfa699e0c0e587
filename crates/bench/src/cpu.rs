//! CPU time a process has used, from `/proc/<pid>/stat` (Linux).

use std::time::Duration;

/// User plus system CPU time of `pid` so far, or `None` if it cannot be read.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; the fields we need follow its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks_per_second(),
    ))
}

fn clock_ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux architecture we run on; /proc reports in those units.
    100.0
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_our_own_cpu_time_and_it_grows() {
        let pid = std::process::id();
        let before = super::process_cpu_time(pid).expect("own /proc stat");
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(120) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = super::process_cpu_time(pid).expect("own /proc stat");
        assert!(after > before, "{before:?} -> {after:?}");
    }
}
