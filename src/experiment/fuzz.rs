//! The fuzz harness's core: mutants of models, and what one case must show.
//!
//! A case is a model's text, mutated the way people and tools break files: a number
//! changed to an extreme, a unit swapped, a name changed, a line deleted, duplicated or
//! moved, an indent shifted, random bytes, a YAML alias bomb. [`check_case`] reads it and,
//! when it reads, runs it for a bounded simulated time, twice. What must hold: the reader
//! refuses with a positioned error or the model runs; a run either ends or stops at one of
//! the model's limits; the engine's own end-of-run checks (every request and message ends
//! exactly once) pass; and the two runs are identical. A panic or an abort is caught by the
//! caller, which runs each case in a process of its own (`archsim fuzz`).
//!
//! Everything here is deterministic for a seed: the same seed gives the same mutants.

use std::sync::Arc;

use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model;
use crate::sim::{RunOptions, SimError, SimTime, Simulation};

/// The simulated time a case runs for at most: long enough for faults, retries and
/// autoscaling to act, short enough for thousands of cases an hour.
pub const CASE_SIM_TIME: SimTime = SimTime::from_secs(60);

/// The events a case's run may be estimated to need: a few seconds of computing.
pub const CASE_EVENTS: f64 = 2e7;

/// How a case ended, when it ended in the process that ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The reader refused the model, with positioned errors (as it must for a broken file).
    Refused,
    /// The model ran to its (bounded) end, the same twice.
    Ran,
    /// The run stopped at one of the model's limits, with the engine's message.
    Limited,
    /// Something that must never happen: an engine invariant broken, two runs of one seed
    /// that differ, or a refusal without a position.
    Broken(String),
}

/// Reads `text` as the file `name` and, if it reads, runs it twice for at most
/// [`CASE_SIM_TIME`].
#[must_use]
pub fn check_case(name: &str, text: &str) -> Outcome {
    let model = match model::parse(name, text) {
        Ok((m, _warnings)) => m,
        Err(d) => {
            if d.items.is_empty() {
                return Outcome::Broken("the reader refused the model without saying why".into());
            }
            if let Some(bad) = d.items.iter().find(|i| i.span.line == 0) {
                return Outcome::Broken(format!("an error without a position: {}", bad.message));
            }
            return Outcome::Refused;
        }
    };
    // A valid model may ask for days of computing (the reader warns); a case runs only as
    // much of it as CASE_EVENTS allow, which still reaches every mechanism it has.
    let events = model::effort::estimated_events(&model);
    let share = if events > CASE_EVENTS {
        CASE_EVENTS / events
    } else {
        1.0
    };
    let duration = SimTime::from_secs_f64(model.duration.as_secs_f64() * share)
        .min(CASE_SIM_TIME)
        .max(SimTime::from_millis(1));
    let model = Arc::new(model);
    let options = RunOptions {
        seed: None,
        duration: Some(duration),
        warmup: Some(SimTime::ZERO),
    };
    let first = Simulation::new(Arc::clone(&model), options).run();
    let second = Simulation::new(Arc::clone(&model), options).run();
    match (first, second) {
        (Ok(a), Ok(b)) => {
            if a.to_json() == b.to_json() {
                Outcome::Ran
            } else {
                Outcome::Broken("two runs of the same seed differ".into())
            }
        }
        (Err(SimError::Limit { message: a }), Err(SimError::Limit { message: b })) => {
            if a == b {
                Outcome::Limited
            } else {
                Outcome::Broken(format!(
                    "two runs of the same seed stopped differently: {a} / {b}"
                ))
            }
        }
        (Err(e @ SimError::Invariant { .. }), _) | (_, Err(e @ SimError::Invariant { .. })) => {
            Outcome::Broken(e.to_string())
        }
        (a, b) => Outcome::Broken(format!(
            "two runs of the same seed ended differently: {} / {}",
            ended(&a),
            ended(&b)
        )),
    }
}

fn ended<T>(r: &Result<T, SimError>) -> String {
    match r {
        Ok(_) => "ran".into(),
        Err(e) => e.to_string(),
    }
}

/// The mutants of one run of the harness, drawn from `seed`.
pub struct Mutator {
    rng: Xoshiro256PlusPlus,
}

/// What a mutation did, to name a case that broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutant {
    pub text: String,
    pub how: String,
}

/// Values that break naive code: zero, negatives, huge and tiny numbers, overflow.
const EXTREME_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "0.000001",
    "1000000000",
    "99999999999999999999999",
    "1e308",
    "NaN",
    "4294967296",
    "65536",
];

const UNITS: &[&str] = &[
    "ns", "us", "ms", "s", "m", "h", "d", "/s", "/ms", "/us", "/ns", "%", "x", "",
];

const ALIAS_BOMB: &str = "\
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
";

impl Mutator {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Mutator {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    fn below(&mut self, n: usize) -> usize {
        // n is small (lines of a model, entries of a table): the modulo bias is negligible
        // and the stream stays the same on every platform.
        let n = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.rng.next_u64() % n).unwrap_or(0)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    /// A random valid architecture at values near the edges of what is sensible: a chain
    /// of services behind an optional balancer, with caches, a database, an external API,
    /// a queue, deadlines, retries, breakers and faults that flap. The reader takes it; the
    /// run must still end cleanly, as the run of any valid model must.
    pub fn random_model(&mut self) -> String {
        use std::fmt::Write as _;
        let services = 1 + self.below(5);
        let rate = self.pick(&["1/s", "50/s", "400/s", "3000/s", "20000/s"]);
        let duration = self.pick(&["5s", "30s", "2m", "10m"]);
        let mut t = format!("duration: {duration}\nseed: {}\n", self.below(1000));
        let front = if self.below(2) == 0 { "lb" } else { "s0" };
        let timeout = self.pick(&["", ", timeout: 5ms", ", timeout: 1s", ", timeout: 30s"]);
        let _ = writeln!(
            t,
            "workloads:\n  - {{ name: users, target: {front}, rate: {rate}, request: get{timeout} }}"
        );
        t.push_str("components:\n");
        if front == "lb" {
            let policy = self.pick(&["round_robin", "least_connections", "random"]);
            let health = self.pick(&[
                "",
                ", health_check: { interval: 1ms, unhealthy: 1, healthy: 1 }",
                ", health_check: { interval: 1s, unhealthy: 2, healthy: 2 }",
            ]);
            let _ = writeln!(
                t,
                "  lb: {{ kind: load_balancer, policy: {policy}, backends: s0{health} }}"
            );
        }
        let extras = ["db", "cache", "api", "jobs"];
        let mut used: Vec<&str> = extras
            .iter()
            .copied()
            .filter(|_| self.below(2) == 0)
            .collect();
        if used.contains(&"cache") && !used.contains(&"db") {
            // A cache reads through to a store; any other component would make a cycle.
            used.insert(0, "db");
        }
        for i in 0..services {
            let workers = self.pick(&["1", "4", "64", "1000"]);
            let replicas = self.pick(&["1", "2", "7"]);
            let queue = self.pick(&["", ", queue: 0", ", queue: 1", ", queue: 500"]);
            let work = self.pick(&[
                "exp 1ms",
                "exp 20ms",
                "lognormal 5ms p99 200ms",
                "100us",
                "exp 2s",
            ]);
            let mut calls = Vec::new();
            if i + 1 < services {
                calls.push(format!("s{}", i + 1));
            }
            if i + 1 == services {
                calls.extend(
                    used.iter()
                        .filter(|e| **e != "jobs")
                        .map(|e| (*e).to_string()),
                );
            }
            let calls: Vec<String> = calls
                .into_iter()
                .map(|to| {
                    let protect = self.pick(&[
                        "",
                        ", timeout: 10ms",
                        ", timeout: 500ms, retry: { attempts: 5, backoff: exponential 1ms }",
                        ", timeout: 100ms, retry: { attempts: 3 }, breaker: { failures: 1, open_for: 1ms }",
                    ]);
                    format!("{{ to: {to}{protect} }}")
                })
                .collect();
            let mut calls = calls;
            if i == 0 && used.contains(&"jobs") {
                calls.push("{ to: jobs, request: job }".to_string());
            }
            let calls = if calls.is_empty() {
                String::new()
            } else {
                format!(", calls: [ {} ]", calls.join(", "))
            };
            let _ = writeln!(
                t,
                "  s{i}: {{ kind: service, workers: {workers}, replicas: {replicas}{queue}, handlers: {{ \"*\": {{ work: {work}{calls} }} }} }}"
            );
        }
        if used.contains(&"db") {
            t.push_str(
                "  db: { kind: database, workers: 8, handlers: { \"*\": { work: exp 2ms } } }\n",
            );
        }
        if used.contains(&"cache") {
            let hit = self.pick(&["0%", "50%", "100%", "99.9%"]);
            let _ = writeln!(
                t,
                "  cache: {{ kind: cache, latency: exp 300us, hit_ratio: {hit}, on_miss: {{ to: db }} }}"
            );
        }
        if used.contains(&"api") {
            let errors = self.pick(&["0%", "1%", "100%"]);
            let _ = writeln!(
                t,
                "  api: {{ kind: external, latency: lognormal 80ms p99 400ms, errors: {errors} }}"
            );
        }
        if used.contains(&"jobs") {
            t.push_str("  jobs: { kind: queue, latency: 1ms, consumers: worker }\n");
            t.push_str(
                "  worker: { kind: service, workers: 2, handlers: { job: { work: exp 50ms } } }\n",
            );
        }
        let faults = self.below(4);
        if faults > 0 {
            t.push_str("faults:\n");
            for _ in 0..faults {
                let target = format!("s{}", self.below(services));
                let fault = self.pick(&[
                    "crash: {t}",
                    "crash: {t}, replica: 0",
                    "slow: {t}, factor: 1000",
                    "error: {t}, fraction: 100%",
                    "crash: {t}, flap: { down: 1ms, up: 1ms }",
                    "pause: {t}",
                ]);
                let at = self.pick(&["0s", "1s", "2s"]);
                let mut span = self.pick(&["", ", for: 1ms", ", for: 2s"]);
                if fault.starts_with("pause") && span.is_empty() {
                    // A pause without an end is a crash; the reader asks for `for`.
                    span = ", for: 2s";
                }
                let _ = writeln!(
                    t,
                    "  - {{ at: {at}{span}, {} }}",
                    fault.replace("{t}", &target)
                );
            }
        }
        t
    }

    /// One to three mutations of `text`.
    pub fn mutate(&mut self, text: &str) -> Mutant {
        let mut text = text.to_string();
        let mut how = Vec::new();
        for _ in 0..=self.below(3) {
            how.push(self.mutate_once(&mut text));
        }
        Mutant {
            text,
            how: how.join("; "),
        }
    }

    fn mutate_once(&mut self, text: &mut String) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        let at = self.below(lines.len());
        let how = match self.below(10) {
            0..=2 => {
                let to = self.pick(EXTREME_NUMBERS);
                match replace_number(&lines[at], to, self.below(8)) {
                    Some(l) => {
                        lines[at] = l;
                        format!("line {}: a number became {to}", at + 1)
                    }
                    None => format!("line {}: no number to change", at + 1),
                }
            }
            3 => {
                let unit = self.pick(UNITS);
                match replace_unit(&lines[at], unit) {
                    Some(l) => {
                        lines[at] = l;
                        format!("line {}: a unit became `{unit}`", at + 1)
                    }
                    None => format!("line {}: no unit to change", at + 1),
                }
            }
            4 => {
                lines.remove(at);
                format!("line {} deleted", at + 1)
            }
            5 => {
                let copy = lines[at].clone();
                lines.insert(at, copy);
                format!("line {} duplicated", at + 1)
            }
            6 => {
                let other = self.below(lines.len());
                lines.swap(at, other);
                format!("lines {} and {} swapped", at + 1, other + 1)
            }
            7 => {
                let shift = if self.below(2) == 0 { "  " } else { "" };
                let line = lines[at].trim_start_matches(' ');
                let line = if shift.is_empty() && lines[at].starts_with("  ") {
                    lines[at][2..].to_string()
                } else {
                    format!("{shift}{line}")
                };
                lines[at] = line;
                format!("line {}: indent changed", at + 1)
            }
            8 => {
                let mut bytes = lines[at].clone().into_bytes();
                let n = 1 + self.below(6);
                for _ in 0..n {
                    let pos = self.below(bytes.len() + 1);
                    // Printable ASCII and the YAML indicators: bytes that reach the
                    // parser's every branch without making the text invalid UTF-8.
                    let b = b" !\"#$%&'*+,-./:;<=>?@[\\]^_`{|}~0123456789abcxyz\t"[self.below(47)];
                    bytes.insert(pos, b);
                }
                lines[at] = String::from_utf8_lossy(&bytes).into_owned();
                format!("line {}: {n} random bytes", at + 1)
            }
            _ => {
                if self.below(4) == 0 {
                    lines.splice(0..0, ALIAS_BOMB.lines().map(str::to_string));
                    "an alias bomb at the top".to_string()
                } else {
                    let names = names_in(&lines);
                    if names.len() < 2 {
                        "no names to swap".to_string()
                    } else {
                        let from = names[self.below(names.len())].clone();
                        let to = names[self.below(names.len())].clone();
                        lines[at] = replace_word(&lines[at], &from, &to);
                        format!("line {}: `{from}` became `{to}`", at + 1)
                    }
                }
            }
        };
        *text = lines.join("\n");
        text.push('\n');
        how
    }
}

/// `line` with its `nth` number (counting from the first, wrapping) replaced by `to`.
fn replace_number(line: &str, to: &str, nth: usize) -> Option<String> {
    if line.trim_start().starts_with('#') {
        return None;
    }
    let bytes = line.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            spans.push(start..i);
        } else {
            i += 1;
        }
    }
    let span = spans.get(nth % spans.len().max(1))?.clone();
    Some(format!("{}{to}{}", &line[..span.start], &line[span.end..]))
}

/// `line` with the unit after its first number replaced by `unit`.
fn replace_unit(line: &str, unit: &str) -> Option<String> {
    if line.trim_start().starts_with('#') {
        return None;
    }
    let bytes = line.as_bytes();
    let first_digit = bytes.iter().position(u8::is_ascii_digit)?;
    let mut i = first_digit;
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    let mut end = i;
    while end < bytes.len() && (bytes[end].is_ascii_alphabetic() || b"/%".contains(&bytes[end])) {
        end += 1;
    }
    Some(format!("{}{unit}{}", &line[..i], &line[end..]))
}

/// The names a model's lines define: keys that start a line.
fn names_in(lines: &[String]) -> Vec<String> {
    let mut names: Vec<String> = lines
        .iter()
        .filter_map(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            let (key, _) = t.split_once(':')?;
            (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then(|| key.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn replace_word(line: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(from) {
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        let after = &rest[i + from.len()..];
        let after_ok = after
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        out.push_str(&rest[..i]);
        out.push_str(if before_ok && after_ok { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutants() {
        let text = include_str!("../../models/default.yaml");
        let a: Vec<Mutant> = {
            let mut m = Mutator::new(7);
            (0..50).map(|_| m.mutate(text)).collect()
        };
        let mut m = Mutator::new(7);
        let b: Vec<Mutant> = (0..50).map(|_| m.mutate(text)).collect();
        assert_eq!(a, b);
        assert!(a.iter().filter(|m| m.text != text).count() > 40);
    }

    #[test]
    fn random_models_are_valid() {
        let mut m = Mutator::new(3);
        for _ in 0..200 {
            let text = m.random_model();
            if let Err(d) = model::parse("random.yaml", &text) {
                panic!("{text}\n{d:?}");
            }
        }
    }

    #[test]
    fn numbers_units_and_names_are_replaced_where_they_are() {
        assert_eq!(
            replace_number("  rate: 300/s, timeout: 3s", "0", 1).as_deref(),
            Some("  rate: 300/s, timeout: 0s")
        );
        assert_eq!(
            replace_unit("  latency: exp 300us", "h").as_deref(),
            Some("  latency: exp 300h")
        );
        assert_eq!(
            replace_word("to: db, dbx: db", "db", "web"),
            "to: web, dbx: web"
        );
    }

    #[test]
    fn a_bundled_model_runs_and_a_broken_one_is_refused() {
        let text = include_str!("../../models/default.yaml");
        assert_eq!(check_case("default.yaml", text), Outcome::Ran);
        assert_eq!(
            check_case("broken.yaml", "components: { a: { kind: nonsense } }\n"),
            Outcome::Refused
        );
    }
}
