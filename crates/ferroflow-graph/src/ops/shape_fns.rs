//! Shape inference helpers shared by op constructors.

use ferroflow_core::{Error, PartialShape, Result};

/// The broadcast shape of two operands (numpy rules), as far as it is known.
///
/// # Errors
/// `InvalidArgument` when known dimensions are incompatible.
pub fn broadcast_shapes(a: &PartialShape, b: &PartialShape) -> Result<PartialShape> {
    let (Some(da), Some(db)) = (a.dims(), b.dims()) else {
        return Ok(PartialShape::unknown());
    };
    let rank = da.len().max(db.len());
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let x = if i + da.len() >= rank { da[i + da.len() - rank] } else { Some(1) };
        let y = if i + db.len() >= rank { db[i + db.len() - rank] } else { Some(1) };
        out.push(match (x, y) {
            (Some(1), y) => y,
            (x, Some(1)) => x,
            (Some(x), Some(y)) if x == y => Some(x),
            (Some(_), Some(_)) => {
                return Err(Error::invalid_argument(format!("shapes {a} and {b} cannot be broadcast")))
            }
            (Some(x), None) | (None, Some(x)) => Some(x),
            (None, None) => None,
        });
    }
    Ok(PartialShape::new(out))
}

/// Normalizes possibly negative axes against a rank.
///
/// # Errors
/// `InvalidArgument` for an axis outside `[-rank, rank)`.
pub fn normalize_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>> {
    axes.iter()
        .map(|&a| {
            let r = rank as i64;
            if a < -r || a >= r {
                Err(Error::invalid_argument(format!("axis {a} is out of range for rank {rank}")))
            } else {
                Ok(((a + r) % r.max(1)) as usize)
            }
        })
        .collect()
}

/// The shape of a reduction over `axes` (all axes when `None`).
pub fn reduced_shape(input: &PartialShape, axes: Option<&[i64]>, keep_dims: bool) -> Result<PartialShape> {
    let Some(dims) = input.dims() else {
        return Ok(PartialShape::unknown());
    };
    let axes = match axes {
        Some(a) => normalize_axes(a, dims.len())?,
        None => (0..dims.len()).collect(),
    };
    let out: Vec<Option<usize>> = dims
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match (axes.contains(&i), keep_dims) {
            (true, true) => Some(Some(1)),
            (true, false) => None,
            (false, _) => Some(*d),
        })
        .collect();
    Ok(PartialShape::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting() -> Result<()> {
        let a = PartialShape::new(vec![None, Some(3)]);
        let b = PartialShape::known(&[3]);
        assert_eq!(broadcast_shapes(&a, &b)?, a);
        assert_eq!(
            broadcast_shapes(&PartialShape::known(&[2, 1]), &PartialShape::known(&[1, 4]))?,
            PartialShape::known(&[2, 4])
        );
        assert!(broadcast_shapes(&PartialShape::known(&[2]), &PartialShape::known(&[3])).is_err());
        assert_eq!(
            reduced_shape(&PartialShape::known(&[2, 3, 4]), Some(&[-1, 0]), false)?,
            PartialShape::known(&[3])
        );
        assert_eq!(reduced_shape(&PartialShape::known(&[2, 3]), None, true)?, PartialShape::known(&[1, 1]));
        Ok(())
    }
}
