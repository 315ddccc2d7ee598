"""The disclosure-control benchmark: Justat's secondary suppression against the tau-Argus
engine's Modular method (pytauargus), on the same microdata, frequency rule and hierarchies,
both patterns audited by the same full-table LP audit (`justat sdc audit`).

Usage: python sdc_bench.py   (everything from the environment, see run.sh)
  JUSTAT_BIN        the justat binary
  SDC_DATA          the directory written by gen.py (micro.csv, court/off2/off3 .csv/.hrc)
  SDC_WORK          where patterns, logs and summary.json go
  TABLES            comma-separated table ids (default: all, T1..T7)
  SDC_FREQ          frequency threshold (default 5): a cell with 0 < count < SDC_FREQ is primary
  SDC_INTERVAL      protection interval, % of the cell value (default 10); also tau-Argus'
                    safety range: FREQ(SDC_FREQ, SDC_INTERVAL)
  SDC_TAU_SUPPRESS  tau-Argus' method (default MOD(1,5,1,1,1): Modular, 5 minutes per
                    sub-table, singleton-singleton, singleton-multiple and min-frequency
                    protection on)
  SDC_TIME_LIMIT    seconds per method and table (default 600); over it the process is killed
                    and the run recorded as "timeout"
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

# id: (dimensions, {dimension: hierarchy file base in SDC_DATA}, description). Dimensions
# without a hierarchy are flat under `_T`, with the codes met in the microdata.
TABLES = {
    "T1": (["CA", "GRP", "SEX"], {}, "CA x GRP x SEX (3-D, flat)"),
    "T2": (["TJ", "GRP"], {"TJ": "court"}, "TJ x GRP (2-D, court hierarchy)"),
    "T3": (["TJ", "OFF"], {"TJ": "court", "OFF": "off2"}, "TJ x offence (2-D, 2 hierarchies)"),
    "T4": (["TJ", "OFF", "SEX"], {"TJ": "court", "OFF": "off2"}, "TJ x offence x SEX (3-D)"),
    "T5": (["TJ", "OFF"], {"TJ": "court", "OFF": "off3"}, "TJ x offence, deep (3-level) hierarchy"),
    "T6": (["TJ", "OFF", "SEX"], {"TJ": "court", "OFF": "off3"}, "TJ x offence (deep) x SEX"),
    "T7": (["TJ", "OFF", "SEX", "AGE"], {"TJ": "court", "OFF": "off3"}, "TJ x offence (deep) x SEX x AGE (4-D)"),
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


def bench_table(tid, env, columns):
    dims_names, hier, desc = TABLES[tid]
    data, work = Path(env["data"]), Path(env["work"]) / tid
    work.mkdir(parents=True, exist_ok=True)
    freq, interval, limit, audit_limit = env["freq"], env["interval"], env["limit"], env["audit_limit"]
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
        "table": tid, "description": desc, "dims": [f"{d.name}({len(d.codes)})" for d in dims],
        "cells": int(counts.size), "empty_cells": int((counts == 0).sum()),
        "grand_total": grand_total, "rule_primaries": len(rule_primaries),
        "freq": freq, "interval_pct": interval, "time_limit_s": limit,
    }
    print(f"== {tid}: {desc}: {' x '.join(row['dims'])} = {row['cells']:,} cells, "
          f"{row['empty_cells']:,} empty, {len(rule_primaries):,} cells with 0 < count < {freq}", flush=True)
    dims_arg = ",".join(dims_names)
    hier_args = [a for n in dims_names if n in hier for a in ("--hierarchy", f"{n}={data / (hier[n] + '.csv')}")]
    micro = str(data / "micro.csv")

    # Justat
    j_pattern, j_certs = work / "justat-pattern.csv", work / "justat-certificates.csv"
    j_pattern.unlink(missing_ok=True)
    j_certs.unlink(missing_ok=True)
    cmd = [env["justat"], "sdc", "protect", "--microdata", micro, "--dims", dims_arg, *hier_args,
           "--freq", str(freq), "--interval", str(interval), "--out", str(j_pattern),
           "--certificates-out", str(j_certs)]
    r = run_limited(cmd, limit, work / "justat-protect", work)
    j = {"run": r["status"], "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "peak_rss_mib": r["peak_rss_mib"]}
    m = re.search(r"protected in ([0-9.]+) s", Path(r["stdout"]).read_text(errors="replace"))
    if m:
        j["reported_s"] = float(m.group(1))
    if r["status"] == "error":
        j["message"] = last_lines(r["stderr"])
    print(f"   justat   : {r['status']} in {r['wall_s']:.2f} s, peak {r['peak_rss_mib']:.0f} MiB"
          + (f" ({j['message']})" if "message" in j else ""), flush=True)
    j_cells = None
    if r["status"] == "ok" and j_pattern.exists():
        j_cells = read_pattern(j_pattern, len(dims))
        j.update(measure(j_cells, dims, grand_total))
        bad = [k for k, (n, _) in j_cells.items()
               if any(c not in d.index for d, c in zip(dims, k))
               or n != int(counts[tuple(d.index[c] for d, c in zip(dims, k))])]
        if len(j_cells) != counts.size or bad:
            j["problems"] = [f"pattern has {len(j_cells)} cells (table {counts.size}); {len(bad)} counts differ, e.g. {bad[:3]}"]
        a = audit(env["justat"], j_pattern, dims_arg, hier_args, interval, audit_limit, work / "justat-audit", work,
                  certificates=j_certs)
        j["audit"] = a
        print(f"   justat   : audit {fmt_audit(a)} in {a['wall_s']:.2f} s", flush=True)
    row["justat"] = j

    # tau-Argus
    t_csv, t_pattern, t_stats = work / "tau-cells.csv", work / "tau-pattern.csv", work / "tau-stats.json"
    for p in (t_csv, t_pattern, t_stats):
        p.unlink(missing_ok=True)
    hrc_spec = ",".join(f"{n}={data / (hier[n] + '.hrc')}" for n in dims_names if n in hier) or "-"
    safety = f"FREQ({freq},{int(round(interval))})"
    cmd = [env["python"], str(HERE / "tau_protect.py"), micro, dims_arg, hrc_spec, safety,
           env["tau_suppress"], str(work / "tau"), str(t_csv), str(t_stats)]
    r = run_limited(cmd, limit, work / "tau-protect", work)
    t = {"run": r["status"], "method": env["tau_suppress"], "safety": safety, "wall_s": r["wall_s"],
         "cpu_s": r["cpu_s"], "peak_rss_mib": r["peak_rss_mib"]}
    if r["status"] == "error":
        t["message"] = last_lines(r["stderr"])
    if t_stats.exists():
        s = json.loads(t_stats.read_text())
        t["protect_s"] = round(s["protect_s"], 3)
        t["prepare_s"] = round(s["prepare_s"], 3)
    print(f"   tau-Argus: {r['status']} in {r['wall_s']:.2f} s"
          + (f" ({t['protect_s']:.2f} s in the engine)" if "protect_s" in t else "")
          + f", peak {r['peak_rss_mib']:.0f} MiB" + (f" ({t['message']})" if "message" in t else ""), flush=True)
    t_cells = None
    if r["status"] == "ok" and t_csv.exists():
        problems = tau_pattern(t_csv, dims, counts, t_pattern)
        if problems:
            t["problems"] = problems[:10] + ([f"... {len(problems) - 10} more"] if len(problems) > 10 else [])
        t_cells = read_pattern(t_pattern, len(dims))
        t.update(measure(t_cells, dims, grand_total))
        a = audit(env["justat"], t_pattern, dims_arg, hier_args, interval, audit_limit, work / "tau-audit", work)
        t["audit"] = a
        print(f"   tau-Argus: audit {fmt_audit(a)} in {a['wall_s']:.2f} s", flush=True)
        # At equal standard: tau-Argus' pattern completed by Justat with what the audit finds
        # exposed (its suppressions kept), so that both patterns pass the same audit.
        c_pattern = work / "tau-completed.csv"
        c_pattern.unlink(missing_ok=True)
        cmd = [env["justat"], "sdc", "protect", "--microdata", micro, "--dims", dims_arg, *hier_args,
               "--freq", str(freq), "--interval", str(interval), "--start-from", str(t_pattern),
               "--out", str(c_pattern)]
        r = run_limited(cmd, limit, work / "tau-complete", work)
        c = {"run": r["status"], "wall_s": r["wall_s"], "peak_rss_mib": r["peak_rss_mib"]}
        if r["status"] == "ok" and c_pattern.exists():
            c.update(measure(read_pattern(c_pattern, len(dims)), dims, grand_total))
            c["added"] = c["secondary"] - t["secondary"]
        elif r["status"] == "error":
            c["message"] = last_lines(r["stderr"])
        t["completed"] = c
        print(f"   tau-Argus completed by justat: {r['status']} in {r['wall_s']:.2f} s"
              + (f", {c['added']:,} cells added" if "added" in c else ""), flush=True)
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


def print_summary(rows, env):
    head = ["table", "cells", "primaries J / τ", "secondary J: n / value (% of total)",
            "secondary τ: n / value (% of total)", "time J", "time τ", "peak J", "peak τ",
            "audit J", "audit τ", "τ completed to 0/0: n / value"]
    lines = []
    for r in rows:
        j, t = r["justat"], r["tau"]

        def prim(s):
            return f"{s['primary']:,}" if "primary" in s else s["run"]

        def sec(s):
            if "secondary" not in s:
                return s["run"] + (": " + s["message"][:40] if "message" in s else "")
            return (f"{s['secondary']:,} / {s['secondary_value']:,} ({s['secondary_value_pct']:.2f} %)"
                    f", {s['secondary_on_margins']:,} on totals")

        def tm(s):
            return f"> {r['time_limit_s']:g} s" if s["run"] == "timeout" else f"{s['wall_s']:.2f} s"

        def completed(c):
            if c is None:
                return "-"
            if "secondary" not in c:
                return c["run"]
            return f"{c['secondary']:,} / {c['secondary_value']:,} (+{c['added']:,} cells)"

        flag = {True: "", False: " MISMATCH", None: ""}[r["primaries_match"]]
        lines.append([
            r["table"], f"{r['cells']:,}", f"{prim(j)} / {prim(t)}{flag}", sec(j), sec(t), tm(j), tm(t),
            f"{j['peak_rss_mib']:.0f} MiB", f"{t['peak_rss_mib']:.0f} MiB",
            fmt_audit(j.get("audit")), fmt_audit(t.get("audit")), completed(t.get("completed")),
        ])
    widths = [max(len(x[i]) for x in [head] + lines) for i in range(len(head))]
    print()
    print(f"secondary suppression, count tables, frequency rule 0 < n < {env['freq']}, "
          f"protection ±{env['interval']:g} %; J = justat, τ = tau-Argus engine {env['tau_suppress']}; "
          f"audit = exact disclosures / interval violations (justat sdc audit, full table, singletons)")
    for x in [head] + lines:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)).rstrip())


def main():
    env = {
        "justat": os.environ["JUSTAT_BIN"],
        "data": os.environ["SDC_DATA"],
        "work": os.environ["SDC_WORK"],
        "python": sys.executable,
        "freq": int(os.environ.get("SDC_FREQ", "5")),
        "interval": float(os.environ.get("SDC_INTERVAL", "10")),
        "tau_suppress": os.environ.get("SDC_TAU_SUPPRESS", "MOD(1,5,1,1,1)"),
        "limit": float(os.environ.get("SDC_TIME_LIMIT", "600")),
    }
    env["audit_limit"] = float(os.environ.get("SDC_AUDIT_TIME_LIMIT", env["limit"]))
    wanted = [t.strip() for t in os.environ.get("TABLES", ",".join(TABLES)).split(",") if t.strip()]
    unknown = [t for t in wanted if t not in TABLES]
    if unknown:
        sys.exit(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    needed = sorted({d for t in wanted for d in TABLES[t][0]})
    columns = {d: [] for d in needed}
    with open(Path(env["data"]) / "micro.csv", newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            for d in needed:
                columns[d].append(rec[d])
    print(f"{len(columns[needed[0]]):,} records", flush=True)
    rows = []
    summary_path = Path(env["work"]) / "summary.json"
    for tid in wanted:
        rows.append(bench_table(tid, env, columns))
        summary_path.write_text(json.dumps(
            {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "settings": {k: v for k, v in env.items() if k != "python"},
             "records": len(columns[needed[0]]), "tables": rows}, indent=2))
    print_summary(rows, env)
    print(f"\nJSON: {summary_path}")


if __name__ == "__main__":
    main()
