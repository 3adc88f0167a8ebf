"""Small file helpers every stage shares: hashing a file, writing JSON, saying a size.

JSON is written with orjson: the same bytes as `json.dumps(indent=2, ensure_ascii=False)`
plus a final newline, about 25 times faster, which matters for report.json and manifest.json
at a million inputs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson


def sha256_file(path: Path | str) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def json_bytes(payload) -> bytes:
    """`payload` as indented JSON bytes with a final newline."""
    return orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n"


def write_json(path: Path | str, payload) -> None:
    """Write `payload` to `path` as indented JSON."""
    Path(path).write_bytes(json_bytes(payload))


def human_size(size: int, *, exact: bool = False) -> str:
    """A byte count in binary units ('1.5 MiB'); with `exact`, the byte count follows."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "B":
                return f"{size} B"
            return f"{value:.1f} {unit}" + (f" ({size} B)" if exact else "")
        value /= 1024
    return f"{size} B"


def write_json_listing(path: Path | str, head: dict, key: str, items) -> None:
    """Write `head` plus a last key `key` holding `items` (any iterable of dicts), streamed: the
    head is indented as `write_json` does, and each item is one line. A report or manifest of
    a million files is then written without holding it in memory, and diffs line by line.
    """
    head_text = orjson.dumps(head, option=orjson.OPT_INDENT_2) if head else b"{}"
    with open(path, "wb") as handle:
        handle.write(head_text[:-1].rstrip() + (b",\n" if head else b"\n"))
        handle.write(b'  "' + key.encode() + b'": [')
        first = True
        for item in items:
            handle.write(b"\n    " if first else b",\n    ")
            handle.write(orjson.dumps(item))
            first = False
        handle.write(b"]\n}\n" if first else b"\n  ]\n}\n")


def read_json_listing_head(path: Path | str, key: str, *, max_bytes: int = 1 << 20) -> dict:
    """The head of a file `write_json_listing` wrote: every key before the `key` list, read
    without reading (or holding) the list itself.

    Raises:
        ValueError: the file does not start the way `write_json_listing` writes it.
    """
    marker = b'  "' + key.encode() + b'": ['
    head = bytearray()
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(marker):
                text = bytes(head).rstrip()
                text = text[:-1] if text.endswith(b",") else text
                value = orjson.loads(text + b"\n}")
                if not isinstance(value, dict):
                    raise ValueError("not a JSON object")
                return value
            head += line
            if len(head) > max_bytes:
                break
    raise ValueError(f'no "{key}" list where it belongs')
