//! Every gradient of the array and conv families against central finite differences (f64), table-driven.

use ferroflow_core::{PartialShape, Result, Tensor};
use ferroflow_graph::ops::array_ops::StridedSliceMasks;
use ferroflow_graph::ops::conv_ops::{Conv2DOptions, Padding};
use ferroflow_graph::{GraphBuilder, Output};
use ferroflow_session::gradient_checker::compute_gradient_error;

/// Builds the function whose gradient is checked, from its inputs.
pub(crate) type BuildFn = Box<dyn Fn(&mut GraphBuilder, &[Output]) -> Result<Output>>;

/// Deterministic, tie-free values (so max-pool windows have a unique maximum).
fn t(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n as u64)
        .map(|i| {
            let h = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            ((h >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(shape, v).unwrap()
}

/// Hides the static shape, so gradients take their run-time-shape paths.
fn dynamic(g: &mut GraphBuilder, x: Output) -> Result<Output> {
    let rank = g.shape(x)?.rank().unwrap_or(0);
    g.placeholder_with_default(x, PartialShape::unknown_dims(rank), "dyn")
}

/// Checks every case's gradient against central finite differences; reports all failures at once.
pub(crate) fn check(cases: Vec<(&str, Vec<Tensor>, BuildFn)>) {
    let mut failures = Vec::new();
    for (name, inputs, f) in cases {
        match compute_gradient_error(&inputs, 1e-6, f) {
            Ok(err) if err < 1e-6 => {}
            Ok(err) => failures.push(format!("{name}: gradient error {err}")),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn conv_family_gradients() {
    let same = Conv2DOptions::new(1, Padding::Same);
    let valid2 = Conv2DOptions::new(2, Padding::Valid);
    let dilated = Conv2DOptions { strides: [1, 1], dilations: [2, 2], padding: Padding::Same };
    let strided_same = Conv2DOptions { strides: [2, 1], dilations: [1, 1], padding: Padding::Same };
    let cases: Vec<(&str, Vec<Tensor>, BuildFn)> = vec![
        (
            "conv2d same",
            vec![t(&[2, 5, 5, 2], 1), t(&[3, 3, 2, 3], 2)],
            Box::new(move |g, x| g.conv2d(x[0], x[1], same)),
        ),
        (
            "conv2d valid stride 2",
            vec![t(&[1, 6, 7, 2], 3), t(&[3, 2, 2, 2], 4)],
            Box::new(move |g, x| g.conv2d(x[0], x[1], valid2)),
        ),
        (
            "conv2d dilated",
            vec![t(&[1, 7, 6, 1], 5), t(&[2, 2, 1, 2], 6)],
            Box::new(move |g, x| g.conv2d(x[0], x[1], dilated)),
        ),
        (
            "conv2d strided same",
            vec![t(&[2, 5, 4, 2], 7), t(&[3, 3, 2, 2], 8)],
            Box::new(move |g, x| g.conv2d(x[0], x[1], strided_same)),
        ),
        (
            "conv2d dynamic batch",
            vec![t(&[2, 4, 4, 1], 9), t(&[2, 2, 1, 2], 10)],
            Box::new(move |g, x| {
                let d = dynamic(g, x[0])?;
                g.conv2d(d, x[1], same)
            }),
        ),
        (
            "conv2d_transpose",
            vec![t(&[1, 3, 3, 2], 11), t(&[3, 3, 4, 2], 12)],
            Box::new(|g, x| {
                g.conv2d_transpose(x[0], x[1], &[1, 5, 5, 4], Conv2DOptions::new(2, Padding::Same))
            }),
        ),
        (
            "conv2d_backprop_filter",
            vec![t(&[1, 4, 4, 2], 13), t(&[1, 4, 4, 3], 14)],
            Box::new(move |g, x| {
                let sizes = g.constant(Tensor::vector(vec![3i32, 3, 2, 3]))?;
                g.conv2d_backprop_filter(x[0], sizes, x[1], same)
            }),
        ),
        (
            "depthwise same",
            vec![t(&[2, 5, 5, 2], 15), t(&[3, 3, 2, 2], 16)],
            Box::new(move |g, x| g.depthwise_conv2d(x[0], x[1], same)),
        ),
        (
            "depthwise valid stride 2",
            vec![t(&[1, 6, 5, 3], 17), t(&[2, 2, 3, 1], 18)],
            Box::new(move |g, x| g.depthwise_conv2d(x[0], x[1], valid2)),
        ),
        (
            "max_pool valid",
            vec![t(&[2, 4, 4, 3], 19)],
            Box::new(|g, x| g.max_pool(x[0], [2, 2], [2, 2], Padding::Valid)),
        ),
        (
            "max_pool same overlapping",
            vec![t(&[1, 5, 5, 2], 20)],
            Box::new(|g, x| g.max_pool(x[0], [3, 3], [2, 2], Padding::Same)),
        ),
        (
            "avg_pool valid",
            vec![t(&[2, 4, 4, 3], 21)],
            Box::new(|g, x| g.avg_pool(x[0], [2, 2], [2, 2], Padding::Valid)),
        ),
        (
            "avg_pool same",
            vec![t(&[1, 5, 5, 2], 22)],
            Box::new(|g, x| g.avg_pool(x[0], [3, 3], [2, 2], Padding::Same)),
        ),
        (
            "fused_batch_norm training",
            vec![t(&[4, 2, 2, 3], 23), t(&[3], 24), t(&[3], 25)],
            Box::new(|g, x| Ok(g.fused_batch_norm(x[0], x[1], x[2], None, None, 1e-3, true)?.0)),
        ),
        (
            "fused_batch_norm 2-D training",
            vec![t(&[5, 3], 26), t(&[3], 27), t(&[3], 28)],
            Box::new(|g, x| Ok(g.fused_batch_norm(x[0], x[1], x[2], None, None, 1e-3, true)?.0)),
        ),
        (
            "fused_batch_norm inference",
            vec![t(&[2, 2, 2, 3], 29), t(&[3], 30), t(&[3], 31)],
            Box::new(|g, x| {
                let mean = g.constant(Tensor::vector(vec![0.1f64, -0.2, 0.3]))?;
                let var = g.constant(Tensor::vector(vec![0.5f64, 1.5, 2.0]))?;
                Ok(g.fused_batch_norm(x[0], x[1], x[2], Some(mean), Some(var), 1e-3, false)?.0)
            }),
        ),
    ];
    check(cases);
}

#[test]
fn array_family_gradients() {
    let a = t(&[2, 3, 4], 40);
    let m = t(&[3, 4], 41);
    let cases: Vec<(&str, Vec<Tensor>, BuildFn)> = vec![
        ("transpose", vec![a.clone()], Box::new(|g, x| g.transpose(x[0], Some(&[2, 0, 1])))),
        ("expand_dims", vec![m.clone()], Box::new(|g, x| g.expand_dims(x[0], -1))),
        ("squeeze", vec![t(&[3, 1, 2], 42)], Box::new(|g, x| g.squeeze(x[0], &[1]))),
        ("concat", vec![m.clone(), t(&[3, 2], 43)], Box::new(|g, x| g.concat(&[x[0], x[1], x[0]], 1))),
        (
            "concat dynamic",
            vec![m.clone(), t(&[2, 4], 44)],
            Box::new(|g, x| {
                let d = dynamic(g, x[0])?;
                g.concat(&[d, x[1]], 0)
            }),
        ),
        ("stack", vec![m.clone(), m.clone()], Box::new(|g, x| g.stack(&[x[0], x[1]], 1))),
        (
            "unstack",
            vec![a.clone()],
            Box::new(|g, x| {
                let parts = g.unstack(x[0], 1)?;
                let sq = g.square(parts[2])?;
                g.add(parts[0], sq)
            }),
        ),
        ("slice", vec![a.clone()], Box::new(|g, x| g.slice(x[0], &[0, 1, 1], &[2, -1, 2]))),
        (
            "slice dynamic",
            vec![a.clone()],
            Box::new(|g, x| {
                let d = dynamic(g, x[0])?;
                g.slice(d, &[1, 0, 2], &[1, 2, -1])
            }),
        ),
        (
            "strided_slice",
            vec![a.clone()],
            Box::new(|g, x| {
                let masks = StridedSliceMasks { begin_mask: 0b010, end_mask: 0b100, shrink_axis_mask: 0b001 };
                g.strided_slice(x[0], &[1, 0, 3], &[2, 2, 0], &[1, 1, -2], masks)
            }),
        ),
        (
            "strided_slice dynamic",
            vec![a.clone()],
            Box::new(|g, x| {
                let d = dynamic(g, x[0])?;
                g.strided_slice(d, &[0, -1], &[2, -4], &[1, -1], StridedSliceMasks::default())
            }),
        ),
        (
            "gather",
            vec![m.clone()],
            Box::new(|g, x| {
                let idx = g.constant(Tensor::from_vec(&[2, 2], vec![2i32, 0, 2, 1]).unwrap())?;
                g.gather(x[0], idx, 0)
            }),
        ),
        (
            "gather dynamic",
            vec![m.clone()],
            Box::new(|g, x| {
                let d = dynamic(g, x[0])?;
                let idx = g.constant(Tensor::vector(vec![1i64, 1, 0]))?;
                g.gather(d, idx, 0)
            }),
        ),
        (
            "unsorted_segment_sum",
            vec![m.clone()],
            Box::new(|g, x| {
                let ids = g.constant(Tensor::vector(vec![1i32, 0, 1]))?;
                let n = g.constant(Tensor::scalar(3i32))?;
                g.unsorted_segment_sum(x[0], ids, n)
            }),
        ),
        ("tile", vec![t(&[2, 3], 45)], Box::new(|g, x| g.tile(x[0], &[2, 3]))),
        (
            "tile dynamic",
            vec![t(&[2, 3], 46)],
            Box::new(|g, x| {
                let d = dynamic(g, x[0])?;
                g.tile(d, &[3, 1])
            }),
        ),
        ("pad", vec![a.clone()], Box::new(|g, x| g.pad(x[0], &[(1, 0), (0, 2), (1, 1)]))),
        (
            "pad dynamic",
            vec![m.clone()],
            Box::new(|g, x| {
                let d = dynamic(g, x[0])?;
                g.pad(d, &[(0, 1), (2, 0)])
            }),
        ),
        (
            "batch_matmul",
            vec![t(&[2, 3, 4], 47), t(&[2, 4, 2], 48)],
            Box::new(|g, x| g.batch_matmul(x[0], x[1], false, false)),
        ),
        (
            "batch_matmul adj_x",
            vec![t(&[2, 4, 3], 49), t(&[2, 4, 2], 50)],
            Box::new(|g, x| g.batch_matmul(x[0], x[1], true, false)),
        ),
        (
            "batch_matmul adj_y",
            vec![t(&[2, 3, 4], 51), t(&[2, 2, 4], 52)],
            Box::new(|g, x| g.batch_matmul(x[0], x[1], false, true)),
        ),
        (
            "batch_matmul adj both",
            vec![t(&[1, 2, 4, 3], 53), t(&[1, 2, 2, 4], 54)],
            Box::new(|g, x| g.batch_matmul(x[0], x[1], true, true)),
        ),
    ];
    check(cases);
}
