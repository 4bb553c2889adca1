//! TF Serving model status and model metadata documents.
//!
//! The JSON shapes are documented on [`crate::router`].

use mlrig_core::arrow_schema::DataType;
use mlrig_core::{Servable, Task};
use serde::Serialize;

use crate::inference::wire_types;

#[derive(Debug, Serialize)]
pub(crate) struct ModelStatus {
    model_version_status: Vec<VersionStatus>,
}

#[derive(Debug, Serialize)]
struct VersionStatus {
    version: String,
    state: &'static str,
    status: StatusCode,
}

#[derive(Debug, Serialize)]
struct StatusCode {
    error_code: &'static str,
    error_message: String,
}

/// The status document for the given versions, in the given order: a
/// loaded one (`None`) is `AVAILABLE` (a version is in the registry only
/// once it is loaded), one that failed to load (`Some(reason)`) is `END`
/// with TF Serving's `UNKNOWN` error code and the reason.
pub(crate) fn model_status(versions: &[(u64, Option<String>)]) -> ModelStatus {
    ModelStatus {
        model_version_status: versions
            .iter()
            .map(|(v, failure)| VersionStatus {
                version: v.to_string(),
                state: if failure.is_some() {
                    "END"
                } else {
                    "AVAILABLE"
                },
                status: match failure {
                    None => StatusCode {
                        error_code: "OK",
                        error_message: String::new(),
                    },
                    Some(reason) => StatusCode {
                        error_code: "UNKNOWN",
                        error_message: reason.clone(),
                    },
                },
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ModelMetadata {
    model_spec: ModelSpec,
    metadata: Metadata,
}

#[derive(Debug, Serialize)]
struct ModelSpec {
    name: String,
    signature_name: &'static str,
    version: String,
}

#[derive(Debug, Serialize)]
struct Metadata {
    signature_def: SignatureDefMap,
    task: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    classes: Option<Vec<String>>,
    target: String,
    created_at_unix: u64,
    inputs: Vec<InputField>,
}

#[derive(Debug, Serialize)]
struct InputField {
    name: String,
    dtype: String,
    json_type: &'static str,
    nullable: bool,
}

/// TF Serving's `SignatureDefMap` in its JSON form: `{"signature_def": {"serving_default": {...}}}`.
#[derive(Debug, Serialize)]
struct SignatureDefMap {
    signature_def: std::collections::BTreeMap<&'static str, SignatureDef>,
}

#[derive(Debug, Serialize)]
struct SignatureDef {
    inputs: std::collections::BTreeMap<String, TensorInfo>,
    outputs: std::collections::BTreeMap<String, TensorInfo>,
    method_name: &'static str,
}

#[derive(Debug, Serialize)]
struct TensorInfo {
    dtype: &'static str,
    tensor_shape: TensorShape,
    name: String,
}

#[derive(Debug, Serialize)]
struct TensorShape {
    dim: Vec<Dim>,
    unknown_rank: bool,
}

/// A dimension; proto3 JSON writes the int64 `size` as a string.
#[derive(Debug, Serialize)]
struct Dim {
    size: String,
    name: &'static str,
}

/// A tensor of the given dimensions (-1: any number of rows).
fn tensor(name: &str, dtype: &'static str, dims: &[i64]) -> TensorInfo {
    TensorInfo {
        dtype,
        tensor_shape: TensorShape {
            dim: dims
                .iter()
                .map(|d| Dim {
                    size: d.to_string(),
                    name: "",
                })
                .collect(),
            unknown_rank: false,
        },
        name: name.to_string(),
    }
}

/// The `serving_default` signature: one input per field, and the outputs
/// of `:predict` (`predictions`, or `scores`, `classes` and `label`).
fn signature_def(servable: &dyn Servable) -> SignatureDefMap {
    let inputs = servable
        .input_schema()
        .fields()
        .iter()
        .map(|f| {
            (
                f.name().clone(),
                tensor(f.name(), wire_types(f.data_type()).1, &[-1]),
            )
        })
        .collect();
    let outputs = match &servable.info().task {
        Task::Classification { classes } => {
            let width = i64::try_from(classes.len()).unwrap_or(-1);
            [
                ("scores", "DT_DOUBLE", vec![-1, width]),
                ("classes", "DT_STRING", vec![-1, width]),
                ("label", "DT_STRING", vec![-1]),
            ]
            .into_iter()
            .map(|(name, dtype, dims)| (name.to_string(), tensor(name, dtype, &dims)))
            .collect()
        }
        _ => std::iter::once((
            "predictions".to_string(),
            tensor("predictions", "DT_DOUBLE", &[-1]),
        ))
        .collect(),
    };
    SignatureDefMap {
        signature_def: std::iter::once((
            "serving_default",
            SignatureDef {
                inputs,
                outputs,
                method_name: "tensorflow/serving/predict",
            },
        ))
        .collect(),
    }
}

/// The metadata document of one servable.
pub(crate) fn model_metadata(servable: &dyn Servable) -> ModelMetadata {
    let info = servable.info();
    let (task, classes) = match &info.task {
        Task::Regression => ("regression", None),
        Task::Classification { classes } => ("classification", Some(classes.clone())),
        // `Task` is non-exhaustive: a task added to mlrig-core later.
        _ => ("other", None),
    };
    let inputs = servable
        .input_schema()
        .fields()
        .iter()
        .map(|f| InputField {
            name: f.name().clone(),
            dtype: f.data_type().to_string(),
            json_type: match f.data_type() {
                DataType::Float64 => "number",
                DataType::Int64 => "integer",
                DataType::Boolean => "boolean",
                DataType::Utf8 => "string",
                _ => "unsupported",
            },
            nullable: f.is_nullable(),
        })
        .collect();
    ModelMetadata {
        model_spec: ModelSpec {
            name: info.name.clone(),
            signature_name: "",
            version: info.version.to_string(),
        },
        metadata: Metadata {
            signature_def: signature_def(servable),
            task,
            classes,
            target: info.target.clone(),
            created_at_unix: info.created_at_unix,
            inputs,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_versions_as_strings() {
        let json =
            serde_json::to_value(model_status(&[(1, None), (4, Some("broken".into()))])).unwrap();
        assert_eq!(json["model_version_status"][1]["version"], "4");
        assert_eq!(json["model_version_status"][1]["state"], "END");
        assert_eq!(
            json["model_version_status"][1]["status"]["error_message"],
            "broken"
        );
        assert_eq!(json["model_version_status"][0]["state"], "AVAILABLE");
        assert_eq!(
            json["model_version_status"][0]["status"]["error_code"],
            "OK"
        );
    }
}
