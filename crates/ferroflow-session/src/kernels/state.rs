//! Variable kernels: read, assign, assign_add/sub, initialization checks.

use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use crate::kernels::math::{broadcast_binary, Arith};
use crate::resource_manager::VariableCell;
use ferroflow_core::{DType, Error, Result, Shape, Tensor};
use std::sync::Arc;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("VariableV2", variable),
    ("Assign", assign),
    ("AssignAdd", assign_add),
    ("AssignSub", assign_sub),
    ("IsVariableInitialized", is_initialized),
    ("ReportUninitializedVariables", report_uninitialized),
];

struct ReadVariable(Arc<VariableCell>);

impl OpKernel for ReadVariable {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let v = self.0.read()?;
        ctx.output(v);
        Ok(())
    }
}

fn variable(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(ReadVariable(init.resources.variable(&init.node.name))))
}

/// The variable an assignment-like node updates, named by its `var` attribute.
pub fn variable_of(init: &KernelInit<'_>) -> Result<Arc<VariableCell>> {
    Ok(init.resources.variable(init.node.attrs.str("var")?))
}

#[derive(Clone, Copy)]
enum Mode {
    Set,
    Add,
    Sub,
}

struct AssignKernel {
    var: Arc<VariableCell>,
    mode: Mode,
    shape: Vec<usize>,
    dtype: DType,
}

impl OpKernel for AssignKernel {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let value = ctx.take_input(0)?;
        if value.dtype() != self.dtype {
            return Err(Error::invalid_argument(format!(
                "assigning a {} value to variable {} of dtype {}",
                value.dtype(),
                self.var.name(),
                self.dtype
            )));
        }
        let out = match self.mode {
            Mode::Set => {
                if value.shape() != self.shape.as_slice() {
                    return Err(Error::invalid_argument(format!(
                        "Assign requires shapes of both tensors to match. lhs shape= {} rhs shape= {} (variable {})",
                        Shape::from(self.shape.as_slice()),
                        Shape::from(value.shape()),
                        self.var.name()
                    )));
                }
                self.var.assign(value.clone());
                value
            }
            Mode::Add | Mode::Sub => {
                let mode = self.mode;
                self.var.update(|current| {
                    let next = combine(current, &value, mode)?;
                    *current = next.clone();
                    Ok(next)
                })?
            }
        };
        ctx.output(out);
        Ok(())
    }
}

fn combine(current: &Tensor, delta: &Tensor, mode: Mode) -> Result<Tensor> {
    fn go<T: Arith + ferroflow_core::TensorElement>(c: &Tensor, d: &Tensor, mode: Mode) -> Result<Tensor> {
        let (c, d) = (c.array::<T>()?, d.array::<T>()?);
        if c.shape() != d.shape() && d.len() != 1 {
            return Err(Error::invalid_argument(format!(
                "update of shape {} does not match variable shape {}",
                Shape::from(d.shape()),
                Shape::from(c.shape())
            )));
        }
        let out = match mode {
            Mode::Sub => broadcast_binary(c, d, |x, y| x.sub(y))?,
            _ => broadcast_binary(c, d, |x, y| x.add(y))?,
        };
        Ok(Tensor::from(out))
    }
    match current.dtype() {
        DType::F32 => go::<f32>(current, delta, mode),
        DType::F64 => go::<f64>(current, delta, mode),
        DType::I32 => go::<i32>(current, delta, mode),
        DType::I64 => go::<i64>(current, delta, mode),
        d => Err(Error::invalid_argument(format!("cannot add to a variable of dtype {d}"))),
    }
}

fn make_assign(init: &KernelInit<'_>, mode: Mode) -> Result<Box<dyn OpKernel>> {
    let var = variable_of(init)?;
    let var_op = init
        .graph
        .operation_by_name(var.name())
        .ok_or_else(|| Error::not_found(format!("variable '{}' is not in the graph", var.name())))?;
    let node = init.graph.node(var_op)?;
    let shape = node.attrs.shape("shape")?.to_shape().map(|s| s.0).unwrap_or_default();
    let dtype = node.attrs.dtype("dtype")?;
    Ok(Box::new(AssignKernel { var, mode, shape, dtype }))
}

fn assign(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make_assign(init, Mode::Set)
}

fn assign_add(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make_assign(init, Mode::Add)
}

fn assign_sub(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make_assign(init, Mode::Sub)
}

struct IsInitialized(Arc<VariableCell>);

impl OpKernel for IsInitialized {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        ctx.output(Tensor::scalar(self.0.is_initialized()));
        Ok(())
    }
}

fn is_initialized(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(IsInitialized(variable_of(init)?)))
}

struct ReportUninitialized(Vec<Arc<VariableCell>>);

impl OpKernel for ReportUninitialized {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let names: Vec<Vec<u8>> =
            self.0.iter().filter(|v| !v.is_initialized()).map(|v| v.name().as_bytes().to_vec()).collect();
        ctx.output(Tensor::vector(names));
        Ok(())
    }
}

fn report_uninitialized(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let names = init.node.attrs.strs("vars")?;
    Ok(Box::new(ReportUninitialized(names.iter().map(|n| init.resources.variable(n)).collect())))
}
