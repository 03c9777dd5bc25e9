//! The shelf map: every slot with its parcels against its capacity, overdue
//! slots marked.

use super::Frame;
use crate::{Keeper, WebError, WebState, render};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use std::collections::BTreeMap;

struct SlotCell {
    label: String,
    n: u32,
    capacity: u32,
    overdue: bool,
}

struct ShelfRow {
    shelf: String,
    tiers: Vec<(u32, Vec<SlotCell>)>,
}

#[derive(Template)]
#[template(path = "shelves.html")]
struct ShelvesPage {
    f: Frame,
    shelves: Vec<ShelfRow>,
}

pub(super) async fn shelves(
    State(state): State<WebState>,
    keeper: Keeper,
    Path(station_id): Path<i64>,
) -> Result<Response, WebError> {
    let f = Frame::load(&state, &keeper, station_id, "shelves").await?;
    let slots = state
        .app
        .station_slots(&keeper.principal, station_id)
        .await
        .map_err(keeper.app_err())?;
    let mut by_shelf: BTreeMap<String, BTreeMap<u32, Vec<SlotCell>>> = BTreeMap::new();
    for s in slots {
        by_shelf
            .entry(s.slot.shelf.clone())
            .or_default()
            .entry(s.slot.tier)
            .or_default()
            .push(SlotCell {
                label: s.slot.label(),
                n: s.n_parcels,
                capacity: s.slot.capacity,
                overdue: s.n_overdue > 0,
            });
    }
    let shelves = by_shelf
        .into_iter()
        .map(|(shelf, tiers)| ShelfRow {
            shelf,
            // Top tier first, as the keeper faces the shelf.
            tiers: tiers.into_iter().rev().collect(),
        })
        .collect();
    Ok(render(ShelvesPage { f, shelves }))
}
