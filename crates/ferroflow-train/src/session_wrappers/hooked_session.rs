//! `_HookedSession`: calls hooks around each run and merges their fetches, feeds and options into the
//! caller's single run.

use crate::{SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues};
use ferroflow_core::{Error, Result, Tensor};
use ferroflow_graph::{Graph, Operation, Output};
use ferroflow_session::{Fetch, Fetched, RunMetadata, RunOptions, RunRequest, Session};
use parking_lot::Mutex;
use std::sync::Arc;

/// The hooks of one monitored session, shared by the session (begin/end), the creator
/// (after_create_session) and the hooked session (before/after run).
pub(crate) type SharedHooks = Arc<Mutex<Vec<Box<dyn SessionRunHook>>>>;

/// TF's message for a run after a hook asked to stop.
pub(crate) const RUN_AFTER_STOP: &str = "Run called even after should_stop requested.";

/// Runs hooks around each run of the raw session; latches a stop requested by a hook.
pub(crate) struct HookedSession {
    sess: Option<Box<dyn Session>>,
    hooks: SharedHooks,
    should_stop: bool,
}

impl HookedSession {
    pub(crate) fn new(sess: Box<dyn Session>, hooks: SharedHooks) -> Self {
        HookedSession { sess: Some(sess), hooks, should_stop: false }
    }

    /// `_WrappedSession.should_stop`: the hook-requested flag (sticky until a recovery builds a new
    /// `HookedSession`); a closed session always reports stop.
    pub(crate) fn should_stop(&self) -> bool {
        self.should_stop || self.sess.is_none()
    }

    pub(crate) fn raw_session(&mut self) -> Option<&mut (dyn Session + 'static)> {
        self.sess.as_deref_mut()
    }

    pub(crate) fn graph(&self) -> Option<&Arc<Graph>> {
        self.sess.as_ref().map(|s| s.graph())
    }

    /// Closes the raw session (once); later closes do nothing.
    pub(crate) fn close(&mut self) -> Result<()> {
        match self.sess.take() {
            Some(mut s) => s.close(),
            None => Ok(()),
        }
    }

    /// One run with hooks, in TF's exact order (spec 2.2).
    pub(crate) fn run(
        &mut self,
        fetches: &Fetch,
        feeds: &[(Output, Tensor)],
        options: &RunOptions,
        run_metadata: Option<&mut RunMetadata>,
    ) -> Result<Fetched> {
        if self.should_stop {
            return Err(Error::failed_precondition(RUN_AFTER_STOP));
        }
        let sess = self.sess.as_deref_mut().ok_or_else(closed)?;
        let mut hooks = self.hooks.lock();
        let mut ctx = SessionRunContext::new(fetches, feeds, sess);

        // before_run, in hook order; the first failure skips the rest and the run.
        let mut opts: Option<RunOptions> = None;
        let mut hook_feeds: Vec<(Output, Tensor)> = Vec::new();
        let mut hook_fetches: Vec<Option<Fetch>> = Vec::with_capacity(hooks.len());
        for hook in hooks.iter_mut() {
            let args = hook
                .before_run(&mut ctx)
                .map_err(|e| e.context(format_args!("hook {} before_run", hook.name())))?;
            let Some(SessionRunArgs { fetches: asked, feeds: fed, options: wanted }) = args else {
                hook_fetches.push(None);
                continue;
            };
            hook_fetches.push(asked);
            if !fed.is_empty() {
                let conflicts: Vec<Output> =
                    fed.iter().map(|(o, _)| *o).filter(|o| hook_feeds.iter().any(|(h, _)| h == o)).collect();
                if !conflicts.is_empty() {
                    return Err(conflict_error(ctx.session().graph(), "two hooks", &conflicts));
                }
                hook_feeds.extend(fed);
            }
            if let Some(o) = wanted {
                // Cloned only when a hook asks for options, so plain runs stay allocation-free here.
                opts.get_or_insert_with(|| options.clone()).merge(&o);
            }
        }

        // Feeds: the caller's as they are unless hooks feed too; a tensor fed twice is an error.
        let merged_feeds = if hook_feeds.is_empty() {
            feeds.to_vec()
        } else {
            let conflicts: Vec<Output> =
                feeds.iter().map(|(o, _)| *o).filter(|o| hook_feeds.iter().any(|(h, _)| h == o)).collect();
            if !conflicts.is_empty() {
                return Err(conflict_error(ctx.session().graph(), "a SessionRunHook and user", &conflicts));
            }
            hook_feeds.extend(feeds.iter().cloned());
            hook_feeds
        };

        // One flat request for the caller's and every hook's fetches; a tensor asked for twice is
        // computed once.
        let mut request = RunRequest {
            feeds: merged_feeds,
            options: opts.unwrap_or_else(|| options.clone()),
            ..Default::default()
        };
        flatten(fetches, &mut request.fetches, &mut request.targets);
        for f in hook_fetches.iter().flatten() {
            flatten(f, &mut request.fetches, &mut request.targets);
        }
        let outputs = ctx.session().run_request(&request)?;

        // after_run, in hook order, each with the values it asked for.
        let metadata = outputs.metadata;
        for (hook, asked) in hooks.iter_mut().zip(&hook_fetches) {
            let results = match asked {
                Some(f) => Some(rebuild(f, &request.fetches, &outputs.values)?),
                None => None,
            };
            let values = SessionRunValues {
                results: results.as_ref(),
                options: &request.options,
                run_metadata: &metadata,
            };
            hook.after_run(&mut ctx, &values)
                .map_err(|e| e.context(format_args!("hook {} after_run", hook.name())))?;
        }
        self.should_stop |= ctx.stop_requested();
        let result = rebuild(fetches, &request.fetches, &outputs.values)?;
        if let Some(md) = run_metadata {
            *md = metadata;
        }
        Ok(result)
    }
}

pub(crate) fn closed() -> Error {
    Error::failed_precondition("Attempted to use a closed Session.")
}

fn conflict_error(graph: &Graph, who: &str, conflicts: &[Output]) -> Error {
    let names: Vec<String> = conflicts.iter().map(|o| format!("'{}'", graph.output_name(*o))).collect();
    Error::invalid_argument(format!("Same tensor is fed by {who}. Conflict(s): [{}]", names.join(", ")))
}

/// The tensors and targets of a nested fetch, deduplicated, appended to flat lists.
pub(crate) fn flatten(fetch: &Fetch, tensors: &mut Vec<Output>, targets: &mut Vec<Operation>) {
    match fetch {
        Fetch::Tensor(o) => {
            if !tensors.contains(o) {
                tensors.push(*o);
            }
        }
        Fetch::Op(op) => {
            if !targets.contains(op) {
                targets.push(*op);
            }
        }
        Fetch::List(v) => v.iter().for_each(|f| flatten(f, tensors, targets)),
        Fetch::Map(m) => m.values().for_each(|f| flatten(f, tensors, targets)),
    }
}

/// The values of a nested fetch, looked up in the flat results.
pub(crate) fn rebuild(fetch: &Fetch, tensors: &[Output], values: &[Tensor]) -> Result<Fetched> {
    Ok(match fetch {
        Fetch::Tensor(o) => {
            let value = tensors.iter().position(|t| t == o).and_then(|i| values.get(i));
            Fetched::Tensor(
                value
                    .cloned()
                    .ok_or_else(|| Error::internal("a fetched tensor is missing from the run's results"))?,
            )
        }
        Fetch::Op(_) => Fetched::None,
        Fetch::List(v) => {
            Fetched::List(v.iter().map(|f| rebuild(f, tensors, values)).collect::<Result<_>>()?)
        }
        Fetch::Map(m) => Fetched::Map(
            m.iter().map(|(k, f)| Ok((k.clone(), rebuild(f, tensors, values)?))).collect::<Result<_>>()?,
        ),
    })
}
