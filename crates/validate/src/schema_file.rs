//! [`Schema`] files: tfmd JSON, the protobuf text format (`schema.pbtxt`,
//! byte for byte as TFDV's `write_schema_text` writes it) and binary
//! protobuf, through [`TfmdFile`]; [`Schema::load`] / [`Schema::save`] pick
//! the format from the extension.
//!
//! ```text
//! feature {
//!   name: "age"
//!   type: INT
//!   presence {
//!     min_fraction: 1.0
//!     min_count: 1
//!   }
//! }
//! default_environment: "TRAINING"
//! ```
//!
//! Every field of tensorflow-metadata's `Schema` is read and written back:
//! what mlrig does not act on (`annotation`, `sparse_feature`,
//! `tensor_representation_group`, `natural_language_domain`, …) is kept in
//! the `unmodelled` map of its message and listed by
//! [`Schema::unmodelled_fields`]. A field tfmd does not have (a typo such as
//! `min_fractoin`), a malformed value, a singular field given twice or a
//! scalar where a message belongs is an error naming the line and column.

use std::path::Path;

use crate::tfmd::{TfmdFile, TfmdFormat};
use crate::{Schema, ValidateError};

impl TfmdFile for Schema {
    const MESSAGE: &'static str = "tensorflow.metadata.v0.Schema";
    const WHAT: &'static str = "schema";
}

impl Schema {
    /// The schema in protobuf text format, exactly as TFDV's
    /// `write_schema_text` (Python `text_format.MessageToString`) writes it.
    ///
    /// ```
    /// use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.features.push(Feature::new("age", FeatureType::Int));
    /// schema.default_environment.push("TRAINING".into());
    /// assert_eq!(
    ///     schema.to_pbtxt()?,
    ///     "feature {\n  name: \"age\"\n  type: INT\n}\ndefault_environment: \"TRAINING\"\n"
    /// );
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn to_pbtxt(&self) -> Result<String, ValidateError> {
        let bytes = self.to_bytes(TfmdFormat::Text)?;
        String::from_utf8(bytes).map_err(|e| ValidateError::Protobuf {
            context: "schema".into(),
            message: e.to_string(),
            source: Some(Box::new(e)),
        })
    }

    /// Parses a schema in protobuf text format. Errors name the line and
    /// column.
    ///
    /// ```
    /// use mlrig_validate::{FeatureType, Schema};
    /// let schema = Schema::from_pbtxt(r#"
    ///     feature { name: "age" type: INT int_domain { min: 17 max: 90 } }
    ///     feature < name: 'job' type: BYTES domain: "job" >  # comment
    ///     string_domain { name: "job" value: ["Private", "State-gov"] }
    ///     dataset_constraints { min_examples_count: 100 }
    /// "#)?;
    /// assert_eq!(schema.feature("age").unwrap().int_domain.as_ref().unwrap().max, Some(90));
    /// assert_eq!(schema.string_domain[0].value, ["Private", "State-gov"]);
    ///
    /// let err = Schema::from_pbtxt("feature {\n  type: NUMBER\n}").unwrap_err();
    /// assert!(err.to_string().starts_with("schema:2:9:"), "{err}");
    /// let err = Schema::from_pbtxt("feature {\n  name: \"x\"\n  min_fractoin: 1\n}").unwrap_err();
    /// assert!(err.to_string().starts_with("schema:3:3: unknown field `min_fractoin`"), "{err}");
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn from_pbtxt(text: &str) -> Result<Self, ValidateError> {
        Self::from_bytes(text.as_bytes(), TfmdFormat::Text)
    }

    /// Pretty tfmd JSON with a trailing newline.
    ///
    /// ```
    /// assert_eq!(mlrig_validate::Schema::default().to_tfmd_json()?, "{}\n");
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn to_tfmd_json(&self) -> Result<String, ValidateError> {
        crate::proto_json::to_pretty_json(self, "schema")
    }

    /// Parses tfmd JSON; a field tfmd's `Schema` does not have is an error
    /// naming it, its line and column.
    ///
    /// ```
    /// use mlrig_validate::Schema;
    /// let err = Schema::from_tfmd_json("{\"feature\": [{\"nmae\": \"x\"}]}").unwrap_err();
    /// assert!(err.to_string().contains("nmae"), "{err}");
    /// ```
    pub fn from_tfmd_json(text: &str) -> Result<Self, ValidateError> {
        Self::from_bytes(text.as_bytes(), TfmdFormat::Json)
    }

    /// Reads a schema, choosing the format by extension (see
    /// [`TfmdFormat::from_path`]). A `.json` file may also be an mlrig
    /// artifact envelope (written by [`mlrig_core::Artifact::save`],
    /// recognised by its `mlrig_artifact` header and checked against its
    /// fingerprint).
    ///
    /// This inherent function takes precedence over
    /// [`Artifact::load`](mlrig_core::Artifact::load) in `Schema::load(..)`
    /// calls; call `<Schema as Artifact>::load` for the artifact's header.
    ///
    /// ```
    /// use mlrig_validate::{Feature, FeatureType, Schema};
    /// let mut schema = Schema::default();
    /// schema.features.push(Feature::new("x", FeatureType::Float));
    /// let dir = tempfile::tempdir().unwrap();
    /// for file in ["schema.json", "schema.pbtxt", "schema.textproto", "schema.pb"] {
    ///     let path = dir.path().join(file);
    ///     schema.save(&path)?;
    ///     assert_eq!(Schema::load(&path)?, schema);
    /// }
    /// assert!(Schema::load(&dir.path().join("schema.yaml")).is_err());
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn load(path: &Path) -> Result<Self, ValidateError> {
        if TfmdFormat::from_path(path)? == TfmdFormat::Json {
            let bytes = std::fs::read(path).map_err(|source| ValidateError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            if is_artifact_envelope(&bytes) {
                let stored = <Self as mlrig_core::Artifact>::from_artifact_bytes(&bytes, path)?;
                return Ok(stored.value);
            }
        }
        Self::load_file(path)
    }

    /// Writes the schema atomically, choosing the format by extension as
    /// [`load`](Self::load) does. For an artifact envelope with lineage, use
    /// [`mlrig_core::Artifact::save`] (`Artifact::save(&schema, path,
    /// inputs)`), which this inherent method shadows in `schema.save(..)`
    /// calls.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("schema.pbtxt");
    /// mlrig_validate::Schema::default().save(&path)?;
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn save(&self, path: &Path) -> Result<(), ValidateError> {
        self.save_file(path)
    }

    /// Where the schema holds fields mlrig keeps but does not act on, as
    /// paths (`tensorRepresentationGroup`,
    /// `feature[text].naturalLanguageDomain`): validation does not check
    /// them, and says so once in verbose output.
    ///
    /// ```
    /// let schema = mlrig_validate::Schema::from_pbtxt(
    ///     "feature { name: \"f\" annotation { tag: \"pii\" } }\nannotation { tag: \"v1\" }",
    /// )?;
    /// assert_eq!(schema.unmodelled_fields(), ["annotation", "feature[f].annotation"]);
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn unmodelled_fields(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut note = |prefix: &str, fields: &crate::UnmodelledFields| {
            found.extend(fields.keys().map(|k| format!("{prefix}{k}")));
        };
        note("", &self.unmodelled);
        if let Some(c) = &self.dataset_constraints {
            note("datasetConstraints.", &c.unmodelled);
        }
        for f in &self.features {
            let at = format!("feature[{}].", f.name);
            note(&at, &f.unmodelled);
            let comparators = [
                ("skewComparator.", &f.skew_comparator),
                ("driftComparator.", &f.drift_comparator),
            ];
            let mut nested: Vec<(String, &crate::UnmodelledFields)> = [
                ("presence.", f.presence.as_ref().map(|p| &p.unmodelled)),
                ("shape.", f.shape.as_ref().map(|p| &p.unmodelled)),
                ("valueCount.", f.value_count.as_ref().map(|p| &p.unmodelled)),
                (
                    "valueCounts.",
                    f.value_counts.as_ref().map(|p| &p.unmodelled),
                ),
                ("intDomain.", f.int_domain.as_ref().map(|p| &p.unmodelled)),
                (
                    "floatDomain.",
                    f.float_domain.as_ref().map(|p| &p.unmodelled),
                ),
                (
                    "stringDomain.",
                    f.string_domain.as_ref().map(|p| &p.unmodelled),
                ),
                ("boolDomain.", f.bool_domain.as_ref().map(|p| &p.unmodelled)),
                (
                    "distributionConstraints.",
                    f.distribution_constraints.as_ref().map(|p| &p.unmodelled),
                ),
            ]
            .into_iter()
            .filter_map(|(name, fields)| Some((name.to_string(), fields?)))
            .collect();
            for dim in f.shape.iter().flat_map(|s| &s.dim) {
                nested.push(("shape.dim.".into(), &dim.unmodelled));
            }
            for count in f.value_counts.iter().flat_map(|c| &c.value_count) {
                nested.push(("valueCounts.valueCount.".into(), &count.unmodelled));
            }
            for (name, comparator) in comparators {
                let Some(c) = comparator else { continue };
                nested.push((name.into(), &c.unmodelled));
                if let Some(n) = &c.infinity_norm {
                    nested.push((format!("{name}infinityNorm."), &n.unmodelled));
                }
                if let Some(j) = &c.jensen_shannon_divergence {
                    nested.push((format!("{name}jensenShannonDivergence."), &j.unmodelled));
                    if let Some(source) = &j.source {
                        nested.push((
                            format!("{name}jensenShannonDivergence.source."),
                            &source.unmodelled,
                        ));
                    }
                }
                if let Some(n) = &c.normalized_abs_difference {
                    nested.push((format!("{name}normalizedAbsDifference."), &n.unmodelled));
                }
            }
            for (name, fields) in nested {
                note(&format!("{at}{name}"), fields);
            }
        }
        if let Some(c) = &self.dataset_constraints {
            for (name, comparator) in [
                (
                    "numExamplesDriftComparator.",
                    &c.num_examples_drift_comparator,
                ),
                (
                    "numExamplesVersionComparator.",
                    &c.num_examples_version_comparator,
                ),
            ] {
                if let Some(comparator) = comparator {
                    note(
                        &format!("datasetConstraints.{name}"),
                        &comparator.unmodelled,
                    );
                }
            }
        }
        let domains = (self.string_domain.iter().map(|d| (&d.name, &d.unmodelled)))
            .chain(self.int_domain.iter().map(|d| (&d.name, &d.unmodelled)))
            .chain(self.float_domain.iter().map(|d| (&d.name, &d.unmodelled)));
        for (name, fields) in domains {
            note(
                &format!("domain[{}].", name.as_deref().unwrap_or("")),
                fields,
            );
        }
        found.sort();
        found
    }
}

/// `true` for a JSON object with an `mlrig_artifact` header.
fn is_artifact_envelope(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Header {
        mlrig_artifact: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Header>(bytes).is_ok_and(|h| h.mlrig_artifact.is_some())
}
