//! Charts for the consent report, drawn on the server as SVG: readable without JavaScript,
//! allowed by the shop's CSP (presentation attributes, no `style` attributes), each with a
//! title and a description for screen readers, and the numbers in a table beside it.

use std::fmt::Write as _;

use crate::html::escape;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// Colours and dash patterns for series, so no series is told apart by colour alone.
const SERIES: [(&str, &str); 6] = [
    ("#1d3557", ""),
    ("#b5179e", "6 3"),
    ("#2a9d8f", "2 3"),
    ("#e76f51", "10 3 2 3"),
    ("#6a4c93", "1 2"),
    ("#8d6e00", "12 4"),
];

fn open(id: &str, title: &str, description: &str) -> String {
    format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title><desc id="{id}-desc">{description}</desc>"#,
        title = escape(title),
        description = escape(description),
    )
}

fn axes(out: &mut String, first: &str, last: &str, top_label: &str) {
    let bottom = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        r##"<g fill="none" stroke="#555" stroke-width="1"><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/><line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/></g><g font-size="11" fill="#1b1b1b"><text x="{lx}" y="{ty}" text-anchor="end">{top}</text><text x="{lx}" y="{bottom}" text-anchor="end">0</text><text x="{LEFT}" y="{dy}">{first}</text><text x="{right}" y="{dy}" text-anchor="end">{last}</text></g>"##,
        right = WIDTH - RIGHT,
        lx = LEFT - 4.0,
        ty = TOP + 4.0,
        dy = HEIGHT - 8.0,
        top = escape(top_label),
        first = escape(first),
        last = escape(last),
    );
}

/// A bar per day: `bars` are (day label, count).
pub fn bars(id: &str, title: &str, bars: &[(String, u64)]) -> String {
    let total: u64 = bars.iter().map(|(_, n)| n).sum();
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let description = match (bars.first(), bars.last()) {
        (Some((first, _)), Some((last, _))) => {
            format!("{total} decisions from {first} to {last}; the most on one day: {max}.")
        }
        _ => "No decisions in this period.".to_owned(),
    };
    let mut out = open(id, title, &description);
    let plot = WIDTH - LEFT - RIGHT;
    let height = HEIGHT - TOP - BOTTOM;
    #[allow(clippy::cast_precision_loss, reason = "chart geometry")]
    let (slot, max) = (plot / bars.len().max(1) as f64, max as f64);
    out.push_str(r##"<g fill="#1d3557">"##);
    for (index, (label, count)) in bars.iter().enumerate() {
        #[allow(clippy::cast_precision_loss, reason = "chart geometry")]
        let h = height * (*count as f64) / max;
        #[allow(clippy::cast_precision_loss, reason = "chart geometry")]
        let x = LEFT + slot * index as f64 + slot * 0.15;
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"><title>{label}: {count}</title></rect>"#,
            y = TOP + height - h,
            w = slot * 0.7,
            label = escape(label),
        );
    }
    out.push_str("</g>");
    let first = bars.first().map_or("", |(d, _)| d.as_str());
    let last = bars.last().map_or("", |(d, _)| d.as_str());
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a count"
    )]
    axes(&mut out, first, last, &(max as u64).to_string());
    out.push_str("</svg>");
    out
}

/// One line per series of shares (0.0–1.0) over the same days; `None` where a day has no
/// decision for that series. `days` labels the x axis.
pub fn lines(
    id: &str,
    title: &str,
    days: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> String {
    let names: Vec<&str> = series.iter().map(|(name, _)| name.as_str()).collect();
    let description = format!(
        "Share of decisions granting each of {} per day, from 0 to 100 percent.",
        names.join(", ")
    );
    let mut out = open(id, title, &description);
    let plot = WIDTH - LEFT - RIGHT;
    let height = HEIGHT - TOP - BOTTOM;
    #[allow(clippy::cast_precision_loss, reason = "chart geometry")]
    let step = if days.len() > 1 {
        plot / (days.len() - 1) as f64
    } else {
        0.0
    };
    for (index, (name, values)) in series.iter().enumerate() {
        let (colour, dash) = SERIES[index % SERIES.len()];
        let mut points = String::new();
        for (day, value) in values.iter().enumerate() {
            if let Some(value) = value {
                #[allow(clippy::cast_precision_loss, reason = "chart geometry")]
                let x = LEFT + step * day as f64;
                let _ = write!(points, "{x:.1},{:.1} ", TOP + height * (1.0 - value));
            }
        }
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{}"><title>{}</title></polyline>"#,
            points.trim_end(),
            escape(name)
        );
        // The legend, on the top right.
        #[allow(clippy::cast_precision_loss, reason = "chart geometry")]
        let y = TOP + 12.0 + 14.0 * index as f64;
        let _ = write!(
            out,
            r##"<g font-size="11"><line x1="{x1}" y1="{ly}" x2="{x2}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/><text x="{tx}" y="{y}" fill="#1b1b1b">{}</text></g>"##,
            escape(name),
            x1 = WIDTH - RIGHT - 130.0,
            x2 = WIDTH - RIGHT - 110.0,
            tx = WIDTH - RIGHT - 104.0,
            ly = y - 4.0,
        );
    }
    let first = days.first().map_or("", String::as_str);
    let last = days.last().map_or("", String::as_str);
    axes(&mut out, first, last, "100%");
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_day_and_say_what_they_show() {
        let svg = bars(
            "d",
            "Decisions per day",
            &[("2026-11-29".into(), 5), ("2026-11-30".into(), 10)],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#) && svg.contains("<title id=\"d-title\">"));
        assert!(svg.contains("15 decisions from 2026-11-29 to 2026-11-30"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(
            svg.contains(r#"height="180.0""#),
            "the largest bar fills the plot"
        );
        assert!(
            svg.contains(r#"height="90.0""#),
            "half of it for half the count"
        );
        assert!(
            !svg.contains("style="),
            "no style attributes: the CSP blocks them"
        );
    }

    #[test]
    fn lines_skip_days_without_decisions_and_differ_by_more_than_colour() {
        let days = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let svg = lines(
            "r",
            "Opt-in",
            &days,
            &[
                ("analytics".into(), vec![Some(1.0), None, Some(0.0)]),
                ("marketing".into(), vec![Some(0.5), Some(0.5), Some(0.5)]),
            ],
        );
        assert!(svg.contains(r#"points="44.0,12.0 628.0,192.0""#), "{svg}");
        assert!(
            svg.contains("stroke-dasharray"),
            "the second series is dashed"
        );
        assert!(bars("e", "Empty", &[]).contains("No decisions in this period."));
    }
}
