//! Inline SVG charts: histograms (one data set or two overlaid), horizontal
//! bars and line charts. Every label is escaped; sizes are fixed so the page
//! lays out without script.

use std::fmt::Write as _;

use super::html::{escape, number};

/// Fill colours of the first and second data set (also used by the CSS).
pub(crate) const SERIES_COLORS: [&str; 2] = ["#3867d6", "#f0932b"];

fn color(series: usize) -> &'static str {
    SERIES_COLORS.get(series % 2).copied().unwrap_or("#3867d6")
}

/// One data set's histogram: `(low, high, count)` buckets.
pub(crate) type Buckets = Vec<(f64, f64, f64)>;

/// Bars of one or two histograms on a common value axis; each histogram is
/// drawn as a density (its bars' areas sum to one) so data sets of
/// different sizes compare, the second one translucent over the first.
pub(crate) fn histogram(series: &[Buckets], width: f64, height: f64) -> String {
    let finite = |b: &&(f64, f64, f64)| b.0.is_finite() && b.1.is_finite() && b.2.is_finite();
    let all: Vec<&(f64, f64, f64)> = series.iter().flatten().filter(finite).collect();
    let mut svg = open_svg(width, height, "histogram");
    let low = all.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
    let high = all.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
    if all.is_empty() || low > high {
        svg.push_str("</svg>");
        return svg;
    }
    let span = if high > low { high - low } else { 1.0 };
    // Bucket densities per series, and the tallest one for the scale.
    let densities: Vec<Vec<(f64, f64, f64, f64)>> = series
        .iter()
        .map(|buckets| {
            let total: f64 = buckets.iter().filter(finite).map(|b| b.2.max(0.0)).sum();
            buckets
                .iter()
                .filter(finite)
                .map(|&(l, h, c)| {
                    // A zero-width bucket (one value) gets 1/50 of the axis.
                    let w = (h - l).max(span / 50.0);
                    let share = if total > 0.0 { c.max(0.0) / total } else { 0.0 };
                    (l, w, share / w, c)
                })
                .collect()
        })
        .collect();
    let tallest = densities
        .iter()
        .flatten()
        .map(|d| d.2)
        .fold(0.0_f64, f64::max);
    let plot_h = height - 14.0;
    for (s, bars) in densities.iter().enumerate() {
        let opacity = if s == 0 { "0.85" } else { "0.55" };
        for &(l, w, density, count) in bars {
            let x = (l - low) / span * width;
            let bar_w = (w / span * width).max(1.0);
            let bar_h = if tallest > 0.0 {
                density / tallest * plot_h
            } else {
                0.0
            };
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" fill=\"{}\" fill-opacity=\"{opacity}\"><title>{}</title></rect>",
                plot_h - bar_h,
                (bar_w - 0.5).max(0.5),
                color(s),
                escape(&format!(
                    "[{}, {}]: {}",
                    number(l),
                    number(l + w),
                    number(count)
                ))
            );
        }
    }
    let _ = write!(
        svg,
        "<line x1=\"0\" y1=\"{plot_h}\" x2=\"{width}\" y2=\"{plot_h}\" class=\"axis\"></line>\
         <text x=\"0\" y=\"{height}\" class=\"tick\">{}</text>\
         <text x=\"{width}\" y=\"{height}\" class=\"tick\" text-anchor=\"end\">{}</text></svg>",
        escape(&number(low)),
        escape(&number(high))
    );
    svg
}

/// Horizontal bars, one row per label with one bar per series (values are
/// fractions of `scale`), label on the left, value on the right.
pub(crate) fn bars(rows: &[(String, Vec<f64>)], scale: f64, width: f64, unit: &str) -> String {
    let series = rows.iter().map(|r| r.1.len()).max().unwrap_or(1).max(1);
    let bar_h = 7.0;
    let row_h = bar_h * series as f64 + 6.0;
    let height = (row_h * rows.len() as f64).max(row_h);
    let label_w = (width * 0.38).round();
    let value_w = 58.0;
    let plot_w = (width - label_w - value_w).max(10.0);
    let mut svg = open_svg(width, height, "bars");
    for (i, (label, values)) in rows.iter().enumerate() {
        let y = i as f64 * row_h;
        let shown: String = label.chars().take(28).collect();
        let shown = if shown.len() < label.len() {
            format!("{shown}…")
        } else {
            shown
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\"><title>{}</title>{}</text>",
            label_w - 4.0,
            y + row_h / 2.0 + 3.0,
            escape(label),
            escape(&shown)
        );
        for (s, &value) in values.iter().enumerate() {
            let fraction = if scale > 0.0 && value.is_finite() {
                (value / scale).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let by = y + 3.0 + s as f64 * bar_h;
            let _ = write!(
                svg,
                "<rect x=\"{label_w}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}</title></rect>",
                (fraction * plot_w).max(0.5),
                bar_h - 1.0,
                color(s),
                escape(&format!("{label}: {}{unit}", number(value)))
            );
        }
        let first = values.first().copied().unwrap_or(0.0);
        let _ = write!(
            svg,
            "<text x=\"{width}\" y=\"{:.1}\" class=\"value\" text-anchor=\"end\">{}{}</text>",
            y + row_h / 2.0 + 3.0,
            escape(&number(first)),
            escape(unit)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A bar of `value` against `threshold` (a tick marks the threshold), red
/// when `over`.
pub(crate) fn threshold_bar(value: f64, threshold: f64, over: bool, width: f64) -> String {
    let scale = [value, threshold * 2.0, 1e-12]
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let fraction = if value.is_finite() {
        (value / scale).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let mark = (threshold / scale).clamp(0.0, 1.0) * width;
    let mut svg = open_svg(width, 12.0, "threshold-bar");
    let _ = write!(
        svg,
        "<rect x=\"0\" y=\"2\" width=\"{width}\" height=\"8\" class=\"track\"></rect>\
         <rect x=\"0\" y=\"2\" width=\"{:.1}\" height=\"8\" class=\"{}\"></rect>\
         <line x1=\"{mark:.1}\" y1=\"0\" x2=\"{mark:.1}\" y2=\"12\" class=\"mark\"></line></svg>",
        (fraction * width).max(0.5),
        if over { "bad" } else { "good" }
    );
    svg
}

/// One line of a [`line_chart`].
pub(crate) struct Line {
    pub(crate) name: String,
    pub(crate) points: Vec<(f64, f64)>,
    /// Draw a dot at each point (few points, e.g. calibration bins).
    pub(crate) dots: bool,
}

/// Axis ranges of a [`line_chart`]: the unit square, or the data's range.
pub(crate) enum Range {
    Unit,
    Data,
}

/// A line chart with axes, ticks, axis titles and an optional dashed
/// diagonal (the chance line of ROC, perfect calibration).
pub(crate) fn line_chart(
    lines: &[Line],
    x_title: &str,
    y_title: &str,
    range: Range,
    diagonal: bool,
) -> String {
    let (width, height) = (320.0, 260.0);
    let (left, right, top, bottom) = (44.0, 16.0, 10.0, 36.0);
    let points = lines
        .iter()
        .flat_map(|l| l.points.iter())
        .filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (0.0, 1.0, 0.0, 1.0);
    if let Range::Data = range {
        let all: Vec<&(f64, f64)> = points.collect();
        let lo = all
            .iter()
            .map(|p| p.0.min(p.1))
            .fold(f64::INFINITY, f64::min);
        let hi = all
            .iter()
            .map(|p| p.0.max(p.1))
            .fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi.is_finite() {
            let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
            (x0, x1, y0, y1) = (lo - pad, hi + pad, lo - pad, hi + pad);
        }
    }
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * plot_w;
    let sy = |y: f64| top + plot_h - (y - y0) / (y1 - y0) * plot_h;
    let mut svg = open_svg(width, height, "line-chart");
    let _ = write!(
        svg,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\" class=\"plot\"></rect>"
    );
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let (xv, yv) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        let _ = write!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{top}\" x2=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"></line>\
             <line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"></line>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            sx(xv),
            sx(xv),
            top + plot_h,
            sy(yv),
            left + plot_w,
            sy(yv),
            sx(xv),
            top + plot_h + 12.0,
            escape(&short(xv)),
            left - 4.0,
            sy(yv) + 3.0,
            escape(&short(yv)),
        );
    }
    if diagonal {
        let (a, b) = (x0.max(y0), x1.min(y1));
        let _ = write!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" class=\"diagonal\"></line>",
            sx(a),
            sy(a),
            sx(b),
            sy(b)
        );
    }
    for (s, line) in lines.iter().enumerate() {
        let path: Vec<String> = line
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"><title>{}</title></polyline>",
            path.join(" "),
            color(s),
            escape(&line.name)
        );
        if line.dots {
            for &(x, y) in line
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
            {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{}</title></circle>",
                    sx(x),
                    sy(y),
                    color(s),
                    escape(&format!("({}, {})", number(x), number(y)))
                );
            }
        }
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis-title\" text-anchor=\"middle\">{}</text>\
         <text x=\"12\" y=\"{:.1}\" class=\"axis-title\" text-anchor=\"middle\" transform=\"rotate(-90 12 {:.1})\">{}</text></svg>",
        left + plot_w / 2.0,
        height - 4.0,
        escape(x_title),
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        escape(y_title)
    );
    svg
}

/// A tick label: 2 decimals in the unit range, else [`number`].
fn short(value: f64) -> String {
    if value.abs() <= 1.0 {
        format!("{value:.2}")
    } else {
        number(value)
    }
}

fn open_svg(width: f64, height: f64, class: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_survive_degenerate_input() {
        for svg in [
            histogram(&[], 100.0, 40.0),
            histogram(&[vec![(f64::NAN, 1.0, 2.0)]], 100.0, 40.0),
            histogram(&[vec![(1.0, 1.0, 0.0)]], 100.0, 40.0),
            bars(&[], 0.0, 200.0, "%"),
            threshold_bar(f64::INFINITY, 0.0, true, 80.0),
            line_chart(&[], "x", "y", Range::Data, true),
        ] {
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bars(&[("<b>".into(), vec![1.0])], 1.0, 200.0, "");
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }
}
