//! A line diff for `fmt --check`: shows what formatting would change (computed by `similar`).

use similar::{Algorithm, ChangeTag, TextDiff};
use std::time::Duration;

/// Lines of unchanged context shown around each change.
const CONTEXT: usize = 2;

/// A huge file still gets a (less minimal) diff in bounded time instead of stalling the check.
const DIFF_DEADLINE: Duration = Duration::from_secs(2);

/// A unified-style diff (`-` old, `+` new, two lines of context) of two texts; a `@@ line N @@`
/// header (N: the line in the old text) marks where unchanged lines were skipped.
pub fn unified(old: &str, new: &str, name: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_DEADLINE)
        .diff_slices(&a, &b);
    for group in diff.grouped_ops(CONTEXT) {
        let Some(first) = group.first() else { continue };
        let (old_start, new_start) = (first.old_range().start, first.new_range().start);
        if old_start > 0 || new_start > 0 {
            out.push_str(&format!("@@ line {} @@\n", old_start + 1));
        }
        for op in &group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                out.push(sign);
                out.push_str(change.value());
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_changed_lines_with_context() {
        let d = super::unified("a\nb\nc\n", "a\nB\nc\n", "f.ww");
        assert!(d.contains("-b\n+B\n"), "{d}");
        assert!(d.contains(" a\n"));
        assert!(!d.contains("@@"), "nothing skipped: {d}");
    }

    #[test]
    fn marks_skipped_lines_with_the_old_line_number() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\n5\n6\nseven\n8\n9\n";
        let d = super::unified(old, new, "f.ww");
        assert_eq!(
            d,
            "--- f.ww\n+++ f.ww (formatted)\n@@ line 5 @@\n 5\n 6\n-7\n+seven\n 8\n 9\n"
        );
    }

    #[test]
    fn identical_texts_have_only_the_header() {
        let d = super::unified("a\n", "a\n", "f.ww");
        assert_eq!(d, "--- f.ww\n+++ f.ww (formatted)\n");
    }
}
