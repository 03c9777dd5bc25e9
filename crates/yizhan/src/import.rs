//! `yizhan import manifest FILE --carrier CODE [--json]`: announces parcels
//! from a carrier's CSV or .xlsx spreadsheet (first sheet) in chunks, with
//! a progress bar, reporting every refused row by its line number (a
//! waybill twice in the file at its second line) and keeping the good ones.
//! It exits 1 when any row was refused, so a script notices; `--json`
//! prints the outcome as one object.

use anyhow::Context;
use app::App;
use app::manifest::RejectedRow;
use app::ports::NewParcel;
use domain::limits::{MANIFEST_CHUNK_ROWS, MANIFEST_ROWS_MAX};
use domain::{Carrier, Principal, Role};
use std::path::Path;

use manifest_file::SourceRow;

/// A chunk of rows read, parsed and checked by the reader thread, so the
/// writer only writes.
struct Chunk {
    rows: Vec<NewParcel>,
    /// The file line of each row, so refusals name real lines.
    lines: Vec<usize>,
    /// Rows that could not be read or parsed.
    unreadable: Vec<RejectedRow>,
    n_rows: usize,
    progress: u64,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub n_rows: usize,
    pub n_announced: usize,
    pub n_known: usize,
    pub rejected: Vec<RejectedRow>,
}

pub async fn manifest(app: &App, file: &Path, carrier: &str, json: bool) -> anyhow::Result<()> {
    let carrier = Carrier::parse(carrier).map_err(anyhow::Error::msg)?;
    let summary = run(app, file, carrier, !json).await?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        for row in &summary.rejected {
            eprintln!("line {}: {} {}", row.row, row.waybill, row.reason);
        }
        println!(
            "{} announced, {} already known, {} refused",
            summary.n_announced,
            summary.n_known,
            summary.rejected.len()
        );
    }
    if !summary.rejected.is_empty() {
        // The good rows are kept; the exit status tells a script that some
        // were not.
        std::process::exit(1);
    }
    Ok(())
}

/// Imports a manifest file: a reader thread reads and parses the file into
/// chunks while this task announces the previous chunk, one transaction each
/// (`App::announce_parsed_chunk`), so reading and writing overlap. A crash
/// leaves whole chunks; importing the file again announces only the rest.
pub async fn run(
    app: &App,
    file: &Path,
    carrier: Carrier,
    show_progress: bool,
) -> anyhow::Result<ImportSummary> {
    let operator = Principal {
        user_id: 0,
        username: "cli-import".into(),
        role: Role::CountyOperator,
        station_ids: vec![],
        carrier: None,
    };
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<anyhow::Result<Chunk>>(2);
    let (total_sender, total_receiver) = tokio::sync::oneshot::channel::<u64>();
    let path = file.to_path_buf();
    let reader = std::thread::spawn(move || read_chunks(&path, carrier, total_sender, sender));
    let progress = if show_progress {
        indicatif::ProgressBar::new(total_receiver.await.unwrap_or(0))
    } else {
        indicatif::ProgressBar::hidden()
    };
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {elapsed} {msg}")
            .expect("valid template"),
    );
    let started = std::time::Instant::now();
    let mut summary = ImportSummary::default();
    while let Some(chunk) = receiver.recv().await {
        let chunk = chunk?;
        summary.rejected.extend(chunk.unreadable);
        summary.n_rows += chunk.n_rows;
        if !chunk.rows.is_empty() {
            let outcome = app
                .announce_parsed_chunk(&operator, carrier, chunk.rows, 0)
                .await?;
            summary.n_announced += outcome.n_announced;
            summary.n_known += outcome.n_already_known;
            summary
                .rejected
                .extend(outcome.rejected.into_iter().map(|r| RejectedRow {
                    row: chunk.lines[r.row],
                    ..r
                }));
        }
        progress.set_position(chunk.progress);
        progress.set_message(format!(
            "{} rows, {} announced, {} refused, {:.0} rows/s",
            summary.n_rows,
            summary.n_announced,
            summary.rejected.len(),
            summary.n_rows as f64 / started.elapsed().as_secs_f64().max(1e-9)
        ));
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the file reader stopped unexpectedly"))?;
    progress.finish_and_clear();
    summary.rejected.sort_by_key(|r| r.row);
    Ok(summary)
}

/// The reader thread: sends the file's size in progress units, then chunks
/// of up to `MANIFEST_CHUNK_ROWS` rows; an error ends the stream.
fn read_chunks(
    file: &Path,
    carrier: Carrier,
    total: tokio::sync::oneshot::Sender<u64>,
    sender: tokio::sync::mpsc::Sender<anyhow::Result<Chunk>>,
) {
    let extension = file
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let rows: anyhow::Result<(u64, Box<dyn Iterator<Item = SourceRow>>)> = match extension.as_str()
    {
        "xlsx" | "xlsm" => std::fs::read(file)
            .with_context(|| format!("opening {}", file.display()))
            .and_then(|bytes| manifest_file::spreadsheet_rows(&bytes))
            .map(|rows| (rows.len() as u64, Box::new(rows.into_iter()) as Box<_>)),
        "xls" | "ods" => Err(anyhow::anyhow!(
            "{} is an .{extension} file; save it as .xlsx or export CSV (only those two are read, so that a stray far cell cannot exhaust memory)",
            file.display()
        )),
        _ => open(file).and_then(|f| {
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            manifest_file::csv_rows(f).map(|rows| (size, Box::new(rows) as Box<_>))
        }),
    };
    let (size, rows) = match rows {
        Ok(rows) => rows,
        Err(error) => {
            let _ = total.send(0);
            let _ = sender.blocking_send(Err(error));
            return;
        }
    };
    let _ = total.send(size);
    let new_chunk = || Chunk {
        rows: Vec::with_capacity(MANIFEST_CHUNK_ROWS),
        lines: Vec::with_capacity(MANIFEST_CHUNK_ROWS),
        unreadable: Vec::new(),
        n_rows: 0,
        progress: 0,
    };
    let mut chunk = new_chunk();
    let mut n_rows = 0usize;
    let mut seen = app::manifest::SeenWaybills::new("line");
    for (line, position, row) in rows {
        n_rows += 1;
        if n_rows > MANIFEST_ROWS_MAX {
            let _ = sender.blocking_send(Err(anyhow::anyhow!(
                "the file has more than {MANIFEST_ROWS_MAX} rows; split it"
            )));
            return;
        }
        chunk.n_rows += 1;
        chunk.progress = position;
        let parsed = row.map(|row| {
            let parcel = app::manifest::parse_row_for(carrier, &row)
                .and_then(|parcel| seen.check(&parcel.waybill, line).map(|()| parcel));
            (parcel, row)
        });
        match parsed {
            Ok((Ok(parcel), _)) => {
                chunk.rows.push(parcel);
                chunk.lines.push(line);
            }
            Ok((Err(reason), row)) => chunk.unreadable.push(RejectedRow {
                row: line,
                waybill: row.waybill.chars().take(64).collect(),
                reason,
            }),
            Err(reason) => chunk.unreadable.push(RejectedRow {
                row: line,
                waybill: String::new(),
                reason,
            }),
        }
        if chunk.rows.len() == MANIFEST_CHUNK_ROWS {
            let full = std::mem::replace(&mut chunk, new_chunk());
            if sender.blocking_send(Ok(full)).is_err() {
                return;
            }
        }
    }
    if chunk.n_rows > 0 {
        let _ = sender.blocking_send(Ok(chunk));
    }
}

fn open(file: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))
}
