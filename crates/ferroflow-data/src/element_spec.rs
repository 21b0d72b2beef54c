//! The dtypes and shapes of a dataset's elements (TF's `element_spec` / `output_types` +
//! `output_shapes`), flattened: an element is a `Vec<Tensor>`, one tensor per component.

use ferroflow_core::{DType, Error, PartialShape, Result, Shape, Tensor};

/// The dtype and build-time shape of each component of a dataset's elements.
///
/// Mirrors TF1's `(output_types, output_shapes)` pair. Difference: nested structures are flattened
/// into a list of components.
#[derive(Clone, Debug, PartialEq)]
pub struct ElementSpec {
    /// The dtype of each component.
    pub dtypes: Vec<DType>,
    /// The shape of each component, as far as it is known.
    pub shapes: Vec<PartialShape>,
}

impl ElementSpec {
    /// A spec from dtypes and shapes.
    ///
    /// # Errors
    /// `InvalidArgument` when the lists differ in length or are empty.
    pub fn new(dtypes: Vec<DType>, shapes: Vec<PartialShape>) -> Result<ElementSpec> {
        if dtypes.len() != shapes.len() {
            return Err(Error::invalid_argument(format!(
                "element spec has {} dtypes but {} shapes",
                dtypes.len(),
                shapes.len()
            )));
        }
        if dtypes.is_empty() {
            return Err(Error::invalid_argument("an element must have at least one component"));
        }
        Ok(ElementSpec { dtypes, shapes })
    }

    /// The spec of exactly these tensors.
    pub fn of(tensors: &[Tensor]) -> ElementSpec {
        ElementSpec {
            dtypes: tensors.iter().map(Tensor::dtype).collect(),
            shapes: tensors.iter().map(|t| PartialShape::known(t.shape())).collect(),
        }
    }

    /// One scalar component of this dtype.
    pub fn scalar(dtype: DType) -> ElementSpec {
        ElementSpec { dtypes: vec![dtype], shapes: vec![PartialShape::scalar()] }
    }

    /// The number of components.
    pub fn len(&self) -> usize {
        self.dtypes.len()
    }

    /// Whether there are no components (never true for a spec built by [`ElementSpec::new`]).
    pub fn is_empty(&self) -> bool {
        self.dtypes.is_empty()
    }

    /// Checks that an element produced at run time matches the spec.
    ///
    /// # Errors
    /// `InvalidArgument` naming `what`, the component and both dtypes or shapes.
    pub fn check(&self, element: &[Tensor], what: &str) -> Result<()> {
        if element.len() != self.len() {
            return Err(Error::invalid_argument(format!(
                "{what}: element has {} components, expected {}",
                element.len(),
                self.len()
            )));
        }
        for (i, ((t, dtype), shape)) in element.iter().zip(&self.dtypes).zip(&self.shapes).enumerate() {
            if t.dtype() != *dtype {
                return Err(Error::invalid_argument(format!(
                    "{what}: component {i} has dtype {}, expected {dtype}",
                    t.dtype()
                )));
            }
            if !shape.is_compatible_with(t.shape()) {
                return Err(Error::invalid_argument(format!(
                    "{what}: component {i} has shape {}, expected {shape}",
                    Shape::from(t.shape())
                )));
            }
        }
        Ok(())
    }
}
