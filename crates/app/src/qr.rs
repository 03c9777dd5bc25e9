//! Signed, expiring QR codes for arrival messages. The text a customer's
//! phone shows is `YZQ1.<station>.<parcel>.<expires unix s>.<mac>`, where
//! the mac is the first 16 bytes of HMAC-SHA256 over everything before it,
//! in hex, under the key file's QR key (`app::keys`). A terminal that
//! reads one may open the door only for that station and only until it
//! expires; a forged or altered code never verifies. Short enough for a
//! small QR code (version 4) on a cheap phone screen.

use chrono::{DateTime, Utc};
use domain::terminal::QR_PREFIX;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAC_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrClaim {
    pub station_id: i64,
    pub parcel_id: i64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("this is not a yizhan pickup QR code")]
    Malformed,
    #[error("this QR code was not issued by this system")]
    BadSignature,
    #[error("this QR code has expired")]
    Expired,
}

fn mac(key: &[u8], body: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(body.as_bytes());
    mac.finalize().into_bytes()[..MAC_BYTES].to_vec()
}

pub fn sign(key: &[u8], claim: QrClaim) -> String {
    let body = format!(
        "{QR_PREFIX}{}.{}.{}",
        claim.station_id,
        claim.parcel_id,
        claim.expires_at.timestamp()
    );
    let mac = hex::encode(mac(key, &body));
    format!("{body}.{mac}")
}

pub fn verify(key: &[u8], text: &str, now: DateTime<Utc>) -> Result<QrClaim, QrError> {
    let text = text.trim();
    let rest = text.strip_prefix(QR_PREFIX).ok_or(QrError::Malformed)?;
    let (body_rest, mac_hex) = rest.rsplit_once('.').ok_or(QrError::Malformed)?;
    let mut fields = body_rest.split('.');
    let (Some(station), Some(parcel), Some(expires), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(QrError::Malformed);
    };
    let station_id: i64 = station.parse().map_err(|_| QrError::Malformed)?;
    let parcel_id: i64 = parcel.parse().map_err(|_| QrError::Malformed)?;
    let expires: i64 = expires.parse().map_err(|_| QrError::Malformed)?;
    let given = hex::decode(mac_hex).map_err(|_| QrError::Malformed)?;
    if given.len() != MAC_BYTES {
        return Err(QrError::Malformed);
    }
    let mut expected = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    let signed_part = text.strip_suffix(mac_hex).unwrap_or(text);
    expected.update(
        signed_part
            .strip_suffix('.')
            .unwrap_or(signed_part)
            .as_bytes(),
    );
    // Constant-time comparison of the truncated tag.
    expected
        .verify_truncated_left(&given)
        .map_err(|_| QrError::BadSignature)?;
    let expires_at = DateTime::from_timestamp(expires, 0).ok_or(QrError::Malformed)?;
    if now >= expires_at {
        return Err(QrError::Expired);
    }
    Ok(QrClaim {
        station_id,
        parcel_id,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn claim() -> QrClaim {
        QrClaim {
            station_id: 3,
            parcel_id: 4217,
            expires_at: DateTime::from_timestamp(1_800_600_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_signed_code_verifies_until_it_expires() {
        let key = b"k".repeat(32);
        let text = sign(&key, claim());
        assert!(text.starts_with("YZQ1.3.4217.1800600000."));
        assert!(text.len() < 80, "{text}");
        let before = DateTime::from_timestamp(1_800_599_999, 0).unwrap();
        assert_eq!(verify(&key, &text, before), Ok(claim()));
        let at = DateTime::from_timestamp(1_800_600_000, 0).unwrap();
        assert_eq!(verify(&key, &text, at), Err(QrError::Expired));
    }

    #[test]
    fn another_key_or_an_altered_field_never_verifies() {
        let key = b"k".repeat(32);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let text = sign(&key, claim());
        assert_eq!(
            verify(&b"x".repeat(32), &text, now),
            Err(QrError::BadSignature)
        );
        let altered = text.replace("YZQ1.3.", "YZQ1.4.");
        assert_eq!(verify(&key, &altered, now), Err(QrError::BadSignature));
        let later = text.replace(".1800600000.", ".1900600000.");
        assert_eq!(verify(&key, &later, now), Err(QrError::BadSignature));
        assert_eq!(verify(&key, "YZQ1.3.4217", now), Err(QrError::Malformed));
        assert_eq!(verify(&key, "A-3-0217", now), Err(QrError::Malformed));
    }

    proptest! {
        #[test]
        fn verify_never_panics(text in "\\PC{0,120}") {
            let _ = verify(b"key", &text, DateTime::from_timestamp(0, 0).unwrap());
            let prefixed = format!("YZQ1.{text}");
            let _ = verify(b"key", &prefixed, DateTime::from_timestamp(0, 0).unwrap());
        }
    }
}
