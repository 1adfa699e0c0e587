//! Latency samples and their summary.

/// Latency samples in microseconds, merged across workers at the end of a run.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    micros: Vec<u32>,
}

impl Samples {
    pub fn record(&mut self, micros: u64) {
        self.micros.push(micros.min(u64::from(u32::MAX)) as u32);
    }

    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// Percentiles in milliseconds (sorts the samples).
    pub fn summary(&mut self) -> Percentiles {
        self.micros.sort_unstable();
        let at = |q: f64| -> f64 {
            if self.micros.is_empty() {
                return 0.0;
            }
            let i = ((self.micros.len() as f64 * q).ceil() as usize).clamp(1, self.micros.len());
            f64::from(self.micros[i - 1]) / 1000.0
        };
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: at(1.0),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_thousand() {
        let mut s = Samples::default();
        for us in (1..=1000).rev() {
            s.record(us * 1000);
        }
        let p = s.summary();
        assert_eq!(
            (p.p50, p.p90, p.p99, p.p999, p.max),
            (500.0, 900.0, 990.0, 999.0, 1000.0)
        );
    }

    #[test]
    fn empty_samples_summarise_to_zero() {
        assert_eq!(Samples::default().summary(), Percentiles::default());
    }
}
