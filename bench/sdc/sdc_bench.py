"""The disclosure-control benchmark: Justat's secondary suppression against the tau-Argus
engine's Modular method (pytauargus), on the same microdata, frequency rule and hierarchies,
both patterns audited by the same full-table LP audit (`justat sdc audit`), and Modular's
completed by Justat to the same standard and audited too.

Usage: python sdc_bench.py                    (everything from the environment, see run.sh)
       python sdc_bench.py --merge A.json ... (one summary of several runs' summary.json)
  JUSTAT_BIN        the justat binary
  SDC_DATASETS      `;`-separated SHAPE:SEED:DIR, DIR written by gen.py (shape `gen`: the
                    microdata of gen.py, tables T1..T7; shape `cjn`: the convictions of
                    `justat generate cjn`, tables C1..C4)
  SDC_TUNING_SEED   the seed the method's settings were chosen on (7): its `gen` tables are
                    marked "tuning", every other data set "held out"
  SDC_WORK          where patterns, logs and summary.json go
  TABLES            comma-separated table ids (default: all); each data set runs those of its
                    shape
  RUNS              runs per tool and table (default 3): each time is the median
  SDC_FREQ          frequency threshold (default 5): a cell with 0 < count < SDC_FREQ is primary
  SDC_INTERVAL      protection interval, % of the cell value (default 10); also tau-Argus'
                    safety range: FREQ(SDC_FREQ, SDC_INTERVAL)
  SDC_TAU_SUPPRESS  tau-Argus' method (default MOD(1,5,1,1,1): Modular, 5 minutes per
                    sub-table, singleton-singleton, singleton-multiple and min-frequency
                    protection on)
  SDC_TIME_LIMIT    seconds per method and table (default 600); over it the process is killed
                    and the run recorded as "timeout" (and not run again)
  SDC_AUDIT_TIME_LIMIT  seconds per audit (default: SDC_TIME_LIMIT)
"""

import csv
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# id: (shape, dimensions, {dimension: hierarchy file base in the data set's directory},
# description). Dimensions without a hierarchy are flat under `_T`, with the codes met in the
# microdata. The `cjn` tables were never run while the method's settings were chosen.
TABLES = {
    "T1": ("gen", ["CA", "GRP", "SEX"], {}, "CA x GRP x SEX (3-D, flat)"),
    "T2": ("gen", ["TJ", "GRP"], {"TJ": "court"}, "TJ x GRP (2-D, court hierarchy)"),
    "T3": ("gen", ["TJ", "OFF"], {"TJ": "court", "OFF": "off2"}, "TJ x offence (2-D, 2 hierarchies)"),
    "T4": ("gen", ["TJ", "OFF", "SEX"], {"TJ": "court", "OFF": "off2"}, "TJ x offence x SEX (3-D)"),
    "T5": ("gen", ["TJ", "OFF"], {"TJ": "court", "OFF": "off3"}, "TJ x offence, deep (3-level) hierarchy"),
    "T6": ("gen", ["TJ", "OFF", "SEX"], {"TJ": "court", "OFF": "off3"}, "TJ x offence (deep) x SEX"),
    "T7": ("gen", ["TJ", "OFF", "SEX", "AGE"], {"TJ": "court", "OFF": "off3"}, "TJ x offence (deep) x SEX x AGE (4-D)"),
    "C1": ("cjn", ["TJ", "SENT"], {"TJ": "court", "SENT": "sent"}, "convictions: TJ x sentence (2-D, 2 hierarchies)"),
    "C2": ("cjn", ["OFF", "AGE"], {"OFF": "off2", "AGE": "age"}, "convictions: offence x age band (2-D, 2 hierarchies)"),
    "C3": ("cjn", ["TJ", "SENT", "SEX"], {"TJ": "court", "SENT": "sent"}, "convictions: TJ x sentence x SEX (3-D)"),
    "C4": ("cjn", ["OFF", "SENT", "AGE"], {"OFF": "off2", "SENT": "sent", "AGE": "age"}, "convictions: offence x sentence x age band (3-D, 3 hierarchies)"),
}

TAU_TO_PATTERN = {"S": "V", "P": "V", "U": "A", "M": "D", "E": "Z"}


# -- running a tool under a time limit, with its peak memory -------------------------------


def hwm_kib(pid):
    """VmHWM (peak resident set since exec) of a live process, in KiB, else 0."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu_s(pid):
    """User + system CPU seconds of a live process, else 0."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def run_limited(cmd, limit, log_base, cwd):
    """Runs `cmd` under GNU time (`%M`: its peak RSS) in its own process group, and kills that
    group at `limit` seconds. Returns status (ok / timeout / error), rc, wall and CPU seconds,
    peak RSS in MiB, and the paths of its stdout/stderr.

    The peak is GNU time's figure for a finished run; for a killed one, the largest VmHWM seen
    while polling (and the CPU time is read from /proc just before the kill). (The rusage of a child forked from this process would not do: on Linux its
    ru_maxrss counts the memory of this Python process, copied at the fork, before the exec.)"""
    out_path, err_path, rss_path = f"{log_base}.out", f"{log_base}.err", f"{log_base}.rss"
    full = ["/usr/bin/time", "-f", "%M", "-o", rss_path, *cmd]
    peak_kib = 0
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        timed_out = False
        polls = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if polls % 10 == 0:
                for c in children(proc.pid):
                    peak_kib = max(peak_kib, hwm_kib(c))
            polls += 1
            if time.perf_counter() - t0 > limit:
                timed_out = True
                killed_cpu = 0.0
                for c in children(proc.pid):
                    peak_kib = max(peak_kib, hwm_kib(c))
                    killed_cpu += cpu_s(c)
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    if not timed_out:
        try:
            peak_kib = int(Path(rss_path).read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    return {
        "status": "timeout" if timed_out else ("ok" if rc == 0 else "error"),
        "rc": rc,
        "wall_s": round(wall, 3),
        "cpu_s": round(killed_cpu if timed_out else usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "stdout": out_path,
        "stderr": err_path,
    }


def last_lines(path, n=3):
    try:
        lines = [l for l in Path(path).read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-n:])


# -- the table from the microdata (independent of both tools) --------------------------------


class Dim:
    def __init__(self, name, codes, parent):
        self.name = name
        self.codes = codes
        self.index = {c: i for i, c in enumerate(codes)}
        self.parent = parent
        kids = {p for p in parent.values() if p}
        self.leaf = np.array([c not in kids for c in codes])
        # anc[i, j] = 1 when code j is code i or one of its ancestors.
        self.anc = np.zeros((len(codes), len(codes)))
        for c, i in self.index.items():
            a = c
            while a is not None:
                self.anc[i, self.index[a]] = 1
                a = parent.get(a)


def load_dim(name, hier_csv, observed):
    if hier_csv is None:
        codes = ["_T"] + sorted(c for c in observed if c != "_T")
        parent = {c: (None if c == "_T" else "_T") for c in codes}
    else:
        with open(hier_csv, newline="", encoding="utf-8") as f:
            pairs = [(r["code"], r["parent"] or None) for r in csv.DictReader(f)]
        codes = [c for c, _ in pairs]
        parent = dict(pairs)
    return Dim(name, codes, parent)


def tabulate(columns, dims):
    """Counts of every cell (all hierarchy levels) as a dense array over the dims' codes."""
    leaf_idx = [np.array([d.index[c] for c in columns[d.name]]) for d in dims]
    counts = np.zeros(tuple(len(d.codes) for d in dims))
    np.add.at(counts, tuple(leaf_idx), 1)
    for axis, d in enumerate(dims):
        counts = np.moveaxis(np.tensordot(counts, d.anc, axes=([axis], [0])), -1, axis)
    return np.rint(counts).astype(np.int64)


# -- patterns ---------------------------------------------------------------------------------


def read_pattern(path, ndims):
    cells = {}
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            cells[tuple(row[:ndims])] = (int(row[ndims]), row[-1])
    return cells


def tau_pattern(tau_csv, dims, counts, out_path):
    """tau-Argus' cells as a Justat pattern over the full table. Cells tau-Argus leaves out
    must be empty; its counts must be the table's."""
    tau = {}
    with open(tau_csv, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            tau[tuple(row[: len(dims)])] = (int(row[len(dims)]), row[-1])
    problems = []
    unknown = [k for k in tau if any(c not in d.index for c, d in zip(k, dims))]
    if unknown:
        problems.append(f"{len(unknown)} tau-Argus cells with codes outside the table, e.g. {unknown[:3]}")
    with open(out_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([d.name for d in dims] + ["count", "status"])
        for pos in np.ndindex(counts.shape):
            key = tuple(d.codes[i] for d, i in zip(dims, pos))
            n = int(counts[pos])
            if key in tau:
                tn, ts = tau[key]
                if tn != n:
                    problems.append(f"cell {key}: tau-Argus count {tn}, microdata {n}")
                status = TAU_TO_PATTERN.get(ts)
                if status is None:
                    problems.append(f"cell {key}: unknown tau-Argus status {ts}")
                    status = "V"
                if status == "Z" and n > 0:
                    problems.append(f"cell {key}: tau-Argus says empty, count {n}")
                if status == "V" and n == 0:
                    status = "Z"
            else:
                if n > 0:
                    problems.append(f"cell {key}: missing from tau-Argus' table, count {n}")
                status = "Z"
            w.writerow(list(key) + [n, status])
    return problems


def measure(cells, dims, grand_total):
    """Counts of statuses, value of secondaries, secondaries on totals or sub-totals (a code
    of some dimension is not a leaf) and on national cells (the geography at `_T`), and a
    hash of the pattern (codes and statuses, sorted)."""
    leaf = [{c for c, l in zip(d.codes, d.leaf) if l} for d in dims]
    out = {"primary": 0, "secondary": 0, "secondary_value": 0, "secondary_on_margins": 0,
           "secondary_national": 0, "empty": 0, "suppressed_value": 0}
    h = hashlib.sha256()
    for key in sorted(cells):
        n, s = cells[key]
        h.update(f"{','.join(key)},{s}\n".encode())
        if s in ("A", "B"):
            out["primary"] += 1
            out["suppressed_value"] += n
        elif s == "D":
            out["secondary"] += 1
            out["secondary_value"] += n
            out["suppressed_value"] += n
            if any(c not in lv for c, lv in zip(key, leaf)):
                out["secondary_on_margins"] += 1
            if key[0] == "_T":  # the first dimension is the geography: a national cell
                out["secondary_national"] += 1
        elif s == "Z":
            out["empty"] += 1
    out["secondary_value_pct"] = round(100 * out["secondary_value"] / grand_total, 3) if grand_total else 0
    out["pattern_sha256"] = h.hexdigest()[:16]
    return out


def audit(justat, pattern, dims_arg, hier_args, interval, limit, log_base, cwd, certificates=None):
    cmd = [justat, "sdc", "audit", "--pattern", str(pattern), "--dims", dims_arg, *hier_args,
           "--interval", str(interval)]
    if certificates is not None:
        # Checked against every relation by the audit, not trusted.
        cmd += ["--certificates", str(certificates)]
    r = run_limited(cmd, limit, log_base, cwd)
    res = {"wall_s": r["wall_s"], "peak_rss_mib": r["peak_rss_mib"], "status": r["status"]}
    if r["status"] == "timeout":
        return res
    text = Path(r["stdout"]).read_text(errors="replace")
    exact = re.search(r"exact disclosures: (\d+)", text)
    narrow = re.search(r"interval violations: (\d+)", text)
    if r["rc"] in (0, 4) and exact and narrow:
        res.update(status="ok", exact=int(exact.group(1)), interval=int(narrow.group(1)))
    else:
        res.update(status="error", message=last_lines(r["stderr"]) or last_lines(r["stdout"]))
    return res


# -- one table --------------------------------------------------------------------------------


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def reported(path, pattern):
    m = re.search(pattern, Path(path).read_text(errors="replace"))
    return float(m.group(1)) if m else None


def run_justat(env, tid, work, micro, dims_arg, hier_args, dims, counts, grand_total, runs):
    """Justat's protection, `runs` times, each followed by its full audit (`justat sdc audit`
    with the certificates the protection wrote): both are Justat's time. The first run's
    pattern is the one measured; every run must give the same pattern."""
    freq, interval = env["freq"], env["interval"]
    j = {"runs": []}
    cells = None
    for k in range(runs):
        pattern, certs = work / f"justat-pattern-{k}.csv", work / f"justat-certificates-{k}.csv"
        cmd = [env["justat"], "sdc", "protect", "--microdata", micro, "--dims", dims_arg, *hier_args,
               "--freq", str(freq), "--interval", str(interval), "--out", str(pattern),
               "--certificates-out", str(certs)]
        r = run_limited(cmd, env["limit"], work / f"justat-protect-{k}", work)
        one = {"run": r["status"], "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "peak_rss_mib": r["peak_rss_mib"]}
        if r["status"] == "ok":
            one["engine_s"] = reported(r["stdout"], r"secondary suppression and audit in ([0-9.]+) s")
        if r["status"] == "error":
            one["message"] = last_lines(r["stderr"])
        if r["status"] == "ok" and pattern.exists():
            run_cells = read_pattern(pattern, len(dims))
            one["pattern_sha256"] = measure(run_cells, dims, grand_total)["pattern_sha256"]
            a = audit(env["justat"], pattern, dims_arg, hier_args, interval, env["audit_limit"],
                      work / f"justat-audit-{k}", work, certificates=certs)
            one["audit"] = a
            if cells is None:
                cells = run_cells
        j["runs"].append(one)
        print(f"   justat    run {k + 1}: {r['status']} in {r['wall_s']:.2f} s"
              + (f" ({one['engine_s']:.2f} s suppression and audit)" if one.get("engine_s") is not None else "")
              + f", peak {r['peak_rss_mib']:.0f} MiB"
              + (f"; audit {fmt_audit(one['audit'])} in {one['audit']['wall_s']:.2f} s" if "audit" in one else "")
              + (f" ({one['message']})" if "message" in one else ""), flush=True)
        if r["status"] != "ok":
            break
    first = j["runs"][0]
    j["run"] = first["run"]
    if "message" in first:
        j["message"] = first["message"]
    ok = [x for x in j["runs"] if x["run"] == "ok"]
    j["n_runs"] = len(ok)
    if ok:
        j["wall_s"] = median([x["wall_s"] for x in ok])
        j["engine_s"] = median([x.get("engine_s") for x in ok])
        j["cpu_s"] = median([x["cpu_s"] for x in ok])
        audits = [x["audit"] for x in ok if x.get("audit", {}).get("status") == "ok"]
        j["audit_wall_s"] = median([a["wall_s"] for a in audits]) if audits else None
        if len(audits) == len(ok):
            j["total_s"] = median([x["wall_s"] + x["audit"]["wall_s"] for x in ok])
        j["peak_rss_mib"] = max([x["peak_rss_mib"] for x in ok] + [x["audit"]["peak_rss_mib"] for x in ok if "audit" in x])
        j["audit"] = first.get("audit")
        j["same_pattern_every_run"] = len({x.get("pattern_sha256") for x in ok}) == 1
    else:
        j["wall_s"] = first["wall_s"]
        j["peak_rss_mib"] = first["peak_rss_mib"]
    if cells is not None:
        j.update(measure(cells, dims, grand_total))
        bad = [k for k, (n, _) in cells.items()
               if any(c not in d.index for d, c in zip(dims, k))
               or n != int(counts[tuple(d.index[c] for d, c in zip(dims, k))])]
        if len(cells) != counts.size or bad:
            j["problems"] = [f"pattern has {len(cells)} cells (table {counts.size}); {len(bad)} counts differ, e.g. {bad[:3]}"]
        if not j["same_pattern_every_run"]:
            j.setdefault("problems", []).append("the runs gave different patterns")
    return j, cells


def run_tau(env, work, micro, dims_arg, hier, dims_names, dims, counts, grand_total, runs):
    """tau-Argus' Modular, `runs` times in its own process (wall) with the engine's own time
    (the batch: tabulation, primary rule, Modular, writing the table). The first run's pattern
    is the one measured."""
    data = Path(env["data"])
    hrc_spec = ",".join(f"{n}={data / (hier[n] + '.hrc')}" for n in dims_names if n in hier) or "-"
    safety = f"FREQ({env['freq']},{int(round(env['interval']))})"
    t = {"method": env["tau_suppress"], "safety": safety, "runs": []}
    cells = None
    for k in range(runs):
        t_csv, t_pattern, t_stats = work / f"tau-cells-{k}.csv", work / f"tau-pattern-{k}.csv", work / f"tau-stats-{k}.json"
        cmd = [env["python"], str(HERE / "tau_protect.py"), micro, dims_arg, hrc_spec, safety,
               env["tau_suppress"], str(work / "tau"), str(t_csv), str(t_stats)]
        r = run_limited(cmd, env["limit"], work / f"tau-protect-{k}", work)
        one = {"run": r["status"], "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "peak_rss_mib": r["peak_rss_mib"]}
        if r["status"] == "error":
            one["message"] = last_lines(r["stderr"])
        if t_stats.exists():
            st = json.loads(t_stats.read_text())
            one["engine_s"] = round(st["protect_s"], 3)
            one["prepare_s"] = round(st["prepare_s"], 3)
        if r["status"] == "ok" and t_csv.exists():
            problems = tau_pattern(t_csv, dims, counts, t_pattern)
            run_cells = read_pattern(t_pattern, len(dims))
            one["pattern_sha256"] = measure(run_cells, dims, grand_total)["pattern_sha256"]
            if cells is None:
                cells = run_cells
                if problems:
                    t["problems"] = problems[:10] + ([f"... {len(problems) - 10} more"] if len(problems) > 10 else [])
                (work / "tau-pattern.csv").write_text(t_pattern.read_text())
        t["runs"].append(one)
        print(f"   tau-Argus run {k + 1}: {r['status']} in {r['wall_s']:.2f} s"
              + (f" ({one['engine_s']:.2f} s in the engine)" if "engine_s" in one else "")
              + f", peak {r['peak_rss_mib']:.0f} MiB" + (f" ({one['message']})" if "message" in one else ""), flush=True)
        if r["status"] != "ok":
            break
    first = t["runs"][0]
    t["run"] = first["run"]
    if "message" in first:
        t["message"] = first["message"]
    ok = [x for x in t["runs"] if x["run"] == "ok"]
    t["n_runs"] = len(ok)
    if ok:
        t["wall_s"] = median([x["wall_s"] for x in ok])
        t["engine_s"] = median([x.get("engine_s") for x in ok])
        t["cpu_s"] = median([x["cpu_s"] for x in ok])
        t["peak_rss_mib"] = max(x["peak_rss_mib"] for x in ok)
        t["same_pattern_every_run"] = len({x.get("pattern_sha256") for x in ok}) == 1
    else:
        t["wall_s"] = first["wall_s"]
        t["peak_rss_mib"] = first["peak_rss_mib"]
    if cells is not None:
        t.update(measure(cells, dims, grand_total))
    return t, cells


def complete_tau(env, work, micro, dims_arg, hier_args, dims, grand_total, t):
    """Modular's pattern finished by Justat as Justat finishes its own (`sdc protect
    --start-from`: the audit's exposures protected, then the suppressions the rest makes
    useless released, Modular's included), then audited by `justat sdc audit`."""
    c_pattern = work / "tau-completed.csv"
    c_pattern.unlink(missing_ok=True)
    cmd = [env["justat"], "sdc", "protect", "--microdata", micro, "--dims", dims_arg, *hier_args,
           "--freq", str(env["freq"]), "--interval", str(env["interval"]),
           "--start-from", str(work / "tau-pattern.csv"), "--out", str(c_pattern)]
    r = run_limited(cmd, env["limit"], work / "tau-complete", work)
    c = {"run": r["status"], "wall_s": r["wall_s"], "peak_rss_mib": r["peak_rss_mib"]}
    if r["status"] == "ok" and c_pattern.exists():
        c.update(measure(read_pattern(c_pattern, len(dims)), dims, grand_total))
        text = Path(r["stdout"]).read_text(errors="replace")
        m = re.search(r"(\d+) secondary suppressions added, (\d+) of the starting pattern's released", text)
        if m:
            c["added"], c["released"] = int(m.group(1)), int(m.group(2))
        c["engine_s"] = reported(r["stdout"], r"secondary suppression and audit in ([0-9.]+) s")
        c["audit"] = audit(env["justat"], c_pattern, dims_arg, hier_args, env["interval"], env["audit_limit"],
                           work / "tau-completed-audit", work)
    elif r["status"] == "error":
        c["message"] = last_lines(r["stderr"])
    print(f"   tau-Argus completed by justat: {r['status']} in {r['wall_s']:.2f} s"
          + (f", +{c['added']:,} / -{c['released']:,} cells" if "added" in c else "")
          + (f"; audit {fmt_audit(c['audit'])}" if "audit" in c else ""), flush=True)
    return c


def bench_table(tid, env, columns, dataset):
    shape, dims_names, hier, desc = TABLES[tid]
    data, work = Path(env["data"]), Path(env["work"]) / dataset["id"] / tid
    work.mkdir(parents=True, exist_ok=True)
    freq, interval, runs = env["freq"], env["interval"], env["runs"]
    dims = [
        load_dim(n, data / f"{hier[n]}.csv" if n in hier else None, set(columns[n]))
        for n in dims_names
    ]
    counts = tabulate(columns, dims)
    grand_total = len(columns[dims_names[0]])  # a count table: the number of records
    rule_primaries = {
        tuple(d.codes[i] for d, i in zip(dims, pos))
        for pos in zip(*np.nonzero((counts > 0) & (counts < freq)))
    }
    row = {
        "dataset": dataset["id"], "shape": shape, "seed": dataset["seed"], "role": dataset["role"],
        "table": tid, "description": desc, "dims": [f"{d.name}({len(d.codes)})" for d in dims],
        "cells": int(counts.size), "empty_cells": int((counts == 0).sum()),
        "grand_total": grand_total, "rule_primaries": len(rule_primaries),
        "freq": freq, "interval_pct": interval, "time_limit_s": env["limit"], "runs": runs,
    }
    print(f"== {dataset['id']} ({dataset['role']}) {tid}: {desc}: {' x '.join(row['dims'])} = {row['cells']:,} cells, "
          f"{row['empty_cells']:,} empty, {len(rule_primaries):,} cells with 0 < count < {freq}", flush=True)
    dims_arg = ",".join(dims_names)
    hier_args = [a for n in dims_names if n in hier for a in ("--hierarchy", f"{n}={data / (hier[n] + '.csv')}")]
    micro = str(data / "micro.csv")

    j, j_cells = run_justat(env, tid, work, micro, dims_arg, hier_args, dims, counts, grand_total, runs)
    row["justat"] = j
    t, t_cells = run_tau(env, work, micro, dims_arg, hier, dims_names, dims, counts, grand_total, runs)
    if t_cells is not None:
        t["audit"] = audit(env["justat"], work / "tau-pattern.csv", dims_arg, hier_args, interval,
                           env["audit_limit"], work / "tau-audit", work)
        print(f"   tau-Argus: audit {fmt_audit(t['audit'])} in {t['audit']['wall_s']:.2f} s", flush=True)
        t["completed"] = complete_tau(env, work, micro, dims_arg, hier_args, dims, grand_total, t)
    row["tau"] = t

    # The primaries must be the same cells in both tools (and the rule's, from the microdata).
    checks = []
    for name, cells in (("justat", j_cells), ("tau-Argus", t_cells)):
        if cells is None:
            continue
        prim = {k for k, (_, s) in cells.items() if s in ("A", "B")}
        if prim != rule_primaries:
            extra, missing = sorted(prim - rule_primaries), sorted(rule_primaries - prim)
            checks.append(f"{name}'s primaries differ from 0 < count < {freq}: "
                          f"{len(extra)} more (e.g. {extra[:3]}), {len(missing)} fewer (e.g. {missing[:3]})")
    c = t.get("completed", {})
    if c.get("primary") is not None and c["primary"] != len(rule_primaries):
        checks.append(f"the completed pattern has {c['primary']} primaries, the rule {len(rule_primaries)}")
    row["primaries_match"] = not checks if (j_cells is not None and t_cells is not None) else None
    row["primary_mismatch"] = checks
    for c in checks:
        print(f"   !!! PRIMARY MISMATCH: {c}", flush=True)
    for name, side in (("justat", j), ("tau-Argus", t)):
        for p in side.get("problems", []):
            print(f"   !!! {name}: {p}", flush=True)
    return row


def fmt_audit(a):
    if a is None:
        return "-"
    if a["status"] == "timeout":
        return f"timeout (> {a['wall_s']:.0f} s)"
    if a["status"] != "ok":
        return a["status"]
    return f"{a['exact']}/{a['interval']}"


def fmt_s(x):
    if x is None:
        return "-"
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def print_summary(rows, settings):
    head = ["data set", "table", "cells", "primaries", "secondary J: n / value",
            "secondary τ: n / value", "τ completed: n / value (+added −released)",
            "J s: protect+audit (wall / engine)", "τ s: wall / engine", "τ/J", "peak J / τ MiB",
            "audit J", "audit τ", "audit τ compl."]
    lines = []
    for r in rows:
        j, t = r["justat"], r["tau"]
        c = t.get("completed") or {}

        def prim():
            if "primary" not in j or "primary" not in t:
                return f"{j.get('primary', j['run'])} / {t.get('primary', t['run'])}"
            flag = "" if r["primaries_match"] else " MISMATCH"
            return (f"{j['primary']:,}" if j["primary"] == t["primary"] else f"{j['primary']:,} / {t['primary']:,}") + flag

        def sec(s):
            if "secondary" not in s:
                return s.get("run", "-") + (": " + s["message"][:40] if "message" in s else "")
            return f"{s['secondary']:,} / {s['secondary_value']:,}"

        def completed():
            if "secondary" not in c:
                return c.get("run", "-")
            return f"{c['secondary']:,} / {c['secondary_value']:,} (+{c.get('added', 0):,} −{c.get('released', 0):,})"

        def jt():
            if j["run"] == "timeout":
                return f"> {r['time_limit_s']:g}"
            if j.get("total_s") is None:
                return j["run"]
            return f"{fmt_s(j['total_s'])} ({fmt_s(j['wall_s'])}+{fmt_s(j.get('audit_wall_s'))} / {fmt_s(j.get('engine_s'))})"

        def tt():
            if t["run"] == "timeout":
                return f"> {r['time_limit_s']:g}"
            if t["run"] != "ok":
                return t["run"]
            return f"{fmt_s(t['wall_s'])} / {fmt_s(t.get('engine_s'))}"

        ratio = "-"
        if j.get("total_s") and t["run"] == "ok":
            ratio = f"{t['wall_s'] / j['total_s']:.2f}"
        elif j.get("total_s") and t["run"] == "timeout":
            ratio = f"> {r['time_limit_s'] / j['total_s']:.2f}"
        n_runs = f"{j.get('n_runs', 0)}/{t.get('n_runs', 0)}"
        lines.append([
            f"{r['shape']} {r['seed']} {'(tuning)' if r['role'] == 'tuning' else '(held out)'}",
            r["table"], f"{r['cells']:,}", prim(), sec(j), sec(t), completed(),
            jt() + f" [{n_runs} runs]", tt(), ratio,
            f"{j['peak_rss_mib']:.0f} / {t['peak_rss_mib']:.0f}",
            fmt_audit(j.get("audit")), fmt_audit(t.get("audit")), fmt_audit(c.get("audit")),
        ])
    widths = [max(len(x[i]) for x in [head] + lines) for i in range(len(head))]
    print()
    print(f"secondary suppression, count tables, frequency rule 0 < n < {settings['freq']}, "
          f"protection ±{settings['interval']:g} %; J = justat, τ = tau-Argus engine {settings['tau_suppress']}; "
          f"times: median of the runs, J = protect (wall) + its full audit (wall), engine = "
          f"suppression and audit inside protect / Modular's batch; "
          f"audit = exact disclosures / interval violations (justat sdc audit, full table, singletons)")
    for x in [head] + lines:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)).rstrip())


def merge(paths):
    rows, settings, dates = [], None, []
    for p in paths:
        doc = json.loads(Path(p).read_text())
        rows.extend(doc["tables"])
        settings = settings or doc["settings"]
        dates.append(doc["date"])
    print(f"{len(rows)} tables from {len(paths)} runs ({min(dates)} .. {max(dates)})")
    print_summary(rows, settings)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--merge":
        merge(sys.argv[2:])
        return
    env = {
        "justat": os.environ["JUSTAT_BIN"],
        "work": os.environ["SDC_WORK"],
        "python": sys.executable,
        "freq": int(os.environ.get("SDC_FREQ", "5")),
        "interval": float(os.environ.get("SDC_INTERVAL", "10")),
        "tau_suppress": os.environ.get("SDC_TAU_SUPPRESS", "MOD(1,5,1,1,1)"),
        "limit": float(os.environ.get("SDC_TIME_LIMIT", "600")),
        "runs": int(os.environ.get("RUNS", "3")),
    }
    env["audit_limit"] = float(os.environ.get("SDC_AUDIT_TIME_LIMIT", env["limit"]))
    tuning = os.environ.get("SDC_TUNING_SEED", "7")
    wanted = [t.strip() for t in os.environ.get("TABLES", ",".join(TABLES)).split(",") if t.strip()]
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        sys.exit(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    datasets = []
    for item in os.environ["SDC_DATASETS"].split(";"):
        shape, seed, path = item.split(":", 2)
        role = "tuning" if shape == "gen" and seed == tuning else "held out"
        datasets.append({"id": f"{shape}-{seed}", "shape": shape, "seed": int(seed), "dir": path, "role": role})
    rows = []
    summary_path = Path(env["work"]) / "summary.json"
    for ds in datasets:
        tables = [t for t in wanted if TABLES[t][0] == ds["shape"]]
        if not tables:
            continue
        env["data"] = ds["dir"]
        needed = sorted({d for t in tables for d in TABLES[t][1]})
        columns = {d: [] for d in needed}
        with open(Path(ds["dir"]) / "micro.csv", newline="", encoding="utf-8") as f:
            for rec in csv.DictReader(f):
                for d in needed:
                    columns[d].append(rec[d])
        print(f"{ds['id']} ({ds['role']}): {len(columns[needed[0]]):,} records", flush=True)
        for tid in tables:
            rows.append(bench_table(tid, env, columns, ds))
            summary_path.write_text(json.dumps(
                {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                 "settings": {k: v for k, v in env.items() if k not in ("python", "data")},
                 "datasets": datasets, "tables": rows}, indent=2))
    print_summary(rows, env)
    print(f"\nJSON: {summary_path}")


if __name__ == "__main__":
    main()
