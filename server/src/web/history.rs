//! Latest figures and history for charts: `/api/stats`, `/api/history`, `/api/network_graph`.

use lanstat_http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::Web;
use super::input::{Field, Text};
use super::{ApiError, Call};
use crate::clock;
use crate::domain::history::{Chart as Points, WindowSpec};
use crate::model::HistoryPoint;

/// `GET /api/stats/<id>`: the newest sample (the original's columns and ours) with the
/// agent's full answer under `detail` (every disk, interface and sensor).
pub fn latest(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    let newest = app.history.newest(call.id())?;
    let mut body =
        serde_json::to_value(&newest.sample).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["detail"] = match &newest.answer {
        Some(info) => serde_json::to_value(&**info).unwrap_or(serde_json::Value::Null),
        None => serde_json::Value::Null,
    };
    Ok(Response::json(StatusCode::OK, &body))
}

/// `GET /api/history/<id>?range=24h`: bucketed averages (with min/max) for every chart.
pub fn history(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    chart(app, call, |points| Series { points })
}

#[derive(Serialize)]
struct Series {
    points: Vec<HistoryPoint>,
}

/// `GET /api/network_graph/<id>`: the original 24-hour network chart's data, sent and
/// received per second on one time axis (`range` and `from`/`to` work here too).
pub fn network_graph(app: &Web, call: &mut Call) -> Result<Response, ApiError> {
    chart(app, call, |pts| {
        let column = |f: fn(&HistoryPoint) -> Option<f64>| pts.iter().map(f).collect();
        NetworkSeries {
            labels: pts.iter().map(|p| clock::iso8601(p.timestamp)).collect(),
            timestamps: pts.iter().map(|p| p.timestamp).collect(),
            sent: column(|p| p.network_sent_per_sec),
            recv: column(|p| p.network_recv_per_sec),
            sent_max: column(|p| p.network_sent_per_sec_max),
            recv_max: column(|p| p.network_recv_per_sec_max),
        }
    })
}

/// The original's `labels`, `sent` and `recv`, and ours.
#[derive(Serialize)]
struct NetworkSeries {
    labels: Vec<String>,
    timestamps: Vec<i64>,
    sent: Vec<Option<f64>>,
    recv: Vec<Option<f64>>,
    sent_max: Vec<Option<f64>>,
    recv_max: Vec<Option<f64>>,
}

/// A chart's answer: the window and tier it covers, then its data's own fields.
#[derive(Serialize)]
struct Chart<'a, D> {
    computer_id: i64,
    range: &'a str,
    from: i64,
    to: i64,
    step: i64,
    tier: &'static str,
    #[serde(flatten)]
    data: D,
}

/// `range=24h`, or `from=…&to=…` (unix seconds), or the original's `hours=N`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WindowQuery {
    range: Field<Text>,
    from: Field<Text>,
    to: Field<Text>,
    hours: Field<Text>,
}

/// Answers a chart request with `data` made from the window's points, written straight to
/// JSON: a chart's 500 points go through no intermediate `Value`.
fn chart<D: Serialize>(
    app: &Web,
    call: &mut Call,
    data: impl FnOnce(Vec<HistoryPoint>) -> D,
) -> Result<Response, ApiError> {
    let q: WindowQuery = call.query_as()?;
    let spec = WindowSpec {
        range: q.range.text("range")?,
        from: q.from.text("from")?,
        to: q.to.text("to")?,
        hours: q.hours.text("hours")?,
    };
    let id = call.id();
    let Points {
        window,
        tier,
        step,
        points,
    } = app.history.chart(id, spec)?;
    let body = Chart {
        computer_id: id,
        range: &window.name,
        from: window.from,
        to: window.to,
        step,
        tier: tier.name(),
        data: data(points),
    };
    Ok(Response::json(StatusCode::OK, &body))
}
