//! The `app` crate's layers, checked from its source: a use-case module
//! imports the shared modules, `domain` and ports but no other use case, and
//! the shared modules (ports, the transition path and what follows it) import
//! no use case. What follows an event is dispatched from the one transition
//! path, so no use case needs another's internals. Only `crate::transition`
//! writes a parcel or records a parcel event.

use std::path::{Path, PathBuf};

/// The use cases: each is a module (a file, or a directory with `mod.rs`).
const USE_CASES: &[&str] = &[
    "auth",
    "board",
    "compliance",
    "county",
    "dashboard",
    "devices",
    "dispatch",
    "finance",
    "fleet",
    "holding",
    "idempotency",
    "inbound",
    "manifest",
    "notify",
    "parcels",
    "retention",
    "sending",
    "sort_plans",
    "stations",
    "terminal",
    "webhooks",
    // branch kiosks (issue 14).
    "kiosks",
    // branch presale (issue 14).
    "presale",
];

/// Shared by the use cases; none may name a use case.
const SHARED: &[&str] = &[
    "approvals",
    "audit",
    "blocking",
    "bots",
    "device_commands",
    "device_registry",
    "effects",
    "error",
    "keys",
    "ledger",
    "paging",
    "ports",
    "qr",
    "shelve",
    "transition",
    "lib.rs",
    // branch kiosk-dev (issue 14, session 10).
    "kiosk_devices",
    // branch vehicles2 (issue 20): the recipient's proof, the door terminal's
    // and the vehicle's.
    "pickup_proof",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file of a module: `name.rs`, or everything under `name/`.
fn files_of(module: &str) -> Vec<PathBuf> {
    let file = if module.ends_with(".rs") {
        src().join(module)
    } else {
        src().join(format!("{module}.rs"))
    };
    if file.exists() {
        return vec![file];
    }
    let mut files = Vec::new();
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// Code without comments, so a doc comment naming a module is no import.
fn code_of(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The use cases a file names through `crate::…`, including grouped
/// imports such as `use crate::{inbound, parcels}`.
fn use_cases_named(code: &str) -> Vec<&'static str> {
    let mut named = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let segment = if let Some(group) = rest.strip_prefix('{') {
            &group[..group.find('}').unwrap_or(group.len())]
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        };
        for word in segment.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if let Some(name) = USE_CASES.iter().find(|name| **name == word) {
                named.push(*name);
            }
        }
    }
    named.sort();
    named.dedup();
    named
}

#[test]
fn no_use_case_imports_another() {
    let mut breaches = Vec::new();
    for module in USE_CASES {
        for file in files_of(module) {
            for other in use_cases_named(&code_of(&file)) {
                if other != *module {
                    breaches.push(format!("{} names crate::{other}", file.display()));
                }
            }
        }
    }
    assert!(breaches.is_empty(), "{breaches:#?}");
}

#[test]
fn shared_modules_and_ports_import_no_use_case() {
    let mut breaches = Vec::new();
    for module in SHARED {
        for file in files_of(module) {
            let code = code_of(&file);
            // lib.rs declares the use-case modules; that is not an import.
            let code = if module == &"lib.rs" {
                code.lines()
                    .filter(|line| !line.trim_start().starts_with("pub mod "))
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                code
            };
            for other in use_cases_named(&code) {
                breaches.push(format!("{} names crate::{other}", file.display()));
            }
        }
    }
    assert!(breaches.is_empty(), "{breaches:#?}");
}

#[test]
fn only_the_transition_path_writes_parcels_and_their_events() {
    let writers = [
        ".update_parcel(",
        ".insert_event(",
        ".insert_events(",
        ".insert_parcel(",
        ".insert_new_parcels(",
    ];
    let mut breaches = Vec::new();
    for module in USE_CASES.iter().chain(SHARED) {
        if *module == "transition" || *module == "ports" {
            continue;
        }
        for file in files_of(module) {
            let code = code_of(&file);
            for writer in writers {
                if code.contains(writer) {
                    breaches.push(format!("{} calls {writer}…)", file.display()));
                }
            }
        }
    }
    assert!(breaches.is_empty(), "{breaches:#?}");
}

#[test]
fn the_checker_sees_an_import() {
    // The checks above would pass vacuously if the parser missed imports.
    assert_eq!(use_cases_named("use crate::inbound::lock;"), ["inbound"]);
    assert_eq!(
        use_cases_named("use crate::{App, county, parcels::X};"),
        ["county", "parcels"]
    );
    assert_eq!(
        use_cases_named("crate::webhooks::on_event(tx)"),
        ["webhooks"]
    );
    assert!(use_cases_named("use crate::ports::Tx;").is_empty());
    assert!(files_of("county").len() > 1);
    // Every source file belongs to a listed module.
    for entry in std::fs::read_dir(src()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let module = name.trim_end_matches(".rs");
        assert!(
            USE_CASES.contains(&module) || SHARED.contains(&module) || SHARED.contains(&&*name),
            "src/{name} is neither a use case nor shared: list it in tests/layers.rs"
        );
    }
}
