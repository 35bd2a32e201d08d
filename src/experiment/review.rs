//! The review: one self-contained HTML page about a model, for an architecture review.
//!
//! It holds the architecture diagram, the key figures of a run, plots over simulated time
//! with the faults marked, the resiliency matrix and the SLO verdicts. Everything is inline
//! (pictures as SVG, style in the page), so the file opens offline in any browser and can
//! be attached to a review as it is. Must never: refer to a network address, a font, a
//! script or a stylesheet outside the file; print a date or anything else that would make
//! two reviews of the same run differ.

use std::fmt::Write as _;

use super::chart::{Chart, Marker, Series, Unit, escape};
use super::matrix::Matrix;
use super::slo::CheckOutcome;
use std::sync::Arc;

use crate::model::{Fault, Model};
use crate::observe::Report;
use crate::observe::explain::explain;
use crate::observe::trace::Trace;
use crate::observe::waterfall::waterfall;

/// What a review shows besides the run itself.
pub struct Review<'a> {
    pub model: &'a Model,
    /// The model's file, as the reader should find it.
    pub file: &'a str,
    /// The scenario the run shows, when not the model as written.
    pub scenario: Option<&'a str>,
    /// The run whose figures and plots are shown.
    pub report: &'a Report,
    pub matrix: Option<&'a Matrix>,
    /// `None` when the model declares no SLOs.
    pub check: Option<&'a CheckOutcome>,
    /// The requests the run kept traces of, and the faults it applied: the slowest and a
    /// failed request of each flow are shown with their waterfalls.
    pub traces: &'a [Arc<Trace>],
    pub faults: &'a [Fault],
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif;
       margin: 0 auto; max-width: 1180px; padding: 0 24px 40px; color: #1d1d1f; }
h1 { font-size: 26px; margin: 28px 0 4px; }
h2 { font-size: 19px; margin: 34px 0 8px; border-bottom: 1px solid #dddddd; padding-bottom: 4px; }
p.meta { color: #555555; margin: 0 0 8px; }
nav a { margin-right: 14px; color: #0b5cad; text-decoration: none; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e6e6e6; text-align: right; }
th { background: #f3f3f3; }
td.name, th.name { text-align: left; }
tr.broken td { background: #fbe3e3; color: #8a1020; }
tr.holds td.verdict { color: #1b5e20; }
.figure { overflow-x: auto; margin: 8px 0 18px; }
.plots { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 18px; }
pre { font-size: 12px; background: #f8f8f8; padding: 8px; overflow-x: auto; }
h3 { font-size: 15px; margin: 18px 0 4px; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
";

impl Review<'_> {
    /// The page.
    #[must_use]
    pub fn to_html(&self) -> String {
        let title = self.model.name.as_deref().unwrap_or(self.file);
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{} — archsim review</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
            escape(title)
        );
        let r = self.report;
        let (under, mut flag) = match self.scenario {
            Some(s) => (
                format!(" · figures and plots under scenario <b>{}</b>", escape(s)),
                format!(" --scenario {}", escape(s)),
            ),
            None => (String::new(), String::new()),
        };
        // The run's length and warm-up when the command line changed the model's.
        if (r.duration_s - self.model.duration.as_secs_f64()).abs() > 1e-9 {
            let _ = write!(flag, " --duration {}s", r.duration_s);
        }
        if (r.warmup_s - self.model.warmup.as_secs_f64()).abs() > 1e-9 {
            let _ = write!(flag, " --warmup {}s", r.warmup_s);
        }
        let _ = writeln!(
            out,
            "<h1>{}</h1>\n<p class=\"meta\">Model <code>{}</code> · seed {} · {} s simulated, \
             the first {} s left out of the figures as warm-up{under} · archsim {}</p>\n\
             <p class=\"meta\">Reproduce with <code>archsim report {}{flag} --seed {}</code>.</p>",
            escape(title),
            escape(self.file),
            r.seed,
            trim(r.duration_s),
            trim(r.warmup_s),
            env!("CARGO_PKG_VERSION"),
            escape(self.file),
            r.seed
        );
        out.push_str(
            "<nav><a href=\"#architecture\">Architecture</a><a href=\"#figures\">Key figures</a>\
             <a href=\"#plots\">Over time</a><a href=\"#requests\">Requests</a>\
             <a href=\"#events\">Events</a>\
             <a href=\"#matrix\">Resiliency matrix</a><a href=\"#slos\">SLOs</a></nav>\n",
        );
        self.architecture(&mut out);
        self.figures(&mut out);
        self.plots(&mut out);
        self.requests(&mut out);
        self.events(&mut out);
        self.matrix(&mut out);
        self.slos(&mut out);
        out.push_str("</body>\n</html>\n");
        out
    }

    fn architecture(&self, out: &mut String) {
        out.push_str(
            "<section id=\"architecture\">\n<h2>Architecture</h2>\n\
             <p class=\"meta\">Requests flow left to right, from the clients to the data. \
             Figures under each service are from the run below; a large architecture is \
             scaled to the page (zoom in to read it).</p>\n<div class=\"figure\">\n",
        );
        out.push_str(&super::diagram::diagram_svg(self.model, self.report));
        out.push_str("</div>\n</section>\n");
    }

    fn figures(&self, out: &mut String) {
        let r = self.report;
        out.push_str("<section id=\"figures\">\n<h2>Key figures</h2>\n");
        let _ = writeln!(
            out,
            "<p class=\"meta\">Over the whole run: {} requests generated, {} answered in full, \
             {} answered by a fallback, {} failed, {} still in flight at the end. \
             The tables cover requests that started after the warm-up.</p>",
            r.totals.generated,
            r.totals.ok,
            r.totals.ok_degraded,
            r.totals.failed,
            r.totals.in_flight
        );
        out.push_str(
            "<table>\n<tr><th class=\"name\">user flow</th><th>requests</th><th>availability</th>\
             <th>answered/s</th><th>mean</th><th>p50</th><th>p99</th><th>p99.9</th>\
             <th class=\"name\">failed by cause</th></tr>\n",
        );
        let ms = |v: Option<f64>| v.map_or("–".to_string(), |s| Unit::Seconds.format(s));
        for (flow, q) in &r.requests {
            let answered = q.ok + q.ok_degraded;
            let ended = answered + q.failed;
            let availability = if ended > 0 {
                Unit::Fraction.format(answered as f64 / ended as f64)
            } else {
                "–".to_string()
            };
            let causes: Vec<String> = q
                .failed_by_cause
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "<tr><td class=\"name\">{}</td><td>{}</td><td>{availability}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"name\">{}</td></tr>",
                escape(flow),
                q.count,
                trim(q.throughput_per_s),
                ms(q.latency_s.mean),
                ms(q.latency_s.p50),
                ms(q.latency_s.p99),
                ms(q.latency_s.p999),
                escape(&causes.join(", "))
            );
        }
        out.push_str("</table>\n");
        out.push_str(
            "<table>\n<tr><th class=\"name\">component</th><th class=\"name\">kind</th>\
             <th>replicas</th><th>done/s</th><th>utilisation</th><th>mean queue</th>\
             <th>rejected</th><th>retries sent</th><th>response mean</th><th>response p99</th></tr>\n",
        );
        for (name, c) in &r.components {
            let _ = writeln!(
                out,
                "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(name),
                escape(&c.kind),
                c.replicas,
                trim(c.throughput_per_s),
                c.utilization
                    .map_or("–".to_string(), |u| Unit::Fraction.format(u)),
                c.queue_mean.map_or("–".to_string(), trim),
                c.rejected,
                c.retries_sent,
                ms(c.response_s.mean),
                ms(c.response_s.p99)
            );
        }
        out.push_str("</table>\n</section>\n");
    }

    /// Per user flow, its slowest kept request and its first kept failure of the cause that
    /// failed it most, each with its explanation and waterfall.
    fn requests(&self, out: &mut String) {
        out.push_str(
            "<section id=\"requests\">\n<h2>Requests</h2>\n<p class=\"meta\">One request \
             of each flow as it went: its slowest, and its first failure of the cause that \
             failed it most. Bars: <code>~</code> network, <code>.</code> queue wait, \
             <code>#</code> work, <code>=</code> waiting for its calls. More with \
             <code>archsim trace</code>.</p>\n",
        );
        let mut any = false;
        for (i, flow) in self.model.request_types.iter().enumerate() {
            let of_flow = || {
                self.traces
                    .iter()
                    .filter(move |t| t.request_type as usize == i)
            };
            let slowest = of_flow().max_by_key(|t| (t.latency(), std::cmp::Reverse(t.serial)));
            let worst_cause = self.report.requests.get(flow).and_then(|q| {
                q.failed_by_cause
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .max_by_key(|(c, n)| (**n, std::cmp::Reverse(c.as_str())))
                    .map(|(c, _)| c.clone())
            });
            let failed = worst_cause.and_then(|cause| {
                of_flow()
                    .filter(|t| t.outcome.is_err_and(|c| c.as_str() == cause))
                    .min_by_key(|t| t.serial)
            });
            for (what, trace) in [("slowest", slowest), ("first failed", failed)] {
                let Some(t) = trace else {
                    continue;
                };
                if what == "slowest"
                    && t.outcome.is_err()
                    && failed.is_some_and(|f| f.serial == t.serial)
                {
                    continue;
                }
                any = true;
                let why = explain(t, self.model, Some(&self.report.series), self.faults);
                let _ = writeln!(
                    out,
                    "<h3>{} · {what}</h3>\n<pre>{}</pre>",
                    escape(flow),
                    escape(&waterfall(t, self.model, &why, 60))
                );
            }
        }
        if !any {
            out.push_str("<p class=\"meta\">No request was traced.</p>\n");
        }
        out.push_str("</section>\n");
    }

    fn markers(&self) -> Vec<Marker> {
        let mut markers = Vec::new();
        if self.report.warmup_s > 0.0 {
            markers.push(Marker {
                x: self.report.warmup_s,
                label: "end of warm-up".to_string(),
                colour: "#9e9e9e".to_string(),
            });
        }
        markers.extend(self.report.events.iter().map(|e| Marker {
            x: e.t_s,
            label: e.message.clone(),
            colour: event_colour(&e.kind).to_string(),
        }));
        markers
    }

    fn plots(&self, out: &mut String) {
        let s = &self.report.series;
        let markers = self.markers();
        let over_time = |values: &[Option<f64>]| -> Vec<(f64, Option<f64>, Option<f64>)> {
            s.t_s
                .iter()
                .zip(values)
                .map(|(t, v)| (*t, *v, None))
                .collect()
        };
        let always =
            |values: &[f64]| -> Vec<Option<f64>> { values.iter().map(|v| Some(*v)).collect() };
        let chart = |title: &str, unit: Unit, series: Vec<Series>| Chart {
            title: title.to_string(),
            x_label: "simulated time (s)".to_string(),
            x_unit: Unit::Plain,
            y_unit: unit,
            x_names: None,
            series,
            markers: markers.clone(),
        };
        let mut charts = vec![
            chart(
                "Answered and failed requests per second",
                Unit::Plain,
                vec![
                    Series {
                        label: "answered/s".to_string(),
                        points: over_time(&always(&s.throughput_per_s)),
                    },
                    Series {
                        label: "failed/s".to_string(),
                        points: over_time(&always(&s.failed_per_s)),
                    },
                ],
            ),
            chart(
                "Latency of answered requests",
                Unit::Seconds,
                vec![
                    Series {
                        label: "p50".to_string(),
                        points: over_time(&s.latency_p50_s),
                    },
                    Series {
                        label: "p99".to_string(),
                        points: over_time(&s.latency_p99_s),
                    },
                ],
            ),
            chart(
                "Availability by user flow",
                Unit::Fraction,
                s.requests
                    .iter()
                    .map(|(flow, q)| Series {
                        label: flow.clone(),
                        points: over_time(&q.availability),
                    })
                    .collect(),
            ),
        ];
        if !s.failed_by_cause.is_empty() {
            charts.push(chart(
                "Failures per second by cause",
                Unit::Plain,
                s.failed_by_cause
                    .iter()
                    .map(|(cause, v)| Series {
                        label: cause.clone(),
                        points: over_time(&always(v)),
                    })
                    .collect(),
            ));
        }
        let services: Vec<(&String, &crate::observe::report::ComponentSeries)> = s
            .components
            .iter()
            .filter(|(_, c)| c.utilization.iter().any(Option::is_some))
            .collect();
        charts.push(chart(
            "Utilisation of each service",
            Unit::Fraction,
            services
                .iter()
                .map(|(name, c)| Series {
                    label: (*name).clone(),
                    points: over_time(&c.utilization),
                })
                .collect(),
        ));
        charts.push(chart(
            "Mean queue of each service (requests)",
            Unit::Plain,
            services
                .iter()
                .map(|(name, c)| Series {
                    label: (*name).clone(),
                    points: over_time(&c.queue_mean),
                })
                .collect(),
        ));
        let _ = writeln!(
            out,
            "<section id=\"plots\">\n<h2>Over time</h2>\n<p class=\"meta\">Buckets of {} s. \
             Dashed lines mark events: <span style=\"color:#c62828\">faults</span>, \
             <span style=\"color:#2e7d32\">recoveries</span>, and \
             <span style=\"color:#757575\">the end of the warm-up and other moments</span>.</p>\n\
             <div class=\"plots\">",
            trim(s.bucket_s)
        );
        for c in &charts {
            let _ = writeln!(
                out,
                "<div class=\"figure\">{}</div>",
                c.to_svg(0.0, 0.0, 560.0, 330.0)
            );
        }
        out.push_str("</div>\n</section>\n");
    }

    fn events(&self, out: &mut String) {
        out.push_str("<section id=\"events\">\n<h2>Events</h2>\n");
        let events = &self.report.events;
        if events.is_empty() {
            out.push_str("<p class=\"meta\">Nothing happened worth a marker: no faults, failovers or breaker trips.</p>\n");
        } else {
            out.push_str("<table>\n<tr><th>time</th><th class=\"name\">kind</th><th class=\"name\">what</th></tr>\n");
            for e in events {
                let _ = writeln!(
                    out,
                    "<tr><td>{} s</td><td class=\"name\" style=\"color:{}\">{}</td><td class=\"name\">{}</td></tr>",
                    trim(e.t_s),
                    event_colour(&e.kind),
                    escape(&e.kind),
                    escape(&e.message)
                );
            }
            out.push_str("</table>\n");
        }
        if !self.report.recoveries.is_empty() {
            out.push_str("<table>\n<tr><th class=\"name\">after</th><th>fault ended</th><th>back to normal</th></tr>\n");
            for rec in &self.report.recoveries {
                let _ = writeln!(
                    out,
                    "<tr><td class=\"name\">{}</td><td>{} s</td><td>{}</td></tr>",
                    escape(&rec.after),
                    trim(rec.ended_s),
                    rec.recovered_s
                        .map_or("not before the end".to_string(), |t| format!(
                            "{} s",
                            trim(t)
                        ))
                );
            }
            out.push_str("</table>\n");
        }
        out.push_str("</section>\n");
    }

    fn matrix(&self, out: &mut String) {
        out.push_str("<section id=\"matrix\">\n<h2>Resiliency matrix</h2>\n");
        match self.matrix {
            Some(mx) => {
                let _ = writeln!(
                    out,
                    "<p class=\"meta\">Each row is a run in which one component fails ({}) for the \
                     whole run; each cell is what a user flow saw: availability and p99 latency, \
                     judged against the SLOs that apply everywhere.</p>",
                    escape(&mx.fault)
                );
                out.push_str("<div class=\"figure\">\n");
                // Inline SVG in HTML needs no namespace; leaving it out keeps every address
                // out of the page.
                out.push_str(
                    &mx.to_svg()
                        .replace(" xmlns=\"http://www.w3.org/2000/svg\"", ""),
                );
                out.push_str("</div>\n");
            }
            None => out.push_str("<p class=\"meta\">Not computed.</p>\n"),
        }
        out.push_str("</section>\n");
    }

    fn slos(&self, out: &mut String) {
        out.push_str("<section id=\"slos\">\n<h2>SLO verdicts</h2>\n");
        match self.check {
            None => out.push_str(
                "<p class=\"meta\">The model declares no SLOs: add <code>slos:</code> to judge it.</p>\n",
            ),
            Some(c) => {
                let broken = c.breaches().len();
                let _ = writeln!(
                    out,
                    "<p class=\"meta\">{} of {} bounds hold, judged on the mean of {} run{} per \
                     scenario (seeds {}).</p>",
                    c.verdicts.len() - broken,
                    c.verdicts.len(),
                    c.replications,
                    if c.replications == 1 { "" } else { "s" },
                    c.seeds
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                out.push_str(
                    "<table>\n<tr><th class=\"name\">verdict</th><th class=\"name\">objective</th>\
                     <th class=\"name\">under</th><th>measured</th><th class=\"name\">written at</th></tr>\n",
                );
                for v in &c.verdicts {
                    let _ = writeln!(
                        out,
                        "<tr class=\"{}\"><td class=\"name verdict\">{}</td><td class=\"name\">{}</td>\
                         <td class=\"name\">{}</td><td>{}</td><td class=\"name\">line {}</td></tr>",
                        if v.holds { "holds" } else { "broken" },
                        if v.holds { "holds" } else { "BROKEN" },
                        escape(&v.objective()),
                        escape(&v.under),
                        escape(&v.measured_text()),
                        escape(&v.at)
                    );
                }
                out.push_str("</table>\n");
            }
        }
        out.push_str("</section>\n");
    }
}

fn event_colour(kind: &str) -> &'static str {
    match kind {
        "fault" => "#c62828",
        "recovery" => "#2e7d32",
        _ => "#757575",
    }
}

pub(super) fn trim(v: f64) -> String {
    Unit::Plain.format(v)
}
