//! What a guest test program prints. One line per check (`ok <name>` / `FAIL <name>: why`),
//! measurements as `SOFTGPU-MEASURE <name> <value> <unit>` (collected by `scripts/vm-test`),
//! and the exit status says whether every check passed; the guest's `/init` turns that status
//! into the `SOFTGPU-TEST <program> PASS|FAIL` line.

use std::fmt::Display;

/// The checks of one test program.
#[derive(Debug, Default)]
pub struct Checks {
    failed: Vec<String>,
    passed: usize,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a check that passed when `result` is `Ok`; prints one line either way and
    /// returns the value so later checks can build on it.
    pub fn check<T, E: Display>(&mut self, name: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => {
                println!("ok {name}");
                self.passed += 1;
                Some(v)
            }
            Err(e) => {
                println!("FAIL {name}: {e}");
                self.failed.push(name.to_owned());
                None
            }
        }
    }

    /// Records a check that could not run because an earlier one failed.
    pub fn skip(&mut self, name: &str, because: &str) {
        println!("FAIL {name}: not run ({because} failed)");
        self.failed.push(name.to_owned());
    }

    pub fn all_passed(&self) -> bool {
        self.failed.is_empty()
    }

    /// Prints the summary and gives the process exit status (0 when every check passed).
    pub fn finish(&self) -> i32 {
        if self.all_passed() {
            println!("{} checks passed", self.passed);
            0
        } else {
            println!(
                "{} of {} checks failed: {}",
                self.failed.len(),
                self.failed.len() + self.passed,
                self.failed.join(", ")
            );
            1
        }
    }
}

/// Prints a measurement in the form `scripts/vm-test` collects.
pub fn measure(name: &str, value: impl Display, unit: &str) {
    println!("SOFTGPU-MEASURE {name} {value} {unit}");
}

/// The median of `samples` (sorted in place); `None` when there are none.
pub fn median(samples: &mut [u64]) -> Option<u64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_makes_the_exit_status_nonzero() {
        let mut c = Checks::new();
        assert_eq!(c.check("first", Ok::<u32, String>(7)), Some(7));
        assert_eq!(c.finish(), 0);
        assert_eq!(c.check("second", Err::<u32, _>("broken")), None);
        assert!(!c.all_passed());
        assert_eq!(c.finish(), 1);
    }

    #[test]
    fn a_skipped_check_counts_as_failed() {
        let mut c = Checks::new();
        c.skip("later", "earlier");
        assert_eq!(c.finish(), 1);
    }

    #[test]
    fn median_takes_the_middle_sample_after_sorting() {
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(3));
        assert_eq!(median(&mut []), None);
    }
}
