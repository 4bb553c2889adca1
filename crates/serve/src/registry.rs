//! [`ModelRegistry`]: the loaded models, by name and version.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use mlrig_core::Servable;

use crate::ServeError;

type Versions = BTreeMap<u64, Arc<dyn Servable>>;

/// The models a server answers for: name → version → servable.
///
/// Reads and writes take `&self` (an internal [`RwLock`]), so a server shares
/// one `Arc<ModelRegistry>` and a loader can add or retire versions while it
/// serves (hot reload); a request holds its own `Arc` of the servable, so a
/// version removed mid-request finishes that request.
///
/// ```
/// # use std::sync::Arc;
/// # use mlrig_core::{Predictions, Servable, ServableInfo, Task, arrow_array::RecordBatch,
/// #     arrow_schema::{Schema, SchemaRef}};
/// # struct Constant(ServableInfo);
/// # impl Servable for Constant {
/// #     fn input_schema(&self) -> SchemaRef { Arc::new(Schema::empty()) }
/// #     fn info(&self) -> &ServableInfo { &self.0 }
/// #     fn predict(&self, b: &RecordBatch) -> mlrig_core::Result<Predictions> {
/// #         Ok(Predictions::Regression { values: mlrig_core::ndarray::Array1::zeros(b.num_rows()) })
/// #     }
/// # }
/// # let model = |version| Arc::new(Constant(ServableInfo::new("iris", version, Task::Regression, "y")));
/// use mlrig_serve::ModelRegistry;
/// let registry = ModelRegistry::new();
/// registry.insert(model(1))?;
/// registry.insert(model(2))?;
/// assert_eq!(registry.get("iris", None)?.info().version, 2);
/// assert_eq!(registry.get("iris", Some(1))?.info().version, 1);
/// assert!(registry.get("iris", Some(3)).is_err());
/// assert_eq!(registry.models(), vec!["iris".to_string()]);
/// assert_eq!(registry.versions("iris"), vec![1, 2]);
/// # Ok::<(), mlrig_serve::ServeError>(())
/// ```
#[derive(Default)]
pub struct ModelRegistry {
    models: RwLock<BTreeMap<String, Versions>>,
}

impl std::fmt::Debug for ModelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let models = self.read();
        f.debug_map()
            .entries(
                models
                    .iter()
                    .map(|(name, versions)| (name, versions.keys().collect::<Vec<_>>())),
            )
            .finish()
    }
}

impl ModelRegistry {
    /// An empty registry.
    ///
    /// ```
    /// assert!(mlrig_serve::ModelRegistry::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    // A panic while holding the lock cannot leave the map half-updated (every
    // write is a single insert or remove), so a poisoned lock is still usable.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Versions>> {
        self.models.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Versions>> {
        self.models.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a servable under the name and version of its [`Servable::info`],
    /// returning the servable it replaces, if any.
    ///
    /// # Errors
    /// [`ServeError::InvalidModel`] when the name is empty or contains `/` or
    /// `:` (it could not be addressed in a URL path), or the version is 0
    /// (TF Serving versions are positive integers).
    pub fn insert(
        &self,
        servable: Arc<dyn Servable>,
    ) -> Result<Option<Arc<dyn Servable>>, ServeError> {
        let info = servable.info();
        let (name, version) = (info.name.clone(), info.version);
        let invalid = |reason: &str| ServeError::InvalidModel {
            name: name.clone(),
            version,
            reason: reason.to_string(),
        };
        if name.is_empty() {
            return Err(invalid("the model name is empty"));
        }
        if name.contains(['/', ':']) {
            return Err(invalid(
                "a model name cannot contain `/` or `:` (they delimit the URL path)",
            ));
        }
        if version == 0 {
            return Err(invalid("versions are positive integers; 0 is not allowed"));
        }
        Ok(self
            .write()
            .entry(name.clone())
            .or_default()
            .insert(version, servable))
    }

    /// Removes one version of a model, returning it; the model disappears
    /// with its last version.
    ///
    /// ```
    /// let registry = mlrig_serve::ModelRegistry::new();
    /// assert!(registry.remove("iris", 1).is_none());
    /// ```
    pub fn remove(&self, name: &str, version: u64) -> Option<Arc<dyn Servable>> {
        let mut models = self.write();
        let versions = models.get_mut(name)?;
        let removed = versions.remove(&version);
        if versions.is_empty() {
            models.remove(name);
        }
        removed
    }

    /// The servable for `name` in `version`, or its latest (highest) version
    /// when `version` is `None`.
    ///
    /// # Errors
    /// [`ServeError::ModelNotFound`] (listing the loaded models) or
    /// [`ServeError::VersionNotFound`] (listing the loaded versions).
    pub fn get(&self, name: &str, version: Option<u64>) -> Result<Arc<dyn Servable>, ServeError> {
        let models = self.read();
        let Some(versions) = models.get(name) else {
            return Err(ServeError::ModelNotFound {
                name: name.to_string(),
                available: models.keys().cloned().collect(),
            });
        };
        let found = match version {
            Some(v) => versions.get(&v),
            None => versions.values().next_back(),
        };
        found.cloned().ok_or_else(|| match version {
            Some(v) => ServeError::VersionNotFound {
                name: name.to_string(),
                version: v,
                available: versions.keys().copied().collect(),
            },
            None => ServeError::ModelNotFound {
                name: name.to_string(),
                available: models.keys().cloned().collect(),
            },
        })
    }

    /// The names of the loaded models, sorted.
    ///
    /// ```
    /// assert!(mlrig_serve::ModelRegistry::new().models().is_empty());
    /// ```
    pub fn models(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// The loaded versions of `name`, ascending (empty when it is not loaded).
    ///
    /// ```
    /// assert!(mlrig_serve::ModelRegistry::new().versions("iris").is_empty());
    /// ```
    pub fn versions(&self, name: &str) -> Vec<u64> {
        self.read()
            .get(name)
            .map(|v| v.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Number of loaded model versions, over all models.
    ///
    /// ```
    /// assert_eq!(mlrig_serve::ModelRegistry::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.read().values().map(BTreeMap::len).sum()
    }

    /// `true` when no model is loaded.
    ///
    /// ```
    /// assert!(mlrig_serve::ModelRegistry::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlrig_core::arrow_array::RecordBatch;
    use mlrig_core::arrow_schema::{Schema, SchemaRef};
    use mlrig_core::{Predictions, ServableInfo, Task};

    struct Named(ServableInfo);
    impl Servable for Named {
        fn input_schema(&self) -> SchemaRef {
            Arc::new(Schema::empty())
        }
        fn info(&self) -> &ServableInfo {
            &self.0
        }
        fn predict(&self, batch: &RecordBatch) -> mlrig_core::Result<Predictions> {
            Ok(Predictions::Regression {
                values: mlrig_core::ndarray::Array1::zeros(batch.num_rows()),
            })
        }
    }

    fn named(name: &str, version: u64) -> Arc<dyn Servable> {
        Arc::new(Named(ServableInfo::new(
            name,
            version,
            Task::Regression,
            "y",
        )))
    }

    #[test]
    fn insert_get_remove() {
        let r = ModelRegistry::new();
        assert!(r.insert(named("a", 3)).unwrap().is_none());
        assert!(r.insert(named("a", 1)).unwrap().is_none());
        assert!(r.insert(named("a", 3)).unwrap().is_some());
        r.insert(named("b", 1)).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r.get("a", None).unwrap().info().version, 3);
        match r.get("a", Some(2)) {
            Err(ServeError::VersionNotFound { available, .. }) => assert_eq!(available, [1, 3]),
            other => panic!("{:?}", other.map(|s| s.info().clone())),
        }
        match r.get("c", None) {
            Err(ServeError::ModelNotFound { available, .. }) => assert_eq!(available, ["a", "b"]),
            other => panic!("{:?}", other.map(|s| s.info().clone())),
        }
        assert!(r.remove("b", 1).is_some());
        assert_eq!(r.models(), ["a"]);
        assert!(format!("{r:?}").contains("\"a\": [1, 3]"));
    }

    #[test]
    fn rejects_unaddressable_models() {
        let r = ModelRegistry::new();
        for (name, version) in [("", 1), ("a/b", 1), ("a:predict", 1), ("a", 0)] {
            let Err(err) = r.insert(named(name, version)) else {
                panic!("{name:?} version {version} was accepted");
            };
            assert!(matches!(err, ServeError::InvalidModel { .. }), "{err}");
        }
        assert!(r.is_empty());
    }
}
