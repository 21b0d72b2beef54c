//! `SessionManager`: creates sessions that are restored from a checkpoint or initialized, and waits for
//! a model that another task initializes (TF's `session_manager.py`).

use crate::Saver;
use ferroflow_checkpoint::{latest_valid_checkpoint, verify, CheckpointState};
use ferroflow_core::{Code, DType, Error, Result, Tensor};
use ferroflow_graph::{Graph, Output};
use ferroflow_session::{
    Fetch, LocalSessionFactory, RunOptions, Session, SessionExt, SessionFactory, SessionOptions,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A function that initializes a model in a session (TF's `init_fn`), run when no checkpoint was
/// restored.
pub type InitFn = Arc<dyn Fn(&mut dyn Session) -> Result<()> + Send + Sync>;

/// Knobs of a [`SessionManager`] (TF's constructor arguments).
#[derive(Clone)]
pub struct SessionManagerOptions {
    /// Run after initialization or restore, once `ready_for_local_init_op` reports ready.
    pub local_init_op: Option<Fetch>,
    /// A string vector of the names of uninitialized variables; the model is ready when it is empty.
    pub ready_op: Option<Output>,
    /// As `ready_op`, checked before running `local_init_op`.
    pub ready_for_local_init_op: Option<Output>,
    /// Seconds between checks for a checkpoint or a ready model. By default, 30.
    pub recovery_wait_secs: f64,
    /// Options of the `local_init_op` run.
    pub local_init_run_options: Option<RunOptions>,
    /// Feeds of the `local_init_op` run.
    pub local_init_feed_dict: Vec<(Output, Tensor)>,
    /// Creates the sessions for a master string. By default, in-process sessions (`""`).
    pub factory: Arc<dyn SessionFactory>,
}

impl Default for SessionManagerOptions {
    fn default() -> Self {
        SessionManagerOptions {
            local_init_op: None,
            ready_op: None,
            ready_for_local_init_op: None,
            recovery_wait_secs: 30.0,
            local_init_run_options: None,
            local_init_feed_dict: Vec::new(),
            factory: Arc::new(LocalSessionFactory),
        }
    }
}

impl std::fmt::Debug for SessionManagerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManagerOptions")
            .field("local_init_op", &self.local_init_op)
            .field("ready_op", &self.ready_op)
            .field("ready_for_local_init_op", &self.ready_for_local_init_op)
            .field("recovery_wait_secs", &self.recovery_wait_secs)
            .finish_non_exhaustive()
    }
}

/// Arguments of [`SessionManager::prepare_session`] and [`SessionManager::recover_session`].
#[derive(Clone)]
pub struct PrepareSessionOptions {
    /// Initializes the model when nothing was restored.
    pub init_op: Option<Fetch>,
    /// Restores checkpoints.
    pub saver: Option<Saver>,
    /// Restore the latest checkpoint of this directory.
    pub checkpoint_dir: Option<PathBuf>,
    /// Restore this checkpoint prefix.
    pub checkpoint_filename_with_path: Option<PathBuf>,
    /// Wait for a checkpoint to appear in `checkpoint_dir`.
    pub wait_for_checkpoint: bool,
    /// How long to wait for a checkpoint, counted in `recovery_wait_secs` sleeps. By default, 7200.
    pub max_wait_secs: f64,
    /// Options of the new session.
    pub config: SessionOptions,
    /// Feeds of the `init_op` run.
    pub init_feed_dict: Vec<(Output, Tensor)>,
    /// Called after `init_op` when nothing was restored.
    pub init_fn: Option<InitFn>,
}

impl Default for PrepareSessionOptions {
    fn default() -> Self {
        PrepareSessionOptions {
            init_op: None,
            saver: None,
            checkpoint_dir: None,
            checkpoint_filename_with_path: None,
            wait_for_checkpoint: false,
            max_wait_secs: 7200.0,
            config: SessionOptions::default(),
            init_feed_dict: Vec::new(),
            init_fn: None,
        }
    }
}

impl std::fmt::Debug for PrepareSessionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrepareSessionOptions")
            .field("init_op", &self.init_op)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("checkpoint_filename_with_path", &self.checkpoint_filename_with_path)
            .field("wait_for_checkpoint", &self.wait_for_checkpoint)
            .field("max_wait_secs", &self.max_wait_secs)
            .field("init_fn", &self.init_fn.is_some())
            .finish_non_exhaustive()
    }
}

/// Creates sessions from checkpoints or initialization and checks that the model is ready (TF's
/// `tf.train.SessionManager`).
///
/// ```
/// use ferroflow_core::Tensor;
/// use ferroflow_graph::{GraphBuilder, VariableOptions};
/// use ferroflow_session::SessionExt;
/// use ferroflow_session::Fetch;
/// use ferroflow_train::{PrepareSessionOptions, SessionManager, SessionManagerOptions};
///
/// let mut g = GraphBuilder::new();
/// let c = g.constant(Tensor::vector(vec![1.0f32, 2.0, 3.0]))?;
/// let v = g.variable("v", c, VariableOptions::default())?;
/// let ready = g.report_uninitialized_variables(None)?;
/// let init = g.global_variables_initializer()?;
/// let sm = SessionManager::new(g.finalize(), SessionManagerOptions { ready_op: Some(ready), ..Default::default() })?;
/// let mut sess = sm.prepare_session("", PrepareSessionOptions { init_op: Some(Fetch::Op(init)), ..Default::default() })?;
/// assert_eq!(sess.run(v.value(), &[])?.tensor()?.to_vec::<f32>()?, [1.0, 2.0, 3.0]);
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
pub struct SessionManager {
    graph: Arc<Graph>,
    options: SessionManagerOptions,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager").field("options", &self.options).finish_non_exhaustive()
    }
}

impl SessionManager {
    /// A manager of sessions on `graph`.
    ///
    /// # Errors
    /// `InvalidArgument` when `ready_for_local_init_op` is given without `local_init_op`.
    pub fn new(graph: Arc<Graph>, options: SessionManagerOptions) -> Result<SessionManager> {
        if let (Some(r), None) = (options.ready_for_local_init_op, &options.local_init_op) {
            return Err(Error::invalid_argument(format!(
                "If you pass a ready_for_local_init_op you must also pass a local_init_op , ready_for_local_init_op [{}]",
                graph.output_name(r)
            )));
        }
        Ok(SessionManager { graph, options })
    }

    /// The graph.
    pub fn graph(&self) -> &Arc<Graph> {
        &self.graph
    }

    fn new_session(&self, master: &str, config: &SessionOptions) -> Result<Box<dyn Session>> {
        self.options.factory.new_session(master, Arc::clone(&self.graph), config)
    }

    fn recovery_wait(&self) -> Duration {
        Duration::from_secs_f64(self.options.recovery_wait_secs.max(0.0))
    }

    /// A new session restored from a checkpoint if one is found; `(session, restored)`.
    fn restore_checkpoint(
        &self,
        master: &str,
        opts: &PrepareSessionOptions,
    ) -> Result<(Box<dyn Session>, bool)> {
        // TF creates the session first, even when the arguments are then rejected.
        let mut sess = self.new_session(master, &opts.config)?;
        if opts.checkpoint_dir.is_some() && opts.checkpoint_filename_with_path.is_some() {
            return Err(Error::invalid_argument(
                "Can not provide both checkpoint_dir and checkpoint_filename_with_path.",
            ));
        }
        let Some(saver) = &opts.saver else { return Ok((sess, false)) };
        if let Some(path) = &opts.checkpoint_filename_with_path {
            saver.restore(&mut *sess, path)?;
            return Ok((sess, true));
        }
        let Some(dir) = &opts.checkpoint_dir else { return Ok((sess, false)) };
        // Waiting is counted in sleeps of `recovery_wait_secs`, as TF does: with max_wait_secs=2 and the
        // default 30 s it sleeps once for 30 s.
        let mut waited = 0.0;
        let state = loop {
            match CheckpointState::read(dir)? {
                Some(s) if !s.model_checkpoint_path.is_empty() => break s,
                _ if opts.wait_for_checkpoint && waited < opts.max_wait_secs => {
                    tracing::info!(dir = %dir.display(), "Waiting for checkpoint to be available.");
                    std::thread::sleep(self.recovery_wait());
                    waited += self.options.recovery_wait_secs;
                }
                _ => return Ok((sess, false)),
            }
        };
        // Verify the newest checkpoint and fall back to the newest one that reads back whole, so that a
        // checkpoint damaged by a crash does not stop training.
        let mut path = PathBuf::from(&state.model_checkpoint_path);
        if let Err(error) = verify(&path) {
            match latest_valid_checkpoint(dir)? {
                Some(valid) => {
                    tracing::warn!(%error, bad = %path.display(), using = %valid.display(), "latest checkpoint is damaged; restoring an older one");
                    path = valid;
                }
                None => tracing::warn!(%error, path = %path.display(), "latest checkpoint is damaged"),
            }
        }
        saver.restore(&mut *sess, &path)?;
        saver.recover_last_checkpoints(&state.all_paths());
        Ok((sess, true))
    }

    /// A session restored from a checkpoint, or initialized with `init_op` and `init_fn`, then
    /// `local_init_op`, checked with `ready_op` (TF's `prepare_session`). When restored, neither `init_op`
    /// nor `init_fn` runs.
    ///
    /// # Errors
    /// `FailedPrecondition` "Model is not initialized and no init_op or init_fn or local_init_op was
    /// given", "Init operations did not make model ready for local_init. ..." or "Init operations did not
    /// make model ready. ..."; `InvalidArgument` when both checkpoint arguments are given; restore and
    /// run errors.
    pub fn prepare_session(&self, master: &str, opts: PrepareSessionOptions) -> Result<Box<dyn Session>> {
        let (mut sess, restored) = self.restore_checkpoint(master, &opts)?;
        if !restored {
            if opts.init_op.is_none() && opts.init_fn.is_none() && self.options.local_init_op.is_none() {
                return Err(Error::failed_precondition(
                    "Model is not initialized and no init_op or init_fn or local_init_op was given",
                ));
            }
            if let Some(op) = &opts.init_op {
                sess.run(op.clone(), &opts.init_feed_dict)?;
            }
            if let Some(f) = &opts.init_fn {
                f(&mut *sess)?;
            }
        }
        let init_op_name = opts.init_op.as_ref().map_or("None".to_string(), |f| self.describe(f));
        let init_fn_name = if opts.init_fn.is_some() { "<init_fn>" } else { "None" };
        let (ok, msg) = self.try_run_local_init_op(&mut *sess)?;
        if !ok {
            return Err(Error::failed_precondition(format!(
                "Init operations did not make model ready for local_init.  Init op: {init_op_name}, init fn: {init_fn_name}, error: {}",
                msg.unwrap_or_default()
            )));
        }
        let (ready, msg) = self.model_ready(&mut *sess)?;
        if !ready {
            let local = self.options.local_init_op.as_ref().map_or("None".to_string(), |f| self.describe(f));
            return Err(Error::failed_precondition(format!(
                "Init operations did not make model ready.  Init op: {init_op_name}, init fn: {init_fn_name}, local_init_op: {local}, error: {}",
                msg.unwrap_or_default()
            )));
        }
        Ok(sess)
    }

    /// A session restored from a checkpoint if possible, always trying `local_init_op`; `(session,
    /// initialized)`, where `initialized` is false when nothing was restored or the model is not ready
    /// (TF's `recover_session`). The init fields of `opts` are ignored.
    ///
    /// # Errors
    /// `InvalidArgument` when both checkpoint arguments are given; restore and run errors.
    pub fn recover_session(
        &self,
        master: &str,
        opts: PrepareSessionOptions,
    ) -> Result<(Box<dyn Session>, bool)> {
        let (mut sess, restored) = self.restore_checkpoint(master, &opts)?;
        let (local_ok, local_msg) = self.try_run_local_init_op(&mut *sess)?;
        if !restored {
            return Ok((sess, false));
        }
        if !local_ok {
            tracing::info!(reason = ?local_msg, "Restoring model from checkpoint failed to make the model ready for local init");
            return Ok((sess, false));
        }
        let (ready, msg) = self.model_ready(&mut *sess)?;
        if !ready {
            tracing::info!(reason = ?msg, "Restoring model from checkpoint did not make the model ready");
            return Ok((sess, false));
        }
        tracing::info!("Restored model from checkpoint");
        Ok((sess, true))
    }

    /// Polls with a new session every `recovery_wait_secs` until the model is ready (initialized by
    /// another task); `max_wait_secs = None` waits forever (TF's `wait_for_session`).
    ///
    /// # Errors
    /// `DeadlineExceeded` "Session was not ready after waiting N secs." once less than one
    /// `recovery_wait_secs` is left; session creation and run errors.
    pub fn wait_for_session(
        &self,
        master: &str,
        config: &SessionOptions,
        max_wait_secs: Option<f64>,
    ) -> Result<Box<dyn Session>> {
        let start = Instant::now();
        loop {
            let mut sess = self.new_session(master, config)?;
            let (local_ok, local_msg) = self.try_run_local_init_op(&mut *sess)?;
            let mut ready_msg = None;
            if local_ok {
                let (ready, msg) = self.model_ready(&mut *sess)?;
                if ready {
                    return Ok(sess);
                }
                ready_msg = msg;
            }
            let _ = sess.close();
            if let Some(max) = max_wait_secs {
                let remaining = (max - start.elapsed().as_secs_f64()).max(0.0);
                if remaining - self.options.recovery_wait_secs < 0.0 {
                    return Err(Error::deadline_exceeded(format!(
                        "Session was not ready after waiting {} secs.",
                        max as i64
                    )));
                }
            }
            tracing::info!(
                ready_for_local_init = ?local_msg,
                ready = ?ready_msg,
                "Waiting for model to be ready."
            );
            std::thread::sleep(self.recovery_wait());
        }
    }

    /// Runs `local_init_op` if the model is ready for it; `(ran or not needed, reason)`.
    fn try_run_local_init_op(&self, sess: &mut dyn Session) -> Result<(bool, Option<String>)> {
        let Some(op) = &self.options.local_init_op else { return Ok((true, None)) };
        let (ready, msg) = ready(self.options.ready_for_local_init_op, sess)?;
        if !ready {
            return Ok((false, msg));
        }
        let options = self.options.local_init_run_options.clone().unwrap_or_default();
        sess.run_with(op.clone(), &self.options.local_init_feed_dict, &options, None)?;
        Ok((true, None))
    }

    fn model_ready(&self, sess: &mut dyn Session) -> Result<(bool, Option<String>)> {
        ready(self.options.ready_op, sess)
    }

    fn describe(&self, fetch: &Fetch) -> String {
        match fetch {
            Fetch::Op(op) => self.graph.op_name(*op).to_string(),
            Fetch::Tensor(t) => self.graph.output_name(*t),
            Fetch::List(v) => {
                format!("[{}]", v.iter().map(|f| self.describe(f)).collect::<Vec<_>>().join(", "))
            }
            Fetch::Map(m) => format!(
                "{{{}}}",
                m.iter().map(|(k, f)| format!("{k}: {}", self.describe(f))).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// TF's `_ready`: ready when the op is absent or reports nothing; an old-style ready op that fails with
/// `FailedPrecondition` mentioning "uninitialized" means "not ready".
fn ready(op: Option<Output>, sess: &mut dyn Session) -> Result<(bool, Option<String>)> {
    let Some(op) = op else { return Ok((true, None)) };
    match sess.run(op, &[]).and_then(|v| v.into_tensor()) {
        Ok(t) => {
            // int32 results are accepted for backward compatibility, as in TF.
            if t.num_elements() == 0 || t.dtype() == DType::I32 {
                return Ok((true, None));
            }
            let names: Vec<String> = match t.to_vec::<Vec<u8>>() {
                Ok(v) => v.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect(),
                Err(_) => vec![format!("{t:?}")],
            };
            Ok((false, Some(format!("Variables not initialized: {}", names.join(", ")))))
        }
        Err(e) if e.code() == Code::FailedPrecondition && e.message().contains("uninitialized") => {
            Ok((false, Some(e.message().to_string())))
        }
        Err(e) => {
            tracing::warn!(error = %e, "Model not ready raised");
            Err(e)
        }
    }
}
