//! Gradients of convolution, pooling and batch normalization (TF's `nn_grad.py` conv family).

use crate::gradients::GradientFn;

pub(super) const GRADIENTS: &[(&str, GradientFn)] = &[];
