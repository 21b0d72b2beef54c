//! Gradients of activations, softmax and losses (TF's `nn_grad.py`).

use crate::gradients::GradientFn;

pub(super) const GRADIENTS: &[(&str, GradientFn)] = &[];
