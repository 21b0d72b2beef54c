//! Session creators: how a monitored session gets (and re-gets, after a preemption) its raw session
//! (TF's `SessionCreator`, `ChiefSessionCreator`, `WorkerSessionCreator`).

use crate::{PrepareSessionOptions, Scaffold, SessionManager, SessionManagerOptions};
use ferroflow_core::{Error, Result};
use ferroflow_graph::{Graph, GraphBuilder};
use ferroflow_session::{Fetch, LocalSessionFactory, Session, SessionFactory, SessionOptions};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Creates the raw session of a monitored session (TF's `tf.train.SessionCreator`).
pub trait SessionCreator: Send {
    /// Called once, after the hooks' `begin`: adds the creator's default ops (a scaffold's) and freezes
    /// the graph. By default, only freezes it.
    ///
    /// # Errors
    /// What building the default ops reports.
    fn finalize(&mut self, graph: &mut GraphBuilder) -> Result<Arc<Graph>> {
        Ok(graph.finalize())
    }

    /// A new, ready session. Called at construction and after every preemption.
    ///
    /// # Errors
    /// `Aborted`/`Unavailable` are retried by a `MonitoredSession`; anything else propagates.
    fn create_session(&mut self) -> Result<Box<dyn Session>>;
}

impl<C: SessionCreator + ?Sized> SessionCreator for Box<C> {
    fn finalize(&mut self, graph: &mut GraphBuilder) -> Result<Arc<Graph>> {
        (**self).finalize(graph)
    }
    fn create_session(&mut self) -> Result<Box<dyn Session>> {
        (**self).create_session()
    }
}

fn not_finalized(who: &str) -> Error {
    Error::failed_precondition(format!("{who}: finalize must be called before create_session"))
}

fn manager_for(
    scaffold: &Scaffold,
    graph: &Arc<Graph>,
    factory: &Arc<dyn SessionFactory>,
) -> Result<SessionManager> {
    SessionManager::new(
        Arc::clone(graph),
        SessionManagerOptions {
            local_init_op: scaffold.local_init_op().map(Fetch::Op),
            ready_op: scaffold.ready_op(),
            ready_for_local_init_op: scaffold.ready_for_local_init_op(),
            local_init_feed_dict: scaffold.local_init_feed_dict().map(<[_]>::to_vec).unwrap_or_default(),
            factory: Arc::clone(factory),
            ..Default::default()
        },
    )
}

/// Creates a session on the chief: restores the latest checkpoint or initializes the model (TF's
/// `tf.train.ChiefSessionCreator`).
pub struct ChiefSessionCreator {
    scaffold: Scaffold,
    master: String,
    config: SessionOptions,
    checkpoint_dir: Option<PathBuf>,
    checkpoint_filename_with_path: Option<PathBuf>,
    factory: Arc<dyn SessionFactory>,
    graph: Option<Arc<Graph>>,
    manager: Option<SessionManager>,
}

impl std::fmt::Debug for ChiefSessionCreator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChiefSessionCreator")
            .field("master", &self.master)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("checkpoint_filename_with_path", &self.checkpoint_filename_with_path)
            .finish_non_exhaustive()
    }
}

impl Default for ChiefSessionCreator {
    fn default() -> Self {
        ChiefSessionCreator::new(Scaffold::new())
    }
}

impl ChiefSessionCreator {
    /// A creator with this scaffold, master `""` (in-process) and no checkpoint.
    pub fn new(scaffold: Scaffold) -> Self {
        ChiefSessionCreator {
            scaffold,
            master: String::new(),
            config: SessionOptions::default(),
            checkpoint_dir: None,
            checkpoint_filename_with_path: None,
            factory: Arc::new(LocalSessionFactory),
            graph: None,
            manager: None,
        }
    }

    /// The session target. By default, `""`.
    pub fn master(mut self, master: impl Into<String>) -> Self {
        self.master = master.into();
        self
    }

    /// The session options.
    pub fn config(mut self, config: SessionOptions) -> Self {
        self.config = config;
        self
    }

    /// Restore the latest checkpoint of this directory when there is one.
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// Restore this checkpoint.
    pub fn checkpoint_filename_with_path(mut self, prefix: impl Into<PathBuf>) -> Self {
        self.checkpoint_filename_with_path = Some(prefix.into());
        self
    }

    /// The factory that creates sessions for the master string. By default, in-process sessions.
    pub fn factory(mut self, factory: Arc<dyn SessionFactory>) -> Self {
        self.factory = factory;
        self
    }

    /// The scaffold (finalized once the creator is).
    pub fn scaffold(&self) -> &Scaffold {
        &self.scaffold
    }
}

impl SessionCreator for ChiefSessionCreator {
    fn finalize(&mut self, graph: &mut GraphBuilder) -> Result<Arc<Graph>> {
        let g = self.scaffold.finalize(graph)?;
        self.graph = Some(Arc::clone(&g));
        Ok(g)
    }

    fn create_session(&mut self) -> Result<Box<dyn Session>> {
        let graph = self.graph.as_ref().ok_or_else(|| not_finalized("ChiefSessionCreator"))?;
        // Built once and reused on every later creation, as in TF.
        if self.manager.is_none() {
            self.manager = Some(manager_for(&self.scaffold, graph, &self.factory)?);
        }
        let manager = self.manager.as_ref().ok_or_else(|| not_finalized("ChiefSessionCreator"))?;
        manager.prepare_session(
            &self.master,
            PrepareSessionOptions {
                init_op: self.scaffold.init_op().map(Fetch::Op),
                saver: self.scaffold.saver().cloned(),
                checkpoint_dir: self.checkpoint_dir.clone(),
                checkpoint_filename_with_path: self.checkpoint_filename_with_path.clone(),
                config: self.config.clone(),
                init_feed_dict: self.scaffold.init_feed_dict().map(<[_]>::to_vec).unwrap_or_default(),
                init_fn: self.scaffold.init_fn().cloned(),
                ..Default::default()
            },
        )
    }
}

/// Creates a session on a worker: waits until the chief has initialized the model (TF's
/// `tf.train.WorkerSessionCreator`). A worker never restores checkpoints itself.
pub struct WorkerSessionCreator {
    scaffold: Scaffold,
    master: String,
    config: SessionOptions,
    max_wait: Option<Duration>,
    factory: Arc<dyn SessionFactory>,
    graph: Option<Arc<Graph>>,
    manager: Option<SessionManager>,
}

impl std::fmt::Debug for WorkerSessionCreator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerSessionCreator")
            .field("master", &self.master)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl Default for WorkerSessionCreator {
    fn default() -> Self {
        WorkerSessionCreator::new(Scaffold::new())
    }
}

impl WorkerSessionCreator {
    /// A creator with this scaffold, master `""` and TF's default wait of 1800 s.
    pub fn new(scaffold: Scaffold) -> Self {
        WorkerSessionCreator {
            scaffold,
            master: String::new(),
            config: SessionOptions::default(),
            max_wait: Some(Duration::from_secs(1800)),
            factory: Arc::new(LocalSessionFactory),
            graph: None,
            manager: None,
        }
    }

    /// The session target.
    pub fn master(mut self, master: impl Into<String>) -> Self {
        self.master = master.into();
        self
    }

    /// The session options.
    pub fn config(mut self, config: SessionOptions) -> Self {
        self.config = config;
        self
    }

    /// How long to wait for the model to be ready; `None` waits forever.
    pub fn max_wait(mut self, max_wait: Option<Duration>) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The factory that creates sessions for the master string.
    pub fn factory(mut self, factory: Arc<dyn SessionFactory>) -> Self {
        self.factory = factory;
        self
    }
}

impl SessionCreator for WorkerSessionCreator {
    fn finalize(&mut self, graph: &mut GraphBuilder) -> Result<Arc<Graph>> {
        let g = self.scaffold.finalize(graph)?;
        self.graph = Some(Arc::clone(&g));
        Ok(g)
    }

    fn create_session(&mut self) -> Result<Box<dyn Session>> {
        let graph = self.graph.as_ref().ok_or_else(|| not_finalized("WorkerSessionCreator"))?;
        if self.manager.is_none() {
            self.manager = Some(manager_for(&self.scaffold, graph, &self.factory)?);
        }
        let manager = self.manager.as_ref().ok_or_else(|| not_finalized("WorkerSessionCreator"))?;
        manager.wait_for_session(&self.master, &self.config, self.max_wait.map(|d| d.as_secs_f64()))
    }
}
