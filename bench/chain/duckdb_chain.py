"""The penal chain (chains/penal_orientations.toml) written as SQL for DuckDB the way its best
users would write it, doing the same work as Justat's run on the same staging Parquet files:
the rows after every step and the failures of each rule counted in one pass, the rows failing
the error rule or the recode copied to a quarantine Parquet file (never fetched into Python),
the unit (one row per offender and case) computed once into a table, then the cube with every
hierarchy level (court -> court of appeal -> France, orientation -> group -> total, offence
group -> total) written to Parquet.

Usage: python duckdb_chain.py CODELIST_DIR OUT_DIR STAGING.parquet...
Writes OUT_DIR/cube.parquet and OUT_DIR/quarantine.parquet; prints one JSON line:
{"seconds": ..., "cells": ..., "steps": [rows after each step], "rules": {id: failures}}.
Settings: threads = DUCKDB_THREADS (default: the machine's cores), memory_limit 2GB;
DUCKDB_PLAN=table materialises the flagged rows once instead of reading them through a view.
"""

import csv
import json
import os
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


# The chain's conditions, as the chain file writes them; a NULL fails a rule or a filter.
FILTER = "COALESCE(orientation_date >= DATE '2019-01-01', FALSE)"
ERROR_RULE = "COALESCE(NOT legal_person OR sex IS NULL, FALSE)"
WARNING_RULE = "COALESCE(orientation_date <= reception_date + INTERVAL 730 DAY, FALSE)"


def main():
    codelists, out_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    cube_path = os.path.join(out_dir, "cube.parquet")
    quarantine_path = os.path.join(out_dir, "quarantine.parquet")
    con = duckdb.connect()
    con.execute(f"SET threads TO {int(os.environ.get('DUCKDB_THREADS', os.cpu_count() or 2))}")
    con.execute("SET memory_limit = '2GB'")
    con.execute("SET preserve_insertion_order = false")
    # The codelist tables are small reference data: loaded before the clock starts, as Justat
    # has them compiled in.
    offence = load_codelist(f"{codelists}/CL_OFFENCE.csv")
    level1 = [(c, ancestors(offence, c)[-2]) for c in offence if len(ancestors(offence, c)) >= 2]
    con.execute("CREATE TABLE map_offence (code VARCHAR PRIMARY KEY, image VARCHAR)")
    con.executemany("INSERT INTO map_offence VALUES (?, ?)", level1)
    for i, name in enumerate(["CL_COURT", "CL_ORIENTATION", "CL_OFFENCE"]):
        parents = load_codelist(f"{codelists}/{name}.csv")
        pairs = [(c, a) for c in parents for a in ancestors(parents, c)]
        con.execute(f"CREATE TABLE closure{i} (code VARCHAR, ancestor VARCHAR)")
        con.executemany(f"INSERT INTO closure{i} VALUES (?, ?)", pairs)

    start = time.perf_counter()
    file_list = ", ".join(f"'{f}'" for f in files)
    # Every row once, with its step flags and derived columns: a view, so that each of the
    # three readers below (counts, quarantine, unit) streams it from Parquet, or with
    # DUCKDB_PLAN=table a table materialised once (bench/chain/README.md compares the two).
    kind = "TABLE" if os.environ.get("DUCKDB_PLAN") == "table" else "VIEW"
    con.execute(
        f"""CREATE {kind} flagged AS
        SELECT s.*,
               CAST(date_part('year', s.orientation_date) AS BIGINT) AS year,
               m.image AS offence_group,
               {FILTER} AS k1,
               {ERROR_RULE} AS k2,
               NOT {WARNING_RULE} AS w3,
               m.image IS NOT NULL AS k5
        FROM read_parquet([{file_list}]) s
        LEFT JOIN map_offence m ON CAST(s.natinf AS VARCHAR) = m.code"""
    )
    row = con.execute(
        """SELECT COUNT(*),
                  COUNT(*) FILTER (k1),
                  COUNT(*) FILTER (k1 AND NOT k2),
                  COUNT(*) FILTER (k1 AND k2),
                  COUNT(*) FILTER (k1 AND k2 AND w3),
                  COUNT(*) FILTER (k1 AND k2 AND NOT k5),
                  COUNT(*) FILTER (k1 AND k2 AND k5)
           FROM flagged"""
    ).fetchone()
    # Rows after each step, in the manifest's order (input, filter, the two rules, derive,
    # recode; then unit and cube), and the failures of each rule.
    steps = [row[0], row[1], row[3], row[3], row[3], row[6]]
    rules = {"C_LEGAL_PERSON_SEX": row[2], "C_DELAY": row[4], "RECODE_OFFENCE_GROUP": row[5]}
    con.execute(
        f"""COPY (
            SELECT * EXCLUDE (k1, k2, w3, k5, year, offence_group),
                   CASE WHEN NOT k2 THEN 'C_LEGAL_PERSON_SEX' ELSE 'RECODE_OFFENCE_GROUP' END AS rule
            FROM flagged WHERE k1 AND (NOT k2 OR NOT k5)
        ) TO '{quarantine_path}' (FORMAT PARQUET)"""
    )
    con.execute(
        """CREATE TABLE unit AS
        SELECT case_id, offender_id, min(court) AS court, min(year) AS year,
               min(orientation) AS orientation, min(offence_group) AS offence_group
        FROM flagged WHERE k1 AND k2 AND k5
        GROUP BY case_id, offender_id"""
    )
    steps.append(con.execute("SELECT COUNT(*) FROM unit").fetchone()[0])
    con.execute(
        """CREATE TABLE leaf AS
        SELECT CAST(year AS VARCHAR) AS period, CAST(court AS VARCHAR) AS court,
               CAST(orientation AS VARCHAR) AS orientation,
               CAST(offence_group AS VARCHAR) AS offence_group, COUNT(*) AS auteurs
        FROM unit GROUP BY ALL"""
    )
    con.execute(
        f"""COPY (
            SELECT l.period AS "TIME_PERIOD", c0.ancestor AS court, c1.ancestor AS orientation,
                   c2.ancestor AS offence_group, CAST(SUM(l.auteurs) AS BIGINT) AS auteurs
            FROM leaf l
            JOIN closure0 c0 ON l.court = c0.code
            JOIN closure1 c1 ON l.orientation = c1.code
            JOIN closure2 c2 ON l.offence_group = c2.code
            GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ) TO '{cube_path}' (FORMAT PARQUET)"""
    )
    seconds = time.perf_counter() - start
    cells = con.execute(f"SELECT COUNT(*) FROM read_parquet('{cube_path}')").fetchone()[0]
    steps.append(cells)
    print(json.dumps({"seconds": seconds, "cells": cells, "steps": steps, "rules": rules}))


if __name__ == "__main__":
    main()
