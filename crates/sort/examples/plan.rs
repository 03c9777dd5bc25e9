//! Plans a hub and writes the page:
//! `cargo run --release -p sort --example plan -- [LAYOUT.json|LAYOUT.toml|--generate SEED] OUT.html`.
//! Prints the evaluation as JSON on standard output; the `yizhan sort-plan` command does the
//! same through the library.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 && args.len() != 3 {
        eprintln!("usage: plan (LAYOUT | --generate SEED) OUT.html");
        std::process::exit(2);
    }
    let hub = if args[0] == "--generate" {
        let seed = args[1].parse().expect("SEED is a number");
        sort::generate(&sort::GeneratorParams::default(), seed)
    } else {
        let source = std::fs::read_to_string(&args[0]).expect("the layout file can be read");
        sort::layout::parse(&source).unwrap_or_else(|error| {
            eprintln!("{}: {error}", args[0]);
            std::process::exit(1);
        })
    };
    let evaluation = sort::evaluate(&hub, &sort::Options::default(), 1);
    let out = args.last().expect("two or three arguments");
    std::fs::write(out, sort::report::html(&hub, &evaluation)).expect("the page can be written");
    println!(
        "{}",
        serde_json::to_string_pretty(&evaluation).expect("an evaluation serialises")
    );
}
