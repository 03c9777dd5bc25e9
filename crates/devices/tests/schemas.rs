//! The contract's documents agree: every JSON example in `docs/devices.md`
//! validates against the schema its fence names (```` ```json command ````),
//! every message the Rust types make validates too, and what breaks the
//! contract is refused by the schemas as by the parsers.

use devices::auth::{ServerDeviceKey, sign_command};
use devices::config::SegmentConfig;
use devices::schemas::{SCHEMAS, schema};
use devices::{
    Ack, Channel, Command, DeviceKind, DeviceState, DoorSensor, LitGroup, Operation, Outcome,
    ScanEvent, topic,
};
use serde_json::Value;

fn validator(name: &str) -> jsonschema::Validator {
    let text = schema(&format!("{name}.schema.json")).unwrap_or_else(|| panic!("no schema {name}"));
    let value: Value = serde_json::from_str(text).unwrap();
    jsonschema::validator_for(&value).unwrap_or_else(|e| panic!("{name} is not a schema: {e}"))
}

fn check(name: &str, instance: &Value, context: &str) {
    let validator = validator(name);
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{context}: {instance} breaks {name}.schema.json: {errors:?}"
    );
}

fn check_bytes(name: &str, payload: &[u8], context: &str) {
    let value: Value =
        serde_json::from_slice(payload).unwrap_or_else(|e| panic!("{context}: not JSON ({e})"));
    check(name, &value, context);
}

/// `(schema, line, example)` for every ```` ```json NAME ```` fence.
fn doc_examples() -> Vec<(String, usize, Value)> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/devices.md"
    ))
    .unwrap();
    let mut examples = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```json") else {
            continue;
        };
        let name = info.trim();
        assert!(
            !name.is_empty(),
            "docs/devices.md:{}: a JSON example must name its schema (```json command)",
            number + 1
        );
        let mut block = String::new();
        for (_, line) in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            block.push_str(line);
            block.push('\n');
        }
        // One object per block, or several one after another.
        for value in serde_json::Deserializer::from_str(&block).into_iter::<Value>() {
            let value =
                value.unwrap_or_else(|e| panic!("docs/devices.md:{}: not JSON: {e}", number + 1));
            examples.push((name.to_string(), number + 1, value));
        }
    }
    examples
}

#[test]
fn every_json_example_in_the_contract_validates_against_its_schema() {
    let examples = doc_examples();
    for (name, _) in SCHEMAS {
        let short = name.trim_end_matches(".schema.json");
        assert!(
            examples.iter().any(|(schema, _, _)| schema == short),
            "docs/devices.md has no example of a {short} message"
        );
    }
    for (name, line, example) in &examples {
        check(name, example, &format!("docs/devices.md:{line}"));
    }
}

#[test]
fn the_examples_also_parse_with_the_rust_types() {
    for (name, line, example) in doc_examples() {
        let bytes = serde_json::to_vec(&example).unwrap();
        let parsed = match name.as_str() {
            "command" => Command::parse(&bytes)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            "ack" => Ack::parse(&bytes).map(|_| ()).map_err(|e| e.to_string()),
            "scan" => ScanEvent::parse(&bytes)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            "state" => serde_json::from_slice::<DeviceState>(&bytes)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            "config" => serde_json::from_slice::<SegmentConfig>(&bytes)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            // Branch `vehicles` (issue 20).
            "telemetry" => devices::vehicle::VehicleTelemetry::parse(&bytes).map(|_| ()),
            // Branch kiosk-dev (issue 14): a kiosk's scale and bin; its
            // devices' states parse as kiosk states too.
            "weight" => devices::kiosk::WeightReading::parse(&bytes)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            "drop" => devices::kiosk::BinDrop::parse(&bytes)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            other => panic!("docs/devices.md:{line}: unknown schema {other}"),
        };
        assert!(parsed.is_ok(), "docs/devices.md:{line}: {parsed:?}");
    }
}

#[test]
fn messages_the_rust_types_make_validate() {
    let server = ServerDeviceKey::new(vec![7; 32]);
    let key = server.device_key(3, DeviceKind::Lights, "shelves");
    let cmd_topic = topic(3, DeviceKind::Lights, "shelves", Channel::Command);
    for op in [
        Operation::Open { hold_ms: 8_000 },
        Operation::Status,
        Operation::Light {
            colour: "#00c853".into(),
            segments: (1..=256).collect(),
            duration_ms: 120_000,
        },
        Operation::Off {
            segments: vec![3, 9],
        },
        Operation::AllOff,
    ] {
        let command = Command {
            command_id: "pickup-381-light".into(),
            not_after_ms: 1_780_000_030_000,
            server_ms: Some(1_780_000_010_000),
            op,
        };
        let payload = command.to_payload();
        check_bytes("command", &payload, "a command");
        // As the bridge sends it: stamped, then signed.
        let stamped = devices::stamp_server_time(&payload, 1_780_000_010_001);
        check_bytes(
            "command",
            &sign_command(&key, &cmd_topic, &stamped),
            "a signed command",
        );
    }
    for outcome in [
        Outcome::Done,
        Outcome::Duplicate,
        Outcome::Expired,
        Outcome::Failed,
    ] {
        let ack = Ack {
            command_id: "c".into(),
            outcome,
            at_ms: 5,
            reason: (outcome == Outcome::Failed).then(|| "unknown_op: explode".into()),
        };
        check_bytes("ack", &serde_json::to_vec(&ack).unwrap(), "an ack");
    }
    let door = DeviceState {
        online: true,
        at_ms: Some(1),
        open: Some(true),
        open_until_ms: Some(9),
        door: Some(DoorSensor::Forced),
        model: Some("DC-1".into()),
        firmware: Some("1.0.3".into()),
        ..DeviceState::default()
    };
    let lights = DeviceState {
        online: true,
        lit: Some(vec![LitGroup {
            colour: "#2962ff".into(),
            segments: vec![1, 2],
            until_ms: 9,
        }]),
        lit_truncated: Some(false),
        config_version: Some("0123456789abcdef".into()),
        ..DeviceState::default()
    };
    for state in [door, lights, DeviceState::default()] {
        check_bytes("state", &serde_json::to_vec(&state).unwrap(), "a state");
    }
    let scan = ScanEvent {
        code: "SF1234567890123".into(),
        at_ms: 5,
    };
    check_bytes("scan", &serde_json::to_vec(&scan).unwrap(), "a scan");
    let slots: Vec<(String, u32, u32)> = (1..=4)
        .flat_map(|tier| (1..=10).map(move |slot| ("A".to_string(), tier, slot)))
        .collect();
    let config = SegmentConfig::from_slots(&slots, 5);
    let config_topic = topic(3, DeviceKind::Lights, "shelves", Channel::Config);
    check_bytes(
        "config",
        &sign_command(&key, &config_topic, &config.to_payload()),
        "a signed segment map",
    );
}

#[test]
fn what_breaks_the_contract_breaks_the_schemas() {
    for (name, bad) in [
        (
            "command",
            r#"{"command_id":"","not_after_ms":1,"op":"status"}"#,
        ),
        (
            "command",
            r#"{"command_id":"x","not_after_ms":1,"op":"open"}"#,
        ),
        (
            "command",
            r#"{"command_id":"x","not_after_ms":1,"op":"light","colour":"green","segments":[1],"duration_ms":5}"#,
        ),
        (
            "command",
            r#"{"command_id":"x","not_after_ms":1,"op":"off","segments":[0]}"#,
        ),
        ("ack", r#"{"command_id":"x","outcome":"maybe","at_ms":1}"#),
        ("ack", r#"{"command_id":"x","at_ms":1}"#),
        ("state", r#"{"open":true}"#),
        ("state", r#"{"online":true,"door":"ajar"}"#),
        ("scan", r#"{"code":"","at_ms":1}"#),
        (
            "config",
            r#"{"config_version":"x","server_ms":1,"segments":1}"#,
        ),
    ] {
        let value: Value = serde_json::from_str(bad).unwrap();
        assert!(
            !validator(name).is_valid(&value),
            "{bad} should break {name}.schema.json"
        );
    }
    // Unknown members and unknown ops are allowed: that is how 1.x grows.
    for (name, good) in [
        (
            "command",
            r#"{"command_id":"x","not_after_ms":1,"op":"dance","tempo":3}"#,
        ),
        (
            "ack",
            r#"{"command_id":"x","outcome":"done","at_ms":1,"rssi":-60}"#,
        ),
        ("state", r#"{"online":true,"battery":90}"#),
    ] {
        check(name, &serde_json::from_str(good).unwrap(), good);
    }
}

/// Branch kiosk-dev (issue 14): what a kiosk's devices and the server's
/// kiosk commands look like validates too, and the limits bite in both.
#[test]
fn kiosk_messages_validate_and_their_limits_bite() {
    use devices::kiosk::{BinDrop, KioskState, Paper, WeightReading};
    let weight = WeightReading {
        grams: 812,
        stable: true,
        at_ms: 5,
    };
    check_bytes("weight", &serde_json::to_vec(&weight).unwrap(), "weight");
    let drop = BinDrop {
        reference: "1100000000004".into(),
        fill_pct: Some(40),
        at_ms: 5,
    };
    check_bytes("drop", &serde_json::to_vec(&drop).unwrap(), "drop");
    let state = KioskState {
        online: true,
        paper: Some(Paper::Low),
        fill_pct: Some(99),
        full: Some(true),
        ..KioskState::default()
    };
    check_bytes("state", &serde_json::to_vec(&state).unwrap(), "kiosk state");
    for op in [
        Operation::Capture,
        Operation::PrintLabel {
            order_id: Some(42),
            zpl: "^XA^FDx^FS^XZ".into(),
        },
    ] {
        let command = Command {
            command_id: "k-1".into(),
            not_after_ms: 9,
            server_ms: Some(1),
            op,
        };
        check_bytes("command", &command.to_payload(), "kiosk command");
        assert_eq!(Command::parse(&command.to_payload()), Ok(command));
    }
    let too_heavy = serde_json::json!({"grams": 100_001, "stable": true, "at_ms": 1});
    assert!(!validator("weight").is_valid(&too_heavy));
    assert!(WeightReading::parse(too_heavy.to_string().as_bytes()).is_err());
    let long_label = serde_json::json!({"command_id": "k", "not_after_ms": 1, "op": "print_label", "zpl": "x".repeat(3585)});
    assert!(!validator("command").is_valid(&long_label));
    assert!(Command::parse(long_label.to_string().as_bytes()).is_err());
}
