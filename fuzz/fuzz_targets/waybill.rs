//! Waybill numbers as scanners and manifests give them: never a panic; an
//! accepted number is normalised (parsing it again gives itself), within the
//! length limits, and its carrier suggestions never fail.
#![no_main]
use domain::WaybillNo;
use domain::limits::{WAYBILL_CHARS_MAX, WAYBILL_CHARS_MIN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(waybill) = WaybillNo::parse(text) {
        let normalised = waybill.as_str();
        assert!((WAYBILL_CHARS_MIN..=WAYBILL_CHARS_MAX).contains(&normalised.len()));
        assert_eq!(WaybillNo::parse(normalised).as_ref(), Ok(&waybill));
        assert!(waybill.tail().len() <= 4);
        let _ = waybill.suggest_carriers();
    }
    let _ = domain::waybill::is_valid_s10(text);
});
