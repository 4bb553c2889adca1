//! [`ModelRegistry`]: the loaded models, by name and version.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use mlrig_core::Servable;

use crate::ServeError;

/// Which version of a model a request addresses.
///
/// ```
/// use mlrig_serve::VersionSelector;
/// assert_eq!(VersionSelector::from(Some(3)), VersionSelector::Specific(3));
/// assert_eq!(VersionSelector::from(None), VersionSelector::Latest);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VersionSelector {
    /// The highest loaded version.
    Latest,
    /// One version number.
    Specific(u64),
    /// The version a label (such as `stable` or `canary`) points at.
    Label(String),
}

impl From<Option<u64>> for VersionSelector {
    fn from(version: Option<u64>) -> Self {
        version.map_or(VersionSelector::Latest, VersionSelector::Specific)
    }
}

/// One model: its loaded versions and the labels pointing at them.
#[derive(Default)]
struct Model {
    versions: BTreeMap<u64, Arc<dyn Servable>>,
    labels: BTreeMap<String, u64>,
}

/// The models a server answers for: name → version → servable, plus
/// version labels (name → label → version).
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
    models: RwLock<BTreeMap<String, Model>>,
    /// Versions that failed to load, with the reason: name → version → message
    /// (shown in the model status as TF Serving's state `END`).
    failed: RwLock<BTreeMap<String, BTreeMap<u64, String>>>,
}

impl std::fmt::Debug for ModelRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let models = self.read();
        f.debug_map()
            .entries(
                models
                    .iter()
                    .map(|(name, model)| (name, model.versions.keys().collect::<Vec<_>>())),
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
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Model>> {
        self.models.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Model>> {
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
            .versions
            .insert(version, servable))
    }

    /// Removes one version of a model, returning it, and the labels that
    /// pointed at it; the model disappears with its last version.
    ///
    /// ```
    /// let registry = mlrig_serve::ModelRegistry::new();
    /// assert!(registry.remove("iris", 1).is_none());
    /// ```
    pub fn remove(&self, name: &str, version: u64) -> Option<Arc<dyn Servable>> {
        let mut models = self.write();
        let model = models.get_mut(name)?;
        let removed = model.versions.remove(&version);
        model.labels.retain(|_, v| *v != version);
        if model.versions.is_empty() {
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
        self.select(name, &VersionSelector::from(version))
    }

    /// The servable a [`VersionSelector`] addresses: the latest version, a
    /// specific one, or the one a label points at.
    ///
    /// # Errors
    /// [`ServeError::ModelNotFound`], [`ServeError::VersionNotFound`] or
    /// [`ServeError::LabelNotFound`] (listing the model's labels).
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
    /// use mlrig_serve::{ModelRegistry, ServeError, VersionSelector};
    /// let registry = ModelRegistry::new();
    /// registry.insert(model(1))?;
    /// registry.insert(model(2))?;
    /// let stable = VersionSelector::Label("stable".into());
    /// assert!(matches!(registry.select("iris", &stable), Err(ServeError::LabelNotFound { .. })));
    /// registry.set_label("iris", "stable", 1)?;
    /// assert_eq!(registry.select("iris", &stable)?.info().version, 1);
    /// assert_eq!(registry.select("iris", &VersionSelector::Latest)?.info().version, 2);
    /// # Ok::<(), mlrig_serve::ServeError>(())
    /// ```
    pub fn select(
        &self,
        name: &str,
        selector: &VersionSelector,
    ) -> Result<Arc<dyn Servable>, ServeError> {
        let models = self.read();
        let Some(model) = models.get(name) else {
            return Err(ServeError::ModelNotFound {
                name: name.to_string(),
                available: models.keys().cloned().collect(),
            });
        };
        let version_not_found = |version: u64| ServeError::VersionNotFound {
            name: name.to_string(),
            version,
            available: model.versions.keys().copied().collect(),
        };
        match selector {
            VersionSelector::Latest => {
                model.versions.values().next_back().cloned().ok_or_else(|| {
                    ServeError::ModelNotFound {
                        name: name.to_string(),
                        available: models.keys().cloned().collect(),
                    }
                })
            }
            VersionSelector::Specific(v) => model
                .versions
                .get(v)
                .cloned()
                .ok_or_else(|| version_not_found(*v)),
            VersionSelector::Label(label) => {
                let Some(v) = model.labels.get(label) else {
                    return Err(ServeError::LabelNotFound {
                        name: name.to_string(),
                        label: label.clone(),
                        available: model.labels.keys().cloned().collect(),
                    });
                };
                model
                    .versions
                    .get(v)
                    .cloned()
                    .ok_or_else(|| version_not_found(*v))
            }
        }
    }

    /// Points `label` of model `name` at a loaded `version` (as TF Serving,
    /// a label can only name a version that is available), returning the
    /// version it pointed at before, if any.
    ///
    /// # Errors
    /// [`ServeError::ModelNotFound`] or [`ServeError::VersionNotFound`] when
    /// the version is not loaded; [`ServeError::InvalidLabel`] (400) for an
    /// empty label or one containing `/` or `:`.
    pub fn set_label(
        &self,
        name: &str,
        label: &str,
        version: u64,
    ) -> Result<Option<u64>, ServeError> {
        if label.is_empty() || label.contains(['/', ':']) {
            return Err(ServeError::InvalidLabel {
                name: name.to_string(),
                label: label.to_string(),
                reason: "it cannot be addressed in a URL path (empty, or contains `/` or `:`); use letters, digits, `-` or `_`".into(),
            });
        }
        let mut models = self.write();
        let available: Vec<String> = models.keys().cloned().collect();
        let Some(model) = models.get_mut(name) else {
            return Err(ServeError::ModelNotFound {
                name: name.to_string(),
                available,
            });
        };
        if !model.versions.contains_key(&version) {
            return Err(ServeError::VersionNotFound {
                name: name.to_string(),
                version,
                available: model.versions.keys().copied().collect(),
            });
        }
        Ok(model.labels.insert(label.to_string(), version))
    }

    /// Removes a label, returning the version it pointed at.
    ///
    /// ```
    /// assert_eq!(mlrig_serve::ModelRegistry::new().remove_label("iris", "stable"), None);
    /// ```
    pub fn remove_label(&self, name: &str, label: &str) -> Option<u64> {
        self.write().get_mut(name)?.labels.remove(label)
    }

    /// The labels of `name` and the versions they point at (empty when the
    /// model is not loaded or has none).
    ///
    /// ```
    /// assert!(mlrig_serve::ModelRegistry::new().labels("iris").is_empty());
    /// ```
    pub fn labels(&self, name: &str) -> BTreeMap<String, u64> {
        self.read()
            .get(name)
            .map(|m| m.labels.clone())
            .unwrap_or_default()
    }

    /// Records that `version` of `name` failed to load, and why; the model
    /// status lists it with state `END` and the message (TF Serving's
    /// `model_version_status`) until [`ModelRegistry::clear_failed`]. The
    /// version is not served (a loaded version stays loaded).
    ///
    /// ```
    /// let registry = mlrig_serve::ModelRegistry::new();
    /// registry.set_failed("iris", 3, "no features.json");
    /// assert_eq!(registry.failed("iris")[&3], "no features.json");
    /// registry.clear_failed("iris", 3);
    /// assert!(registry.failed("iris").is_empty());
    /// ```
    pub fn set_failed(&self, name: &str, version: u64, reason: impl Into<String>) {
        self.failed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_string())
            .or_default()
            .insert(version, reason.into());
    }

    /// Forgets a failure recorded by [`ModelRegistry::set_failed`].
    ///
    /// ```
    /// mlrig_serve::ModelRegistry::new().clear_failed("iris", 1);
    /// ```
    pub fn clear_failed(&self, name: &str, version: u64) {
        let mut failed = self.failed.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(versions) = failed.get_mut(name) {
            versions.remove(&version);
            if versions.is_empty() {
                failed.remove(name);
            }
        }
    }

    /// The versions of `name` that failed to load and why (see
    /// [`ModelRegistry::set_failed`]).
    ///
    /// ```
    /// assert!(mlrig_serve::ModelRegistry::new().failed("iris").is_empty());
    /// ```
    pub fn failed(&self, name: &str) -> BTreeMap<u64, String> {
        self.failed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .unwrap_or_default()
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
            .map(|m| m.versions.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Number of loaded model versions, over all models.
    ///
    /// ```
    /// assert_eq!(mlrig_serve::ModelRegistry::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.read().values().map(|m| m.versions.len()).sum()
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
    use crate::test_servable::Constant;
    use mlrig_core::{ServableInfo, Task};

    fn named(name: &str, version: u64) -> Arc<dyn Servable> {
        Arc::new(Constant(ServableInfo::new(
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
