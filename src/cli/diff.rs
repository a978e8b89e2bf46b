//! A small line diff for `fmt --check`: shows what formatting would change.

/// Above this many line pairs the diff falls back to old/new listings (bounded memory).
const MAX_CELLS: usize = 4_000_000;

/// A unified-style diff (`-` old, `+` new, two lines of context) of two texts.
pub fn unified(old: &str, new: &str, name: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        out.push_str("(file too large for a line diff; run `woodwork-actors fmt` to rewrite it)\n");
        return out;
    }
    // LCS table, then a walk that emits kept/removed/added lines.
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * (m + 1) + j] = if a[i] == b[j] {
                lcs[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str, usize)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i], i + 1));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1]) {
            ops.push(('-', a[i], i + 1));
            i += 1;
        } else {
            ops.push(('+', b[j], i + 1));
            j += 1;
        }
    }
    let near_change = |k: usize| {
        let lo = k.saturating_sub(2);
        let hi = (k + 2).min(ops.len() - 1);
        (lo..=hi).any(|x| ops[x].0 != ' ')
    };
    let mut skipped = false;
    for (k, (op, line, at)) in ops.iter().enumerate() {
        if near_change(k) {
            if skipped {
                out.push_str(&format!("@@ line {at} @@\n"));
                skipped = false;
            }
            out.push_str(&format!("{op}{line}\n"));
        } else {
            skipped = true;
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
    }
}
