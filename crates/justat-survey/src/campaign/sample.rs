//! A stratified random sample, drawn reproducibly from a recorded seed.
//!
//! The generator is xoshiro256** (Blackman & Vigna, 2018) seeded by splitmix64 from the
//! campaign's `u64` seed, written here in a few lines so that a draw depends on nothing but
//! the seed and the frame: the same seed and frame give the same sample on every machine and
//! every version. In each stratum the units are sorted by identifier (so the frame's order
//! does not matter) and `n` are taken by a partial Fisher–Yates shuffle, each index drawn
//! without modulo bias (Lemire's rejection). Strata are visited in identifier order.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// splitmix64: expands one seed into the generator's state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256**, the draw's pseudo-random generator.
#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    /// The generator for a seed.
    pub fn new(seed: u64) -> Rng {
        let mut s = seed;
        Rng([
            splitmix64(&mut s),
            splitmix64(&mut s),
            splitmix64(&mut s),
            splitmix64(&mut s),
        ])
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
    /// A uniform integer in `0..n` (`n` > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// A unit of the sampling frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameUnit {
    /// Unit identifier.
    pub id: String,
    /// Its stratum.
    pub stratum: String,
}

/// A drawn sample: unit ids per stratum, sorted, with the seed that drew them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// The seed.
    pub seed: u64,
    /// Drawn unit ids, per stratum.
    pub strata: BTreeMap<String, Vec<String>>,
}

impl Sample {
    /// Every drawn unit id.
    pub fn units(&self) -> impl Iterator<Item = &str> {
        self.strata.values().flatten().map(String::as_str)
    }
}

/// Why a sample cannot be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    /// More units asked than the stratum holds.
    #[error("strate « {stratum} » : {asked} unités demandées, {available} dans la base")]
    TooMany {
        /// The stratum.
        stratum: String,
        /// Allocated size.
        asked: usize,
        /// Units in the frame.
        available: usize,
    },
    /// An allocated stratum has no unit in the frame.
    #[error("strate « {0} » absente de la base de sondage")]
    UnknownStratum(String),
    /// A unit appears twice in the frame.
    #[error("unité « {0} » en double dans la base de sondage")]
    Duplicate(String),
}

/// Draws `allocation[stratum]` units in each stratum (strata not allocated are not sampled).
pub fn draw_stratified(
    frame: &[FrameUnit],
    allocation: &BTreeMap<String, usize>,
    seed: u64,
) -> Result<Sample, SampleError> {
    let mut by_stratum: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for u in frame {
        if !seen.insert(u.id.as_str()) {
            return Err(SampleError::Duplicate(u.id.clone()));
        }
        by_stratum
            .entry(u.stratum.as_str())
            .or_default()
            .push(u.id.as_str());
    }
    let mut rng = Rng::new(seed);
    let mut strata = BTreeMap::new();
    for (stratum, &n) in allocation {
        let Some(units) = by_stratum.get_mut(stratum.as_str()) else {
            return Err(SampleError::UnknownStratum(stratum.clone()));
        };
        if n > units.len() {
            return Err(SampleError::TooMany {
                stratum: stratum.clone(),
                asked: n,
                available: units.len(),
            });
        }
        units.sort_unstable();
        for i in 0..n {
            let j = i + rng.below((units.len() - i) as u64) as usize;
            units.swap(i, j);
        }
        let mut drawn: Vec<String> = units[..n].iter().map(|s| s.to_string()).collect();
        drawn.sort();
        strata.insert(stratum.clone(), drawn);
    }
    Ok(Sample { seed, strata })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Vec<FrameUnit> {
        let mut f = Vec::new();
        for i in 0..30 {
            f.push(FrameUnit {
                id: format!("TJ{i:03}"),
                stratum: if i < 20 {
                    "grand".into()
                } else {
                    "petit".into()
                },
            });
        }
        f
    }

    #[test]
    fn the_generator_matches_the_reference_outputs() {
        // splitmix64's published first output for seed 0, and xoshiro256**'s for state 1,2,3,4.
        let mut s = 0;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
        let mut r = Rng([1, 2, 3, 4]);
        assert_eq!(r.next_u64(), 11520);
        assert_eq!(r.next_u64(), 0);
        assert_eq!(r.next_u64(), 1509978240);
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_whatever_the_frame_order() {
        let alloc = BTreeMap::from([("grand".to_string(), 5), ("petit".to_string(), 3)]);
        let a = draw_stratified(&frame(), &alloc, 42).unwrap();
        let mut reversed = frame();
        reversed.reverse();
        assert_eq!(draw_stratified(&reversed, &alloc, 42).unwrap(), a);
        assert_eq!(a.strata["grand"].len(), 5);
        assert_eq!(a.strata["petit"].len(), 3);
        assert!(a.strata["petit"].iter().all(|u| u.as_str() >= "TJ020"));
        assert_ne!(draw_stratified(&frame(), &alloc, 43).unwrap(), a);
        assert_eq!(a.units().count(), 8);
    }

    #[test]
    fn allocations_at_the_boundaries() {
        let all = BTreeMap::from([("petit".to_string(), 10)]);
        assert_eq!(
            draw_stratified(&frame(), &all, 1).unwrap().strata["petit"].len(),
            10
        );
        let none = BTreeMap::from([("petit".to_string(), 0)]);
        assert!(draw_stratified(&frame(), &none, 1).unwrap().strata["petit"].is_empty());
        let over = BTreeMap::from([("petit".to_string(), 11)]);
        assert_eq!(
            draw_stratified(&frame(), &over, 1),
            Err(SampleError::TooMany {
                stratum: "petit".into(),
                asked: 11,
                available: 10
            })
        );
        let unknown = BTreeMap::from([("moyen".to_string(), 1)]);
        assert_eq!(
            draw_stratified(&frame(), &unknown, 1),
            Err(SampleError::UnknownStratum("moyen".into()))
        );
        let mut dup = frame();
        dup.push(dup[0].clone());
        assert_eq!(
            draw_stratified(&dup, &all, 1),
            Err(SampleError::Duplicate("TJ000".into()))
        );
    }

    #[test]
    fn every_unit_is_drawn_about_equally_often() {
        let alloc = BTreeMap::from([("petit".to_string(), 3)]);
        let mut counts = BTreeMap::<String, u32>::new();
        for seed in 0..3000 {
            for u in draw_stratified(&frame(), &alloc, seed).unwrap().units() {
                *counts.entry(u.to_string()).or_default() += 1;
            }
        }
        // Expected 900 each (3000 × 3/10); 4 standard deviations ≈ 100.
        assert_eq!(counts.len(), 10);
        assert!(
            counts.values().all(|c| (800..=1000).contains(c)),
            "{counts:?}"
        );
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(7);
        for n in [1u64, 2, 3, 1000, u64::MAX] {
            for _ in 0..100 {
                assert!(r.below(n) < n);
            }
        }
    }
}
