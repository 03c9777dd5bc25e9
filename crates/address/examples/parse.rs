//! Parses each line of standard input (or the arguments) and prints one JSON object per line.
//!
//! `echo '张三 13812345678 四川省成都市武侯区簇桥街道' | cargo run --release -p address --example parse`

use std::io::{BufRead, Write};

fn main() {
    let started = std::time::Instant::now();
    address::warm_up();
    eprintln!(
        "division table and automaton ready in {:?}",
        started.elapsed()
    );
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let lines: Vec<String> = if arguments.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .collect()
    } else {
        arguments
    };
    let mut output = std::io::stdout().lock();
    for (line_idx, line) in lines.iter().enumerate() {
        match address::parse(line) {
            Ok(parsed) => writeln!(
                output,
                "{}",
                serde_json::to_string(&parsed).expect("serialisable")
            ),
            Err(error) => writeln!(
                output,
                "{}",
                serde_json::json!({"line": line_idx + 1, "error": error.to_string()})
            ),
        }
        .expect("stdout writable");
    }
}
