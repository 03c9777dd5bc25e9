//! Every sensitive act that exists has its audit call (issue 12, point 4),
//! checked from the source: each use case below must name its `Act` in its
//! own body, and every `Act` must be claimed by some use case here, so a new
//! act without a call site, or a call removed from a use case, fails. The
//! behaviour (one row per act, in the act's transaction) is tested in
//! `store/tests/audit.rs`; this test guards the list.

use std::path::Path;

/// (source file under `src/`, use-case function, the act it records).
const AUDITED: &[(&str, &str, &str)] = &[
    ("parcels.rs", "parcel_phone", "PhoneRevealed"),
    ("approvals.rs", "require", "ApprovalRequested"),
    ("approvals.rs", "decide_approval", "ApprovalGranted"),
    ("approvals.rs", "decide_approval", "ApprovalRefused"),
    ("parcels.rs", "pick_up", "PickupStaffAssisted"),
    ("parcels.rs", "return_to_carrier", "ParcelReturned"),
    ("parcels.rs", "record_misroute", "MisrouteRecorded"),
    ("county/arrival.rs", "resolve_manual", "ManualResolved"),
    ("auth.rs", "create_user_by", "UserCreated"),
    ("auth.rs", "disable_user", "UserDisabled"),
    ("auth.rs", "set_user_password", "PasswordSet"),
    ("auth.rs", "change_own_password", "PasswordChanged"),
    ("auth.rs", "enable_user", "UserEnabled"),
    ("auth.rs", "revoke_user_tokens", "TokensRevoked"),
    ("auth.rs", "issue_api_token", "TokenIssued"),
    ("auth.rs", "create_carrier_token", "TokenIssued"),
    ("auth.rs", "revoke_carrier_token", "TokensRevoked"),
    ("auth.rs", "pair_terminal", "TerminalPaired"),
    ("stations.rs", "create_station", "StationCreated"),
    (
        "county/agreements.rs",
        "create_agreement",
        "AgreementCreated",
    ),
    ("county/agreements.rs", "create_route", "RouteCreated"),
    (
        "county/agreements.rs",
        "create_contractor",
        "ContractorCreated",
    ),
    ("webhooks.rs", "create_webhook", "WebhookCreated"),
    ("webhooks.rs", "update_webhook", "WebhookUpdated"),
    ("webhooks.rs", "delete_webhook", "WebhookDeleted"),
    (
        "webhooks.rs",
        "rotate_webhook_secret",
        "WebhookSecretRotated",
    ),
    ("county/reports.rs", "reconcile", "DataExported"),
    ("county/reports.rs", "fee_ledger", "DataExported"),
    ("county/bags.rs", "handover", "DataExported"),
    ("dispatch.rs", "plan_dispatch", "DispatchPlanned"),
    ("compliance.rs", "run_compliance", "ComplianceRun"),
    ("compliance.rs", "update_finding", "FindingUpdated"),
    ("devices.rs", "register_device", "DeviceRegistered"),
    ("devices.rs", "replace_device", "DeviceReplaced"),
    (
        "devices.rs",
        "set_station_contact_phone",
        "ContactPhoneChanged",
    ),
    ("retention.rs", "run_retention", "RetentionRun"),
    // Branch `station` (issue 13): the keeper's console.
    ("parcels.rs", "record_consent", "ConsentRecorded"),
    ("parcels.rs", "add_contact", "ContactAdded"),
    ("parcels.rs", "record_station_export", "DataExported"),
    // Branch `sending` (issue 14).
    ("sending/mod.rs", "verify_sender_identity", "SenderVerified"),
    ("sending/pool.rs", "add_waybill_range", "WaybillRangeAdded"),
    // Branch `money` (issue 15): statements.
    (
        "finance/statements.rs",
        "issue_statement",
        "StatementIssued",
    ),
    (
        "finance/statements.rs",
        "resolve_statement_line",
        "StatementLineResolved",
    ),
    ("finance/arrears.rs", "set_debtor_terms", "DebtorTermsSet"),
    (
        "finance/receipts.rs",
        "import_bank_statement",
        "BankStatementImported",
    ),
    // Branch `vehicles` (issue 20): the fleet and the take-over workflow.
    ("fleet.rs", "register_vehicle", "VehicleRegistered"),
    ("fleet.rs", "create_missions", "MissionsCreated"),
    ("fleet.rs", "replan_broken_down", "MissionReplanned"),
    ("fleet.rs", "incident_step", "VehicleTakenOver"),
    ("fleet.rs", "incident_step", "VehicleTakeoverAction"),
    ("fleet.rs", "incident_step", "VehicleHandedBack"),
    ("fleet.rs", "incident_step", "IncidentClosed"),
    // Branch `send-flow` (issue 14): staff cancel a sending order.
    ("sending/payments.rs", "cancel_in", "SendOrderCancelled"),
    // Branch `kiosks` (issue 14): the kiosk fleet's configuration.
    ("kiosks.rs", "create_kiosk", "KioskCreated"),
    // The sorting hub's board (issue 16, point 4).
    ("sort_plans/hub.rs", "adopt_hub_plan", "HubPlanAdopted"),
    ("sort_plans/hub.rs", "import_hub_log", "HubLogImported"),
    ("kiosks.rs", "update_kiosk", "KioskUpdated"),
    ("kiosks.rs", "set_kiosk_suspended", "KioskUpdated"),
    ("kiosks.rs", "retire_kiosk", "KioskRetired"),
    ("kiosks.rs", "import_kiosks", "KioskCreated"),
    ("fleet.rs", "hand_over_at_stop", "VehicleHandedOver"),
    ("fleet.rs", "finish_mission", "MissionFinished"),
    // Branch `claims` (issue 15): claims and write-offs.
    ("finance/claims.rs", "claim_receipt", "ReceiptClaimed"),
    ("finance/claims.rs", "write_off", "WriteOffMade"),
    // Branch `presale` (issue 14): community pre-sale campaigns.
    (
        "presale.rs",
        "create_presale_campaign",
        "PresaleCampaignCreated",
    ),
    ("presale.rs", "import_presale_orders", "PresaleImported"),
    // Branch `fleet-ops` (issue 20, session 9).
    (
        "fleet.rs",
        "open_compartments_at_stop",
        "VehicleCompartmentsOpened",
    ),
    // Branch `money2` (issue 15, session 10): collection plans.
    (
        "finance/plans.rs",
        "make_collection_plan",
        "CollectionPlanSet",
    ),
    (
        "finance/plans.rs",
        "set_collection_targets",
        "CollectionPlanSet",
    ),
    ("finance/exposure.rs", "set_credit_limit", "CreditLimitSet"),
    ("finance/exposure.rs", "check_exposure", "CarrierHeld"),
    ("finance/exposure.rs", "release_carrier", "CarrierReleased"),
    ("finance/claims.rs", "unclaim_receipt", "ReceiptUnclaimed"),
    (
        "finance/claims.rs",
        "write_off_bad_debt",
        "BadDebtWrittenOff",
    ),
    // Branch `vehicles2` (issue 20, session 10).
    (
        "fleet.rs",
        "open_stop_for_collection",
        "VehicleCollectionOpened",
    ),
];

/// The body of `fn name` in `source`: from its signature to the next
/// function at the same indentation (or the end).
fn body_of<'a>(source: &'a str, name: &str) -> Option<&'a str> {
    let start = source.find(&format!("fn {name}("))?;
    let rest = &source[start..];
    let end = rest[1..]
        .find("\n    pub async fn ")
        .or_else(|| rest[1..].find("\n    async fn "))
        .or_else(|| rest[1..].find("\n    pub fn "))
        .map_or(rest.len(), |at| at + 1);
    Some(&rest[..end])
}

#[test]
fn every_sensitive_use_case_records_its_act() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    for (file, function, act) in AUDITED {
        let source = std::fs::read_to_string(src.join(file)).unwrap();
        match body_of(&source, function) {
            None => missing.push(format!("{file}: no fn {function}")),
            Some(body) => {
                // Either it appends itself, or it hands the act to the
                // parcels' `change`, which appends it (checked below).
                let records = body.contains("audit::record(")
                    || body.contains("audit::record_alone(")
                    || body.contains("self.change(");
                if !records || !body.contains(&format!("Act::{act}")) {
                    missing.push(format!("{file}: {function} does not record Act::{act}"));
                }
            }
        }
    }
    let parcels = std::fs::read_to_string(src.join("parcels.rs")).unwrap();
    let change = body_of(&parcels, "change").expect("parcels::change");
    assert!(
        change.contains("audit::record(") && change.contains("tx.commit()"),
        "parcels::change must append the act it is handed before it commits"
    );
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn every_act_is_claimed_by_a_use_case() {
    let domain = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/src/audit.rs"),
    )
    .unwrap();
    for &act in domain::audit::Act::ALL {
        // The variant's name as written in `Act::code`'s match arm.
        let arm = format!("=> \"{}\"", act.code());
        let line = domain
            .lines()
            .find(|line| line.contains(&arm))
            .unwrap_or_else(|| panic!("no code arm for {act:?}"));
        let variant = line
            .trim()
            .trim_start_matches("Act::")
            .split(' ')
            .next()
            .unwrap();
        assert!(
            AUDITED.iter().any(|(_, _, claimed)| *claimed == variant),
            "Act::{variant} is recorded by no listed use case"
        );
    }
}
