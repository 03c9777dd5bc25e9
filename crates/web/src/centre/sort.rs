//! Sort plans (`/centre/sort`): a layout pasted or chosen from a file (the
//! format `yizhan sort-plan` reads, `crates/sort/FORMAT.md`) or one
//! generated from a seed, optimised by `App::plan_sort`, shown with the
//! same renderer as the command line's page (`sort::report::body`) in the
//! page's language.

use super::{Frame, Operator};
use crate::plans::sort_lang;
use crate::{WebError, WebState, render};
use app::sort_plans::SortSource;
use app::{AppError, Code};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

pub(super) fn routes() -> axum::Router<WebState> {
    axum::Router::new().route("/centre/sort", axum::routing::get(sort_page).post(plan))
}

#[derive(Deserialize, Default)]
pub(super) struct SortForm {
    #[serde(default)]
    pub(super) csrf: String,
    /// "layout" or "generate".
    #[serde(default)]
    pub(super) source: String,
    #[serde(default)]
    pub(super) layout: String,
    #[serde(default)]
    pub(super) generator_seed: String,
    #[serde(default)]
    pub(super) seed: String,
}

#[derive(Template)]
#[template(path = "centre/sort.html")]
struct SortPage {
    f: Frame,
    form: SortForm,
    error: Option<String>,
    title: String,
    /// `sort::report::body`, already escaped by its renderer.
    report: String,
    style: &'static str,
}

fn page(operator: &Operator, form: SortForm) -> SortPage {
    SortPage {
        f: Frame::new(operator, "sort"),
        form,
        error: None,
        title: String::new(),
        report: String::new(),
        style: sort::report::STYLE,
    }
}

pub(super) async fn sort_page(operator: Operator) -> Response {
    render(page(
        &operator,
        SortForm {
            source: "generate".into(),
            generator_seed: "1".into(),
            seed: "1".into(),
            ..SortForm::default()
        },
    ))
}

pub(super) fn seed(text: &str) -> Result<u64, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(1);
    }
    text.parse().map_err(|_| {
        AppError::new(Code::SortSeedInvalid).with("max", app::sort_plans::SORT_SEED_MAX)
    })
}

pub(super) async fn plan(
    State(state): State<WebState>,
    operator: Operator,
    Form(form): Form<SortForm>,
) -> Result<Response, WebError> {
    operator.check(&state, &form.csrf)?;
    let t = operator.tr;
    let outcome = match (seed(&form.seed), seed(&form.generator_seed)) {
        (Ok(seed), Ok(generator_seed)) => {
            let source = if form.source == "generate" {
                SortSource::Generate(generator_seed)
            } else {
                SortSource::Layout(form.layout.clone())
            };
            state.app.plan_sort(&operator.principal, source, seed).await
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    let mut page = page(&operator, form);
    match outcome {
        Ok(plan) => {
            let lang = sort_lang(t.0);
            page.title = sort::report::title(&plan.hub, lang);
            page.report = sort::report::body(&plan.hub, &plan.evaluation, lang);
            Ok(render(page))
        }
        Err(error @ AppError::Refused { .. }) => {
            let status = StatusCode::from_u16(error.code().status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            page.error = Some(error.message(t.0));
            let mut response = render(page);
            *response.status_mut() = status;
            Ok(response)
        }
        Err(error) => Err(WebError::from_app(error, t)),
    }
}
