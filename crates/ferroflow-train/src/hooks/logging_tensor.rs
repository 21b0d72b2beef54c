//! `LoggingTensorHook`: logs tensor values every N local iterations or seconds, and/or at the end
//! (TF's `tf.train.LoggingTensorHook`).

use super::tensor_by_name;
use crate::trigger::{Clock, Every, SecondOrStepTimer};
use crate::{SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Error, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{Fetch, Fetched, Session, SessionExt};

/// Turns `(tag, value)` pairs into the log message (TF's `formatter`).
pub type Formatter = Box<dyn Fn(&[(String, Tensor)]) -> String + Send>;

/// Where log lines go: `tracing::info!` by default, or a closure (tests, custom sinks).
type Sink = Box<dyn FnMut(&str) + Send>;

/// A tensor to log: a handle, or a name resolved in `begin` (`"loss"` means `loss:0`).
#[derive(Debug, Clone)]
enum Target {
    Output(Output),
    Name(String),
}

/// Logs `tag = value` pairs. Counts local iterations (this hook's `run` calls), not global steps:
/// with `Every::Steps(n)` it logs at iterations 0, n, 2n, ...; every log but the first adds the
/// elapsed seconds, `" (%.3f sec)"`. With `at_end`, the tensors are also run and logged in `end`.
///
/// ```
/// use ferroflow_train::hooks::LoggingTensorHook;
/// use ferroflow_train::Every;
/// let hook = LoggingTensorHook::new(Some(Every::Steps(10)), false)?.tensor_name("loss", "loss:0");
/// assert!(LoggingTensorHook::new(None, false).is_err());
/// # let _ = hook;
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
pub struct LoggingTensorHook {
    targets: Vec<(String, Target)>,
    resolved: Vec<(String, Output)>,
    timer: SecondOrStepTimer,
    at_end: bool,
    formatter: Option<Formatter>,
    sink: Option<Sink>,
    iter_count: i64,
    should_trigger: bool,
}

impl std::fmt::Debug for LoggingTensorHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggingTensorHook")
            .field("targets", &self.targets)
            .field("every", &self.timer.every())
            .field("at_end", &self.at_end)
            .finish_non_exhaustive()
    }
}

impl LoggingTensorHook {
    /// A hook logging on the period `every` (in local iterations or seconds), at the end if `at_end`,
    /// or both. Add tensors with [`tensor`](Self::tensor) / [`tensor_name`](Self::tensor_name).
    ///
    /// # Errors
    /// `InvalidArgument` "either at_end and/or exactly one of every_n_iter and every_n_secs must be
    /// provided." when neither is given; "invalid every_n_iter=`n`." for a non-positive count.
    pub fn new(every: Option<Every>, at_end: bool) -> Result<Self> {
        let timer = match every {
            None if at_end => SecondOrStepTimer::never(),
            None => {
                return Err(Error::invalid_argument(
                    "every_n_iter, every_n_secs, at_end: either at_end and/or exactly one of every_n_iter and every_n_secs must be provided.",
                ))
            }
            Some(Every::Steps(n)) if n <= 0 => {
                return Err(Error::invalid_argument(format!("every_n_iter: invalid every_n_iter={n}.")))
            }
            Some(e @ Every::Steps(_)) => SecondOrStepTimer::new(e)?,
            Some(e @ Every::Secs(_)) => SecondOrStepTimer::new(e.validate("every_n_secs")?)?,
        };
        Ok(LoggingTensorHook {
            targets: Vec::new(),
            resolved: Vec::new(),
            timer,
            at_end,
            formatter: None,
            sink: None,
            iter_count: 0,
            should_trigger: false,
        })
    }

    /// Logs `tensor` under `tag` (in the order added).
    pub fn tensor(mut self, tag: impl Into<String>, tensor: Output) -> Self {
        self.targets.push((tag.into(), Target::Output(tensor)));
        self
    }

    /// Logs the tensor named `name` under `tag`; `begin` fails with `InvalidArgument` naming `tensors`
    /// when the graph has no such tensor.
    pub fn tensor_name(mut self, tag: impl Into<String>, name: impl Into<String>) -> Self {
        self.targets.push((tag.into(), Target::Name(name.into())));
        self
    }

    /// Formats the values with `formatter` instead of `tag = value, ...`.
    pub fn formatter(mut self, formatter: impl Fn(&[(String, Tensor)]) -> String + Send + 'static) -> Self {
        self.formatter = Some(Box::new(formatter));
        self
    }

    /// Sends each message to `sink`. By default, `tracing::info!`.
    pub fn sink(mut self, sink: impl FnMut(&str) + Send + 'static) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// Reads time from `clock` (tests). By default, the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.timer = self.timer.with_clock(clock);
        self
    }

    fn fetch(&self) -> Fetch {
        Fetch::List(self.resolved.iter().map(|(_, o)| Fetch::Tensor(*o)).collect())
    }

    fn log(&mut self, values: &Fetched) -> Result<()> {
        let (elapsed, _) = self.timer.update_last_triggered_step(self.iter_count);
        let mut pairs = Vec::with_capacity(self.resolved.len());
        for (i, (tag, _)) in self.resolved.iter().enumerate() {
            pairs.push((tag.clone(), values.get(i)?.tensor()?.clone()));
        }
        let msg = match &self.formatter {
            Some(f) => f(&pairs),
            None => {
                let mut s = pairs
                    .iter()
                    .map(|(t, v)| format!("{t} = {}", format_value(v)))
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Some(secs) = elapsed {
                    s.push_str(&format!(" ({secs:.3} sec)"));
                }
                s
            }
        };
        match &mut self.sink {
            Some(sink) => sink(&msg),
            None => tracing::info!("{msg}"),
        }
        Ok(())
    }
}

/// A scalar as numpy prints it (`42.0`), anything else with the tensor's debug form.
pub(crate) fn format_value(t: &Tensor) -> String {
    if t.num_elements() == 1 {
        if let Ok(v) = t.scalar_value::<f32>() {
            return format!("{v:?}");
        }
        if let Ok(v) = t.scalar_value::<f64>() {
            return format!("{v:?}");
        }
        if let Ok(v) = t.scalar_value::<i64>() {
            return v.to_string();
        }
        if let Ok(v) = t.scalar_value::<i32>() {
            return v.to_string();
        }
    }
    format!("{t:?}")
}

impl SessionRunHook for LoggingTensorHook {
    fn name(&self) -> &str {
        "LoggingTensorHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.timer.reset();
        self.iter_count = 0;
        self.resolved.clear();
        for (tag, target) in &self.targets {
            let out = match target {
                Target::Output(o) => *o,
                Target::Name(n) => tensor_by_name(graph, "tensors", n)?,
            };
            self.resolved.push((tag.clone(), out));
        }
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        self.should_trigger = self.timer.should_trigger_for_step(self.iter_count);
        Ok(self.should_trigger.then(|| SessionRunArgs::new(self.fetch())))
    }

    fn after_run(&mut self, _: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        if self.should_trigger {
            if let Some(r) = values.results {
                self.log(r)?;
            }
        }
        self.iter_count += 1;
        Ok(())
    }

    fn end(&mut self, session: Option<&mut dyn Session>) -> Result<()> {
        if let (true, Some(s)) = (self.at_end, session) {
            let values = s.run(self.fetch(), &[])?;
            self.log(&values)?;
        }
        Ok(())
    }
}
