//! Orders: smart paste of the two parties, the order itself, inspection
//! with its record, the quote, and submission (payer, waybill number).

use super::*;
use crate::ports::sending::{InspectionRecord, NewOrder, OrderEvent, OrderRecord, Party};
use domain::limits::{ADDRESS_CHARS_MAX, NAME_CHARS_MAX, text_field};
use domain::sending::inspection::{self, Evidence, Refusal};
use domain::sending::tariff::{self, Division, QuoteRequest};
use domain::sending::{OrderAction, OrderState, Payer};
use serde::Serialize;

/// What one pasted text gave: each field for the person to confirm.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedParty {
    pub name: Option<String>,
    pub phone: Option<Phone>,
    /// The deepest division found, its code and its names from the province.
    pub division: Option<String>,
    pub division_names: Vec<String>,
    pub detail: String,
    /// "high", "medium", "low" or "none" (the `address` crate's).
    pub confidence: String,
    /// Several divisions fitted; the person picks one.
    pub ambiguous: bool,
}

/// What the sender says is inside, and how heavy and big it is.
#[derive(Debug, Clone, Default)]
pub struct OrderContents {
    pub category: String,
    pub evidence: Evidence,
    pub weight_grams: u32,
    pub size_cm: Option<(u32, u32, u32)>,
}

/// The names of a division and its parents, province first.
fn division_names(code: &str) -> Option<Vec<String>> {
    let division = address::divisions().get(code)?;
    Some(
        division
            .path()
            .iter()
            .filter(|d| !d.is_placeholder())
            .map(|d| d.name().to_string())
            .collect(),
    )
}

impl App {
    /// Reads one pasted text into a party for the person to confirm; never
    /// guesses a level the text does not determine.
    pub fn parse_party(&self, text: &str) -> AppResult<ParsedParty> {
        let text = text_field("address", text, ADDRESS_CHARS_MAX)
            .map_err(crate::error::text_invalid("address", ADDRESS_CHARS_MAX))?;
        let parsed = address::parse(text)
            .map_err(|error| AppError::new(Code::TextInvalid).with_detail(error))?;
        let deepest = parsed.deepest().map(|place| place.code.clone());
        Ok(ParsedParty {
            name: parsed.name.clone(),
            phone: parsed
                .phone
                .as_ref()
                .and_then(|p| Phone::parse(&p.number).ok()),
            division_names: deepest
                .as_deref()
                .and_then(division_names)
                .unwrap_or_default(),
            division: deepest,
            detail: parsed.detail.clone(),
            confidence: serde_json::to_value(parsed.confidence)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            ambiguous: parsed
                .notes
                .iter()
                .any(|note| matches!(note, address::Note::Ambiguous { .. })),
        })
    }

    /// A party as the person confirmed it: a name, a mobile number, a known
    /// division at county level or below, and the detail.
    pub fn confirm_party(
        &self,
        name: &str,
        phone: &str,
        division: &str,
        detail: &str,
    ) -> AppResult<Party> {
        let name = text_field("name", name, NAME_CHARS_MAX)
            .map_err(crate::error::text_invalid("name", NAME_CHARS_MAX))?;
        let phone = Phone::parse(phone)
            .ok()
            .filter(|p| matches!(p, Phone::Mobile(_)))
            .ok_or_else(|| AppError::new(Code::SendPhoneInvalid))?;
        let division = division.trim();
        let names = (division.len() >= 6)
            .then(|| division_names(division))
            .flatten()
            .ok_or_else(|| AppError::new(Code::SendDivisionInvalid).with("code", division))?;
        let detail = text_field("address", detail, ADDRESS_CHARS_MAX)
            .map_err(crate::error::text_invalid("address", ADDRESS_CHARS_MAX))?;
        Ok(Party {
            name: name.to_string(),
            phone,
            division: division.to_string(),
            address: format!("{}{detail}", names.concat()),
        })
    }

    /// Starts an order from two confirmed parties; both go into the
    /// sender's address book.
    pub async fn create_send_order(
        &self,
        sender: &SenderRecord,
        channel: &str,
        from: Party,
        to: Party,
    ) -> AppResult<OrderRecord> {
        self.create_order_in(sender, channel, None, from, to).await
    }

    /// The order's creation. A kiosk's code (checked by the caller) goes on
    /// its first event, and when it names a kiosk of the fleet that is not
    /// retired the order is that kiosk's (`kiosk_id`: its bin, its
    /// collection, its staff's commission). A code the fleet does not know
    /// (a stale sticker) is kept on the event only, and the order is sent
    /// like any other.
    pub(super) async fn create_order_in(
        &self,
        sender: &SenderRecord,
        channel: &str,
        kiosk: Option<&str>,
        from: Party,
        to: Party,
    ) -> AppResult<OrderRecord> {
        let now = self.now();
        let kiosk_id = match kiosk {
            Some(code) => self
                .store
                .kiosk_by_code(code)
                .await?
                .filter(|kiosk| kiosk.status != domain::kiosk::KioskStatus::Retired)
                .map(|kiosk| kiosk.id),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let order = tx
            .insert_order(&NewOrder {
                sender_id: sender.id,
                channel: channel.to_string(),
                kiosk_id,
                from: from.clone(),
                to: to.clone(),
                carrier: self.settings.sending.carrier,
                now,
            })
            .await?;
        tx.insert_order_event(&OrderEvent {
            order_id: order.id,
            kind: "created".into(),
            from_state: None,
            to_state: OrderState::Draft,
            at: now,
            actor: format!("sender:{}", sender.id),
            details: match kiosk {
                Some(kiosk) => serde_json::json!({ "channel": channel, "kiosk": kiosk }),
                None => serde_json::json!({ "channel": channel }),
            },
        })
        .await?;
        tx.remember_address(sender.id, "sender", &from, now).await?;
        tx.remember_address(sender.id, "recipient", &to, now)
            .await?;
        tx.commit().await?;
        Ok(order)
    }

    /// The sender's own order; anyone else's answers 404.
    pub async fn send_order(&self, sender: &SenderRecord, order_id: i64) -> AppResult<OrderRecord> {
        self.store
            .send_order(order_id)
            .await?
            .filter(|order| order.sender_id == sender.id)
            .ok_or(AppError::NotFound("send order"))
    }

    /// Any order, for county staff.
    pub async fn send_order_for_staff(
        &self,
        principal: &domain::Principal,
        order_id: i64,
    ) -> AppResult<OrderRecord> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        self.store
            .send_order(order_id)
            .await?
            .ok_or(AppError::NotFound("send order"))
    }

    /// The sender's orders, newest first.
    pub async fn sender_orders(
        &self,
        sender: &SenderRecord,
        before_id: Option<i64>,
        limit: Option<u32>,
    ) -> AppResult<Vec<OrderRecord>> {
        let limit = crate::paging::page_size(limit)?;
        Ok(self
            .store
            .sender_orders(sender.id, before_id, limit)
            .await?)
    }

    /// Inspects the contents and prices the order. Every inspection is
    /// recorded; a prohibited category is refused naming its rule, a
    /// restricted one without its evidence naming what it needs (the
    /// refusal is recorded before it is returned).
    pub async fn set_send_contents(
        &self,
        sender: &SenderRecord,
        order_id: i64,
        contents: OrderContents,
    ) -> AppResult<OrderRecord> {
        for photo in [
            &contents.evidence.package_photo,
            &contents.evidence.document_photo,
        ]
        .into_iter()
        .flatten()
        {
            text_field("photo", photo, inspection::PHOTO_REF_CHARS_MAX).map_err(
                crate::error::text_invalid("photo", inspection::PHOTO_REF_CHARS_MAX),
            )?;
        }
        // A photo is named by the id `upload_send_photo` gave; the evidence
        // of one order may not name another order's photo (a prescription
        // is health data, and only its own order's inspection may cite it).
        for photo in [
            &contents.evidence.package_photo,
            &contents.evidence.document_photo,
        ]
        .into_iter()
        .flatten()
        {
            let owner = match photo
                .strip_prefix("photo:")
                .and_then(|id| id.parse::<i64>().ok())
            {
                Some(id) => self.store.send_photo_order(id).await?,
                None => None,
            };
            if owner != Some(order_id) {
                return Err(AppError::new(Code::SendPhotoUnknown).with("photo", photo));
            }
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut order = tx
            .order_for_update(order_id)
            .await?
            .filter(|order| order.sender_id == sender.id)
            .ok_or(AppError::NotFound("send order"))?;
        if !order.state.editable() {
            return Err(state_refusal(order.state, "change"));
        }
        let outcome = inspection::inspect(&contents.category, &contents.evidence);
        let (result, rule) = match outcome {
            Ok(_) => (Ok(()), None),
            Err(Refusal::UnknownCategory) => {
                return Err(
                    AppError::new(Code::SendCategoryUnknown).with("category", &contents.category)
                );
            }
            Err(Refusal::Prohibited {
                category,
                rule_zh,
                rule_en,
            }) => {
                let name =
                    inspection::category(category).map_or(("", ""), |c| (c.name_zh, c.name_en));
                (
                    Err(AppError::new(Code::SendProhibited)
                        .with_words("category", name.0, name.1)
                        .with_words("rule", rule_zh, rule_en)),
                    Some(rule_zh.to_string()),
                )
            }
            Err(Refusal::Needs { category, needs }) => {
                let name =
                    inspection::category(category).map_or(("", ""), |c| (c.name_zh, c.name_en));
                (
                    Err(AppError::new(Code::SendEvidenceNeeded)
                        .with_words("category", name.0, name.1)
                        .with_words("need", needs.text_zh(), needs.text_en())),
                    Some(needs.code().to_string()),
                )
            }
        };
        tx.insert_inspection(&InspectionRecord {
            order_id,
            category: contents.category.clone(),
            outcome: if result.is_ok() {
                "accepted"
            } else {
                "refused"
            }
            .into(),
            rule,
            package_photo: contents.evidence.package_photo.clone(),
            at: now,
        })
        .await?;
        if let Err(refusal) = result {
            // The refusal is part of the record: commit it, then refuse.
            tx.commit().await?;
            return Err(refusal);
        }
        let quote = self.quote_for(&order.from.division, &order.to.division, &contents)?;
        order.category = Some(contents.category);
        order.evidence = serde_json::to_value(&contents.evidence).map_err(internal)?;
        order.weight_grams = Some(contents.weight_grams);
        order.size_cm = contents.size_cm;
        order.price_fen = Some(quote.price_fen);
        order.quote = Some(serde_json::to_value(&quote).map_err(internal)?);
        order.updated_at = now;
        order.version += 1;
        if !tx.update_order(&order).await? {
            return Err(AppError::Contended("send order".into()));
        }
        tx.commit().await?;
        Ok(order)
    }

    /// The quote from one division to another today, by the tariff in force.
    pub fn send_quote(
        &self,
        from: &str,
        to: &str,
        weight_grams: u32,
        size_cm: Option<(u32, u32, u32)>,
        category: Option<&str>,
    ) -> AppResult<domain::sending::Quote> {
        self.quote_for(
            from,
            to,
            &OrderContents {
                category: category.unwrap_or_default().to_string(),
                evidence: Evidence::default(),
                weight_grams,
                size_cm,
            },
        )
    }

    fn quote_for(
        &self,
        from: &str,
        to: &str,
        contents: &OrderContents,
    ) -> AppResult<domain::sending::Quote> {
        let day = self.today();
        let version = self
            .settings
            .sending
            .tariff
            .effective(day)
            .ok_or_else(|| AppError::new(Code::SendTariffMissing).with("day", day))?;
        let division = |code: &str| {
            Division::parse(code)
                .map_err(|_| AppError::new(Code::SendDivisionInvalid).with("code", code))
        };
        version
            .quote(&QuoteRequest {
                from: division(from)?,
                to: division(to)?,
                weight_grams: contents.weight_grams,
                size_cm: contents.size_cm,
                category: (!contents.category.is_empty()).then(|| contents.category.clone()),
            })
            .map_err(|error| match error {
                tariff::QuoteError::Weight { grams_max } => {
                    AppError::new(Code::SendWeightInvalid).with("max", grams_max)
                }
                tariff::QuoteError::Size { side_cm_max } => {
                    AppError::new(Code::SendSizeInvalid).with("max", side_cm_max)
                }
            })
    }

    /// Submits a quoted order: the sender must be real-name checked. A
    /// platform's return code accepts it at once; otherwise it waits for
    /// payment. Either way it takes its waybill number now, so an empty
    /// pool refuses before anyone pays.
    pub(super) async fn submit_in(
        &self,
        tx: &mut dyn Tx,
        sender: &SenderRecord,
        order: &mut OrderRecord,
        payer: &Payer,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let fresh = tx
            .sender_by_phone(&sender.phone)
            .await?
            .ok_or(AppError::NotFound("sender"))?;
        if !fresh.is_verified() {
            return Err(AppError::new(Code::SendRealNameRequired));
        }
        if order.price_fen.is_none() || order.category.is_none() {
            return Err(AppError::new(Code::SendOrderIncomplete));
        }
        let action = match payer {
            Payer::Sender => OrderAction::Submit,
            Payer::Platform { .. } => OrderAction::Prepaid,
        };
        let next = order
            .state
            .apply(action)
            .map_err(|_| state_refusal(order.state, action.code()))?;
        let allocation = tx.allocate_waybill(order.carrier).await?.ok_or_else(|| {
            AppError::new(Code::SendPoolEmpty).with_words(
                "carrier",
                order.carrier.name_zh(),
                order.carrier.code(),
            )
        })?;
        if allocation.remaining * 10 < allocation.total {
            tx.insert_send_alert(
                "waybill_pool_low",
                &format!("pool_low:{}:{}", order.carrier.code(), allocation.total),
                &format!(
                    "{} 运单号池余量不足 10%（剩余 {} / {}），请上传新号段",
                    order.carrier.name_zh(),
                    allocation.remaining,
                    allocation.total
                ),
                now,
            )
            .await?;
        }
        let from = order.state;
        order.state = next;
        order.waybill = Some(allocation.waybill);
        order.payer = payer.code().to_string();
        order.return_code = match payer {
            Payer::Platform { return_code, .. } => Some(return_code.clone()),
            Payer::Sender => None,
        };
        if next == OrderState::Accepted {
            order.accepted_at = Some(now);
        }
        order.updated_at = now;
        order.version += 1;
        if !tx.update_order(order).await? {
            return Err(AppError::Contended("send order".into()));
        }
        tx.insert_order_event(&OrderEvent {
            order_id: order.id,
            kind: action.code().into(),
            from_state: Some(from),
            to_state: next,
            at: now,
            actor: format!("sender:{}", sender.id),
            details: serde_json::json!({ "payer": payer.code(), "waybill": order.waybill }),
        })
        .await?;
        if next == OrderState::Accepted {
            super::emit_send_event(tx, order, super::SendEvent::Accepted, now).await?;
        }
        Ok(())
    }
}

pub(super) fn state_refusal(state: OrderState, action: &str) -> AppError {
    let (zh, en) = match action {
        "submit" => ("提交", "be submitted"),
        "paid" => ("支付", "be paid"),
        "prepaid" => ("由平台预付", "be prepaid"),
        "collect" => ("揽收", "be collected"),
        "cancel" => ("取消", "be cancelled"),
        "label" => ("打印面单", "have its label printed"),
        _ => ("修改", "be changed"),
    };
    AppError::new(Code::SendOrderState)
        .with_words("state", state.name_zh(), state.name_en())
        .with_words("action", zh, en)
}

pub(super) fn internal(error: impl std::fmt::Display) -> AppError {
    AppError::Internal(error.to_string())
}
