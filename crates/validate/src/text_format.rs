//! The protobuf text format (`.pbtxt`, `.textproto`), message-agnostic: a
//! parser into a tree of named fields and a writer that lays values out the
//! way Python's `google.protobuf.text_format.MessageToString` does (the
//! writer behind TFDV's `write_schema_text`).
//!
//! The parser follows the text-format language specification:
//!
//! * `name: value` for scalars; `name { ... }`, `name: { ... }`, `name < ... >`
//!   for messages; `name: [v1, v2]` for repeated fields (scalars or messages);
//!   a repeated field may also simply appear several times;
//! * fields may be separated by `,` or `;`; `#` starts a comment that runs to
//!   the end of the line;
//! * strings in `"` or `'` with C escapes (`\n \t \r \\ \" \' \? \a \b \f \v`,
//!   octal `\NNN`, hex `\xHH`, `\uHHHH`, `\UHHHHHHHH`); adjacent string
//!   literals are concatenated;
//! * numbers: decimal, `0x` hex and `0`-prefixed octal integers; floats with
//!   optional exponent and `f` suffix (`1e-05`, `.5`, `2.f`), `inf`,
//!   `infinity`, `nan` (any case, optionally negative);
//! * extension and `Any` names in brackets (`[pkg.ext]`,
//!   `[type.googleapis.com/pkg.Msg]`) are accepted as field names.
//!
//! Every token carries its 1-based line and column so errors can point at it.
//! Nesting is limited to [`MAX_DEPTH`] levels, so hostile input cannot
//! overflow the stack.

use std::fmt::Write as _;

/// Deepest message nesting the parser accepts (protobuf's default recursion
/// limit).
pub(crate) const MAX_DEPTH: usize = 100;

/// A 1-based line and column (in characters) in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    /// Line, from 1.
    pub(crate) line: usize,
    /// Column in characters, from 1.
    pub(crate) column: usize,
}

/// A syntax or type error at a position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextError {
    /// Where.
    pub(crate) position: Position,
    /// What was expected and what was found.
    pub(crate) message: String,
}

impl TextError {
    pub(crate) fn new(position: Position, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}

/// A scalar value as written; its meaning depends on the field's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    /// An identifier: enum value, `true`/`false`, `inf`, `-nan`, ...
    Identifier(String),
    /// A number token, sign included (`-12`, `0x1F`, `1e-05`, `.5f`).
    Number(String),
    /// A string literal (possibly several concatenated), escapes decoded.
    Bytes(Vec<u8>),
}

/// What a field holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    /// A scalar.
    Scalar(Scalar),
    /// A nested message.
    Message(TextMessage),
}

/// One `name: value` or `name { ... }` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TextField {
    /// The field name (`[...]` names keep their brackets).
    pub(crate) name: String,
    /// Where the name starts.
    pub(crate) name_position: Position,
    /// Where the value starts.
    pub(crate) position: Position,
    /// The value.
    pub(crate) value: FieldValue,
}

/// A message: its fields in text order (repeated fields appear repeatedly).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TextMessage {
    /// The fields.
    pub(crate) fields: Vec<TextField>,
}

/// Parses a whole document (a top-level message without braces).
pub(crate) fn parse(text: &str) -> Result<TextMessage, TextError> {
    let mut parser = Parser {
        lexer: Lexer::new(text),
        peeked: None,
    };
    parser.message(None, 0)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Identifier(String),
    Number(String),
    Bytes(Vec<u8>),
    Punct(char),
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Identifier(s) => format!("`{s}`"),
            Token::Number(s) => format!("number `{s}`"),
            Token::Bytes(_) => "a string".to_string(),
            Token::Punct(c) => format!("`{c}`"),
            Token::End => "end of input".to_string(),
        }
    }
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    position: Position,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            chars: text.chars().peekable(),
            position: Position { line: 1, column: 1 },
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.position.line += 1;
            self.position.column = 1;
        } else {
            self.position.column += 1;
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    /// The character after the next one.
    fn peek_second(&self) -> Option<char> {
        let mut ahead = self.chars.clone();
        ahead.next();
        ahead.next()
    }

    fn skip_blanks_and_comments(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
            } else if c == '#' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn next_token(&mut self) -> Result<(Token, Position), TextError> {
        self.skip_blanks_and_comments();
        let start = self.position;
        let Some(c) = self.peek() else {
            return Ok((Token::End, start));
        };
        let after = self.peek_second();
        let token =
            if c.is_ascii_alphabetic() || c == '_' {
                Token::Identifier(self.take_while(|c| c.is_ascii_alphanumeric() || c == '_'))
            } else if c == '-' && after.is_some_and(|a| a.is_ascii_alphabetic()) {
                self.bump();
                let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
                Token::Identifier(format!("-{word}"))
            } else if c.is_ascii_digit()
                || (c == '.' && after.is_some_and(|a| a.is_ascii_digit()))
                || (c == '-' && after.is_some_and(|a| a.is_ascii_digit() || a == '.'))
            {
                let mut number = String::new();
                if c == '-' {
                    self.bump();
                    number.push('-');
                }
                number.push_str(&self.take_while(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')
                }));
                Token::Number(number)
            } else if c == '"' || c == '\'' {
                Token::Bytes(self.string_literal(c)?)
            } else {
                self.bump();
                Token::Punct(c)
            };
        Ok((token, start))
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if !keep(c) {
                break;
            }
            out.push(c);
            self.bump();
        }
        out
    }

    fn string_literal(&mut self, quote: char) -> Result<Vec<u8>, TextError> {
        let start = self.position;
        self.bump();
        let mut bytes = Vec::new();
        loop {
            let here = self.position;
            match self.bump() {
                None | Some('\n') => {
                    return Err(TextError::new(
                        start,
                        format!("string starting here has no closing {quote}"),
                    ));
                }
                Some(c) if c == quote => return Ok(bytes),
                Some('\\') => self.escape(here, &mut bytes)?,
                Some(c) => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }

    /// Decodes the escape after a backslash at `at` into `bytes`.
    fn escape(&mut self, at: Position, bytes: &mut Vec<u8>) -> Result<(), TextError> {
        let bad = |what: String| TextError::new(at, what);
        let Some(c) = self.bump() else {
            return Err(bad("unterminated escape sequence".into()));
        };
        let simple = match c {
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'v' => Some(0x0b),
            '\\' => Some(b'\\'),
            '\'' => Some(b'\''),
            '"' => Some(b'"'),
            '?' => Some(b'?'),
            _ => None,
        };
        if let Some(b) = simple {
            bytes.push(b);
            return Ok(());
        }
        match c {
            '0'..='7' => {
                let mut value = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            self.bump();
                        }
                        None => break,
                    }
                }
                let byte = u8::try_from(value)
                    .map_err(|_| bad(format!("octal escape \\{value:o} is larger than \\377")))?;
                bytes.push(byte);
            }
            'x' | 'X' => {
                let digits = self.hex_digits(2);
                if digits.is_empty() {
                    return Err(bad("expected hex digits after `\\x`".into()));
                }
                let value = u32::from_str_radix(&digits, 16).unwrap_or(0);
                bytes.push(u8::try_from(value).unwrap_or(u8::MAX));
            }
            'u' | 'U' => {
                let width = if c == 'u' { 4 } else { 8 };
                let digits = self.hex_digits(width);
                if digits.len() != width {
                    return Err(bad(format!(
                        "expected {width} hex digits after `\\{c}`, found {}",
                        digits.len()
                    )));
                }
                let code = u32::from_str_radix(&digits, 16).unwrap_or(u32::MAX);
                let ch = char::from_u32(code)
                    .ok_or_else(|| bad(format!("`\\{c}{digits}` is not a Unicode scalar value")))?;
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            other => return Err(bad(format!("unknown escape sequence `\\{other}`"))),
        }
        Ok(())
    }

    fn hex_digits(&mut self, max: usize) -> String {
        let mut out = String::new();
        while out.len() < max {
            match self.peek() {
                Some(d) if d.is_ascii_hexdigit() => {
                    out.push(d);
                    self.bump();
                }
                _ => break,
            }
        }
        out
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<(Token, Position)>,
}

impl Parser<'_> {
    fn next(&mut self) -> Result<(Token, Position), TextError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next_token(),
        }
    }

    fn peek(&mut self) -> Result<&(Token, Position), TextError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        match &self.peeked {
            Some(t) => Ok(t),
            None => Err(TextError::new(self.lexer.position, "internal lexer state")),
        }
    }

    fn eat_punct(&mut self, c: char) -> Result<bool, TextError> {
        if self.peek()?.0 == Token::Punct(c) {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Fields up to `close` (or the end of input for the top level).
    fn message(&mut self, close: Option<char>, depth: usize) -> Result<TextMessage, TextError> {
        let mut message = TextMessage::default();
        loop {
            let (token, name_position) = self.next()?;
            let position = name_position;
            let name = match token {
                Token::End if close.is_none() => return Ok(message),
                Token::Punct(c) if Some(c) == close => return Ok(message),
                Token::Identifier(name) if !name.starts_with('-') => name,
                Token::Punct('[') => self.bracketed_name()?,
                other => {
                    let expected = match close {
                        Some(c) => format!("a field name or `{c}`"),
                        None => "a field name".to_string(),
                    };
                    return Err(TextError::new(
                        position,
                        format!("expected {expected}, found {}", other.describe()),
                    ));
                }
            };
            let colon = self.eat_punct(':')?;
            let (token, position) = self.next()?;
            match token {
                Token::Punct(open @ ('{' | '<')) => {
                    let value = self.nested(open, position, depth)?;
                    message.fields.push(TextField {
                        name,
                        name_position,
                        position,
                        value,
                    });
                }
                // `name [ ... ]`: the colon is optional before a list of
                // messages, as in Python's parser.
                Token::Punct('[') => {
                    self.list(&name, name_position, &mut message, depth)?;
                }
                other if colon => {
                    let value = self.scalar(other, position)?;
                    message.fields.push(TextField {
                        name,
                        name_position,
                        position,
                        value: FieldValue::Scalar(value),
                    });
                }
                other => {
                    return Err(TextError::new(
                        position,
                        format!(
                            "expected `:` or `{{` after field `{name}`, found {}",
                            other.describe()
                        ),
                    ));
                }
            }
            if !self.eat_punct(',')? {
                self.eat_punct(';')?;
            }
        }
    }

    fn nested(
        &mut self,
        open: char,
        position: Position,
        depth: usize,
    ) -> Result<FieldValue, TextError> {
        if depth + 1 > MAX_DEPTH {
            return Err(TextError::new(
                position,
                format!("messages nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let close = if open == '{' { '}' } else { '>' };
        Ok(FieldValue::Message(self.message(Some(close), depth + 1)?))
    }

    /// `name: [v, v, ...]` (after the `[`), each element its own field.
    fn list(
        &mut self,
        name: &str,
        name_position: Position,
        message: &mut TextMessage,
        depth: usize,
    ) -> Result<(), TextError> {
        if self.eat_punct(']')? {
            return Ok(());
        }
        loop {
            let (token, position) = self.next()?;
            let value = match token {
                Token::Punct(open @ ('{' | '<')) => self.nested(open, position, depth)?,
                other => FieldValue::Scalar(self.scalar(other, position)?),
            };
            message.fields.push(TextField {
                name: name.to_string(),
                name_position,
                position,
                value,
            });
            let (token, position) = self.next()?;
            match token {
                Token::Punct(',') => {}
                Token::Punct(']') => return Ok(()),
                other => {
                    return Err(TextError::new(
                        position,
                        format!(
                            "expected `,` or `]` in the list of `{name}`, found {}",
                            other.describe()
                        ),
                    ));
                }
            }
        }
    }

    fn scalar(&mut self, token: Token, position: Position) -> Result<Scalar, TextError> {
        match token {
            Token::Identifier(s) => Ok(Scalar::Identifier(s)),
            Token::Number(s) => Ok(Scalar::Number(s)),
            Token::Bytes(mut bytes) => {
                while matches!(self.peek()?.0, Token::Bytes(_)) {
                    if let (Token::Bytes(more), _) = self.next()? {
                        bytes.extend(more);
                    }
                }
                Ok(Scalar::Bytes(bytes))
            }
            other => Err(TextError::new(
                position,
                format!("expected a value, found {}", other.describe()),
            )),
        }
    }

    /// An extension or `Any` name after `[`, up to `]`.
    fn bracketed_name(&mut self) -> Result<String, TextError> {
        let mut name = String::from("[");
        loop {
            let (token, position) = self.next()?;
            match token {
                Token::Punct(']') if name.len() > 1 => {
                    name.push(']');
                    return Ok(name);
                }
                Token::Identifier(part) if !part.starts_with('-') => name.push_str(&part),
                Token::Punct(c @ ('.' | '/')) => name.push(c),
                other => {
                    return Err(TextError::new(
                        position,
                        format!(
                            "expected an extension or type name inside `[...]`, found {}",
                            other.describe()
                        ),
                    ));
                }
            }
        }
    }
}

/// Text-format output, indented by two spaces per level.
#[derive(Debug, Default)]
pub(crate) struct TextWriter {
    out: String,
    depth: usize,
}

impl TextWriter {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// `name: value` with `value` already formatted.
    pub(crate) fn raw(&mut self, name: &str, value: &str) {
        self.indent();
        let _ = writeln!(self.out, "{name}: {value}");
    }

    /// `name: 0.5` (Python's `repr` of the double).
    pub(crate) fn double(&mut self, name: &str, value: f64) {
        self.raw(name, &format_double(value));
    }

    /// `name: true` / `name: false`.
    pub(crate) fn bool(&mut self, name: &str, value: bool) {
        self.raw(name, if value { "true" } else { "false" });
    }

    /// `name {`, then the caller writes fields, then [`close`](Self::close).
    pub(crate) fn open(&mut self, name: &str) {
        self.indent();
        let _ = writeln!(self.out, "{name} {{");
        self.depth += 1;
    }

    /// `}`.
    pub(crate) fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("}\n");
    }

    /// The text.
    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// A string literal as Python's `text_format` writes it (`as_utf8=False`):
/// `\n \r \t \" \' \\` escaped by name, other bytes below 32 or above 126
/// (so every non-ASCII UTF-8 byte) as three-digit octal.
pub(crate) fn quote_bytes(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for &b in value {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            32..=126 => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

/// A double as Python's `repr` writes it (what `text_format` uses): the
/// shortest digits that read back to the same value, fixed notation when the
/// decimal exponent is in `-4 ..= 15` (`0.0001`, `1.0`, `1234.5`), else
/// scientific with a signed, at least two-digit exponent (`1e-05`, `1e+16`);
/// `inf`, `-inf`, `nan`.
pub(crate) fn format_double(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_string();
    }
    // `{:e}` gives the shortest round-trip digits: `-1.2345e-5`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = exponent + 1; // digits before the decimal point
    let mut out = String::from(sign);
    if point > -4 && point <= 16 {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if point >= digits.len() {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.unsigned_abs()
        );
    }
    out
}

/// Parses an integer token: decimal, `0x` hex or `0`-prefixed octal, with an
/// optional leading `-`, as `i128` so every 64-bit signed and unsigned value
/// fits.
pub(crate) fn parse_int(token: &str) -> Option<i128> {
    let (negative, body) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let magnitude = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        u64::from_str_radix(&body[1..], 8).ok()?
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse::<u64>().ok()?
    } else {
        return None;
    };
    let magnitude = i128::from(magnitude);
    Some(if negative { -magnitude } else { magnitude })
}

/// Parses a float token (`1.5`, `-1e-05`, `.5`, `2.f`, `7`) or identifier
/// (`inf`, `-Infinity`, `nan`, any case).
pub(crate) fn parse_float(token: &str) -> Option<f64> {
    let (negative, body) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let lower = body.to_ascii_lowercase();
    let magnitude = match lower.as_str() {
        "inf" | "infinity" | "inff" | "infinityf" => f64::INFINITY,
        "nan" | "nanf" => f64::NAN,
        _ => {
            let digits = lower.strip_suffix('f').unwrap_or(&lower);
            let well_formed = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
                && digits
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'));
            if !well_formed {
                return None;
            }
            digits.parse::<f64>().ok()?
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(message: &TextMessage, i: usize) -> &Scalar {
        match &message.fields[i].value {
            FieldValue::Scalar(s) => s,
            FieldValue::Message(_) => panic!("not a scalar"),
        }
    }

    #[test]
    fn parses_every_syntax_form() {
        let text = r#"
            # a comment
            a: 1 b: -2.5e-05, c: INF; d: "x\n\"y\"" 'z\101\x42\u00e9'
            m { n: 1 } m: { n: 2 } m < n: 3 >
            l: [1, 2] e: [] ml: [{ n: 4 }, < n: 5 >]
            [ext.pkg.name]: 1
            [type.googleapis.com/pkg.Msg] { k: true }
        "#;
        let message = parse(text).unwrap();
        let names: Vec<&str> = message.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "a",
                "b",
                "c",
                "d",
                "m",
                "m",
                "m",
                "l",
                "l",
                "ml",
                "ml",
                "[ext.pkg.name]",
                "[type.googleapis.com/pkg.Msg]"
            ]
        );
        assert_eq!(scalar(&message, 1), &Scalar::Number("-2.5e-05".into()));
        assert_eq!(scalar(&message, 2), &Scalar::Identifier("INF".into()));
        assert_eq!(
            scalar(&message, 3),
            &Scalar::Bytes("x\n\"y\"zABé".as_bytes().to_vec())
        );
        assert_eq!(
            message.fields[0].position,
            Position {
                line: 3,
                column: 16
            }
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = parse("a: 1\nb {\n  c: }\n").unwrap_err();
        assert_eq!(err.position, Position { line: 3, column: 6 });
        assert!(
            err.message.contains("expected a value, found `}`"),
            "{err:?}"
        );
        let err = parse("a {\n b: 1\n").unwrap_err();
        assert!(err.message.contains("end of input"), "{err:?}");
        let err = parse("a: \"open\n").unwrap_err();
        assert_eq!(err.position, Position { line: 1, column: 4 });
        let err = parse("a 1").unwrap_err();
        assert!(err.message.contains("expected `:` or `{`"), "{err:?}");
        let err = parse(r#"a: "\q""#).unwrap_err();
        assert!(err.message.contains("\\q"), "{err:?}");
        let deep = "a {".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));
    }

    #[test]
    fn formats_doubles_like_python_repr() {
        for (value, text) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (-2.5e-7, "-2.5e-07"),
            (1.5e300, "1.5e+300"),
            (0.1, "0.1"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-0.0, "-0.0"),
            (123.0, "123.0"),
        ] {
            assert_eq!(format_double(value), text);
            let back = parse_float(text).unwrap();
            assert!(back == value || (back.is_nan() && value.is_nan()), "{text}");
        }
    }

    #[test]
    fn parses_numbers() {
        assert_eq!(parse_int("0x1F"), Some(31));
        assert_eq!(parse_int("017"), Some(15));
        assert_eq!(
            parse_int("-9223372036854775808"),
            Some(i128::from(i64::MIN))
        );
        assert_eq!(parse_int("18446744073709551616"), None);
        assert_eq!(parse_int("1.0"), None);
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("2.f"), Some(2.0));
        assert_eq!(parse_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("0x10"), None);
        assert_eq!(parse_float("1e5"), Some(1e5));
    }

    #[test]
    fn quotes_like_python_text_format() {
        assert_eq!(
            quote_bytes("a\"b\\c\n'é\u{1}".as_bytes()),
            r#""a\"b\\c\n\'\303\251\001""#
        );
        let parsed = parse(&format!(
            "s: {}",
            quote_bytes("a\"b\\c\n'é\u{1}".as_bytes())
        ))
        .unwrap();
        assert_eq!(
            scalar(&parsed, 0),
            &Scalar::Bytes("a\"b\\c\n'é\u{1}".as_bytes().to_vec())
        );
    }
}
