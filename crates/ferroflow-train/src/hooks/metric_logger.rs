//! `MetricLoggerHook` (beyond TF1): appends one row per logged step to a CSV or JSON-lines file.

use super::{f64_of, global_step_read, step_of};
use crate::trigger::{Every, SecondOrStepTimer};
use crate::{SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Error, Result};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::{Fetch, Session};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricFormat {
    /// `step,wall_time,<tag>...` with a header row (written when the file is new or empty).
    Csv,
    /// One JSON object per line: `{"step": .., "wall_time": .., "<tag>": ..}`.
    JsonLines,
}

/// Every N global steps or seconds, fetches the chosen scalars and appends a row with the true global
/// step (`stale + 1` for one-step runs) and the wall time. Appends, so a restarted run continues the
/// same file. Flushed at `end`.
///
/// ```
/// use ferroflow_train::hooks::{MetricFormat, MetricLoggerHook};
/// use ferroflow_train::Every;
/// let hook = MetricLoggerHook::new("/tmp/metrics.csv", MetricFormat::Csv, Every::Steps(10))?;
/// # let _ = hook;
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Debug)]
pub struct MetricLoggerHook {
    path: PathBuf,
    format: MetricFormat,
    timer: SecondOrStepTimer,
    metrics: Vec<(String, Output)>,
    file: Option<BufWriter<File>>,
    gs: Option<Output>,
    fetch: Option<SessionRunArgs>,
}

impl MetricLoggerHook {
    /// A logger writing to `path` on the period `every`. Add columns with [`metric`](Self::metric).
    ///
    /// # Errors
    /// `InvalidArgument` naming `every` for a non-positive period.
    pub fn new(path: impl Into<PathBuf>, format: MetricFormat, every: Every) -> Result<Self> {
        Ok(MetricLoggerHook {
            path: path.into(),
            format,
            timer: SecondOrStepTimer::new(every.validate("every")?)?,
            metrics: Vec::new(),
            file: None,
            gs: None,
            fetch: None,
        })
    }

    /// Adds a scalar column.
    pub fn metric(mut self, tag: impl Into<String>, tensor: Output) -> Self {
        self.metrics.push((tag.into(), tensor));
        self
    }

    fn write_row(&mut self, step: i64, values: &[f64]) -> Result<()> {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let line = match self.format {
            MetricFormat::Csv => {
                let mut s = format!("{step},{wall:.3}");
                for v in values {
                    s.push_str(&format!(",{v}"));
                }
                s
            }
            MetricFormat::JsonLines => {
                let mut obj = serde_json::Map::new();
                obj.insert("step".into(), step.into());
                obj.insert("wall_time".into(), wall.into());
                for ((tag, _), v) in self.metrics.iter().zip(values) {
                    // NaN and infinities are not JSON numbers: written as null.
                    obj.insert(
                        tag.clone(),
                        serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, Into::into),
                    );
                }
                serde_json::Value::Object(obj).to_string()
            }
        };
        if let Some(f) = &mut self.file {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl SessionRunHook for MetricLoggerHook {
    fn name(&self) -> &str {
        "MetricLoggerHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        let gs = global_step_read(graph, "MetricLoggerHook")?.0;
        self.gs = Some(gs);
        let mut fetches = vec![Fetch::Tensor(gs)];
        fetches.extend(self.metrics.iter().map(|(_, o)| Fetch::Tensor(*o)));
        self.fetch = Some(SessionRunArgs::new(Fetch::List(fetches)));
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&self.path).map_err(|e| {
            Error::invalid_argument(format!("path: cannot open {}: {e}", self.path.display()))
        })?;
        let empty = file.metadata()?.len() == 0;
        let mut w = BufWriter::new(file);
        if empty && self.format == MetricFormat::Csv {
            let mut header = String::from("step,wall_time");
            for (tag, _) in &self.metrics {
                header.push(',');
                header.push_str(tag);
            }
            writeln!(w, "{header}")?;
        }
        self.file = Some(w);
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(self.fetch.clone())
    }

    fn after_run(&mut self, _: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let Some(r) = values.results else { return Ok(()) };
        let step = step_of(r.get(0)?)? + 1;
        if !self.timer.should_trigger_for_step(step) {
            return Ok(());
        }
        self.timer.update_last_triggered_step(step);
        let mut vals = Vec::with_capacity(self.metrics.len());
        for i in 0..self.metrics.len() {
            vals.push(f64_of(r.get(i + 1)?)?);
        }
        self.write_row(step, &vals)
    }

    fn end(&mut self, _: Option<&mut dyn Session>) -> Result<()> {
        if let Some(f) = &mut self.file {
            f.flush()?;
        }
        Ok(())
    }
}
