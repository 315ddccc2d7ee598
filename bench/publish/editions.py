"""Writes the demo's publications as ten yearly editions (bench/publish).

For each year Y of the editions, each folder of `publications/` is copied with every year it
names shifted by Y - 2024 (the Chiffres clés edition 2025 becomes Y + 1), and its slug made
unique with the year: 6 publications a year, 4 collections. The demo's penal chain keeps the
orientations decided since 2019 only, so a publication reading the penal cube keeps its years
(each edition rebuilds the same tables under its own address).

    python3 editions.py PUBLICATIONS_DIR OUT_DIR FIRST_YEAR LAST_YEAR
"""
import re
import sys
from pathlib import Path


def shift(text: str, offset: int) -> str:
    # Years of the data (2010-2030) only: codes and numbers of the text are left alone.
    return re.sub(r"\b(20[1-3]\d)\b", lambda m: str(int(m.group(1)) + offset), text)


def main() -> None:
    src, out, first, last = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    n = 0
    for year in range(first, last + 1):
        for folder in sorted(p for p in src.iterdir() if (p / "publication.md").exists()):
            dest = out / f"{year}-{folder.name}"
            dest.mkdir(parents=True, exist_ok=True)
            tables = (folder / "tables.toml").read_text()
            offset = 0 if "penal_orientations" in tables else year - 2024
            text = shift((folder / "publication.md").read_text(), offset)
            # A unique address per edition, whatever the slug says.
            text = re.sub(r'^slug = "([^"]+)"', lambda m: f'slug = "{m.group(1)}-ed{year}"', text, count=1, flags=re.M)
            text = re.sub(r"-(20\d\d)-ed(20\d\d)", r"-ed\2", text)
            (dest / "publication.md").write_text(text)
            (dest / "tables.toml").write_text(shift(tables, offset))
            n += 1
    print(n)


if __name__ == "__main__":
    main()
