//! `yizhan import manifest FILE.csv --carrier CODE`: announces parcels from
//! a carrier's CSV in chunks, with a progress bar, reporting every refused
//! row by its line number and keeping the good ones.

use anyhow::Context;
use app::App;
use app::manifest::{ManifestRow, RejectedRow};
use domain::limits::{BATCH_PARCELS_MAX, MANIFEST_ROWS_MAX};
use domain::{Carrier, Principal, Role};
use std::path::Path;

pub async fn manifest(app: &App, file: &Path, carrier: &str) -> anyhow::Result<()> {
    let carrier = Carrier::parse(carrier).map_err(anyhow::Error::msg)?;
    let operator = Principal {
        user_id: 0,
        username: "cli-import".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    let size_bytes = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let progress = indicatif::ProgressBar::new(size_bytes);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .expect("valid template"),
    );
    let mut rejected: Vec<RejectedRow> = Vec::new();
    let (mut n_announced, mut n_known, mut n_rows) = (0usize, 0usize, 0usize);
    let mut chunk: Vec<ManifestRow> = Vec::with_capacity(BATCH_PARCELS_MAX);
    // The file line of each row in the chunk, so refusals name real lines.
    let mut chunk_lines: Vec<usize> = Vec::with_capacity(BATCH_PARCELS_MAX);
    let headers = reader.headers().context("reading the header line")?.clone();
    let mut records = reader.records();
    loop {
        let next = records.next();
        let finished = next.is_none();
        n_rows += usize::from(!finished);
        match next {
            Some(Ok(record)) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                match record.deserialize::<ManifestRow>(Some(&headers)) {
                    Ok(row) => {
                        chunk.push(row);
                        chunk_lines.push(line);
                    }
                    Err(error) => rejected.push(RejectedRow {
                        row: line,
                        waybill: record.get(0).unwrap_or_default().chars().take(40).collect(),
                        reason: format!("unreadable row: {error}"),
                    }),
                }
            }
            Some(Err(error)) => {
                let line = error.position().map_or(0, |p| p.line() as usize);
                rejected.push(RejectedRow {
                    row: line,
                    waybill: String::new(),
                    reason: format!("unreadable row: {error}"),
                });
            }
            None => {}
        }
        if n_rows > MANIFEST_ROWS_MAX {
            anyhow::bail!("the file has more than {MANIFEST_ROWS_MAX} rows; split it");
        }
        if chunk.len() == BATCH_PARCELS_MAX || (finished && !chunk.is_empty()) {
            let outcome = app.announce(&operator, carrier, &chunk, 0).await?;
            n_announced += outcome.n_announced;
            n_known += outcome.n_already_known;
            rejected.extend(outcome.rejected.into_iter().map(|r| RejectedRow {
                row: chunk_lines[r.row],
                ..r
            }));
            chunk.clear();
            chunk_lines.clear();
            progress.set_position(records.reader().position().byte());
            progress.set_message(format!("{n_announced} announced"));
        }
        if finished {
            break;
        }
    }
    progress.finish();
    rejected.sort_by_key(|r| r.row);
    for row in &rejected {
        eprintln!("line {}: {} {}", row.row, row.waybill, row.reason);
    }
    println!(
        "{n_announced} announced, {n_known} already known, {} refused",
        rejected.len()
    );
    Ok(())
}
