//! The document is enough to use the API: every operation has an id, a tag,
//! its parameters with their limits and a schema for every answer; the
//! answers the tests receive match those schemas (`TestApp::call` checks
//! every successful answer against the document); errors speak our words,
//! not the framework's; the human-readable page is served by the product.

use super::*;

/// The document every test's answers are checked against.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| server::openapi::document("http://127.0.0.1:8080"))
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "unresolved {reference}");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// Where `value` breaks `schema` (the parts of OpenAPI 3.0 the document
/// uses: `$ref`, `allOf`, `oneOf`, `nullable`, `type`, `enum`,
/// `properties`, `required`, `items`, `additionalProperties`).
pub fn violations(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    if let Some(all) = schema["allOf"].as_array() {
        for part in all {
            violations(doc, part, value, at, out);
        }
        return;
    }
    if let Some(any) = schema["oneOf"].as_array() {
        let fits = any.iter().any(|part| {
            let mut inner = Vec::new();
            violations(doc, part, value, at, &mut inner);
            inner.is_empty()
        });
        if !fits {
            out.push(format!("{at}: fits none of oneOf: {value}"));
        }
        return;
    }
    if let Some(choices) = schema["enum"].as_array()
        && !choices.contains(value)
    {
        out.push(format!("{at}: {value} not in {choices:?}"));
    }
    let kind = schema["type"].as_str();
    let fits = match kind {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !fits {
        out.push(format!("{at}: {value} is not {}", kind.unwrap_or("?")));
        return;
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"].as_object();
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                out.push(format!("{at}: required {name} missing"));
            }
        }
        for (key, item) in object {
            match (
                properties.and_then(|p| p.get(key)),
                &schema["additionalProperties"],
            ) {
                (Some(property), _) => violations(doc, property, item, &format!("{at}.{key}"), out),
                (None, extra) if extra.is_object() => {
                    violations(doc, extra, item, &format!("{at}.{key}"), out)
                }
                (None, _) if properties.is_some() => {
                    out.push(format!("{at}: {key} is not in the schema"))
                }
                _ => {}
            }
        }
    }
    if let Some(items) = value.as_array()
        && !schema["items"].is_null()
    {
        for (index, item) in items.iter().enumerate() {
            violations(doc, &schema["items"], item, &format!("{at}[{index}]"), out);
        }
    }
}

/// The document's path template a concrete path matches, for `method`.
fn template_of(doc: &Value, method: &str, path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"]
        .as_object()?
        .iter()
        .filter(|(_, operations)| !operations[method.to_lowercase()].is_null())
        .map(|(template, _)| template)
        .filter(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment)
        })
        // A literal segment beats a parameter.
        .min_by_key(|template| template.matches('{').count())
        .cloned()
}

/// Checks a successful JSON answer against the document; panics naming
/// each difference.
pub fn check_answer(method: &str, path: &str, status: u16, body: &Value) {
    if !(200..300).contains(&status) || body.is_string() {
        return;
    }
    let doc = document();
    let Some(template) = template_of(doc, method, path) else {
        return;
    };
    let operation = &doc["paths"][&template][method.to_lowercase()];
    let schema =
        &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "{method} {template} answered {status} with JSON, and the document has no schema for it"
    );
    let mut out = Vec::new();
    violations(doc, schema, body, "answer", &mut out);
    assert!(
        out.is_empty(),
        "{method} {template}: the answer does not match the document:\n{}\n{body}",
        out.join("\n")
    );
}

#[test]
fn every_operation_has_an_id_a_tag_parameters_with_limits_and_schemas() {
    let doc = document();
    assert_eq!(
        doc["servers"][0]["url"], "http://127.0.0.1:8080",
        "servers come from the public URL"
    );
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = std::collections::HashSet::new();
    let mut problems = Vec::new();
    let mut n_operations = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            n_operations += 1;
            let name = format!("{} {path}", method.to_uppercase());
            match operation["operationId"].as_str() {
                Some(id) if !id.is_empty() => {
                    if !ids.insert(id.to_string()) {
                        problems.push(format!("{name}: operationId {id} twice"));
                    }
                }
                _ => problems.push(format!("{name}: no operationId")),
            }
            match operation["tags"].as_array().map(|t| t.as_slice()) {
                Some([tag]) if tags.contains(&tag.as_str().unwrap_or_default()) => {}
                other => problems.push(format!("{name}: tags {other:?}")),
            }
            if operation["summary"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{name}: no summary"));
            }
            let responses = operation["responses"].as_object().unwrap();
            let successes: Vec<_> = responses
                .iter()
                .filter(|(status, _)| status.starts_with('2'))
                .collect();
            if successes.is_empty() {
                problems.push(format!("{name}: no success answer"));
            }
            for (status, response) in responses {
                if response["description"].as_str().is_none_or(str::is_empty) {
                    problems.push(format!("{name} {status}: no description"));
                }
                let Some(content) = response["content"].as_object() else {
                    if status != "204" {
                        problems.push(format!("{name} {status}: no content"));
                    }
                    continue;
                };
                for (media, body) in content {
                    let schema = resolve(doc, &body["schema"]);
                    if schema.as_object().is_none_or(|s| s.is_empty()) {
                        problems.push(format!("{name} {status} {media}: a bare schema"));
                    }
                }
            }
            for parameter in operation["parameters"].as_array().unwrap() {
                let schema = &parameter["schema"];
                let label = format!("{name}: parameter {}", parameter["name"]);
                if parameter["description"].as_str().is_none_or(str::is_empty) {
                    problems.push(format!("{label}: no description"));
                }
                let limited = ["enum", "maxLength", "maximum", "pattern", "format"]
                    .iter()
                    .any(|limit| !schema[limit].is_null());
                if !limited {
                    problems.push(format!("{label}: no limit in {schema}"));
                }
            }
            // Staff POSTs take an Idempotency-Key; the sender's routes
            // (security `sender`) do not: their moves are guarded by the
            // order's state (docs/sending.md, "The sender's API").
            if method == "post" && operation["security"][0]["bearer"].is_array() {
                let has_key = operation["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
                if !has_key {
                    problems.push(format!("{name}: Idempotency-Key not listed"));
                }
            }
        }
    }
    assert!(n_operations >= server::routes().len(), "{n_operations}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every reference in the document resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let name = reference.split('"').next().unwrap();
        let name = name.trim_start_matches("#/components/schemas/");
        assert!(
            !doc["components"]["schemas"][name].is_null(),
            "unresolved $ref {name}"
        );
    }
}

/// The schema check can fail: a field the schema does not name, a wrong
/// type and a missing required field are each caught.
#[test]
fn the_answer_check_catches_what_the_document_does_not_say() {
    let doc = document();
    let schema = json!({"$ref": "#/components/schemas/AccountView"});
    let good = json!({"username": "a", "role": "admin", "disabled": false, "tokens_revoked": 0});
    let mut out = Vec::new();
    violations(doc, &schema, &good, "a", &mut out);
    assert!(out.is_empty(), "{out:?}");
    for bad in [
        json!({"username": "a", "role": "admin", "disabled": false, "tokens_revoked": 0, "extra": 1}),
        json!({"username": "a", "role": "admin", "disabled": "no", "tokens_revoked": 0}),
        json!({"username": "a", "role": "admin", "disabled": false}),
    ] {
        let mut out = Vec::new();
        violations(doc, &schema, &bad, "a", &mut out);
        assert!(!out.is_empty(), "{bad} passed");
    }
}

/// Every query parameter a route takes is listed, and no other: asked with
/// an unknown parameter, a route names the ones it knows, which must be
/// the documented ones.
#[tokio::test]
async fn every_query_parameter_is_documented() {
    let t = spawn_app().await;
    let admin = t.token("admin").await;
    let doc = document();
    let mut problems = Vec::new();
    let parameter = regex::Regex::new(r"\{[a-z_]+\}").unwrap();
    for (spec, _) in server::routes() {
        if spec.method != "GET" {
            continue;
        }
        let path = spec
            .path
            .replace("{carrier}", "ZTO")
            .replace("{waybill}", "731234567890")
            .replace("{username}", "admin")
            .replace("{file}", "docs-init.js")
            .replace("{station_id}", &t.station_a.to_string());
        let path = parameter.replace_all(&path, "1").to_string();
        let (status, answer) = t
            .call(
                Method::GET,
                &format!("{path}?zz_unknown=1"),
                Some(&admin),
                None,
            )
            .await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        let accepted: Vec<String> = if answer["error"]["code"] == "query_param_invalid" {
            message
                .split_once("expected ")
                .map(|(_, names)| {
                    names
                        .split('`')
                        .skip(1)
                        .step_by(2)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let documented: Vec<String> =
            doc["paths"][spec.path][spec.method.to_lowercase()]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect();
        let mut accepted_sorted = accepted.clone();
        accepted_sorted.sort();
        let mut documented_sorted = documented.clone();
        documented_sorted.sort();
        if accepted_sorted != documented_sorted {
            problems.push(format!(
                "GET {}: takes {accepted_sorted:?}, documented {documented_sorted:?} ({status} {message})",
                spec.path
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Bad input anywhere (path, query, body) is refused in our words, never
/// in the framework's or the parser's.
#[tokio::test]
async fn no_framework_words_in_refusals() {
    let t = spawn_app().await;
    let admin = t.token("admin").await;
    let keeper_a = t.token("keeper_a").await;
    let inbound = format!("/api/stations/{}/inbound", t.station_a);
    let mut answers = Vec::new();
    for (method, path, token, body) in [
        (Method::GET, "/api/parcels/abc".to_string(), &admin, None),
        (
            Method::GET,
            "/api/stations/99999999999999999999999".to_string(),
            &admin,
            None,
        ),
        (
            Method::GET,
            "/api/parcels?limit=-3".to_string(),
            &admin,
            None,
        ),
        (
            Method::GET,
            "/api/parcels?after_id=x".to_string(),
            &admin,
            None,
        ),
        (
            Method::GET,
            "/api/carriers/ZTO/fees?from=yesterday".to_string(),
            &admin,
            None,
        ),
        (
            Method::POST,
            inbound.clone(),
            &keeper_a,
            Some(json!({"carrier": "ZTO", "waybill": 731234567890u64})),
        ),
        (
            Method::POST,
            inbound.clone(),
            &keeper_a,
            Some(json!({"carrier": "ZTO", "waybill": "731234567890", "consent": "maybe"})),
        ),
        (
            Method::POST,
            inbound.clone(),
            &keeper_a,
            Some(json!({"carrier": "ZTO", "waybill": "731234567890", "size": "huge"})),
        ),
        (
            Method::POST,
            "/api/parcels/1/move".to_string(),
            &keeper_a,
            Some(json!({"slot_id": "two"})),
        ),
        (
            Method::POST,
            "/api/centre/arrivals".to_string(),
            &admin,
            Some(json!({"carrier": "ZTO", "waybill": "731234567890", "weight_grams": 1.5})),
        ),
    ] {
        answers.push(t.call(method, &path, Some(token), body).await);
    }
    // Broken JSON, sent as text.
    for text in ["{\"carrier\": \"ZTO\",", "{\"carrier\" \"ZTO\"}", "[1, 2"] {
        let response = t
            .client
            .post(format!("{}{inbound}", t.base))
            .bearer_auth(&keeper_a)
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .unwrap();
        let status = response.status();
        answers.push((status, response.json().await.unwrap()));
    }
    let framework = [
        "Failed to",
        "deserialize",
        "invalid type",
        "invalid value",
        "invalid digit",
        "unknown variant",
        "expected u",
        "expected i64",
        "Cannot parse",
        "Invalid URL",
        "EOF while",
        "expected value",
        "expected `",
        "input contains",
        "premature end",
    ];
    for (status, answer) in answers {
        assert!(status.is_client_error(), "{status} {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{answer}");
        for words in framework {
            assert!(
                !message.contains(words),
                "{words:?} in {message:?} ({answer})"
            );
        }
    }
}

/// `/api/docs` is a page of the product: the vendored renderer and our
/// set-up script are served from the binary with the right types, the page
/// carries no inline script, and the licence comes with it.
#[tokio::test]
async fn the_api_page_is_served_by_the_product_with_its_renderer_and_licence() {
    let t = spawn_app().await;
    let response = t
        .client
        .get(format!("{}/api/docs", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(page.contains("<rapi-doc") && page.contains("spec-url=\"/api/openapi.json\""));
    let inline = regex::Regex::new(r"<script(\s[^>]*)?>").unwrap();
    for tag in inline.find_iter(&page) {
        assert!(
            tag.as_str().contains(" src=\"/api/docs/"),
            "{}",
            tag.as_str()
        );
    }
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN"
    );
    for (file, media, least) in [
        ("rapidoc-min.js", "text/javascript", 500_000),
        ("docs-init.js", "text/javascript", 100),
        ("LICENSE.txt", "text/plain", 500),
        ("rapidoc-min.js.LICENSE.txt", "text/plain", 100),
    ] {
        let response = t
            .client
            .get(format!("{}/api/docs/{file}", t.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(media),
            "{file}"
        );
        let body = response.bytes().await.unwrap();
        assert!(body.len() >= least, "{file}: {} bytes", body.len());
        if file == "LICENSE.txt" {
            assert!(String::from_utf8_lossy(&body).contains("MIT License"));
        }
    }
    let (status, answer) = t
        .call(Method::GET, "/api/docs/secrets.txt", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (_, landing) = t.call(Method::GET, "/", None, None).await;
    assert!(landing.as_str().unwrap().contains("/api/docs"));
}
