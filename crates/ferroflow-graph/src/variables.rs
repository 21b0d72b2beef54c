//! Variables (`tf.Variable`, `tf.get_variable`) and their initializers.

use crate::{AttrValue, CollectionItem, GraphBuilder, GraphKeys, NodeSpec, Operation, Output};
use ferroflow_core::{DType, Error, PartialShape, Result, Shape, Tensor};

/// A variable: a `VariableV2` node holding state across runs, plus its initializer.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// The variable's name, also its checkpoint key (`layer1/weights`).
    pub name: String,
    /// The `VariableV2` node; its output 0 reads the value.
    pub op: Operation,
    /// The `Assign` node that sets the initial value.
    pub initializer: Operation,
    /// The initial value tensor.
    pub initial_value: Output,
    /// The element type.
    pub dtype: DType,
    /// The shape.
    pub shape: Shape,
    /// Whether optimizers train it by default.
    pub trainable: bool,
}

impl Variable {
    /// The tensor that reads the variable's current value (TF's `var.value()` / `var.read_value()`).
    pub fn value(&self) -> Output {
        self.op.output(0)
    }
}

/// How a variable created by [`GraphBuilder::get_variable`] is initialized (TF's initializers).
#[derive(Debug, Clone, PartialEq)]
pub enum Initializer {
    /// `tf.zeros_initializer()`.
    Zeros,
    /// `tf.ones_initializer()`.
    Ones,
    /// `tf.constant_initializer(value)`.
    Constant(f64),
    /// A given tensor (its shape must match).
    Value(Tensor),
    /// `tf.random_normal_initializer(mean, stddev, seed)`.
    RandomNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
        /// Op-level seed.
        seed: Option<i64>,
    },
    /// `tf.random_uniform_initializer(minval, maxval, seed)`.
    RandomUniform {
        /// Lower bound (inclusive).
        minval: f64,
        /// Upper bound (exclusive).
        maxval: f64,
        /// Op-level seed.
        seed: Option<i64>,
    },
    /// `tf.truncated_normal_initializer(mean, stddev, seed)`: resamples values beyond two deviations.
    TruncatedNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
        /// Op-level seed.
        seed: Option<i64>,
    },
    /// `tf.glorot_uniform_initializer(seed)`, TF's default for `get_variable`: uniform in
    /// `±sqrt(6 / (fan_in + fan_out))`.
    GlorotUniform {
        /// Op-level seed.
        seed: Option<i64>,
    },
}

/// Options of a new variable.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableOptions {
    /// Add to `trainable_variables`. By default, true.
    pub trainable: bool,
    /// The collections to add it to. By default, `[GLOBAL_VARIABLES]`.
    pub collections: Vec<String>,
}

impl Default for VariableOptions {
    fn default() -> Self {
        VariableOptions { trainable: true, collections: vec![GraphKeys::GLOBAL_VARIABLES.to_string()] }
    }
}

impl VariableOptions {
    /// A non-trainable global variable (the global step, moving averages).
    pub fn non_trainable() -> Self {
        VariableOptions { trainable: false, ..Default::default() }
    }

    /// A local variable: not saved, initialized by the local init op.
    pub fn local() -> Self {
        VariableOptions { trainable: false, collections: vec![GraphKeys::LOCAL_VARIABLES.to_string()] }
    }
}

/// `(fan_in, fan_out)` as TF's `_compute_fans` defines them.
fn fans(shape: &[usize]) -> (f64, f64) {
    match shape {
        [] => (1.0, 1.0),
        [n] => (*n as f64, *n as f64),
        [a, b] => (*a as f64, *b as f64),
        dims => {
            let receptive: usize = dims[..dims.len() - 2].iter().product();
            let n = dims.len();
            ((dims[n - 2] * receptive) as f64, (dims[n - 1] * receptive) as f64)
        }
    }
}

impl GraphBuilder {
    /// `tf.Variable(initial_value, name=name)`: a variable whose shape and dtype are the initial value's.
    ///
    /// # Errors
    /// `InvalidArgument` when the initial value's shape is not fully known.
    pub fn variable(
        &mut self,
        name: &str,
        initial_value: Output,
        options: VariableOptions,
    ) -> Result<Variable> {
        let (dtype, shape) = self.input_info(name, initial_value)?;
        let shape = shape.to_shape().ok_or_else(|| {
            Error::invalid_argument(format!(
                "variable '{name}': the initial value's shape {shape} must be fully defined"
            ))
        })?;
        let spec = NodeSpec::new("VariableV2", vec![])
            .name(Some(name))
            .attr("dtype", AttrValue::Type(dtype))
            .attr("shape", AttrValue::Shape(shape.clone().into()))
            .output(dtype, shape.clone().into());
        let op = self.add_node(spec)?;
        let full_name = self.op_name(op).to_string();
        let initializer =
            self.with_exact_scope(&full_name, |g| g.assign_named(op, &full_name, initial_value, "Assign"))?;
        let var = Variable {
            name: full_name,
            op,
            initializer: initializer.op(),
            initial_value,
            dtype,
            shape,
            trainable: options.trainable,
        };
        for c in &options.collections {
            self.add_to_collection(c, CollectionItem::Variable(var.clone()))?;
        }
        if options.trainable {
            self.add_to_collection(GraphKeys::TRAINABLE_VARIABLES, CollectionItem::Variable(var.clone()))?;
        }
        Ok(var)
    }

    /// `tf.get_variable(name, shape, dtype, initializer)`: creates the initial value from an initializer
    /// under `name/Initializer/`.
    ///
    /// # Errors
    /// `InvalidArgument` when a given value's shape differs from `shape` or the dtype does not suit the
    /// initializer.
    pub fn get_variable(
        &mut self,
        name: &str,
        shape: &[usize],
        dtype: DType,
        initializer: Initializer,
        options: VariableOptions,
    ) -> Result<Variable> {
        let initial = self.with_name_scope(&format!("{name}/Initializer"), |g| {
            g.initial_value(shape, dtype, &initializer)
        })?;
        self.variable(name, initial, options)
    }

    fn initial_value(&mut self, shape: &[usize], dtype: DType, init: &Initializer) -> Result<Output> {
        let fill = |v: f64| Tensor::from_vec(shape, vec![v; shape.iter().product()])?.cast(dtype);
        match init {
            Initializer::Zeros => self.constant(fill(0.0)?),
            Initializer::Ones => self.constant(fill(1.0)?),
            Initializer::Constant(v) => self.constant(fill(*v)?),
            Initializer::Value(t) => {
                if t.shape() != shape {
                    return Err(Error::invalid_argument(format!(
                        "initializer value has shape {}, variable has {}",
                        Shape::from(t.shape()),
                        Shape::from(shape)
                    )));
                }
                self.constant(t.cast(dtype)?)
            }
            Initializer::RandomNormal { mean, stddev, seed } => {
                self.random_normal(shape, dtype, *mean, *stddev, *seed)
            }
            Initializer::RandomUniform { minval, maxval, seed } => {
                self.random_uniform(shape, dtype, *minval, *maxval, *seed)
            }
            Initializer::TruncatedNormal { mean, stddev, seed } => {
                self.truncated_normal(shape, dtype, *mean, *stddev, *seed)
            }
            Initializer::GlorotUniform { seed } => {
                let (fan_in, fan_out) = fans(shape);
                let limit = (6.0 / (fan_in + fan_out).max(1.0)).sqrt();
                self.random_uniform(shape, dtype, -limit, limit, *seed)
            }
        }
    }

    /// `tf.variables_initializer(var_list)`: one op running every initializer.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn variables_initializer(&mut self, vars: &[Variable], name: &str) -> Result<Operation> {
        let inits: Vec<Operation> = vars.iter().map(|v| v.initializer).collect();
        self.group(&inits, name)
    }

    /// `tf.global_variables_initializer()` (named `init`).
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn global_variables_initializer(&mut self) -> Result<Operation> {
        let vars = self.global_variables();
        self.variables_initializer(&vars, "init")
    }

    /// `tf.local_variables_initializer()`.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn local_variables_initializer(&mut self) -> Result<Operation> {
        let vars = self.local_variables();
        self.variables_initializer(&vars, "init")
    }

    /// `tf.is_variable_initialized(var)`: a bool scalar.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn is_variable_initialized(&mut self, var: &Variable) -> Result<Output> {
        let spec = NodeSpec::new("IsVariableInitialized", vec![])
            .attr("var", AttrValue::Str(var.name.clone()))
            .attr("dtype", AttrValue::Type(var.dtype))
            .output(DType::Bool, PartialShape::scalar());
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.report_uninitialized_variables(var_list)`: a string vector of the names of the variables that
    /// are not initialized (all global and local variables when `None`).
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize`.
    pub fn report_uninitialized_variables(&mut self, vars: Option<&[Variable]>) -> Result<Output> {
        let vars: Vec<Variable> = match vars {
            Some(v) => v.to_vec(),
            None => {
                let mut all = self.global_variables();
                all.extend(self.local_variables());
                all
            }
        };
        let names: Vec<String> = vars.iter().map(|v| v.name.clone()).collect();
        let spec = NodeSpec::new("ReportUninitializedVariables", vec![])
            .name(Some("report_uninitialized_variables"))
            .attr("vars", AttrValue::Strs(names))
            .output(DType::String, PartialShape::new(vec![None]));
        Ok(self.add_node(spec)?.output(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_fans_follow_tf() {
        assert_eq!(fans(&[784, 256]), (784.0, 256.0));
        assert_eq!(fans(&[5, 5, 1, 32]), (25.0, 800.0));
    }

    #[test]
    fn variables_land_in_collections_with_plain_names() -> Result<()> {
        let mut g = GraphBuilder::new();
        let w = g.with_name_scope("layer1", |g| {
            g.get_variable("weights", &[2, 3], DType::F32, Initializer::Zeros, VariableOptions::default())
        })?;
        assert_eq!(w.name, "layer1/weights");
        assert_eq!(g.global_variables().len(), 1);
        assert_eq!(g.trainable_variables().len(), 1);
        let zero = g_const(&mut g)?;
        let step = g.variable("step", zero, VariableOptions::non_trainable())?;
        assert!(!step.trainable);
        assert_eq!(g.trainable_variables().len(), 1);
        assert_eq!(g.global_variables().len(), 2);
        assert_eq!(g.op_name(w.initializer), "layer1/weights/Assign");
        Ok(())
    }

    fn g_const(g: &mut GraphBuilder) -> Result<Output> {
        g.constant(Tensor::scalar(0i64))
    }
}
