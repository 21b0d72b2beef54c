//! Node attributes (TF's `AttrValue`).

use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use std::collections::BTreeMap;

/// The value of a node attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// An integer (`int`).
    Int(i64),
    /// A float (`float`).
    Float(f64),
    /// A boolean (`bool`).
    Bool(bool),
    /// A dtype (`type`).
    Type(DType),
    /// A possibly partial shape (`shape`).
    Shape(PartialShape),
    /// A string (`string`).
    Str(String),
    /// A constant tensor (`tensor`).
    Tensor(Tensor),
    /// A list of integers (`list(int)`).
    Ints(Vec<i64>),
    /// A list of floats (`list(float)`).
    Floats(Vec<f64>),
    /// A list of dtypes (`list(type)`).
    Types(Vec<DType>),
    /// A list of strings (`list(string)`).
    Strs(Vec<String>),
}

/// A node's attributes by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs(pub BTreeMap<String, AttrValue>);

impl Attrs {
    /// No attributes.
    pub fn new() -> Self {
        Attrs::default()
    }

    /// Adds an attribute (builder style).
    pub fn with(mut self, name: &str, value: AttrValue) -> Self {
        self.0.insert(name.to_string(), value);
        self
    }

    /// Sets an attribute.
    pub fn set(&mut self, name: &str, value: AttrValue) {
        self.0.insert(name.to_string(), value);
    }

    /// An attribute, if present.
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.0.get(name)
    }

    fn require(&self, name: &str) -> Result<&AttrValue> {
        self.0.get(name).ok_or_else(|| Error::invalid_argument(format!("missing attribute '{name}'")))
    }

    fn mismatch(name: &str, wanted: &str) -> Error {
        Error::invalid_argument(format!("attribute '{name}' is not of type {wanted}"))
    }

    /// An integer attribute.
    ///
    /// # Errors
    /// `InvalidArgument` if missing or of another type.
    pub fn int(&self, name: &str) -> Result<i64> {
        match self.require(name)? {
            AttrValue::Int(v) => Ok(*v),
            _ => Err(Self::mismatch(name, "int")),
        }
    }

    /// An integer attribute, or a default.
    pub fn int_or(&self, name: &str, default: i64) -> i64 {
        self.int(name).unwrap_or(default)
    }

    /// A float attribute.
    ///
    /// # Errors
    /// `InvalidArgument` if missing or of another type.
    pub fn float(&self, name: &str) -> Result<f64> {
        match self.require(name)? {
            AttrValue::Float(v) => Ok(*v),
            AttrValue::Int(v) => Ok(*v as f64),
            _ => Err(Self::mismatch(name, "float")),
        }
    }

    /// A boolean attribute, or a default when missing.
    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        match self.0.get(name) {
            Some(AttrValue::Bool(b)) => *b,
            _ => default,
        }
    }

    /// A dtype attribute.
    ///
    /// # Errors
    /// `InvalidArgument` if missing or of another type.
    pub fn dtype(&self, name: &str) -> Result<DType> {
        match self.require(name)? {
            AttrValue::Type(v) => Ok(*v),
            _ => Err(Self::mismatch(name, "type")),
        }
    }

    /// A shape attribute.
    ///
    /// # Errors
    /// `InvalidArgument` if missing or of another type.
    pub fn shape(&self, name: &str) -> Result<&PartialShape> {
        match self.require(name)? {
            AttrValue::Shape(v) => Ok(v),
            _ => Err(Self::mismatch(name, "shape")),
        }
    }

    /// A string attribute.
    ///
    /// # Errors
    /// `InvalidArgument` if missing or of another type.
    pub fn str(&self, name: &str) -> Result<&str> {
        match self.require(name)? {
            AttrValue::Str(v) => Ok(v),
            _ => Err(Self::mismatch(name, "string")),
        }
    }

    /// A tensor attribute.
    ///
    /// # Errors
    /// `InvalidArgument` if missing or of another type.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        match self.require(name)? {
            AttrValue::Tensor(v) => Ok(v),
            _ => Err(Self::mismatch(name, "tensor")),
        }
    }

    /// An integer-list attribute.
    ///
    /// # Errors
    /// `InvalidArgument` if missing or of another type.
    pub fn ints(&self, name: &str) -> Result<&[i64]> {
        match self.require(name)? {
            AttrValue::Ints(v) => Ok(v),
            _ => Err(Self::mismatch(name, "list(int)")),
        }
    }

    /// A string-list attribute.
    ///
    /// # Errors
    /// `InvalidArgument` if missing or of another type.
    pub fn strs(&self, name: &str) -> Result<&[String]> {
        match self.require(name)? {
            AttrValue::Strs(v) => Ok(v),
            _ => Err(Self::mismatch(name, "list(string)")),
        }
    }
}
