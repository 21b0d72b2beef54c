//! Gradient functions of the built-in ops, one file per op family (TF's `*_grad.py`).

mod array_grad;
mod conv_grad;
mod math_grad;
mod nn_grad;
mod training_grad;

use crate::gradients::GradientFn;
use std::collections::HashMap;

pub(crate) fn builtin() -> HashMap<String, GradientFn> {
    let mut m = HashMap::new();
    for (name, f) in array_grad::GRADIENTS
        .iter()
        .chain(math_grad::GRADIENTS)
        .chain(nn_grad::GRADIENTS)
        .chain(conv_grad::GRADIENTS)
        .chain(training_grad::GRADIENTS)
    {
        m.insert((*name).to_string(), *f);
    }
    m
}
