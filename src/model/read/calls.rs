//! Reads a handler's calls, step by step (`parallel` groups included), with their
//! protections: timeout, retry policy and budget, circuit breaker, bulkhead, hedge and
//! fallback, falling back to the calling service's defaults.

use crate::model::units::{parse_duration, parse_fraction};
use crate::model::yaml::{Node, NodeKind};
use crate::model::{
    Backoff, Breaker, Call, Cause, ErrorRate, Jitter, Retry, RetryBudget, Step, schema,
};
use crate::shared::time::SimTime;

use super::Reader;
use super::values::entries;

/// The longest wait between retries when the model does not say.
pub(super) const DEFAULT_MAX_BACKOFF: SimTime = SimTime::from_secs(10);

impl Reader {
    pub(super) fn steps(&mut self, node: &Node, what: &str) -> Option<Vec<Step>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.error_hint(
                node.span,
                format!("the calls of {what} should be a list, not {}", node.shape()),
                "write `calls: [ { to: db } ]`",
            );
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            let is_parallel = entries(item)
                .iter()
                .any(|(k, _)| k.as_scalar() == Some("parallel"));
            let step = if is_parallel {
                self.fields(item, "a parallel step", schema::PARALLEL)
                    .and_then(|f| {
                        let list = f.get("parallel")?;
                        let NodeKind::Seq(calls) = &list.kind else {
                            self.error(list.span, "`parallel` should be a list of calls");
                            return None;
                        };
                        if calls.is_empty() {
                            self.error(list.span, "`parallel` has no calls");
                            return None;
                        }
                        let parsed: Vec<Call> = calls.iter().filter_map(|c| self.call(c)).collect();
                        (parsed.len() == calls.len()).then_some(Step::Parallel(parsed))
                    })
            } else {
                self.call(item).map(Step::Call)
            };
            match step {
                Some(s) => out.push(s),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    pub(super) fn call(&mut self, node: &Node) -> Option<Call> {
        if entries(node)
            .iter()
            .any(|(k, _)| k.as_scalar() == Some("parallel"))
        {
            self.error_hint(
                node.span,
                "a parallel step cannot be nested in another",
                "each branch of `parallel` is one call; put further fan-out in the called component's handler",
            );
            return None;
        }
        let f = self.fields(node, "a call", schema::CALL)?;
        let to_node = f.get("to")?;
        let to = self.component_ref(to_node, "`to`");
        let request = match f.get("request") {
            None => Some(None),
            Some(n) => self.request_type_ref(n, "`request`").map(Some),
        };
        let (default_timeout, default_retry, default_breaker) = self.call_defaults.clone();
        let breaker = match f.get("breaker") {
            None => Some(default_breaker),
            Some(n) => self.breaker(n).map(Some),
        };
        let timeout = match f.get("timeout") {
            None => Some(default_timeout),
            Some(n) => self.positive_duration(n, "timeout").map(Some),
        };
        let concurrency = match f.get("concurrency") {
            None => Some(None),
            Some(n) => self.int_u32(n, "concurrency", 1).map(Some),
        };
        let hedge = match f.get("hedge") {
            None => Some(None),
            Some(n) => self.positive_duration(n, "hedge").map(Some),
        };
        let fallback = f
            .get("fallback")
            .map_or(Some(false), |n| self.boolean(n, "fallback"));
        let idempotent = match f.get("idempotent") {
            None => Some(true),
            Some(n) => self.boolean(n, "idempotent"),
        };
        let retry = match f.get("retry") {
            None => Some(default_retry),
            Some(n) => {
                let r = self.retry(n);
                if idempotent == Some(false) {
                    self.error_hint(
                        n.span,
                        "this call has a retry policy but is marked `idempotent: false`",
                        "retrying a non-idempotent call can apply it twice; remove one of the two",
                    );
                    return None;
                }
                r.map(Some)
            }
        };
        Some(Call {
            to: to?,
            request: request?,
            timeout: timeout?,
            // A non-idempotent call is never retried, whatever its service's default.
            retry: if idempotent? { retry? } else { None },
            breaker: breaker?,
            fallback: fallback?,
            hedge: hedge?,
            concurrency: concurrency?,
            idempotent: idempotent?,
            span: to_node.span,
        })
    }

    pub(super) fn breaker(&mut self, node: &Node) -> Option<Breaker> {
        let f = self.fields(node, "a circuit breaker", schema::BREAKER)?;
        let failures = f
            .get("failures")
            .map_or(Some(u32::MAX), |n| self.int_u32(n, "failures", 1));
        let error_rate = match f.get("error_rate") {
            None => Some(None),
            Some(n) => {
                let threshold = self.parsed(n, "error_rate", parse_fraction);
                let window = f.get("window").map_or(Some(SimTime::from_secs(10)), |w| {
                    self.positive_duration(w, "window")
                });
                let min_calls = f
                    .get("min_calls")
                    .map_or(Some(20), |m| self.int_u32(m, "min_calls", 1));
                match (threshold, window, min_calls) {
                    (Some(threshold), Some(window), Some(min_calls)) => Some(Some(ErrorRate {
                        threshold,
                        window,
                        min_calls,
                    })),
                    _ => None,
                }
            }
        };
        if f.get("failures").is_none() && f.get("error_rate").is_none() {
            self.error_hint(
                f.span,
                "a circuit breaker needs `failures`, `error_rate` or both",
                "add `failures: 5` (in a row) or `error_rate: 50%` (over a window)",
            );
            return None;
        }
        for key in ["window", "min_calls"] {
            if f.get(key).is_some() && f.get("error_rate").is_none() {
                self.error(
                    f.key_span(key),
                    format!("`{key}` belongs with `error_rate`"),
                );
            }
        }
        let open_for = f.get("open_for").map_or(Some(SimTime::from_secs(10)), |n| {
            self.positive_duration(n, "open_for")
        });
        let probes = f
            .get("probes")
            .map_or(Some(1), |n| self.int_u32(n, "probes", 1));
        Some(Breaker {
            failures: failures?,
            error_rate: error_rate?,
            open_for: open_for?,
            probes: probes?,
        })
    }

    pub(super) fn retry(&mut self, node: &Node) -> Option<Retry> {
        let f = self.fields(node, "a retry policy", schema::RETRY)?;
        let attempts = f.get("attempts").and_then(|n| {
            let a = self.int_u32(n, "attempts", 1)?;
            if a > 100 {
                self.error_hint(
                    n.span,
                    format!("attempts: {a} is more than 100"),
                    "every retry multiplies load; real clients use a handful",
                );
                return None;
            }
            Some(a)
        });
        let backoff = match f.get("backoff") {
            None => Some((Backoff::Constant, SimTime::ZERO)),
            Some(n) => self.parsed(n, "backoff", |t| {
                let (kind, base) = t.trim().split_once(' ').ok_or_else(|| {
                    format!("`{t}`: write `constant 10ms`, `exponential 50ms` or `decorrelated 50ms`")
                })?;
                let kind = match kind {
                    "constant" => Backoff::Constant,
                    "exponential" => Backoff::Exponential,
                    "decorrelated" => Backoff::Decorrelated,
                    other => {
                        return Err(format!(
                            "unknown backoff `{other}`; write `constant 10ms`, `exponential 50ms` or `decorrelated 50ms`"
                        ));
                    }
                };
                Ok((kind, parse_duration(base)?))
            }),
        };
        let max_backoff = f.get("max_backoff").map_or(Some(DEFAULT_MAX_BACKOFF), |n| {
            self.duration(n, "max_backoff")
        });
        let jitter = match f.get("jitter") {
            None => Some(Jitter::None),
            Some(n) => self.choice(n, "jitter", schema::JITTERS).map(|j| match j {
                "full" => Jitter::Full,
                "equal" => Jitter::Equal,
                _ => Jitter::None,
            }),
        };
        let on = match f.get("on") {
            None => Some([true; 5]),
            Some(n) => {
                let NodeKind::Seq(items) = &n.kind else {
                    self.error_hint(
                        n.span,
                        "`on` should be a list of causes",
                        "write `on: [timeout, unavailable]`",
                    );
                    return None;
                };
                let mut on = [false; 5];
                let mut ok = true;
                for item in items {
                    match self
                        .choice(item, "on", schema::CAUSES)
                        .and_then(Cause::parse)
                    {
                        Some(c) => on[c.index()] = true,
                        None => ok = false,
                    }
                }
                ok.then_some(on)
            }
        };
        let ratio = match f.get("budget") {
            None => Some(None),
            Some(n) => self.parsed(n, "budget", parse_fraction).map(Some),
        };
        let burst = f
            .get("burst")
            .map_or(Some(10), |n| self.int_u32(n, "burst", 1));
        if f.get("burst").is_some() && f.get("budget").is_none() {
            self.error_hint(
                f.key_span("burst"),
                "`burst` needs a `budget`",
                "add `budget: 10%`, or remove `burst`",
            );
        }
        let budget = match (ratio?, burst?) {
            (Some(ratio), burst) => Some(RetryBudget {
                ratio,
                burst: f64::from(burst),
            }),
            (None, _) => None,
        };
        let (backoff, base) = backoff?;
        Some(Retry {
            budget,
            attempts: attempts?,
            backoff,
            base,
            max_backoff: max_backoff?,
            jitter: jitter?,
            on: on?,
        })
    }
}
