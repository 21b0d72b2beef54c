//! Fully known and partially known tensor shapes.

use crate::{Error, Result};
use std::fmt;

/// A fully known shape: one size per dimension (empty for a scalar).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: impl Into<Vec<usize>>) -> Self {
        Shape(dims.into())
    }

    /// The shape of a scalar.
    pub fn scalar() -> Self {
        Shape(Vec::new())
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The number of elements (1 for a scalar).
    pub fn num_elements(&self) -> usize {
        self.0.iter().product()
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ",")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

/// A partially known shape, as TensorFlow infers at graph-build time: the rank may be unknown (`dims` is
/// `None`), and each dimension may be unknown (`None`, printed `?`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PartialShape {
    dims: Option<Vec<Option<usize>>>,
}

impl PartialShape {
    /// A shape of unknown rank.
    pub fn unknown() -> Self {
        PartialShape { dims: None }
    }

    /// A shape of known rank whose dimensions may be unknown.
    pub fn new(dims: impl Into<Vec<Option<usize>>>) -> Self {
        PartialShape { dims: Some(dims.into()) }
    }

    /// A fully known shape.
    pub fn known(dims: &[usize]) -> Self {
        PartialShape { dims: Some(dims.iter().map(|&d| Some(d)).collect()) }
    }

    /// The shape of a scalar.
    pub fn scalar() -> Self {
        PartialShape { dims: Some(Vec::new()) }
    }

    /// A shape of this rank with every dimension unknown.
    pub fn unknown_dims(rank: usize) -> Self {
        PartialShape { dims: Some(vec![None; rank]) }
    }

    /// The dimensions, or `None` when the rank is unknown.
    pub fn dims(&self) -> Option<&[Option<usize>]> {
        self.dims.as_deref()
    }

    /// The rank, or `None` when unknown.
    pub fn rank(&self) -> Option<usize> {
        self.dims.as_ref().map(Vec::len)
    }

    /// Dimension `i`, or `None` when the rank or that dimension is unknown.
    pub fn dim(&self, i: usize) -> Option<usize> {
        self.dims.as_ref().and_then(|d| d.get(i).copied().flatten())
    }

    /// The fully known shape, or `None` if any part is unknown.
    pub fn to_shape(&self) -> Option<Shape> {
        let dims = self.dims.as_ref()?;
        dims.iter().copied().collect::<Option<Vec<_>>>().map(Shape)
    }

    /// Whether the rank and every dimension are known.
    pub fn is_fully_defined(&self) -> bool {
        self.to_shape().is_some()
    }

    /// Whether a concrete shape is compatible with this one (`?` matches any size).
    pub fn is_compatible_with(&self, shape: &[usize]) -> bool {
        match &self.dims {
            None => true,
            Some(dims) => {
                dims.len() == shape.len() && dims.iter().zip(shape).all(|(d, s)| d.is_none_or(|d| d == *s))
            }
        }
    }

    /// The most specific shape compatible with both, as TF's `merge_with`.
    ///
    /// # Errors
    /// `InvalidArgument` when the shapes are incompatible.
    pub fn merge(&self, other: &PartialShape) -> Result<PartialShape> {
        match (&self.dims, &other.dims) {
            (None, _) => Ok(other.clone()),
            (_, None) => Ok(self.clone()),
            (Some(a), Some(b)) => {
                if a.len() != b.len() {
                    return Err(Error::invalid_argument(format!(
                        "shapes {self} and {other} have different ranks"
                    )));
                }
                let merged = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) if x != y => Err(Error::invalid_argument(format!(
                            "shapes {self} and {other} are incompatible"
                        ))),
                        (Some(x), _) => Ok(Some(*x)),
                        (None, y) => Ok(*y),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(PartialShape::new(merged))
            }
        }
    }
}

impl From<Shape> for PartialShape {
    fn from(shape: Shape) -> Self {
        PartialShape::known(&shape.0)
    }
}

impl From<&[usize]> for PartialShape {
    fn from(dims: &[usize]) -> Self {
        PartialShape::known(dims)
    }
}

impl fmt::Display for PartialShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dims {
            None => write!(f, "<unknown>"),
            Some(dims) => {
                write!(f, "[")?;
                for (i, d) in dims.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    match d {
                        Some(d) => write!(f, "{d}")?,
                        None => write!(f, "?")?,
                    }
                }
                write!(f, "]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_and_merge() {
        let p = PartialShape::new(vec![None, Some(3)]);
        assert!(p.is_compatible_with(&[5, 3]));
        assert!(!p.is_compatible_with(&[5, 4]));
        assert!(!p.is_compatible_with(&[3]));
        assert!(PartialShape::unknown().is_compatible_with(&[1, 2, 3]));
        let m = p.merge(&PartialShape::new(vec![Some(2), None])).ok();
        assert_eq!(m, Some(PartialShape::known(&[2, 3])));
        assert!(p.merge(&PartialShape::known(&[2, 4])).is_err());
        assert_eq!(p.to_string(), "[?,3]");
        assert_eq!(Shape::new(vec![2, 3]).num_elements(), 6);
    }
}
