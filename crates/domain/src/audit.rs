//! The audit trail's vocabulary and its hash chain (issue 12, point 4).
//!
//! Each row of `audit_log` carries the hash of the row before it and its own
//! hash, SHA-256 over a canonical encoding of its fields ([`encode`]). A row
//! edited after the fact no longer matches its hash; a row removed or
//! re-ordered breaks the next row's `prev_hash`; an edit of the whole chain
//! from some row on changes the head hash, which is printed in the daily
//! figures (`yizhan audit head`) so a copy kept elsewhere shows it.
//! `docs/security.md` ("Audit trail") describes the encoding for someone
//! re-verifying without this code.
//!
//! Pure: the caller gives the time and the previous row's hash.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row: 64 zeros.
pub const GENESIS_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The first line of every encoded row; a new encoding gets a new version.
pub const ENCODING_TAG: &str = "yizhan-audit-v1";

/// Most characters of a row's details (JSON text): details hold ids, counts
/// and masked phones, never free text of any length.
pub const DETAILS_CHARS_MAX: usize = 2_000;

/// A sensitive act, by a stable code (stored as text; never renamed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    /// A whole phone number was shown (`GET /api/parcels/{id}/phone`).
    PhoneRevealed,
    /// A keeper handed a parcel out on a document shown, not the code.
    PickupStaffAssisted,
    /// An operator placed a parcel from the manual queue.
    ManualResolved,
    /// County staff redirected a parcel to another station.
    MisrouteRecorded,
    /// A parcel was sent back to its carrier.
    ParcelReturned,
    UserCreated,
    UserDisabled,
    UserEnabled,
    /// An administrator set a user's password (`yizhan user password`).
    PasswordSet,
    /// A user changed their own password.
    PasswordChanged,
    TokensRevoked,
    /// A long-lived API token (a carrier's system) was issued.
    TokenIssued,
    TerminalPaired,
    StationCreated,
    AgreementCreated,
    RouteCreated,
    ContractorCreated,
    WebhookCreated,
    WebhookUpdated,
    WebhookDeleted,
    WebhookSecretRotated,
    /// A bulk read left the system: reconciliation, the fee ledger, a
    /// handover list.
    DataExported,
    DispatchPlanned,
    /// The compliance checks ran.
    ComplianceRun,
    /// A finding was assigned, explained, closed or escalated.
    FindingUpdated,
    /// A device was added to a station's registry: its messages count from now.
    DeviceRegistered,
    /// A device was replaced: the old id is refused from now on.
    DeviceReplaced,
    /// The station's public contact phone (shown at the door) was set or cleared.
    ContactPhoneChanged,
    /// Personal data past its period was erased and short-lived rows pruned.
    RetentionRun,
    /// A sensitive act above its threshold asked for a second person.
    ApprovalRequested,
    /// A second person approved it.
    ApprovalGranted,
    /// A second person refused it.
    ApprovalRefused,
    /// A keeper recorded what a recipient said about station delivery
    /// (agreed or refused, how and when), or added their phone (branch
    /// `station`).
    ConsentRecorded,
    ContactAdded,
    /// A sender's real-name check was recorded (branch `sending`): the
    /// document's kind and masked number only.
    SenderVerified,
    /// County staff uploaded a range of a carrier's waybill numbers.
    WaybillRangeAdded,
    /// A carrier's monthly statement (对账单) was issued (branch `money`).
    StatementIssued,
    /// A disputed statement line was resolved: upheld, reversed or adjusted.
    StatementLineResolved,
    /// A debtor's responsible person or payment terms were set (欠费台账).
    DebtorTermsSet,
    /// A bank statement was imported into unapplied cash.
    BankStatementImported,
    /// A van or unmanned vehicle was registered (branch `vehicles`).
    VehicleRegistered,
    /// A sort plan was adopted for the hub (issue 16, point 4).
    HubPlanAdopted,
    /// One of the hub's logs was imported.
    HubLogImported,
    /// Missions were made from planned routes.
    MissionsCreated,
    /// A broken-down vehicle's remaining stops moved to other vehicles.
    MissionReplanned,
    /// A safety operator took a vehicle over, with why.
    VehicleTakenOver,
    /// What the safety operator did while in control.
    VehicleTakeoverAction,
    /// The safety operator handed the vehicle back.
    VehicleHandedBack,
    /// An incident was closed with its cause.
    IncidentClosed,
    /// County staff cancelled a sending order (refunding any payment), with
    /// why (branch `send-flow`).
    SendOrderCancelled,
    // branch kiosks (issue 14): the kiosk fleet's configuration.
    /// A kiosk was placed (by hand or by an import).
    KioskCreated,
    /// A kiosk's fields or status (suspended, in service) changed.
    KioskUpdated,
    /// A kiosk was retired.
    KioskRetired,
    /// A vehicle's compartments were emptied into a station at a stop.
    VehicleHandedOver,
    /// A vehicle came back to its depot: its mission ended, what was still
    /// aboard back at the centre.
    MissionFinished,
    // branch claims (issue 15): claims and write-offs.
    /// A receipt in unapplied cash was claimed for a debtor (认领).
    ReceiptClaimed,
    /// A debtor's credit was applied to its invoices (核销).
    WriteOffMade,
    // branch presale (issue 14): community pre-sale campaigns.
    /// A pre-sale campaign was created.
    PresaleCampaignCreated,
    /// A campaign's order file was imported.
    PresaleImported,
    // branch fleet-ops (issue 20, session 9).
    /// A vehicle at a station was told to open its compartments (by the
    /// keeper's console or the station's terminal).
    VehicleCompartmentsOpened,
    // branch money2 (issue 15, session 10).
    /// A collection plan (周、旬清欠计划) was made or its targets set.
    CollectionPlanSet,
    /// A carrier's credit limit or its rule was set.
    CreditLimitSet,
    /// A carrier past its limit or owing over 90 days was held: its new
    /// manifests are refused.
    CarrierHeld,
    /// Finance released a held carrier.
    CarrierReleased,
    /// A receipt claimed for the wrong debtor was un-claimed.
    ReceiptUnclaimed,
    /// An invoice was written off as a bad debt (坏账核销).
    BadDebtWrittenOff,
    // branch vehicles2 (issue 20, session 10).
    /// A vehicle at a collect-from-vehicle stop was opened for collection:
    /// its parcels for the stop were put on the station's books.
    VehicleCollectionOpened,
}

impl Act {
    /// A slice, not an array, so adding an act is one added line (no count to
    /// keep in step when branches each add some).
    pub const ALL: &'static [Act] = &[
        Act::PhoneRevealed,
        Act::PickupStaffAssisted,
        Act::ManualResolved,
        Act::MisrouteRecorded,
        Act::ParcelReturned,
        Act::UserCreated,
        Act::UserDisabled,
        Act::UserEnabled,
        Act::PasswordSet,
        Act::PasswordChanged,
        Act::TokensRevoked,
        Act::TokenIssued,
        Act::TerminalPaired,
        Act::StationCreated,
        Act::AgreementCreated,
        Act::RouteCreated,
        Act::ContractorCreated,
        Act::WebhookCreated,
        Act::WebhookUpdated,
        Act::WebhookDeleted,
        Act::WebhookSecretRotated,
        Act::DataExported,
        Act::DispatchPlanned,
        Act::ComplianceRun,
        Act::FindingUpdated,
        Act::DeviceRegistered,
        Act::DeviceReplaced,
        Act::ContactPhoneChanged,
        Act::RetentionRun,
        Act::ApprovalRequested,
        Act::ApprovalGranted,
        Act::ApprovalRefused,
        Act::ConsentRecorded,
        Act::ContactAdded,
        Act::SenderVerified,
        Act::WaybillRangeAdded,
        Act::StatementIssued,
        Act::StatementLineResolved,
        Act::DebtorTermsSet,
        Act::BankStatementImported,
        Act::VehicleRegistered,
        Act::HubPlanAdopted,
        Act::HubLogImported,
        Act::MissionsCreated,
        Act::MissionReplanned,
        Act::VehicleTakenOver,
        Act::VehicleTakeoverAction,
        Act::VehicleHandedBack,
        Act::IncidentClosed,
        Act::SendOrderCancelled,
        Act::KioskCreated,
        Act::KioskUpdated,
        Act::KioskRetired,
        Act::VehicleHandedOver,
        Act::MissionFinished,
        Act::ReceiptClaimed,
        Act::WriteOffMade,
        Act::PresaleCampaignCreated,
        Act::PresaleImported,
        Act::VehicleCompartmentsOpened,
        Act::CollectionPlanSet,
        Act::CreditLimitSet,
        Act::CarrierHeld,
        Act::CarrierReleased,
        Act::ReceiptUnclaimed,
        Act::BadDebtWrittenOff,
        Act::VehicleCollectionOpened,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Act::PhoneRevealed => "phone_revealed",
            Act::PickupStaffAssisted => "pickup_staff_assisted",
            Act::ManualResolved => "manual_resolved",
            Act::MisrouteRecorded => "misroute_recorded",
            Act::ParcelReturned => "parcel_returned",
            Act::UserCreated => "user_created",
            Act::UserDisabled => "user_disabled",
            Act::UserEnabled => "user_enabled",
            Act::PasswordSet => "password_set",
            Act::PasswordChanged => "password_changed",
            Act::TokensRevoked => "tokens_revoked",
            Act::TokenIssued => "token_issued",
            Act::TerminalPaired => "terminal_paired",
            Act::StationCreated => "station_created",
            Act::AgreementCreated => "agreement_created",
            Act::RouteCreated => "route_created",
            Act::ContractorCreated => "contractor_created",
            Act::WebhookCreated => "webhook_created",
            Act::WebhookUpdated => "webhook_updated",
            Act::WebhookDeleted => "webhook_deleted",
            Act::WebhookSecretRotated => "webhook_secret_rotated",
            Act::DataExported => "data_exported",
            Act::DispatchPlanned => "dispatch_planned",
            Act::ComplianceRun => "compliance_run",
            Act::FindingUpdated => "finding_updated",
            Act::DeviceRegistered => "device_registered",
            Act::DeviceReplaced => "device_replaced",
            Act::ContactPhoneChanged => "contact_phone_changed",
            Act::RetentionRun => "retention_run",
            Act::ApprovalRequested => "approval_requested",
            Act::ApprovalGranted => "approval_granted",
            Act::ApprovalRefused => "approval_refused",
            Act::ConsentRecorded => "consent_recorded",
            Act::ContactAdded => "contact_added",
            Act::SenderVerified => "sender_verified",
            Act::WaybillRangeAdded => "waybill_range_added",
            Act::StatementIssued => "statement_issued",
            Act::StatementLineResolved => "statement_line_resolved",
            Act::DebtorTermsSet => "debtor_terms_set",
            Act::BankStatementImported => "bank_statement_imported",
            Act::VehicleRegistered => "vehicle_registered",
            Act::HubPlanAdopted => "hub_plan_adopted",
            Act::HubLogImported => "hub_log_imported",
            Act::MissionsCreated => "missions_created",
            Act::MissionReplanned => "mission_replanned",
            Act::VehicleTakenOver => "vehicle_taken_over",
            Act::VehicleTakeoverAction => "vehicle_takeover_action",
            Act::VehicleHandedBack => "vehicle_handed_back",
            Act::IncidentClosed => "incident_closed",
            Act::SendOrderCancelled => "send_order_cancelled",
            Act::KioskCreated => "kiosk_created",
            Act::KioskUpdated => "kiosk_updated",
            Act::KioskRetired => "kiosk_retired",
            Act::VehicleHandedOver => "vehicle_handed_over",
            Act::MissionFinished => "mission_finished",
            Act::ReceiptClaimed => "receipt_claimed",
            Act::WriteOffMade => "write_off_made",
            Act::PresaleCampaignCreated => "presale_campaign_created",
            Act::PresaleImported => "presale_imported",
            Act::VehicleCompartmentsOpened => "vehicle_compartments_opened",
            Act::CollectionPlanSet => "collection_plan_set",
            Act::CreditLimitSet => "credit_limit_set",
            Act::CarrierHeld => "carrier_held",
            Act::CarrierReleased => "carrier_released",
            Act::ReceiptUnclaimed => "receipt_unclaimed",
            Act::BadDebtWrittenOff => "bad_debt_written_off",
            Act::VehicleCollectionOpened => "vehicle_collection_opened",
        }
    }

    pub fn parse(code: &str) -> Option<Act> {
        Act::ALL.iter().copied().find(|act| act.code() == code)
    }
}

/// One row of the trail as stored. `details` is the JSON text exactly as
/// stored: the hash covers these bytes, so no JSON canonicalisation is
/// needed to re-verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// 1, 2, 3, … with no gaps.
    pub seq: i64,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// `None` for the command line and background jobs.
    pub actor_user_id: Option<i64>,
    pub actor: String,
    /// The actor's role code, or `system`.
    pub actor_role: String,
    /// [`Act::code`].
    pub act: String,
    pub object_kind: String,
    pub object_id: Option<i64>,
    /// The station the act concerns; `None` for county-wide acts.
    pub station_id: Option<i64>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

fn field(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(value.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

fn optional(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The bytes hashed for a row: the tag line, then each field as
/// `<byte length>:<UTF-8 bytes>\n` in this order — seq, at_ms,
/// actor_user_id, actor, actor_role, act, object_kind, object_id,
/// station_id, details, prev_hash. Numbers in decimal; an absent number is
/// the empty string. Length prefixes make the encoding unambiguous whatever
/// a field holds.
pub fn encode(row: &AuditRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + row.details.len());
    out.extend_from_slice(ENCODING_TAG.as_bytes());
    out.push(b'\n');
    field(&mut out, &row.seq.to_string());
    field(&mut out, &row.at_ms.to_string());
    field(&mut out, &optional(row.actor_user_id));
    field(&mut out, &row.actor);
    field(&mut out, &row.actor_role);
    field(&mut out, &row.act);
    field(&mut out, &row.object_kind);
    field(&mut out, &optional(row.object_id));
    field(&mut out, &optional(row.station_id));
    field(&mut out, &row.details);
    field(&mut out, &row.prev_hash);
    out
}

/// SHA-256 of [`encode`] in unpadded URL-safe base64 (RFC 4648 §5, 43
/// characters). Not hex: in hex, runs of eleven digits such as
/// `13812345678` turn up by chance in a few hundred hashes, and the database
/// must hold nothing that reads as a mobile number (docs/privacy.md).
pub fn row_hash(row: &AuditRow) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(encode(row)))
}

/// The next row after `head` (`None`: the trail is empty), with its
/// sequence, previous hash and hash filled in.
pub fn chain(head: Option<(i64, &str)>, mut row: AuditRow) -> AuditRow {
    let (seq, prev) = match head {
        Some((seq, hash)) => (seq + 1, hash.to_string()),
        None => (1, GENESIS_HASH.to_string()),
    };
    row.seq = seq;
    row.prev_hash = prev;
    row.hash = row_hash(&row);
    row
}

/// Why a row breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub seq: i64,
    pub reason: BreakReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakReason {
    /// A sequence number is missing or out of order (a row was removed).
    Gap,
    /// `prev_hash` is not the previous row's hash.
    PrevHashMismatch,
    /// The row's content does not give its hash (it was edited).
    HashMismatch,
}

impl BreakReason {
    pub fn code(self) -> &'static str {
        match self {
            BreakReason::Gap => "gap",
            BreakReason::PrevHashMismatch => "prev_hash_mismatch",
            BreakReason::HashMismatch => "hash_mismatch",
        }
    }
}

/// Walks a trail page by page: feed rows in sequence order.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    pub count: u64,
    pub head: Option<(i64, String)>,
    pub broken: Option<Break>,
}

impl Verifier {
    /// Checks the next row; after the first break, further rows are only
    /// counted.
    pub fn feed(&mut self, row: &AuditRow) {
        self.count += 1;
        if self.broken.is_none() {
            let (expected_seq, expected_prev) = match &self.head {
                Some((seq, hash)) => (seq + 1, hash.as_str()),
                None => (1, GENESIS_HASH),
            };
            let reason = if row.seq != expected_seq {
                Some(BreakReason::Gap)
            } else if row.prev_hash != expected_prev {
                Some(BreakReason::PrevHashMismatch)
            } else if row_hash(row) != row.hash {
                Some(BreakReason::HashMismatch)
            } else {
                None
            };
            if let Some(reason) = reason {
                self.broken = Some(Break {
                    seq: row.seq,
                    reason,
                });
            }
        }
        self.head = Some((row.seq, row.hash.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(act: Act, details: &str) -> AuditRow {
        AuditRow {
            seq: 0,
            at_ms: 1_765_000_000_000,
            actor_user_id: Some(3),
            actor: "keeper1".into(),
            actor_role: "station_keeper".into(),
            act: act.code().into(),
            object_kind: "parcel".into(),
            object_id: Some(42),
            station_id: Some(1),
            details: details.into(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn trail(n: usize) -> Vec<AuditRow> {
        let mut rows: Vec<AuditRow> = Vec::new();
        for i in 0..n {
            let head = rows.last().map(|r| (r.seq, r.hash.as_str()));
            let next = chain(head, row(Act::PhoneRevealed, &format!("{{\"n\":{i}}}")));
            rows.push(next);
        }
        rows
    }

    fn verify(rows: &[AuditRow]) -> Verifier {
        let mut verifier = Verifier::default();
        rows.iter().for_each(|r| verifier.feed(r));
        verifier
    }

    #[test]
    fn a_whole_chain_verifies_and_any_edit_is_named() {
        let rows = trail(5);
        assert_eq!(rows[0].prev_hash, GENESIS_HASH);
        assert_eq!(rows[4].seq, 5);
        let ok = verify(&rows);
        assert_eq!((ok.count, ok.broken), (5, None));

        let mut edited = rows.clone();
        edited[2].actor = "someone_else".into();
        assert_eq!(
            verify(&edited).broken,
            Some(Break {
                seq: 3,
                reason: BreakReason::HashMismatch
            })
        );

        // Re-hashing the edited row moves the break to the next row.
        edited[2].hash = row_hash(&edited[2]);
        assert_eq!(
            verify(&edited).broken,
            Some(Break {
                seq: 4,
                reason: BreakReason::PrevHashMismatch
            })
        );

        let mut removed = rows.clone();
        removed.remove(1);
        assert_eq!(
            verify(&removed).broken.map(|b| b.reason),
            Some(BreakReason::Gap)
        );
    }

    #[test]
    fn length_prefixes_keep_fields_apart() {
        let mut a = row(Act::UserCreated, "{}");
        a.actor = "ab".into();
        a.actor_role = "c".into();
        let mut b = a.clone();
        b.actor = "a".into();
        b.actor_role = "bc".into();
        assert_ne!(row_hash(&a), row_hash(&b));
    }

    #[test]
    fn the_encoding_is_the_documented_one() {
        // docs/security.md shows this row and its hash; an outsider checks
        // their own implementation against it.
        let mut r = row(Act::PhoneRevealed, "{\"phone\":\"138****8000\"}");
        r.seq = 1;
        r.prev_hash = GENESIS_HASH.into();
        let text = String::from_utf8(encode(&r)).unwrap();
        assert_eq!(
            text,
            format!(
                "yizhan-audit-v1\n1:1\n13:1765000000000\n1:3\n7:keeper1\n14:station_keeper\n14:phone_revealed\n6:parcel\n2:42\n1:1\n23:{{\"phone\":\"138****8000\"}}\n43:{GENESIS_HASH}\n"
            )
        );
        assert_eq!(row_hash(&r), "Ya1JxVxm5qkTMalRjZ1csY1nkYlno4wzxLSzLw_n9so");
    }

    #[test]
    fn act_codes_round_trip() {
        for &act in Act::ALL {
            assert_eq!(Act::parse(act.code()), Some(act));
        }
    }
}
