//! `Scaffold`: the pieces needed to initialize, check and save a model, filled with TF's defaults at
//! `finalize` (TF's `tf.train.Scaffold` in `monitored_session.py`).

use crate::{InitFn, Saver, SaverOptions};
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use ferroflow_graph::{CollectionItem, Graph, GraphBuilder, GraphKeys, NodeSpec, Operation, Output};
use ferroflow_session::kernel::{KernelInit, OpKernel, OpKernelContext};
use ferroflow_session::register_kernel;
use std::sync::{Arc, Once};

/// The pieces a session creator uses: init op and feeds, init function, ready ops, local init op, summary
/// op and saver. Every piece left `None` is created at [`finalize`](Scaffold::finalize), or taken from its
/// graph collection when that holds exactly one item, so two default scaffolds share the same ops.
///
/// ```
/// use ferroflow_core::Tensor;
/// use ferroflow_graph::{GraphBuilder, VariableOptions};
/// use ferroflow_train::Scaffold;
/// let mut g = GraphBuilder::new();
/// let c = g.constant(Tensor::scalar(0.0f32))?;
/// g.variable("my_var", c, VariableOptions::default())?;
/// let mut scaffold = Scaffold::new();
/// assert!(scaffold.init_op().is_none());
/// let graph = scaffold.finalize(&mut g)?;
/// assert!(scaffold.init_op().is_some() && scaffold.saver().is_some());
/// assert!(g.is_finalized() && graph.len() == g.len());
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Scaffold {
    init_op: Option<Operation>,
    init_feed_dict: Option<Vec<(Output, Tensor)>>,
    init_fn: Option<InitFn>,
    ready_op: Option<Output>,
    ready_for_local_init_op: Option<Output>,
    local_init_op: Option<Operation>,
    local_init_feed_dict: Option<Vec<(Output, Tensor)>>,
    summary_op: Option<Output>,
    saver: Option<Saver>,
}

impl std::fmt::Debug for Scaffold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scaffold")
            .field("init_op", &self.init_op)
            .field("init_fn", &self.init_fn.is_some())
            .field("ready_op", &self.ready_op)
            .field("ready_for_local_init_op", &self.ready_for_local_init_op)
            .field("local_init_op", &self.local_init_op)
            .field("summary_op", &self.summary_op)
            .field("saver", &self.saver)
            .finish_non_exhaustive()
    }
}

macro_rules! setters_and_getters {
    ($($field:ident: $ty:ty => $set:ident, $doc:literal;)*) => {
        $(
            #[doc = concat!("Sets ", $doc, ".")]
            pub fn $set(mut self, value: $ty) -> Self {
                self.$field = Some(value);
                self
            }
        )*
    };
}

impl Scaffold {
    /// A scaffold with every piece left to `finalize`.
    pub fn new() -> Self {
        Scaffold::default()
    }

    /// A scaffold whose pieces not set later are taken from `other` (TF's `copy_from_scaffold`). Copying
    /// happens now: pieces `other` has not yet got (before its `finalize`) stay unset.
    pub fn copy_from(other: &Scaffold) -> Self {
        other.clone()
    }

    setters_and_getters! {
        init_op: Operation => with_init_op, "the op that initializes the model (default: `global_variables_initializer`)";
        init_feed_dict: Vec<(Output, Tensor)> => with_init_feed_dict, "the feeds of the init op";
        init_fn: InitFn => with_init_fn, "a function run after the init op when nothing was restored";
        ready_op: Output => with_ready_op, "the op listing uninitialized variables (default: all variables)";
        ready_for_local_init_op: Output => with_ready_for_local_init_op, "the op listing variables that must be initialized before the local init op (default: global variables)";
        local_init_op: Operation => with_local_init_op, "the local init op (default: local variables and tables)";
        local_init_feed_dict: Vec<(Output, Tensor)> => with_local_init_feed_dict, "the feeds of the local init op";
        summary_op: Output => with_summary_op, "the summary op (default: all summaries merged, if any)";
        saver: Saver => with_saver, "the saver (default: the one of the `savers` collection, else a new one)";
    }

    /// The init op.
    pub fn init_op(&self) -> Option<Operation> {
        self.init_op
    }
    /// The feeds of the init op.
    pub fn init_feed_dict(&self) -> Option<&[(Output, Tensor)]> {
        self.init_feed_dict.as_deref()
    }
    /// The init function.
    pub fn init_fn(&self) -> Option<&InitFn> {
        self.init_fn.as_ref()
    }
    /// The ready op.
    pub fn ready_op(&self) -> Option<Output> {
        self.ready_op
    }
    /// The ready-for-local-init op.
    pub fn ready_for_local_init_op(&self) -> Option<Output> {
        self.ready_for_local_init_op
    }
    /// The local init op.
    pub fn local_init_op(&self) -> Option<Operation> {
        self.local_init_op
    }
    /// The feeds of the local init op.
    pub fn local_init_feed_dict(&self) -> Option<&[(Output, Tensor)]> {
        self.local_init_feed_dict.as_deref()
    }
    /// The summary op (`None` also after `finalize` when the graph has no summaries).
    pub fn summary_op(&self) -> Option<Output> {
        self.summary_op
    }
    /// The saver.
    pub fn saver(&self) -> Option<&Saver> {
        self.saver.as_ref()
    }

    /// Fills every piece still unset with TF's default, then freezes the graph and returns it. Idempotent:
    /// session creators call it on every (re)creation.
    ///
    /// # Errors
    /// `FailedPrecondition` "More than one item in the collection ..." when a collection that provides a
    /// default holds several items; `FailedPrecondition` when a default must be built in a frozen graph.
    pub fn finalize(&mut self, g: &mut GraphBuilder) -> Result<Arc<Graph>> {
        if self.init_op.is_none() {
            self.init_op = Some(match single(g, GraphKeys::INIT_OP, "init_op")? {
                Some(item) => item.as_op(),
                None => {
                    let op = g.global_variables_initializer()?;
                    g.add_to_collection(GraphKeys::INIT_OP, CollectionItem::Op(op))?;
                    op
                }
            });
        }
        if self.ready_op.is_none() {
            self.ready_op = Some(tensor_or_default(g, GraphKeys::READY_OP, "ready_op", |g| {
                g.report_uninitialized_variables(None)
            })?);
        }
        if self.ready_for_local_init_op.is_none() {
            self.ready_for_local_init_op = Some(tensor_or_default(
                g,
                GraphKeys::READY_FOR_LOCAL_INIT_OP,
                "ready_for_local_init_op",
                |g| {
                    let globals = g.global_variables();
                    g.report_uninitialized_variables(Some(&globals))
                },
            )?);
        }
        if self.local_init_op.is_none() {
            self.local_init_op = Some(match single(g, GraphKeys::LOCAL_INIT_OP, "local_init_op")? {
                Some(item) => item.as_op(),
                None => {
                    let mut ops = vec![g.local_variables_initializer()?];
                    ops.extend(g.collection(GraphKeys::TABLE_INITIALIZERS).iter().map(CollectionItem::as_op));
                    let op = g.group(&ops, "group_deps")?;
                    g.add_to_collection(GraphKeys::LOCAL_INIT_OP, CollectionItem::Op(op))?;
                    op
                }
            });
        }
        if self.summary_op.is_none() {
            self.summary_op = match single(g, GraphKeys::SUMMARY_OP, "summary_op")? {
                Some(item) => item.as_tensor(),
                None => {
                    let op = merge_all(g)?;
                    if let Some(op) = op {
                        g.add_to_collection(GraphKeys::SUMMARY_OP, CollectionItem::Tensor(op))?;
                    }
                    op
                }
            };
        }
        if self.saver.is_none() {
            self.saver = Some(match g.collection(GraphKeys::SAVERS) {
                [] => {
                    let saver = Saver::new(g, None, SaverOptions { allow_empty: true, ..Default::default() })?;
                    g.add_to_collection(GraphKeys::SAVERS, CollectionItem::Op(saver.save_op()))?;
                    saver
                }
                [one] => Saver::from_save_op(g, one.as_op())?,
                _ => {
                    return Err(Error::failed_precondition(format!(
                        "More than one item in collection {}. Please indicate which one to use by passing it to the constructor.",
                        GraphKeys::SAVERS
                    )))
                }
            });
        }
        let graph = g.finalize();
        tracing::info!("Graph was finalized.");
        Ok(graph)
    }
}

/// The single item of a collection, `None` when empty, an error when several.
fn single(g: &GraphBuilder, key: &str, arg: &str) -> Result<Option<CollectionItem>> {
    match g.collection(key) {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(Error::failed_precondition(format!(
            "More than one item in the collection \"{key}\". Please indicate which one to use by passing it to the tf.Scaffold constructor as: tf.Scaffold({arg}=item to use)"
        ))),
    }
}

fn tensor_or_default(
    g: &mut GraphBuilder,
    key: &str,
    arg: &str,
    make: impl FnOnce(&mut GraphBuilder) -> Result<Output>,
) -> Result<Output> {
    if let Some(t) = single(g, key, arg)?.and_then(|item| item.as_tensor()) {
        return Ok(t);
    }
    let t = make(g)?;
    g.add_to_collection(key, CollectionItem::Tensor(t))?;
    Ok(t)
}

/// `tf.summary.merge_all()`: `None` without summaries; the only summary as is; else a `MergeSummary`
/// node (serialized `Summary` protos concatenate into their merge, since its one field is repeated).
fn merge_all(g: &mut GraphBuilder) -> Result<Option<Output>> {
    let summaries: Vec<Output> =
        g.collection(GraphKeys::SUMMARIES).iter().filter_map(CollectionItem::as_tensor).collect();
    match summaries.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => {
            static ONCE: Once = Once::new();
            ONCE.call_once(|| register_kernel("MergeSummary", merge_summary_kernel));
            let spec = NodeSpec::new("MergeSummary", summaries)
                .name(Some("Merge/MergeSummary"))
                .output(DType::String, PartialShape::scalar());
            Ok(Some(g.add_node(spec)?.output(0)))
        }
    }
}

struct MergeSummary;

impl OpKernel for MergeSummary {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let mut merged = Vec::new();
        for t in ctx.inputs.iter() {
            for s in t.to_vec::<Vec<u8>>()? {
                merged.extend_from_slice(&s);
            }
        }
        ctx.output(Tensor::string(merged));
        Ok(())
    }
}

fn merge_summary_kernel(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(MergeSummary))
}
