//! Carriers' agreements (`/centre/agreements`): every version of one
//! carrier's agreement with its terms, which version applies on a day, and
//! a form for the next version. Versions are never changed: a later version
//! overrides an earlier one from its first day (`Period::effective`), which
//! the page says beside the form and shows in the table.

use super::office::{carrier_name, carriers, parse_carrier, parse_day};
use super::{Frame, Operator};
use crate::i18n::Tr;
use crate::{WebError, WebState, field, local, render};
use app::county::{AgreementRequest, AgreementVersion};
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Carrier;
use domain::county::{Bracket, Mode, ModeFees, Period, Terms, TownshipTerm};
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    axum::Router::new().route(
        "/centre/agreements",
        axum::routing::get(agreements).post(create),
    )
}

/// A version as the table shows it.
struct VersionRow {
    version: u32,
    from: String,
    /// Empty when open-ended.
    to: String,
    townships: Vec<(String, &'static str)>,
    /// Per mode: its name and its brackets as text.
    fees: Vec<(&'static str, String)>,
    actor: String,
    created: String,
    /// The version in effect on the day asked about.
    applies: bool,
}

/// What the new-version form shows: what was typed, or the latest terms.
#[derive(Default)]
struct Draft {
    effective_from: String,
    effective_to: String,
    townships: String,
    joint: String,
    contractor: String,
    station: String,
}

#[derive(Template)]
#[template(path = "centre/agreements.html")]
struct AgreementsPage {
    f: Frame,
    carriers: Vec<(&'static str, String)>,
    carrier: &'static str,
    carrier_label: String,
    rows: Vec<VersionRow>,
    day: String,
    /// The version in effect on `day`, if any.
    applies: Option<u32>,
    draft: Draft,
    /// The refusal of the form just sent, in the page's language.
    error: Option<String>,
    /// The version just created.
    created: Option<u32>,
}

#[derive(Deserialize)]
pub(super) struct AgreementsQuery {
    carrier: Option<String>,
    day: Option<String>,
    created: Option<u32>,
}

fn brackets_text(brackets: &[Bracket]) -> String {
    brackets
        .iter()
        .map(|b| match b.up_to_grams {
            Some(grams) => format!("{grams}:{}", b.fen.0),
            None => b.fen.0.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn brackets_shown(brackets: &[Bracket], t: Tr) -> String {
    brackets
        .iter()
        .map(|b| match b.up_to_grams {
            Some(grams) => format!("≤{grams} g {}", b.fen),
            None => format!("{} {}", t.get("agreements.heavier"), b.fen),
        })
        .collect::<Vec<_>>()
        .join("；")
}

fn mode_label(mode: Mode, t: Tr) -> &'static str {
    crate::xlsx::mode_name(mode, t)
}

fn row_of(version: &AgreementVersion, applies: Option<u32>, t: Tr) -> VersionRow {
    VersionRow {
        version: version.version,
        from: version.period.from.to_string(),
        to: version.period.to.map(|d| d.to_string()).unwrap_or_default(),
        townships: version
            .terms
            .townships
            .iter()
            .map(|term| (term.township.clone(), mode_label(term.mode, t)))
            .collect(),
        fees: version
            .terms
            .fees
            .iter()
            .map(|fees| (mode_label(fees.mode, t), brackets_shown(&fees.brackets, t)))
            .collect(),
        actor: version.actor.clone(),
        created: local(version.created_at),
        applies: applies == Some(version.version),
    }
}

/// The latest version's terms as the form takes them, so the next version
/// starts from what is in force.
fn draft_of(latest: Option<&AgreementVersion>) -> Draft {
    let Some(latest) = latest else {
        return Draft::default();
    };
    let fees_of = |mode: Mode| {
        latest
            .terms
            .fees
            .iter()
            .find(|fees| fees.mode == mode)
            .map(|fees| brackets_text(&fees.brackets))
            .unwrap_or_default()
    };
    Draft {
        effective_from: String::new(),
        effective_to: String::new(),
        townships: latest
            .terms
            .townships
            .iter()
            .map(|term| format!("{} {}", term.township, term.mode.code()))
            .collect::<Vec<_>>()
            .join("\n"),
        joint: fees_of(Mode::Joint),
        contractor: fees_of(Mode::Contractor),
        station: fees_of(Mode::Station),
    }
}

async fn page(
    state: &WebState,
    operator: &Operator,
    carrier: Carrier,
    day: chrono::NaiveDate,
    draft: Option<Draft>,
    error: Option<String>,
    created: Option<u32>,
) -> Result<AgreementsPage, WebError> {
    let t = operator.tr;
    let versions = state
        .app
        .agreements(&operator.principal, carrier)
        .await
        .map_err(operator.app_err())?;
    let applies =
        Period::effective(versions.iter(), day, |v| (v.version, v.period)).map(|v| v.version);
    let mut rows: Vec<VersionRow> = versions.iter().map(|v| row_of(v, applies, t)).collect();
    rows.reverse();
    Ok(AgreementsPage {
        f: Frame::new(operator, "agreements"),
        carriers: carriers(t),
        carrier: carrier.code(),
        carrier_label: carrier_name(carrier, t),
        rows,
        day: day.to_string(),
        applies,
        draft: draft.unwrap_or_else(|| draft_of(versions.last())),
        error,
        created,
    })
}

pub(super) async fn agreements(
    State(state): State<WebState>,
    operator: Operator,
    Query(query): Query<AgreementsQuery>,
) -> Result<Response, WebError> {
    let carrier = parse_carrier(query.carrier.as_deref()).map_err(operator.app_err())?;
    let day = parse_day(query.day.as_deref())
        .map_err(operator.app_err())?
        .unwrap_or_else(|| state.app.today());
    Ok(render(
        page(&state, &operator, carrier, day, None, None, query.created).await?,
    ))
}

#[derive(Deserialize)]
pub(super) struct AgreementForm {
    csrf: String,
    carrier: String,
    effective_from: String,
    #[serde(default)]
    effective_to: String,
    #[serde(default)]
    townships: String,
    #[serde(default)]
    joint: String,
    #[serde(default)]
    contractor: String,
    #[serde(default)]
    station: String,
}

/// A mode as an operator may type it: its code or its Chinese name.
fn parse_mode(text: &str) -> Option<Mode> {
    match text.trim() {
        "共配" | "县域共配" | "县域同分共配" => Some(Mode::Joint),
        "承包" | "乡镇承包" | "乡镇承包配送" => Some(Mode::Contractor),
        "驿站" | "站点" | "村级站点复用" => Some(Mode::Station),
        other => Mode::parse(&other.to_ascii_lowercase()),
    }
}

/// One township a line: its 9-digit code and its mode.
fn parse_townships(text: &str) -> Result<Vec<TownshipTerm>, AppError> {
    let mut terms = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let line = line.replace([',', '，', '\t'], " ");
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let refused = || AppError::new(Code::AgreementFormTownship).with("line", idx + 1);
        let [township, mode] = words.as_slice() else {
            return Err(refused());
        };
        let township = domain::county::parse_township(township).map_err(|_| refused())?;
        let mode = parse_mode(mode).ok_or_else(refused)?;
        terms.push(TownshipTerm { township, mode });
    }
    Ok(terms)
}

/// "1000:50, 5000:80, 150": up to 1000 g 50 fen, up to 5000 g 80 fen, 150
/// fen above. Empty means the mode has no fees.
fn parse_brackets(text: &str, mode: Mode) -> Result<Option<ModeFees>, AppError> {
    let refused = || {
        AppError::new(Code::AgreementFormBrackets).with_words("mode", mode.name_zh(), mode.code())
    };
    let mut brackets = Vec::new();
    for item in text.split([',', '，', ';', '；', '\n']) {
        let item = item.trim().replace('：', ":");
        if item.is_empty() {
            continue;
        }
        let bracket = match item.split_once(':') {
            Some((grams, fen)) => Bracket {
                up_to_grams: Some(grams.trim().parse().map_err(|_| refused())?),
                fen: domain::Fen(fen.trim().parse().map_err(|_| refused())?),
            },
            None => Bracket {
                up_to_grams: None,
                fen: domain::Fen(item.parse().map_err(|_| refused())?),
            },
        };
        brackets.push(bracket);
    }
    Ok((!brackets.is_empty()).then_some(ModeFees { mode, brackets }))
}

fn request_of(form: &AgreementForm) -> Result<AgreementRequest, AppError> {
    let from = parse_day(Some(&form.effective_from))?
        .ok_or_else(|| AppError::new(Code::AgreementFormFromMissing))?;
    let to = parse_day(Some(&form.effective_to))?;
    let mut fees = Vec::new();
    for (mode, text) in [
        (Mode::Joint, &form.joint),
        (Mode::Contractor, &form.contractor),
        (Mode::Station, &form.station),
    ] {
        fees.extend(parse_brackets(text, mode)?);
    }
    Ok(AgreementRequest {
        effective_from: from,
        effective_to: to,
        terms: Terms {
            townships: parse_townships(&form.townships)?,
            fees,
        },
    })
}

pub(super) async fn create(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<AgreementForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    for text in [
        &form.effective_from,
        &form.effective_to,
        &form.joint,
        &form.contractor,
        &form.station,
    ] {
        field(t, text)?;
    }
    // A township a line: 500 of them, a dozen characters each.
    if form.townships.chars().count() > 20 * domain::county::AGREEMENT_TOWNSHIPS_MAX {
        return Err(WebError::from_app(
            AppError::new(Code::FieldTooLong)
                .with("max", 20 * domain::county::AGREEMENT_TOWNSHIPS_MAX),
            t,
        ));
    }
    let carrier = parse_carrier(Some(&form.carrier)).map_err(operator.app_err())?;
    let outcome = match request_of(&form) {
        Ok(request) => {
            state
                .app
                .create_agreement(&operator.principal, carrier, request)
                .await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(version) => Ok(Redirect::to(&format!(
            "/centre/agreements?carrier={}&created={}",
            carrier.code(),
            version.version
        ))
        .into_response()),
        // Refused: the page again with what was typed and why, nothing lost.
        Err(error @ AppError::Refused { .. }) => {
            let status = StatusCode::from_u16(error.code().status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let draft = Draft {
                effective_from: form.effective_from.clone(),
                effective_to: form.effective_to.clone(),
                townships: form.townships.clone(),
                joint: form.joint.clone(),
                contractor: form.contractor.clone(),
                station: form.station.clone(),
            };
            let today = state.app.today();
            let page = page(
                &state,
                &operator,
                carrier,
                today,
                Some(draft),
                Some(error.message(t.0)),
                None,
            )
            .await?;
            let mut response = render(page);
            *response.status_mut() = status;
            Ok(response)
        }
        Err(error) => Err(WebError::from_app(error, t)),
    }
}
