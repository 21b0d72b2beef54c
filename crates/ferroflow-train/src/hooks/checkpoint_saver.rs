//! `CheckpointSaverHook`: saves checkpoints every N seconds or steps, after session creation and at the
//! end (TF's `tf.train.CheckpointSaverHook`).

use super::{global_step_read, read_step, step_of, CheckpointSaverListener, ListenerAction};
use crate::trigger::{Clock, Every, SecondOrStepTimer};
use crate::{
    Coordinator, Saver, Scaffold, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues,
};
use ferroflow_core::{Error, Result};
use ferroflow_graph::{GraphBuilder, GraphKeys, Output};
use ferroflow_proto::{SessionLog, SessionStatus};
use ferroflow_session::Session;
use ferroflow_summary::{FileWriter, SummaryWriterCache};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Saves checkpoints to `<checkpoint_dir>/<basename>-<step>`:
/// * in `after_create_session` (step 0, or the restored step; again after every recovery);
/// * after a run whose global step crossed the timer's period (re-reading the true step first);
/// * in `end`, unless the last save was at that step.
///
/// Each save calls every listener's `before_save`, saves, writes a `SessionLog CHECKPOINT` event (with
/// the base path, as TF) to the directory's cached summary writer, then calls every listener's
/// `after_save`; a listener returning `ListenerAction::StopTraining` requests a stop (ignored for the saves in
/// `after_create_session` and `end`, as in TF).
///
/// The saver is the one given, else the scaffold's, else the single one of the `savers` collection
/// (which `Scaffold::finalize` fills), looked up after the graph is frozen.
///
/// ```
/// use ferroflow_train::hooks::CheckpointSaverHook;
/// use ferroflow_train::Every;
/// let hook = CheckpointSaverHook::new("/tmp/model", Every::Steps(100))?;
/// assert!(CheckpointSaverHook::new("/tmp/model", Every::Secs(0.0)).is_err());
/// # let _ = hook;
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
pub struct CheckpointSaverHook {
    checkpoint_dir: PathBuf,
    save_path: PathBuf,
    timer: SecondOrStepTimer,
    saver: Option<Saver>,
    scaffold: Option<Scaffold>,
    listeners: Vec<Box<dyn CheckpointSaverListener>>,
    steps_per_run: i64,
    gs: Option<Output>,
    writer: Option<Arc<FileWriter>>,
}

impl std::fmt::Debug for CheckpointSaverHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSaverHook")
            .field("save_path", &self.save_path)
            .field("every", &self.timer.every())
            .field("listeners", &self.listeners.len())
            .finish_non_exhaustive()
    }
}

impl CheckpointSaverHook {
    /// A hook saving to `<checkpoint_dir>/model.ckpt-<step>` on the period `every`.
    ///
    /// # Errors
    /// `InvalidArgument` naming `save_secs`/`save_steps` for a non-positive period.
    pub fn new(checkpoint_dir: impl Into<PathBuf>, every: Every) -> Result<Self> {
        let arg = match every {
            Every::Secs(_) => "save_secs",
            Every::Steps(_) => "save_steps",
        };
        let checkpoint_dir = checkpoint_dir.into();
        Ok(CheckpointSaverHook {
            save_path: checkpoint_dir.join("model.ckpt"),
            checkpoint_dir,
            timer: SecondOrStepTimer::new(every.validate(arg)?)?,
            saver: None,
            scaffold: None,
            listeners: Vec::new(),
            steps_per_run: 1,
            gs: None,
            writer: None,
        })
    }

    /// The file name of checkpoints in the directory. By default, `model.ckpt`.
    pub fn checkpoint_basename(mut self, basename: &str) -> Self {
        self.save_path = self.checkpoint_dir.join(basename);
        self
    }

    /// Saves with this saver. By default, the scaffold's or the `savers` collection's.
    ///
    /// # Errors
    /// `InvalidArgument` "You cannot provide both saver and scaffold." when a scaffold was given.
    pub fn saver(mut self, saver: Saver) -> Result<Self> {
        if self.scaffold.is_some() {
            return Err(Error::invalid_argument("saver: You cannot provide both saver and scaffold."));
        }
        self.saver = Some(saver);
        Ok(self)
    }

    /// Takes the saver from this scaffold (its explicit saver, else the `savers` collection).
    ///
    /// # Errors
    /// `InvalidArgument` "You cannot provide both saver and scaffold." when a saver was given.
    pub fn scaffold(mut self, scaffold: Scaffold) -> Result<Self> {
        if self.saver.is_some() {
            return Err(Error::invalid_argument("scaffold: You cannot provide both saver and scaffold."));
        }
        self.scaffold = Some(scaffold);
        Ok(self)
    }

    /// Adds a listener (called in the order added).
    pub fn listener(mut self, listener: impl CheckpointSaverListener + 'static) -> Self {
        self.listeners.push(Box::new(listener));
        self
    }

    /// How many global steps one run advances (TF's `_set_steps_per_run`). By default, 1.
    pub fn steps_per_run(mut self, steps: i64) -> Self {
        self.steps_per_run = steps.max(1);
        self
    }

    /// Reads time from `clock` (tests). By default, the system clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.timer = self.timer.with_clock(clock);
        self
    }

    /// The checkpoint prefix without the step (`<dir>/<basename>`).
    pub fn save_path(&self) -> &Path {
        &self.save_path
    }

    /// TF's `_get_saver`, cached after the first lookup.
    fn resolve_saver(&mut self, session: &dyn Session) -> Result<Saver> {
        if let Some(s) = &self.saver {
            return Ok(s.clone());
        }
        if let Some(s) = self.scaffold.as_ref().and_then(Scaffold::saver) {
            self.saver = Some(s.clone());
            return Ok(s.clone());
        }
        let graph = session.graph();
        let saver = match graph.collection(GraphKeys::SAVERS) {
            [] => {
                return Err(Error::failed_precondition(
                    "No items in collection savers. Please add a saver to the collection or provide a saver or scaffold.",
                ))
            }
            [one] => Saver::from_save_op(graph, one.as_op())?,
            _ => {
                return Err(Error::failed_precondition(
                    "More than one item in collection savers. Please indicate which one to use by passing it to the constructor.",
                ))
            }
        };
        self.saver = Some(saver.clone());
        Ok(saver)
    }

    /// TF's `_save`: listeners' `before_save`, save, CHECKPOINT event, every listener's `after_save`;
    /// returns whether one asked to stop.
    fn save(&mut self, session: &mut dyn Session, step: i64) -> Result<bool> {
        tracing::info!(step, path = %self.save_path.display(), "Saving checkpoints");
        for l in &mut self.listeners {
            l.before_save(session, step)?;
        }
        let saver = self.resolve_saver(session)?;
        saver.save(session, &self.save_path, Some(step))?;
        if let Some(w) = &self.writer {
            let log = SessionLog {
                status: SessionStatus::Checkpoint as i32,
                checkpoint_path: self.save_path.to_string_lossy().into_owned(),
                msg: String::new(),
            };
            w.add_session_log(&log, step)?;
        }
        let mut stop = false;
        for l in &mut self.listeners {
            stop |= l.after_save(session, step)? == ListenerAction::StopTraining;
        }
        Ok(stop)
    }
}

impl SessionRunHook for CheckpointSaverHook {
    fn name(&self) -> &str {
        "CheckpointSaverHook"
    }

    fn begin(&mut self, graph: &mut GraphBuilder) -> Result<()> {
        self.writer = Some(SummaryWriterCache::get(&self.checkpoint_dir)?);
        self.gs = Some(global_step_read(graph, "CheckpointSaverHook")?.0);
        for l in &mut self.listeners {
            l.begin()?;
        }
        Ok(())
    }

    fn after_create_session(&mut self, session: &mut dyn Session, _: &Arc<Coordinator>) -> Result<()> {
        let Some(gs) = self.gs else { return Ok(()) };
        let step = read_step(session, gs)?;
        if let Some(w) = self.writer.clone() {
            // TF adds the graph and the meta graph each time, so TensorBoard shows the graph that runs.
            let graph_def = session.graph().to_graph_def_bytes();
            w.add_graph(&graph_def)?;
            let saver = self.resolve_saver(session)?;
            w.add_meta_graph(&meta_graph_def(session.graph(), &saver, &graph_def)?, None)?;
        }
        // A listener's stop request is ignored here, as in TF.
        self.save(session, step)?;
        self.timer.update_last_triggered_step(step);
        Ok(())
    }

    fn before_run(&mut self, _: &mut SessionRunContext<'_>) -> Result<Option<SessionRunArgs>> {
        Ok(self.gs.map(SessionRunArgs::new))
    }

    fn after_run(&mut self, ctx: &mut SessionRunContext<'_>, values: &SessionRunValues<'_>) -> Result<()> {
        let (Some(gs), Some(r)) = (self.gs, values.results) else { return Ok(()) };
        let stale = step_of(r)?;
        if self.timer.should_trigger_for_step(stale + self.steps_per_run) {
            let step = read_step(ctx.session(), gs)?;
            if self.timer.should_trigger_for_step(step) {
                self.timer.update_last_triggered_step(step);
                if self.save(ctx.session(), step)? {
                    ctx.request_stop();
                }
            }
        }
        Ok(())
    }

    fn end(&mut self, session: Option<&mut dyn Session>) -> Result<()> {
        let (Some(session), Some(gs)) = (session, self.gs) else { return Ok(()) };
        let last = read_step(session, gs)?;
        if Some(last) != self.timer.last_triggered_step() {
            self.save(session, last)?;
        }
        for l in &mut self.listeners {
            l.end(session, last)?;
        }
        if let Some(w) = &self.writer {
            w.flush()?;
        }
        Ok(())
    }
}

/// A serialized `MetaGraphDef` with the graph and the saver's `SaverDef` (save tensor, restore op,
/// retention, V2 format), as TF's `create_meta_graph_def(graph_def, saver_def)` for the summary writer.
/// The filename tensor and `meta_info_def` are left out.
fn meta_graph_def(graph: &ferroflow_graph::Graph, saver: &Saver, graph_def: &[u8]) -> Result<Vec<u8>> {
    use ferroflow_proto::prost::encoding;
    let mut saver_def = Vec::new();
    let save = format!("{}:0", graph.node(saver.save_op())?.name);
    encoding::string::encode(2, &save, &mut saver_def);
    let restore = graph.node(saver.restore_op())?.name.clone();
    encoding::string::encode(3, &restore, &mut saver_def);
    let options = saver.options();
    let max_to_keep = options.max_to_keep.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX));
    encoding::int32::encode(4, &max_to_keep, &mut saver_def);
    // keep_checkpoint_every_n_hours is a float in the proto.
    encoding::float::encode(6, &(options.keep_checkpoint_every_n_hours as f32), &mut saver_def);
    // SaverDef.CheckpointFormatVersion V2.
    encoding::int32::encode(7, &2, &mut saver_def);
    let mut meta = Vec::with_capacity(graph_def.len() + saver_def.len() + 16);
    encoding::bytes::encode(2, &graph_def.to_vec(), &mut meta);
    encoding::bytes::encode(3, &saver_def, &mut meta);
    Ok(meta)
}
