//! Triton's binary tensor data extension: the little-endian bytes of
//! request tensors → JSON elements, and output tensors → bytes.
//! Fixed-size datatypes are their values' bytes in row-major order (`BOOL`
//! one byte); `BYTES` elements each carry a 4-byte little-endian length.

use serde_json::Value;

use super::TensorData;
use crate::ServeError;

/// The byte size of one element of a supported datatype (`None` for
/// `BYTES`, whose elements carry their own length); an unsupported
/// datatype is a 400 on the JSON and the binary path alike.
pub(super) fn element_size(datatype: &str, what: &str) -> Result<Option<usize>, ServeError> {
    match datatype {
        "BOOL" | "INT8" | "UINT8" => Ok(Some(1)),
        "INT16" | "UINT16" => Ok(Some(2)),
        "INT32" | "UINT32" | "FP32" => Ok(Some(4)),
        "INT64" | "UINT64" | "FP64" => Ok(Some(8)),
        "BYTES" => Ok(None),
        other => Err(ServeError::bad_request(format!(
            "{what}: datatype {other:?} is not supported; use BOOL, INT8..INT64, UINT8..UINT64, FP32, FP64 or BYTES"
        ))),
    }
}

/// Binary tensor data → JSON elements (what the records carry).
pub(super) fn decode(datatype: &str, bytes: &[u8], what: &str) -> Result<Vec<Value>, ServeError> {
    fn fixed<const N: usize>(
        bytes: &[u8],
        what: &str,
        convert: impl Fn([u8; N]) -> Value,
    ) -> Result<Vec<Value>, ServeError> {
        if !bytes.len().is_multiple_of(N) {
            return Err(ServeError::bad_request(format!(
                "{what}: {} bytes of binary data is not a whole number of {N}-byte elements",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(N)
            .map(|chunk| {
                let mut array = [0u8; N];
                array.copy_from_slice(chunk);
                convert(array)
            })
            .collect())
    }
    let float = |x: f64| {
        if x.is_nan() {
            Value::from("NaN")
        } else if x.is_infinite() {
            Value::from(if x > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            Value::from(x)
        }
    };
    match datatype {
        "BOOL" => fixed::<1>(bytes, what, |[b]| Value::Bool(b != 0)),
        "INT8" => fixed::<1>(bytes, what, |b| Value::from(i8::from_le_bytes(b))),
        "UINT8" => fixed::<1>(bytes, what, |b| Value::from(u8::from_le_bytes(b))),
        "INT16" => fixed::<2>(bytes, what, |b| Value::from(i16::from_le_bytes(b))),
        "UINT16" => fixed::<2>(bytes, what, |b| Value::from(u16::from_le_bytes(b))),
        "INT32" => fixed::<4>(bytes, what, |b| Value::from(i32::from_le_bytes(b))),
        "UINT32" => fixed::<4>(bytes, what, |b| Value::from(u32::from_le_bytes(b))),
        "INT64" => fixed::<8>(bytes, what, |b| Value::from(i64::from_le_bytes(b))),
        "UINT64" => fixed::<8>(bytes, what, |b| Value::from(u64::from_le_bytes(b))),
        "FP32" => fixed::<4>(bytes, what, |b| float(f64::from(f32::from_le_bytes(b)))),
        "FP64" => fixed::<8>(bytes, what, |b| float(f64::from_le_bytes(b))),
        "BYTES" => decode_bytes_elements(bytes, what),
        other => Err(ServeError::bad_request(format!(
            "{what}: datatype {other:?} is not supported; use BOOL, INT8..INT64, UINT8..UINT64, FP32, FP64 or BYTES"
        ))),
    }
}

/// `BYTES` elements: each a 4-byte little-endian length, then that many
/// bytes of UTF-8 text.
fn decode_bytes_elements(mut bytes: &[u8], what: &str) -> Result<Vec<Value>, ServeError> {
    let mut values = Vec::new();
    while !bytes.is_empty() {
        let truncated = || {
            ServeError::bad_request(format!(
                "{what}: BYTES element {} is truncated (each element is a 4-byte little-endian length, then the bytes)",
                values.len()
            ))
        };
        let (length, rest) = bytes.split_first_chunk::<4>().ok_or_else(truncated)?;
        let length = usize::try_from(u32::from_le_bytes(*length)).map_err(|_| truncated())?;
        if length > rest.len() {
            return Err(truncated());
        }
        let (element, rest) = rest.split_at(length);
        let text = std::str::from_utf8(element).map_err(|e| {
            ServeError::bad_request(format!(
                "{what}: BYTES element {} is not UTF-8 text ({e})",
                values.len()
            ))
        })?;
        values.push(Value::from(text));
        bytes = rest;
    }
    Ok(values)
}

/// Appends an output tensor's bytes to `out`; returns how many (its
/// `binary_data_size`).
pub(super) fn encode_output(data: &TensorData, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    match data {
        TensorData::Fp64(values) => {
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        TensorData::Bytes(values) => {
            for v in values {
                // Labels are class names: far below 4 GiB.
                let length = u32::try_from(v.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&length.to_le_bytes());
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
    out.len() - start
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn binary_elements_decode_by_datatype() {
        let fp32: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            decode("FP32", &fp32, "x").unwrap(),
            vec![json!(1.5), json!(-2.0)]
        );
        assert_eq!(
            decode("FP64", &f64::NAN.to_le_bytes(), "x").unwrap(),
            vec![json!("NaN")]
        );
        assert_eq!(
            decode("BOOL", &[1, 0], "x").unwrap(),
            vec![json!(true), json!(false)]
        );
        assert_eq!(
            decode("INT64", &(-3i64).to_le_bytes(), "x").unwrap(),
            vec![json!(-3)]
        );
        let bytes = [&2u32.to_le_bytes()[..], b"hi", &0u32.to_le_bytes()].concat();
        assert_eq!(
            decode("BYTES", &bytes, "x").unwrap(),
            vec![json!("hi"), json!("")]
        );
        let err = decode("BYTES", &[5, 0, 0, 0, b'a'], "input `s`")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("input `s`: BYTES element 0 is truncated"),
            "{err}"
        );
        assert!(decode("FP64", &[0; 7], "x").is_err());
        assert!(decode("FP16", &[0; 2], "x").is_err());
    }

    #[test]
    fn outputs_encode_little_endian_with_bytes_lengths() {
        let mut out = vec![9];
        let size = encode_output(&TensorData::Fp64(vec![1.5]), &mut out);
        assert_eq!(size, 8);
        assert_eq!(out[1..], 1.5f64.to_le_bytes());
        let size = encode_output(&TensorData::Bytes(vec!["ab".into()]), &mut out);
        assert_eq!(size, 6);
        assert_eq!(out[9..], [2, 0, 0, 0, b'a', b'b']);
        assert_eq!(decode("BYTES", &out[9..], "x").unwrap(), vec![json!("ab")]);
    }
}
