//! The parcel state machine. A parcel is in exactly one state; every change
//! goes through [`ParcelState::apply`], which either returns the next state
//! or says why the action is not allowed. Illegal transitions are errors,
//! never silent no-ops.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParcelState {
    /// Known from a carrier's manifest (预报), not yet seen.
    Announced,
    /// Scanned in at the county co-delivery centre.
    ArrivedAtCentre,
    /// Sorted to a route, contractor or station.
    Sorted,
    /// Left the centre on a vehicle or with a contractor.
    Dispatched,
    /// At the station, but the recipient has not consented to station
    /// delivery: it waits on a slot, without a pickup code, until they do.
    AwaitingConsent,
    /// On a slot with an active pickup code.
    Stored,
    /// Handed to the recipient, confirmed by their own act.
    PickedUp,
    /// Given back to the carrier.
    Returned,
    /// Damaged, wrong address, refused or lost; see the problem kind.
    Problem,
    /// Delivered to the recipient by the township's contractor, as the
    /// contractor reported (contractor mode: the parcel never reaches a
    /// station of ours).
    Delivered,
    /// The carrier cancelled the announcement before the parcel was seen.
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Damaged,
    WrongAddress,
    Refused,
    Lost,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 4] = [
        ProblemKind::Damaged,
        ProblemKind::WrongAddress,
        ProblemKind::Refused,
        ProblemKind::Lost,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::Damaged => "damaged",
            ProblemKind::WrongAddress => "wrong_address",
            ProblemKind::Refused => "refused",
            ProblemKind::Lost => "lost",
        }
    }

    pub fn parse(code: &str) -> Option<ProblemKind> {
        ProblemKind::ALL
            .into_iter()
            .find(|kind| kind.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ProblemKind::Damaged => "破损",
            ProblemKind::WrongAddress => "地址错误",
            ProblemKind::Refused => "拒收",
            ProblemKind::Lost => "丢失",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            ProblemKind::Damaged => "Damaged",
            ProblemKind::WrongAddress => "Wrong address",
            ProblemKind::Refused => "Refused",
            ProblemKind::Lost => "Lost",
        }
    }

    pub fn name_in(self, english: bool) -> &'static str {
        if english {
            self.name_en()
        } else {
            self.name_zh()
        }
    }
}

/// What can happen to a parcel. Each applied action leaves an event of the
/// same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    Announce,
    ArriveAtCentre,
    Sort,
    Dispatch,
    /// Scanned in at a station; `consented` says whether the recipient has
    /// agreed to station delivery.
    StationInbound {
        consented: bool,
    },
    GrantConsent,
    /// The keeper added the recipient's phone to a parcel that waits
    /// without one (待补联系方式): the parcel stays where it is, and only now
    /// can the recipient be asked or told.
    AddContact,
    Move,
    PickUp,
    ReportProblem {
        kind: ProblemKind,
    },
    ReturnToCarrier,
    /// The township's contractor reported the parcel delivered.
    ReportDelivered,
    /// The carrier corrected what it announced (before the parcel was seen).
    CorrectAnnouncement,
    /// The carrier cancelled the announcement (before the parcel was seen).
    CancelAnnouncement,
}

/// Event names as stored; one per action.
pub type EventKind = &'static str;

impl Action {
    pub fn event_kind(&self) -> EventKind {
        match self {
            Action::Announce => "announced",
            Action::ArriveAtCentre => "arrived_at_centre",
            Action::Sort => "sorted",
            Action::Dispatch => "dispatched",
            Action::StationInbound { consented: true } => "stored",
            Action::StationInbound { consented: false } => "awaiting_consent",
            Action::GrantConsent => "consent_granted",
            Action::AddContact => "contact_added",
            Action::Move => "moved",
            Action::PickUp => "picked_up",
            Action::ReportProblem { .. } => "problem",
            Action::ReturnToCarrier => "returned",
            Action::ReportDelivered => "delivered",
            Action::CorrectAnnouncement => "announcement_corrected",
            Action::CancelAnnouncement => "announcement_cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a parcel that is {from} cannot be {action}")]
pub struct TransitionError {
    pub from: &'static str,
    pub action: &'static str,
}

impl ParcelState {
    pub const ALL: [ParcelState; 11] = [
        ParcelState::Announced,
        ParcelState::ArrivedAtCentre,
        ParcelState::Sorted,
        ParcelState::Dispatched,
        ParcelState::AwaitingConsent,
        ParcelState::Stored,
        ParcelState::PickedUp,
        ParcelState::Returned,
        ParcelState::Problem,
        ParcelState::Delivered,
        ParcelState::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ParcelState::Announced => "announced",
            ParcelState::ArrivedAtCentre => "arrived_at_centre",
            ParcelState::Sorted => "sorted",
            ParcelState::Dispatched => "dispatched",
            ParcelState::AwaitingConsent => "awaiting_consent",
            ParcelState::Stored => "stored",
            ParcelState::PickedUp => "picked_up",
            ParcelState::Returned => "returned",
            ParcelState::Problem => "problem",
            ParcelState::Delivered => "delivered",
            ParcelState::Cancelled => "cancelled",
        }
    }

    pub fn parse(code: &str) -> Option<ParcelState> {
        ParcelState::ALL
            .into_iter()
            .find(|state| state.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ParcelState::Announced => "已预报",
            ParcelState::ArrivedAtCentre => "已到县中心",
            ParcelState::Sorted => "已分拣",
            ParcelState::Dispatched => "已发运",
            ParcelState::AwaitingConsent => "待确认入站",
            ParcelState::Stored => "待取件",
            ParcelState::PickedUp => "已取件",
            ParcelState::Returned => "已退回",
            ParcelState::Problem => "问题件",
            ParcelState::Delivered => "已妥投",
            ParcelState::Cancelled => "已取消预报",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            ParcelState::Announced => "Announced",
            ParcelState::ArrivedAtCentre => "At the county centre",
            ParcelState::Sorted => "Sorted",
            ParcelState::Dispatched => "Dispatched",
            ParcelState::AwaitingConsent => "Awaiting consent",
            ParcelState::Stored => "Ready for pickup",
            ParcelState::PickedUp => "Picked up",
            ParcelState::Returned => "Returned",
            ParcelState::Problem => "Problem",
            ParcelState::Delivered => "Delivered",
            ParcelState::Cancelled => "Announcement cancelled",
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

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ParcelState::PickedUp
                | ParcelState::Returned
                | ParcelState::Delivered
                | ParcelState::Cancelled
        )
    }

    /// Physically on a station's shelf, so it occupies a slot.
    pub fn occupies_slot(self) -> bool {
        matches!(self, ParcelState::Stored | ParcelState::AwaitingConsent)
    }

    /// Holds an active pickup code.
    pub fn has_active_code(self) -> bool {
        self == ParcelState::Stored
    }

    /// Not yet at a station: the states a station inbound scan may start from.
    fn before_station(self) -> bool {
        matches!(
            self,
            ParcelState::Announced
                | ParcelState::ArrivedAtCentre
                | ParcelState::Sorted
                | ParcelState::Dispatched
        )
    }

    pub fn apply(self, action: Action) -> Result<ParcelState, TransitionError> {
        use ParcelState as S;
        let next = match (self, action) {
            (S::Announced, Action::ArriveAtCentre) => Some(S::ArrivedAtCentre),
            (S::ArrivedAtCentre, Action::Sort) => Some(S::Sorted),
            (S::Sorted, Action::Dispatch) => Some(S::Dispatched),
            // Carriers' own couriers also drop parcels straight at a village
            // station (村级站点复用), and a problem parcel put back on a shelf
            // is scanned in again.
            (from, Action::StationInbound { consented })
                if from.before_station() || from == S::Problem =>
            {
                Some(if consented {
                    S::Stored
                } else {
                    S::AwaitingConsent
                })
            }
            (S::AwaitingConsent, Action::GrantConsent) => Some(S::Stored),
            (S::Stored | S::AwaitingConsent, Action::Move) => Some(self),
            (S::AwaitingConsent, Action::AddContact) => Some(S::AwaitingConsent),
            // A problem parcel the recipient takes as it is (a dented box
            // they accept) is handed out from the problems list.
            (S::Stored | S::Problem, Action::PickUp) => Some(S::PickedUp),
            (from, Action::ReportProblem { .. }) if !from.is_terminal() => Some(S::Problem),
            (S::Stored | S::AwaitingConsent | S::Problem, Action::ReturnToCarrier) => {
                Some(S::Returned)
            }
            (S::Dispatched, Action::ReportDelivered) => Some(S::Delivered),
            (S::Announced, Action::CorrectAnnouncement) => Some(S::Announced),
            (S::Announced, Action::CancelAnnouncement) => Some(S::Cancelled),
            _ => None,
        };
        next.ok_or(TransitionError {
            from: self.code(),
            action: action.event_kind(),
        })
    }
}

impl std::fmt::Display for ParcelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParcelState as S;

    #[test]
    fn the_happy_path() {
        let mut state = S::Announced;
        for action in [
            Action::ArriveAtCentre,
            Action::Sort,
            Action::Dispatch,
            Action::StationInbound { consented: true },
            Action::PickUp,
        ] {
            state = state.apply(action).unwrap();
        }
        assert_eq!(state, S::PickedUp);
    }

    #[test]
    fn a_contractor_delivers_and_an_announcement_is_corrected_or_cancelled_only_before_arrival() {
        assert_eq!(
            S::Dispatched.apply(Action::ReportDelivered),
            Ok(S::Delivered)
        );
        assert!(S::Sorted.apply(Action::ReportDelivered).is_err());
        assert!(S::Stored.apply(Action::ReportDelivered).is_err());
        assert_eq!(
            S::Announced.apply(Action::CorrectAnnouncement),
            Ok(S::Announced)
        );
        assert_eq!(
            S::Announced.apply(Action::CancelAnnouncement),
            Ok(S::Cancelled)
        );
        for settled in [S::ArrivedAtCentre, S::Stored, S::Cancelled, S::Delivered] {
            assert!(settled.apply(Action::CorrectAnnouncement).is_err());
            assert!(settled.apply(Action::CancelAnnouncement).is_err());
        }
        assert!(S::Delivered.is_terminal() && S::Cancelled.is_terminal());
        assert_eq!(Action::ReportDelivered.event_kind(), "delivered");
    }

    #[test]
    fn consent_gates_storage() {
        let waiting = S::Dispatched
            .apply(Action::StationInbound { consented: false })
            .unwrap();
        assert_eq!(waiting, S::AwaitingConsent);
        assert!(
            waiting.apply(Action::PickUp).is_err(),
            "no pickup without consent and a code"
        );
        assert_eq!(waiting.apply(Action::GrantConsent), Ok(S::Stored));
    }

    #[test]
    fn terminal_states_accept_nothing() {
        let actions = [
            Action::ArriveAtCentre,
            Action::Sort,
            Action::Dispatch,
            Action::StationInbound { consented: true },
            Action::GrantConsent,
            Action::AddContact,
            Action::Move,
            Action::PickUp,
            Action::ReportProblem {
                kind: ProblemKind::Lost,
            },
            Action::ReturnToCarrier,
        ];
        for state in [S::PickedUp, S::Returned] {
            for action in actions {
                let error = state.apply(action).unwrap_err();
                assert_eq!(error.from, state.code());
            }
        }
    }

    #[test]
    fn codes_round_trip_and_errors_read_well() {
        for state in S::ALL {
            assert_eq!(S::parse(state.code()), Some(state));
        }
        let error = S::Stored.apply(Action::Sort).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a parcel that is stored cannot be sorted"
        );
    }
}
