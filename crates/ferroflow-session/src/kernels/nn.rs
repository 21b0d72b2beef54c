//! Kernels of activations, softmax and losses.

use crate::kernel::KernelFactory;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[];
