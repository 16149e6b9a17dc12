//! The key distribution: zipf-like ranks, and the small generator behind them.

/// Zipf's exponent: YCSB's default, a few hot keys and a long tail.
pub const EXPONENT: f64 = 0.99;

/// Ranks `0..n` drawn with probability proportional to `1 / (rank + 1)^s`,
/// by binary search in the cumulative distribution (8 bytes per key).
#[derive(Debug)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` ranks (at least 1) with exponent `s`.
    pub fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (0..n.max(1))
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(s);
                total
            })
            .collect();
        for p in &mut cdf {
            *p /= total;
        }
        Zipf { cdf }
    }

    /// The probability of drawing one of `ranks` (each counted once).
    pub fn share(&self, ranks: &[usize]) -> f64 {
        let mut ranks = ranks.to_vec();
        ranks.sort_unstable();
        ranks.dedup();
        let p = |rank: usize| self.cdf[rank] - if rank == 0 { 0.0 } else { self.cdf[rank - 1] };
        // A fold from +0.0: an empty f64 `sum` is -0.0, which prints as such.
        ranks.into_iter().filter(|&rank| rank < self.cdf.len()).map(p).fold(0.0, |total, p| total + p)
    }

    /// A rank, 0 the most likely.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.next_f64();
        self.cdf.partition_point(|&p| p < u).min(self.cdf.len() - 1)
    }
}

/// SplitMix64: fast, seedable, good enough to pick keys.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator; equal seeds give equal sequences.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skewed_towards_low_ranks_and_in_range() {
        let zipf = Zipf::new(1000, EXPONENT);
        let mut rng = Rng::new(7);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[zipf.sample(&mut rng)] += 1;
        }
        // Rank 0 has about 1 / H(1000, 0.99) = 13 % of the draws; rank 1 half that.
        assert!((11_000..15_000).contains(&counts[0]), "{}", counts[0]);
        assert!(counts[1] > counts[0] / 3 && counts[1] < counts[0] * 2 / 3, "{} {}", counts[0], counts[1]);
        assert!(counts[900..].iter().sum::<u32>() > 0, "the tail is never drawn");
    }

    #[test]
    fn shares_add_up() {
        let zipf = Zipf::new(100, EXPONENT);
        let all: Vec<usize> = (0..100).collect();
        assert!((zipf.share(&all) - 1.0).abs() < 1e-9);
        assert!(zipf.share(&[0]) > zipf.share(&[1]));
        assert_eq!(zipf.share(&[1, 1]), zipf.share(&[1]));
        assert!(zipf.share(&[]).is_sign_positive());
    }

    #[test]
    fn one_key() {
        let zipf = Zipf::new(1, EXPONENT);
        assert_eq!(zipf.sample(&mut Rng::new(1)), 0);
    }
}
