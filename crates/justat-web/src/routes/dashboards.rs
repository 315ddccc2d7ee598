//! The steering dashboards: one per administration of the ministry, each indicator made for
//! it as a chart with its data table, its latest value, trend and target, filtered by area
//! and years; the indicator's definition page; its CSV and XLSX. An account of role
//! `administration` sees only its own administration's dashboard — another's, or an
//! indicator not made for it, is a 404 — and every view is in the audit log.
//!
//! Nothing is computed here: the tables were computed, protected and audited by the job
//! worker after the chain run (`justat_publish::dashboard`). What is decided here, at the
//! request's instant, is only whether a value of an official series is released yet
//! (`justat_indicators::disclosure`, by the public site's `is_public`).

use crate::AppState;
use crate::auth::{Capability, ClientMeta, Require, SessionCtx, page};
use crate::error::WebError;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::Timestamp;
use justat_indicators::{
    Administration, DashboardContent, Disclosure, Granularity, Indicator, Nature, SeriesRelease,
};
use justat_model::{Permission, french};
use justat_store::{Actor, AuditRecord};
use minijinja::context;
use serde::{Deserialize, Serialize};

/// Reading the steering dashboards of one's administration.
pub struct ReadDashboards;
impl Capability for ReadDashboards {
    const PERMISSION: Permission = Permission::ReadDashboards;
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/tableaux-de-bord", get(index))
        .route("/tableaux-de-bord/{administration}", get(dashboard))
        .route(
            "/tableaux-de-bord/{administration}/indicateurs/{indicator}",
            get(definition),
        )
        .route(
            "/tableaux-de-bord/{administration}/indicateurs/{indicator}/{file}",
            get(download),
        )
}

/// The mention every management value carries.
pub const PILOTAGE_MENTION: &str =
    "Information de gestion, produite pour le pilotage : ce n’est pas une statistique publique.";

/// The shipped indicators, loaded once, checked against the shipped chains' cubes.
fn indicators() -> Result<&'static [Indicator], WebError> {
    static LOADED: std::sync::OnceLock<Result<Vec<Indicator>, String>> = std::sync::OnceLock::new();
    LOADED
        .get_or_init(|| {
            justat_indicators::shipped(&justat_indicators::Catalog::shipped_chains())
                .map_err(|e| e.to_string())
        })
        .as_deref()
        .map_err(|e| WebError::Internal(format!("indicators: {e}")))
}

/// The administration of the account, which must be the one in the address: any other is
/// a 404, as if the dashboard did not exist.
async fn own_administration(
    state: &AppState,
    s: &SessionCtx,
    asked: &str,
) -> Result<Administration, WebError> {
    let mine = state
        .store
        .user_administration(s.user.id)
        .await?
        .and_then(|a| Administration::parse(&a));
    match (mine, Administration::parse(asked)) {
        (Some(m), Some(a)) if m == a && asked == m.code().to_lowercase() => Ok(m),
        _ => Err(WebError::NotFound),
    }
}

async fn log_view(
    state: &AppState,
    s: &SessionCtx,
    action: &'static str,
    object: String,
    details: serde_json::Value,
    meta: &ClientMeta,
) -> Result<(), WebError> {
    let mut details = details;
    if let Some(map) = details.as_object_mut() {
        map.insert("ip".into(), meta.ip.clone().into());
        map.insert("user_agent".into(), meta.user_agent.clone().into());
    }
    state
        .store
        .audit(
            AuditRecord::new(&Actor::user(&s.user.username), action, object).with(details),
            Timestamp::now(),
        )
        .await?;
    Ok(())
}

async fn index(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadDashboards>,
) -> Result<Response, WebError> {
    let mine = state
        .store
        .user_administration(s.user.id)
        .await?
        .and_then(|a| Administration::parse(&a));
    match mine {
        Some(a) => Ok(Redirect::to(&format!(
            "/admin/tableaux-de-bord/{}",
            a.code().to_lowercase()
        ))
        .into_response()),
        None => Ok(page(
            "admin/dashboards.html",
            "Tableaux de bord",
            "admin",
            Some(&s),
            context! { administration => None::<String>, cards => crate::view::ser(&Vec::<Card>::new()) },
        )?
        .into_response()),
    }
}

/// The filters of a dashboard (a plain GET form).
#[derive(Debug, Default, Deserialize)]
struct Filters {
    territoire: Option<String>,
    periodicite: Option<String>,
    debut: Option<String>,
    fin: Option<String>,
}

#[derive(Serialize)]
struct Cell {
    period: String,
    text: String,
}

#[derive(Serialize)]
struct Card {
    id: String,
    label: String,
    nature: &'static str,
    official: bool,
    unit: String,
    granularity: &'static str,
    latest: Option<(String, String)>,
    trend: Option<String>,
    target: Option<String>,
    target_met: Option<bool>,
    chart: Option<String>,
    chart_note: Option<String>,
    cells: Vec<Cell>,
    unavailable: Option<String>,
    downloads: bool,
    source: String,
}

/// What the page says of one value.
fn shown(value: Option<f64>, secret: bool, disclosure: Disclosure, decimals: u8) -> String {
    match disclosure {
        Disclosure::Scheduled(at) => format!("publication le {}", french::date_time(at)),
        Disclosure::NotScheduled => "non encore publiée".to_string(),
        Disclosure::Shown if secret => "s (secret statistique)".to_string(),
        Disclosure::Shown => value.map_or("nd".to_string(), |v| format_value(v, decimals)),
    }
}

fn format_value(v: f64, decimals: u8) -> String {
    if decimals == 0 {
        french::integer(v.round() as i64)
    } else {
        french::decimal(v, u32::from(decimals))
    }
}

/// The releases of an official series' publications, every edition's versions (none for
/// management information).
async fn releases_of(state: &AppState, ind: &Indicator) -> Result<Vec<SeriesRelease>, WebError> {
    let mut out = Vec::new();
    for slug in &ind.publications {
        out.extend(
            state
                .store
                .publication_releases(slug)
                .await?
                .into_iter()
                .map(|v| SeriesRelease {
                    period: v.period,
                    state: v.state,
                    released_at: v.released_at,
                }),
        );
    }
    Ok(out)
}

async fn card(
    state: &AppState,
    ind: &Indicator,
    area: &str,
    wanted: Granularity,
    years: (Option<&str>, Option<&str>),
    now: Timestamp,
) -> Result<Card, WebError> {
    let granularity = if ind.periods.contains(&wanted) {
        wanted
    } else {
        ind.periods.first().copied().unwrap_or(Granularity::Year)
    };
    let mut c = Card {
        id: ind.id.clone(),
        label: ind.label.clone(),
        nature: ind.nature.label(),
        official: ind.nature == Nature::StatistiquePublique,
        unit: ind.unit.clone(),
        granularity: granularity.label(),
        latest: None,
        trend: None,
        target: ind.target.as_ref().map(|t| {
            format!(
                "{} {} {} ({})",
                match t.direction {
                    justat_indicators::definition::Direction::AtLeast => "au moins",
                    justat_indicators::definition::Direction::AtMost => "au plus",
                },
                format_value(t.value, ind.decimals),
                ind.unit,
                t.label
            )
        }),
        target_met: None,
        chart: None,
        chart_note: None,
        cells: Vec::new(),
        unavailable: None,
        downloads: false,
        source: String::new(),
    };
    let Some(stored) = state
        .store
        .dashboard_table(&ind.id, granularity.label())
        .await?
    else {
        c.unavailable = Some("Pas encore calculé : la chaîne de traitement de cet indicateur n’a pas encore produit de cube.".into());
        return Ok(c);
    };
    let content: DashboardContent = serde_json::from_str(&stored.content)
        .map_err(|e| WebError::Internal(format!("dashboard {}: {e}", ind.id)))?;
    c.source = content.source.clone();
    let Some(row) = content.row(area) else {
        c.unavailable = Some("Cet indicateur n’est pas calculé à ce niveau territorial.".into());
        return Ok(c);
    };
    let releases = releases_of(state, ind).await?;
    let disclosures: Vec<Disclosure> = content
        .periods
        .iter()
        .map(|p| justat_indicators::disclosure(ind.nature, p, &releases, now))
        .collect();
    let in_years = |p: &str| {
        let y = &p[..p.len().min(4)];
        years.0.is_none_or(|d| y >= d) && years.1.is_none_or(|f| y <= f)
    };
    let mut visible: Vec<(usize, f64)> = Vec::new();
    for (i, p) in content.periods.iter().enumerate() {
        if !in_years(p) {
            continue;
        }
        let d = disclosures[i];
        c.cells.push(Cell {
            period: p.clone(),
            text: shown(row.values[i], row.secret[i], d, ind.decimals),
        });
        if d == Disclosure::Shown
            && !row.secret[i]
            && let Some(v) = row.values[i]
        {
            visible.push((i, v));
        }
    }
    // A change of a share is in points, not in per cent.
    let change_unit = if ind.unit == "%" {
        "points"
    } else {
        ind.unit.as_str()
    };
    if let Some((i, v)) = visible.last() {
        c.latest = Some((content.periods[*i].clone(), format_value(*v, ind.decimals)));
        c.target_met = ind.target.as_ref().map(|t| t.is_met(*v));
        if visible.len() > 1 {
            let (pi, pv) = visible[visible.len() - 2];
            c.trend = Some(match justat_indicators::trend(pv, *v) {
                justat_indicators::Trend::Up(d) => format!(
                    "en hausse de {} {change_unit} depuis {}",
                    format_value(d, ind.decimals),
                    content.periods[pi]
                ),
                justat_indicators::Trend::Down(d) => format!(
                    "en baisse de {} {change_unit} depuis {}",
                    format_value(d, ind.decimals),
                    content.periods[pi]
                ),
                justat_indicators::Trend::Stable => {
                    format!("stable depuis {}", content.periods[pi])
                }
            });
        }
    }
    // The chart stops before the first period not yet released.
    let released = disclosures
        .iter()
        .take_while(|d| **d == Disclosure::Shown)
        .count();
    let key = if released == content.periods.len() {
        Some(area.to_string())
    } else if released > 0 {
        Some(format!("{area}|{released}"))
    } else {
        None
    };
    c.chart = key.and_then(|k| content.charts.get(&k).cloned());
    if released < content.periods.len() {
        c.chart_note = Some(match disclosures[released] {
            Disclosure::Scheduled(at) => format!(
                "Les valeurs à partir de {} ne sont pas encore publiées : publication le {}.",
                content.periods[released],
                french::date_time(at)
            ),
            _ => format!(
                "Les valeurs à partir de {} ne sont pas encore publiées.",
                content.periods[released]
            ),
        });
    }
    c.downloads = released == content.periods.len();
    Ok(c)
}

async fn dashboard(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadDashboards>,
    meta: ClientMeta,
    Path(asked): Path<String>,
    Query(f): Query<Filters>,
) -> Result<Html<String>, WebError> {
    let adm = own_administration(&state, &s, &asked).await?;
    let now = Timestamp::now();
    let area = f
        .territoire
        .clone()
        .filter(|t| t.len() <= 32)
        .unwrap_or_else(|| "_T".to_string());
    let granularity = f
        .periodicite
        .as_deref()
        .and_then(Granularity::parse)
        .unwrap_or(Granularity::Year);
    let year = |y: &Option<String>| {
        y.as_deref()
            .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            .map(String::from)
    };
    let (debut, fin) = (year(&f.debut), year(&f.fin));
    let mine: Vec<&Indicator> = indicators()?.iter().filter(|i| i.is_for(adm)).collect();
    let mut cards = Vec::new();
    let mut areas: Vec<(String, String)> = Vec::new();
    let mut all_years = std::collections::BTreeSet::new();
    for ind in &mine {
        cards.push(
            card(
                &state,
                ind,
                &area,
                granularity,
                (debut.as_deref(), fin.as_deref()),
                now,
            )
            .await?,
        );
        // The areas and years offered by the filters: those of the stored tables.
        for g in &ind.periods {
            if let Some(t) = state.store.dashboard_table(&ind.id, g.label()).await?
                && let Ok(content) = serde_json::from_str::<DashboardContent>(&t.content)
            {
                for r in &content.rows {
                    if !areas.iter().any(|(c, _)| c == &r.code) {
                        let indent = "\u{a0}\u{a0}".repeat(r.depth);
                        areas.push((r.code.clone(), format!("{indent}{}", r.label)));
                    }
                }
                for p in &content.periods {
                    all_years.insert(p[..p.len().min(4)].to_string());
                }
            }
        }
    }
    log_view(
        &state,
        &s,
        "dashboard.view",
        format!("dashboard:{}", adm.code()),
        serde_json::json!({ "territoire": area, "periodicite": granularity.label(), "debut": debut, "fin": fin }),
        &meta,
    )
    .await?;
    page(
        "admin/dashboards.html",
        &format!("Tableau de bord — {}", adm.code()),
        "admin",
        Some(&s),
        context! {
            administration => adm.code(),
            administration_name => adm.name(),
            slug => adm.code().to_lowercase(),
            cards => crate::view::ser(&cards),
            areas,
            area,
            granularity => granularity.label(),
            granularities => Granularity::ALL.iter().map(|g| g.label()).collect::<Vec<_>>(),
            years => all_years.into_iter().collect::<Vec<_>>(),
            debut,
            fin,
            pilotage_mention => PILOTAGE_MENTION,
        },
    )
}

/// The indicator asked, if it is made for the account's administration.
async fn own_indicator(
    state: &AppState,
    s: &SessionCtx,
    asked: &str,
    id: &str,
) -> Result<(Administration, &'static Indicator), WebError> {
    let adm = own_administration(state, s, asked).await?;
    let ind = indicators()?
        .iter()
        .find(|i| i.id == id && i.is_for(adm))
        .ok_or(WebError::NotFound)?;
    Ok((adm, ind))
}

async fn definition(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadDashboards>,
    meta: ClientMeta,
    Path((asked, id)): Path<(String, String)>,
) -> Result<Html<String>, WebError> {
    let (adm, ind) = own_indicator(&state, &s, &asked, &id).await?;
    log_view(
        &state,
        &s,
        "dashboard.indicator",
        format!("indicator:{}", ind.id),
        serde_json::json!({ "administration": adm.code(), "version": ind.version }),
        &meta,
    )
    .await?;
    let now = Timestamp::now();
    let releases = releases_of(&state, ind).await?;
    let mut files = Vec::new();
    for g in &ind.periods {
        if let Some(t) = state.store.dashboard_table(&ind.id, g.label()).await?
            && let Ok(content) = serde_json::from_str::<DashboardContent>(&t.content)
        {
            let all_released = content.periods.iter().all(|p| {
                justat_indicators::disclosure(ind.nature, p, &releases, now) == Disclosure::Shown
            });
            if all_released {
                files.push((g.label(), french::date_time(t.computed_at)));
            }
        }
    }
    page(
        "admin/dashboard_indicator.html",
        &ind.label,
        "admin",
        Some(&s),
        context! {
            slug => adm.code().to_lowercase(),
            administration => adm.code(),
            id => ind.id.clone(),
            label => ind.label.clone(),
            definition => ind.definition.split_whitespace().collect::<Vec<_>>().join(" "),
            formula => ind.formula_text.clone(),
            unit => ind.unit.clone(),
            nature => ind.nature.label(),
            official => ind.nature == Nature::StatistiquePublique,
            publication => ind.publications.join(" puis "),
            version => ind.version,
            cube => ind.cube.clone(),
            administrations => ind.administrations.iter().map(|a| a.code()).collect::<Vec<_>>(),
            areas => ind.areas.iter().map(|a| a.label()).collect::<Vec<_>>(),
            periods => ind.periods.iter().map(|g| g.label()).collect::<Vec<_>>(),
            target => ind.target.as_ref().map(|t| (format_value(t.value, ind.decimals), t.label.clone())),
            files,
            pilotage_mention => PILOTAGE_MENTION,
        },
    )
}

async fn download(
    State(state): State<AppState>,
    Require(s, ..): Require<ReadDashboards>,
    meta: ClientMeta,
    Path((asked, id, file)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    let (adm, ind) = own_indicator(&state, &s, &asked, &id).await?;
    let (stem, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    let granularity = Granularity::parse(stem).ok_or(WebError::NotFound)?;
    let t = state
        .store
        .dashboard_table(&ind.id, granularity.label())
        .await?
        .ok_or(WebError::NotFound)?;
    let content: DashboardContent = serde_json::from_str(&t.content)
        .map_err(|e| WebError::Internal(format!("dashboard {}: {e}", ind.id)))?;
    // An official series is downloadable only once every period in it is released.
    let releases = releases_of(&state, ind).await?;
    let now = Timestamp::now();
    if !content
        .periods
        .iter()
        .all(|p| justat_indicators::disclosure(ind.nature, p, &releases, now) == Disclosure::Shown)
    {
        return Err(WebError::NotFound);
    }
    let (bytes, mime) = match ext {
        "csv" => (t.csv.into_bytes(), "text/csv; charset=utf-8"),
        "xlsx" => (
            hex::decode(&t.xlsx_hex).map_err(|e| WebError::Internal(format!("xlsx: {e}")))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        _ => return Err(WebError::NotFound),
    };
    log_view(
        &state,
        &s,
        "dashboard.download",
        format!("indicator:{}", ind.id),
        serde_json::json!({ "administration": adm.code(), "file": file }),
        &meta,
    )
    .await?;
    let name = format!("{}_{}.{ext}", ind.id, granularity.label().replace('é', "e"));
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
