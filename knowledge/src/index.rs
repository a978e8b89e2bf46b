//! Exact nearest-neighbour search over a contiguous matrix of normalised f32 vectors.
//!
//! Scanning 10,000 × 1,536 f32 (61 MB) is bound by memory bandwidth (~8–11 ms here), so the scan
//! runs over an i8 copy (one scale per row, 15 MB, ~2 ms) to pick candidates, and the
//! candidates are re-scored exactly in f32: the answer's order and scores are the exact ones
//! unless a true top hit falls outside the candidates, which the wide candidate pool makes rare.

/// Candidates re-scored exactly per result asked for (at least `MIN_CANDIDATES`).
const CANDIDATES_PER_HIT: usize = 8;
/// Fewest candidates re-scored.
const MIN_CANDIDATES: usize = 64;
/// Widest i8 lane block summed before folding (lets the compiler vectorise the inner loop).
const LANES: usize = 32;

/// Unit-length vectors of one dimension, searchable by dot product (= cosine similarity).
#[derive(Clone, Debug, Default)]
pub struct VectorIndex {
    dims: usize,
    vectors: Vec<f32>,
    quantized: Vec<i8>,
    scales: Vec<f32>,
}

impl VectorIndex {
    /// An empty index for vectors of `dims` numbers.
    pub fn new(dims: usize) -> Self {
        Self {
            dims,
            ..Self::default()
        }
    }

    /// Rebuilds an index from rows of already normalised vectors laid end to end (as saved).
    pub fn from_normalised(dims: usize, vectors: Vec<f32>) -> Result<Self, String> {
        if dims == 0 || !vectors.len().is_multiple_of(dims) {
            return Err(format!(
                "{} numbers do not make rows of {dims}",
                vectors.len()
            ));
        }
        let mut index = Self::new(dims);
        index.quantized.reserve(vectors.len());
        for row in vectors.chunks_exact(dims) {
            index.quantize(row);
        }
        index.vectors = vectors;
        Ok(index)
    }

    /// Numbers per vector.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.scales.len()
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// All rows end to end (what is saved to disk).
    pub fn as_slice(&self) -> &[f32] {
        &self.vectors
    }

    /// Appends `v`, normalised to unit length.
    pub fn push(&mut self, v: &[f32]) -> Result<(), String> {
        if v.len() != self.dims {
            return Err(format!(
                "a vector of {} numbers does not fit an index of {}",
                v.len(),
                self.dims
            ));
        }
        let start = self.vectors.len();
        self.vectors.extend_from_slice(v);
        normalise(&mut self.vectors[start..]);
        let row = self.vectors[start..].to_vec();
        self.quantize(&row);
        Ok(())
    }

    /// Keeps only the rows whose `keep` entry is true, in order.
    pub fn retain(&mut self, keep: &[bool]) {
        let d = self.dims;
        let mut w = 0;
        for r in 0..self.len() {
            if keep.get(r).copied().unwrap_or(false) {
                if w != r {
                    self.vectors.copy_within(r * d..(r + 1) * d, w * d);
                    self.quantized.copy_within(r * d..(r + 1) * d, w * d);
                    self.scales[w] = self.scales[r];
                }
                w += 1;
            }
        }
        self.vectors.truncate(w * d);
        self.quantized.truncate(w * d);
        self.scales.truncate(w);
    }

    /// The `n` rows most similar to `query` as (row, cosine), best first: candidates from the
    /// i8 scan, re-scored exactly.
    pub fn search(&self, query: &[f32], n: usize) -> Vec<(usize, f32)> {
        if n == 0 || self.is_empty() || query.len() != self.dims {
            return Vec::new();
        }
        let k = (n * CANDIDATES_PER_HIT).max(MIN_CANDIDATES);
        if self.len() <= k * 4 {
            return self.search_exact(query, n);
        }
        let mut q = query.to_vec();
        normalise(&mut q);
        let (qq, _) = quantize_row(&q);
        let approx: Vec<f32> = self
            .quantized
            .chunks_exact(self.dims)
            .zip(&self.scales)
            .map(|(row, scale)| dot_i8(&qq, row) as f32 * scale)
            .collect();
        let candidates = top(&approx, k);
        let mut exact: Vec<(usize, f32)> = candidates
            .into_iter()
            .map(|(r, _)| (r, dot_f32(&q, self.row(r))))
            .collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        exact.truncate(n);
        exact
    }

    /// The `n` most similar rows by a full f32 scan (the reference `search` is measured against).
    pub fn search_exact(&self, query: &[f32], n: usize) -> Vec<(usize, f32)> {
        if n == 0 || self.is_empty() || query.len() != self.dims {
            return Vec::new();
        }
        let mut q = query.to_vec();
        normalise(&mut q);
        let scores: Vec<f32> = self
            .vectors
            .chunks_exact(self.dims)
            .map(|row| dot_f32(&q, row))
            .collect();
        top(&scores, n)
    }

    fn row(&self, r: usize) -> &[f32] {
        &self.vectors[r * self.dims..(r + 1) * self.dims]
    }

    fn quantize(&mut self, row: &[f32]) {
        let (q, scale) = quantize_row(row);
        self.quantized.extend_from_slice(&q);
        self.scales.push(scale);
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub(crate) fn normalise(v: &mut [f32]) {
    let norm = dot_f32(v, v).sqrt();
    if norm > 0.0 && norm.is_finite() {
        for x in v.iter_mut() {
            *x /= norm;
        }
    }
}

fn quantize_row(row: &[f32]) -> (Vec<i8>, f32) {
    let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return (vec![0; row.len()], 0.0);
    }
    let scale = max / 127.0;
    (
        row.iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
            .collect(),
        scale,
    )
}

/// The `n` best (index, score) pairs, best first, ties by index.
fn top(scores: &[f32], n: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    let by_score = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    if n < idx.len() {
        idx.select_nth_unstable_by(n, by_score);
        idx.truncate(n);
    }
    idx.sort_by(by_score);
    idx.into_iter().map(|i| (i, scores[i])).collect()
}

fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| *x as i32 * *y as i32)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] as i32 * y[i] as i32;
        }
    }
    acc.iter().sum::<i32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(seed: u64, n: usize) -> Vec<f32> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn candidate_search_agrees_with_the_exact_scan() {
        let dims = 96;
        let mut index = VectorIndex::new(dims);
        for r in 0..3000 {
            index.push(&pseudo_random(r, dims)).unwrap();
        }
        for q in 0..20 {
            let mut query = pseudo_random(10_000 + q, dims);
            // Queries near a stored row, as real queries are near their answer.
            let near = pseudo_random(q * 97 % 3000, dims);
            for (a, b) in query.iter_mut().zip(&near) {
                *a = 0.3 * *a + *b;
            }
            let fast: Vec<usize> = index.search(&query, 5).into_iter().map(|h| h.0).collect();
            let exact: Vec<usize> = index
                .search_exact(&query, 5)
                .into_iter()
                .map(|h| h.0)
                .collect();
            assert_eq!(fast, exact);
            assert_eq!(fast[0], (q * 97 % 3000) as usize);
        }
    }

    #[test]
    fn retain_drops_rows_and_keeps_order() {
        let mut index = VectorIndex::new(2);
        for v in [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]] {
            index.push(&v).unwrap();
        }
        index.retain(&[true, false, true]);
        assert_eq!(index.len(), 2);
        let hits = index.search(&[0.0, 1.0], 5);
        assert_eq!(hits[0].0, 1);
        assert!((hits[0].1 - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5);
        assert!(index.push(&[1.0]).is_err());
    }
}
