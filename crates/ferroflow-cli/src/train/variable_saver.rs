//! Saving and restoring every global variable through the checkpoint crate, as TF1's `Saver` does: values
//! are read with a session run, restored by feeding them to one `Assign` per variable.

use ferroflow_checkpoint::BundleReader;
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use ferroflow_graph::{GraphBuilder, Operation, Output, Variable};
use ferroflow_session::{Fetch, Session, SessionExt};

/// The save and restore ops of a graph's global variables (model weights, optimizer slots, global step).
#[derive(Debug, Clone)]
pub struct VariableSaver {
    variables: Vec<Variable>,
    restore_inputs: Vec<Output>,
    restore_op: Operation,
}

impl VariableSaver {
    /// Adds the restore ops (under `save/`) for every global variable built so far.
    ///
    /// # Errors
    /// As graph building.
    pub fn build(g: &mut GraphBuilder) -> Result<VariableSaver> {
        let variables = g.graph().global_variables();
        let (restore_inputs, assigns) = g.with_name_scope("save", |g| {
            let mut inputs = Vec::with_capacity(variables.len());
            let mut assigns = Vec::with_capacity(variables.len());
            for (i, var) in variables.iter().enumerate() {
                let shape = PartialShape::known(var.shape.dims());
                let input = g.placeholder(var.dtype, shape, &format!("restore_{i}"))?;
                assigns.push(g.assign(var, input)?.op());
                inputs.push(input);
            }
            Ok((inputs, assigns))
        })?;
        let restore_op = g.group(&assigns, "save/restore_all")?;
        Ok(VariableSaver { variables, restore_inputs, restore_op })
    }

    /// Every variable's name (its checkpoint key) and current value, read in one run.
    ///
    /// # Errors
    /// As the run.
    pub fn snapshot(&self, session: &mut dyn Session) -> Result<Vec<(String, Tensor)>> {
        let fetch = Fetch::List(self.variables.iter().map(|v| Fetch::Tensor(v.value())).collect());
        let values = session.run(fetch, &[])?;
        self.variables
            .iter()
            .enumerate()
            .map(|(i, v)| Ok((v.name.clone(), values.get(i)?.tensor()?.clone())))
            .collect()
    }

    /// Checks that the checkpoint has every variable with the same dtype and shape, before anything is
    /// restored.
    ///
    /// # Errors
    /// `InvalidArgument` naming the first variable that is missing or differs (the checkpoint belongs to
    /// another model or optimizer).
    pub fn check_compatible(&self, reader: &BundleReader) -> Result<()> {
        let listed = reader.list()?;
        for var in &self.variables {
            let Some((_, dtype, shape)) = listed.iter().find(|(name, _, _)| *name == var.name) else {
                return Err(Error::invalid_argument(format!(
                    "variable '{}' ({} {}) is not in checkpoint {}",
                    var.name,
                    var.dtype,
                    var.shape,
                    reader.prefix().display()
                )));
            };
            if *dtype != var.dtype || shape.dims() != var.shape.dims() {
                return Err(Error::invalid_argument(format!(
                    "variable '{}' is {} {} here but {dtype} {shape} in checkpoint {}",
                    var.name,
                    var.dtype,
                    var.shape,
                    reader.prefix().display()
                )));
            }
        }
        Ok(())
    }

    /// Checks the checkpoint, then assigns every variable its saved value in one run.
    ///
    /// # Errors
    /// As [`check_compatible`](Self::check_compatible); `DataLoss` for a damaged tensor; as the run.
    pub fn restore(&self, session: &mut dyn Session, reader: &BundleReader) -> Result<()> {
        self.check_compatible(reader)?;
        let keys: Vec<&str> = self.variables.iter().map(|v| v.name.as_str()).collect();
        let values = reader.read_many(&keys)?;
        let feeds: Vec<(Output, Tensor)> = self.restore_inputs.iter().copied().zip(values).collect();
        session.run(self.restore_op, &feeds)?;
        Ok(())
    }

    /// The global step's value among a snapshot's tensors.
    pub fn step_of(snapshot: &[(String, Tensor)], global_step: &Variable) -> Option<i64> {
        let (_, t) = snapshot.iter().find(|(name, _)| *name == global_step.name)?;
        match t.dtype() {
            DType::I64 => t.scalar_value::<i64>().ok(),
            DType::I32 => t.scalar_value::<i32>().ok().map(i64::from),
            _ => None,
        }
    }
}
