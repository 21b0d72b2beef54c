//! `ProgressHook` (beyond TF1): a live progress bar on a terminal, plain periodic lines otherwise.

use super::logging_tensor::format_value;
use super::{global_step_read, step_of};
use crate::trigger::Clock;
use crate::{Coordinator, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::Result;
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{Fetch, Session};
use std::io::{IsTerminal, Write};
use std::sync::Arc;

/// Where the display goes.
type Sink = Box<dyn FnMut(&str) + Send>;

/// Shows step, rate (steps/s), ETA (with a total) and chosen values.
///
/// On a terminal (stderr), redraws one line (`\r`) at most every `refresh` (0.1 s by default). Otherwise
/// (a log file, CI) prints a plain line every `line_every` (30 s by default), so logs are not flooded.
/// Values are fetched only on runs that display.
///
/// ```
/// use ferroflow_train::hooks::ProgressHook;
/// let hook = ProgressHook::new(Some(1000));
/// # let _ = hook;
/// ```
pub struct ProgressHook {
    total: Option<i64>,
    values: Vec<(String, Output)>,
    live: bool,
    refresh: f64,
    line_every: f64,
    clock: Clock,
    sink: Option<Sink>,
    gs: Option<Output>,
    start: Option<(f64, i64)>,
    last_shown: f64,
    show: bool,
    last_step: i64,
}

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressHook")
            .field("total", &self.total)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl ProgressHook {
    /// A display towards `total` global steps (no ETA without it). Live when stderr is a terminal.
    pub fn new(total: Option<i64>) -> Self {
        ProgressHook {
            total,
            values: Vec::new(),
            live: std::io::stderr().is_terminal(),
            refresh: 0.1,
            line_every: 30.0,
            clock: Clock::System,
            sink: None,
            gs: None,
            start: None,
            last_shown: f64::NEG_INFINITY,
            show: false,
            last_step: 0,
        }
    }

    /// Also shows this scalar.
    pub fn value(mut self, tag: impl Into<String>, tensor: Output) -> Self {
        self.values.push((tag.into(), tensor));
        self
    }

    /// Forces the live bar (`true`) or plain lines (`false`). By default, live when stderr is a terminal.
    pub fn live(mut self, live: bool) -> Self {
        self.live = live;
        self
    }

    /// Seconds between plain lines. By default, 30.
    pub fn line_every_secs(mut self, secs: f64) -> Self {
        self.line_every = secs;
        self
    }

    /// Reads time from `clock` (tests). By default, the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sends each display to `sink` instead of stderr (live) or `tracing::info!` (plain).
    pub fn sink(mut self, sink: impl FnMut(&str) + Send + 'static) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    fn render(&self, step: i64, now: f64, values: &[(String, String)]) -> String {
        let (t0, s0) = self.start.unwrap_or((now, step));
        let rate = if now > t0 { (step - s0) as f64 / (now - t0) } else { 0.0 };
        let mut s = String::new();
        if let Some(total) = self.total.filter(|&t| t > 0) {
            let frac = (step as f64 / total as f64).clamp(0.0, 1.0);
            if self.live {
                let width = 30;
                let filled = (frac * width as f64) as usize;
                s.push('[');
                s.push_str(&"=".repeat(filled));
                if filled < width {
                    s.push('>');
                    s.push_str(&" ".repeat(width - filled - 1));
                }
                s.push_str("] ");
            }
            s.push_str(&format!("step {step}/{total} ({:.0}%) {rate:.2} steps/s", frac * 100.0));
            if rate > 0.0 {
                let eta = ((total - step).max(0) as f64 / rate).round() as u64;
                s.push_str(&format!(" ETA {}:{:02}:{:02}", eta / 3600, eta / 60 % 60, eta % 60));
            }
        } else {
            s.push_str(&format!("step {step} {rate:.2} steps/s"));
        }
        for (tag, v) in values {
            s.push_str(&format!(" {tag}={v}"));
        }
        s
    }

    fn emit(&mut self, line: &str) {
        match (&mut self.sink, self.live) {
            (Some(sink), _) => sink(line),
            (None, true) => {
                let mut err = std::io::stderr().lock();
                // A failed write to the terminal must not stop training.
                let _ = write!(err, "\r{line}\x1b[K");
                let _ = err.flush();
            }
            (None, false) => tracing::info!("{line}"),
        }
    }
}

impl SessionRunHook for ProgressHook {
    fn name(&self) -> &str {
        "ProgressHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.gs = Some(global_step_read(graph, "ProgressHook")?.0);
        Ok(())
    }

    fn after_create_session(&mut self, _: &mut dyn Session, _: &Arc<Coordinator>) -> Result<()> {
        self.start = None;
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        let Some(gs) = self.gs else { return Ok(None) };
        let now = self.clock.now_secs();
        let period = if self.live { self.refresh } else { self.line_every };
        self.show = now - self.last_shown >= period;
        let mut fetches = vec![Fetch::Tensor(gs)];
        if self.show {
            fetches.extend(self.values.iter().map(|(_, o)| Fetch::Tensor(*o)));
        }
        Ok(Some(SessionRunArgs::new(Fetch::List(fetches))))
    }

    fn after_run(&mut self, _: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let Some(r) = values.results else { return Ok(()) };
        let step = step_of(r.get(0)?)? + 1;
        self.last_step = step;
        let now = self.clock.now_secs();
        if self.start.is_none() {
            self.start = Some((now, step));
        }
        if !self.show {
            return Ok(());
        }
        let mut shown = Vec::with_capacity(self.values.len());
        for (i, (tag, _)) in self.values.iter().enumerate() {
            shown.push((tag.clone(), format_value(r.get(i + 1)?.tensor()?)));
        }
        let line = self.render(step, now, &shown);
        self.last_shown = now;
        self.emit(&line);
        Ok(())
    }

    fn end(&mut self, _: Option<&mut dyn Session>) -> Result<()> {
        let now = self.clock.now_secs();
        let line = self.render(self.last_step, now, &[]);
        self.emit(&line);
        if self.live && self.sink.is_none() {
            eprintln!();
        }
        Ok(())
    }
}
