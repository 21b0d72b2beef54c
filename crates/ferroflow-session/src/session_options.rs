//! Session configuration (the parts of TF's `ConfigProto` the direct session uses).

/// Options of a session (`tf.ConfigProto`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionOptions {
    /// Threads a single kernel may use (matmul, large element-wise ops). By default, 0: all cores.
    pub intra_op_parallelism_threads: usize,
    /// Threads running independent nodes of a step at once. By default, 0: one (nodes run in order).
    pub inter_op_parallelism_threads: usize,
    /// A deadline for every run that sets none, in milliseconds. By default, 0: none.
    pub operation_timeout_in_ms: i64,
    /// Log each node's device. By default, false.
    pub log_device_placement: bool,
    /// Run every node with its own kernel, without the remapper's fused kernels (TF's
    /// `graph_options.rewrite_options.remapping = OFF`). By default, false: fused where it pays.
    pub disable_remapping: bool,
}
