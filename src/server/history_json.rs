//! The history extension of the interactive port: `/<cluster>/<host>/<metric>?history=RANGE`
//! for a host metric, `/<cluster>?history=RANGE&metric=NAME` for a cluster summary, and
//! `/?history=RANGE&metric=NAME` for the grid's. The answer is JSON (documented in
//! docs/aggregator.md).

use serde_json::{Value, json};

use super::query::Query;
use crate::history::{HistoryStore, Range, Series, SummaryValue};

fn points(s: &Series) -> Value {
    let pts: Vec<Value> = s
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let t = s.start + i as u64 * u64::from(s.step);
            match p {
                // f32 is what is stored; printing it as such gives the shortest exact text.
                Some(p) => json!([t, p.avg as f32, p.min as f32, p.max as f32]),
                None => json!([t, null, null, null]),
            }
        })
        .collect();
    Value::Array(pts)
}

/// The JSON answer and whether it is an error.
pub fn answer(
    q: &Query,
    history: Option<&HistoryStore>,
    grid_name: &str,
    now: u64,
) -> (bool, String) {
    let err = |msg: String| (true, json!({ "error": msg }).to_string());
    let Some(range_text) = &q.history else {
        return err("no history range".into());
    };
    let range: Range = match range_text.parse() {
        Ok(r) => r,
        Err(e) => return err(e),
    };
    let Some(h) = history else {
        return err("this aggregator keeps no history (started with --no-history)".into());
    };
    let body = match q.path.as_slice() {
        [cluster, host, metric] => h.host_series(cluster, host, metric, range, now).map(|s| {
            json!({ "cluster": cluster, "host": host, "metric": metric, "range": range.as_str(),
                    "start": s.start, "step": s.step, "columns": ["time", "avg", "min", "max"], "points": points(&s) })
        }),
        [cluster] => {
            let Some(metric) = &q.metric else {
                return err("a cluster's history needs &metric=NAME".into());
            };
            summary(h, &format!("cluster:{cluster}"), metric, range, now)
        }
        [] => {
            let Some(metric) = &q.metric else {
                return err("the grid's history needs &metric=NAME".into());
            };
            summary(h, &format!("grid:{grid_name}"), metric, range, now)
        }
        _ => return err("history paths are /CLUSTER/HOST/METRIC, /CLUSTER or /".into()),
    };
    match body {
        Some(v) => (false, v.to_string()),
        None => err(format!(
            "no history for {}",
            if q.path.is_empty() {
                "/".to_string()
            } else {
                format!("/{}", q.path.join("/"))
            }
        )),
    }
}

fn summary(h: &HistoryStore, scope: &str, metric: &str, range: Range, now: u64) -> Option<Value> {
    let sum = h.summary_series(scope, metric, SummaryValue::Sum, range, now)?;
    let num = h.summary_series(scope, metric, SummaryValue::Num, range, now);
    Some(json!({
        "scope": scope, "metric": metric, "range": range.as_str(),
        "start": sum.start, "step": sum.step, "columns": ["time", "avg", "min", "max"],
        "sum": points(&sum),
        "num": num.as_ref().map(points),
    }))
}
