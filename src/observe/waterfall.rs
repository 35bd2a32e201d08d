//! A trace as text: one line per span on the request's time axis, with its notes, for
//! `archsim trace` and the review page.

use std::fmt::Write as _;

use crate::model::Model;

use super::explain::{clock, took};
use super::trace::{Segment, Trace, outcome_label};
use crate::shared::time::SimTime;

/// A trace as text: a heading, the explanation, and one line per span with a bar on the
/// request's time axis (`~` network, `.` queue wait, `#` work, `=` waiting for its calls),
/// then the span's notes.
#[must_use]
pub fn waterfall(t: &Trace, m: &Model, why: &[String], width: usize) -> String {
    let width = width.max(10);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} #{} · {} · started {} · {} after {}",
        m.request_types[t.request_type as usize],
        t.serial,
        m.workloads[t.workload as usize].name,
        clock(t.start),
        outcome_label(t.outcome),
        took(t.latency()),
    );
    for (i, line) in why.iter().enumerate() {
        let _ = writeln!(out, "  {} {line}", if i == 0 { "why:" } else { "    " });
    }
    let total = t.latency().as_nanos().max(1);
    let col = |at: SimTime| -> usize {
        let off = at.as_nanos().saturating_sub(t.start.as_nanos());
        usize::try_from(u128::from(off) * width as u128 / u128::from(total))
            .unwrap_or(width)
            .min(width)
    };
    let names = t.span_labels(m);
    let name_width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "  {:>9} {:>9}  {:name_width$}  |{}|",
        "offset",
        "took",
        "span",
        legend(width)
    );
    for (s, name) in t.spans.iter().zip(&names) {
        let last = s.until(t.end);
        let bar: String = s
            .segments(last)
            .into_iter()
            .fold(vec![' '; width], |mut bar, (from, to, segment)| {
                let (a, b) = (col(from), col(to).max(col(from) + 1).min(width));
                for c in bar.iter_mut().take(b).skip(a) {
                    *c = glyph(segment);
                }
                bar
            })
            .into_iter()
            .collect();
        let _ = writeln!(
            out,
            "  {:>9} {:>9}  {name:name_width$}  |{bar}|  {}",
            format!("+{}", took(s.sent - t.start)),
            took(last - s.sent),
            s.end.label(),
        );
        for n in &s.notes {
            let what = n.kind.describe(m);
            let _ = writeln!(
                out,
                "  {:>9} {:>9}  {:name_width$}   · {what}",
                format!("+{}", took(n.at - t.start)),
                "",
                ""
            );
        }
    }
    if t.spans_dropped > 0 {
        let _ = writeln!(out, "  ({} more spans not kept)", t.spans_dropped);
    }
    out
}

fn glyph(segment: Segment) -> char {
    match segment {
        Segment::Network => '~',
        Segment::Queue => '.',
        Segment::Work => '#',
        Segment::Calls => '=',
    }
}

fn legend(width: usize) -> String {
    let text = "~ net  . queue  # work  = calls";
    if text.len() <= width {
        format!("{text:^width$}")
    } else {
        " ".repeat(width)
    }
}
