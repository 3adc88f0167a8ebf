"""publish and publish --dry-run say how many files and bytes are sent, and how many are left
unchanged (not sent), against the Hub emulator: a new version that changes one shard sends that
shard and the files that state the version, nothing else."""

from __future__ import annotations

import json
import shutil

from dataset_tools.build import build_dataset
from dataset_tools.config import load_settings
from dataset_tools.fileio import human_size
from dataset_tools.publish import local_files
from publishing import REPO, release_by_hand, run, set_shard_rows, story  # noqa: F401 (fixtures)
from rawfiles import write_raw


def test_a_version_changing_one_shard_sends_that_shard_and_the_metadata_only(project, hub, run, tmp_path):
    set_shard_rows(project, 2)
    for n in range(1, 8):
        write_raw(project / "raw", f"{n:03d}_{n:016x}.txt", story(n))
    build_dataset(load_settings(project), workers=1)
    out = load_settings(project).out
    first = run("publish", "--json", cwd=project)
    assert first.returncode == 0, first.stderr
    published = json.loads(first.stdout)
    v1 = local_files(out)
    assert (published["files_sent"], published["bytes_sent"]) == (len(v1), sum(f.size for f in v1.values()))
    assert (published["files_unchanged"], published["bytes_unchanged"], published["files_deleted"]) == (0, 0, 0)
    shutil.copytree(out, tmp_path / "v1")

    # Correct one article (same URL, so the same id and the same shard) and release a patch.
    write_raw(project / "raw", "003_0000000000000003.txt", story(3, title="Harbour story number 3, corrected"))
    release_by_hand(project, "1.0.1")
    build_dataset(load_settings(project), workers=1)
    v2 = local_files(out)
    assert set(v2) == set(v1)
    changed = sorted(p for p in v2 if v2[p].sha256 != v1[p].sha256)
    unchanged = sorted(set(v2) - set(changed))
    data = [p for p in v2 if p.startswith("data/")]
    assert len(data) > 1 and len([p for p in changed if p in data]) == 1  # exactly one shard changed
    assert "manifest.json" in changed and "README.md" in changed
    listing = {p for p in changed if p.startswith("inputs/")}
    assert len(listing) == 1  # the input listing of that shard's month
    assert set(changed) - set(data) - listing <= {"README.md", "croissant.json", "datapackage.json", "manifest.json", "report.json"}
    expected = {"files_sent": len(changed), "bytes_sent": sum(v2[p].size for p in changed),
                "files_unchanged": len(unchanged), "bytes_unchanged": sum(v2[p].size for p in unchanged),
                "files_deleted": 0}

    dry = run("publish", "--dry-run", "--json", cwd=project)
    assert dry.returncode == 0, dry.stderr
    dry_result = json.loads(dry.stdout)
    assert {key: dry_result[key] for key in expected} == expected
    assert sorted(dry_result["plan"]["changed"]) == changed and dry_result["plan"]["added"] == []
    text = run("publish", "--dry-run", cwd=project)
    assert (f"Would send {len(changed)} file(s) ({human_size(expected['bytes_sent'])}), leave {len(unchanged)} file(s) "
            f"unchanged ({human_size(expected['bytes_unchanged'])}) and delete 0 file(s), then tag v1.0.1.") in text.stdout

    uploaded, puts = hub.uploaded_bytes, sum(r.method == "PUT" for r in hub.requests)
    done = run("publish", cwd=project)
    assert done.returncode == 0, done.stderr
    assert (f"Sent {len(changed)} file(s) ({human_size(expected['bytes_sent'])}); {len(unchanged)} file(s) unchanged "
            f"({human_size(expected['bytes_unchanged'])}), not sent; 0 file(s) deleted.") in done.stdout
    # What the Hub received is exactly what was said: the changed files' bytes, two Parquet files
    # uploaded through LFS (the shard, and its month's input listing).
    assert hub.uploaded_bytes - uploaded == expected["bytes_sent"]
    assert sum(r.method == "PUT" for r in hub.requests) - puts == 2
    assert hub.refs(REPO)["tags"].keys() == {"v1.0.0", "v1.0.1"}
