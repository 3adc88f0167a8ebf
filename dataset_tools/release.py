"""A new release: diff the current build against the last released version, propose the
version bump, and write the new top entry of CHANGELOG.md (the single source of the version).

Bump rules: a schema change is a major release; articles added or removed a minor one;
corrections to existing articles only a patch.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from urllib.parse import urlsplit

from dataset_tools.diff import DatasetDiff
from dataset_tools.errors import NothingToRelease
from dataset_tools.layout import MANIFEST_FILE

PARTS = ("major", "minor", "patch")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_UNRELEASED = re.compile(r"^##\s+\[?Unreleased\]?\s*$", re.IGNORECASE | re.MULTILINE)
_RELEASE = re.compile(r"^##\s+\[?v?\d+\.\d+\.\d+", re.MULTILINE)


@dataclass(frozen=True)
class Release:
    """What `release` decided and wrote."""

    previous: str
    version: str
    part: str
    proposed: str | None
    entry: str
    diff: DatasetDiff


def propose_bump(diff: DatasetDiff) -> str | None:
    """The bump the changes call for, or None when nothing changed."""
    if diff.schema_changes:
        return "major"
    if diff.added or diff.removed:
        return "minor"
    if diff.updated:
        return "patch"
    return None


def bump_version(version: str, part: str) -> str:
    """`1.2.3` bumped by `major` -> `2.0.0`, `minor` -> `1.3.0`, `patch` -> `1.2.4`."""
    match = _VERSION.match(version)
    if not match or part not in PARTS:
        raise ValueError(f"cannot bump {version!r} by {part!r}")
    major, minor, patch = (int(x) for x in match.groups())
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def changelog_entry(version: str, day: Date, diff: DatasetDiff, old_manifest: dict, new_manifest: dict, notes: str = "") -> str:
    """The Markdown of one release entry."""
    lines = [f"## [{version}] - {day.isoformat()}", ""]
    lines.append(
        f"- Articles: {len(diff.added)} added, {len(diff.updated)} updated, {len(diff.removed)} removed "
        f"({diff.new_rows} in all, was {diff.old_rows})."
    )
    if diff.schema_changes:
        described = []
        for change in diff.schema_changes:
            if change["change"] == "added":
                described.append(f"`{change['column']}` added ({change['new']})")
            elif change["change"] == "removed":
                described.append(f"`{change['column']}` removed")
            elif change["change"] == "type":
                described.append(f"`{change['column']}` type {change['old']} -> {change['new']}")
            elif change["change"] == "nullability":
                described.append(f"`{change['column']}` {'nullable' if change['new'] else 'required'}")
            else:
                described.append("column order changed")
        lines.append(f"- Schema: {'; '.join(described)}.")
    else:
        lines.append("- Schema: unchanged.")
    tool_old = f"{old_manifest.get('tool', 'dataset-tools')} {old_manifest.get('tool_version', '?')}, parser {old_manifest.get('parser_version', '?')}"
    tool_new = f"{new_manifest.get('tool', 'dataset-tools')} {new_manifest.get('tool_version', '?')}, parser {new_manifest.get('parser_version', '?')}"
    lines.append(f"- Tool: {tool_new}" + ("." if tool_new == tool_old else f" (was {tool_old})."))
    fields = diff.field_counts()
    if fields:
        lines.append("- Updated fields: " + ", ".join(f"`{name}` ({count})" for name, count in fields.items()) + ".")
    if diff.reparsed:
        lines.append(f"- {diff.reparsed} article(s) re-collected or re-parsed with identical content.")
    outlets = Counter((urlsplit(item["url"]).hostname or "").removeprefix("www.") for item in diff.added)
    if outlets:
        top = ", ".join(f"{host} ({count})" for host, count in outlets.most_common(5))
        lines.append(f"- New articles by outlet: {top}.")
    if notes.strip():
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"


def insert_entry(changelog: str, entry: str) -> str:
    """CHANGELOG text with `entry` as the new top release. Notes kept under an `Unreleased`
    heading move into the entry (the heading stays, empty)."""
    unreleased = _UNRELEASED.search(changelog)
    if unreleased:
        following = _RELEASE.search(changelog, unreleased.end())
        end = following.start() if following else len(changelog)
        head = changelog[: unreleased.end()].rstrip("\n") + "\n\n"
        return head + entry + "\n" + changelog[end:]
    first = _RELEASE.search(changelog)
    if first is None:
        return changelog.rstrip("\n") + "\n\n" + entry
    return changelog[: first.start()] + entry + "\n" + changelog[first.start():]


def unreleased_notes(changelog: str) -> str:
    """The text under an `Unreleased` heading, if any."""
    unreleased = _UNRELEASED.search(changelog)
    if not unreleased:
        return ""
    following = _RELEASE.search(changelog, unreleased.end())
    return changelog[unreleased.end() : following.start() if following else len(changelog)].strip()


def make_release(
    changelog_path: Path,
    current: str,
    diff: DatasetDiff,
    old_folder: Path,
    new_folder: Path,
    *,
    part: str | None = None,
    day: Date | None = None,
    write: bool = True,
) -> Release:
    """Decide the new version and (unless `write` is False) write its CHANGELOG entry.

    Raises:
        NothingToRelease: no changes and no explicit `part`.
    """
    proposed = propose_bump(diff)
    chosen = part or proposed
    if chosen is None:
        raise NothingToRelease(current)
    version = bump_version(current, chosen)
    text = Path(changelog_path).read_text(encoding="utf-8")
    entry = changelog_entry(
        version,
        day or Date.today(),
        diff,
        _manifest(old_folder),
        _manifest(new_folder),
        notes=unreleased_notes(text),
    )
    if write:
        Path(changelog_path).write_text(insert_entry(text, entry), encoding="utf-8")
    return Release(current, version, chosen, proposed, entry, diff)


def _manifest(folder: Path) -> dict:
    try:
        return json.loads((Path(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def release_notes(changelog_path: Path, version: str) -> str:
    """The body of the CHANGELOG entry for `version` (without its heading), or ''."""
    text = Path(changelog_path).read_text(encoding="utf-8")
    heading = re.compile(rf"^##\s+\[?v?{re.escape(version)}\]?.*$", re.MULTILINE)
    match = heading.search(text)
    if not match:
        return ""
    following = re.compile(r"^##\s", re.MULTILINE).search(text, match.end())
    return text[match.end() : following.start() if following else len(text)].strip()
