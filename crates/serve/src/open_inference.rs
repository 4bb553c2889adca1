//! The Open Inference Protocol v2 (KServe / Triton) over HTTP: health,
//! server and model metadata, model readiness and `/infer`, with JSON
//! tensors and Triton's binary tensor data extension (what `tritonclient`
//! sends by default).
//!
//! A tabular model takes its input as **one tensor per field** (named as
//! the field, shape `[N]` or `[N, 1]`) or as **one `[N, F]` tensor** whose
//! columns are the fields in schema order. Either becomes records, then the
//! same batch and [`Servable::predict`] as every protocol. Outputs:
//!
//! | model | outputs |
//! |---|---|
//! | regression | `predictions` FP64 `[N]` |
//! | classification | `label` BYTES `[N]` (the most probable class), `scores` FP64 `[N, C]` (class probabilities, in the order of the model's classes) |
//!
//! Binary tensor data: a request whose body continues after its JSON header
//! says so with the `Inference-Header-Content-Length` header (the JSON's
//! length); each input with parameter `binary_data_size` takes that many
//! bytes, in input order: little-endian values of the datatype's size,
//! `BOOL` one byte, `BYTES` a 4-byte little-endian length before each
//! element. An output is sent binary when its requested `parameters` say
//! `"binary_data": true`, or, with no `outputs` requested, when the
//! request's `parameters` say `"binary_data_output": true`; the response then
//! carries the same header and each binary output's `binary_data_size`.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use mlrig_core::{Predictions, Servable, describe_json};
use serde::Deserialize;
use serde_json::{Map, Value, json};

mod binary;

use crate::inference::{
    check_rows, json_bytes, lists_to_records, matrix_to_records, row_limit,
    unencodable_predictions, wire_types, with_json_content_type,
};
use crate::model_path::parse_version;
use crate::router::{ApiState, body_error, check_method};
use crate::serving_extras::RequestContext;
use crate::{InputContractConfig, ServeError, VersionSelector};

/// The header giving the length of the JSON part of a body with binary tensors.
pub(crate) const HEADER_LENGTH: &str = "inference-header-content-length";

const ENDPOINTS: &str = "Open Inference Protocol endpoints are GET /v2, GET /v2/health/live|ready, \
     GET /v2/models/{name}[/versions/{n}][/ready] and POST /v2/models/{name}[/versions/{n}]/infer";

/// `GET /v2/health/live`: the process answers.
pub(crate) async fn live(method: Method, uri: Uri) -> Result<StatusCode, ServeError> {
    check_method(&method, Method::GET, &uri)?;
    Ok(StatusCode::OK)
}

/// `GET /v2/health/ready`: at least one model is loaded.
pub(crate) async fn ready(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
) -> Result<StatusCode, ServeError> {
    check_method(&method, Method::GET, &uri)?;
    if state.registry.is_empty() {
        return Err(ServeError::NoModelLoaded);
    }
    Ok(StatusCode::OK)
}

/// `GET /v2`: server metadata.
pub(crate) async fn server_metadata(method: Method, uri: Uri) -> Result<Response, ServeError> {
    check_method(&method, Method::GET, &uri)?;
    Ok(Json(json!({
        "name": "mlrig",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data"],
    }))
    .into_response())
}

/// What a path below `/v2/models/` addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Metadata,
    Ready,
    Infer,
}

/// Parses `{name}[/versions/{n}][/ready|/infer]`.
fn parse_path(
    rest: &str,
    full_path: &str,
) -> Result<(String, VersionSelector, Endpoint), ServeError> {
    let not_found = || ServeError::EndpointNotFound {
        path: full_path.to_string(),
        hint: ENDPOINTS,
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let (name, version, endpoint) = match segments.as_slice() {
        [name] => (*name, None, Endpoint::Metadata),
        [name, "ready"] => (*name, None, Endpoint::Ready),
        [name, "infer"] => (*name, None, Endpoint::Infer),
        [name, "versions", v] => (*name, Some(*v), Endpoint::Metadata),
        [name, "versions", v, "ready"] => (*name, Some(*v), Endpoint::Ready),
        [name, "versions", v, "infer"] => (*name, Some(*v), Endpoint::Infer),
        _ => return Err(not_found()),
    };
    if name.is_empty() {
        return Err(not_found());
    }
    let version = match version {
        None => VersionSelector::Latest,
        Some(v) => VersionSelector::Specific(parse_version(v, full_path)?),
    };
    Ok((name.to_string(), version, endpoint))
}

/// The axum handler of every `/v2/models/...` path.
pub(crate) async fn handle(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    rest: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServeError> {
    let rest = rest.map_err(|r| ServeError::bad_request(r.body_text()))?;
    let (name, version, endpoint) = parse_path(&rest, uri.path())?;
    let expected = if endpoint == Endpoint::Infer {
        Method::POST
    } else {
        Method::GET
    };
    check_method(&method, expected, &uri)?;
    let servable = state.registry.select(&name, &version)?;
    match endpoint {
        Endpoint::Ready => Ok(StatusCode::OK.into_response()),
        Endpoint::Metadata => {
            let versions = state.registry.versions(&name);
            Ok(Json(model_metadata(servable.as_ref(), &versions)).into_response())
        }
        Endpoint::Infer => {
            let body = body.map_err(|rejection| body_error(&rejection, state.max_body_bytes))?;
            let header_length = header_length(&headers)?;
            let context = state.extras.context(&servable.info().name, &headers);
            let contract = state.input_contract.clone();
            state
                .run_predict(body.len(), move || {
                    infer(servable.as_ref(), &context, &body, header_length, &contract)
                })
                .await
        }
    }
}

/// The JSON length a request declares, if it has binary tensors.
fn header_length(headers: &HeaderMap) -> Result<Option<usize>, ServeError> {
    let Some(value) = headers.get(HEADER_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .map(Some)
        .ok_or_else(|| {
            ServeError::bad_request(format!(
                "header Inference-Header-Content-Length must be the byte length of the JSON part, found {value:?}"
            ))
        })
}

/// The model metadata document.
fn model_metadata(servable: &dyn Servable, versions: &[u64]) -> Value {
    let info = servable.info();
    let inputs: Vec<Value> = servable
        .input_schema()
        .fields()
        .iter()
        .map(|f| json!({"name": f.name(), "datatype": wire_types(f.data_type()).0, "shape": [-1]}))
        .collect();
    let outputs = match &info.task {
        mlrig_core::Task::Classification { classes } => json!([
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "scores", "datatype": "FP64", "shape": [-1, classes.len()]},
        ]),
        _ => json!([{"name": "predictions", "datatype": "FP64", "shape": [-1]}]),
    };
    json!({
        "name": info.name,
        "versions": versions.iter().map(u64::to_string).collect::<Vec<_>>(),
        "platform": "mlrig",
        "inputs": inputs,
        "outputs": outputs,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InferRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<RequestInput>,
    #[serde(default)]
    outputs: Option<Vec<RequestOutput>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestOutput {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// One `/infer` request: body (JSON header, then binary tensors when
/// `header_length` is given) → records → predictions → response.
fn infer(
    servable: &dyn Servable,
    context: &RequestContext,
    body: &[u8],
    header_length: Option<usize>,
    contract: &InputContractConfig,
) -> Result<Response, ServeError> {
    let (header, mut binary) = match header_length {
        None => (body, &body[body.len()..]),
        Some(n) if n <= body.len() => body.split_at(n),
        Some(n) => {
            return Err(ServeError::bad_request(format!(
                "Inference-Header-Content-Length is {n} but the body has only {} bytes",
                body.len()
            )));
        }
    };
    let request: InferRequest = serde_json::from_slice(header)
        .map_err(|e| ServeError::bad_request(format!("the inference request is not valid: {e}")))?;
    let mut names = BTreeSet::new();
    if let Some(twice) = request
        .inputs
        .iter()
        .find(|i| !names.insert(i.name.as_str()))
    {
        return Err(ServeError::bad_request(format!(
            "input `{}` is sent twice; send each input once",
            twice.name
        )));
    }
    let schema = servable.input_schema();
    // An [N, F] tensor holds F elements per row; a field's tensor one.
    let max_elements = row_limit().saturating_mul(schema.fields().len().max(1));
    let mut tensors = Vec::with_capacity(request.inputs.len());
    for input in &request.inputs {
        tensors.push(decode_input(input, &mut binary, max_elements)?);
    }
    if !binary.is_empty() {
        return Err(ServeError::bad_request(format!(
            "{} bytes of binary tensor data follow the inputs that no input's binary_data_size claims",
            binary.len()
        )));
    }
    let records = tensors_to_records(&request.inputs, tensors, &schema, context.key())?;
    let (predictions, _, served) = context.answer(servable, &records, false, contract)?;
    let outputs = output_tensors(predictions)?;
    let info = servable.info();
    let mut response = encode_response(
        &info.name,
        info.version,
        request.id,
        &request.parameters,
        request.outputs,
        outputs,
    )?;
    response.extensions_mut().insert(served);
    Ok(response)
}

/// The elements of one input tensor, flattened in row-major order.
///
/// Nothing is reserved from the client's `shape`: the element count it
/// claims is checked against the data actually sent (JSON elements, or
/// `binary_data_size` / element size) before anything is allocated, so a
/// shape like `[2^40]` is a 400, not an allocation failure.
fn decode_input(
    input: &RequestInput,
    binary: &mut &[u8],
    max_elements: usize,
) -> Result<Vec<Value>, ServeError> {
    let what = format!("input `{}`", input.name);
    only_parameters(&input.parameters, &["binary_data_size"], &what)?;
    let count = element_count(&input.shape, &what)?;
    if count > max_elements {
        return Err(ServeError::bad_request(format!(
            "{what} has shape {:?} ({count} elements); a request takes at most {} rows \
             ({max_elements} elements for this model), so split it into several requests",
            input.shape,
            row_limit()
        )));
    }
    let values = match (input.parameters.get("binary_data_size"), &input.data) {
        (Some(_), Some(_)) => {
            return Err(ServeError::bad_request(format!(
                "{what} has both `data` and the binary_data_size parameter; send one"
            )));
        }
        (Some(size), None) => {
            let size = size
                .as_u64()
                .and_then(|s| usize::try_from(s).ok())
                .ok_or_else(|| {
                    ServeError::bad_request(format!(
                        "{what}: binary_data_size must be a byte count, found {}",
                        describe_json(size)
                    ))
                })?;
            if size > binary.len() {
                return Err(ServeError::bad_request(format!(
                    "{what}: binary_data_size is {size} but only {} bytes of binary data are left",
                    binary.len()
                )));
            }
            let (bytes, rest) = binary.split_at(size);
            *binary = rest;
            // Fixed-size elements: the byte count must match the shape
            // before decoding; BYTES elements are counted while decoding.
            if let Some(width) = binary::element_size(&input.datatype, &what)?
                && count.checked_mul(width) != Some(size)
            {
                return Err(ServeError::bad_request(format!(
                    "{what} has shape {:?} ({count} elements of {width} bytes) but binary_data_size is {size}",
                    input.shape
                )));
            }
            binary::decode(&input.datatype, bytes, &what)?
        }
        (None, Some(data)) => {
            binary::element_size(&input.datatype, &what)?;
            let mut flat = Vec::new();
            flatten(data, &mut flat, &what)?;
            if let Some((i, bad)) = flat
                .iter()
                .enumerate()
                .find(|(_, v)| !fits_datatype(v, &input.datatype))
            {
                return Err(ServeError::bad_request(format!(
                    "{what}: element {i} is {} but the datatype is {}",
                    describe_json(bad),
                    input.datatype
                )));
            }
            flat
        }
        (None, None) => {
            return Err(ServeError::bad_request(format!(
                "{what} has neither `data` nor the binary_data_size parameter"
            )));
        }
    };
    if values.len() != count {
        return Err(ServeError::bad_request(format!(
            "{what} has shape {:?} ({count} elements) but {} values",
            input.shape,
            values.len()
        )));
    }
    Ok(values)
}

/// The product of a shape's dimensions; a negative dimension or a product
/// beyond `usize` is a 400 (no tensor that large can arrive in a body).
fn element_count(shape: &[i64], what: &str) -> Result<usize, ServeError> {
    shape.iter().try_fold(1usize, |total, &dim| {
        let dim = usize::try_from(dim).map_err(|_| {
            ServeError::bad_request(format!(
                "{what}: shape {shape:?} must have non-negative dimensions"
            ))
        })?;
        total.checked_mul(dim).ok_or_else(|| {
            ServeError::bad_request(format!(
                "{what}: shape {shape:?} has more elements than any request body can hold"
            ))
        })
    })
}

/// Whether a JSON element is a value of a (supported) datatype; `null`
/// (a missing value) fits every datatype, and float tensors may carry the
/// non-finite strings a JSON number cannot.
fn fits_datatype(value: &Value, datatype: &str) -> bool {
    match (datatype, value) {
        (_, Value::Null) => true,
        ("BOOL", Value::Bool(_)) => true,
        ("INT8" | "INT16" | "INT32" | "INT64", Value::Number(n)) => n.is_i64(),
        ("UINT8" | "UINT16" | "UINT32" | "UINT64", Value::Number(n)) => n.is_u64(),
        ("FP32" | "FP64", Value::Number(_)) => true,
        ("FP32" | "FP64", Value::String(s)) => {
            matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity")
        }
        ("BYTES", Value::String(_)) => true,
        _ => false,
    }
}

/// Nested JSON lists → flat elements (row-major); an element must be a
/// number, string, boolean or null.
fn flatten(data: &Value, out: &mut Vec<Value>, what: &str) -> Result<(), ServeError> {
    match data {
        Value::Array(items) => items.iter().try_for_each(|item| flatten(item, out, what)),
        Value::Object(_) => Err(ServeError::bad_request(format!(
            "{what}: `data` holds tensor elements (numbers, strings, booleans), found {}",
            describe_json(data)
        ))),
        scalar => {
            out.push(scalar.clone());
            Ok(())
        }
    }
}

/// Input tensors → records: one tensor per field, or one `[N, F]` tensor.
fn tensors_to_records(
    inputs: &[RequestInput],
    tensors: Vec<Vec<Value>>,
    schema: &mlrig_core::arrow_schema::Schema,
    key: Option<&str>,
) -> Result<Vec<Value>, ServeError> {
    let fields = schema.fields();
    // The key of a prediction table is sent as one more tensor.
    let is_field = |name: &str| fields.iter().any(|f| f.name() == name) || key == Some(name);
    if let ([input], false) = (inputs, inputs.iter().all(|i| is_field(&i.name))) {
        let width = fields.len();
        if input.shape.len() != 2 || usize::try_from(input.shape[1]).ok() != Some(width) {
            return Err(ServeError::bad_request(format!(
                "input `{}` is not a model field, so it must be one [N, {width}] tensor whose columns are the fields {}; its shape is {:?}",
                input.name,
                mlrig_core::column_list(schema),
                input.shape
            )));
        }
        let what = format!("input `{}`", input.name);
        // The shape was checked against the elements: N rows of `width`.
        let n = usize::try_from(input.shape[0]).unwrap_or(0);
        check_rows(n, &what)?;
        let mut elements = tensors.into_iter().flatten();
        let rows: Vec<Vec<Value>> = if width == 0 {
            Vec::new()
        } else {
            (0..n)
                .map(|_| elements.by_ref().take(width).collect())
                .collect()
        };
        return matrix_to_records(rows, schema, &what);
    }
    if let Some(unknown) = inputs.iter().find(|i| !is_field(&i.name)) {
        return Err(ServeError::bad_request(format!(
            "input `{}` is not a field of the model; send one tensor per field ({}) or a single [N, F] tensor",
            unknown.name,
            mlrig_core::column_list(schema)
        )));
    }
    if let Some(input) = inputs
        .iter()
        .find(|i| !matches!(i.shape.as_slice(), [_] | [_, 1]))
    {
        return Err(ServeError::bad_request(format!(
            "input `{}` has shape {:?}; a field's tensor has shape [N] or [N, 1]",
            input.name, input.shape
        )));
    }
    let columns = inputs.iter().map(|i| i.name.clone()).zip(tensors).collect();
    lists_to_records(columns, |name| format!("input `{name}`"))
}

/// One output tensor: shape, datatype and elements.
struct OutputTensor {
    name: &'static str,
    datatype: &'static str,
    shape: Vec<usize>,
    data: TensorData,
}

pub(super) enum TensorData {
    Fp64(Vec<f64>),
    Bytes(Vec<String>),
}

fn output_tensors(predictions: Predictions) -> Result<Vec<OutputTensor>, ServeError> {
    let labels = predictions.labels().unwrap_or_default();
    match predictions {
        Predictions::Regression { values } => Ok(vec![OutputTensor {
            name: "predictions",
            datatype: "FP64",
            shape: vec![values.len()],
            data: TensorData::Fp64(values.to_vec()),
        }]),
        Predictions::Classification {
            classes,
            probabilities,
        } => Ok(vec![
            OutputTensor {
                name: "label",
                datatype: "BYTES",
                shape: vec![labels.len()],
                data: TensorData::Bytes(labels.iter().map(|&l| classes[l].clone()).collect()),
            },
            OutputTensor {
                name: "scores",
                datatype: "FP64",
                shape: vec![probabilities.nrows(), probabilities.ncols()],
                data: TensorData::Fp64(probabilities.iter().copied().collect()),
            },
        ]),
        // `Predictions` is non-exhaustive: a kind added to mlrig-core later.
        _ => Err(unencodable_predictions()),
    }
}

/// A 400 for a parameter mlrig does not implement (Triton's
/// `classification`, shared memory regions, ...): ignoring it would answer
/// something other than what the client asked for.
fn only_parameters(
    parameters: &Map<String, Value>,
    known: &[&str],
    what: &str,
) -> Result<(), ServeError> {
    match parameters.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => Err(ServeError::bad_request(format!(
            "{what}: parameter `{unknown}` is not supported; parameters read here: {}",
            known.join(", ")
        ))),
    }
}

/// `binary` of a requested output's or the request's parameters: a boolean or absent.
fn flag(
    parameters: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<bool>, ServeError> {
    match parameters.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ServeError::bad_request(format!(
            "{what}: parameter {key} must be true or false, found {}",
            describe_json(other)
        ))),
    }
}

/// The response: JSON alone, or JSON then the binary outputs.
fn encode_response(
    model: &str,
    version: u64,
    id: Option<String>,
    parameters: &Map<String, Value>,
    requested: Option<Vec<RequestOutput>>,
    outputs: Vec<OutputTensor>,
) -> Result<Response, ServeError> {
    let all_binary = flag(parameters, "binary_data_output", "the request")?.unwrap_or(false);
    // Which outputs, in which order, and whether each goes binary.
    let selected: Vec<(OutputTensor, bool)> = match requested {
        None => outputs.into_iter().map(|o| (o, all_binary)).collect(),
        Some(requested) => {
            let mut by_name: BTreeMap<&str, OutputTensor> =
                outputs.into_iter().map(|o| (o.name, o)).collect();
            let available: Vec<&str> = by_name.keys().copied().collect();
            let available = available.join(", ");
            let mut selected = Vec::with_capacity(requested.len());
            for output in &requested {
                let what = format!("requested output `{}`", output.name);
                only_parameters(&output.parameters, &["binary_data"], &what)?;
                let binary = flag(&output.parameters, "binary_data", &what)?.unwrap_or(all_binary);
                let tensor = by_name.remove(output.name.as_str()).ok_or_else(|| {
                    ServeError::bad_request(format!(
                        "{what} is not an output of the model (or is requested twice); outputs: {available}"
                    ))
                })?;
                selected.push((tensor, binary));
            }
            selected
        }
    };
    let mut binary_data = Vec::new();
    let json_outputs: Vec<Value> = selected
        .into_iter()
        .map(|(tensor, binary)| {
            let mut output = json!({
                "name": tensor.name,
                "datatype": tensor.datatype,
                "shape": tensor.shape,
            });
            if binary {
                let size = binary::encode_output(&tensor.data, &mut binary_data);
                output["parameters"] = json!({"binary_data_size": size});
            } else {
                output["data"] = match tensor.data {
                    TensorData::Fp64(values) => json!(values),
                    TensorData::Bytes(values) => json!(values),
                };
            }
            output
        })
        .collect();
    let mut document = json!({
        "model_name": model,
        "model_version": version.to_string(),
        "outputs": json_outputs,
    });
    if let Some(id) = id {
        document["id"] = Value::from(id);
    }
    let mut body = json_bytes(&document)?;
    let json_length = body.len();
    let response = if binary_data.is_empty() {
        with_json_content_type(body.into_response())
    } else {
        body.extend_from_slice(&binary_data);
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(HEADER_LENGTH, HeaderValue::from(json_length));
        response
    };
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_and_reject() {
        let parse = |rest: &str| parse_path(rest, &format!("/v2/models/{rest}"));
        assert_eq!(
            parse("iris").unwrap(),
            ("iris".into(), VersionSelector::Latest, Endpoint::Metadata)
        );
        assert_eq!(
            parse("iris/versions/2/infer").unwrap(),
            ("iris".into(), VersionSelector::Specific(2), Endpoint::Infer)
        );
        assert_eq!(parse("iris/ready").unwrap().2, Endpoint::Ready);
        assert_eq!(parse("iris/config").unwrap_err().status_code(), 404);
        assert_eq!(parse("iris/versions/0").unwrap_err().status_code(), 400);
        assert_eq!(parse("/infer").unwrap_err().status_code(), 404);
    }
}
