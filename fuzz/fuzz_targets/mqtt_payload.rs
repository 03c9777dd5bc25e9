//! Whatever arrives on a device topic: commands (as a device parses them),
//! scans, acks, states, segment maps and topics. Never a panic; an accepted command serialises
//! back to a payload that parses to the same command.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(command) = devices::Command::parse(data) {
        let again = serde_json::to_vec(&command).unwrap();
        assert_eq!(
            devices::Command::parse(&again).as_ref().ok(),
            Some(&command)
        );
    }
    let _ = devices::ScanEvent::parse(data);
    let _ = devices::Ack::parse(data);
    let _ = devices::DeviceState::parse(data);
    if let Ok(topic) = std::str::from_utf8(data) {
        let _ = devices::parse_topic(topic);
    }
});
