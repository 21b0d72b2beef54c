//! `Saver`: save and restore nodes in the graph, checkpoint naming, the state file and retention (TF's
//! `saver.py`). The bundle format itself is the checkpoint crate's.

use ferroflow_checkpoint::{
    checkpoint_exists, checkpoint_prefix, delete_checkpoint, latest_checkpoint, latest_valid_checkpoint,
    meta_filename, verify, BundleReader, BundleWriter, CheckpointState, Deletion, PathStyle, Retention,
    RetentionPolicy, CHECKPOINT_STATE_FILENAME,
};
use ferroflow_core::{Code, DType, Error, PartialShape, Result, Shape, Tensor};
use ferroflow_graph::{AttrValue, Graph, GraphBuilder, GraphKeys, NodeSpec, Operation, Output, Variable};
use ferroflow_session::kernel::{KernelInit, OpKernel, OpKernelContext};
use ferroflow_session::{register_kernel, RunRequest, Session};
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

/// Knobs of a [`Saver`] (TF's constructor arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct SaverOptions {
    /// How many recent checkpoints to keep; `None` (TF's `None` or 0) keeps all and lists only the newest.
    /// By default, 5.
    pub max_to_keep: Option<usize>,
    /// Also keep one checkpoint for good every this many hours. By default, 10000.
    pub keep_checkpoint_every_n_hours: f64,
    /// Allow a saver without variables (its `save` returns `None`). By default, false.
    pub allow_empty: bool,
    /// Write paths relative to the directory in the state file. By default, false (as given).
    pub save_relative_paths: bool,
    /// Name scope of the save/restore nodes. By default, `"save"`.
    pub name: String,
}

impl Default for SaverOptions {
    fn default() -> Self {
        SaverOptions {
            max_to_keep: Some(5),
            keep_checkpoint_every_n_hours: 10000.0,
            allow_empty: false,
            save_relative_paths: false,
            name: "save".to_string(),
        }
    }
}

/// Saves and restores variables (TF's `tf.train.Saver`, V2 format).
///
/// Building adds a `SaveV2` node (inputs: the prefix placeholder and the variables) and a `RestoreV2` node
/// whose outputs are assigned to the variables. With the default variable list, the objects of the
/// [`GraphKeys::SAVEABLE_OBJECTS`] collection (input iterators registered with `Iterator::saveable`) are
/// saved too, after the variables, under their own keys, and restored by the op each names; without
/// such objects the checkpoint is exactly TF's. [`save`](Self::save) writes `<save_path>-<step>`
/// (`.index` + `.data-00000-of-00001`), then the `checkpoint` state file, then deletes at most one
/// checkpoint that fell out of `max_to_keep`.
///
/// ```
/// use ferroflow_core::Tensor;
/// use ferroflow_graph::{GraphBuilder, VariableOptions};
/// use ferroflow_session::{DirectSession, SessionExt};
/// use ferroflow_train::{Saver, SaverOptions};
/// # let dir = tempfile::tempdir()?;
/// let mut g = GraphBuilder::new();
/// let c = g.constant(Tensor::scalar(3.0f32))?;
/// let v = g.variable("v", c, VariableOptions::default())?;
/// let init = g.global_variables_initializer()?;
/// let saver = Saver::new(&mut g, None, SaverOptions::default())?;
/// let mut sess = DirectSession::new(g.finalize());
/// sess.run(init, &[])?;
/// let prefix = saver.save(&mut sess, dir.path().join("model.ckpt"), Some(7))?.expect("has variables");
/// assert!(prefix.ends_with("model.ckpt-7"));
/// assert_eq!(Saver::latest_checkpoint(dir.path())?, Some(prefix.clone()));
/// saver.restore(&mut sess, &prefix)?;
/// assert_eq!(sess.run(v.value(), &[])?.scalar::<f32>()?, 3.0);
/// # Ok::<(), ferroflow_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Saver {
    inner: Arc<Inner>,
}

struct Inner {
    names: Vec<String>,
    filename: Output,
    save_op: Operation,
    restore_op: Operation,
    options: SaverOptions,
    retention: Mutex<Retention>,
}

impl std::fmt::Debug for Saver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saver")
            .field("names", &self.inner.names)
            .field("save_op", &self.inner.save_op)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// Two savers are the same when they use the same save node (as two default scaffolds' savers are).
impl PartialEq for Saver {
    fn eq(&self, other: &Self) -> bool {
        self.inner.save_op == other.inner.save_op
    }
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Saver {
    /// Adds save and restore nodes for `var_list` (by default, every global variable and every
    /// saveable object of [`GraphKeys::SAVEABLE_OBJECTS`], as TF1's default) under `options.name`.
    ///
    /// # Errors
    /// `InvalidArgument` for nothing to save without `allow_empty`, two variables (or saveables) with the
    /// same name, or a saveable entry that does not follow the collection's protocol;
    /// `FailedPrecondition` when the graph is frozen.
    pub fn new(
        graph: &mut GraphBuilder,
        var_list: Option<&[Variable]>,
        options: SaverOptions,
    ) -> Result<Saver> {
        register_kernels();
        let (vars, saveables): (Vec<Variable>, Vec<Saveable>) = match var_list {
            Some(v) => (v.to_vec(), Vec::new()),
            None => (graph.global_variables(), saveables(graph)?),
        };
        if vars.is_empty() && saveables.is_empty() && !options.allow_empty {
            return Err(Error::invalid_argument("No variables to save"));
        }
        let mut names: Vec<String> = Vec::with_capacity(vars.len() + saveables.len());
        for name in vars.iter().map(|v| &v.name).chain(saveables.iter().map(|s| &s.key)) {
            if names.contains(name) {
                return Err(Error::invalid_argument(format!(
                    "At least two variables have the same name: {name}"
                )));
            }
            names.push(name.clone());
        }
        let scope = options.name.clone();
        let (filename, save_op, restore_op) = graph.with_name_scope(&scope, |g| {
            let filename = g.placeholder(DType::String, PartialShape::scalar(), "filename")?;
            let mut restore = NodeSpec::new("RestoreV2", vec![filename])
                .name(Some("RestoreV2"))
                .attr("tensor_names", AttrValue::Strs(names.clone()));
            for v in &vars {
                restore = restore.output(v.dtype, PartialShape::known(v.shape.dims()));
            }
            for _ in &saveables {
                restore = restore.output(DType::String, PartialShape::scalar());
            }
            let restore = g.add_node(restore)?;
            let mut assigns = Vec::with_capacity(vars.len() + saveables.len());
            for (i, v) in vars.iter().enumerate() {
                assigns.push(g.assign(v, restore.output(i))?.op());
            }
            for (i, s) in saveables.iter().enumerate() {
                let mut inputs = s.restore_inputs.clone();
                inputs.push(restore.output(vars.len() + i));
                assigns.push(g.add_node(NodeSpec::new(&s.restore_op, inputs))?);
            }
            let restore_all = g.group(&assigns, "restore_all")?;
            let mut inputs = vec![filename];
            inputs.extend(vars.iter().map(Variable::value));
            inputs.extend(saveables.iter().map(|s| s.tensor));
            let save = g.add_node(
                NodeSpec::new("SaveV2", inputs)
                    .name(Some("SaveV2"))
                    .attr("tensor_names", AttrValue::Strs(names.clone()))
                    .attr("restore_op", AttrValue::Str(g.op_name(restore_all).to_string()))
                    .attr("max_to_keep", AttrValue::Int(options.max_to_keep.map_or(0, |m| m as i64)))
                    .attr(
                        "keep_checkpoint_every_n_hours",
                        AttrValue::Float(options.keep_checkpoint_every_n_hours),
                    )
                    .attr("save_relative_paths", AttrValue::Bool(options.save_relative_paths)),
            )?;
            Ok((filename, save, restore_all))
        })?;
        Ok(Saver::from_parts(names, filename, save_op, restore_op, options))
    }

    fn from_parts(
        names: Vec<String>,
        filename: Output,
        save_op: Operation,
        restore_op: Operation,
        options: SaverOptions,
    ) -> Saver {
        let policy = RetentionPolicy {
            max_to_keep: options.max_to_keep.filter(|&m| m > 0),
            keep_checkpoint_every_n_hours: options.keep_checkpoint_every_n_hours,
        };
        Saver {
            inner: Arc::new(Inner {
                names,
                filename,
                save_op,
                restore_op,
                options,
                retention: Mutex::new(Retention::new(policy, now())),
            }),
        }
    }

    /// The saver whose save node is `save_op` (as stored in the `savers` collection).
    ///
    /// # Errors
    /// `InvalidArgument` when `save_op` is not a saver's `SaveV2` node.
    pub fn from_save_op(graph: &Graph, save_op: Operation) -> Result<Saver> {
        let node = graph.node(save_op)?;
        if node.op_type != "SaveV2" {
            return Err(Error::invalid_argument(format!(
                "node '{}' is not a saver's SaveV2 node",
                node.name
            )));
        }
        let names = node.attrs.strs("tensor_names")?.to_vec();
        let filename = *node
            .inputs
            .first()
            .ok_or_else(|| Error::invalid_argument(format!("SaveV2 node '{}' has no inputs", node.name)))?;
        let restore_name = node.attrs.str("restore_op")?;
        let restore_op = graph.operation_by_name(restore_name).ok_or_else(|| {
            Error::invalid_argument(format!(
                "restore op '{restore_name}' of saver '{}' is missing",
                node.name
            ))
        })?;
        let max = node.attrs.int_or("max_to_keep", 5);
        let options = SaverOptions {
            max_to_keep: usize::try_from(max).ok().filter(|&m| m > 0),
            keep_checkpoint_every_n_hours: node
                .attrs
                .float("keep_checkpoint_every_n_hours")
                .unwrap_or(10000.0),
            allow_empty: names.is_empty(),
            save_relative_paths: node.attrs.bool_or("save_relative_paths", false),
            name: node.name.rsplit_once('/').map_or(String::new(), |(s, _)| s.to_string()),
        };
        Ok(Saver::from_parts(names, filename, save_op, restore_op, options))
    }

    /// The save node (what the `savers` collection holds).
    pub fn save_op(&self) -> Operation {
        self.inner.save_op
    }

    /// The restore node (groups the assignments).
    pub fn restore_op(&self) -> Operation {
        self.inner.restore_op
    }

    /// The checkpoint keys: the variables' names, then the saveable objects' keys.
    pub fn names(&self) -> &[String] {
        &self.inner.names
    }

    /// The options.
    pub fn options(&self) -> &SaverOptions {
        &self.inner.options
    }

    /// Saves the variables' values in `session` to `<save_path>-<global_step>` (or `save_path` without a
    /// step), updates the state file in the same directory and applies retention. Returns the prefix, or
    /// `None` for a saver without variables.
    ///
    /// # Errors
    /// `InvalidArgument` "Parent directory of ... doesn't exist, can't save." or when the prefix collides
    /// with the state file; the run's errors (uninitialized variables are `FailedPrecondition`); I/O errors.
    pub fn save(
        &self,
        session: &mut dyn Session,
        save_path: impl AsRef<Path>,
        global_step: Option<i64>,
    ) -> Result<Option<PathBuf>> {
        if self.inner.names.is_empty() {
            return Ok(None);
        }
        let save_path = save_path.as_ref();
        let prefix = match global_step {
            Some(step) => checkpoint_prefix(save_path, step),
            None => save_path.to_path_buf(),
        };
        let dir = match prefix.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if prefix.file_name().is_some_and(|n| n == CHECKPOINT_STATE_FILENAME) {
            return Err(Error::invalid_argument(format!(
                "'latest_filename' collides with 'save_path': '{CHECKPOINT_STATE_FILENAME}' and '{}'",
                save_path.display()
            )));
        }
        if !dir.is_dir() {
            return Err(Error::invalid_argument(format!(
                "Parent directory of {} doesn't exist, can't save.",
                save_path.display()
            )));
        }
        let request = RunRequest {
            feeds: vec![(self.inner.filename, Tensor::string(prefix.to_string_lossy().into_owned()))],
            targets: vec![self.inner.save_op],
            ..Default::default()
        };
        session.run_request(&request)?;

        let t = now();
        let mut retention = self.inner.retention.lock();
        retention.record_save(&prefix, t);
        let tracked = retention.tracked().to_vec();
        let (paths, times) =
            if tracked.is_empty() { (vec![prefix.clone()], vec![t]) } else { tracked.into_iter().unzip() };
        let state = CheckpointState {
            model_checkpoint_path: prefix.to_string_lossy().into_owned(),
            all_model_checkpoint_paths: paths.iter().map(|p| p.to_string_lossy().into_owned()).collect(),
            all_model_checkpoint_timestamps: times,
            last_preserved_timestamp: retention.last_preserved_time(),
        };
        let style =
            if self.inner.options.save_relative_paths { PathStyle::Relative } else { PathStyle::AsGiven };
        state.write(&dir, style)?;
        match retention.next_deletion() {
            Some(Deletion::Delete(old)) => {
                if let Err(error) = delete_checkpoint(&old) {
                    tracing::warn!(path = %old.display(), %error, "could not delete an old checkpoint");
                }
                let _ = std::fs::remove_file(meta_filename(&old));
            }
            Some(Deletion::Preserve(kept)) => {
                tracing::info!(path = %kept.display(), "keeping checkpoint for good (keep_checkpoint_every_n_hours)");
            }
            None => {}
        }
        Ok(Some(prefix))
    }

    /// Restores the variables from the checkpoint at `prefix`.
    ///
    /// # Errors
    /// `InvalidArgument` "The passed save_path is not a valid checkpoint: ..." when there are no files;
    /// `NotFound` naming a variable (or a saveable object's key, such as an iterator's) missing from the
    /// checkpoint; `InvalidArgument` naming a variable whose dtype or shape differs, or an iterator state
    /// of another pipeline; both prefixed with TF's "Restoring from checkpoint failed. ..." text.
    pub fn restore(&self, session: &mut dyn Session, prefix: impl AsRef<Path>) -> Result<()> {
        if self.inner.names.is_empty() {
            return Ok(());
        }
        let prefix = prefix.as_ref();
        if !checkpoint_exists(prefix) {
            return Err(Error::invalid_argument(format!(
                "The passed save_path is not a valid checkpoint: {}",
                prefix.display()
            )));
        }
        tracing::info!(path = %prefix.display(), "Restoring parameters");
        let request = RunRequest {
            feeds: vec![(self.inner.filename, Tensor::string(prefix.to_string_lossy().into_owned()))],
            targets: vec![self.inner.restore_op],
            ..Default::default()
        };
        match session.run_request(&request) {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Code::NotFound => Err(Error::not_found(format!(
                "Restoring from checkpoint failed. This is most likely due to a Variable name or other graph key that is missing from the checkpoint. Please ensure that you have not altered the graph expected based on the checkpoint. Original error:\n\n{}",
                e.message()
            ))),
            Err(e) if e.code() == Code::InvalidArgument => Err(Error::invalid_argument(format!(
                "Restoring from checkpoint failed. This is most likely due to a mismatch between the current graph and the graph from the checkpoint. Please ensure that you have not altered the graph expected based on the checkpoint. Original error:\n\n{}",
                e.message()
            ))),
            Err(e) => Err(e),
        }
    }

    /// Re-arms `max_to_keep` bookkeeping with checkpoints found on disk, oldest first (TF's
    /// `recover_last_checkpoints`, which uses the files' modification times).
    pub fn recover_last_checkpoints(&self, paths: &[PathBuf]) {
        let found = paths.iter().filter_map(|p| {
            let index = ferroflow_checkpoint::index_filename(p);
            let mtime = std::fs::metadata(&index).ok()?.modified().ok()?;
            let t = mtime.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
            Some((p.clone(), t))
        });
        self.inner.retention.lock().recover(found.collect::<Vec<_>>());
    }

    /// The checkpoints this saver keeps, oldest first (TF's `last_checkpoints`).
    pub fn last_checkpoints(&self) -> Vec<PathBuf> {
        self.inner.retention.lock().tracked_paths()
    }

    /// The newest checkpoint named by `<dir>/checkpoint` whose files exist (`tf.train.latest_checkpoint`).
    ///
    /// # Errors
    /// `DataLoss` when the state file does not parse; other I/O errors.
    pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
        latest_checkpoint(dir)
    }

    /// The newest checkpoint of `dir` that reads back whole: the latest if it verifies, else the newest
    /// valid one listed in the state file.
    ///
    /// # Errors
    /// `DataLoss` when the state file does not parse; other I/O errors.
    pub fn latest_valid_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
        let dir = dir.as_ref();
        match latest_checkpoint(dir)? {
            Some(p) if verify(&p).is_ok() => Ok(Some(p)),
            _ => latest_valid_checkpoint(dir),
        }
    }
}

/// An entry of [`GraphKeys::SAVEABLE_OBJECTS`], read from its node's attributes.
struct Saveable {
    /// The checkpoint key.
    key: String,
    /// The string scalar to save.
    tensor: Output,
    /// The op type that restores from a string scalar.
    restore_op: String,
    /// The restore node's inputs before the restored tensor (the save node's inputs).
    restore_inputs: Vec<Output>,
}

/// The saveable objects of the graph, in collection order (so the save and restore nodes of two savers
/// of the same graph agree).
fn saveables(graph: &Graph) -> Result<Vec<Saveable>> {
    let mut out = Vec::new();
    for item in graph.collection(GraphKeys::SAVEABLE_OBJECTS) {
        let tensor = item.as_tensor().ok_or_else(|| {
            Error::invalid_argument(format!(
                "collection {} holds an op; its entries must be tensors",
                GraphKeys::SAVEABLE_OBJECTS
            ))
        })?;
        if graph.dtype(tensor)? != DType::String {
            return Err(Error::invalid_argument(format!(
                "saveable object {} is not a string tensor",
                graph.node(tensor.op())?.name
            )));
        }
        let node = graph.node(tensor.op())?;
        let attr = |name: &str| {
            node.attrs.str(name).map(str::to_string).map_err(|e| {
                Error::invalid_argument(format!(
                    "saveable object '{}' lacks its {name} attribute: {}",
                    node.name,
                    e.message()
                ))
            })
        };
        out.push(Saveable {
            key: attr(GraphKeys::SAVEABLE_KEY_ATTR)?,
            tensor,
            restore_op: attr(GraphKeys::SAVEABLE_RESTORE_OP_ATTR)?,
            restore_inputs: node.inputs.clone(),
        });
    }
    Ok(out)
}

/// Registers the `SaveV2`/`RestoreV2` kernels once per process.
pub(crate) fn register_kernels() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        register_kernel("SaveV2", save_kernel);
        register_kernel("RestoreV2", restore_kernel);
    });
}

fn prefix_of(ctx: &OpKernelContext<'_>) -> Result<PathBuf> {
    let bytes = ctx.input(0)?.scalar_value::<Vec<u8>>()?;
    Ok(PathBuf::from(String::from_utf8_lossy(&bytes).into_owned()))
}

struct SaveV2 {
    names: Vec<String>,
}

impl OpKernel for SaveV2 {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let prefix = prefix_of(ctx)?;
        let mut writer = BundleWriter::new(&prefix)?;
        for (i, name) in self.names.iter().enumerate() {
            writer.add(name, ctx.input(i + 1)?)?;
        }
        writer.finish()
    }
}

fn save_kernel(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(SaveV2 { names: init.node.attrs.strs("tensor_names")?.to_vec() }))
}

struct RestoreV2 {
    names: Vec<String>,
    dtypes: Vec<DType>,
    shapes: Vec<PartialShape>,
}

impl OpKernel for RestoreV2 {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let prefix = prefix_of(ctx)?;
        let reader = BundleReader::open(&prefix)?;
        for ((name, dtype), shape) in self.names.iter().zip(&self.dtypes).zip(&self.shapes) {
            if !reader.contains(name) {
                return Err(Error::not_found(format!(
                    "Key {name} not found in checkpoint {}",
                    prefix.display()
                )));
            }
            let t = reader.read(name)?;
            if t.dtype() != *dtype {
                return Err(Error::invalid_argument(format!(
                    "tensor_name = {name}; expected dtype {dtype} does not equal original dtype {}",
                    t.dtype()
                )));
            }
            if !shape.is_compatible_with(t.shape()) {
                return Err(Error::invalid_argument(format!(
                    "Assign requires shapes of both tensors to match. lhs shape= {shape} rhs shape= {} (variable {name})",
                    Shape::from(t.shape())
                )));
            }
            ctx.output(t);
        }
        Ok(())
    }
}

fn restore_kernel(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(RestoreV2 {
        names: init.node.attrs.strs("tensor_names")?.to_vec(),
        dtypes: init.node.output_types.clone(),
        shapes: init.node.output_shapes.clone(),
    }))
}
