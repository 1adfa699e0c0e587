//! The result of a run: a human table and one JSON line.

use crate::stats::Percentiles;
use crate::{Options, Outcome};
use std::time::Duration;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub workload: String,
    pub clients: usize,
    pub in_flight: usize,
    pub value_size: usize,
    pub duration: Duration,
    pub operations: u64,
    pub throughput: f64,
    pub latency_ms: Percentiles,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Server CPU time per operation in microseconds, when the server's pid was given.
    pub server_cpu_us_per_op: Option<f64>,
    /// The offered rate (requests per second), for an open-loop run.
    pub target_rate: Option<f64>,
}

impl Report {
    pub(crate) fn new(opts: &Options, mut outcome: Outcome, server_cpu: Option<Duration>) -> Self {
        let operations = outcome.samples.len() as u64;
        let secs = opts.duration.as_secs_f64().max(f64::EPSILON);
        Report {
            workload: opts.workload.name(),
            clients: opts.clients,
            in_flight: opts.in_flight,
            value_size: opts.value_size,
            duration: opts.duration,
            operations,
            throughput: operations as f64 / secs,
            latency_ms: outcome.samples.summary(),
            errors: outcome.errors,
            first_error: outcome.first_error,
            server_cpu_us_per_op: server_cpu
                .filter(|_| operations > 0)
                .map(|cpu| cpu.as_secs_f64() * 1e6 / operations as f64),
            target_rate: opts.rate,
        }
    }

    /// A few aligned lines for people.
    pub fn table(&self) -> String {
        let l = &self.latency_ms;
        let mut out = format!(
            "workload      {}\nsessions      {} x {} in flight, {} B values, {:.1} s\nthroughput    {:.0} ops/s ({} ops)\nlatency ms    p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}\nerrors        {}\n",
            self.workload,
            self.clients,
            self.in_flight,
            self.value_size,
            self.duration.as_secs_f64(),
            self.throughput,
            self.operations,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            self.errors
        );
        if let Some(rate) = self.target_rate {
            out.push_str(&format!(
                "offered       {rate:.0} ops/s (latency counted from each request's due time)\n"
            ));
        }
        if let Some(cpu) = self.server_cpu_us_per_op {
            out.push_str(&format!("server cpu    {cpu:.2} µs/op\n"));
        }
        if let Some(e) = &self.first_error {
            out.push_str(&format!("first error   {e}\n"));
        }
        out
    }

    /// One JSON object on one line, for scripts.
    pub fn json(&self) -> String {
        let l = &self.latency_ms;
        let cpu = self
            .server_cpu_us_per_op
            .map_or("null".to_owned(), |c| format!("{c:.3}"));
        let rate = self
            .target_rate
            .map_or("null".to_owned(), |r| format!("{r:.1}"));
        format!(
            "{{\"workload\":\"{}\",\"clients\":{},\"in_flight\":{},\"value_size\":{},\"duration_s\":{:.3},\"operations\":{},\"throughput\":{:.1},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3},\"max_ms\":{:.3},\"errors\":{},\"server_cpu_us_per_op\":{},\"target_rate\":{}}}",
            self.workload,
            self.clients,
            self.in_flight,
            self.value_size,
            self.duration.as_secs_f64(),
            self.operations,
            self.throughput,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            self.errors,
            cpu,
            rate
        )
    }
}
