//! Gradients of the selecting ops (issue 3): `top_k`, and `gather` along an axis other than 0, against
//! central finite differences (f64).

use ferroflow_core::{Code, PartialShape, Result, Tensor};
use ferroflow_graph::GraphBuilder;

use super::gradients::{check, BuildFn};

/// Distinct values far apart compared to the finite-difference step, so no perturbation changes which
/// elements `top_k` selects.
fn distinct(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut order: Vec<u64> = (0..n as u64).collect();
    order.sort_by_key(|&i| {
        (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed.wrapping_mul(0xBF58_476D_1CE4_E5B9)
    });
    let v: Vec<f64> = order.iter().map(|&i| i as f64 * 0.1 - 1.0).collect();
    Tensor::from_vec(shape, v).unwrap()
}

#[test]
fn top_k_gradient_scatters_back_to_the_selected_positions() {
    let cases: Vec<(&str, Vec<Tensor>, BuildFn)> = vec![
        ("top_k vector", vec![distinct(&[7], 1)], Box::new(|g, x| Ok(g.top_k(x[0], 3)?.0))),
        ("top_k matrix", vec![distinct(&[4, 6], 2)], Box::new(|g, x| Ok(g.top_k(x[0], 2)?.0))),
        ("top_k rank 3, k = n", vec![distinct(&[2, 3, 4], 3)], Box::new(|g, x| Ok(g.top_k(x[0], 4)?.0))),
        (
            "top_k values through a product",
            vec![distinct(&[3, 5], 4)],
            Box::new(|g, x| {
                let (v, _) = g.top_k(x[0], 2)?;
                g.mul(v, v)
            }),
        ),
    ];
    check(cases);
}

#[test]
fn top_k_gradient_is_zero_outside_the_top_k() -> Result<()> {
    use ferroflow_session::{DirectSession, SessionExt};
    let mut g = GraphBuilder::new();
    let x = g.constant(Tensor::from_vec(&[2, 4], vec![0.5f32, 3.0, -1.0, 2.0, 9.0, 8.0, 7.0, 6.0])?)?;
    let (values, _) = g.top_k(x, 2)?;
    let grads = g.gradients(&[values], &[x], None)?;
    let dx = grads[0].expect("top_k is differentiable");
    let mut sess = DirectSession::new(g.finalize());
    let got = sess.run(dx, &[])?.tensor()?.to_vec::<f32>()?;
    assert_eq!(got, vec![0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    Ok(())
}

#[test]
fn gather_gradient_along_any_axis() {
    let idx =
        |g: &mut GraphBuilder, v: Vec<i32>, shape: &[usize]| g.constant(Tensor::from_vec(shape, v).unwrap());
    let cases: Vec<(&str, Vec<Tensor>, BuildFn)> = vec![
        (
            "gather axis 1, repeated indices",
            vec![distinct(&[3, 4], 5)],
            Box::new(move |g, x| {
                let i = idx(g, vec![3, 0, 3, 1], &[4])?;
                g.gather(x[0], i, 1)
            }),
        ),
        (
            "gather axis 1, matrix of indices",
            vec![distinct(&[2, 5, 3], 6)],
            Box::new(move |g, x| {
                let i = idx(g, vec![4, 0, 2, 2, 1, 4], &[2, 3])?;
                g.gather(x[0], i, 1)
            }),
        ),
        (
            "gather last axis (-1)",
            vec![distinct(&[2, 3, 4], 7)],
            Box::new(move |g, x| {
                let i = idx(g, vec![1, 3], &[2])?;
                g.gather(x[0], i, -1)
            }),
        ),
        (
            "gather axis 2, scalar index",
            vec![distinct(&[2, 3, 4], 8)],
            Box::new(move |g, x| {
                let i = g.constant(Tensor::scalar(2i32))?;
                g.gather(x[0], i, 2)
            }),
        ),
        (
            "gather axis 1, int64 indices",
            vec![distinct(&[3, 3], 9)],
            Box::new(move |g, x| {
                let i = g.constant(Tensor::vector(vec![2i64, 2, 0]))?;
                g.gather(x[0], i, 1)
            }),
        ),
    ];
    check(cases);
}

#[test]
fn gather_gradient_along_axis_1_needs_a_known_params_shape() -> Result<()> {
    let mut g = GraphBuilder::new();
    let x = g.placeholder(ferroflow_core::DType::F64, PartialShape::unknown_dims(2), "x")?;
    let i = g.constant(Tensor::vector(vec![0i32]))?;
    let y = g.gather(x, i, 1)?;
    let err = g.gradients(&[y], &[x], None).unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert!(err.message().contains("GatherV2"), "{err}");
    Ok(())
}
