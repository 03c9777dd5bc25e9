//! The sending tariff and the quote. A tariff file (TOML) holds numbered
//! versions with effective dates, like the co-delivery agreements: the
//! highest version whose period contains the day applies
//! (`county::Period::effective`). A version prices by zone — the
//! destination's relation to the origin (same county, city, province, or a
//! list of provinces), the last zone catching every other destination — with
//! a first weight and a price per additional step, billed on the larger of
//! the actual and the volumetric weight, plus surcharges and a minimum.

use crate::Fen;
use crate::county::Period;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The 31 provinces of the mainland by their two-digit division codes.
pub const PROVINCES: [(&str, &str); 31] = [
    ("11", "北京"),
    ("12", "天津"),
    ("13", "河北"),
    ("14", "山西"),
    ("15", "内蒙古"),
    ("21", "辽宁"),
    ("22", "吉林"),
    ("23", "黑龙江"),
    ("31", "上海"),
    ("32", "江苏"),
    ("33", "浙江"),
    ("34", "安徽"),
    ("35", "福建"),
    ("36", "江西"),
    ("37", "山东"),
    ("41", "河南"),
    ("42", "湖北"),
    ("43", "湖南"),
    ("44", "广东"),
    ("45", "广西"),
    ("46", "海南"),
    ("50", "重庆"),
    ("51", "四川"),
    ("52", "贵州"),
    ("53", "云南"),
    ("54", "西藏"),
    ("61", "陕西"),
    ("62", "甘肃"),
    ("63", "青海"),
    ("64", "宁夏"),
    ("65", "新疆"),
];

/// The tariff the repository ships (`crates/domain/tariffs/default.toml`):
/// the demo county's, and a starting point for a real one.
pub const DEFAULT_TARIFF_TOML: &str = include_str!("../../tariffs/default.toml");

/// Limits on what a quote accepts and a tariff may say.
pub const SIDE_CM_MAX: u32 = 300;
pub const ZONES_MAX: usize = 20;
pub const SURCHARGES_MAX: usize = 20;
pub const VERSIONS_MAX: usize = 100;
/// Highest price of any one figure in a tariff: 10,000 yuan.
pub const TARIFF_FEN_MAX: i64 = 1_000_000;

/// A division code as the quote reads it: 2 (province), 4 (city), 6
/// (county), 9 (township) or 12 (village) digits of the NBS 2023 codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Division(String);

impl Division {
    pub fn parse(code: &str) -> Result<Division, String> {
        let code = code.trim();
        if !matches!(code.len(), 2 | 4 | 6 | 9 | 12) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "division code {code:?} must be 2, 4, 6, 9 or 12 digits (e.g. 510182)"
            ));
        }
        if !PROVINCES
            .iter()
            .any(|(province, _)| code.starts_with(province))
        {
            return Err(format!(
                "division code {code:?} does not start with a mainland province's code"
            ));
        }
        Ok(Division(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn province(&self) -> &str {
        &self.0[..2]
    }

    fn prefix(&self, digits: usize) -> Option<&str> {
        self.0.get(..digits)
    }
}

/// How a zone picks destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneMatch {
    SameCounty,
    SameCity,
    SameProvince,
    /// The provinces listed in `provinces`.
    Provinces,
    /// Every destination no earlier zone took; the last zone, and only it.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    #[serde(rename = "match")]
    pub matches: ZoneMatch,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provinces: Vec<String>,
    /// The price of the first weight.
    pub first_fen: i64,
    /// The price of each further step (or part of one).
    pub step_fen: i64,
}

/// A fee added when all of its conditions hold (a surcharge without
/// conditions applies to every order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surcharge {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub fen: i64,
    /// Only for these zones' codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Only for these inspection categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Only when the billed weight is above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_grams_over: Option<u32>,
    /// Only when the longest side is above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_side_cm_over: Option<u32>,
}

/// One version of the tariff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TariffVersion {
    pub version: u32,
    /// First day in effect (Asia/Shanghai), inclusive.
    pub from: NaiveDate,
    /// Last day in effect, inclusive; none means open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    /// The weight the first price covers.
    pub first_grams: u32,
    /// Each further step of weight.
    pub step_grams: u32,
    /// Volumetric weight in kg is L×W×H (cm) over this.
    pub volumetric_divisor: u32,
    /// The heaviest item this tariff takes.
    pub weight_grams_max: u32,
    /// No quote is below this.
    pub minimum_fen: i64,
    #[serde(rename = "zone")]
    pub zones: Vec<Zone>,
    #[serde(rename = "surcharge", default)]
    pub surcharges: Vec<Surcharge>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TariffFile {
    #[serde(rename = "version")]
    versions: Vec<TariffVersion>,
}

/// A parsed and checked tariff: every version, lowest number first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tariff {
    pub versions: Vec<TariffVersion>,
}

fn fen_ok(what: &str, fen: i64) -> Result<(), String> {
    if (0..=TARIFF_FEN_MAX).contains(&fen) {
        Ok(())
    } else {
        Err(format!("{what} {fen} fen is outside 0..={TARIFF_FEN_MAX}"))
    }
}

impl TariffVersion {
    pub fn period(&self) -> Period {
        Period {
            from: self.from,
            to: self.to,
        }
    }

    fn validate(&self) -> Result<(), String> {
        let v = self.version;
        Period::new(self.from, self.to).map_err(|e| format!("version {v}: {e}"))?;
        if self.first_grams == 0 || self.step_grams == 0 || self.volumetric_divisor == 0 {
            return Err(format!(
                "version {v}: first_grams, step_grams and volumetric_divisor must be above 0"
            ));
        }
        if self.weight_grams_max == 0 || self.weight_grams_max > crate::county::WEIGHT_GRAMS_MAX {
            return Err(format!(
                "version {v}: weight_grams_max must be 1..={}",
                crate::county::WEIGHT_GRAMS_MAX
            ));
        }
        fen_ok("minimum_fen", self.minimum_fen)?;
        if self.zones.is_empty() || self.zones.len() > ZONES_MAX {
            return Err(format!("version {v}: 1 to {ZONES_MAX} zones"));
        }
        let mut codes = std::collections::HashSet::new();
        for (idx, zone) in self.zones.iter().enumerate() {
            if !codes.insert(zone.code.as_str()) || zone.code.trim().is_empty() {
                return Err(format!(
                    "version {v}: zone code {:?} is empty or repeated",
                    zone.code
                ));
            }
            fen_ok("first_fen", zone.first_fen)?;
            fen_ok("step_fen", zone.step_fen)?;
            let last = idx + 1 == self.zones.len();
            match (zone.matches, last) {
                (ZoneMatch::Other, false) => {
                    return Err(format!(
                        "version {v}: zone {} matches \"other\" but is not the last zone",
                        zone.code
                    ));
                }
                (m, true) if m != ZoneMatch::Other => {
                    return Err(format!(
                        "version {v}: the last zone must match \"other\", so every destination has a zone"
                    ));
                }
                _ => {}
            }
            if (zone.matches == ZoneMatch::Provinces) == zone.provinces.is_empty() {
                return Err(format!(
                    "version {v}: zone {} lists provinces only with match = \"provinces\", and then at least one",
                    zone.code
                ));
            }
            for province in &zone.provinces {
                if !PROVINCES.iter().any(|(code, _)| code == province) {
                    return Err(format!(
                        "version {v}: zone {}: {province:?} is not a province code",
                        zone.code
                    ));
                }
            }
        }
        if self.surcharges.len() > SURCHARGES_MAX {
            return Err(format!("version {v}: at most {SURCHARGES_MAX} surcharges"));
        }
        for surcharge in &self.surcharges {
            fen_ok("surcharge", surcharge.fen)?;
            for zone in &surcharge.zones {
                if !codes.contains(zone.as_str()) {
                    return Err(format!(
                        "version {v}: surcharge {} names zone {zone:?}, which this version lacks",
                        surcharge.code
                    ));
                }
            }
            for category in &surcharge.categories {
                if super::inspection::category(category).is_none() {
                    return Err(format!(
                        "version {v}: surcharge {} names category {category:?}, which the catalogue lacks",
                        surcharge.code
                    ));
                }
            }
        }
        Ok(())
    }

    /// The zone of a destination seen from an origin: the first zone that
    /// matches. The last zone matches everything, so there is always one.
    pub fn zone(&self, from: &Division, to: &Division) -> &Zone {
        let same = |digits: usize| {
            from.prefix(digits)
                .zip(to.prefix(digits))
                .is_some_and(|(a, b)| a == b)
        };
        self.zones
            .iter()
            .find(|zone| match zone.matches {
                ZoneMatch::SameCounty => same(6),
                ZoneMatch::SameCity => same(4),
                ZoneMatch::SameProvince => same(2),
                ZoneMatch::Provinces => zone.provinces.iter().any(|p| p == to.province()),
                ZoneMatch::Other => true,
            })
            .expect("a validated version ends with a zone matching every destination")
    }

    /// Prices one item.
    pub fn quote(&self, request: &QuoteRequest) -> Result<Quote, QuoteError> {
        if request.weight_grams == 0 || request.weight_grams > self.weight_grams_max {
            return Err(QuoteError::Weight {
                grams_max: self.weight_grams_max,
            });
        }
        let volumetric_grams = match request.size_cm {
            Some(size) => Some(volumetric_grams(size, self.volumetric_divisor)?),
            None => None,
        };
        let billed_grams = request
            .weight_grams
            .max(volumetric_grams.unwrap_or_default());
        let zone = self.zone(&request.from, &request.to);
        let extra_grams = billed_grams.saturating_sub(self.first_grams);
        let steps = extra_grams.div_ceil(self.step_grams);
        let base_fen = zone.first_fen + i64::from(steps) * zone.step_fen;
        let longest = request.size_cm.map(|(l, w, h)| l.max(w).max(h));
        let surcharges: Vec<AppliedSurcharge> = self
            .surcharges
            .iter()
            .filter(|s| s.zones.is_empty() || s.zones.contains(&zone.code))
            .filter(|s| {
                s.categories.is_empty()
                    || request
                        .category
                        .as_deref()
                        .is_some_and(|c| s.categories.iter().any(|x| x == c))
            })
            .filter(|s| s.billed_grams_over.is_none_or(|over| billed_grams > over))
            .filter(|s| {
                s.longest_side_cm_over
                    .is_none_or(|over| longest.is_some_and(|side| side > over))
            })
            .map(|s| AppliedSurcharge {
                code: s.code.clone(),
                name_zh: s.name_zh.clone(),
                name_en: s.name_en.clone(),
                fen: Fen(s.fen),
            })
            .collect();
        let subtotal = base_fen + surcharges.iter().map(|s| s.fen.0).sum::<i64>();
        let price = subtotal.max(self.minimum_fen);
        Ok(Quote {
            tariff_version: self.version,
            zone: zone.code.clone(),
            zone_name_zh: zone.name_zh.clone(),
            zone_name_en: zone.name_en.clone(),
            weight_grams: request.weight_grams,
            volumetric_grams,
            billed_grams,
            first_grams: self.first_grams,
            first_fen: Fen(zone.first_fen),
            steps,
            step_grams: self.step_grams,
            step_fen: Fen(zone.step_fen),
            surcharges,
            minimum_applied: price > subtotal,
            price_fen: Fen(price),
        })
    }
}

/// Volumetric weight in grams of an item of `(l, w, h)` cm: L×W×H / divisor
/// kilograms, rounded up to the gram.
pub fn volumetric_grams((l, w, h): (u32, u32, u32), divisor: u32) -> Result<u32, QuoteError> {
    for side in [l, w, h] {
        if side == 0 || side > SIDE_CM_MAX {
            return Err(QuoteError::Size {
                side_cm_max: SIDE_CM_MAX,
            });
        }
    }
    let cubic = u64::from(l) * u64::from(w) * u64::from(h);
    let grams = (cubic * 1000).div_ceil(u64::from(divisor.max(1)));
    Ok(u32::try_from(grams).unwrap_or(u32::MAX))
}

impl Tariff {
    /// Parses and checks a tariff file.
    pub fn parse_toml(text: &str) -> Result<Tariff, String> {
        let file: TariffFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.versions.is_empty() || file.versions.len() > VERSIONS_MAX {
            return Err(format!("a tariff has 1 to {VERSIONS_MAX} versions"));
        }
        let mut versions = file.versions;
        versions.sort_by_key(|v| v.version);
        for pair in versions.windows(2) {
            if pair[0].version == pair[1].version {
                return Err(format!("version {} is given twice", pair[0].version));
            }
        }
        for version in &versions {
            version.validate()?;
        }
        Ok(Tariff { versions })
    }

    /// The tariff shipped with the repository.
    pub fn default_tariff() -> Tariff {
        Tariff::parse_toml(DEFAULT_TARIFF_TOML).expect("the shipped tariff is valid")
    }

    /// The version in effect on a Shanghai day.
    pub fn effective(&self, day: NaiveDate) -> Option<&TariffVersion> {
        Period::effective(&self.versions, day, |v| (v.version, v.period()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    pub from: Division,
    pub to: Division,
    pub weight_grams: u32,
    /// Length, width and height in whole centimetres.
    pub size_cm: Option<(u32, u32, u32)>,
    /// The inspection category, for surcharges that name one.
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedSurcharge {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub fen: Fen,
}

/// A price and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub tariff_version: u32,
    pub zone: String,
    pub zone_name_zh: String,
    pub zone_name_en: String,
    pub weight_grams: u32,
    pub volumetric_grams: Option<u32>,
    pub billed_grams: u32,
    pub first_grams: u32,
    pub first_fen: Fen,
    /// Further steps charged beyond the first weight.
    pub steps: u32,
    pub step_grams: u32,
    pub step_fen: Fen,
    pub surcharges: Vec<AppliedSurcharge>,
    pub minimum_applied: bool,
    pub price_fen: Fen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("the weight must be 1 to {grams_max} grams")]
    Weight { grams_max: u32 },
    #[error("each side must be 1 to {side_cm_max} cm")]
    Size { side_cm_max: u32 },
}

/// Parses `LxWxH` in centimetres (`30x20x10`; `×` and `*` also separate).
pub fn parse_size(text: &str) -> Result<(u32, u32, u32), String> {
    let parts: Vec<&str> = text.split(['x', 'X', '×', '*']).map(str::trim).collect();
    let bad = || format!("size {text:?} must be LxWxH in whole centimetres, e.g. 30x20x10");
    if parts.len() != 3 {
        return Err(bad());
    }
    let side = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let size = (side(parts[0])?, side(parts[1])?, side(parts[2])?);
    for value in [size.0, size.1, size.2] {
        if value == 0 || value > SIDE_CM_MAX {
            return Err(format!("each side must be 1 to {SIDE_CM_MAX} cm"));
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn division(code: &str) -> Division {
        Division::parse(code).unwrap()
    }

    fn request(to: &str, grams: u32) -> QuoteRequest {
        QuoteRequest {
            from: division("510182"),
            to: division(to),
            weight_grams: grams,
            size_cm: None,
            category: None,
        }
    }

    fn version() -> TariffVersion {
        let tariff = Tariff::default_tariff();
        tariff
            .effective(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap())
            .unwrap()
            .clone()
    }

    #[test]
    fn the_shipped_tariff_parses_and_zones_by_relation() {
        let v = version();
        assert_eq!(
            v.zone(&division("510182"), &division("510182103")).code,
            "county"
        );
        assert_eq!(
            v.zone(&division("510182"), &division("510104")).code,
            "city"
        );
        assert_eq!(
            v.zone(&division("510182"), &division("511302")).code,
            "province"
        );
        assert_eq!(
            v.zone(&division("510182"), &division("500101")).code,
            "neighbour"
        );
        assert_eq!(
            v.zone(&division("510182"), &division("650102")).code,
            "remote"
        );
        assert_eq!(
            v.zone(&division("510182"), &division("330727")).code,
            "national"
        );
    }

    #[test]
    fn the_first_weight_then_each_step_or_part_of_one() {
        let v = version();
        let county = |grams| v.quote(&request("510182", grams)).unwrap();
        let first = county(1000);
        assert_eq!(first.steps, 0);
        assert_eq!(first.price_fen, first.first_fen.max(Fen(v.minimum_fen)));
        let next = county(1001);
        assert_eq!(next.steps, 1);
        assert_eq!(next.price_fen.0, first.price_fen.0 + next.step_fen.0);
        assert_eq!(county(2000).price_fen, next.price_fen);
        assert!(v.quote(&request("510182", 0)).is_err());
        assert!(v.quote(&request("510182", v.weight_grams_max + 1)).is_err());
    }

    #[test]
    fn a_light_bulky_item_is_billed_by_volume() {
        let v = version();
        let mut bulky = request("330727", 500);
        bulky.size_cm = Some((60, 40, 40));
        let quote = v.quote(&bulky).unwrap();
        let volumetric = 60 * 40 * 40 * 1000 / v.volumetric_divisor;
        assert_eq!(quote.volumetric_grams, Some(volumetric));
        assert_eq!(quote.billed_grams, volumetric);
        assert!(quote.price_fen > v.quote(&request("330727", 500)).unwrap().price_fen);
    }

    #[test]
    fn bad_tariffs_are_refused_with_reasons() {
        let good = DEFAULT_TARIFF_TOML;
        let no_other = good.replace("match = \"other\"", "match = \"same_province\"");
        assert!(
            Tariff::parse_toml(&no_other)
                .unwrap_err()
                .contains("every destination")
        );
        let bad_province = good.replacen("\"50\"", "\"99\"", 1);
        assert!(
            Tariff::parse_toml(&bad_province)
                .unwrap_err()
                .contains("province code")
        );
        assert!(Tariff::parse_toml("[[version]]\nversion = 1\n").is_err());
    }

    #[test]
    fn sizes_parse_in_centimetres() {
        assert_eq!(parse_size("30x20x10"), Ok((30, 20, 10)));
        assert_eq!(parse_size("30×20×10"), Ok((30, 20, 10)));
        assert!(parse_size("30x20").is_err());
        assert!(parse_size("0x20x10").is_err());
        assert!(parse_size("400x20x10").is_err());
    }

    fn destination() -> impl Strategy<Value = Division> {
        (
            prop::sample::select(PROVINCES.iter().map(|(code, _)| *code).collect::<Vec<_>>()),
            0u32..10_000,
        )
            .prop_map(|(province, rest)| division(&format!("{province}{rest:04}")))
    }

    proptest! {
        #[test]
        fn price_never_decreases_with_weight(
            to in destination(),
            grams in 1u32..30_000,
            more in 0u32..20_000,
            size in prop::option::of((1u32..120, 1u32..120, 1u32..120)),
            category in prop::option::of(prop::sample::select(vec!["liquids", "food", "clothing"])),
        ) {
            let v = version();
            let mut light = request(to.as_str(), grams);
            light.size_cm = size;
            light.category = category.map(String::from);
            let mut heavy = light.clone();
            heavy.weight_grams = (grams + more).min(v.weight_grams_max);
            let (light, heavy) = (v.quote(&light).unwrap(), v.quote(&heavy).unwrap());
            prop_assert!(light.price_fen <= heavy.price_fen, "{light:?} vs {heavy:?}");
            prop_assert!(heavy.price_fen.0 >= v.minimum_fen);
        }

        #[test]
        fn every_destination_has_a_zone(from in destination(), to in destination()) {
            let v = version();
            let zone = v.zone(&from, &to);
            prop_assert!(v.zones.iter().any(|z| z.code == zone.code));
            let request = QuoteRequest {
                from, to, weight_grams: 1000, size_cm: None, category: None,
            };
            prop_assert!(v.quote(&request).is_ok());
        }
    }
}
