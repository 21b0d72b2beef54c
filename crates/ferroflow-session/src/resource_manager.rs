//! State that outlives single runs: variables and other named resources (TF's `ResourceMgr`).

use ferroflow_core::{Error, Result, Tensor};
use parking_lot::{Mutex, RwLock};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// One variable's storage. A read returns a reference-counted snapshot; an update replaces or writes in
/// place only when no snapshot is alive, so a value read earlier in a run keeps its value.
#[derive(Debug)]
pub struct VariableCell {
    name: String,
    value: Mutex<Option<Tensor>>,
}

impl VariableCell {
    /// The variable's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current value.
    ///
    /// # Errors
    /// `FailedPrecondition` "Attempting to use uninitialized value `<name>`" before the first assignment.
    pub fn read(&self) -> Result<Tensor> {
        self.value.lock().clone().ok_or_else(|| self.uninitialized())
    }

    /// Whether the variable holds a value.
    pub fn is_initialized(&self) -> bool {
        self.value.lock().is_some()
    }

    /// Sets the value.
    pub fn assign(&self, value: Tensor) {
        *self.value.lock() = Some(value);
    }

    /// Updates the value in place under the lock (copy-on-write when a snapshot is alive).
    ///
    /// # Errors
    /// `FailedPrecondition` when uninitialized, or what `f` returns.
    pub fn update<R>(&self, f: impl FnOnce(&mut Tensor) -> Result<R>) -> Result<R> {
        let mut guard = self.value.lock();
        let value = guard.as_mut().ok_or_else(|| self.uninitialized())?;
        f(value)
    }

    fn uninitialized(&self) -> Error {
        Error::failed_precondition(format!("Attempting to use uninitialized value {}", self.name))
    }
}

/// Variables and other resources of one session, by name.
#[derive(Default)]
pub struct ResourceManager {
    variables: RwLock<HashMap<String, Arc<VariableCell>>>,
    others: RwLock<HashMap<String, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for ResourceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceManager")
            .field("variables", &self.variables.read().len())
            .field("others", &self.others.read().len())
            .finish()
    }
}

impl ResourceManager {
    /// An empty manager.
    pub fn new() -> Self {
        ResourceManager::default()
    }

    /// The variable's cell, created uninitialized on first use.
    pub fn variable(&self, name: &str) -> Arc<VariableCell> {
        if let Some(v) = self.variables.read().get(name) {
            return Arc::clone(v);
        }
        let mut vars = self.variables.write();
        Arc::clone(
            vars.entry(name.to_string()).or_insert_with(|| {
                Arc::new(VariableCell { name: name.to_string(), value: Mutex::new(None) })
            }),
        )
    }

    /// A resource by name, created by `make` on first use (iterators, readers).
    ///
    /// # Errors
    /// What `make` returns; `Internal` when the name holds a resource of another type.
    pub fn get_or_create<T: Any + Send + Sync>(
        &self,
        name: &str,
        make: impl FnOnce() -> Result<T>,
    ) -> Result<Arc<T>> {
        if let Some(r) = self.others.read().get(name) {
            return Arc::clone(r)
                .downcast::<T>()
                .map_err(|_| Error::internal(format!("resource '{name}' has another type")));
        }
        let mut others = self.others.write();
        if !others.contains_key(name) {
            others.insert(name.to_string(), Arc::new(make()?));
        }
        let r = others.get(name).ok_or_else(|| Error::internal("resource vanished"))?;
        Arc::clone(r)
            .downcast::<T>()
            .map_err(|_| Error::internal(format!("resource '{name}' has another type")))
    }

    /// Drops every resource.
    pub fn clear(&self) {
        self.variables.write().clear();
        self.others.write().clear();
    }
}
