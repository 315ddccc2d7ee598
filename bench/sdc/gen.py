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

Usage: python gen.py cjn CODELIST_DIR CJN_EXTRACT OUT_DIR

The second data shape, held out from every choice of the method's settings: the convictions
written by `justat generate cjn` (its own generator: court weights, offence groups of
convictions, sentences, ages and nationalities calibrated on the criminal record), turned into
the same kind of files:
  micro.csv          one record per conviction: TJ,OFF,SENT,SEX,AGE,NAT,ONE
  court.csv/.hrc     TJ -> CA -> _T                      (CL_COURT, as above)
  off2.csv/.hrc      NATINF offence -> G_* group -> _T    (CL_OFFENCE)
  sent.csv/.hrc      sentence -> G_* group -> _T          (CL_SENTENCE: 14 sentences, 6 groups)
  age.csv/.hrc       age band -> MIN / MAJ -> _T          (CL_AGE_BAND: the age at judgement in
                     its 9 bands, 13-15 to 60+)
SEX and NAT stay flat. The extract is read as `justat generate` writes it (Windows-1252,
`;`-separated); a row whose code is not in the codelist would stop the script (none with the
default --dirt 0).
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


# CL_AGE_BAND's leaves by their lowest age, for the age at judgement.
AGE_LEAVES = [(13, "Y13T15"), (16, "Y16T17"), (18, "Y18T20"), (21, "Y21T24"), (25, "Y25T29"),
              (30, "Y30T39"), (40, "Y40T49"), (50, "Y50T59"), (60, "Y_GE60")]


def age_band(age):
    band = None
    for low, code in AGE_LEAVES:
        if age >= low:
            band = code
    if band is None:
        raise ValueError(f"age {age} below the codelist's bands")
    return band


def cjn(codelists, extract, out):
    """The convictions of `justat generate cjn` as micro.csv and the hierarchies of their
    codelists (see the module's documentation)."""
    out.mkdir(parents=True, exist_ok=True)
    hier = {}
    for name, codelist in (("court", "CL_COURT"), ("off2", "CL_OFFENCE"), ("sent", "CL_SENTENCE"),
                           ("age", "CL_AGE_BAND")):
        pairs = load_codelist(codelists / f"{codelist}.csv")
        write_hierarchy(pairs, out / name)
        hier[name] = set(leaves(pairs))
    n = 0
    with open(extract, newline="", encoding="cp1252") as f, \
            open(out / "micro.csv", "w", newline="", encoding="utf-8") as g:
        w = csv.writer(g, lineterminator="\n")
        w.writerow(["TJ", "OFF", "SENT", "SEX", "AGE", "NAT", "ONE"])
        for row in csv.DictReader(f, delimiter=";"):
            rec = [row["court"], row["main_natinf"], row["main_sentence"], row["sex"],
                   age_band(int(row["age"])), row["nationality"]]
            for code, name in zip(rec[:3], ("court", "off2", "sent")):
                if code not in hier[name]:
                    raise ValueError(f"{extract}: `{code}` is not a leaf of {name}")
            w.writerow(rec + [1])
            n += 1
    print(f"{n} convictions from {extract}")


def main():
    if sys.argv[1] == "cjn":
        cjn(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
        return
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
