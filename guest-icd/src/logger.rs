//! A tiny stderr logger, installed only when `SOFTGPU_LOG` is set (to a `log` level name;
//! anything else means `info`). An ICD lives inside someone else's process: it must not
//! install a global logger the application did not ask for.

use log::{LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::sync::Once;

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            // A failed write to stderr has nowhere better to go.
            let _ = writeln!(
                std::io::stderr().lock(),
                "[softgpu {}] {}",
                record.level(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;
static INIT: Once = Once::new();

/// Installs the logger once if `SOFTGPU_LOG` is set; a logger the application installed
/// first wins.
pub(crate) fn init() {
    INIT.call_once(|| {
        let Some(level) = std::env::var_os("SOFTGPU_LOG") else {
            return;
        };
        let level = level
            .to_str()
            .and_then(|s| s.parse::<LevelFilter>().ok())
            .unwrap_or(LevelFilter::Info);
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(level);
        }
    });
}
