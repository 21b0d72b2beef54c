//! Iterators as graph ops (TF1's `make_one_shot_iterator`, `make_initializable_iterator`,
//! `Iterator.get_next()`), their kernels, and the save/restore of their state.
//!
//! Lifecycle of an iterator in a session:
//! 1. the graph holds the dataset as a factory: a process-wide registry maps the id stored in the
//!    iterator node's `dataset_id` attribute to the `Arc<dyn Dataset>`, so every session of the
//!    frozen graph can start its own iterator;
//! 2. the first kernel of the iterator instantiated in a session creates an [`IteratorResource`] in the
//!    session's `ResourceManager`, named after the iterator node;
//! 3. a one-shot iterator starts on the first `get_next`; an initializable one on each run of its
//!    `initializer` (a re-run starts over, reshuffling if asked);
//! 4. `get_next` returns the next element, then fails with `OutOfRange` "End of sequence";
//! 5. `SerializeIterator` / [`Iterator::save_state`] capture the position as a string tensor, and
//!    `DeserializeIterator` / [`Iterator::restore_state`] put it back (in the same or a new session).
//!
//! Checkpoints: [`Iterator::saveable`] (TF1's `make_saveable_from_iterator` plus adding it to the
//! `saveable_objects` collection) makes the default `Saver` save the position with the variables,
//! under [`Iterator::checkpoint_key`], and restore it with them. Registration is opt-in, as in TF1:
//! a graph whose iterators are not registered writes exactly the checkpoints it wrote before, and can
//! still restore checkpoints written without iterator state (TF's own, for example).

use crate::{DatasetIterator, DatasetRef, ElementSpec, IteratorContext, IteratorState, IteratorStateWriter};
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use ferroflow_graph::{
    AttrValue, CollectionItem, Graph, GraphBuilder, GraphKeys, Node, NodeSpec, Operation, Output,
};
use ferroflow_session::kernel::FnKernel;
use ferroflow_session::{
    register_kernel, BackgroundThreads, KernelInit, OpKernel, OpKernelContext, ResourceManager,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Once, OnceLock};

const ONE_SHOT: &str = "OneShotIterator";
const INITIALIZABLE: &str = "IteratorV2";
const MAKE_ITERATOR: &str = "MakeIterator";
const GET_NEXT: &str = "IteratorGetNext";
const SERIALIZE: &str = "SerializeIterator";
const DESERIALIZE: &str = "DeserializeIterator";

fn datasets() -> &'static Mutex<HashMap<i64, DatasetRef>> {
    static DATASETS: OnceLock<Mutex<HashMap<i64, DatasetRef>>> = OnceLock::new();
    DATASETS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Keeps a dataset for the life of the process (graphs may be copied and run by any number of
/// sessions, so there is no point at which it is safe to forget it) and returns its id.
fn register_dataset(dataset: &DatasetRef) -> i64 {
    static NEXT: AtomicI64 = AtomicI64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    datasets().lock().insert(id, Arc::clone(dataset));
    id
}

fn lookup_dataset(id: i64) -> Result<DatasetRef> {
    datasets()
        .lock()
        .get(&id)
        .cloned()
        .ok_or_else(|| Error::not_found(format!("no dataset registered with id {id} in this process")))
}

/// Registers the iterator kernels with the session crate. Called by the iterator constructors;
/// calling it again does nothing.
pub fn register_kernels() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        register_kernel(ONE_SHOT, handle_kernel);
        register_kernel(INITIALIZABLE, handle_kernel);
        register_kernel(MAKE_ITERATOR, make_iterator_kernel);
        register_kernel(GET_NEXT, get_next_kernel);
        register_kernel(SERIALIZE, serialize_kernel);
        register_kernel(DESERIALIZE, deserialize_kernel);
    });
}

struct Cursor {
    iterator: Option<Box<dyn DatasetIterator>>,
    /// How many times the iterator was (re)started; picks its [`IteratorContext`].
    generation: u64,
}

/// The per-session state of one iterator op: the running iterator over the op's dataset.
pub struct IteratorResource {
    dataset: DatasetRef,
    one_shot: bool,
    name: String,
    cursor: Mutex<Cursor>,
    /// The session's background threads: prefetch threads of this iterator go there, so that a
    /// coordinator attached to the session stops and joins them.
    threads: Arc<BackgroundThreads>,
}

impl std::fmt::Debug for IteratorResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IteratorResource")
            .field("name", &self.name)
            .field("one_shot", &self.one_shot)
            .finish()
    }
}

impl IteratorResource {
    fn context(&self, generation: u64) -> IteratorContext {
        IteratorContext { threads: Some(Arc::clone(&self.threads)), ..IteratorContext::default() }
            .child(generation)
    }
}

impl IteratorResource {
    fn get_or_create(resources: &ResourceManager, node: &Node) -> Result<Arc<IteratorResource>> {
        let id = node.attrs.int("dataset_id")?;
        let one_shot = node.op_type == ONE_SHOT;
        let name = node.name.clone();
        // Looked up first: `get_or_create` holds the manager's lock while `make` runs.
        let threads = BackgroundThreads::of(resources)?;
        resources.get_or_create(&resource_name(&node.name), || {
            Ok(IteratorResource {
                dataset: lookup_dataset(id)?,
                one_shot,
                name,
                cursor: Mutex::new(Cursor { iterator: None, generation: 0 }),
                threads,
            })
        })
    }

    /// (Re)starts the iterator at the first element.
    ///
    /// # Errors
    /// What starting the dataset's iterator returns (`NotFound` for a missing file, ...).
    pub fn initialize(&self) -> Result<()> {
        let mut c = self.cursor.lock();
        // Drop the old iterator first, so that its prefetch thread is joined before a new one starts.
        c.iterator = None;
        let it = self.dataset.make_iterator(self.context(c.generation))?;
        c.generation += 1;
        c.iterator = Some(it);
        Ok(())
    }

    /// The next element.
    ///
    /// # Errors
    /// `OutOfRange` "End of sequence" at the end; `FailedPrecondition` for an initializable iterator
    /// that was not initialized; the input pipeline's errors.
    pub fn get_next(&self) -> Result<Vec<Tensor>> {
        let mut c = self.cursor.lock();
        if c.iterator.is_none() {
            if !self.one_shot {
                return Err(Error::failed_precondition(
                    "GetNext() failed because the iterator has not been initialized. Ensure that you have \
                     run the initializer operation for this iterator before getting the next element.",
                ));
            }
            let it = self.dataset.make_iterator(self.context(c.generation))?;
            c.generation += 1;
            c.iterator = Some(it);
        }
        let it = c.iterator.as_mut().ok_or_else(|| Error::internal("iterator vanished"))?;
        match it.next()? {
            Some(e) => {
                self.dataset.element_spec().check(&e, "IteratorGetNext")?;
                Ok(e)
            }
            None => Err(Error::out_of_range("End of sequence")),
        }
    }

    /// The iterator's position as a string scalar.
    ///
    /// # Errors
    /// What saving the pipeline returns.
    pub fn save(&self) -> Result<Tensor> {
        let c = self.cursor.lock();
        let mut w = IteratorStateWriter::new();
        w.tag("iterator");
        w.u64(c.generation);
        w.bool(c.iterator.is_some());
        if let Some(it) = &c.iterator {
            it.save(&mut w)?;
        }
        Ok(w.finish().to_tensor())
    }

    /// Moves the iterator to a position saved by [`IteratorResource::save`].
    ///
    /// # Errors
    /// `InvalidArgument` for a state of another pipeline or a corrupt one; errors of reopening input.
    pub fn restore(&self, state: &Tensor) -> Result<()> {
        let state = IteratorState::from_tensor(state)?;
        let mut r = state.reader();
        r.expect_tag("iterator")?;
        let generation = r.u64()?;
        let started = r.bool()?;
        let mut c = self.cursor.lock();
        c.iterator = None;
        if started {
            // The state's generation counts the start that created the saved iterator.
            let mut it = self.dataset.make_iterator(self.context(generation.saturating_sub(1)))?;
            it.restore(&mut r)?;
            c.iterator = Some(it);
        }
        c.generation = generation;
        Ok(())
    }
}

fn resource_name(node_name: &str) -> String {
    format!("iterator:{node_name}")
}

/// The resource of the iterator node feeding input 0 of `node`.
fn input_resource(init: &KernelInit<'_>) -> Result<Arc<IteratorResource>> {
    let handle = init.node.inputs.first().ok_or_else(|| {
        Error::invalid_argument(format!("'{}' needs an iterator handle input", init.node.name))
    })?;
    let source = init.graph.node(handle.op())?;
    if source.op_type != ONE_SHOT && source.op_type != INITIALIZABLE {
        return Err(Error::invalid_argument(format!(
            "'{}': input '{}' is not an iterator (op {})",
            init.node.name, source.name, source.op_type
        )));
    }
    IteratorResource::get_or_create(init.resources, source)
}

fn handle_kernel(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    IteratorResource::get_or_create(init.resources, init.node)?;
    let name = resource_name(&init.node.name);
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        ctx.output(Tensor::string(name.clone()));
        Ok(())
    })))
}

fn make_iterator_kernel(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let res = input_resource(init)?;
    Ok(Box::new(FnKernel(move |_: &mut OpKernelContext<'_>| res.initialize())))
}

fn get_next_kernel(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let res = input_resource(init)?;
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        for t in res.get_next()? {
            ctx.output(t);
        }
        Ok(())
    })))
}

fn serialize_kernel(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let res = input_resource(init)?;
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| {
        let t = res.save()?;
        ctx.output(t);
        Ok(())
    })))
}

fn deserialize_kernel(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let res = input_resource(init)?;
    Ok(Box::new(FnKernel(move |ctx: &mut OpKernelContext<'_>| res.restore(ctx.input(1)?))))
}

/// An iterator in a graph (TF1's `tf.data.Iterator`): the handle op, its initializer, and the
/// element spec of what `get_next` returns.
#[derive(Clone)]
pub struct Iterator {
    handle: Output,
    initializer: Option<Operation>,
    node_name: String,
    dataset: DatasetRef,
}

impl std::fmt::Debug for Iterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iterator")
            .field("node", &self.node_name)
            .field("initializer", &self.initializer)
            .finish()
    }
}

fn iterator_node(g: &mut GraphBuilder, dataset: &DatasetRef, op_type: &str) -> Result<(Output, String)> {
    register_kernels();
    let spec = dataset.element_spec();
    if spec.is_empty() || spec.dtypes.len() != spec.shapes.len() {
        return Err(Error::invalid_argument("an iterator needs a dataset with at least one component"));
    }
    let id = register_dataset(dataset);
    let op = g.add_node(
        NodeSpec::new(op_type, Vec::new())
            .attr("dataset_id", AttrValue::Int(id))
            .attr("output_types", AttrValue::Types(spec.dtypes.clone()))
            .output(DType::String, PartialShape::scalar()),
    )?;
    let name = g.op_name(op).to_string();
    Ok((op.output(0), name))
}

/// `dataset.make_one_shot_iterator()`: an iterator that starts by itself on the first `get_next`
/// and cannot be re-initialized.
///
/// # Errors
/// `InvalidArgument` for a dataset without components; `FailedPrecondition` on a finalized graph.
pub fn make_one_shot_iterator(g: &mut GraphBuilder, dataset: &DatasetRef) -> Result<Iterator> {
    let (handle, node_name) = iterator_node(g, dataset, ONE_SHOT)?;
    Ok(Iterator { handle, initializer: None, node_name, dataset: Arc::clone(dataset) })
}

/// `dataset.make_initializable_iterator()`: an iterator started (and restarted) by running its
/// [`initializer`](Iterator::initializer).
///
/// # Errors
/// As [`make_one_shot_iterator`].
pub fn make_initializable_iterator(g: &mut GraphBuilder, dataset: &DatasetRef) -> Result<Iterator> {
    let (handle, node_name) = iterator_node(g, dataset, INITIALIZABLE)?;
    let init = g.add_node(NodeSpec::new(MAKE_ITERATOR, vec![handle]).name(Some("MakeIterator")))?;
    Ok(Iterator { handle, initializer: Some(init), node_name, dataset: Arc::clone(dataset) })
}

impl Iterator {
    /// `iterator.get_next()`: one output per component, with the dataset's dtypes and shapes. Each
    /// call adds a node; every run of any of them advances the same iterator.
    ///
    /// # Errors
    /// `FailedPrecondition` on a finalized graph.
    pub fn get_next(&self, g: &mut GraphBuilder) -> Result<Vec<Output>> {
        let spec = self.dataset.element_spec();
        let mut node = NodeSpec::new(GET_NEXT, vec![self.handle]).name(Some("IteratorGetNext"));
        for (d, s) in spec.dtypes.iter().zip(&spec.shapes) {
            node = node.output(*d, s.clone());
        }
        let op = g.add_node(node)?;
        Ok((0..spec.len()).map(|i| op.output(i)).collect())
    }

    /// The op that (re)starts the iterator; `None` for a one-shot iterator.
    pub fn initializer(&self) -> Option<Operation> {
        self.initializer
    }

    /// The handle tensor (a string naming the iterator's resource).
    pub fn string_handle(&self) -> Output {
        self.handle
    }

    /// The dtypes and shapes of the elements.
    pub fn element_spec(&self) -> &ElementSpec {
        self.dataset.element_spec()
    }

    /// A `SerializeIterator` op: its output is the iterator's state as a string scalar.
    ///
    /// # Errors
    /// `FailedPrecondition` on a finalized graph.
    pub fn serialize(&self, g: &mut GraphBuilder) -> Result<Output> {
        let op = g.add_node(
            NodeSpec::new(SERIALIZE, vec![self.handle])
                .name(Some("SerializeIterator"))
                .output(DType::String, PartialShape::scalar()),
        )?;
        Ok(op.output(0))
    }

    /// A `DeserializeIterator` op that restores the iterator from `state` (a string scalar, e.g. a
    /// placeholder fed with a saved state).
    ///
    /// # Errors
    /// `InvalidArgument` when `state` is not a string; `FailedPrecondition` on a finalized graph.
    pub fn deserialize(&self, g: &mut GraphBuilder, state: Output) -> Result<Operation> {
        if g.dtype(state)? != DType::String {
            return Err(Error::invalid_argument("DeserializeIterator needs a string state"));
        }
        g.add_node(NodeSpec::new(DESERIALIZE, vec![self.handle, state]).name(Some("DeserializeIterator")))
    }

    /// The key of this iterator's state in a checkpoint: `<iterator node name>/.ATTRIBUTES/ITERATOR_STATE`,
    /// the key TF2's object-based checkpoints give an iterator attribute. Node names are stable when
    /// the graph is rebuilt by the same code, so a restarted process finds its iterator's state.
    pub fn checkpoint_key(&self) -> String {
        format!("{}/.ATTRIBUTES/ITERATOR_STATE", self.node_name)
    }

    /// Makes the iterator's position part of checkpoints (TF1's
    /// `tf.data.experimental.make_saveable_from_iterator` added to the `saveable_objects`
    /// collection): adds a `SerializeIterator` node to [`GraphKeys::SAVEABLE_OBJECTS`], so that a
    /// `Saver` built afterwards over the default variable list saves the state under
    /// [`checkpoint_key`](Self::checkpoint_key) and restores it through `DeserializeIterator`.
    /// Returns the state tensor. Calling it again returns the same tensor.
    ///
    /// Call it before the saver is built (before the scaffold is finalized). Restoring then needs the
    /// key in the checkpoint: a checkpoint without it fails with `NotFound` naming the key, like a
    /// missing variable. Do not run an initializable iterator's `initializer` after a restore: it
    /// starts the iterator over.
    ///
    /// # Errors
    /// `FailedPrecondition` on a finalized graph.
    pub fn saveable(&self, g: &mut GraphBuilder) -> Result<Output> {
        let key = self.checkpoint_key();
        let registered: Vec<Output> =
            g.collection(GraphKeys::SAVEABLE_OBJECTS).iter().filter_map(CollectionItem::as_tensor).collect();
        for t in registered {
            if g.node(t.op())?.attrs.str(GraphKeys::SAVEABLE_KEY_ATTR).ok() == Some(key.as_str()) {
                return Ok(t);
            }
        }
        let op = g.add_node(
            NodeSpec::new(SERIALIZE, vec![self.handle])
                .name(Some("SerializeIterator"))
                .attr(GraphKeys::SAVEABLE_KEY_ATTR, AttrValue::Str(key))
                .attr(GraphKeys::SAVEABLE_RESTORE_OP_ATTR, AttrValue::Str(DESERIALIZE.to_string()))
                .output(DType::String, PartialShape::scalar()),
        )?;
        g.add_to_collection(GraphKeys::SAVEABLE_OBJECTS, CollectionItem::Tensor(op.output(0)))?;
        Ok(op.output(0))
    }

    fn resource(&self, graph: &Graph, resources: &ResourceManager) -> Result<Arc<IteratorResource>> {
        let op = graph
            .operation_by_name(&self.node_name)
            .ok_or_else(|| Error::not_found(format!("iterator '{}' is not in the graph", self.node_name)))?;
        IteratorResource::get_or_create(resources, graph.node(op)?)
    }

    /// The iterator's state in a session (whose `resources()` and `graph()` are passed), for a
    /// checkpoint.
    ///
    /// # Errors
    /// `NotFound` when the graph has no such iterator; what saving the pipeline returns.
    pub fn save_state(&self, graph: &Graph, resources: &ResourceManager) -> Result<Tensor> {
        self.resource(graph, resources)?.save()
    }

    /// Restores the iterator's state in a session from [`Iterator::save_state`]'s tensor.
    ///
    /// # Errors
    /// `InvalidArgument` for a state of another pipeline; errors of reopening input.
    pub fn restore_state(&self, graph: &Graph, resources: &ResourceManager, state: &Tensor) -> Result<()> {
        self.resource(graph, resources)?.restore(state)
    }
}
