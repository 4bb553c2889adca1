//! tensorflow-metadata files with every field: [`Schema`](crate::Schema),
//! [`DatasetStatistics`](crate::DatasetStatistics) and
//! [`Anomalies`](crate::Anomalies) in proto3 JSON, the protobuf text format
//! and binary protobuf ([`TfmdFormat`]), through one trait, [`TfmdFile`].
//!
//! ```text
//! file ──TfmdFormat──▶ DynamicMessage (tfmd descriptors: every field checked) ──JSON──▶ mlrig type
//!                                                                                        │ acts on what it models,
//! file ◀──TfmdFormat── DynamicMessage ◀──JSON── mlrig type ◀─────────────────────────────┘ keeps the rest (`unmodelled`)
//! ```
//!
//! The message descriptors come from `.proto` files written for mlrig from
//! tensorflow-metadata 1.16's wire format (`crates/validate/proto/`, compiled
//! into `descriptors.binpb`), so every field of `schema.proto`,
//! `statistics.proto` and `anomalies.proto` is known: a field mlrig does not
//! act on is kept in the `unmodelled` map of the message it belongs to and
//! written back unchanged; a field tfmd does not have (a typo) is an error
//! naming it and its line and column.

mod text;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, ReflectMessage, SerializeOptions,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ValidateError;
use crate::text_format::TextError;

/// Fields of a tensorflow-metadata message that mlrig reads and writes back
/// but does not act on, by their proto3 JSON name (`naturalLanguageDomain`,
/// `tensorRepresentationGroup`, …), in their proto3 JSON form.
///
/// ```
/// use mlrig_validate::{Schema, TfmdFile, TfmdFormat};
/// let schema = Schema::from_bytes(
///     b"feature { name: \"text\" type: BYTES natural_language_domain { vocabulary: \"v\" } }",
///     TfmdFormat::Text,
/// )?;
/// let kept = &schema.feature("text").unwrap().unmodelled;
/// assert_eq!(kept["naturalLanguageDomain"]["vocabulary"], "v");
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
pub type UnmodelledFields = BTreeMap<String, serde_json::Value>;

/// The descriptors of tensorflow-metadata's messages (a serialized
/// `FileDescriptorSet`), compiled from `crates/validate/proto/`.
pub(crate) const DESCRIPTOR_SET: &[u8] = include_bytes!("descriptors.binpb");

/// The encodings of a tensorflow-metadata message.
///
/// ```
/// use mlrig_validate::TfmdFormat;
/// assert_eq!(TfmdFormat::from_path("s.pbtxt".as_ref())?, TfmdFormat::Text);
/// assert_eq!(TfmdFormat::from_path("stats.pb".as_ref())?, TfmdFormat::Binary);
/// assert!(TfmdFormat::from_path("schema.yaml".as_ref()).is_err());
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TfmdFormat {
    /// proto3 JSON (`.json`; `json_format.MessageToJson`).
    Json,
    /// Protobuf text format (`.pbtxt`, `.textproto`, `.txtpb`, `.pbtext`;
    /// `tfdv.write_schema_text`, `tfdv.write_stats_text`).
    Text,
    /// Binary protobuf (`.pb`, `.binpb`; `tfdv.load_stats_binary`,
    /// `SerializeToString`).
    Binary,
}

impl TfmdFormat {
    /// The extensions [`from_path`](Self::from_path) understands.
    pub const EXTENSIONS: &'static str = ".json, .pbtxt, .textproto, .txtpb, .pbtext, .pb, .binpb";

    /// The format a file name's extension stands for.
    ///
    /// ```
    /// use mlrig_validate::TfmdFormat;
    /// assert_eq!(TfmdFormat::from_path("a/schema.json".as_ref())?, TfmdFormat::Json);
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    pub fn from_path(path: &Path) -> Result<Self, ValidateError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("json") => Ok(Self::Json),
            Some("pbtxt" | "textproto" | "txtpb" | "pbtext") => Ok(Self::Text),
            Some("pb" | "binpb") => Ok(Self::Binary),
            _ => Err(ValidateError::UnknownFileFormat {
                path: path.to_path_buf(),
                expected: Self::EXTENSIONS.to_string(),
            }),
        }
    }
}

/// A tensorflow-metadata message that mlrig reads and writes in every
/// [`TfmdFormat`], keeping the fields it does not act on.
///
/// ```
/// use mlrig_validate::{Feature, FeatureType, Schema, TfmdFile, TfmdFormat};
/// let mut schema = Schema::default();
/// schema.features.push(Feature::new("age", FeatureType::Int));
/// for format in [TfmdFormat::Json, TfmdFormat::Text, TfmdFormat::Binary] {
///     let bytes = schema.to_bytes(format)?;
///     assert_eq!(Schema::from_bytes(&bytes, format)?, schema);
/// }
/// # Ok::<(), mlrig_validate::ValidateError>(())
/// ```
pub trait TfmdFile: Serialize + DeserializeOwned {
    /// The message's full protobuf name, e.g. `tensorflow.metadata.v0.Schema`.
    const MESSAGE: &'static str;
    /// A short name for errors about a document not read from a file.
    const WHAT: &'static str;
    /// `true` when the JSON form carries mlrig's additions beside tfmd's
    /// fields (anomalies' `expected`, `found`, `count`, `exampleRows`); they
    /// are not part of the text or binary forms.
    const JSON_EXTENSIONS: bool = false;

    /// Parses `bytes` in `format`.
    ///
    /// ```
    /// use mlrig_validate::{DatasetStatistics, TfmdFile, TfmdFormat};
    /// let stats = DatasetStatistics::from_bytes(
    ///     b"datasets { num_examples: 3 }", TfmdFormat::Text)?;
    /// assert_eq!(stats.num_examples(), 3);
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    fn from_bytes(bytes: &[u8], format: TfmdFormat) -> Result<Self, ValidateError> {
        read_model(
            bytes,
            format,
            Self::MESSAGE,
            Self::JSON_EXTENSIONS,
            Self::WHAT,
        )
    }

    /// `self` in `format` (JSON pretty-printed, with a trailing newline).
    ///
    /// ```
    /// use mlrig_validate::{Anomalies, TfmdFile, TfmdFormat};
    /// assert_eq!(Anomalies::default().to_bytes(TfmdFormat::Json)?, b"{}\n");
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    fn to_bytes(&self, format: TfmdFormat) -> Result<Vec<u8>, ValidateError> {
        write_model(
            self,
            format,
            Self::MESSAGE,
            Self::JSON_EXTENSIONS,
            Self::WHAT,
        )
    }

    /// Reads `path`, in the format its extension names; errors name the
    /// file (and line and column for JSON and text).
    ///
    /// ```
    /// use mlrig_validate::{Schema, TfmdFile};
    /// let err = Schema::load_file("/nonexistent/schema.pbtxt".as_ref()).unwrap_err();
    /// assert!(err.to_string().starts_with("/nonexistent/schema.pbtxt"));
    /// ```
    fn load_file(path: &Path) -> Result<Self, ValidateError> {
        Self::read_file(path, TfmdFormat::from_path(path)?)
    }

    /// Writes `path` atomically, in the format its extension names.
    ///
    /// ```
    /// use mlrig_validate::{DatasetStatistics, TfmdFile};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("stats.pb");
    /// DatasetStatistics::default().save_file(&path)?;
    /// assert_eq!(DatasetStatistics::load_file(&path)?, DatasetStatistics::default());
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    fn save_file(&self, path: &Path) -> Result<(), ValidateError> {
        self.write_file(path, TfmdFormat::from_path(path)?)
    }

    /// Reads `path` in `format`, whatever its extension.
    ///
    /// ```
    /// use mlrig_validate::{Schema, TfmdFile, TfmdFormat};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("schema.txt");
    /// std::fs::write(&path, "feature { name: \"x\" }").unwrap();
    /// assert_eq!(Schema::read_file(&path, TfmdFormat::Text)?.features().len(), 1);
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    fn read_file(path: &Path, format: TfmdFormat) -> Result<Self, ValidateError> {
        let bytes = std::fs::read(path).map_err(|source| ValidateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let context = path.display().to_string();
        read_model(
            &bytes,
            format,
            Self::MESSAGE,
            Self::JSON_EXTENSIONS,
            &context,
        )
    }

    /// Writes `path` atomically in `format`, whatever its extension.
    ///
    /// ```
    /// use mlrig_validate::{Schema, TfmdFile, TfmdFormat};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("schema.txt");
    /// Schema::default().write_file(&path, TfmdFormat::Json)?;
    /// assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
    /// # Ok::<(), mlrig_validate::ValidateError>(())
    /// ```
    fn write_file(&self, path: &Path, format: TfmdFormat) -> Result<(), ValidateError> {
        let context = path.display().to_string();
        let bytes = write_model(self, format, Self::MESSAGE, Self::JSON_EXTENSIONS, &context)?;
        mlrig_core::write_atomic(path, &bytes)?;
        Ok(())
    }
}

fn pool() -> Result<&'static DescriptorPool, ValidateError> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTOR_SET).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|reason| ValidateError::Protobuf {
            context: "tensorflow-metadata descriptors".into(),
            message: reason.clone(),
            source: None,
        })
}

fn descriptor(message: &str) -> Result<prost_reflect::MessageDescriptor, ValidateError> {
    pool()?
        .get_message_by_name(message)
        .ok_or_else(|| ValidateError::Protobuf {
            context: "tensorflow-metadata descriptors".into(),
            message: format!("no message `{message}`"),
            source: None,
        })
}

/// Parses `bytes` into a message of type `message`, checking every field.
pub(crate) fn decode(
    bytes: &[u8],
    format: TfmdFormat,
    message: &str,
    context: &str,
) -> Result<DynamicMessage, ValidateError> {
    let descriptor = descriptor(message)?;
    match format {
        TfmdFormat::Json => {
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let parsed = DynamicMessage::deserialize(descriptor, &mut deserializer)
                .and_then(|m| deserializer.end().map(|()| m));
            parsed.map_err(|source| json_error(context, source))
        }
        TfmdFormat::Text => {
            let text = std::str::from_utf8(bytes).map_err(|e| ValidateError::Protobuf {
                context: context.to_string(),
                message: format!("text format must be UTF-8: {e}"),
                source: Some(Box::new(e)),
            })?;
            text::parse(&descriptor, text).map_err(|e| text_error(context, e))
        }
        TfmdFormat::Binary => {
            DynamicMessage::decode(descriptor, bytes).map_err(|e| ValidateError::Protobuf {
                context: context.to_string(),
                message: format!("not a binary {message}: {e}"),
                source: Some(Box::new(e)),
            })
        }
    }
}

/// `message` in `format`.
pub(crate) fn encode(
    message: &DynamicMessage,
    format: TfmdFormat,
) -> Result<Vec<u8>, ValidateError> {
    Ok(match format {
        TfmdFormat::Json => {
            let mut out = Vec::new();
            let mut serializer = serde_json::Serializer::pretty(&mut out);
            message
                .serialize_with_options(&mut serializer, &json_options())
                .map_err(|source| json_error(message.descriptor().full_name(), source))?;
            out.push(b'\n');
            out
        }
        TfmdFormat::Text => text::print(message).into_bytes(),
        TfmdFormat::Binary => message.encode_to_vec(),
    })
}

fn json_options() -> SerializeOptions {
    SerializeOptions::new()
        .stringify_64_bit_integers(true)
        .skip_default_fields(true)
}

fn read_model<T: DeserializeOwned>(
    bytes: &[u8],
    format: TfmdFormat,
    message: &str,
    json_extensions: bool,
    context: &str,
) -> Result<T, ValidateError> {
    if format == TfmdFormat::Json && json_extensions {
        // mlrig's additions are not tfmd fields: read by mlrig's types alone.
        return serde_json::from_slice(bytes).map_err(|source| json_error(context, source));
    }
    let parsed = match decode(bytes, format, message, context) {
        Ok(parsed) => parsed,
        Err(error) => {
            // mlrig's own types say expected vs found for the fields they
            // read; the descriptor's error covers the rest.
            if format == TfmdFormat::Json
                && let Err(source) = serde_json::from_slice::<T>(bytes)
            {
                return Err(json_error(context, source));
            }
            return Err(error);
        }
    };
    if format == TfmdFormat::Json {
        // The text as written (every digit, `-0.0` too), with proto field
        // names (`int_domain`, which `json_format.Parse` accepts too)
        // renamed to their JSON names so that mlrig's types see them.
        let mut value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|source| json_error(context, source))?;
        json_names(&mut value, &parsed.descriptor());
        return serde_json::from_value(value).map_err(|source| json_error(context, source));
    }
    // Through proto3 JSON text: what mlrig's types read.
    let json =
        serde_json::to_vec(&JsonOf(&parsed)).map_err(|source| json_error(context, source))?;
    serde_json::from_slice(&json).map_err(|source| json_error(context, source))
}

/// Renames the keys of a proto3 JSON object that are proto field names
/// (`int_domain`) to the field's JSON name (`intDomain`), recursively.
fn json_names(value: &mut serde_json::Value, descriptor: &prost_reflect::MessageDescriptor) {
    let serde_json::Value::Object(object) = value else {
        return;
    };
    let keys: Vec<String> = object.keys().cloned().collect();
    for key in keys {
        let Some(field) = descriptor
            .get_field_by_json_name(&key)
            .or_else(|| descriptor.get_field_by_name(&key))
        else {
            continue;
        };
        let Some(mut child) = object.remove(&key) else {
            continue;
        };
        if let prost_reflect::Kind::Message(inner) = field.kind() {
            let children: Vec<&mut serde_json::Value> = match (&mut child, field.is_map()) {
                (serde_json::Value::Object(entries), true) => entries.values_mut().collect(),
                (serde_json::Value::Array(items), false) => items.iter_mut().collect(),
                (single, false) => vec![single],
                _ => Vec::new(),
            };
            let target = if field.is_map() {
                match inner.map_entry_value_field().kind() {
                    prost_reflect::Kind::Message(value) => Some(value),
                    _ => None,
                }
            } else {
                Some(inner)
            };
            if let Some(target) = target {
                for child in children {
                    json_names(child, &target);
                }
            }
        }
        object.insert(field.json_name().to_string(), child);
    }
}

fn write_model<T: Serialize>(
    model: &T,
    format: TfmdFormat,
    message: &str,
    json_extensions: bool,
    context: &str,
) -> Result<Vec<u8>, ValidateError> {
    if format == TfmdFormat::Json {
        return Ok(crate::proto_json::to_pretty_json(model, context)?.into_bytes());
    }
    let value = serde_json::to_value(model).map_err(|source| json_error(context, source))?;
    let options = DeserializeOptions::new().deny_unknown_fields(!json_extensions);
    let dynamic = DynamicMessage::deserialize_with_options(descriptor(message)?, value, &options)
        .map_err(|source| json_error(context, source))?;
    encode(&dynamic, format)
}

/// Serializes a message as proto3 JSON with [`json_options`].
struct JsonOf<'a>(&'a DynamicMessage);

impl Serialize for JsonOf<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_with_options(serializer, &json_options())
    }
}

fn json_error(context: &str, source: serde_json::Error) -> ValidateError {
    ValidateError::Json {
        context: context.to_string(),
        source,
    }
}

fn text_error(context: &str, error: TextError) -> ValidateError {
    ValidateError::TextFormat {
        context: context.to_string(),
        line: error.position.line,
        column: error.position.column,
        message: error.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_know_every_tfmd_message() {
        for name in [
            "tensorflow.metadata.v0.Schema",
            "tensorflow.metadata.v0.DatasetFeatureStatisticsList",
            "tensorflow.metadata.v0.Anomalies",
        ] {
            assert!(descriptor(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn every_format_round_trips_a_dynamic_message() {
        let text = "feature {\n  name: \"a\"\n  type: INT\n}\n";
        let parsed = decode(
            text.as_bytes(),
            TfmdFormat::Text,
            "tensorflow.metadata.v0.Schema",
            "t",
        )
        .unwrap();
        for format in [TfmdFormat::Json, TfmdFormat::Text, TfmdFormat::Binary] {
            let bytes = encode(&parsed, format).unwrap();
            let back = decode(&bytes, format, "tensorflow.metadata.v0.Schema", "t").unwrap();
            assert_eq!(back, parsed, "{format:?}");
        }
        assert_eq!(encode(&parsed, TfmdFormat::Text).unwrap(), text.as_bytes());
    }

    #[test]
    fn errors_name_line_column_and_field() {
        let err = decode(
            b"feature {\n  name: \"a\"\n  min_fractoin: 1\n}\n",
            TfmdFormat::Text,
            "tensorflow.metadata.v0.Schema",
            "s.pbtxt",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("s.pbtxt:3:3: unknown field `min_fractoin`"),
            "{err}"
        );
        let err = decode(
            b"{\"feature\": [{\"nmae\": \"a\"}]}",
            TfmdFormat::Json,
            "tensorflow.metadata.v0.Schema",
            "s.json",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("nmae") && err.contains("line 1"), "{err}");
        assert!(
            decode(
                b"\xff\xff",
                TfmdFormat::Binary,
                "tensorflow.metadata.v0.Schema",
                "s.pb"
            )
            .is_err()
        );
    }
}
