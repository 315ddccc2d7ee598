"""The penal chain (chains/penal_orientations.toml) written as SQL for DuckDB, doing the same
work as Justat's run on the same staging Parquet files: a row count after every step, the
rows failing the error rule and the recode collected (quarantine), the warning counted, the
unit built, the cube with every hierarchy level (court -> court of appeal -> France,
orientation -> group -> total, offence group -> total) written to Parquet.

Usage: python duckdb_chain.py CODELIST_DIR OUT.parquet STAGING.parquet...
Prints one JSON line: {"seconds": ..., "cells": ..., "counts": {...}}.
"""

import csv
import json
import sys
import time

import duckdb


def load_codelist(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {row["code"]: (row["parent"] or None) for row in csv.DictReader(f)}


def ancestors(parents, code):
    out = [code]
    while parents.get(out[-1]):
        out.append(parents[out[-1]])
    return out


def main():
    codelists, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("SET memory_limit = '2GB'")
    # The codelist tables are small reference data: loaded before the clock starts, as Justat
    # has them compiled in.
    offence = load_codelist(f"{codelists}/CL_OFFENCE.csv")
    level1 = [(c, ancestors(offence, c)[-2]) for c in offence if len(ancestors(offence, c)) >= 2]
    con.execute("CREATE TABLE map_offence (code VARCHAR, image VARCHAR)")
    con.executemany("INSERT INTO map_offence VALUES (?, ?)", level1)
    for i, name in enumerate(["CL_COURT", "CL_ORIENTATION", "CL_OFFENCE"]):
        parents = load_codelist(f"{codelists}/{name}.csv")
        pairs = [(c, a) for c in parents for a in ancestors(parents, c)]
        con.execute(f"CREATE TABLE closure{i} (code VARCHAR, ancestor VARCHAR)")
        con.executemany(f"INSERT INTO closure{i} VALUES (?, ?)", pairs)

    start = time.perf_counter()
    counts = {}

    def count(view):
        counts[view] = con.execute(f"SELECT COUNT(*) FROM {view}").fetchone()[0]

    file_list = ", ".join(f"'{f}'" for f in files)
    con.execute(f"CREATE VIEW t0 AS SELECT * FROM read_parquet([{file_list}])")
    count("t0")
    con.execute("CREATE VIEW t1 AS SELECT * FROM t0 WHERE orientation_date >= DATE '2019-01-01'")
    count("t1")
    rule = "(NOT legal_person OR sex IS NULL)"
    quarantine = con.execute(f"SELECT * FROM t1 WHERE NOT ({rule} IS TRUE)").fetchall()
    con.execute(f"CREATE VIEW t2 AS SELECT * FROM t1 WHERE {rule} IS TRUE")
    count("t2")
    warning = "(orientation_date <= reception_date + INTERVAL 730 DAY)"
    counts["warning"] = con.execute(f"SELECT COUNT(*) FROM t2 WHERE NOT ({warning} IS TRUE)").fetchone()[0]
    counts["t3"] = counts["t2"]
    con.execute("CREATE VIEW t4 AS SELECT *, CAST(date_part('year', orientation_date) AS BIGINT) AS year FROM t2")
    count("t4")
    con.execute("CREATE VIEW j5 AS SELECT t.*, m.image AS offence_group FROM t4 t LEFT JOIN map_offence m ON CAST(t.natinf AS VARCHAR) = m.code")
    unmapped = con.execute("SELECT * FROM j5 WHERE offence_group IS NULL").fetchall()
    con.execute("CREATE VIEW t5 AS SELECT * FROM j5 WHERE offence_group IS NOT NULL")
    count("t5")
    con.execute(
        "CREATE VIEW t6 AS SELECT case_id, offender_id, min(court) AS court, min(year) AS year, "
        "min(orientation) AS orientation, min(offence_group) AS offence_group FROM t5 GROUP BY case_id, offender_id"
    )
    count("t6")
    con.execute(
        "CREATE TABLE leaf AS SELECT CAST(year AS VARCHAR) AS period, CAST(court AS VARCHAR) AS court, "
        "CAST(orientation AS VARCHAR) AS orientation, CAST(offence_group AS VARCHAR) AS offence_group, "
        "COUNT(*) AS auteurs FROM t6 GROUP BY 1, 2, 3, 4"
    )
    con.execute(
        "CREATE TABLE cube AS SELECT l.period AS \"TIME_PERIOD\", c0.ancestor AS court, c1.ancestor AS orientation, "
        "c2.ancestor AS offence_group, CAST(SUM(l.auteurs) AS BIGINT) AS auteurs FROM leaf l "
        "JOIN closure0 c0 ON l.court = c0.code JOIN closure1 c1 ON l.orientation = c1.code "
        "JOIN closure2 c2 ON l.offence_group = c2.code GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    )
    con.execute(f"COPY cube TO '{out}' (FORMAT PARQUET)")
    cells = con.execute("SELECT COUNT(*) FROM cube").fetchone()[0]
    seconds = time.perf_counter() - start
    counts["quarantine"] = len(quarantine) + len(unmapped)
    print(json.dumps({"seconds": seconds, "cells": cells, "counts": counts}))


if __name__ == "__main__":
    main()
