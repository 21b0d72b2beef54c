//! Symbolic reverse-mode differentiation: `tf.gradients(ys, xs, grad_ys)` adds gradient nodes to the graph.

use crate::{GraphBuilder, Operation, Output};
use ferroflow_core::{Error, Result, Tensor};
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// A gradient function: given the op and the gradients flowing into each of its outputs (`None` where no
/// gradient flows), adds nodes computing the gradient for each of its inputs (`None` where the input is
/// not differentiable).
pub type GradientFn = fn(&mut GraphBuilder, Operation, &[Option<Output>]) -> Result<Vec<Option<Output>>>;

fn registry() -> &'static RwLock<HashMap<String, GradientFn>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, GradientFn>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(crate::grads::builtin()))
}

/// Registers the gradient function of an op type (TF's `@ops.RegisterGradient`), replacing any earlier one.
pub fn register_gradient(op_type: &str, f: GradientFn) {
    registry().write().insert(op_type.to_string(), f);
}

/// Op types whose outputs carry no gradient (TF's `ops.NotDifferentiable`).
const NOT_DIFFERENTIABLE: &[&str] = &[
    "Const",
    "Shape",
    "Size",
    "Rank",
    "ArgMax",
    "ArgMin",
    "Equal",
    "NotEqual",
    "Less",
    "LessEqual",
    "Greater",
    "GreaterEqual",
    "LogicalAnd",
    "LogicalOr",
    "LogicalNot",
    "Sign",
    "StopGradient",
    "OneHot",
    "IsVariableInitialized",
    "ReportUninitializedVariables",
    "NoOp",
    "Placeholder",
    "VariableV2",
    "RandomStandardNormal",
    "RandomUniform",
    "TruncatedNormal",
    "ZerosLike",
    "OnesLike",
    "Fill",
    "BroadcastGradientArgs",
    "InTopK",
    "Assign",
    "AssignAdd",
    "AssignSub",
];

impl GraphBuilder {
    /// `tf.gradients(ys, xs, grad_ys)`: the symbolic partial derivatives of `sum(ys)` with respect to each
    /// of `xs`, as new nodes under a `gradients/` name scope. An `x` that no `y` depends on
    /// differentiably gives `None`, as in TF. `grad_ys` default to ones.
    ///
    /// # Errors
    /// `InvalidArgument` for non-float `ys` or a `grad_ys` of the wrong length; `Unimplemented` naming the
    /// op type when a needed op has no gradient function.
    pub fn gradients(
        &mut self,
        ys: &[Output],
        xs: &[Output],
        grad_ys: Option<&[Output]>,
    ) -> Result<Vec<Option<Output>>> {
        if let Some(g) = grad_ys {
            if g.len() != ys.len() {
                return Err(Error::invalid_argument(format!(
                    "gradients: {} grad_ys for {} ys",
                    g.len(),
                    ys.len()
                )));
            }
        }
        self.with_name_scope("gradients", |g| g.gradients_in_scope(ys, xs, grad_ys))
    }

    fn gradients_in_scope(
        &mut self,
        ys: &[Output],
        xs: &[Output],
        grad_ys: Option<&[Output]>,
    ) -> Result<Vec<Option<Output>>> {
        let between = self.ops_between(ys, xs)?;
        let mut pending: HashMap<Output, Vec<Output>> = HashMap::new();
        for (i, &y) in ys.iter().enumerate() {
            let dy = match grad_ys {
                Some(g) => g[i],
                None => {
                    let dtype = self.dtype(y)?;
                    if !dtype.is_float() {
                        return Err(Error::invalid_argument(format!(
                            "gradients: y '{}' has dtype {dtype}; only float tensors can be differentiated",
                            self.output_name(y)
                        )));
                    }
                    match self.shape(y)?.to_shape() {
                        Some(s) => {
                            let ones =
                                Tensor::from_vec(s.dims(), vec![1.0f64; s.num_elements()])?.cast(dtype)?;
                            self.constant(ones)?
                        }
                        None => {
                            let shape = self.shape_of(y)?;
                            let one = self.constant(Tensor::scalar(1.0f64).cast(dtype)?)?;
                            self.fill(shape, one)?
                        }
                    }
                }
            };
            pending.entry(y).or_default().push(dy);
        }
        let x_set: HashSet<Output> = xs.iter().copied().collect();
        let mut order: Vec<usize> = between.iter().copied().collect();
        // Node indices are a topological order, so the reverse visits consumers before producers.
        order.sort_unstable_by(|a, b| b.cmp(a));
        let mut summed: HashMap<Output, Output> = HashMap::new();
        for index in order {
            let op = self.operation(index);
            let node = self.node(op)?.clone();
            let mut out_grads = Vec::with_capacity(node.output_types.len());
            let mut any = false;
            for i in 0..node.output_types.len() {
                let out = op.output(i);
                let g = self.sum_pending(&mut pending, out)?;
                if let Some(g) = g {
                    summed.insert(out, g);
                    any = true;
                }
                out_grads.push(g);
            }
            if !any || NOT_DIFFERENTIABLE.contains(&node.op_type.as_str()) {
                continue;
            }
            if node.inputs.iter().all(|i| !between.contains(&i.op().index()) && !x_set.contains(i)) {
                continue;
            }
            let f = registry().read().get(&node.op_type).copied().ok_or_else(|| {
                Error::unimplemented(format!(
                    "no gradient defined for op '{}' of type {}",
                    node.name, node.op_type
                ))
            })?;
            let in_grads = self.with_name_scope(&format!("{}_grad", node.name), |g| f(g, op, &out_grads))?;
            if in_grads.len() != node.inputs.len() {
                return Err(Error::internal(format!(
                    "gradient of {} returned {} gradients for {} inputs",
                    node.op_type,
                    in_grads.len(),
                    node.inputs.len()
                )));
            }
            for (input, grad) in node.inputs.iter().zip(in_grads) {
                if let Some(grad) = grad {
                    if self.dtype(*input)?.is_float() {
                        pending.entry(*input).or_default().push(grad);
                    }
                }
            }
        }
        xs.iter()
            .map(|x| match summed.get(x) {
                Some(g) => Ok(Some(*g)),
                None => self.sum_pending(&mut pending, *x),
            })
            .collect()
    }

    fn sum_pending(
        &mut self,
        pending: &mut HashMap<Output, Vec<Output>>,
        out: Output,
    ) -> Result<Option<Output>> {
        match pending.remove(&out) {
            None => Ok(None),
            Some(v) if v.len() == 1 => Ok(Some(v[0])),
            Some(v) => self.add_n(&v).map(Some),
        }
    }

    /// Indices of the nodes on a differentiable path from some x to some y (x's own node excluded unless
    /// it lies between).
    fn ops_between(&self, ys: &[Output], xs: &[Output]) -> Result<HashSet<usize>> {
        let n = self.len();
        let mut reached_from_x = vec![false; n];
        for x in xs {
            self.node(x.op())?;
            reached_from_x[x.op().index()] = true;
        }
        for (i, node) in self.nodes().iter().enumerate() {
            if node.inputs.iter().any(|inp| reached_from_x[inp.op().index()]) {
                reached_from_x[i] = true;
            }
        }
        let mut between = HashSet::new();
        let mut stack: Vec<usize> = Vec::new();
        for y in ys {
            self.node(y.op())?;
            stack.push(y.op().index());
        }
        let x_ops: HashSet<usize> = xs.iter().map(|x| x.op().index()).collect();
        while let Some(i) = stack.pop() {
            if !reached_from_x[i] || !between.insert(i) {
                continue;
            }
            if x_ops.contains(&i) {
                // An x's producer is only "between" if another x feeds it; its inputs matter only then.
                let node = &self.nodes()[i];
                if !node.inputs.iter().any(|inp| reached_from_x[inp.op().index()]) {
                    continue;
                }
            }
            for inp in &self.nodes()[i].inputs {
                stack.push(inp.op().index());
            }
        }
        Ok(between)
    }
}
