//! The global step (TF's `training_util.py`).

use crate::{CollectionItem, GraphBuilder, GraphKeys, Initializer, Variable, VariableOptions};
use ferroflow_core::{DType, Result};

impl GraphBuilder {
    /// `tf.train.get_global_step()`: the variable in the `global_step` collection, else a variable named
    /// `global_step`.
    pub fn global_step(&self) -> Option<Variable> {
        self.variables_in(GraphKeys::GLOBAL_STEP)
            .into_iter()
            .next()
            .or_else(|| self.global_variables().into_iter().find(|v| v.name == "global_step"))
    }

    /// `tf.train.get_or_create_global_step()`: an int64 scalar variable `global_step`, zero-initialized,
    /// not trainable, in the global-variables and global-step collections.
    ///
    /// # Errors
    /// `FailedPrecondition` after `finalize` when it must be created.
    pub fn get_or_create_global_step(&mut self) -> Result<Variable> {
        if let Some(v) = self.global_step() {
            return Ok(v);
        }
        let options = VariableOptions {
            trainable: false,
            collections: vec![GraphKeys::GLOBAL_VARIABLES.to_string(), GraphKeys::GLOBAL_STEP.to_string()],
        };
        let saved = self.name_scope_stack_for_global_step();
        let var = self.get_variable("global_step", &[], DType::I64, Initializer::Zeros, options);
        self.restore_name_scopes(saved);
        let var = var?;
        if !self
            .collection(GraphKeys::GLOBAL_STEP)
            .iter()
            .any(|c| matches!(c, CollectionItem::Variable(v) if v.name == var.name))
        {
            self.add_to_collection(GraphKeys::GLOBAL_STEP, CollectionItem::Variable(var.clone()))?;
        }
        Ok(var)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_at_the_top_level() -> Result<()> {
        let mut g = GraphBuilder::new();
        let a = g.with_name_scope("model", |g| g.get_or_create_global_step())?;
        let b = g.get_or_create_global_step()?;
        assert_eq!(a.name, "global_step");
        assert_eq!(a, b);
        assert_eq!(a.dtype, DType::I64);
        assert!(!a.trainable);
        assert_eq!(g.collection(GraphKeys::GLOBAL_STEP).len(), 1);
        Ok(())
    }
}
