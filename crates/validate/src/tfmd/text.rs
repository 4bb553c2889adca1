//! Any tensorflow-metadata message in the protobuf text format, by
//! reflection over its descriptor: the syntax tree of `text_format.rs`
//! becomes a [`DynamicMessage`], and a message is printed the way Python's
//! `google.protobuf.text_format.MessageToString` prints it (what TFDV's
//! `write_schema_text` / `write_stats_text` / `write_anomalies_text` call).
//!
//! Printing, as Python does: set fields in field-number order, two-space
//! indent, map entries sorted by key, `google.protobuf.Any` expanded as
//! `[type.googleapis.com/…] { … }` when its type is known, strings with C
//! escapes (non-ASCII bytes as octal), doubles as `repr`, floats as the
//! shortest `%g` of at least 6 digits that reads back to the same `f32`.
//!
//! Parsing checks each field against the descriptor: an unknown field, a
//! singular field given twice, two members of one `oneof`, a value of the
//! wrong type or out of range is an error naming the line and column.

use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, Value,
};

use crate::text_format::{
    self, FieldValue, Position, Scalar, TextError, TextField, TextMessage, TextWriter,
    format_double, parse_float, parse_int, quote_bytes,
};

const ANY: &str = "google.protobuf.Any";

/// Parses `text` as a message of type `descriptor`.
pub(crate) fn parse(
    descriptor: &MessageDescriptor,
    text: &str,
) -> Result<DynamicMessage, TextError> {
    let tree = text_format::parse(text)?;
    let mut message = DynamicMessage::new(descriptor.clone());
    fill(&mut message, &tree)?;
    Ok(message)
}

/// `message` in Python's text format.
pub(crate) fn print(message: &DynamicMessage) -> String {
    let mut writer = TextWriter::default();
    print_fields(&mut writer, message);
    writer.finish()
}

// ---------------------------------------------------------------- parsing

fn fill(message: &mut DynamicMessage, tree: &TextMessage) -> Result<(), TextError> {
    let descriptor = message.descriptor();
    if descriptor.full_name() == ANY
        && let Some(expanded) = tree.fields.iter().find(|f| f.name.starts_with('['))
    {
        return fill_any(message, expanded, tree.fields.len());
    }
    for field in &tree.fields {
        let Some(target) = descriptor.get_field_by_name(&field.name) else {
            return Err(unknown_field(&descriptor, field));
        };
        if !target.is_list() && !target.is_map() {
            // Python rejects a repeated singular field only where presence
            // is tracked (proto2 scalars, messages); proto3 scalars keep the
            // last value.
            let tracked = target.supports_presence() || matches!(target.kind(), Kind::Message(_));
            if tracked && message.has_field(&target) {
                return Err(TextError::new(
                    field.name_position,
                    format!(
                        "field `{}` of {} is given twice (it is not repeated)",
                        field.name,
                        descriptor.full_name()
                    ),
                ));
            }
            if let Some(oneof) = target.containing_oneof()
                && let Some(other) = oneof.fields().find(|f| message.has_field(f))
            {
                return Err(TextError::new(
                    field.name_position,
                    format!(
                        "field `{}` and field `{}` of {} are both set, but only one of `oneof {}` may be",
                        field.name,
                        other.name(),
                        descriptor.full_name(),
                        oneof.name()
                    ),
                ));
            }
        }
        let value = value_of(&target, field)?;
        if target.is_map() {
            let Value::Message(entry) = value else {
                return Err(TextError::new(field.position, "expected a map entry"));
            };
            let (key, value) = map_entry(entry, field.position)?;
            message
                .get_field_mut(&target)
                .as_map_mut()
                .map(|m| m.insert(key, value));
        } else if target.is_list() {
            if let Some(list) = message.get_field_mut(&target).as_list_mut() {
                list.push(value);
            }
        } else {
            message.set_field(&target, value);
        }
    }
    Ok(())
}

/// `[type.googleapis.com/pkg.Type] { … }` inside an `Any`.
fn fill_any(
    message: &mut DynamicMessage,
    field: &TextField,
    fields: usize,
) -> Result<(), TextError> {
    if fields != 1 {
        return Err(TextError::new(
            field.name_position,
            "an expanded `Any` holds exactly one `[type_url] { … }` and nothing else",
        ));
    }
    let type_url = field
        .name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim();
    let type_name = type_url.rsplit('/').next().unwrap_or(type_url);
    let pool = message.descriptor().parent_pool().clone();
    let Some(inner) = pool.get_message_by_name(type_name) else {
        return Err(TextError::new(
            field.name_position,
            format!("unknown message type `{type_name}` in an `Any`"),
        ));
    };
    let FieldValue::Message(tree) = &field.value else {
        return Err(TextError::new(
            field.position,
            "expected `{` after an `Any` type URL",
        ));
    };
    let mut value = DynamicMessage::new(inner);
    fill(&mut value, tree)?;
    message.set_field_by_name("type_url", Value::String(type_url.to_string()));
    message.set_field_by_name("value", Value::Bytes(value.encode_to_vec().into()));
    Ok(())
}

fn map_entry(entry: DynamicMessage, position: Position) -> Result<(MapKey, Value), TextError> {
    let descriptor = entry.descriptor();
    let key_field = descriptor.map_entry_key_field();
    let value_field = descriptor.map_entry_value_field();
    let key = match entry.get_field(&key_field).into_owned() {
        Value::String(s) => MapKey::String(s),
        Value::I32(v) => MapKey::I32(v),
        Value::I64(v) => MapKey::I64(v),
        Value::U32(v) => MapKey::U32(v),
        Value::U64(v) => MapKey::U64(v),
        Value::Bool(v) => MapKey::Bool(v),
        _ => return Err(TextError::new(position, "map key of an unsupported type")),
    };
    Ok((key, entry.get_field(&value_field).into_owned()))
}

fn unknown_field(descriptor: &MessageDescriptor, field: &TextField) -> TextError {
    let known: Vec<String> = descriptor.fields().map(|f| f.name().to_string()).collect();
    TextError::new(
        field.name_position,
        format!(
            "unknown field `{}` in {} (its fields: {})",
            field.name,
            descriptor.full_name(),
            known.join(", ")
        ),
    )
}

fn value_of(target: &FieldDescriptor, field: &TextField) -> Result<Value, TextError> {
    let kind = target.kind();
    match (&field.value, kind.clone()) {
        (FieldValue::Message(tree), Kind::Message(descriptor)) => {
            let mut message = DynamicMessage::new(descriptor);
            fill(&mut message, tree)?;
            Ok(Value::Message(message))
        }
        (FieldValue::Message(_), _) => Err(TextError::new(
            field.position,
            format!(
                "field `{}` holds a {}, not a message",
                field.name,
                kind_name(&kind)
            ),
        )),
        (FieldValue::Scalar(_), Kind::Message(descriptor)) => Err(TextError::new(
            field.position,
            format!(
                "field `{}` holds a message ({}): expected `{{`",
                field.name,
                descriptor.full_name()
            ),
        )),
        (FieldValue::Scalar(scalar), kind) => {
            scalar_value(&kind, scalar).ok_or_else(|| mismatch(field, &kind, scalar))
        }
    }
}

fn scalar_value(kind: &Kind, scalar: &Scalar) -> Option<Value> {
    let number = || match scalar {
        Scalar::Number(n) | Scalar::Identifier(n) => Some(n.as_str()),
        Scalar::Bytes(_) => None,
    };
    Some(match kind {
        Kind::Double => Value::F64(parse_float(number()?)?),
        Kind::Float => Value::F32(parse_float(number()?)? as f32),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Value::I32(i32::try_from(parse_int(number()?)?).ok()?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            Value::I64(i64::try_from(parse_int(number()?)?).ok()?)
        }
        Kind::Uint32 | Kind::Fixed32 => Value::U32(u32::try_from(parse_int(number()?)?).ok()?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(u64::try_from(parse_int(number()?)?).ok()?),
        Kind::Bool => Value::Bool(match number()? {
            "true" | "True" | "t" | "1" => true,
            "false" | "False" | "f" | "0" => false,
            _ => return None,
        }),
        Kind::String => match scalar {
            Scalar::Bytes(bytes) => Value::String(String::from_utf8(bytes.clone()).ok()?),
            _ => return None,
        },
        Kind::Bytes => match scalar {
            Scalar::Bytes(bytes) => Value::Bytes(bytes.clone().into()),
            _ => return None,
        },
        Kind::Enum(descriptor) => match scalar {
            Scalar::Identifier(name) => {
                Value::EnumNumber(descriptor.get_value_by_name(name)?.number())
            }
            Scalar::Number(n) => Value::EnumNumber(i32::try_from(parse_int(n)?).ok()?),
            Scalar::Bytes(_) => return None,
        },
        Kind::Message(_) => return None,
    })
}

fn mismatch(field: &TextField, kind: &Kind, scalar: &Scalar) -> TextError {
    let found = match scalar {
        Scalar::Identifier(s) => format!("`{s}`"),
        Scalar::Number(s) => format!("number `{s}`"),
        Scalar::Bytes(_) => "a string".to_string(),
    };
    let expected = match kind {
        Kind::Enum(e) => {
            let names: Vec<String> = e.values().map(|v| v.name().to_string()).collect();
            format!("one of {}", names.join(", "))
        }
        other => kind_name(other),
    };
    TextError::new(
        field.position,
        format!("field `{}`: expected {expected}, found {found}", field.name),
    )
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Double | Kind::Float => "a number".to_string(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "a 32-bit integer".to_string(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => "a 64-bit integer".to_string(),
        Kind::Uint32 | Kind::Fixed32 => "a non-negative 32-bit integer".to_string(),
        Kind::Uint64 | Kind::Fixed64 => "a non-negative 64-bit integer".to_string(),
        Kind::Bool => "`true` or `false`".to_string(),
        Kind::String => "a UTF-8 string".to_string(),
        Kind::Bytes => "a string".to_string(),
        Kind::Enum(e) => format!("an enum value of {}", e.full_name()),
        Kind::Message(m) => format!("a message ({})", m.full_name()),
    }
}

// --------------------------------------------------------------- printing

fn print_fields(writer: &mut TextWriter, message: &DynamicMessage) {
    let descriptor = message.descriptor();
    if descriptor.full_name() == ANY && print_any(writer, message) {
        return;
    }
    let mut fields: Vec<FieldDescriptor> = descriptor
        .fields()
        .filter(|f| message.has_field(f))
        .collect();
    fields.sort_by_key(FieldDescriptor::number);
    for field in fields {
        let value = message.get_field(&field);
        match value.as_ref() {
            Value::List(items) => {
                for item in items {
                    print_value(writer, field.name(), item, &field.kind());
                }
            }
            Value::Map(entries) => {
                let entry = match field.kind() {
                    Kind::Message(entry) => entry,
                    _ => continue,
                };
                let mut sorted: Vec<(&MapKey, &Value)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                let (key_field, value_field) =
                    (entry.map_entry_key_field(), entry.map_entry_value_field());
                for (key, value) in sorted {
                    writer.open(field.name());
                    let key = Value::from(key.clone());
                    print_value(writer, key_field.name(), &key, &key_field.kind());
                    print_value(writer, value_field.name(), value, &value_field.kind());
                    writer.close();
                }
            }
            single => print_value(writer, field.name(), single, &field.kind()),
        }
    }
}

/// Prints an `Any` as `[type_url] { … }` when its type is in the pool.
fn print_any(writer: &mut TextWriter, message: &DynamicMessage) -> bool {
    let (Some(type_url), Some(bytes)) = (
        message
            .get_field_by_name("type_url")
            .and_then(|v| v.as_str().map(str::to_string)),
        message
            .get_field_by_name("value")
            .and_then(|v| v.as_bytes().cloned()),
    ) else {
        return false;
    };
    let type_name = type_url.rsplit('/').next().unwrap_or(&type_url);
    let descriptor = message.descriptor();
    let pool: &DescriptorPool = descriptor.parent_pool();
    let Some(inner) = pool.get_message_by_name(type_name) else {
        return false;
    };
    let Ok(value) = DynamicMessage::decode(inner, bytes) else {
        return false;
    };
    writer.open(&format!("[{type_url}]"));
    print_fields(writer, &value);
    writer.close();
    true
}

fn print_value(writer: &mut TextWriter, name: &str, value: &Value, kind: &Kind) {
    match value {
        Value::Message(message) => {
            writer.open(name);
            print_fields(writer, message);
            writer.close();
        }
        Value::String(s) => writer.raw(name, &quote_bytes(s.as_bytes())),
        Value::Bytes(b) => writer.raw(name, &quote_bytes(b)),
        Value::EnumNumber(number) => match kind {
            Kind::Enum(e) => match e.get_value(*number) {
                Some(v) => writer.raw(name, v.name()),
                None => writer.raw(name, &number.to_string()),
            },
            _ => writer.raw(name, &number.to_string()),
        },
        Value::Bool(b) => writer.bool(name, *b),
        Value::I32(v) => writer.raw(name, &v.to_string()),
        Value::I64(v) => writer.raw(name, &v.to_string()),
        Value::U32(v) => writer.raw(name, &v.to_string()),
        Value::U64(v) => writer.raw(name, &v.to_string()),
        Value::F64(v) => writer.double(name, *v),
        Value::F32(v) => writer.raw(name, &format_float(*v)),
        Value::List(_) | Value::Map(_) => {}
    }
}

/// A proto `float` as Python's `text_format` prints it
/// (`type_checkers.ToShortestFloat`): the `%g` rounding with the fewest
/// digits, at least 6, that reads back to the same `f32`, then `repr`.
pub(crate) fn format_float(value: f32) -> String {
    if !value.is_finite() {
        return format_double(f64::from(value));
    }
    for digits in 6..=9 {
        let rounded: f64 = format!("{:.*e}", digits - 1, f64::from(value))
            .parse()
            .unwrap_or(f64::from(value));
        if rounded as f32 == value {
            return format_double(rounded);
        }
    }
    format_double(f64::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_does() {
        for (value, text) in [
            (0.1f32, "0.1"),
            (3.0, "3.0"),
            (1e-5, "1e-05"),
            (0.123_456_79, "0.12345679"),
            (0.3, "0.3"),
            (16_777_216.0, "16777216.0"),
            (3.4028235e38, "3.4028235e+38"),
            (f32::INFINITY, "inf"),
        ] {
            assert_eq!(format_float(value), text, "{value}");
        }
    }

    #[test]
    fn integers_in_every_base() {
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("017"), Some(15));
        assert_eq!(
            parse_int("-9223372036854775808"),
            Some(i128::from(i64::MIN))
        );
        assert_eq!(
            parse_int("18446744073709551615"),
            Some(i128::from(u64::MAX))
        );
        assert_eq!(parse_int("1.5"), None);
    }
}
