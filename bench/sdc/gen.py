"""Deterministic justice-like microdata for the disclosure-control benchmark, and the
hierarchies both tools read.

Usage: python gen.py CODELIST_DIR OUT_DIR ROWS SEED

Writes into OUT_DIR:
  micro.csv          one record per offender: TJ,CA,OFF,GRP,SEX,AGE,ONE
  court.csv/.hrc     TJ (164 tribunaux judiciaires) -> CA (34 cours d'appel) -> _T   (CL_COURT)
  off2.csv/.hrc      OFF (87 NATINF-like offences) -> GRP (7 groups G_*) -> _T        (CL_OFFENCE)
  off3.csv/.hrc      OFF -> C_* (27 categories made here) -> G_* -> _T                (deep variant)
The .csv files are Justat's hierarchy format (`code,parent`, the top code's parent empty); the
.hrc files are the same trees in tau-Argus' format (children of the total, one `@` per level
below the first; the total itself is the TOTCODE `_T`).

Frequencies are Zipf-skewed (courts s = 1.2, offences s = 1.2, on a seeded random ranking) so
that many cells are small; the share of women depends on the offence; age bands are drawn
independently. The same ROWS and SEED give the same files, byte for byte (numpy's PCG64).
"""

import csv
import sys
from pathlib import Path

import numpy as np

# Seven age bands, flat (the codes of CL_AGE_BAND, the two minors' bands merged into MIN and
# 50-59 / 60+ merged into Y_GE50, which is not a code of CL_AGE_BAND).
AGE_BANDS = ["MIN", "Y18T20", "Y21T24", "Y25T29", "Y30T39", "Y40T49", "Y_GE50"]
AGE_PROBS = [0.07, 0.11, 0.15, 0.17, 0.22, 0.15, 0.13]


def load_codelist(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["code"], row["parent"] or None) for row in csv.DictReader(f)]


def children_of(pairs):
    kids = {}
    for code, parent in pairs:
        kids.setdefault(parent, []).append(code)
    return kids


def write_hierarchy(pairs, base):
    """`base`.csv (code,parent) and `base`.hrc (tau-Argus), from (code, parent) pairs."""
    with open(f"{base}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "parent"])
        for code, parent in pairs:
            w.writerow([code, parent or ""])
    kids = children_of(pairs)
    root = kids[None][0]
    lines = []

    def walk(code, depth):
        for child in kids.get(code, []):
            lines.append("@" * depth + child)
            walk(child, depth + 1)

    walk(root, 0)
    Path(f"{base}.hrc").write_text("\n".join(lines) + "\n", encoding="utf-8")


def leaves(pairs):
    kids = children_of(pairs)
    return [code for code, _ in pairs if code not in kids]


def zipf_probs(n, s, rng):
    """Probabilities 1/rank^s, ranks assigned to the n items by a seeded permutation."""
    ranks = rng.permutation(n) + 1
    w = 1.0 / ranks.astype(float) ** s
    return w / w.sum()


def deep_offence(pairs):
    """_T -> G_* -> C_<group>_<k> -> offence: each group's offences (in codelist order) cut
    into max(2, n // 3) contiguous categories of nearly equal size."""
    kids = children_of(pairs)
    out = [("_T", None)]
    below = []
    for group in kids["_T"]:
        out.append((group, "_T"))
        offences = kids[group]
        n_cat = max(2, len(offences) // 3)
        for k, chunk in enumerate(np.array_split(np.array(offences, dtype=object), n_cat), 1):
            cat = f"C_{group[2:]}_{k}"
            out.append((cat, group))
            below.extend((o, cat) for o in chunk)
    return out + below


def main():
    codelists, out, rows, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    court = [(c, p) for c, p in load_codelist(codelists / "CL_COURT.csv")]
    offence = [(c, p) for c, p in load_codelist(codelists / "CL_OFFENCE.csv")]
    write_hierarchy(court, out / "court")
    write_hierarchy(offence, out / "off2")
    write_hierarchy(deep_offence(offence), out / "off3")

    court_parent = dict(court)
    off_parent = dict(offence)
    tj = leaves(court)
    off = leaves(offence)

    tj_i = rng.choice(len(tj), size=rows, p=zipf_probs(len(tj), 1.2, rng))
    off_i = rng.choice(len(off), size=rows, p=zipf_probs(len(off), 1.2, rng))
    female_share = rng.uniform(0.02, 0.35, size=len(off))
    sex = np.where(rng.random(rows) < female_share[off_i], "F", "M")
    age_i = rng.choice(len(AGE_BANDS), size=rows, p=AGE_PROBS)

    tj_a = np.array(tj, dtype=object)[tj_i]
    off_a = np.array(off, dtype=object)[off_i]
    ca_of = {c: court_parent[c] for c in tj}
    grp_of = {o: off_parent[o] for o in off}
    with open(out / "micro.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["TJ", "CA", "OFF", "GRP", "SEX", "AGE", "ONE"])
        for t, o, s, a in zip(tj_a, off_a, sex, age_i):
            w.writerow([t, ca_of[t], o, grp_of[o], s, AGE_BANDS[a], 1])


if __name__ == "__main__":
    main()
