//! `ferrokeeper bench` runs every workload against a real server and reports sane numbers. This
//! checks the tool, not anyone's speed: no assertion here depends on how fast the machine is.

mod common;

use std::process::Command;
use testkit::Target;

fn bench(server: &str, args: &[&str]) -> String {
    let out = Command::new(common::fk_bin())
        .args([
            "bench",
            "--server",
            server,
            "--json",
            "--warmup",
            "0.2",
            "--duration",
            "0.6",
        ])
        .args(args)
        .output()
        .expect("run ferrokeeper bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bench {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or_default().to_owned()
}

fn field(json: &str, name: &str) -> f64 {
    let key = format!("\"{name}\":");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("{name} missing in {json}"))
        + key.len();
    let rest = &json[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number in {json}"))
}

fn check(json: &str) {
    assert!(field(json, "operations") > 0.0, "no operations: {json}");
    assert_eq!(field(json, "errors"), 0.0, "errors: {json}");
    let (p50, p99, max) = (
        field(json, "p50_ms"),
        field(json, "p99_ms"),
        field(json, "max_ms"),
    );
    assert!(
        0.0 < p50 && p50 <= p99 && p99 <= max,
        "percentiles out of order: {json}"
    );
}

#[test]
fn every_workload_runs_against_ferrokeeper_and_reports_server_cpu() {
    let server = common::own_server(Target::Ferrokeeper, testkit::ServerConfig::default());
    let addr = server.connect_string();
    let pid = server.pid().expect("server pid").to_string();
    for workload in [
        "create", "set", "get", "exists", "delete", "mixed", "multi", "sessions",
    ] {
        let json = bench(
            &addr,
            &[
                "--workload",
                workload,
                "--clients",
                "2",
                "--in-flight",
                "4",
                "--server-pid",
                &pid,
            ],
        );
        check(&json);
        assert!(
            field(&json, "server_cpu_us_per_op") >= 0.0,
            "{workload}: server CPU missing: {json}"
        );
    }
    check(&bench(&addr, &["--workload", "watch", "--watchers", "20"]));
    let out = Command::new(common::fk_bin())
        .args([
            "bench", "populate", "--server", &addr, "--count", "500", "--size", "10",
        ])
        .output()
        .expect("run populate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("populated 500 znodes"));
}

#[test]
fn the_same_tool_measures_real_zookeeper() {
    let server = common::server(Target::ZooKeeper);
    check(&bench(
        &server.connect_string(),
        &["--workload", "mixed", "--clients", "2"],
    ));
}
