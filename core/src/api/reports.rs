//! `/reports`: the summary of a period and the streamed exports (admin).

use bytes::Bytes;
use poem::{
    Body, IntoResponse, Response,
    http::{StatusCode, header},
    web::Data as State,
};
use poem_openapi::{
    ApiResponse, Enum, OpenApi,
    param::{Path, Query},
    payload::Json,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry},
};

use super::{
    ApiTags,
    date_time::TimeOrDate,
    envelope::{Data, data},
    errors::ApiResult,
    security::Caller,
};
use crate::{
    app::AppState,
    domain::{
        Store,
        reports::{self, Cell, Export, Period, Position, Summary},
    },
    time,
};

pub struct ReportsApi;

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExportType {
    /// One row per ticket created in the period.
    Tickets,
    /// One row per agent or admin, with figures for the period.
    Agents,
    /// One row per ticket created in the period that has an SLA policy: its targets.
    Sla,
}

#[derive(Debug, Clone, Copy, Default, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Csv,
    Json,
}

#[OpenApi(tag = "ApiTags::Reports")]
impl ReportsApi {
    /// Summary of a period
    ///
    /// Requires `admin`. Tickets created and resolved in the period and open now; median and
    /// 90th percentile (nearest rank) of first-response and resolution times, in seconds on
    /// each ticket's SLA clock (business hours where its policy has them); the SLA breach rate;
    /// counts by status, priority, department and agent of the tickets created in the period.
    #[oai(
        path = "/reports/summary",
        method = "get",
        operation_id = "reports.summary"
    )]
    async fn summary(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        /// Start (inclusive): RFC 3339, or a date (`2026-11-01`, from 00:00 UTC). Default: 30
        /// days before `to`.
        from: Query<Option<TimeOrDate>>,
        /// End (exclusive): RFC 3339, or a date (to the end of that day). Default: now.
        to: Query<Option<TimeOrDate>>,
    ) -> ApiResult<Json<Data<Summary>>> {
        let period = period(from.0, to.0, state.clock.now())?;
        Ok(data(reports::summary(&state.store, period).await?))
    }

    /// Export tickets, agents or SLA figures
    ///
    /// Requires `admin`. Streams every row (read in batches, so any size runs in constant
    /// memory): CSV with a header row (the default), or JSON as `{"data": [...]}`; both with
    /// `Content-Disposition: attachment`. The period is as for the summary.
    #[oai(
        path = "/reports/export/:kind",
        method = "get",
        operation_id = "reports.export"
    )]
    async fn export(
        &self,
        _caller: Caller,
        state: State<&AppState>,
        kind: Path<ExportType>,
        /// The export's format.
        format: Query<Option<ExportFormat>>,
        from: Query<Option<TimeOrDate>>,
        to: Query<Option<TimeOrDate>>,
    ) -> ApiResult<ExportResponse> {
        let period = period(from.0, to.0, state.clock.now())?;
        let export = match kind.0 {
            ExportType::Tickets => Export::Tickets,
            ExportType::Agents => Export::Agents,
            ExportType::Sla => Export::Sla,
        };
        let format = format.0.unwrap_or_default();
        // The first batch is read before answering, so a database that fails at once gets a
        // proper error status rather than a cut-off 200.
        let first = reports::next_batch(&state.store, export, period, Position::default()).await?;
        let body = stream(state.store.clone(), export, format, period, first);
        let (content_type, extension) = match format {
            ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
            ExportFormat::Json => ("application/json; charset=utf-8", "json"),
        };
        let day = |t| time::rfc3339(t)[..10].to_string();
        let filename = format!(
            "{}-{}-{}.{extension}",
            export.name(),
            day(period.from),
            day(period.to)
        );
        Ok(ExportResponse(
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, content_type)
                .header(
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                )
                .header("X-Content-Type-Options", "nosniff")
                .body(body),
        ))
    }
}

/// The period `from`..`to` (the domain reads the texts: a day or a moment).
fn period(
    from: Option<TimeOrDate>,
    to: Option<TimeOrDate>,
    now: time::Timestamp,
) -> crate::error::Result<Period> {
    let text = |t: &Option<TimeOrDate>| t.as_ref().map(|t| t.0.clone());
    reports::period(text(&from).as_deref(), text(&to).as_deref(), now)
}

/// The export's bytes: the header, then each batch as it is read, then the end.
fn stream(
    store: Store,
    export: Export,
    format: ExportFormat,
    period: Period,
    first: (Vec<Vec<Cell>>, Position),
) -> Body {
    struct Walk {
        store: Store,
        pending: Option<(Vec<Vec<Cell>>, Position)>,
        position: Position,
        rows_sent: u64,
        header_sent: bool,
        done: bool,
    }
    let start = Walk {
        store,
        pending: Some(first),
        position: Position::default(),
        rows_sent: 0,
        header_sent: false,
        done: false,
    };
    let stream = futures::stream::try_unfold(start, move |mut walk| async move {
        if walk.done {
            return Ok::<_, std::io::Error>(None);
        }
        let (rows, next) = match walk.pending.take() {
            Some(batch) => batch,
            None => reports::next_batch(&walk.store, export, period, walk.position)
                .await
                .map_err(|err| {
                    tracing::error!(error = %err, "export cut off");
                    std::io::Error::other("export failed")
                })?,
        };
        let mut out = String::new();
        if !walk.header_sent {
            walk.header_sent = true;
            out.push_str(&match format {
                ExportFormat::Csv => format!("{}\r\n", export.columns().join(",")),
                ExportFormat::Json => "{\"data\": [".to_string(),
            });
        }
        let last = (rows.len() as i64) < reports::BATCH;
        for row in &rows {
            match format {
                ExportFormat::Csv => {
                    let cells: Vec<String> = row.iter().map(reports::csv_cell).collect();
                    out.push_str(&cells.join(","));
                    out.push_str("\r\n");
                }
                ExportFormat::Json => {
                    if walk.rows_sent > 0 {
                        out.push(',');
                    }
                    let object: serde_json::Map<String, serde_json::Value> = export
                        .columns()
                        .iter()
                        .zip(row)
                        .map(|(name, cell)| (name.to_string(), reports::json_cell(cell)))
                        .collect();
                    out.push_str(&serde_json::Value::Object(object).to_string());
                }
            }
            walk.rows_sent += 1;
        }
        if last {
            if format == ExportFormat::Json {
                out.push_str("]}");
            }
            walk.done = true;
        }
        walk.position = next;
        Ok(Some((Bytes::from(out), walk)))
    });
    Body::from_bytes_stream(stream)
}

/// The export's answer: CSV or JSON, documented by hand since it is streamed.
pub struct ExportResponse(Response);

impl IntoResponse for ExportResponse {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for ExportResponse {
    fn meta() -> MetaResponses {
        let mut rows = MetaSchema::new("array");
        rows.items = Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::new(
            "object",
        )))));
        let mut json = MetaSchema::new("object");
        json.required = vec!["data"];
        json.properties = vec![("data", MetaSchemaRef::Inline(Box::new(rows)))];
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The rows: CSV with a header row, or JSON `{\"data\": [...]}` (one \
                              object per row, keyed by the same column names).",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType {
                        content_type: "text/csv; charset=utf-8",
                        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                    },
                    MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: MetaSchemaRef::Inline(Box::new(json)),
                    },
                ],
                headers: vec![poem_openapi::registry::MetaHeader {
                    name: "Content-Disposition".into(),
                    description: Some(
                        "`attachment; filename=\"<type>-<from>-<to>.<format>\"`".into(),
                    ),
                    required: true,
                    deprecated: false,
                    schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                }],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}
