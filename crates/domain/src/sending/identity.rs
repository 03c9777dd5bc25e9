//! Real-name sending (实名收寄): the documents a sender may show and the
//! checks on their numbers. The 居民身份证 number is checked in full (GB
//! 11643-1999: division, birth date, sequence, ISO 7064 MOD 11-2 check
//! character); the others by their published shapes. A [`Document`] masks
//! itself in `Debug`, `Display` and `Serialize`; the whole number is reached
//! only through [`Document::full`], for the store to seal.

use serde::{Deserialize, Serialize};

/// The documents accepted for real-name sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// 居民身份证: 18 characters with the GB 11643 check character.
    ResidentId,
    /// 港澳台居民居住证: the resident ID's shape, division 810000 (Hong
    /// Kong), 820000 (Macao) or 830000 (Taiwan).
    HmtResidencePermit,
    /// 港澳居民来往内地通行证: H or M and 8 or 10 digits.
    HkMacaoPass,
    /// 台湾居民来往大陆通行证: 8 digits.
    TaiwanPass,
    /// 外国人永久居留身份证: the 2023 card (18 characters starting 9, with the
    /// same check character) or the older 15 (three letters, twelve digits).
    ForeignPermanentResident,
    /// A passport: 5 to 17 letters and digits.
    Passport,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::ResidentId,
        DocumentKind::HmtResidencePermit,
        DocumentKind::HkMacaoPass,
        DocumentKind::TaiwanPass,
        DocumentKind::ForeignPermanentResident,
        DocumentKind::Passport,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DocumentKind::ResidentId => "resident_id",
            DocumentKind::HmtResidencePermit => "hmt_residence_permit",
            DocumentKind::HkMacaoPass => "hk_macao_pass",
            DocumentKind::TaiwanPass => "taiwan_pass",
            DocumentKind::ForeignPermanentResident => "foreign_permanent_resident",
            DocumentKind::Passport => "passport",
        }
    }

    pub fn parse(code: &str) -> Option<DocumentKind> {
        DocumentKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            DocumentKind::ResidentId => "居民身份证",
            DocumentKind::HmtResidencePermit => "港澳台居民居住证",
            DocumentKind::HkMacaoPass => "港澳居民来往内地通行证",
            DocumentKind::TaiwanPass => "台湾居民来往大陆通行证",
            DocumentKind::ForeignPermanentResident => "外国人永久居留身份证",
            DocumentKind::Passport => "护照",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            DocumentKind::ResidentId => "resident identity card",
            DocumentKind::HmtResidencePermit => {
                "residence permit for Hong Kong, Macao and Taiwan residents"
            }
            DocumentKind::HkMacaoPass => "Mainland travel permit for Hong Kong and Macao residents",
            DocumentKind::TaiwanPass => "Mainland travel permit for Taiwan residents",
            DocumentKind::ForeignPermanentResident => "foreign permanent resident ID card",
            DocumentKind::Passport => "passport",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the document number is empty")]
    Empty,
    #[error("a resident ID number has 18 characters: 17 digits and a digit or X")]
    Shape,
    #[error("the birth date in the ID number ({0}) is not a real date")]
    BirthDate(String),
    #[error("the check character does not match: the number was mistyped")]
    CheckCharacter,
    #[error("this residence permit must start 810000, 820000 or 830000")]
    PermitRegion,
    #[error("the number does not have the shape of this document: {0}")]
    Format(&'static str),
}

/// A checked document number. Masked wherever it is shown.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Document {
    kind: DocumentKind,
    number: String,
}

/// Weights of GB 11643-1999 over the first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The check character of the first 17 digits of an 18-character number
/// (ISO 7064 MOD 11-2), or `None` when they are not 17 digits.
pub fn id_check_character(first_17: &str) -> Option<char> {
    let bytes = first_17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    Some(ID_CHECK[(sum % 11) as usize] as char)
}

/// The 18-character shape shared by the resident ID, the residence permit
/// and the 2023 permanent residence card: 17 digits, a check character, and
/// for the resident ID a real birth date.
fn check_eighteen(number: &str, birth_date: bool) -> Result<(), DocumentError> {
    let bytes = number.as_bytes();
    if bytes.len() != 18
        || !bytes[..17].iter().all(u8::is_ascii_digit)
        || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
    {
        return Err(DocumentError::Shape);
    }
    if birth_date {
        let date = &number[6..14];
        let valid = chrono::NaiveDate::parse_from_str(date, "%Y%m%d")
            .ok()
            .filter(|day| (1900..=2099).contains(&chrono::Datelike::year(day)));
        if valid.is_none() {
            return Err(DocumentError::BirthDate(date.to_string()));
        }
    }
    if id_check_character(&number[..17]) != Some(bytes[17] as char) {
        return Err(DocumentError::CheckCharacter);
    }
    Ok(())
}

impl Document {
    /// Checks a number typed for a document: spaces dropped, letters upper
    /// case (a lower-case `x` is the same check character).
    pub fn parse(kind: DocumentKind, number: &str) -> Result<Document, DocumentError> {
        let number: String = number
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if number.is_empty() {
            return Err(DocumentError::Empty);
        }
        if number.chars().count() > 32 {
            return Err(DocumentError::Format("at most 32 characters"));
        }
        let is = |pattern: &dyn Fn(&[u8]) -> bool| pattern(number.as_bytes());
        match kind {
            DocumentKind::ResidentId => check_eighteen(&number, true)?,
            DocumentKind::HmtResidencePermit => {
                check_eighteen(&number, true)?;
                if !["810000", "820000", "830000"].contains(&&number[..6]) {
                    return Err(DocumentError::PermitRegion);
                }
            }
            DocumentKind::HkMacaoPass => {
                if !is(&|b| {
                    matches!(b.first(), Some(b'H' | b'M'))
                        && matches!(b.len(), 9 | 11)
                        && b[1..].iter().all(u8::is_ascii_digit)
                }) {
                    return Err(DocumentError::Format("H or M and 8 or 10 digits"));
                }
            }
            DocumentKind::TaiwanPass => {
                if !is(&|b| b.len() == 8 && b.iter().all(u8::is_ascii_digit)) {
                    return Err(DocumentError::Format("8 digits"));
                }
            }
            DocumentKind::ForeignPermanentResident => {
                let old = is(&|b| {
                    b.len() == 15
                        && b[..3].iter().all(u8::is_ascii_uppercase)
                        && b[3..].iter().all(u8::is_ascii_digit)
                });
                if !old {
                    if !number.starts_with('9') {
                        return Err(DocumentError::Format(
                            "18 characters starting 9, or 3 letters and 12 digits",
                        ));
                    }
                    check_eighteen(&number, false)?;
                }
            }
            DocumentKind::Passport => {
                if !is(&|b| (5..=17).contains(&b.len()) && b.iter().all(u8::is_ascii_alphanumeric))
                {
                    return Err(DocumentError::Format("5 to 17 letters and digits"));
                }
            }
        }
        Ok(Document { kind, number })
    }

    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The whole number: for sealing at rest, never for showing.
    pub fn full(&self) -> &str {
        &self.number
    }

    /// The first and the last two characters, the rest starred
    /// (`11**************2X`): enough for the sender to recognise their
    /// document, too little to use it.
    pub fn masked(&self) -> String {
        mask(&self.number)
    }
}

/// Masks any document number the way [`Document::masked`] does.
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    let mut out: String = chars[..2].iter().collect();
    out.push_str(&"*".repeat(n - 4));
    out.extend(&chars[n - 2..]);
    out
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Document({}, {})", self.kind.code(), self.masked())
    }
}

impl std::fmt::Display for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for Document {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut document = serializer.serialize_struct("Document", 2)?;
        document.serialize_field("kind", &self.kind)?;
        document.serialize_field("masked", &self.masked())?;
        document.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_published_example_is_valid_and_masked() {
        let id = Document::parse(DocumentKind::ResidentId, "11010519491231002x").unwrap();
        assert_eq!(id.full(), "11010519491231002X");
        assert_eq!(id.masked(), "11**************2X");
        assert_eq!(
            format!("{id:?}"),
            "Document(resident_id, 11**************2X)"
        );
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            r#"{"kind":"resident_id","masked":"11**************2X"}"#
        );
    }

    #[test]
    fn bad_numbers_say_what_is_wrong() {
        let parse = |n| Document::parse(DocumentKind::ResidentId, n);
        assert_eq!(
            parse("110105194912310021"),
            Err(DocumentError::CheckCharacter)
        );
        assert_eq!(parse("1101051949123100"), Err(DocumentError::Shape));
        assert!(matches!(
            parse("110105194902300021"),
            Err(DocumentError::BirthDate(_))
        ));
        assert_eq!(parse(" "), Err(DocumentError::Empty));
        let permit = "810000199408230021";
        let check = id_check_character(&permit[..17]).unwrap();
        let permit = format!("{}{check}", &permit[..17]);
        assert!(Document::parse(DocumentKind::HmtResidencePermit, &permit).is_ok());
        assert!(Document::parse(DocumentKind::HmtResidencePermit, "11010519491231002X").is_err());
        assert!(Document::parse(DocumentKind::HkMacaoPass, "H12345678").is_ok());
        assert!(Document::parse(DocumentKind::HkMacaoPass, "X12345678").is_err());
        assert!(Document::parse(DocumentKind::TaiwanPass, "12345678").is_ok());
        assert!(Document::parse(DocumentKind::Passport, "E1234567").is_ok());
        assert!(Document::parse(DocumentKind::Passport, "E1").is_err());
        assert!(Document::parse(DocumentKind::ForeignPermanentResident, "ABC123456789012").is_ok());
    }

    /// A valid resident ID: any division digits, a real birth date, any
    /// sequence, and its check character.
    fn valid_id() -> impl Strategy<Value = String> {
        (100_000u32..=999_999, 0i64..(200 * 365), 0u32..1000).prop_map(
            |(division, day_idx, sequence)| {
                let birth = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()
                    + chrono::Duration::days(day_idx);
                let first = format!("{division:06}{}{sequence:03}", birth.format("%Y%m%d"));
                let check = id_check_character(&first).unwrap();
                format!("{first}{check}")
            },
        )
    }

    proptest! {
        #[test]
        fn valid_numbers_pass(id in valid_id()) {
            prop_assert!(Document::parse(DocumentKind::ResidentId, &id).is_ok());
        }

        #[test]
        fn any_one_character_change_fails(
            id in valid_id(),
            position in 0usize..18,
            replacement in prop::sample::select(b"0123456789X".to_vec()),
        ) {
            let mut bytes = id.clone().into_bytes();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(
                Document::parse(DocumentKind::ResidentId, &changed).is_err(),
                "{} passed after changing {} at {}", changed, id, position
            );
        }
    }
}
