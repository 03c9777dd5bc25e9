//! Address texts (pasted by senders, in manifests): never a panic, and what
//! the parser finds is consistent: every division it names lies inside the
//! one above it (the codes share the parent's prefix).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(parsed) = address::parse(text) {
        let levels = [
            (&parsed.province, 2),
            (&parsed.city, 4),
            (&parsed.county, 6),
            (&parsed.township, 9),
            (&parsed.village, 12),
        ];
        let mut parent: Option<&str> = None;
        for (place, prefix_len) in levels {
            if let Some(place) = place {
                if let Some(parent) = parent {
                    assert!(
                        place.code.starts_with(parent),
                        "{} is not inside {parent}: {text:?}",
                        place.code
                    );
                }
                parent = Some(&place.code[..prefix_len.min(place.code.len())]);
            }
        }
    }
});
