#!/usr/bin/env bash
# Runs `justat demo --prepare-only` with two builds of justat and compares what a refactoring
# must not change: the cubes (Parquet bytes and recorded schemas), the secret statistique's
# patterns, and every publication version (page HTML, sources, figures, provenance, the files'
# bytes — CSV, XLSX, zip — and the PDFs' text). Instants, build times and who built are left out:
# they follow the clock of the run.
#
#   scripts/compare-demo-outputs.sh BEFORE_BINARY AFTER_BINARY
#
# Exit 0 when both dumps are identical, 1 with their diff otherwise. Needs sqlite3 and pdftotext.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BEFORE_BINARY AFTER_BINARY" >&2
    exit 2
fi
for tool in sqlite3 pdftotext sha256sum; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is needed" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dump() {
    local data=$1 db=$1/justat.db lake=$1/lake
    echo "## cubes"
    sqlite3 "$db" "SELECT chain, name, rows, id, schema FROM cubes ORDER BY chain, name, id"
    for f in "$lake"/cubes/*; do
        echo "$(basename "$f") $(sha256sum < "$f" | cut -c1-64)"
    done | sort
    echo "## secret statistique patterns"
    sqlite3 "$db" "SELECT cube_id, period, measure, dims, cells, summary FROM sdc_patterns
                   ORDER BY cube_id, period, measure, id"
    echo "## publication versions"
    sqlite3 "$db" "SELECT p.collection, p.slug, v.version, v.state, v.number, v.title, v.summary,
                          v.theme, v.period, v.authors, v.keywords, v.erratum, v.sources,
                          v.figures, v.provenance
                   FROM publication_versions v JOIN publications p ON p.id = v.publication_id
                   ORDER BY p.collection, p.slug, v.version"
    echo "## pages"
    sqlite3 "$db" "SELECT p.slug || ' v' || v.version, v.html
                   FROM publication_versions v JOIN publications p ON p.id = v.publication_id
                   ORDER BY p.collection, p.slug, v.version"
    echo "## files (a PDF by its text: its bytes carry the typesetting's metadata)"
    sqlite3 -separator ' ' "$db" "SELECT p.slug, v.version, j.value ->> 'name', j.value ->> 'sha256',
                                         j.value ->> 'media_type'
                   FROM publication_versions v JOIN publications p ON p.id = v.publication_id,
                        json_each(v.files) j
                   ORDER BY p.collection, p.slug, v.version, j.value ->> 'name'" |
    while read -r slug version name sha media rest; do
        local file
        file=$(ls "$lake"/publications/"$sha".* 2>/dev/null | head -n1)
        if [ -z "$file" ]; then
            echo "$slug v$version $name MISSING $sha"
        elif [ "$media" = "application/pdf" ]; then
            echo "$slug v$version $name text $(pdftotext -q "$file" - | sha256sum | cut -c1-64)"
        else
            echo "$slug v$version $name $(sha256sum < "$file" | cut -c1-64)"
        fi
    done
}

for side in before after; do
    if [ "$side" = before ]; then binary=$1; else binary=$2; fi
    mkdir -p "$work/$side"
    (cd "$work/$side" && JUSTAT_DATA_DIR="$work/$side/data" "$binary" demo --prepare-only \
        > "$work/$side.log" 2>&1) || { cat "$work/$side.log" >&2; echo "$0: the $side demo failed" >&2; exit 1; }
    dump "$work/$side/data" > "$work/$side.dump"
done

if diff -u "$work/before.dump" "$work/after.dump"; then
    echo "identical: $(grep -c . "$work/before.dump") lines of cubes, patterns, pages and files"
else
    echo "$0: the demo's outputs differ" >&2
    exit 1
fi
