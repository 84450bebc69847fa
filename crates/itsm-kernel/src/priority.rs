//! Impact, urgency and the ITIL priority matrix.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How much of the business is affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Impact {
    High,
    Medium,
    Low,
}

/// How fast the business needs it fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Urgency {
    High,
    Medium,
    Low,
}

/// P1 (critical) to P5 (planning). Ordered so that `P1 < P5`: sorting ascending puts the most
/// urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
    P5,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::P1,
        Priority::P2,
        Priority::P3,
        Priority::P4,
        Priority::P5,
    ];

    /// The ITIL impact x urgency matrix:
    ///
    /// | impact \ urgency | high | medium | low |
    /// |---|---|---|---|
    /// | high   | P1 | P2 | P3 |
    /// | medium | P2 | P3 | P4 |
    /// | low    | P3 | P4 | P5 |
    pub const fn from_matrix(impact: Impact, urgency: Urgency) -> Priority {
        match (impact, urgency) {
            (Impact::High, Urgency::High) => Priority::P1,
            (Impact::High, Urgency::Medium) | (Impact::Medium, Urgency::High) => Priority::P2,
            (Impact::High, Urgency::Low)
            | (Impact::Medium, Urgency::Medium)
            | (Impact::Low, Urgency::High) => Priority::P3,
            (Impact::Medium, Urgency::Low) | (Impact::Low, Urgency::Medium) => Priority::P4,
            (Impact::Low, Urgency::Low) => Priority::P5,
        }
    }

    /// 1 for P1 .. 5 for P5.
    pub const fn level(self) -> u8 {
        match self {
            Priority::P1 => 1,
            Priority::P2 => 2,
            Priority::P3 => 3,
            Priority::P4 => 4,
            Priority::P5 => 5,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P{}", self.level())
    }
}

/// The customer's contract tier; SLA policies can differ per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CustomerTier {
    Standard,
    Vip,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_gives_p1_only_for_high_impact_and_high_urgency() {
        let all_impacts = [Impact::High, Impact::Medium, Impact::Low];
        let all_urgencies = [Urgency::High, Urgency::Medium, Urgency::Low];
        let mut p1 = 0;
        for impact in all_impacts {
            for urgency in all_urgencies {
                if Priority::from_matrix(impact, urgency) == Priority::P1 {
                    p1 += 1;
                }
            }
        }
        assert_eq!(p1, 1);
        assert_eq!(
            Priority::from_matrix(Impact::High, Urgency::High),
            Priority::P1
        );
        assert_eq!(
            Priority::from_matrix(Impact::Low, Urgency::Low),
            Priority::P5
        );
    }

    #[test]
    fn the_matrix_is_symmetric_and_monotonic() {
        let impacts = [Impact::High, Impact::Medium, Impact::Low];
        let urgencies = [Urgency::High, Urgency::Medium, Urgency::Low];
        for (i, impact) in impacts.iter().enumerate() {
            for (u, urgency) in urgencies.iter().enumerate() {
                let p = Priority::from_matrix(*impact, *urgency);
                // Symmetric: swapping the two axes gives the same priority.
                assert_eq!(p, Priority::from_matrix(impacts[u], urgencies[i]));
                // Level is 1 + distance from the high/high corner.
                assert_eq!(usize::from(p.level()), 1 + i + u);
            }
        }
    }

    #[test]
    fn priorities_sort_most_urgent_first() {
        let mut all = vec![Priority::P3, Priority::P1, Priority::P5];
        all.sort();
        assert_eq!(all, vec![Priority::P1, Priority::P3, Priority::P5]);
        assert_eq!(Priority::P2.to_string(), "P2");
    }
}
