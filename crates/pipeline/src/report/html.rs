//! HTML text: escaping of everything that comes from data, and a small
//! writer that closes every element it opens.

use std::fmt::Write as _;

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by character
/// references, safe inside element content and quoted attribute values.
///
/// ```
/// use mlrig_pipeline::report::escape;
/// assert_eq!(escape("<script>alert('x')</script> & \"y\""),
///            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in HTML text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An HTML fragment under construction. Elements are written with
/// [`Html::element`], which takes the content as a closure and always
/// writes the end tag, so the output is balanced by construction.
#[derive(Debug, Default)]
pub(crate) struct Html {
    out: String,
}

impl Html {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `<tag attrs…>content</tag>`; attribute values are escaped.
    pub(crate) fn element(
        &mut self,
        tag: &str,
        attrs: &[(&str, &str)],
        content: impl FnOnce(&mut Html),
    ) -> &mut Self {
        self.open(tag, attrs);
        content(self);
        let _ = write!(self.out, "</{tag}>");
        self
    }

    /// `<tag attrs…>escaped text</tag>`.
    pub(crate) fn text_element(
        &mut self,
        tag: &str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> &mut Self {
        self.element(tag, attrs, |h| {
            h.text(text);
        })
    }

    /// Escaped text.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    /// Markup produced by this module (another [`Html`] or an SVG chart).
    pub(crate) fn raw(&mut self, markup: &str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    fn open(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        let _ = write!(self.out, "<{tag}");
        for (name, value) in attrs {
            let _ = write!(self.out, " {name}=\"{}\"", escape(value));
        }
        self.out.push('>');
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// A number for a table cell: integers without decimals, others with 4
/// significant digits (scientific for very large or small values), `—`
/// for non-finite values.
pub(crate) fn number(value: f64) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "NaN".into()
        } else if value > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let magnitude = value.abs();
    if !(1e-4..1e7).contains(&magnitude) {
        return format!("{value:.3e}");
    }
    // Four significant digits: as many decimals as the magnitude leaves.
    let decimals = [1000.0, 100.0, 10.0, 1.0, 0.1, 0.01]
        .iter()
        .position(|&bound| magnitude >= bound)
        .unwrap_or(6);
    format!("{value:.decimals$}")
}

/// `part / whole` as a percentage with one decimal (`0%` for an empty whole).
pub(crate) fn percent(part: f64, whole: f64) -> String {
    if whole <= 0.0 || !part.is_finite() {
        return "0%".into();
    }
    format!("{:.1}%", 100.0 * part / whole)
}

/// A value for a `data-sort` attribute: the number, or empty when not finite.
pub(crate) fn sort_key(value: f64) -> String {
    if value.is_finite() {
        format!("{value}")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_closed_and_attributes_escaped() {
        let mut h = Html::new();
        h.element("td", &[("title", "a\"<b>")], |h| {
            h.text_element("b", &[], "x<y");
        });
        assert_eq!(
            h.finish(),
            "<td title=\"a&quot;&lt;b&gt;\"><b>x&lt;y</b></td>"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.123456), "0.1235");
        assert_eq!(number(1234.5678), "1235");
        assert_eq!(number(12.5), "12.50");
        assert_eq!(number(1e-9), "1.000e-9");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(percent(1.0, 4.0), "25.0%");
        assert_eq!(percent(1.0, 0.0), "0%");
        assert_eq!(escape("a\u{0}b"), "a\u{FFFD}b");
    }
}
