//! Progress of a long command on stderr: on a terminal one line redrawn in place, otherwise a
//! log line every few seconds; nothing with `--quiet`. Counts and rates only, never data.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Reporter {
    quiet: bool,
    terminal: bool,
    every: Duration,
    phase_started: Instant,
    phase: String,
    last_shown: Option<Instant>,
}

impl Reporter {
    pub fn new(quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Self {
            quiet,
            terminal,
            every: if terminal {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(5)
            },
            phase_started: Instant::now(),
            phase: String::new(),
            last_shown: None,
        }
    }

    /// `done` of `total` items of `what` (e.g. "copying resource_version").
    pub fn update(&mut self, what: &str, done: u64, total: u64) {
        if self.quiet {
            return;
        }
        if self.phase != what {
            self.finish_line();
            self.phase = what.to_string();
            self.phase_started = Instant::now();
            self.last_shown = None;
        }
        let now = Instant::now();
        let last = done >= total;
        if !last && self.last_shown.is_some_and(|t| now - t < self.every) {
            return;
        }
        self.last_shown = Some(now);
        let line = line(what, done, total, now - self.phase_started);
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    /// Ends a redrawn line so that what follows starts on its own.
    pub fn finish_line(&mut self) {
        if !self.quiet && self.terminal && !self.phase.is_empty() {
            let _ = writeln!(std::io::stderr());
        }
        self.phase.clear();
    }
}

/// `copying resource_version: 12000/48000 (25%), 3100/s, about 12s left`.
pub fn line(what: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = done as f64 / secs;
    let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
    let left = if rate > 0.0 && total > done {
        format!(
            ", about {}s left",
            ((total - done) as f64 / rate).ceil() as u64
        )
    } else {
        String::new()
    };
    format!("{what}: {done}/{total} ({percent}%), {rate:.0}/s{left}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_rows_rate_and_time_left() {
        assert_eq!(
            line("copying delivery", 250, 1000, Duration::from_secs(5)),
            "copying delivery: 250/1000 (25%), 50/s, about 15s left"
        );
        assert_eq!(
            line("copying delivery", 1000, 1000, Duration::from_secs(5)),
            "copying delivery: 1000/1000 (100%), 200/s"
        );
        assert_eq!(
            line("copying audit_event", 0, 0, Duration::from_secs(1)),
            "copying audit_event: 0/0 (100%), 0/s"
        );
    }
}
