//! VRPLIB instance and solution files: never a panic (nor an allocation the
//! file's size does not justify), and an instance the parser accepts is a
//! valid problem.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(instance) = route::vrplib::parse(text) {
        instance
            .problem
            .validate()
            .expect("the parser returned a problem that does not validate");
    }
    let _ = route::vrplib::parse_solution(text);
});
