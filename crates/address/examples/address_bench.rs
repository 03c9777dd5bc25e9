//! Address-parsing benchmark: accuracy per level and format, and addresses per second.
//!
//! `cargo run --release -p address --example address_bench -- [labelled.jsonl ...] [--rounds N] [--failures]`
//! (defaults: the generated, tricky and holdout sets shipped in `crates/address/bench/`, 100 rounds).
//! `--generate SEED COUNT` writes a fresh generated set to standard output instead.

use address::bench::{LabelledAddress, generate, run};

fn read_set(path: &str) -> Vec<LabelledAddress> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| {
        eprintln!("cannot read the labelled set {path}: {error}");
        std::process::exit(2);
    });
    address::bench::parse_set(path, &text).unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(2);
    })
}

/// CPU time of this thread from `/proc/thread-self/stat` (user + system, in
/// clock ticks of 10 ms); zero where that file does not exist.
fn thread_cpu_time() -> std::time::Duration {
    const TICKS_PER_SECOND: u64 = 100;
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |idx: usize| {
        fields
            .get(idx)
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    let total_ticks = ticks(11) + ticks(12);
    std::time::Duration::from_millis(total_ticks * 1000 / TICKS_PER_SECOND)
}

/// Prints each address whose county, township, village or name differs from its label.
fn print_failures(set: &[LabelledAddress]) {
    for labelled in set {
        let parsed = address::parse(&labelled.text).ok();
        let code = |level| {
            parsed
                .as_ref()
                .and_then(|parsed| parsed.place(level))
                .map(|place| place.code.clone())
        };
        let got = [
            code(address::Level::County),
            code(address::Level::Township),
            code(address::Level::Village),
        ];
        let expected = [
            labelled.county.clone(),
            labelled.township.clone(),
            labelled.village.clone(),
        ];
        let name = parsed.as_ref().and_then(|parsed| parsed.name.clone());
        if got != expected || (labelled.name.is_some() && name != labelled.name) {
            println!(
                "FAIL {:?}\n  expected {expected:?} name {:?}\n  got      {got:?} name {name:?} detail {:?}",
                labelled.text,
                labelled.name,
                parsed.map(|parsed| parsed.detail)
            );
        }
    }
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) == Some("--generate") {
        let seed: u64 = arguments
            .get(1)
            .and_then(|seed| seed.parse().ok())
            .unwrap_or(20_231_001);
        let count: usize = arguments
            .get(2)
            .and_then(|count| count.parse().ok())
            .unwrap_or(1000);
        for labelled in generate(seed, count) {
            println!(
                "{}",
                serde_json::to_string(&labelled).expect("serialisable")
            );
        }
        return;
    }
    let mut rounds = 100;
    let mut show_failures = false;
    let mut paths = Vec::new();
    let mut arguments = arguments.into_iter();
    while let Some(argument) = arguments.next() {
        if argument == "--failures" {
            show_failures = true;
        } else if argument == "--rounds" {
            rounds = arguments
                .next()
                .and_then(|rounds| rounds.parse().ok())
                .unwrap_or(rounds);
        } else {
            paths.push(argument);
        }
    }
    let set: Vec<LabelledAddress> = if paths.is_empty() {
        println!("labelled sets shipped in crates/address/bench/ (generated, tricky, holdout)");
        address::bench::shipped_set()
    } else {
        println!("labelled sets {}", paths.join(", "));
        paths.iter().flat_map(|path| read_set(path)).collect()
    };
    println!("{} labelled addresses", set.len());
    if show_failures {
        print_failures(&set);
    }
    let clocks = address::bench::Clocks {
        wall: &std::time::Instant::now,
        thread_cpu: Some(&thread_cpu_time),
    };
    run(&set, rounds, &clocks, &mut std::io::stdout()).expect("stdout writable");
}
