//! `SecondOrStepTimer` and `NeverTriggerTimer` (TF's `basic_session_run_hooks.py`): when a periodic hook
//! acts, by wall time or by global step, and the clock they read.

use ferroflow_core::{Error, Result};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Instant;

/// How often a periodic hook acts: every so many seconds or every so many steps. One enum instead of
/// TF's two exclusive arguments, so "both" cannot be written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Every {
    /// Every this many seconds of wall time (TF's `every_secs`/`save_secs`).
    Secs(f64),
    /// Every this many global steps (TF's `every_steps`/`save_steps`).
    Steps(i64),
}

impl Every {
    /// Checks that the interval is positive; `arg` names the argument in the error.
    ///
    /// # Errors
    /// `InvalidArgument` naming `arg` for a non-positive or non-finite interval.
    pub fn validate(self, arg: &str) -> Result<Every> {
        let ok = match self {
            Every::Secs(s) => s.is_finite() && s > 0.0,
            Every::Steps(n) => n > 0,
        };
        if ok {
            Ok(self)
        } else {
            Err(Error::invalid_argument(format!("{arg} must be positive, got {self:?}")))
        }
    }

    /// TF's `(every_secs, every_steps)` pair, each `None` or a value: exactly one must be given.
    /// `secs_arg`/`steps_arg` name the arguments in the errors.
    ///
    /// # Errors
    /// `InvalidArgument` "Can not provide both every_secs and every_steps." or "Either every_secs or
    /// every_steps should be provided." (TF's `ValueError` texts, prefixed with the argument names).
    pub fn from_pair(
        secs: Option<f64>,
        steps: Option<i64>,
        secs_arg: &str,
        steps_arg: &str,
    ) -> Result<Every> {
        match (secs, steps) {
            (Some(_), Some(_)) => Err(Error::invalid_argument(format!(
                "{secs_arg}, {steps_arg}: Can not provide both every_secs and every_steps."
            ))),
            (None, None) => Err(Error::invalid_argument(format!(
                "{secs_arg}, {steps_arg}: Either every_secs or every_steps should be provided."
            ))),
            (Some(s), None) => Every::Secs(s).validate(secs_arg),
            (None, Some(n)) => Every::Steps(n).validate(steps_arg),
        }
    }
}

/// The time source of timers: the system clock, or a manual one that tests advance (TF's tests mock
/// `time.time`).
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// `Instant::now()`.
    #[default]
    System,
    /// A clock that only moves when told to.
    Manual(ManualClock),
}

impl Clock {
    /// Seconds since an arbitrary fixed origin.
    pub fn now_secs(&self) -> f64 {
        match self {
            Clock::System => origin().elapsed().as_secs_f64(),
            Clock::Manual(m) => m.now(),
        }
    }
}

fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// A clock for tests: starts at a given time and moves by [`advance`](Self::advance) or
/// [`set`](Self::set). Clones share the time.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<Mutex<f64>>);

impl ManualClock {
    /// A clock at `secs`.
    pub fn new(secs: f64) -> Self {
        ManualClock(Arc::new(Mutex::new(secs)))
    }
    /// The current time.
    pub fn now(&self) -> f64 {
        *self.0.lock()
    }
    /// Moves the clock forward.
    pub fn advance(&self, secs: f64) {
        *self.0.lock() += secs;
    }
    /// Sets the clock.
    pub fn set(&self, secs: f64) {
        *self.0.lock() = secs;
    }
}

impl From<ManualClock> for Clock {
    fn from(m: ManualClock) -> Self {
        Clock::Manual(m)
    }
}

/// Triggers every N seconds or every N steps (TF's `SecondOrStepTimer`). The first call always
/// triggers; a step that already triggered never triggers again.
#[derive(Debug, Clone)]
pub struct SecondOrStepTimer {
    every: Option<Every>,
    clock: Clock,
    last: Option<(i64, f64)>,
}

impl SecondOrStepTimer {
    /// A timer over the system clock.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-positive interval.
    pub fn new(every: Every) -> Result<Self> {
        Ok(SecondOrStepTimer { every: Some(every.validate("every")?), clock: Clock::System, last: None })
    }

    /// TF's `NeverTriggerTimer`: never triggers, and
    /// [`update_last_triggered_step`](Self::update_last_triggered_step) always returns `(None, None)`.
    pub fn never() -> Self {
        SecondOrStepTimer { every: None, clock: Clock::System, last: None }
    }

    /// The same timer reading another clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The interval, `None` for a never-triggering timer.
    pub fn every(&self) -> Option<Every> {
        self.every
    }

    /// Forgets the last trigger.
    pub fn reset(&mut self) {
        self.last = None;
    }

    /// Whether the timer triggers at `step`: TF's `should_trigger_for_step`.
    pub fn should_trigger_for_step(&self, step: i64) -> bool {
        let Some(every) = self.every else { return false };
        let Some((last_step, last_time)) = self.last else { return true };
        if step == last_step {
            return false;
        }
        match every {
            Every::Secs(s) => self.clock.now_secs() >= last_time + s,
            Every::Steps(n) => step >= last_step + n,
        }
    }

    /// Records a trigger at `step` and returns the seconds and steps since the previous one (`None`
    /// the first time, and always for a never-triggering timer).
    pub fn update_last_triggered_step(&mut self, step: i64) -> (Option<f64>, Option<i64>) {
        if self.every.is_none() {
            return (None, None);
        }
        let now = self.clock.now_secs();
        let elapsed = self.last.map(|(s, t)| (now - t, step - s));
        self.last = Some((step, now));
        match elapsed {
            Some((secs, steps)) => (Some(secs), Some(steps)),
            None => (None, None),
        }
    }

    /// The step of the last trigger.
    pub fn last_triggered_step(&self) -> Option<i64> {
        self.last.map(|(s, _)| s)
    }
}
