"""Runs the tau-Argus engine (pytauargus) on one table, in its own process so that the
benchmark can measure its wall time and peak memory and kill it at the time limit.

Usage: python tau_protect.py MICRO.csv DIMS HRC_SPEC SAFETY SUPPRESS WORKDIR OUT.csv STATS.json
  DIMS      comma-separated dimension columns, e.g. TJ,GRP
  HRC_SPEC  comma-separated DIM=FILE.hrc, or `-` for none
  SAFETY    tau-Argus safety rule, e.g. FREQ(5,10)
  SUPPRESS  e.g. MOD(1,5,1,1,1)

A count table: the response is a column ONE = 1.0 for each record, so the cell value is the
number of records (tau-Argus' frequency). OUT.csv gets tau-Argus' cells as
`DIM...,count,tau_status` (status S safe, U primary, P protected, M secondary, E empty);
STATS.json the protection time (the batch run: tabulation, primary rules, Modular, writing the
table) and the preparation time (writing the .asc/.rda/.arb files, not counted).
"""

import csv
import json
import os
import sys
import time

from pytauargus import protect
from pytauargus.engine import run_batch
from pytauargus.result import TableResult


def padded_hrc(src, dst):
    """Copies a .hrc with its leaf codes right-justified to one width, and returns (dst, width).

    The engine compares a hierarchical variable's codes in the fixed-width .asc (which
    pytauargus right-justifies to the longest code) with the .hrc codes as they are: leaves
    of different lengths (TJ_1_88, TJ_1_115) are "not in the code list" (error 1017) unless
    the .hrc carries the same leading spaces. The microdata codes are padded the same way.
    """
    lines = [line for line in open(src, encoding="utf-8").read().splitlines() if line]
    depth = [len(line) - len(line.lstrip("@")) for line in lines]
    leaf = [i + 1 == len(lines) or depth[i + 1] <= depth[i] for i in range(len(lines))]
    width = max(len(line.lstrip("@")) for line, is_leaf in zip(lines, leaf) if is_leaf)
    out = []
    for line, d, is_leaf in zip(lines, depth, leaf):
        code = line.lstrip("@")
        out.append("@" * d + (code.rjust(width) if is_leaf else code))
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    return dst, width


def main():
    micro, dims, hrc_spec, safety, suppress, workdir, out, stats = sys.argv[1:9]
    dims = dims.split(",")
    os.makedirs(workdir, exist_ok=True)
    t0 = time.perf_counter()
    hrc = {}
    width = {}
    if hrc_spec != "-":
        for item in hrc_spec.split(","):
            dim, path = item.split("=", 1)
            hrc[dim], width[dim] = padded_hrc(path, os.path.join(os.path.abspath(workdir), f"{dim}.hrc"))

    columns = {d: [] for d in dims}
    with open(micro, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for d in dims:
                code = row[d]
                columns[d].append(code.rjust(width[d]) if d in width else code)
    columns["ONE"] = [1.0] * len(columns[dims[0]])
    prepared = protect(
        columns,
        dims,
        response="ONE",
        safety_rules=safety,
        suppress=suppress,
        hrc=hrc or None,
        totcode="_T",
        workdir=workdir,
        run=False,
    )
    t1 = time.perf_counter()
    run_batch(prepared.files["arb"])
    t2 = time.perf_counter()
    table = TableResult(prepared.files["tab1"], dims, "ONE")
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(dims + ["count", "tau_status"])
        for r in table.rows:
            w.writerow([str(r[d]).strip() for d in dims] + [int(round(r["ONE"])), r["status"]])
    with open(stats, "w", encoding="utf-8") as f:
        json.dump({"prepare_s": t1 - t0, "protect_s": t2 - t1, "cells": table.n_cells}, f)


if __name__ == "__main__":
    main()
