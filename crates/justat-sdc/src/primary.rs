//! Primary rules: which cells are unsafe by themselves, and the protection interval each
//! requires (SDC Handbook ch. 4.2; τ-Argus's protection levels).

use serde::Serialize;

/// The status of a cell, as pattern files and publications carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Status {
    /// Publishable.
    Publishable,
    /// Primary: fewer contributors than the frequency threshold.
    PrimaryFrequency,
    /// Primary: dominated by its largest contributors ((n,k) rule) or the p % rule.
    PrimaryDominance,
    /// Suppressed to protect primary cells.
    Secondary,
    /// Empty: no contributor (a structural or sampling zero), published as such.
    Empty,
    /// Not in any of the linked tables being protected: neither published nor part of any
    /// relation the attacker knows (pattern files leave these cells out).
    NotPublished,
}

impl Status {
    /// The letter of pattern files: `V`, `A`, `B`, `D`, `Z`.
    pub fn letter(self) -> char {
        match self {
            Status::Publishable => 'V',
            Status::PrimaryFrequency => 'A',
            Status::PrimaryDominance => 'B',
            Status::Secondary => 'D',
            Status::Empty => 'Z',
            Status::NotPublished => '-',
        }
    }

    /// The status of a letter.
    pub fn from_letter(c: &str) -> Option<Status> {
        Some(match c {
            "V" => Status::Publishable,
            "A" => Status::PrimaryFrequency,
            "B" => Status::PrimaryDominance,
            "D" => Status::Secondary,
            "Z" => Status::Empty,
            _ => return None,
        })
    }

    /// Whether the cell is suppressed.
    pub fn is_suppressed(self) -> bool {
        matches!(
            self,
            Status::PrimaryFrequency | Status::PrimaryDominance | Status::Secondary
        )
    }

    /// Whether the cell is a primary.
    pub fn is_primary(self) -> bool {
        matches!(self, Status::PrimaryFrequency | Status::PrimaryDominance)
    }

    /// The SDMX `CONF_STATUS` code (code list CL_CONF_STATUS): `F` free (empty cells too),
    /// `A` primary for small counts, `G` primary for dominance by one or two units (the (n,k)
    /// and p % rules), `D` secondary set by the sender, `N` not for publication.
    pub fn sdmx_conf_status(self) -> &'static str {
        match self {
            Status::Publishable | Status::Empty => "F",
            Status::PrimaryFrequency => "A",
            Status::PrimaryDominance => "G",
            Status::Secondary => "D",
            Status::NotPublished => "N",
        }
    }

    /// What a published table shows instead of a suppressed value: `s` (secret statistique),
    /// the symbol of the service's publications; `None` when the value is shown.
    pub fn symbol(self) -> Option<&'static str> {
        self.is_suppressed().then_some("s")
    }
}

/// The primary rules of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryRules {
    /// A cell with at least one and fewer than `freq` contributors is unsafe.
    pub freq: u64,
    /// (n, k): unsafe when the n largest contributions exceed k % of the total.
    pub dominance: Option<(usize, f64)>,
    /// p: unsafe when the others than the two largest sum to less than p % of the largest.
    pub p: Option<f64>,
    /// The interval a primary cell needs at least, in % of its value, on each side.
    pub interval_pct: f64,
}

impl Default for PrimaryRules {
    /// Fewer than 5 units, ±10 %.
    fn default() -> Self {
        PrimaryRules {
            freq: 5,
            dominance: None,
            p: None,
            interval_pct: 10.0,
        }
    }
}

/// What the rules say of a cell: its status and the lower and upper protection levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The status.
    pub status: Status,
    /// How far below its value the attacker's lower bound must be, at least.
    pub lower: f64,
    /// How far above its value the attacker's upper bound must be, at least.
    pub upper: f64,
}

impl PrimaryRules {
    /// The largest number of contributions the rules look at.
    pub fn top_needed(&self) -> usize {
        self.dominance
            .map_or(0, |(n, _)| n)
            .max(if self.p.is_some() { 2 } else { 0 })
    }

    /// Applies the rules to a cell of `count` contributors, total `value` and largest
    /// contributions `top` (descending).
    pub fn judge(&self, count: u64, value: f64, top: &[f64]) -> Verdict {
        let interval = self.interval_pct / 100.0 * value.abs();
        let verdict = |status, level: f64| Verdict {
            status,
            lower: level,
            upper: level,
        };
        if count == 0 {
            return verdict(Status::Empty, 0.0);
        }
        if count < self.freq {
            return verdict(Status::PrimaryFrequency, interval);
        }
        let mut level: Option<f64> = None;
        if let Some((n, k)) = self.dominance {
            let largest: f64 = top.iter().take(n).sum();
            if largest > k / 100.0 * value {
                level = Some(100.0 / k * largest - value);
            }
        }
        if let Some(p) = self.p {
            let x1 = top.first().copied().unwrap_or(0.0);
            let x2 = top.get(1).copied().unwrap_or(0.0);
            let rest = value - x1 - x2;
            if rest < p / 100.0 * x1 {
                let l = p / 100.0 * x1 - rest;
                level = Some(level.map_or(l, |m| m.max(l)));
            }
        }
        match level {
            Some(l) => verdict(Status::PrimaryDominance, l.max(interval)),
            None => verdict(Status::Publishable, 0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_a_letter_an_sdmx_code_and_a_symbol() {
        let all = [
            (Status::Publishable, 'V', "F", None),
            (Status::PrimaryFrequency, 'A', "A", Some("s")),
            (Status::PrimaryDominance, 'B', "G", Some("s")),
            (Status::Secondary, 'D', "D", Some("s")),
            (Status::Empty, 'Z', "F", None),
            (Status::NotPublished, '-', "N", None),
        ];
        for (status, letter, sdmx, symbol) in all {
            assert_eq!(status.letter(), letter);
            assert_eq!(status.sdmx_conf_status(), sdmx);
            assert_eq!(status.symbol(), symbol);
            if status != Status::NotPublished {
                assert_eq!(Status::from_letter(&letter.to_string()), Some(status));
            }
        }
        assert_eq!(
            Status::from_letter("-"),
            None,
            "pattern files leave such cells out"
        );
    }

    #[test]
    fn frequency_threshold_boundaries() {
        let r = PrimaryRules::default();
        assert_eq!(r.judge(0, 0.0, &[]).status, Status::Empty);
        assert_eq!(r.judge(1, 1.0, &[]).status, Status::PrimaryFrequency);
        assert_eq!(r.judge(4, 4.0, &[]).status, Status::PrimaryFrequency);
        assert_eq!(r.judge(5, 5.0, &[]).status, Status::Publishable);
        let v = r.judge(4, 40.0, &[]);
        assert_eq!((v.lower, v.upper), (4.0, 4.0), "±10 % of the value");
    }

    #[test]
    fn dominance_and_p_percent_follow_the_handbook_formulas() {
        let r = PrimaryRules {
            dominance: Some((1, 85.0)),
            p: None,
            ..PrimaryRules::default()
        };
        // One contributor holds 900 of 1,000: unsafe, UPL = 100/85 × 900 − 1,000 ≈ 58.8, raised
        // to the ±10 % interval (100).
        let v = r.judge(10, 1000.0, &[900.0, 50.0]);
        assert_eq!(v.status, Status::PrimaryDominance);
        assert!((v.upper - 100.0).abs() < 1e-9);
        let strict = PrimaryRules {
            interval_pct: 0.0,
            ..r.clone()
        };
        assert!(
            (strict.judge(10, 1000.0, &[900.0]).upper - (100.0 / 85.0 * 900.0 - 1000.0)).abs()
                < 1e-9
        );
        assert_eq!(
            r.judge(10, 1000.0, &[850.0]).status,
            Status::Publishable,
            "exactly k % is safe"
        );
        let p = PrimaryRules {
            p: Some(10.0),
            ..PrimaryRules::default()
        };
        // The others sum to 20 < 10 % of 500: unsafe, UPL = 50 − 20 = 30 (over the 10 % interval? 53).
        let v = p.judge(6, 530.0, &[500.0, 10.0]);
        assert_eq!(v.status, Status::PrimaryDominance);
        assert!(
            (v.upper - 53.0).abs() < 1e-9,
            "the larger of the rule's level and the ±10 % interval"
        );
        assert_eq!(
            p.judge(6, 600.0, &[400.0, 100.0]).status,
            Status::Publishable
        );
    }

    #[test]
    fn letters_round_trip() {
        for s in [
            Status::Publishable,
            Status::PrimaryFrequency,
            Status::PrimaryDominance,
            Status::Secondary,
            Status::Empty,
        ] {
            assert_eq!(Status::from_letter(&s.letter().to_string()), Some(s));
        }
    }
}
