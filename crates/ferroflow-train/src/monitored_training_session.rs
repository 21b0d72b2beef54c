//! `MonitoredTrainingSession`: a `MonitoredSession` configured for training, with TF's default hooks on
//! the chief (TF's `tf.train.MonitoredTrainingSession`, a function returning a `MonitoredSession`).

use crate::hooks::{
    CheckpointSaverHook, PreemptionHook, ProgressHook, StepCounterHook, SummaryOp, SummarySaverHook,
};
use crate::trigger::Every;
use crate::{
    ChiefSessionCreator, MonitoredSession, Scaffold, SessionCreator, SessionRunHook, WorkerSessionCreator,
};
use ferroflow_core::{Error, Result};
use ferroflow_graph::GraphBuilder;
use ferroflow_session::{SessionFactory, SessionOptions};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A list of hooks, in call order.
type Hooks = Vec<Box<dyn SessionRunHook>>;

/// An argument that distinguishes "not given" (TF's `USE_DEFAULT` sentinel) from an explicit `None`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Arg<T> {
    Default,
    Given(Option<T>),
}

/// Entry point of TF's `MonitoredTrainingSession(...)`: [`MonitoredTrainingSession::builder`] takes the
/// graph and every argument is a builder method with TF's default.
///
/// ```
/// use ferroflow_graph::GraphBuilder;
/// use ferroflow_train::MonitoredTrainingSession;
/// let dir = tempfile::tempdir()?;
/// let mut g = GraphBuilder::new();
/// let gs = g.get_or_create_global_step()?;
/// let one = g.constant(ferroflow_core::Tensor::scalar(1i64))?;
/// let train = g.assign_add(&gs, one)?;
/// let mut sess = MonitoredTrainingSession::builder(g).checkpoint_dir(dir.path()).build()?;
/// sess.run(train, &[])?;
/// sess.close()?;
/// // The default CheckpointSaverHook saved at step 0 and, in end(), at step 1.
/// assert!(dir.path().join("model.ckpt-1.index").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MonitoredTrainingSession;

impl MonitoredTrainingSession {
    /// A builder over the graph built so far, with TF's defaults.
    pub fn builder(graph: GraphBuilder) -> MonitoredTrainingSessionBuilder {
        MonitoredTrainingSessionBuilder {
            graph,
            master: String::new(),
            is_chief: true,
            checkpoint_dir: None,
            scaffold: None,
            hooks: Vec::new(),
            chief_only_hooks: Vec::new(),
            save_checkpoint_secs: Arg::Default,
            save_checkpoint_steps: Arg::Default,
            save_summaries_steps: Arg::Default,
            save_summaries_secs: Arg::Default,
            config: SessionOptions::default(),
            stop_grace_period: Duration::from_secs(120),
            log_step_count_steps: 100,
            max_wait: Duration::from_secs(7200),
            summary_dir: None,
            factory: None,
            preemption: false,
            progress: None,
        }
    }
}

/// Builds the [`MonitoredSession`] of [`MonitoredTrainingSession`].
///
/// Hook order on the chief (TF's): `chief_only_hooks`, then `StepCounterHook` (if a summary directory
/// and `log_step_count_steps > 0`), `SummarySaverHook` (if a summary directory and a summary period),
/// `CheckpointSaverHook` (if `checkpoint_dir` and a checkpoint period), then (beyond TF) the
/// `PreemptionHook` if enabled, then `hooks`, then (beyond TF) the `ProgressHook` if enabled. On a
/// worker: `hooks` only (and the progress display if enabled).
pub struct MonitoredTrainingSessionBuilder {
    graph: GraphBuilder,
    master: String,
    is_chief: bool,
    checkpoint_dir: Option<PathBuf>,
    scaffold: Option<Scaffold>,
    hooks: Vec<Box<dyn SessionRunHook>>,
    chief_only_hooks: Vec<Box<dyn SessionRunHook>>,
    save_checkpoint_secs: Arg<f64>,
    save_checkpoint_steps: Arg<i64>,
    save_summaries_steps: Arg<i64>,
    save_summaries_secs: Arg<f64>,
    config: SessionOptions,
    stop_grace_period: Duration,
    log_step_count_steps: i64,
    max_wait: Duration,
    summary_dir: Option<PathBuf>,
    factory: Option<Arc<dyn SessionFactory>>,
    preemption: bool,
    progress: Option<Option<i64>>,
}

impl std::fmt::Debug for MonitoredTrainingSessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoredTrainingSessionBuilder")
            .field("master", &self.master)
            .field("is_chief", &self.is_chief)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("summary_dir", &self.summary_dir)
            .field("hooks", &self.hooks.len())
            .field("chief_only_hooks", &self.chief_only_hooks.len())
            .finish_non_exhaustive()
    }
}

/// The effective `(secs, steps)` of a period under TF's `USE_DEFAULT` resolution: both unset gives the
/// default, one unset is `None`; `0` means off.
fn resolve(
    secs: Arg<f64>,
    steps: Arg<i64>,
    default: (Option<f64>, Option<i64>),
) -> (Option<f64>, Option<i64>) {
    let (secs, steps) = match (secs, steps) {
        (Arg::Default, Arg::Default) => default,
        (Arg::Default, Arg::Given(n)) => (None, n),
        (Arg::Given(s), Arg::Default) => (s, None),
        (Arg::Given(s), Arg::Given(n)) => (s, n),
    };
    (secs.filter(|&s| s > 0.0), steps.filter(|&n| n > 0))
}

/// The period of a hook, or `None` when off; both positive is TF's error.
fn period(secs: Option<f64>, steps: Option<i64>, secs_arg: &str, steps_arg: &str) -> Result<Option<Every>> {
    match (secs, steps) {
        (Some(_), Some(_)) => Err(Error::invalid_argument(format!(
            "{secs_arg} and {steps_arg}: Can not provide both every_secs and every_steps."
        ))),
        (Some(s), None) => Ok(Some(Every::Secs(s))),
        (None, Some(n)) => Ok(Some(Every::Steps(n))),
        (None, None) => Ok(None),
    }
}

fn non_negative_secs(arg: &str, secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        Error::invalid_argument(format!("{arg} must be a non-negative number of seconds, got {secs}"))
    })
}

impl MonitoredTrainingSessionBuilder {
    /// The session target. By default, `""` (in-process).
    pub fn master(mut self, master: impl Into<String>) -> Self {
        self.master = master.into();
        self
    }

    /// Whether this task is the chief (initializes or restores, and runs the default hooks). By default,
    /// true.
    pub fn is_chief(mut self, is_chief: bool) -> Self {
        self.is_chief = is_chief;
        self
    }

    /// Restore from and save checkpoints to this directory; also the default summary directory. By
    /// default, none (no restore, no checkpoint or summary hooks).
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// The scaffold, shared by the session creator and the default hooks. By default, `Scaffold::new()`.
    pub fn scaffold(mut self, scaffold: Scaffold) -> Self {
        self.scaffold = Some(scaffold);
        self
    }

    /// Adds a hook run on every task (after the default hooks).
    pub fn hook(mut self, hook: impl SessionRunHook + 'static) -> Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Adds hooks run on every task.
    pub fn hooks(mut self, hooks: impl IntoIterator<Item = Box<dyn SessionRunHook>>) -> Self {
        self.hooks.extend(hooks);
        self
    }

    /// Adds a hook run only on the chief (before the default hooks).
    pub fn chief_only_hook(mut self, hook: impl SessionRunHook + 'static) -> Self {
        self.chief_only_hooks.push(Box::new(hook));
        self
    }

    /// Adds hooks run only on the chief.
    pub fn chief_only_hooks(mut self, hooks: impl IntoIterator<Item = Box<dyn SessionRunHook>>) -> Self {
        self.chief_only_hooks.extend(hooks);
        self
    }

    /// Save a checkpoint every this many seconds; `None` or 0 turns it off. By default, 600 when
    /// `save_checkpoint_steps` is not given either, else off.
    pub fn save_checkpoint_secs(mut self, secs: impl Into<Option<f64>>) -> Self {
        self.save_checkpoint_secs = Arg::Given(secs.into());
        self
    }

    /// Save a checkpoint every this many steps; `None` or 0 turns it off. By default, off.
    pub fn save_checkpoint_steps(mut self, steps: impl Into<Option<i64>>) -> Self {
        self.save_checkpoint_steps = Arg::Given(steps.into());
        self
    }

    /// Save summaries every this many steps; `None` or 0 turns it off. By default, 100 when
    /// `save_summaries_secs` is not given either, else off.
    pub fn save_summaries_steps(mut self, steps: impl Into<Option<i64>>) -> Self {
        self.save_summaries_steps = Arg::Given(steps.into());
        self
    }

    /// Save summaries every this many seconds; `None` or 0 turns it off. By default, off.
    pub fn save_summaries_secs(mut self, secs: impl Into<Option<f64>>) -> Self {
        self.save_summaries_secs = Arg::Given(secs.into());
        self
    }

    /// Session options (TF's `config`). By default, `SessionOptions::default()`.
    pub fn config(mut self, config: SessionOptions) -> Self {
        self.config = config;
        self
    }

    /// How long `close()` waits for coordinator threads. By default, 120 s.
    ///
    /// # Errors
    /// `InvalidArgument` naming `stop_grace_period_secs` for a negative value.
    pub fn stop_grace_period_secs(mut self, secs: f64) -> Result<Self> {
        self.stop_grace_period = non_negative_secs("stop_grace_period_secs", secs)?;
        Ok(self)
    }

    /// The period, in steps, of the `StepCounterHook`; 0 or less turns it off. By default, 100.
    pub fn log_step_count_steps(mut self, steps: i64) -> Self {
        self.log_step_count_steps = steps;
        self
    }

    /// How long a worker waits for the chief to initialize the model. By default, 7200 s.
    ///
    /// # Errors
    /// `InvalidArgument` naming `max_wait_secs` for a negative value.
    pub fn max_wait_secs(mut self, secs: f64) -> Result<Self> {
        self.max_wait = non_negative_secs("max_wait_secs", secs)?;
        Ok(self)
    }

    /// Where summaries go. By default, `checkpoint_dir`.
    pub fn summary_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.summary_dir = Some(dir.into());
        self
    }

    /// The factory creating sessions for `master`. By default, in-process sessions.
    pub fn factory(mut self, factory: Arc<dyn SessionFactory>) -> Self {
        self.factory = Some(factory);
        self
    }

    /// Beyond TF: on the chief, add a [`PreemptionHook`] saving to `checkpoint_dir` on SIGTERM/SIGINT.
    /// By default, off.
    pub fn preemption(mut self, on: bool) -> Self {
        self.preemption = on;
        self
    }

    /// Beyond TF: add a [`ProgressHook`] towards `total_steps`. By default, off.
    pub fn progress(mut self, total_steps: Option<i64>) -> Self {
        self.progress = Some(total_steps);
        self
    }

    /// The hooks this configuration installs, in TF's order, and the session creator; consumes the
    /// hooks given.
    ///
    /// # Errors
    /// `InvalidArgument` naming the arguments when both a positive secs and steps period are given.
    fn assemble(&mut self) -> Result<(Hooks, Box<dyn SessionCreator>)> {
        let scaffold = self.scaffold.clone().unwrap_or_default();
        let mut out: Vec<Box<dyn SessionRunHook>> = Vec::new();
        let (sum_secs, sum_steps) =
            resolve(self.save_summaries_secs, self.save_summaries_steps, (None, Some(100)));
        let (ck_secs, ck_steps) =
            resolve(self.save_checkpoint_secs, self.save_checkpoint_steps, (Some(600.0), None));
        let summaries = period(sum_secs, sum_steps, "save_summaries_secs", "save_summaries_steps")?;
        let checkpoints = period(ck_secs, ck_steps, "save_checkpoint_secs", "save_checkpoint_steps")?;
        let creator: Box<dyn SessionCreator> = if self.is_chief {
            out.append(&mut self.chief_only_hooks);
            let summary_dir = self.summary_dir.clone().or_else(|| self.checkpoint_dir.clone());
            if let Some(dir) = &summary_dir {
                if self.log_step_count_steps > 0 {
                    out.push(Box::new(
                        StepCounterHook::new(Every::Steps(self.log_step_count_steps))?.output(dir.clone()),
                    ));
                }
                if let Some(every) = summaries {
                    out.push(Box::new(SummarySaverHook::new(
                        every,
                        dir.clone(),
                        SummaryOp::Scaffold(scaffold.clone()),
                    )?));
                }
            }
            if let (Some(dir), Some(every)) = (&self.checkpoint_dir, checkpoints) {
                out.push(Box::new(CheckpointSaverHook::new(dir.clone(), every)?.scaffold(scaffold.clone())?));
            }
            if self.preemption {
                out.push(Box::new(PreemptionHook::new(self.checkpoint_dir.clone())));
            }
            let mut c =
                ChiefSessionCreator::new(scaffold).master(self.master.clone()).config(self.config.clone());
            if let Some(dir) = &self.checkpoint_dir {
                c = c.checkpoint_dir(dir.clone());
            }
            if let Some(f) = &self.factory {
                c = c.factory(Arc::clone(f));
            }
            Box::new(c)
        } else {
            let mut c = WorkerSessionCreator::new(scaffold)
                .master(self.master.clone())
                .config(self.config.clone())
                .max_wait(Some(self.max_wait));
            if let Some(f) = &self.factory {
                c = c.factory(Arc::clone(f));
            }
            Box::new(c)
        };
        out.append(&mut self.hooks);
        if let Some(total) = self.progress {
            out.push(Box::new(ProgressHook::new(total)));
        }
        Ok((out, creator))
    }

    /// The names of the hooks [`build`](Self::build) would install, in order (what TF's tests inspect).
    ///
    /// # Errors
    /// As [`build`](Self::build)'s argument checks.
    pub fn hook_names(mut self) -> Result<Vec<String>> {
        let (hooks, _) = self.assemble()?;
        Ok(hooks.iter().map(|h| short_name(h.name())).collect())
    }

    /// Creates the monitored session: hooks' `begin`, graph frozen, session created (restored from
    /// `checkpoint_dir` on the chief), hooks' `after_create_session`.
    ///
    /// # Errors
    /// `InvalidArgument` "save_checkpoint_secs and save_checkpoint_steps: Can not provide both ..." (and
    /// the same for summaries) when both periods are positive (TF raises the hook's `ValueError`); what
    /// the hooks and the creator report.
    pub fn build(mut self) -> Result<MonitoredSession> {
        let (hooks, creator) = self.assemble()?;
        let grace = self.stop_grace_period;
        MonitoredSession::builder(self.graph)
            .session_creator(creator)
            .hooks(hooks)
            .stop_grace_period(grace)
            .build()
    }
}

/// `a::b::Name<T>` -> `Name` (hook names default to the type's path).
fn short_name(name: &str) -> String {
    let base = name.split('<').next().unwrap_or(name);
    base.rsplit("::").next().unwrap_or(base).to_string()
}
