//! Training progress on stderr: a live line redrawn in place on a terminal, plain periodic lines
//! otherwise (a log file must not fill with carriage returns).

use std::io::Write;
use std::time::{Duration, Instant};

/// How often the live line is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);

/// One step's numbers, as shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStatus {
    /// The global step after the step.
    pub global_step: i64,
    /// The last global step.
    pub last_step: i64,
    /// The batch loss.
    pub loss: f32,
    /// The batch accuracy.
    pub accuracy: f64,
    /// Global steps per second over the last interval.
    pub steps_per_sec: f64,
}

/// Writes progress to a stream.
#[derive(Debug)]
pub struct Progress {
    live: bool,
    every_n_steps: u64,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// A live line when `live` (stderr is a terminal), else one line every `every_n_steps` global steps
    /// (0: none).
    pub fn new(live: bool, every_n_steps: u64) -> Progress {
        Progress { live, every_n_steps, last_draw: None, drawn: false }
    }

    /// Whether [`step`](Self::step) would show this global step: callers skip computing its numbers
    /// otherwise.
    pub fn wants(&self, global_step: i64) -> bool {
        if self.live {
            !matches!(self.last_draw, Some(t) if t.elapsed() < REDRAW)
        } else {
            self.every_n_steps > 0 && global_step % self.every_n_steps as i64 == 0
        }
    }

    /// Shows a step's status.
    pub fn step(&mut self, err: &mut dyn Write, s: &StepStatus) {
        let text = format!(
            "step {}/{}  loss {:.4}  accuracy {:.3}  {:.1} steps/s",
            s.global_step, s.last_step, s.loss, s.accuracy, s.steps_per_sec
        );
        // Progress is best effort: a closed stderr must not stop training.
        if self.live {
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{text}");
        }
        self.last_draw = Some(Instant::now());
    }

    /// Shows a message on its own line (ending the live line first).
    pub fn message(&mut self, err: &mut dyn Write, text: &str) {
        self.finish_line(err);
        let _ = writeln!(err, "{text}");
    }

    /// Ends the live line, if one is drawn.
    pub fn finish_line(&mut self, err: &mut dyn Write) {
        if self.drawn {
            let _ = writeln!(err);
            self.drawn = false;
        }
    }
}
