//! Optimizer update ops are not differentiable; listed so `gradients` never asks for them.

use crate::gradients::GradientFn;

pub(super) const GRADIENTS: &[(&str, GradientFn)] = &[];
