//! The centre's start page.

use super::{Frame, Operator};
use crate::render;
use askama::Template;
use axum::response::Response;

#[derive(Template)]
#[template(path = "centre/home.html")]
struct HomePage {
    f: Frame,
}

pub(super) async fn home(operator: Operator) -> Response {
    render(HomePage {
        f: Frame::new(&operator, "home"),
    })
}
