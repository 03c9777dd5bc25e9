//! The JSON Schemas of protocol 1.0, one per message, compiled in from
//! `crates/devices/schemas/` so the product serves exactly the files the
//! repository ships (`GET /api/devices/schemas/{name}`, no sign-in: they
//! hold no secrets). `docs/devices.md` is the contract they belong to;
//! `tests/schemas.rs` checks every example there against them.

/// `(file name, schema)` for every message of the protocol.
pub const SCHEMAS: [(&str, &str); 8] = [
    (
        "command.schema.json",
        include_str!("../schemas/command.schema.json"),
    ),
    (
        "ack.schema.json",
        include_str!("../schemas/ack.schema.json"),
    ),
    (
        "state.schema.json",
        include_str!("../schemas/state.schema.json"),
    ),
    (
        "scan.schema.json",
        include_str!("../schemas/scan.schema.json"),
    ),
    (
        "config.schema.json",
        include_str!("../schemas/config.schema.json"),
    ),
    (
        "telemetry.schema.json",
        include_str!("../schemas/telemetry.schema.json"),
    ),
    // A kiosk's scale and bin (issue 14, branch kiosk-dev).
    (
        "weight.schema.json",
        include_str!("../schemas/weight.schema.json"),
    ),
    (
        "drop.schema.json",
        include_str!("../schemas/drop.schema.json"),
    ),
];

/// The schema file called `name`, e.g. `ack.schema.json`.
pub fn schema(name: &str) -> Option<&'static str> {
    SCHEMAS
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_schema_is_json_and_found_by_its_name() {
        for (name, text) in super::SCHEMAS {
            let value: serde_json::Value = serde_json::from_str(text).expect(name);
            assert_eq!(value["type"], "object", "{name}");
            assert_eq!(super::schema(name), Some(text));
        }
        assert_eq!(super::schema("../Cargo.toml"), None);
    }
}
