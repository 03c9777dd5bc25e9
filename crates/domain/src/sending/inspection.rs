//! Inspection at acceptance (收寄验视): the catalogue of contents a sender
//! chooses from, and the rule for each. Prohibited categories are refused
//! naming their rule (禁止寄递物品管理规定, 2016); restricted ones
//! (medicines, liquids, batteries, food) are accepted only with what their
//! rule asks for; the rest are accepted.

use serde::{Deserialize, Serialize};

/// What a restricted category needs before it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// A photo of the prescription or the purchase invoice.
    PrescriptionOrInvoicePhoto,
    /// The sender declares the liquid non-flammable, sealed and leak-proof.
    LiquidDeclaration,
    /// The sender declares the lithium battery fitted in or packed with its
    /// device, at most 100 Wh, with no damaged or loose cells.
    BatteryDeclaration,
    /// The sender declares the food sealed and able to travel (no
    /// perishable food without cold packing).
    FoodDeclaration,
}

impl Need {
    pub fn code(self) -> &'static str {
        match self {
            Need::PrescriptionOrInvoicePhoto => "prescription_or_invoice_photo",
            Need::LiquidDeclaration => "liquid_declaration",
            Need::BatteryDeclaration => "battery_declaration",
            Need::FoodDeclaration => "food_declaration",
        }
    }

    pub fn parse(code: &str) -> Option<Need> {
        [
            Need::PrescriptionOrInvoicePhoto,
            Need::LiquidDeclaration,
            Need::BatteryDeclaration,
            Need::FoodDeclaration,
        ]
        .into_iter()
        .find(|need| need.code() == code)
    }

    pub fn text_zh(self) -> &'static str {
        match self {
            Need::PrescriptionOrInvoicePhoto => "寄递药品须上传处方或购药发票的照片",
            Need::LiquidDeclaration => "寄递液体须声明：非易燃、密封、防漏包装",
            Need::BatteryDeclaration => {
                "寄递锂电池须声明：随设备安装或包装，不超过 100 瓦时，无破损"
            }
            Need::FoodDeclaration => "寄递食品须声明：密封包装，易腐食品已冷藏包装",
        }
    }

    pub fn text_en(self) -> &'static str {
        match self {
            Need::PrescriptionOrInvoicePhoto => {
                "medicines need a photo of the prescription or the purchase invoice"
            }
            Need::LiquidDeclaration => {
                "liquids need the sender's declaration: not flammable, sealed, leak-proof packing"
            }
            Need::BatteryDeclaration => {
                "lithium batteries need the sender's declaration: fitted in or packed with the device, at most 100 Wh, undamaged"
            }
            Need::FoodDeclaration => {
                "food needs the sender's declaration: sealed, and perishable food cold-packed"
            }
        }
    }
}

/// What the catalogue says of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    Allowed,
    Prohibited {
        rule_zh: &'static str,
        rule_en: &'static str,
    },
    Restricted {
        needs: Need,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Category {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub rule: Rule,
}

const PROHIBITED_ZH: &str = "依据《禁止寄递物品管理规定》（2016）";
const PROHIBITED_EN: &str = "under the Provisions on Items Prohibited from Delivery (2016)";

macro_rules! prohibited {
    ($code:literal, $zh:literal, $en:literal) => {
        Category {
            code: $code,
            name_zh: $zh,
            name_en: $en,
            rule: Rule::Prohibited {
                rule_zh: concat!("依据《禁止寄递物品管理规定》（2016），", $zh, "禁止寄递"),
                rule_en: concat!(
                    $en,
                    " may not be sent, under the Provisions on Items Prohibited from Delivery (2016)"
                ),
            },
        }
    };
}

/// The catalogue, in the order the sender's screen lists it: everyday
/// contents first, then the restricted, then the prohibited.
pub const CATALOGUE: &[Category] = &[
    Category {
        code: "documents",
        name_zh: "文件资料",
        name_en: "documents",
        rule: Rule::Allowed,
    },
    Category {
        code: "clothing",
        name_zh: "服装鞋帽",
        name_en: "clothing and shoes",
        rule: Rule::Allowed,
    },
    Category {
        code: "daily_goods",
        name_zh: "日用百货",
        name_en: "household goods",
        rule: Rule::Allowed,
    },
    Category {
        code: "books",
        name_zh: "书籍",
        name_en: "books",
        rule: Rule::Allowed,
    },
    Category {
        code: "electronics",
        name_zh: "电子产品（不含电池）",
        name_en: "electronics (no battery)",
        rule: Rule::Allowed,
    },
    Category {
        code: "dry_produce",
        name_zh: "农副产品（干货）",
        name_en: "dry farm produce",
        rule: Rule::Allowed,
    },
    Category {
        code: "ecommerce_return",
        name_zh: "网购退换货",
        name_en: "online-shopping return",
        rule: Rule::Allowed,
    },
    Category {
        code: "medicines",
        name_zh: "药品",
        name_en: "medicines",
        rule: Rule::Restricted {
            needs: Need::PrescriptionOrInvoicePhoto,
        },
    },
    Category {
        code: "liquids",
        name_zh: "液体（非易燃）",
        name_en: "liquids (not flammable)",
        rule: Rule::Restricted {
            needs: Need::LiquidDeclaration,
        },
    },
    Category {
        code: "batteries",
        name_zh: "锂电池及带电池产品",
        name_en: "lithium batteries and devices with one",
        rule: Rule::Restricted {
            needs: Need::BatteryDeclaration,
        },
    },
    Category {
        code: "food",
        name_zh: "食品、生鲜农产品",
        name_en: "food and fresh farm produce",
        rule: Rule::Restricted {
            needs: Need::FoodDeclaration,
        },
    },
    prohibited!(
        "firearms",
        "枪支（含仿制品、主要零部件）弹药",
        "firearms (replicas and main parts too) and ammunition"
    ),
    prohibited!(
        "controlled_knives",
        "管制刀具等管制器具",
        "controlled knives and other controlled tools"
    ),
    prohibited!("explosives", "爆炸物品", "explosives"),
    prohibited!(
        "compressed_gases",
        "压缩和液化气体及其容器",
        "compressed and liquefied gases and their containers"
    ),
    prohibited!(
        "flammables",
        "易燃液体、易燃固体等易燃易爆物品",
        "flammable liquids, solids and other flammable goods"
    ),
    prohibited!(
        "toxic",
        "毒性、腐蚀性、放射性物质",
        "toxic, corrosive and radioactive substances"
    ),
    prohibited!(
        "infectious",
        "生化制品、传染性、感染性物质",
        "biological products and infectious substances"
    ),
    prohibited!(
        "narcotics",
        "毒品及吸毒工具",
        "narcotics and drug paraphernalia"
    ),
    prohibited!(
        "illegal_publications",
        "非法出版物、印刷品、音像制品等宣传品",
        "illegal publications, printed matter and recordings"
    ),
    prohibited!("spying_equipment", "间谍专用器材", "spying equipment"),
    prohibited!(
        "counterfeits",
        "伪造的货币、证件、印章等非法伪造物品",
        "counterfeit currency, documents, seals and other forgeries"
    ),
    prohibited!(
        "infringing_goods",
        "侵犯知识产权和假冒伪劣物品",
        "goods infringing intellectual property, fakes and shoddy goods"
    ),
    prohibited!(
        "wildlife",
        "濒危野生动物及其制品",
        "endangered wildlife and products made from it"
    ),
    prohibited!(
        "border_prohibited",
        "禁止进出境物品",
        "goods barred from entering or leaving the country"
    ),
];

/// Most characters of a photo reference (a stored file's key).
pub const PHOTO_REF_CHARS_MAX: usize = 200;

pub fn category(code: &str) -> Option<&'static Category> {
    CATALOGUE.iter().find(|category| category.code == code)
}

/// What the sender (or the kiosk) brought to the inspection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The open package's photo (kiosk camera or phone), by reference.
    pub package_photo: Option<String>,
    /// The prescription's or invoice's photo, by reference.
    pub document_photo: Option<String>,
    /// The declarations the sender ticked (`Need` codes).
    #[serde(default)]
    pub declarations: Vec<Need>,
}

/// Why an inspection refused the contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    UnknownCategory,
    Prohibited {
        category: &'static str,
        rule_zh: &'static str,
        rule_en: &'static str,
    },
    Needs {
        category: &'static str,
        needs: Need,
    },
}

/// Inspects contents of one category with the evidence given. A refusal
/// names the rule (prohibited) or what is missing (restricted).
pub fn inspect(code: &str, evidence: &Evidence) -> Result<&'static Category, Refusal> {
    let category = category(code).ok_or(Refusal::UnknownCategory)?;
    match category.rule {
        Rule::Allowed => Ok(category),
        Rule::Prohibited { rule_zh, rule_en } => Err(Refusal::Prohibited {
            category: category.code,
            rule_zh,
            rule_en,
        }),
        Rule::Restricted { needs } => {
            let met = match needs {
                Need::PrescriptionOrInvoicePhoto => evidence
                    .document_photo
                    .as_deref()
                    .is_some_and(|photo| !photo.trim().is_empty()),
                declaration => evidence.declarations.contains(&declaration),
            };
            if met {
                Ok(category)
            } else {
                Err(Refusal::Needs {
                    category: category.code,
                    needs,
                })
            }
        }
    }
}

/// The general rule's wording, for pages that introduce the catalogue.
pub fn prohibited_rule_name(english: bool) -> &'static str {
    if english {
        PROHIBITED_EN
    } else {
        PROHIBITED_ZH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_every_rule_explains_itself() {
        let mut seen = std::collections::HashSet::new();
        for category in CATALOGUE {
            assert!(seen.insert(category.code), "{} twice", category.code);
            if let Rule::Prohibited { rule_zh, rule_en } = category.rule {
                assert!(
                    rule_zh.contains("禁止寄递物品管理规定") && rule_zh.contains(category.name_zh)
                );
                assert!(rule_en.contains("Prohibited from Delivery"));
            }
        }
        assert!(
            CATALOGUE
                .iter()
                .filter(|c| matches!(c.rule, Rule::Prohibited { .. }))
                .count()
                >= 13
        );
    }

    #[test]
    fn prohibited_is_refused_with_its_rule_and_restricted_needs_its_evidence() {
        let none = Evidence::default();
        assert!(matches!(
            inspect("explosives", &none),
            Err(Refusal::Prohibited { rule_zh, .. }) if rule_zh.contains("爆炸物品")
        ));
        assert_eq!(
            inspect("medicines", &none),
            Err(Refusal::Needs {
                category: "medicines",
                needs: Need::PrescriptionOrInvoicePhoto
            })
        );
        let photo = Evidence {
            document_photo: Some("photo:42".into()),
            ..Evidence::default()
        };
        assert_eq!(inspect("medicines", &photo).unwrap().code, "medicines");
        assert!(inspect("liquids", &photo).is_err());
        let declared = Evidence {
            declarations: vec![Need::LiquidDeclaration],
            ..Evidence::default()
        };
        assert!(inspect("liquids", &declared).is_ok());
        assert!(inspect("clothing", &none).is_ok());
        assert_eq!(inspect("gold", &none), Err(Refusal::UnknownCategory));
    }
}
