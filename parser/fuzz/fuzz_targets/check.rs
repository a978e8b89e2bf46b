//! Fuzzes the whole front end: any bytes through `check` (never a panic or a hang), and every
//! file `fmt` accepts must format to a fixed point that checks the same as the original.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use woodwork_parser::{check_source, format_source, CheckOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = CheckOptions { resolve_env: false, env: None };
    let report = check_source(Path::new("fuzz.ww"), text, &opts);
    let _ = report.render_text();
    let _ = report.to_json();
    if let Ok(formatted) = format_source(text) {
        let again = format_source(&formatted).expect("formatted text must parse");
        assert_eq!(again, formatted, "fmt is not idempotent");
        let after = check_source(Path::new("fuzz.ww"), &formatted, &opts);
        assert_eq!(
            report.config.is_some(),
            after.config.is_some(),
            "formatting changed whether the file checks"
        );
    }
});
