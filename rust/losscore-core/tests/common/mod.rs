//! Test data shared by the integration tests.

/// `n` values in `[lo, hi)` from a 64-bit LCG (Knuth's MMIX constants) starting at `state`;
/// each test file derives its own starting state from its seeds, so its streams stay fixed.
pub fn lcg_uniform(n: usize, lo: f64, hi: f64, mut state: u64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((state >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}
