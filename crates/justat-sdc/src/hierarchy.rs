//! The hierarchy of one dimension: codes with their parent, one root (the grand total).

use std::collections::HashMap;

/// A dimension's codes as a tree.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    codes: Vec<String>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    index: HashMap<String, usize>,
    root: usize,
}

/// Why a hierarchy was refused; each variant names the codes at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    /// The file has no `code,parent` header or no code.
    #[error(
        "hierarchy of {dim}: expected a CSV with the header `code,parent` and at least one code"
    )]
    Empty {
        /// The dimension.
        dim: String,
    },
    /// A line is malformed.
    #[error("hierarchy of {dim}, line {line}: {message}")]
    Line {
        /// The dimension.
        dim: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A code appears twice.
    #[error("hierarchy of {dim}: code `{code}` appears twice (lines {first} and {second})")]
    Duplicate {
        /// The dimension.
        dim: String,
        /// The code.
        code: String,
        /// First line.
        first: usize,
        /// Second line.
        second: usize,
    },
    /// A parent is not a code of the hierarchy.
    #[error(
        "hierarchy of {dim}, line {line}: parent `{parent}` of `{code}` is not a code of the hierarchy"
    )]
    UnknownParent {
        /// The dimension.
        dim: String,
        /// 1-based line.
        line: usize,
        /// The code.
        code: String,
        /// Its parent.
        parent: String,
    },
    /// Parents form a cycle.
    #[error("hierarchy of {dim}: the codes {} form a cycle", cycle.join(" → "))]
    Cycle {
        /// The dimension.
        dim: String,
        /// The codes of the cycle, back to the first.
        cycle: Vec<String>,
    },
    /// Not exactly one code without a parent.
    #[error("hierarchy of {dim}: exactly one code (the total) has no parent; found {}", if roots.is_empty() { "none".to_string() } else { roots.join(", ") })]
    Roots {
        /// The dimension.
        dim: String,
        /// The codes without parent.
        roots: Vec<String>,
    },
}

impl Hierarchy {
    /// Reads a `code,parent` CSV (the top code's parent empty).
    pub fn from_csv(dim: &str, text: &str) -> Result<Hierarchy, HierarchyError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header_ok = reader
            .headers()
            .is_ok_and(|h| h.len() >= 2 && &h[0] == "code" && &h[1] == "parent");
        if !header_ok {
            return Err(HierarchyError::Empty { dim: dim.into() });
        }
        let mut pairs: Vec<(String, Option<String>, usize)> = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| HierarchyError::Line {
                dim: dim.into(),
                line,
                message: e.to_string(),
            })?;
            let code = rec.get(0).unwrap_or("").to_string();
            if code.is_empty() {
                return Err(HierarchyError::Line {
                    dim: dim.into(),
                    line,
                    message: "empty code".into(),
                });
            }
            let parent = rec.get(1).filter(|p| !p.is_empty()).map(str::to_string);
            pairs.push((code, parent, line));
        }
        Hierarchy::from_pairs(dim, pairs)
    }

    /// A flat dimension: `codes` under a total `_T`.
    pub fn flat(dim: &str, codes: &[String]) -> Result<Hierarchy, HierarchyError> {
        let mut pairs = vec![("_T".to_string(), None, 0)];
        pairs.extend(
            codes
                .iter()
                .filter(|c| *c != "_T")
                .map(|c| (c.clone(), Some("_T".to_string()), 0)),
        );
        Hierarchy::from_pairs(dim, pairs)
    }

    /// Builds from (code, parent, line) triples.
    pub fn from_pairs(
        dim: &str,
        pairs: Vec<(String, Option<String>, usize)>,
    ) -> Result<Hierarchy, HierarchyError> {
        if pairs.is_empty() {
            return Err(HierarchyError::Empty { dim: dim.into() });
        }
        let mut index = HashMap::new();
        let mut lines = Vec::new();
        for (i, (code, _, line)) in pairs.iter().enumerate() {
            if let Some(&j) = index.get(code) {
                return Err(HierarchyError::Duplicate {
                    dim: dim.into(),
                    code: code.clone(),
                    first: lines[j],
                    second: *line,
                });
            }
            index.insert(code.clone(), i);
            lines.push(*line);
        }
        let mut parent = Vec::with_capacity(pairs.len());
        for (code, p, line) in &pairs {
            parent.push(match p {
                None => None,
                Some(p) => Some(*index.get(p).ok_or_else(|| HierarchyError::UnknownParent {
                    dim: dim.into(),
                    line: *line,
                    code: code.clone(),
                    parent: p.clone(),
                })?),
            });
        }
        let codes: Vec<String> = pairs.into_iter().map(|(c, _, _)| c).collect();
        // A cycle never reaches a root: walk up from each code, at most n steps.
        for start in 0..codes.len() {
            let mut seen = vec![start];
            let mut at = start;
            while let Some(p) = parent[at] {
                if let Some(pos) = seen.iter().position(|&s| s == p) {
                    let mut cycle: Vec<String> =
                        seen[pos..].iter().map(|&i| codes[i].clone()).collect();
                    cycle.push(codes[p].clone());
                    return Err(HierarchyError::Cycle {
                        dim: dim.into(),
                        cycle,
                    });
                }
                seen.push(p);
                at = p;
            }
        }
        let roots: Vec<usize> = (0..codes.len()).filter(|&i| parent[i].is_none()).collect();
        if roots.len() != 1 {
            return Err(HierarchyError::Roots {
                dim: dim.into(),
                roots: roots.iter().map(|&i| codes[i].clone()).collect(),
            });
        }
        let mut children = vec![Vec::new(); codes.len()];
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[*p].push(i);
            }
        }
        Ok(Hierarchy {
            codes,
            parent,
            children,
            index,
            root: roots[0],
        })
    }

    /// From a codelist of Justat (a cube's dimension).
    pub fn from_codelist(
        cl: &justat_model::codelist::Codelist,
    ) -> Result<Hierarchy, HierarchyError> {
        let pairs = cl
            .codes()
            .iter()
            .map(|c| (c.code.clone(), c.parent.clone(), 0))
            .collect();
        Hierarchy::from_pairs(cl.id(), pairs)
    }

    /// From a codelist, keeping only the codes `used` (a cube holds the levels its chain
    /// recoded to and their ancestors, not the codelist's finer codes).
    pub fn from_codelist_used(
        cl: &justat_model::codelist::Codelist,
        used: &std::collections::BTreeSet<String>,
    ) -> Result<Hierarchy, HierarchyError> {
        let pairs = cl
            .codes()
            .iter()
            .filter(|c| used.contains(&c.code))
            .map(|c| (c.code.clone(), c.parent.clone(), 0))
            .collect();
        Hierarchy::from_pairs(cl.id(), pairs)
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether it has no code (never, once built).
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The position of a code.
    pub fn index(&self, code: &str) -> Option<usize> {
        self.index.get(code).copied()
    }

    /// The code at a position.
    pub fn code(&self, i: usize) -> &str {
        &self.codes[i]
    }

    /// The children of a code.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// Whether a code has no child.
    pub fn is_leaf(&self, i: usize) -> bool {
        self.children[i].is_empty()
    }

    /// The code and its ancestors up to the root.
    pub fn ancestors(&self, i: usize) -> Vec<usize> {
        let mut out = vec![i];
        while let Some(p) = self.parent[*out.last().expect("not empty")] {
            out.push(p);
        }
        out
    }

    /// The grand total.
    pub fn root(&self) -> usize {
        self.root
    }

    /// For each code, how many levels lie below it: 0 for a leaf, one more than its deepest
    /// child for a total.
    pub fn heights(&self) -> Vec<usize> {
        let mut heights = vec![0; self.codes.len()];
        // Children before parents: a code's height is final once every code below it is.
        let mut order = vec![self.root];
        let mut next = 0;
        while let Some(&i) = order.get(next) {
            order.extend_from_slice(&self.children[i]);
            next += 1;
        }
        for &i in order.iter().rev() {
            if let Some(p) = self.parent[i] {
                heights[p] = heights[p].max(heights[i] + 1);
            }
        }
        heights
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_court_hierarchy_reads_with_its_levels() {
        let h = Hierarchy::from_csv(
            "court",
            "code,parent\nFR,\nCA1,FR\nTJ1,CA1\nTJ2,CA1\nCA2,FR\nTJ3,CA2\n",
        )
        .unwrap();
        assert_eq!(h.len(), 6);
        let tj2 = h.index("TJ2").unwrap();
        assert_eq!(
            h.ancestors(tj2)
                .iter()
                .map(|&i| h.code(i))
                .collect::<Vec<_>>(),
            vec!["TJ2", "CA1", "FR"]
        );
        assert!(h.is_leaf(tj2));
        assert_eq!(h.code(h.root()), "FR");
    }

    #[test]
    fn a_total_is_as_high_as_its_deepest_branch() {
        // CA2 has a leaf of its own and one under a sub-level: its height is that of the deeper.
        let h = Hierarchy::from_csv(
            "court",
            "code,parent\nFR,\nCA1,FR\nTJ1,CA1\nCA2,FR\nTJ2,CA2\nS1,CA2\nTJ3,S1\nTJ4,FR\n",
        )
        .unwrap();
        let heights = h.heights();
        let height = |code: &str| heights[h.index(code).unwrap()];
        assert_eq!(
            ["FR", "CA1", "CA2", "S1", "TJ1", "TJ2", "TJ3", "TJ4"].map(height),
            [3, 1, 2, 1, 0, 0, 0, 0]
        );
    }

    #[test]
    fn a_cube_keeps_only_the_codelist_levels_it_holds() {
        let cl = justat_model::codelist::shipped_codelist("CL_OFFENCE").unwrap();
        let full = Hierarchy::from_codelist(&cl).unwrap();
        let groups: std::collections::BTreeSet<String> = cl
            .codes()
            .iter()
            .filter(|c| c.code == "_T" || c.parent.as_deref() == Some("_T"))
            .map(|c| c.code.clone())
            .collect();
        let h = Hierarchy::from_codelist_used(&cl, &groups).unwrap();
        assert_eq!(h.len(), groups.len());
        assert!(h.len() < full.len());
        let g = h.index("G_BIENS").expect("a publication group");
        assert!(h.is_leaf(g), "its offences are not in the cube");
        assert_eq!(h.code(h.root()), "_T");
    }

    #[test]
    fn cycles_missing_parents_and_several_totals_are_named() {
        let cycle = Hierarchy::from_csv("o", "code,parent\nT,\nA,C\nB,A\nC,B\n").unwrap_err();
        assert!(
            cycle.to_string().contains("A → C → B → A")
                || cycle.to_string().contains("form a cycle"),
            "{cycle}"
        );
        let missing = Hierarchy::from_csv("o", "code,parent\nT,\nA,Z\n").unwrap_err();
        assert!(
            missing.to_string().contains("parent `Z` of `A`"),
            "{missing}"
        );
        let roots = Hierarchy::from_csv("o", "code,parent\nT,\nU,\n").unwrap_err();
        assert!(roots.to_string().contains("T, U"), "{roots}");
        let dup = Hierarchy::from_csv("o", "code,parent\nT,\nA,T\nA,T\n").unwrap_err();
        assert!(
            matches!(
                dup,
                HierarchyError::Duplicate {
                    first: 3,
                    second: 4,
                    ..
                }
            ),
            "{dup}"
        );
        assert!(Hierarchy::from_csv("o", "a,b\n").is_err());
    }

    #[test]
    fn a_flat_dimension_gets_a_total() {
        let h = Hierarchy::flat("sex", &["F".into(), "M".into()]).unwrap();
        assert_eq!(h.code(h.root()), "_T");
        assert_eq!(h.children(h.root()).len(), 2);
    }
}
