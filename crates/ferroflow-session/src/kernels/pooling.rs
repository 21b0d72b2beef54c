//! Kernels: pooling.

use crate::kernel::KernelFactory;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[];
