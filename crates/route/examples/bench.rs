//! Benchmark driver: reads the Solomon and X instances and runs `route::bench::run`.
//!
//! cargo run --release -p route --example bench -- [--data DIR] [--set solomon|x|all]
//!     [--budgets-ms 1000,10000] [--seed 1] [--threads 1] [--only PREFIX]

use std::path::{Path, PathBuf};

use route::bench::{BenchInstance, best_known_distance, run};
use route::vrplib;

fn main() {
    let mut data: Option<PathBuf> = None;
    let mut set = "solomon".to_string();
    let mut budgets_ms: Vec<u64> = vec![1000];
    let mut seed = 1u64;
    let mut threads = 1usize;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--data" => data = Some(PathBuf::from(value)),
            "--set" => set = value,
            "--budgets-ms" => {
                budgets_ms = value
                    .split(',')
                    .map(|part| {
                        part.parse()
                            .unwrap_or_else(|_| fail("--budgets-ms takes numbers"))
                    })
                    .collect()
            }
            "--seed" => {
                seed = value
                    .parse()
                    .unwrap_or_else(|_| fail("--seed takes a number"))
            }
            "--threads" => {
                threads = value
                    .parse()
                    .unwrap_or_else(|_| fail("--threads takes a number"))
            }
            "--only" => only = Some(value),
            other => fail(&format!("unknown flag {other}")),
        }
    }
    let data = data.unwrap_or_else(default_data_dir);
    if !data.is_dir() {
        fail(&format!(
            "benchmark data not found at {} (the shared folder with vrp-benchmarks/); pass --data DIR",
            data.display()
        ));
    }
    let folders: Vec<&str> = match set.as_str() {
        "solomon" => vec!["solomon"],
        "x" => vec!["cvrp-x"],
        "all" => vec!["solomon", "cvrp-x"],
        other => fail(&format!("unknown set {other}")),
    };
    let mut instances = Vec::new();
    for folder in folders {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(data.join(folder))
            .unwrap_or_else(|io_error| {
                fail(&format!("{}: {io_error}", data.join(folder).display()))
            })
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "vrp"))
            .collect();
        paths.sort();
        for path in paths {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if only
                .as_ref()
                .is_some_and(|prefix| !stem.starts_with(prefix.as_str()))
            {
                continue;
            }
            let instance = vrplib::parse(&read(&path))
                .unwrap_or_else(|parse_error| fail(&format!("{}: {parse_error}", path.display())));
            let sol_path = path.with_extension("sol");
            let best_known = sol_path.exists().then(|| {
                vrplib::parse_solution(&read(&sol_path)).unwrap_or_else(|parse_error| {
                    fail(&format!("{}: {parse_error}", sol_path.display()))
                })
            });
            if let Some(best) = &best_known {
                let recomputed =
                    best_known_distance(&instance, best).map(|units| instance.reported(units));
                if recomputed.is_none_or(|value| (value - best.cost).abs() > 1e-6) {
                    eprintln!(
                        "warning: {stem}: best-known routes measure {recomputed:?}, file says {}",
                        best.cost
                    );
                }
            }
            instances.push(BenchInstance {
                instance,
                best_known,
            });
        }
    }
    eprintln!("{} instances from {}", instances.len(), data.display());
    let mut stdout = std::io::stdout();
    if let Err(io_error) = run(
        &instances,
        &budgets_ms,
        seed,
        threads,
        &std::time::Instant::now,
        &mut stdout,
    ) {
        fail(&format!("writing results: {io_error}"));
    }
}

fn default_data_dir() -> PathBuf {
    // The shared folder sits beside the repository; from crates/route that is ../../../shared.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let beside_repo = manifest.join("../../../shared/data/vrp-benchmarks");
    if beside_repo.is_dir() {
        return beside_repo;
    }
    PathBuf::from("/work/shared/data/vrp-benchmarks")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|io_error| fail(&format!("{}: {io_error}", path.display())))
}

fn fail(message: &str) -> ! {
    eprintln!("bench: {message}");
    std::process::exit(2)
}
