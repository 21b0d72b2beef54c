pub mod bundle;

use ferroflow_core::Tensor;

/// `count` f32 tensors of `elements` each, named like TF1 variables.
pub fn model(count: usize, elements: usize) -> Vec<(String, Tensor)> {
    (0..count)
        .map(|i| {
            let values: Vec<f32> = (0..elements).map(|k| ((k * 31 + i * 7) % 10007) as f32).collect();
            (format!("layer_{i:03}/kernel"), Tensor::vector(values))
        })
        .collect()
}
