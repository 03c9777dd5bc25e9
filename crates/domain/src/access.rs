//! Who may act on what. Every use case asks a [`Principal`] before touching
//! an object; the HTTP layer only authenticates.

use crate::carrier::Carrier;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    /// Runs the county co-delivery centre: every station in the county.
    CountyOperator,
    /// Runs the stations they are bound to.
    StationKeeper,
    /// A carrier's system: only that carrier's parcels.
    CarrierIntegrator,
    /// The self-service tablet at a station's door: starts pickup sessions
    /// for codes customers enter and nothing else (it sees no lists, no
    /// phones, no other station).
    StationTerminal,
    /// The second line of defence (合规管理): reads the audit trail, runs
    /// the compliance checks and assigns and updates their findings. Acts on
    /// no parcel, user, station or device.
    ComplianceOfficer,
    /// The third line (审计): reads the audit trail and the findings and
    /// changes nothing.
    Auditor,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::CountyOperator => "county_operator",
            Role::StationKeeper => "station_keeper",
            Role::CarrierIntegrator => "carrier_integrator",
            Role::StationTerminal => "station_terminal",
            Role::ComplianceOfficer => "compliance_officer",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(code: &str) -> Result<Role, String> {
        [
            Role::Admin,
            Role::CountyOperator,
            Role::StationKeeper,
            Role::CarrierIntegrator,
            Role::StationTerminal,
            Role::ComplianceOfficer,
            Role::Auditor,
        ]
        .into_iter()
        .find(|role| role.code() == code)
        .ok_or_else(|| format!("unknown role {code:?}; use admin, county_operator, station_keeper, carrier_integrator, station_terminal, compliance_officer or auditor"))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// Stations a keeper is bound to; empty for other roles.
    pub station_ids: Vec<i64>,
    /// The carrier an integrator is bound to.
    pub carrier: Option<Carrier>,
}

impl Principal {
    fn county_wide(&self) -> bool {
        matches!(self.role, Role::Admin | Role::CountyOperator)
    }

    /// Scan in, hand out, move and return parcels at this station.
    pub fn may_operate_station(&self, station_id: i64) -> bool {
        self.county_wide()
            || (self.role == Role::StationKeeper && self.station_ids.contains(&station_id))
    }

    /// Read a station's configuration and lists: who operates it, and the
    /// auditor (the third line reads everything and changes nothing).
    pub fn may_view_station(&self, station_id: i64) -> bool {
        self.may_operate_station(station_id) || self.role == Role::Auditor
    }

    /// Find a station in the station list and read its name and place:
    /// those who work there, and carriers, whose manifests name the station
    /// a parcel goes to. Not a door terminal.
    pub fn may_look_up_station(&self, station_id: i64) -> bool {
        self.may_view_station(station_id) || self.role == Role::CarrierIntegrator
    }

    /// Read one parcel: county staff, the keeper of the station holding it,
    /// the carrier it belongs to, and the auditor (who gets the view without
    /// personal data, `server::views`, and never a whole phone).
    pub fn may_view_parcel(&self, station_id: Option<i64>, carrier: Carrier) -> bool {
        match self.role {
            Role::Admin | Role::CountyOperator | Role::Auditor => true,
            Role::StationKeeper => station_id.is_some_and(|id| self.station_ids.contains(&id)),
            Role::CarrierIntegrator => self.carrier == Some(carrier),
            Role::StationTerminal | Role::ComplianceOfficer => false,
        }
    }

    /// Announce parcels and read statements for a carrier.
    pub fn may_act_for_carrier(&self, carrier: Carrier) -> bool {
        self.county_wide()
            || (self.role == Role::CarrierIntegrator && self.carrier == Some(carrier))
    }

    /// See a recipient's whole phone number: only those who must call them,
    /// the keeper holding the parcel and county staff. Carriers gave us the
    /// number and get it back masked.
    pub fn may_see_full_phone(&self, station_id: Option<i64>) -> bool {
        self.county_wide()
            || (self.role == Role::StationKeeper
                && station_id.is_some_and(|id| self.station_ids.contains(&id)))
    }

    /// Create stations, users and tokens.
    pub fn may_administer(&self) -> bool {
        self.role == Role::Admin
    }

    /// Serve customers at this station's self-service terminal: the
    /// terminal itself, and anyone who may operate the station (a keeper
    /// trying the terminal out).
    pub fn may_run_terminal(&self, station_id: i64) -> bool {
        self.may_operate_station(station_id)
            || (self.role == Role::StationTerminal && self.station_ids.contains(&station_id))
    }

    /// County-wide work: centre scans, imports, the holding job.
    pub fn may_run_county(&self) -> bool {
        self.county_wide()
    }

    /// Read the audit trail and verify its chain: the administrator and the
    /// second and third lines. Operations staff act and are audited; they
    /// do not read the record of their own acts.
    pub fn may_read_audit(&self) -> bool {
        matches!(
            self.role,
            Role::Admin | Role::ComplianceOfficer | Role::Auditor
        )
    }

    /// Read compliance findings: those who read the audit trail.
    pub fn may_read_findings(&self) -> bool {
        self.may_read_audit()
    }

    /// Run the compliance checks and assign, explain, close or escalate
    /// findings: the compliance officer (and the administrator). The
    /// auditor only reads.
    pub fn may_manage_findings(&self) -> bool {
        matches!(self.role, Role::Admin | Role::ComplianceOfficer)
    }

    /// The second and third lines: they read and check, and act on no
    /// parcel, user, station or device.
    pub fn is_oversight(&self) -> bool {
        matches!(self.role, Role::ComplianceOfficer | Role::Auditor)
    }

    /// Keep the county's books (issue 15): issue statements, claim and
    /// write off receipts, resolve disputes. County staff and the
    /// administrator; a write-off above its threshold needs a second person.
    pub fn may_keep_books(&self) -> bool {
        self.county_wide()
    }

    /// Read the whole ledger and every debtor: those who keep the books and
    /// the auditor. A carrier reads only its own accounts and statements
    /// (`may_act_for_carrier`).
    pub fn may_read_books(&self) -> bool {
        self.county_wide() || self.role == Role::Auditor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, station_ids: Vec<i64>, carrier: Option<Carrier>) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            role,
            station_ids,
            carrier,
        }
    }

    #[test]
    fn keepers_see_only_their_stations() {
        let keeper = principal(Role::StationKeeper, vec![1, 2], None);
        assert!(keeper.may_operate_station(1));
        assert!(!keeper.may_operate_station(3));
        assert!(keeper.may_view_parcel(Some(2), Carrier::Sf));
        assert!(!keeper.may_view_parcel(Some(3), Carrier::Sf));
        assert!(!keeper.may_view_parcel(None, Carrier::Sf));
        assert!(!keeper.may_act_for_carrier(Carrier::Sf));
    }

    #[test]
    fn carriers_see_only_their_parcels_and_never_whole_phones() {
        let carrier = principal(Role::CarrierIntegrator, vec![], Some(Carrier::Zto));
        assert!(carrier.may_view_parcel(Some(1), Carrier::Zto));
        assert!(!carrier.may_view_parcel(Some(1), Carrier::Yto));
        assert!(!carrier.may_operate_station(1));
        assert!(!carrier.may_see_full_phone(Some(1)));
        assert!(carrier.may_act_for_carrier(Carrier::Zto));
        assert!(carrier.may_look_up_station(1), "manifests name stations");
        assert!(!carrier.may_view_station(1), "but not their shelves");
        assert!(!carrier.may_act_for_carrier(Carrier::Sf));
    }

    #[test]
    fn roles_round_trip() {
        for role in [
            Role::Admin,
            Role::CountyOperator,
            Role::StationKeeper,
            Role::CarrierIntegrator,
            Role::StationTerminal,
            Role::ComplianceOfficer,
            Role::Auditor,
        ] {
            assert_eq!(Role::parse(role.code()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn a_terminal_serves_pickups_at_its_station_and_nothing_else() {
        let terminal = principal(Role::StationTerminal, vec![4], None);
        assert!(terminal.may_run_terminal(4));
        assert!(!terminal.may_run_terminal(5));
        assert!(!terminal.may_operate_station(4));
        assert!(!terminal.may_view_station(4));
        assert!(!terminal.may_look_up_station(4));
        assert!(!terminal.may_view_parcel(Some(4), Carrier::Sf));
        assert!(!terminal.may_see_full_phone(Some(4)));
        assert!(!terminal.may_run_county());
        let keeper = principal(Role::StationKeeper, vec![4], None);
        assert!(keeper.may_run_terminal(4));
        assert!(!keeper.may_run_terminal(5));
    }

    #[test]
    fn the_second_and_third_lines_read_the_trail_and_act_on_nothing() {
        for role in [Role::ComplianceOfficer, Role::Auditor] {
            let p = principal(role, vec![], None);
            assert!(p.may_read_audit() && p.may_read_findings() && p.is_oversight());
            assert!(!p.may_operate_station(1));
            // The auditor reads parcels and stations; the officer neither.
            assert_eq!(
                p.may_view_parcel(Some(1), Carrier::Sf),
                role == Role::Auditor
            );
            assert_eq!(p.may_view_station(1), role == Role::Auditor);
            assert!(!p.may_see_full_phone(Some(1)));
            assert!(!p.may_act_for_carrier(Carrier::Sf));
            assert!(!p.may_administer());
            assert!(!p.may_run_terminal(1));
            assert!(!p.may_run_county());
        }
        assert!(principal(Role::ComplianceOfficer, vec![], None).may_manage_findings());
        assert!(!principal(Role::Auditor, vec![], None).may_manage_findings());
        for role in [
            Role::CountyOperator,
            Role::StationKeeper,
            Role::CarrierIntegrator,
        ] {
            assert!(!principal(role, vec![1], None).may_read_audit());
        }
    }
}
