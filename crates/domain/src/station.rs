//! A station's shelves, tiers and slots, and the policies a keeper sets:
//! pickup code format, holding period and reminders.

use crate::limits::{SLOT_CAPACITY_MAX, STATION_SLOTS_MAX};
use crate::pickup_code::CodeFormat;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeClass {
    Small,
    Medium,
    Large,
}

impl SizeClass {
    pub fn code(self) -> &'static str {
        match self {
            SizeClass::Small => "small",
            SizeClass::Medium => "medium",
            SizeClass::Large => "large",
        }
    }

    pub fn parse(text: &str) -> Result<SizeClass, String> {
        match text {
            "small" => Ok(SizeClass::Small),
            "medium" => Ok(SizeClass::Medium),
            "large" => Ok(SizeClass::Large),
            other => Err(format!(
                "unknown size class {other:?}; use small, medium or large"
            )),
        }
    }

    /// Slot size classes a parcel of this size fits, best fit first: a small
    /// parcel may use a larger slot when small ones are full, never the reverse.
    pub fn fits_in(self) -> &'static [SizeClass] {
        match self {
            SizeClass::Small => &[SizeClass::Small, SizeClass::Medium, SizeClass::Large],
            SizeClass::Medium => &[SizeClass::Medium, SizeClass::Large],
            SizeClass::Large => &[SizeClass::Large],
        }
    }
}

/// One shelf: `tiers` × `slots_per_tier` slots, each holding up to
/// `slot_capacity` parcels of `size` or smaller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShelfSpec {
    pub label: String,
    pub tiers: u32,
    pub slots_per_tier: u32,
    pub size: SizeClass,
    pub slot_capacity: u32,
}

/// One slot as laid out from a [`ShelfSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotSpec {
    pub shelf: String,
    pub tier: u32,
    pub slot: u32,
    pub size: SizeClass,
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("a station needs at least one shelf")]
    NoShelves,
    #[error("shelf label {0:?} must be 1 to 4 letters or digits")]
    Label(String),
    #[error("shelf label {0:?} is used twice")]
    DuplicateLabel(String),
    #[error(
        "shelf {0}: tiers, slots per tier and slot capacity must each be at least 1 (capacity at most {SLOT_CAPACITY_MAX})"
    )]
    Dimensions(String),
    #[error("the layout has {0} slots; a station may have at most {STATION_SLOTS_MAX}")]
    TooManySlots(u64),
}

/// Expands shelves into slots, checking labels and sizes.
pub fn lay_out(shelves: &[ShelfSpec]) -> Result<Vec<SlotSpec>, LayoutError> {
    if shelves.is_empty() {
        return Err(LayoutError::NoShelves);
    }
    let mut n_slots: u64 = 0;
    for (idx, shelf) in shelves.iter().enumerate() {
        let label_ok = (1..=4).contains(&shelf.label.len())
            && shelf.label.bytes().all(|b| b.is_ascii_alphanumeric());
        if !label_ok {
            return Err(LayoutError::Label(shelf.label.clone()));
        }
        if shelves[..idx]
            .iter()
            .any(|earlier| earlier.label == shelf.label)
        {
            return Err(LayoutError::DuplicateLabel(shelf.label.clone()));
        }
        if shelf.tiers == 0
            || shelf.slots_per_tier == 0
            || !(1..=SLOT_CAPACITY_MAX).contains(&shelf.slot_capacity)
        {
            return Err(LayoutError::Dimensions(shelf.label.clone()));
        }
        n_slots += u64::from(shelf.tiers) * u64::from(shelf.slots_per_tier);
        if n_slots > u64::from(STATION_SLOTS_MAX) {
            return Err(LayoutError::TooManySlots(n_slots));
        }
    }
    let mut slots = Vec::with_capacity(n_slots as usize);
    for shelf in shelves {
        for tier in 1..=shelf.tiers {
            for slot in 1..=shelf.slots_per_tier {
                slots.push(SlotSpec {
                    shelf: shelf.label.clone(),
                    tier,
                    slot,
                    size: shelf.size,
                    capacity: shelf.slot_capacity,
                });
            }
        }
    }
    Ok(slots)
}

/// How long parcels wait and when recipients are reminded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingPolicy {
    pub holding_days: u32,
    pub reminder_days: Vec<u32>,
}

impl Default for HoldingPolicy {
    fn default() -> Self {
        HoldingPolicy {
            holding_days: 7,
            reminder_days: vec![3, 6],
        }
    }
}

impl HoldingPolicy {
    pub fn new(holding_days: u32, mut reminder_days: Vec<u32>) -> Result<HoldingPolicy, String> {
        if !(1..=30).contains(&holding_days) {
            return Err(format!(
                "holding period must be 1 to 30 days, not {holding_days}"
            ));
        }
        reminder_days.sort_unstable();
        reminder_days.dedup();
        if reminder_days
            .iter()
            .any(|day| *day == 0 || *day >= holding_days)
        {
            return Err(format!(
                "reminder days must fall within the holding period (1 to {})",
                holding_days - 1
            ));
        }
        Ok(HoldingPolicy {
            holding_days,
            reminder_days,
        })
    }
}

/// Everything a station's keeper configures, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationPolicy {
    pub code_format: CodeFormat,
    pub holding: HoldingPolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shelf(label: &str, tiers: u32, slots: u32) -> ShelfSpec {
        ShelfSpec {
            label: label.into(),
            tiers,
            slots_per_tier: slots,
            size: SizeClass::Small,
            slot_capacity: 1,
        }
    }

    #[test]
    fn lays_out_every_slot() {
        let slots = lay_out(&[shelf("A", 3, 4), shelf("B", 2, 5)]).unwrap();
        assert_eq!(slots.len(), 22);
        assert_eq!(
            slots[0],
            SlotSpec {
                shelf: "A".into(),
                tier: 1,
                slot: 1,
                size: SizeClass::Small,
                capacity: 1
            }
        );
        assert_eq!(slots.last().unwrap().shelf, "B");
    }

    #[test]
    fn refuses_bad_layouts() {
        assert_eq!(lay_out(&[]), Err(LayoutError::NoShelves));
        assert_eq!(
            lay_out(&[shelf("A", 1, 1), shelf("A", 1, 1)]),
            Err(LayoutError::DuplicateLabel("A".into()))
        );
        assert_eq!(
            lay_out(&[shelf("A-1", 1, 1)]),
            Err(LayoutError::Label("A-1".into()))
        );
        assert_eq!(
            lay_out(&[shelf("A", 0, 1)]),
            Err(LayoutError::Dimensions("A".into()))
        );
        assert_eq!(
            lay_out(&[shelf("A", 100, 100)]),
            Err(LayoutError::TooManySlots(10_000))
        );
    }

    #[test]
    fn holding_policy_checks_reminders() {
        assert!(HoldingPolicy::new(7, vec![3, 6]).is_ok());
        assert!(HoldingPolicy::new(7, vec![7]).is_err());
        assert!(HoldingPolicy::new(0, vec![]).is_err());
        assert_eq!(
            HoldingPolicy::new(7, vec![6, 3, 3]).unwrap().reminder_days,
            vec![3, 6]
        );
    }
}
