//! The `Session` trait and TF's `session.run(fetches, feed_dict, options, run_metadata)` on top of it.

use crate::{Fetch, Fetched, RunMetadata, RunOptions, RunOutputs, RunRequest};
use ferroflow_core::{Result, Tensor};
use ferroflow_graph::{Graph, Output};
use std::sync::Arc;

/// A session runs a frozen graph (TF's `tf.Session`). Small and object-safe, so wrappers such as
/// `MonitoredSession`'s stack can hold `Box<dyn Session>`.
pub trait Session: Send {
    /// Runs one flat request.
    ///
    /// # Errors
    /// `InvalidArgument` for bad feeds or fetches, `FailedPrecondition` after `close` or on an
    /// uninitialized variable, `DeadlineExceeded` past the timeout, and any kernel's error.
    fn run_request(&mut self, request: &RunRequest) -> Result<RunOutputs>;

    /// The graph this session runs.
    fn graph(&self) -> &Arc<Graph>;

    /// Releases the session's resources; later runs fail. Closing twice is fine.
    ///
    /// # Errors
    /// Whatever releasing resources reports.
    fn close(&mut self) -> Result<()>;

    /// The threads this session's kernels run in the background (prefetching iterators), for a
    /// supervisor to stop and join; `None` for sessions that run kernels elsewhere.
    fn background_threads(&self) -> Option<Arc<crate::BackgroundThreads>> {
        None
    }
}

impl<S: Session + ?Sized> Session for Box<S> {
    fn run_request(&mut self, request: &RunRequest) -> Result<RunOutputs> {
        (**self).run_request(request)
    }
    fn graph(&self) -> &Arc<Graph> {
        (**self).graph()
    }
    fn close(&mut self) -> Result<()> {
        (**self).close()
    }
    fn background_threads(&self) -> Option<Arc<crate::BackgroundThreads>> {
        (**self).background_threads()
    }
}

/// TF's `session.run` with nested fetches, for every [`Session`].
pub trait SessionExt: Session {
    /// `session.run(fetches, feed_dict)`: results come back in the shape of `fetches`; a tensor fetched
    /// twice is computed once.
    ///
    /// # Errors
    /// As [`Session::run_request`].
    fn run(&mut self, fetches: impl Into<Fetch>, feeds: &[(Output, Tensor)]) -> Result<Fetched> {
        self.run_with(fetches, feeds, &RunOptions::default(), None)
    }

    /// `session.run(fetches, feed_dict, options, run_metadata)`.
    ///
    /// # Errors
    /// As [`Session::run_request`].
    fn run_with(
        &mut self,
        fetches: impl Into<Fetch>,
        feeds: &[(Output, Tensor)],
        options: &RunOptions,
        run_metadata: Option<&mut RunMetadata>,
    ) -> Result<Fetched> {
        let fetch = fetches.into();
        let mut request =
            RunRequest { feeds: feeds.to_vec(), options: options.clone(), ..Default::default() };
        fetch.flatten(&mut request.fetches, &mut request.targets);
        let outputs = self.run_request(&request)?;
        if let Some(md) = run_metadata {
            *md = outputs.metadata;
        }
        fetch.rebuild(&request.fetches, &outputs.values)
    }
}

impl<S: Session + ?Sized> SessionExt for S {}

/// Creates sessions for a master string (TF's `SessionFactory`): `""` is an in-process
/// [`DirectSession`](crate::DirectSession); other schemes (`grpc://`) come from other crates.
pub trait SessionFactory: Send + Sync {
    /// A new session on `target` for `graph`.
    ///
    /// # Errors
    /// `InvalidArgument` for a target this factory does not serve; `Unavailable` when it cannot be
    /// reached.
    fn new_session(
        &self,
        target: &str,
        graph: Arc<Graph>,
        options: &crate::SessionOptions,
    ) -> Result<Box<dyn Session>>;
}

/// The factory for in-process sessions: accepts `""` and `"local"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalSessionFactory;

impl SessionFactory for LocalSessionFactory {
    fn new_session(
        &self,
        target: &str,
        graph: Arc<Graph>,
        options: &crate::SessionOptions,
    ) -> Result<Box<dyn Session>> {
        if !target.is_empty() && target != "local" {
            return Err(ferroflow_core::Error::invalid_argument(format!(
                "no session factory for target '{target}' (in-process sessions use \"\")"
            )));
        }
        Ok(Box::new(crate::DirectSession::with_options(graph, options.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn Session) {}
}
