//! The API reference for people, at `/api/docs`: RapiDoc (vendored under
//! `crates/server/assets/rapidoc/` with its licence, compiled in) renders
//! `/api/openapi.json`. The page carries no inline script: the renderer and
//! our own few lines of set-up are files, so the server's content security
//! policy applies unchanged.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::ApiError;

const RAPIDOC: &[u8] = include_bytes!("../assets/rapidoc/rapidoc-min.js");
const RAPIDOC_LICENCE: &str = include_str!("../assets/rapidoc/LICENSE.txt");
const BUNDLED_LICENCES: &str = include_str!("../assets/rapidoc/rapidoc-min.js.LICENSE.txt");
const INIT: &str = include_str!("../assets/docs-init.js");

/// The files the page loads, by name: content type and bytes.
pub const FILES: &[&str] = &[
    "rapidoc-min.js",
    "docs-init.js",
    "LICENSE.txt",
    "rapidoc-min.js.LICENSE.txt",
];

fn file(name: &str) -> Option<(&'static str, &'static [u8])> {
    match name {
        "rapidoc-min.js" => Some(("text/javascript; charset=utf-8", RAPIDOC)),
        "docs-init.js" => Some(("text/javascript; charset=utf-8", INIT.as_bytes())),
        "LICENSE.txt" => Some(("text/plain; charset=utf-8", RAPIDOC_LICENCE.as_bytes())),
        "rapidoc-min.js.LICENSE.txt" => {
            Some(("text/plain; charset=utf-8", BUNDLED_LICENCES.as_bytes()))
        }
        _ => None,
    }
}

/// `GET /api/docs`.
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /api/docs/{file}`: the renderer, our set-up script and the licences.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some((content_type, bytes)) = file(&name) else {
        return ApiError::new(app::Code::RouteNotFound).into_response();
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change only with the binary.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

const PAGE: &str = r##"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>驿站 API 文档 · yizhan API reference</title>
</head>
<body>
<noscript>
<p>接口文档需要 JavaScript。机器可读的文档：<a href="/api/openapi.json">/api/openapi.json</a>。</p>
<p lang="en">The reference needs JavaScript; the machine-readable document is at <a href="/api/openapi.json">/api/openapi.json</a>.</p>
</noscript>
<rapi-doc id="api-docs" spec-url="/api/openapi.json" render-style="read" layout="column"
  theme="light" primary-color="#b4232a" show-header="false" allow-spec-url-load="false"
  allow-spec-file-load="false" allow-server-selection="false" allow-authentication="true"
  schema-style="table" schema-description-expanded="true" default-schema-tab="schema"
  regular-font="system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"
  mono-font="ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace"
  load-fonts="false" sort-tags="false" show-method-in-nav-bar="as-colored-block"></rapi-doc>
<script type="module" src="/api/docs/rapidoc-min.js"></script>
<script src="/api/docs/docs-init.js"></script>
</body>
</html>
"##;
