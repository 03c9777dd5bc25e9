//! Phone numbers and phone tails as people type them: never a panic; an
//! accepted number parses again from its own full form to the same number,
//! and none of its masked renderings (Display, Debug, JSON) holds the whole
//! number.
#![no_main]
use domain::Phone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(phone) = Phone::parse(text) {
        let full = phone.full();
        assert_eq!(Phone::parse(&full).as_ref(), Ok(&phone), "{full:?}");
        if let Phone::Mobile(number) = &phone {
            for shown in [
                phone.to_string(),
                format!("{phone:?}"),
                serde_json::to_string(&phone).unwrap(),
                phone.masked(),
            ] {
                assert!(!shown.contains(number.as_str()), "{shown} shows {number}");
            }
        }
        assert!(phone.tail().len() <= 6);
    }
    if let Ok(tail) = domain::phone::parse_tail(text) {
        assert!(tail.bytes().all(|b| b.is_ascii_digit()));
    }
});
