//! The express companies the county delivers for, with stable codes used in
//! the API, the database and manifests.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Carrier {
    /// China Post and EMS share one network at the county level.
    Ems,
    Sf,
    Zto,
    Yto,
    Sto,
    Yunda,
    Jt,
    Jd,
    Deppon,
}

impl Carrier {
    pub const ALL: [Carrier; 9] = [
        Carrier::Ems,
        Carrier::Sf,
        Carrier::Zto,
        Carrier::Yto,
        Carrier::Sto,
        Carrier::Yunda,
        Carrier::Jt,
        Carrier::Jd,
        Carrier::Deppon,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Carrier::Ems => "EMS",
            Carrier::Sf => "SF",
            Carrier::Zto => "ZTO",
            Carrier::Yto => "YTO",
            Carrier::Sto => "STO",
            Carrier::Yunda => "YUNDA",
            Carrier::Jt => "JT",
            Carrier::Jd => "JD",
            Carrier::Deppon => "DEPPON",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Carrier::Ems => "中国邮政/EMS",
            Carrier::Sf => "顺丰",
            Carrier::Zto => "中通",
            Carrier::Yto => "圆通",
            Carrier::Sto => "申通",
            Carrier::Yunda => "韵达",
            Carrier::Jt => "极兔",
            Carrier::Jd => "京东",
            Carrier::Deppon => "德邦",
        }
    }

    /// The carrier's usual English name (pages in English).
    pub fn name_en(self) -> &'static str {
        match self {
            Carrier::Ems => "China Post/EMS",
            Carrier::Sf => "SF Express",
            Carrier::Zto => "ZTO Express",
            Carrier::Yto => "YTO Express",
            Carrier::Sto => "STO Express",
            Carrier::Yunda => "Yunda Express",
            Carrier::Jt => "J&T Express",
            Carrier::Jd => "JD Logistics",
            Carrier::Deppon => "Deppon",
        }
    }

    /// The name in a page's language: English when `english`, else Chinese.
    pub fn name_in(self, english: bool) -> &'static str {
        if english {
            self.name_en()
        } else {
            self.name_zh()
        }
    }

    /// Accepts the stable code in any case, and the Chinese name.
    pub fn parse(text: &str) -> Result<Carrier, String> {
        let trimmed = text.trim();
        Carrier::ALL
            .into_iter()
            .find(|carrier| {
                carrier.code().eq_ignore_ascii_case(trimmed) || carrier.name_zh() == trimmed
            })
            .ok_or_else(|| {
                let known: Vec<&str> = Carrier::ALL.iter().map(|c| c.code()).collect();
                format!(
                    "unknown carrier {trimmed:?}; known carriers: {}",
                    known.join(", ")
                )
            })
    }
}

impl std::fmt::Display for Carrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Carrier {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Carrier::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_names() {
        for carrier in Carrier::ALL {
            assert_eq!(Carrier::parse(carrier.code()), Ok(carrier));
            assert_eq!(Carrier::parse(&carrier.code().to_lowercase()), Ok(carrier));
            assert_eq!(Carrier::parse(carrier.name_zh()), Ok(carrier));
        }
        assert!(
            Carrier::parse("FedEx")
                .unwrap_err()
                .contains("known carriers")
        );
    }
}
