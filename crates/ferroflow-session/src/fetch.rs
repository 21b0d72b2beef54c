//! Nested fetch structures (TF's `fetches` argument) and the results in the same shape.

use ferroflow_core::{Error, Result, Tensor, TensorElement};
use ferroflow_graph::{Operation, Output};
use std::collections::BTreeMap;

/// What to fetch from a run: a tensor, an operation to run (a target, fetched as `None`), or nested lists
/// and name-keyed maps of these, as TF's `session.run` accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch {
    /// A tensor's value.
    Tensor(Output),
    /// An operation run for its effect; its result is [`Fetched::None`].
    Op(Operation),
    /// A list of fetches.
    List(Vec<Fetch>),
    /// A map of fetches by name.
    Map(BTreeMap<String, Fetch>),
}

impl From<Output> for Fetch {
    fn from(o: Output) -> Self {
        Fetch::Tensor(o)
    }
}

impl From<Operation> for Fetch {
    fn from(o: Operation) -> Self {
        Fetch::Op(o)
    }
}

impl<T: Into<Fetch>> From<Vec<T>> for Fetch {
    fn from(v: Vec<T>) -> Self {
        Fetch::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Fetch>, const N: usize> From<[T; N]> for Fetch {
    fn from(v: [T; N]) -> Self {
        Fetch::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Fetch>> From<BTreeMap<String, T>> for Fetch {
    fn from(m: BTreeMap<String, T>) -> Self {
        Fetch::Map(m.into_iter().map(|(k, v)| (k, v.into())).collect())
    }
}

impl Fetch {
    /// Adds the tensors and targets of this structure to flat lists (tensors deduplicated).
    pub(crate) fn flatten(&self, tensors: &mut Vec<Output>, targets: &mut Vec<Operation>) {
        match self {
            Fetch::Tensor(o) => {
                if !tensors.contains(o) {
                    tensors.push(*o);
                }
            }
            Fetch::Op(op) => {
                if !targets.contains(op) {
                    targets.push(*op);
                }
            }
            Fetch::List(v) => v.iter().for_each(|f| f.flatten(tensors, targets)),
            Fetch::Map(m) => m.values().for_each(|f| f.flatten(tensors, targets)),
        }
    }

    /// Rebuilds the structure with values looked up from the flat results.
    pub(crate) fn rebuild(&self, tensors: &[Output], values: &[Tensor]) -> Result<Fetched> {
        Ok(match self {
            Fetch::Tensor(o) => {
                let i = tensors
                    .iter()
                    .position(|t| t == o)
                    .ok_or_else(|| Error::internal("fetched tensor missing from the flat fetch list"))?;
                Fetched::Tensor(
                    values
                        .get(i)
                        .cloned()
                        .ok_or_else(|| Error::internal("session returned too few values"))?,
                )
            }
            Fetch::Op(_) => Fetched::None,
            Fetch::List(v) => {
                Fetched::List(v.iter().map(|f| f.rebuild(tensors, values)).collect::<Result<_>>()?)
            }
            Fetch::Map(m) => Fetched::Map(
                m.iter().map(|(k, f)| Ok((k.clone(), f.rebuild(tensors, values)?))).collect::<Result<_>>()?,
            ),
        })
    }
}

/// The result of a run, in the shape of the [`Fetch`] that asked for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// A tensor's value.
    Tensor(Tensor),
    /// The result of running an operation.
    None,
    /// Results of a list of fetches.
    List(Vec<Fetched>),
    /// Results of a map of fetches.
    Map(BTreeMap<String, Fetched>),
}

impl Fetched {
    /// The tensor, if this is one.
    ///
    /// # Errors
    /// `InvalidArgument` when this is not a tensor.
    pub fn tensor(&self) -> Result<&Tensor> {
        match self {
            Fetched::Tensor(t) => Ok(t),
            other => Err(Error::invalid_argument(format!("fetched {} is not a tensor", other.kind()))),
        }
    }

    /// The tensor by value.
    ///
    /// # Errors
    /// `InvalidArgument` when this is not a tensor.
    pub fn into_tensor(self) -> Result<Tensor> {
        match self {
            Fetched::Tensor(t) => Ok(t),
            other => Err(Error::invalid_argument(format!("fetched {} is not a tensor", other.kind()))),
        }
    }

    /// The single value of a one-element tensor.
    ///
    /// # Errors
    /// `InvalidArgument` when this is not a one-element tensor of dtype `T`.
    pub fn scalar<T: TensorElement>(&self) -> Result<T> {
        self.tensor()?.scalar_value::<T>()
    }

    /// Element `i` of a list.
    ///
    /// # Errors
    /// `InvalidArgument` when this is not a list or `i` is out of range.
    pub fn get(&self, i: usize) -> Result<&Fetched> {
        match self {
            Fetched::List(v) => {
                v.get(i).ok_or_else(|| Error::invalid_argument(format!("fetched list has no element {i}")))
            }
            other => Err(Error::invalid_argument(format!("fetched {} is not a list", other.kind()))),
        }
    }

    /// Entry `key` of a map.
    ///
    /// # Errors
    /// `InvalidArgument` when this is not a map or has no such key.
    pub fn field(&self, key: &str) -> Result<&Fetched> {
        match self {
            Fetched::Map(m) => {
                m.get(key).ok_or_else(|| Error::invalid_argument(format!("fetched map has no key '{key}'")))
            }
            other => Err(Error::invalid_argument(format!("fetched {} is not a map", other.kind()))),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Fetched::Tensor(_) => "value (a tensor)",
            Fetched::None => "value (None, from an operation)",
            Fetched::List(_) => "value (a list)",
            Fetched::Map(_) => "value (a map)",
        }
    }
}
