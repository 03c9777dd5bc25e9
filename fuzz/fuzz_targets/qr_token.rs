//! Pickup QR tokens. Random text must never verify, and no edit of a valid
//! token may verify to a different claim (the MAC covers every field, and a
//! variant spelling of a field, like `+7` or `07`, must not pass).
#![no_main]
use app::qr::{QrClaim, sign, verify};
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"fuzzing key, not a secret";

fuzz_target!(|input: (&str, i64, i64, u32, u16, u8)| {
    let (text, station_id, parcel_id, expires, at, byte) = input;
    let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    let _ = verify(KEY, text, now);

    let claim = QrClaim {
        station_id,
        parcel_id,
        expires_at: Utc
            .timestamp_opt(1_800_000_001 + i64::from(expires), 0)
            .unwrap(),
    };
    let token = sign(KEY, claim);
    assert_eq!(verify(KEY, &token, now).ok(), Some(claim));
    let mut edited = token.clone().into_bytes();
    let at = usize::from(at) % edited.len();
    edited[at] = byte;
    if let Ok(edited) = String::from_utf8(edited) {
        if let Ok(found) = verify(KEY, &edited, now) {
            assert_eq!(found, claim, "{edited:?} verified to another claim");
        }
    }
});
