//! Finding parcels and changing them after inbound: pickup confirmed by the
//! recipient's own act, moves between slots, problems, returns to the
//! carrier, and consent recorded later.

use crate::App;
use crate::approvals;
use crate::audit::{self, Act, Actor, Object};
use crate::error::{AppError, AppResult, Code, size_arg, text_invalid};
use crate::ports::{EventRecord, MisrouteRecord, NewMisroute, ParcelFilter, ParcelRecord, Tx};
use crate::transition::{self, lock_station};
use domain::limits::{NOTE_CHARS_MAX, text_field};
use domain::pickup_code::normalise_typed;
use domain::{Action, ParcelState, Phone, Principal, ProblemKind, Role, WaybillNo};
use serde::{Deserialize, Serialize};

/// Most parcels one console search shows.
pub const STATION_SEARCH_MAX: u32 = 50;

/// How the recipient showed that the parcel is theirs. Staff cannot confirm
/// receipt on a recipient's behalf (Express Market Management Measures
/// art. 28): either the recipient typed or scanned something themselves, or
/// staff record what the recipient showed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum PickupProof {
    /// The recipient entered their code and the last four digits of their
    /// phone (at the counter or the terminal).
    CodeAndPhoneTail { code: String, phone_tail: String },
    /// The recipient scanned the parcel at the self-checkout.
    SelfCheckoutScan { terminal: String },
    /// Staff handed it over against something the recipient showed.
    StaffAssisted {
        shown: ShownProof,
        note: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ShownProof {
    /// The arrival message on the recipient's phone.
    Message,
    /// An identity card matching the recipient's name.
    IdCard,
    /// A pickup QR code in a carrier's or our app.
    AppQrCode,
}

/// How the recipient gave their answer about station delivery.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChannel {
    /// The keeper called them.
    PhoneCall,
    /// They said so at the station.
    InPerson,
    /// They replied to the consent request message.
    Message,
}

impl ConsentChannel {
    pub const ALL: [ConsentChannel; 3] = [
        ConsentChannel::PhoneCall,
        ConsentChannel::InPerson,
        ConsentChannel::Message,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ConsentChannel::PhoneCall => "phone_call",
            ConsentChannel::InPerson => "in_person",
            ConsentChannel::Message => "message",
        }
    }

    pub fn parse(code: &str) -> Option<ConsentChannel> {
        ConsentChannel::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// What a recipient said about having a parcel kept at the station, as the
/// keeper heard it: agreed or refused, how, and when.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct ConsentAnswer {
    pub agreed: bool,
    pub how: ConsentChannel,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParcelView {
    #[serde(flatten)]
    pub parcel: ParcelRecord,
    pub slot: Option<String>,
    pub overdue: bool,
}

/// A parcel as its carrier sees it, wherever it is shown (the API's
/// `server::views`, the carrier portal): no pickup code, slot, phone (not
/// even masked), recipient's name, address or staff. The recipient alone
/// gets the code; the view says `has_pickup_code`.
#[derive(Debug, Serialize)]
pub struct CarrierParcel {
    pub id: i64,
    pub carrier: domain::Carrier,
    pub waybill: domain::WaybillNo,
    pub state: domain::ParcelState,
    pub problem: Option<ProblemKind>,
    pub size: domain::station::SizeClass,
    pub weight_grams: Option<u32>,
    pub consent: bool,
    pub station_id: Option<i64>,
    /// The recipient has a code to collect with; the code itself goes to
    /// them alone.
    pub has_pickup_code: bool,
    pub stored_at: Option<chrono::DateTime<chrono::Utc>>,
    pub overdue: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<ParcelView> for CarrierParcel {
    fn from(view: ParcelView) -> Self {
        let p = view.parcel;
        CarrierParcel {
            id: p.id,
            carrier: p.carrier,
            waybill: p.waybill,
            state: p.state,
            problem: p.problem,
            size: p.size,
            weight_grams: p.weight_grams,
            consent: p.consent,
            station_id: p.station_id,
            has_pickup_code: p.pickup_code.is_some(),
            stored_at: p.stored_at,
            overdue: view.overdue,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Stations and slot labels already read while building a page of views.
#[derive(Default)]
struct ShelfLookup {
    stations: std::collections::HashMap<i64, Option<crate::ports::StationRecord>>,
    slot_labels: std::collections::HashMap<i64, String>,
}

/// A page of parcels and where the next page starts.
#[derive(Debug, Clone, Serialize)]
pub struct ParcelPage {
    pub parcels: Vec<ParcelView>,
    pub next_after_id: Option<i64>,
}

impl App {
    /// What a keeper typed into the console's search box, at one station:
    /// four digits are a phone tail, a waybill-shaped text is a waybill,
    /// anything else is a pickup code.
    pub async fn search_station(
        &self,
        principal: &Principal,
        station_id: i64,
        typed: &str,
    ) -> AppResult<ParcelPage> {
        let typed = typed.trim();
        let mut filter = ParcelFilter {
            limit: STATION_SEARCH_MAX,
            ..Default::default()
        };
        if typed.len() == 4 && typed.bytes().all(|b| b.is_ascii_digit()) {
            filter.phone_tail = Some(typed.to_string());
        } else if let Some(waybill) = (typed.len() >= 10 && !typed.contains('-'))
            .then(|| WaybillNo::parse(typed).ok())
            .flatten()
        {
            filter.waybill = Some(waybill.as_str().to_string());
        } else {
            filter.pickup_code = Some(typed.to_string());
        }
        self.station_parcels(principal, station_id, filter).await
    }

    /// A parcel acted on from one station's console: it must be at that
    /// station, so a form crafted with another station's parcel id is
    /// answered "not found" even for someone who works at both.
    pub async fn parcel_at_station(
        &self,
        principal: &Principal,
        station_id: i64,
        parcel_id: i64,
    ) -> AppResult<ParcelView> {
        let view = self.parcel(principal, parcel_id).await?;
        if view.parcel.station_id != Some(station_id) {
            return Err(AppError::NotFound("parcel"));
        }
        Ok(view)
    }

    /// A station's parcels, for those who work there; carriers search
    /// county-wide for their own parcels instead.
    pub async fn station_parcels(
        &self,
        principal: &Principal,
        station_id: i64,
        mut filter: ParcelFilter,
    ) -> AppResult<ParcelPage> {
        self.station(principal, station_id).await?;
        filter.station_id = Some(station_id);
        self.search(principal, filter).await
    }

    pub async fn parcel(&self, principal: &Principal, parcel_id: i64) -> AppResult<ParcelView> {
        let parcel = self
            .store
            .parcel(parcel_id)
            .await?
            .ok_or(AppError::NotFound("parcel"))?;
        if !principal.may_view_parcel(parcel.station_id, parcel.carrier) {
            // Not found rather than forbidden: the caller learns nothing of
            // parcels that are not theirs.
            return Err(AppError::NotFound("parcel"));
        }
        self.view(parcel).await
    }

    pub async fn parcel_events(
        &self,
        principal: &Principal,
        parcel_id: i64,
    ) -> AppResult<Vec<EventRecord>> {
        self.parcel(principal, parcel_id).await?;
        Ok(self.store.events(parcel_id).await?)
    }

    /// The whole phone number, for those who must call the recipient.
    pub async fn parcel_phone(
        &self,
        principal: &Principal,
        parcel_id: i64,
    ) -> AppResult<Option<String>> {
        let parcel = self.parcel(principal, parcel_id).await?.parcel;
        if !principal.may_see_full_phone(parcel.station_id) {
            return Err(AppError::Forbidden("phone number"));
        }
        // The disclosure is recorded before the number leaves: no record, no
        // number. Beyond the day's count a second person must have approved
        // this reveal (`app::approvals`); the count is read after the audit
        // head is locked, so two reveals cannot both be the last one allowed.
        let now = self.now();
        let thresholds = &self.settings.approvals;
        let mut tx = self.store.begin().await?;
        tx.lock_audit_head().await?;
        let approval =
            match approvals::reveal_gate(&mut *tx, thresholds, principal, parcel_id, now).await? {
                Ok(approval) => approval,
                Err(scope) => {
                    drop(tx);
                    // Files the request (or finds the pending one). An
                    // approval another reveal spent a moment ago still
                    // leaves this one waiting for its own.
                    let id = approvals::require(&*self.store, thresholds, principal, &scope, now)
                        .await?;
                    return Err(AppError::new(Code::ApprovalRequired).with("id", id));
                }
            };
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            now,
            Act::PhoneRevealed,
            Object::new("parcel", parcel_id).at(parcel.station_id),
            approvals::named(
                serde_json::json!({ "phone": parcel.phone.as_ref().map(|p| p.masked()) }),
                approval,
            ),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(parcel = parcel_id, user = %principal.username, "full phone number disclosed");
        Ok(parcel.phone.map(|phone| phone.full()))
    }

    /// Lists parcels. A station keeper must name one of their stations; a
    /// carrier sees only its own parcels.
    pub async fn search(
        &self,
        principal: &Principal,
        mut filter: ParcelFilter,
    ) -> AppResult<ParcelPage> {
        crate::paging::page_size(Some(filter.limit))?;
        // Allowed by role, never by falling through: a role not named here
        // (the door terminal) searches nothing.
        match principal.role {
            // The auditor reads everything; `server::views` gives it the
            // view without personal data.
            Role::Admin | Role::CountyOperator | Role::Auditor => {}
            Role::StationKeeper => match filter.station_id {
                Some(station_id) if principal.may_view_station(station_id) => {}
                Some(_) => return Err(AppError::Forbidden("station")),
                None => return Err(AppError::new(Code::StationRequired)),
            },
            // A carrier searches its own parcels wherever they are; a
            // station filter only narrows that.
            Role::CarrierIntegrator => match principal.carrier {
                Some(carrier) => filter.carrier = Some(carrier),
                None => return Err(AppError::Forbidden("parcel")),
            },
            Role::StationTerminal | Role::ComplianceOfficer => {
                return Err(AppError::Forbidden("parcel"));
            }
        }
        if let Some(code) = &filter.pickup_code {
            filter.pickup_code = Some(normalise_typed(code));
        }
        let limit = filter.limit as usize;
        let parcels = self.store.parcels(&filter).await?;
        let next_after_id = if parcels.len() == limit {
            parcels.last().map(|p| p.id)
        } else {
            None
        };
        // One look-up per station on the page, not per parcel.
        let mut places = ShelfLookup::default();
        let mut views = Vec::with_capacity(parcels.len());
        for parcel in parcels {
            views.push(self.view_with(parcel, &mut places).await?);
        }
        Ok(ParcelPage {
            parcels: views,
            next_after_id,
        })
    }

    async fn view(&self, parcel: ParcelRecord) -> AppResult<ParcelView> {
        self.view_with(parcel, &mut ShelfLookup::default()).await
    }

    async fn view_with(
        &self,
        parcel: ParcelRecord,
        lookup: &mut ShelfLookup,
    ) -> AppResult<ParcelView> {
        let (slot, overdue) = match (parcel.station_id, parcel.slot_id) {
            (Some(station_id), Some(slot_id)) if parcel.state.occupies_slot() => {
                if !lookup.stations.contains_key(&station_id) {
                    let station = self.store.station(station_id).await?;
                    let slots = self.store.slots(station_id).await?;
                    lookup
                        .slot_labels
                        .extend(slots.iter().map(|s| (s.slot.id, s.slot.label())));
                    lookup.stations.insert(station_id, station);
                }
                let overdue = match (&lookup.stations[&station_id], parcel.stored_at) {
                    (Some(station), Some(stored_at)) => {
                        domain::holding::is_overdue(&station.holding, stored_at, self.now())
                    }
                    _ => false,
                };
                (lookup.slot_labels.get(&slot_id).cloned(), overdue)
            }
            _ => (None, false),
        };
        Ok(ParcelView {
            parcel,
            slot,
            overdue,
        })
    }

    pub async fn pick_up(
        &self,
        principal: &Principal,
        parcel_id: i64,
        proof: PickupProof,
    ) -> AppResult<ParcelView> {
        // Only a hand-out on a document shown is a sensitive act: the
        // recipient's own code or scan is their act, not staff's. The note is
        // free text and stays out of the trail.
        let audited = match &proof {
            PickupProof::StaffAssisted { shown, .. } => Some((
                Act::PickupStaffAssisted,
                serde_json::json!({ "shown": shown }),
            )),
            _ => None,
        };
        let details = match &proof {
            PickupProof::CodeAndPhoneTail { phone_tail, .. } => {
                domain::phone::parse_tail(phone_tail)
                    .map_err(|_| AppError::new(Code::PhoneTailInvalid))?;
                serde_json::json!({ "proof": "code_and_phone_tail" })
            }
            PickupProof::SelfCheckoutScan { terminal } => {
                let terminal =
                    text_field("terminal", terminal, 64).map_err(text_invalid("terminal", 64))?;
                serde_json::json!({ "proof": "self_checkout_scan", "terminal": terminal })
            }
            PickupProof::StaffAssisted { shown, note } => {
                if let Some(note) = note {
                    text_field("note", note, NOTE_CHARS_MAX)
                        .map_err(text_invalid("note", NOTE_CHARS_MAX))?;
                }
                serde_json::json!({ "proof": "staff_assisted", "shown": shown, "note": note })
            }
        };
        self.change(
            principal,
            parcel_id,
            Action::PickUp,
            details,
            audited,
            |parcel| match &proof {
                PickupProof::CodeAndPhoneTail { code, phone_tail } => {
                    let code_matches =
                        parcel.pickup_code.as_deref() == Some(normalise_typed(code).as_str());
                    let tail_matches = parcel
                        .phone
                        .as_ref()
                        .is_some_and(|phone| phone.tail() == phone_tail.trim());
                    if code_matches && tail_matches {
                        Ok(())
                    } else {
                        Err(AppError::new(Code::PickupProofMismatch))
                    }
                }
                _ => Ok(()),
            },
        )
        .await
    }

    pub async fn report_problem(
        &self,
        principal: &Principal,
        parcel_id: i64,
        kind: ProblemKind,
        note: Option<String>,
    ) -> AppResult<ParcelView> {
        if let Some(note) = &note {
            text_field("note", note, NOTE_CHARS_MAX)
                .map_err(text_invalid("note", NOTE_CHARS_MAX))?;
        }
        self.change(
            principal,
            parcel_id,
            Action::ReportProblem { kind },
            serde_json::json!({ "problem": kind, "note": note }),
            None,
            |_| Ok(()),
        )
        .await
    }

    /// A county operator records that a parcel belongs at another station
    /// than the one it is addressed to (错分改派): from then on it may be
    /// scanned in there, and no longer at the station it was addressed to
    /// (`shelve::check_addressed_here`). Recorded with who and when; the
    /// parcel itself changes when the new station scans it in.
    pub async fn record_misroute(
        &self,
        principal: &Principal,
        parcel_id: i64,
        to_station_id: i64,
        note: Option<String>,
    ) -> AppResult<MisrouteRecord> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        if let Some(note) = &note {
            text_field("note", note, NOTE_CHARS_MAX)
                .map_err(text_invalid("note", NOTE_CHARS_MAX))?;
        }
        let mut tx = self.store.begin().await?;
        // The station a scan there would lock: a scan in progress there sees
        // the misroute whole or not at all.
        lock_station(&mut *tx, to_station_id).await?;
        let parcel = tx
            .parcel(parcel_id)
            .await?
            .ok_or(AppError::NotFound("parcel"))?;
        if parcel.state.is_terminal() {
            return Err(AppError::new(Code::MisrouteFinished));
        }
        let from_station_id = match tx.misrouted_to(parcel_id).await? {
            Some(station_id) => Some(station_id),
            None => parcel.station_id,
        };
        let record = tx
            .insert_misroute(&NewMisroute {
                parcel_id,
                from_station_id,
                to_station_id,
                note,
                recorded_by: crate::actor_of(principal),
                recorded_at: self.now(),
            })
            .await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::MisrouteRecorded,
            Object::new("parcel", parcel_id).at(Some(to_station_id)),
            serde_json::json!({ "from_station": from_station_id, "to_station": to_station_id }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            parcel = parcel_id,
            from_station = ?from_station_id,
            to_station = to_station_id,
            user = %principal.username,
            "misroute recorded"
        );
        Ok(record)
    }

    pub async fn return_to_carrier(
        &self,
        principal: &Principal,
        parcel_id: i64,
    ) -> AppResult<ParcelView> {
        self.change(
            principal,
            parcel_id,
            Action::ReturnToCarrier,
            serde_json::json!({}),
            Some((Act::ParcelReturned, serde_json::json!({}))),
            |_| Ok(()),
        )
        .await
    }

    /// The recipient agreed to station delivery (by reply or to the keeper
    /// on the phone): the parcel gets its code and the arrival notice.
    pub async fn grant_consent(
        &self,
        principal: &Principal,
        parcel_id: i64,
        source: &str,
    ) -> AppResult<ParcelView> {
        let source = text_field("source", source, 64)
            .map_err(text_invalid("source", 64))?
            .to_string();
        self.change(
            principal,
            parcel_id,
            Action::GrantConsent,
            serde_json::json!({ "source": source }),
            None,
            |_| Ok(()),
        )
        .await
    }

    /// What the recipient of a parcel waiting for consent said, recorded by
    /// the keeper (who called them, or heard it at the counter): agreed, the
    /// parcel is stored with its code and the arrival notice goes out;
    /// refused, it goes back to its carrier (the carrier delivers to the
    /// door instead). Either way the answer, how and when are on the event
    /// and in the audit trail, in the change's transaction.
    pub async fn record_consent(
        &self,
        principal: &Principal,
        parcel_id: i64,
        answer: ConsentAnswer,
    ) -> AppResult<ParcelView> {
        // A minute's grace for clocks; an answer cannot come from tomorrow.
        if answer.at > self.now() + chrono::Duration::minutes(1) {
            return Err(AppError::new(Code::ConsentTimeInFuture).with(
                "at",
                answer
                    .at
                    .with_timezone(&domain::shanghai())
                    .format("%Y-%m-%d %H:%M"),
            ));
        }
        let details = serde_json::json!({
            "agreed": answer.agreed,
            "how": answer.how,
            "said_at": answer.at,
        });
        let action = if answer.agreed {
            Action::GrantConsent
        } else {
            Action::ReturnToCarrier
        };
        self.change(
            principal,
            parcel_id,
            action,
            details.clone(),
            Some((Act::ConsentRecorded, details)),
            |parcel| {
                if parcel.state != ParcelState::AwaitingConsent {
                    return Err(AppError::new(Code::ConsentNotAwaited));
                }
                if answer.agreed && parcel.phone.is_none() {
                    // A code nobody can be told of is a parcel nobody collects.
                    return Err(AppError::new(Code::ContactRequired));
                }
                Ok(())
            },
        )
        .await
    }

    /// The keeper adds the phone of a parcel that reached the shelf without
    /// one (待补联系方式; `docs/security.md`). Only now can the recipient be
    /// reached: with their consent (standing, or given with the manifest or
    /// the scan) the parcel gets its code and the arrival notice, otherwise
    /// the consent request goes out. Audited: a phone typed by staff is a
    /// change to personal data.
    pub async fn add_contact(
        &self,
        principal: &Principal,
        parcel_id: i64,
        phone: Phone,
    ) -> AppResult<ParcelView> {
        let mut tx = self.store.begin().await?;
        let mut parcel = held_parcel(&mut *tx, principal, parcel_id).await?;
        let station_id = parcel
            .station_id
            .ok_or(AppError::new(Code::NoStationForParcel))?;
        let station = lock_station(&mut *tx, station_id).await?;
        if parcel.state != ParcelState::AwaitingConsent {
            return Err(AppError::new(Code::ConsentNotAwaited));
        }
        if parcel.phone.is_some() {
            return Err(AppError::new(Code::ContactPresent));
        }
        let consented = parcel.consent || tx.standing_consent(&phone).await? == Some(true);
        let masked = phone.masked();
        parcel.phone = Some(phone);
        // One event: with consent the parcel goes straight to the shelf's
        // code and arrival notice (no consent request first), otherwise it
        // stays and the consent request goes out (`effects::follow`).
        let (action, details) = if consented {
            (
                Action::GrantConsent,
                serde_json::json!({ "source": "given_before_the_phone", "phone_added": masked }),
            )
        } else {
            (
                Action::AddContact,
                serde_json::json!({ "phone_added": masked }),
            )
        };
        transition::apply(
            &mut *tx,
            self.by(principal),
            Some(&station),
            &mut parcel,
            action,
            details,
        )
        .await?;
        audit::record(
            &mut *tx,
            &Actor::of(principal),
            self.now(),
            Act::ContactAdded,
            Object::new("parcel", parcel_id).at(Some(station_id)),
            serde_json::json!({ "phone": masked, "stored": consented }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            parcel = parcel_id,
            stored = consented,
            "recipient's phone added"
        );
        self.view(parcel).await
    }

    /// A problem parcel dealt with and put back on the shelf: it is scanned
    /// in again at its station (a slot, and with consent a fresh code and
    /// the arrival notice), exactly as the scanner would, so the problems
    /// list never ends in a parcel that has no place.
    pub async fn resolve_problem(
        &self,
        principal: &Principal,
        station_id: i64,
        parcel_id: i64,
    ) -> AppResult<crate::shelve::InboundOutcome> {
        if !principal.may_operate_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        let by = self.by(principal);
        let mut tx = self.store.begin().await?;
        let station = lock_station(&mut *tx, station_id).await?;
        let parcel = held_parcel(&mut *tx, principal, parcel_id).await?;
        if parcel.station_id != Some(station_id) {
            return Err(AppError::NotFound("parcel"));
        }
        if parcel.state != ParcelState::Problem {
            return Err(AppError::new(Code::NotAProblem));
        }
        let scan = crate::shelve::InboundScan {
            carrier: parcel.carrier,
            waybill: parcel.waybill.clone(),
            recipient_name: None,
            phone: None,
            size: parcel.size,
            consent: None,
        };
        let outcome = crate::shelve::shelve_one(&mut *tx, by, &station, &scan).await?;
        tx.commit().await?;
        tracing::info!(
            parcel = parcel_id,
            station = station_id,
            "problem resolved, back on the shelf"
        );
        Ok(outcome)
    }

    /// One of a station's lists leaves the system as a file (the console's
    /// .xlsx downloads): recorded as `data_exported` before the rows go,
    /// with which list and how many rows. Phones in the file are masked.
    pub async fn record_station_export(
        &self,
        principal: &Principal,
        station_id: i64,
        list: &'static str,
        n_rows: usize,
    ) -> AppResult<()> {
        if !principal.may_view_station(station_id) {
            return Err(AppError::Forbidden("station"));
        }
        audit::record_alone(
            &*self.store,
            &Actor::of(principal),
            self.now(),
            Act::DataExported,
            Object::new("station", station_id).at(Some(station_id)),
            serde_json::json!({ "export": list, "rows": n_rows }),
        )
        .await
    }

    /// The county centre's scans: arrival, sorting, dispatch.
    pub async fn centre_scan(
        &self,
        principal: &Principal,
        parcel_id: i64,
        action: Action,
    ) -> AppResult<ParcelView> {
        if !principal.may_run_county() {
            return Err(AppError::Forbidden("county centre"));
        }
        if !matches!(
            action,
            Action::ArriveAtCentre | Action::Sort | Action::Dispatch
        ) {
            return Err(AppError::new(Code::CentreActionInvalid));
        }
        self.change(
            principal,
            parcel_id,
            action,
            serde_json::json!({}),
            None,
            |_| Ok(()),
        )
        .await
    }

    /// Moves a shelved parcel to another slot of its station. Its pickup
    /// code stays: the recipient already has it.
    pub async fn move_parcel(
        &self,
        principal: &Principal,
        parcel_id: i64,
        slot_id: i64,
    ) -> AppResult<ParcelView> {
        let mut tx = self.store.begin().await?;
        let mut parcel = held_parcel(&mut *tx, principal, parcel_id).await?;
        let station_id = parcel
            .station_id
            .ok_or(AppError::new(Code::NoStationForParcel))?;
        let station = lock_station(&mut *tx, station_id).await?;
        parcel.state.apply(Action::Move)?;
        let target = tx
            .slot(slot_id)
            .await?
            .filter(|slot| slot.station_id == station_id)
            .ok_or(AppError::NotFound("slot at this station"))?;
        if !parcel.size.fits_in().contains(&target.size) {
            return Err(AppError::new(Code::SlotWrongSize)
                .with_arg("size", size_arg(parcel.size))
                .with_arg("slot_size", size_arg(target.size)));
        }
        if parcel.slot_id == Some(slot_id) {
            return Err(AppError::new(Code::AlreadyInSlot));
        }
        tx.release_place(parcel.id).await?;
        let place = tx
            .free_place_in(slot_id)
            .await?
            .ok_or_else(|| AppError::new(Code::SlotFull).with("slot", target.label()))?;
        tx.occupy(slot_id, place, parcel.id).await?;
        let from_slot = parcel.slot_id;
        parcel.slot_id = Some(slot_id);
        transition::apply(
            &mut *tx,
            self.by(principal),
            Some(&station),
            &mut parcel,
            Action::Move,
            serde_json::json!({ "from_slot": from_slot, "to_slot": target.label() }),
        )
        .await?;
        tx.commit().await?;
        self.view(parcel).await
    }

    /// Applies one state-machine action to a parcel at a station the caller
    /// operates, writing the event and any message in one transaction.
    async fn change(
        &self,
        principal: &Principal,
        parcel_id: i64,
        action: Action,
        details: serde_json::Value,
        audited: Option<(Act, serde_json::Value)>,
        check: impl FnOnce(&ParcelRecord) -> AppResult<()> + Send,
    ) -> AppResult<ParcelView> {
        let mut tx = self.store.begin().await?;
        let mut parcel = held_parcel(&mut *tx, principal, parcel_id).await?;
        let station = match parcel.station_id {
            Some(station_id) => Some(lock_station(&mut *tx, station_id).await?),
            None => None,
        };
        let from = parcel.state;
        from.apply(action)?;
        check(&parcel)?;
        transition::apply(
            &mut *tx,
            self.by(principal),
            station.as_ref(),
            &mut parcel,
            action,
            details,
        )
        .await?;
        if let Some((act, details)) = audited {
            audit::record(
                &mut *tx,
                &Actor::of(principal),
                self.now(),
                act,
                Object::new("parcel", parcel_id).at(parcel.station_id),
                details,
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(parcel = parcel_id, from = %from, to = %parcel.state, "parcel changed");
        self.view(parcel).await
    }
}

/// Loads a parcel for a change, hiding other stations' parcels as not found.
async fn held_parcel(
    tx: &mut dyn Tx,
    principal: &Principal,
    parcel_id: i64,
) -> AppResult<ParcelRecord> {
    let parcel = tx
        .parcel(parcel_id)
        .await?
        .ok_or(AppError::NotFound("parcel"))?;
    if !principal.may_view_parcel(parcel.station_id, parcel.carrier) {
        return Err(AppError::NotFound("parcel"));
    }
    match parcel.station_id {
        Some(station_id) if principal.may_operate_station(station_id) => Ok(parcel),
        None if principal.may_run_county() => Ok(parcel),
        _ => Err(AppError::Forbidden("parcel")),
    }
}
