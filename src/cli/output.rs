//! Printing that never panics: a closed pipe (`woodwork-actors graph x.ww | head`) is not an error.

use std::io::Write;

pub fn out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

pub fn err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
