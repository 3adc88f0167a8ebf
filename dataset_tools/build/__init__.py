"""raw/ -> Parquet shards + report + card + manifest, atomically: the build, as a flow of stages.

    list -> plan -> parse (map) -> file table -> dedup -> near-duplicates -> write plan -> reduce -> report -> card -> manifest -> swap

Each stage is a module of this package with one job (its docstring says what comes in and
what goes out):

- `plan`: the listing against the cache: what to read, the map tasks, and later which shards
  to write and which to keep;
- `parse`: the map stage: raw files -> reader -> `Article | Reject` -> row checks -> rows
  spilled by partition (`spill` is the file contract between the map and the reduce);
- `dedup`: over the file table, which files are duplicates or superseded versions of another;
- `neardup_stage`: signatures from the map tasks (`neardup`) grouped over band buckets
  (`neardup_bands`), confirmed and linked (`neardup_links`) against the index kept in the cache
  (`neardup_index`): which rows are copies of which, for the reduce to join by id (or, in
  `drop` mode, copies that lose like duplicates);
- `reduce`: one task per partition (a month): its runs merged (`merge`), the losers left out,
  `near_duplicate_of` joined, rows written as the month's parts; `partition` alone knows how rows are assigned to
  partitions and partitions to shards;
- `outputs`: report.json, the input listings and manifest.json; the card is `dataset_tools.card`;
- `engines` runs the tasks (this process, a process pool, a dask cluster) and knows nothing of
  the stages; `cache` keeps what a rebuild reuses; `staging` swaps the new output in.

The rows in memory are a few batches and a bucket, never the corpus. Nothing in the output
depends on the clock, the machine, absolute paths, the engine or worker scheduling, so two
builds of the same input, clean or incremental, local or on dask, are byte-identical.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dataset_tools.build import outputs, plan
from dataset_tools.build.cache import BuildCache, CacheState
from dataset_tools.build.dedup import find_losers
from dataset_tools.build.engines import LocalEngine, make_engine, release_memory
from dataset_tools.build.failure import build_failure
from dataset_tools.build.filetable import FILES_SCHEMA
from dataset_tools.build.neardup import SignatureFiles
from dataset_tools.build.neardup_stage import NearDupJoin, copies_as_losers, link_near_duplicates
from dataset_tools.build.parse import MapResult, map_chunk
from dataset_tools.build.partition import partition_counts
from dataset_tools.build.reduce import PartitionResult, reduce_partition
from dataset_tools.build.spill import DeltaRefs
from dataset_tools.build.staging import scratch_cache_folder, staging_folder, swap_in
from dataset_tools.config import Settings, default_cache_dir
from dataset_tools.errors import BuildFailed, DatasetToolsError, NothingToBuild
from dataset_tools.fileio import ipc_batches, table_batches
from dataset_tools.inputs import RawSource, source_for
from dataset_tools.layout import INPUTS_DIR, MANIFEST_FILE, REPORT_FILE
from dataset_tools.lifetime import cleans_up_on_sigterm, on_sigterm
from dataset_tools.listing import FOLDERS_FILE
from dataset_tools.report import ReportSummary
from dataset_tools.schema import TableSchema, load_table_schema

Progress = Callable[[str, int, int], None]
INLINE_FILES = 64  # below this many files to read, a process pool costs more than it saves


@dataclass
class BuildResult:
    """What a build did: where it wrote, and the counts that report.json holds."""

    out: Path
    version: str
    report: ReportSummary
    shards: list[dict]
    output_bytes: int
    parsed: int = 0
    shards_written: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # wall-clock seconds per stage, in order

    @property
    def inputs(self) -> int:
        return self.report.inputs

    @property
    def rows(self) -> int:
        return self.report.rows

    @property
    def duplicates(self) -> int:
        return self.report.duplicates

    @property
    def superseded(self) -> int:
        return self.report.superseded

    @property
    def rejected(self) -> int:
        return self.report.rejected

    @property
    def rejects_by_reason(self) -> dict[str, int]:
        return self.report.rejects_by_reason

    @property
    def language_sources(self) -> dict[str, int]:
        return self.report.language_sources

    def summary(self) -> dict:
        """The machine-readable summary the CLI prints with --json."""
        return {
            "out": str(self.out),
            "version": self.version,
            **self.report.counts(),
            "rejects_by_reason": self.rejects_by_reason,
            "cleaned": self.report.cleaned,
            "shards": len(self.shards),
            "output_bytes": self.output_bytes,
            "parsed": self.parsed,
            "shards_written": self.shards_written,
            "seconds": self.seconds,
        }


class Stopwatch:
    """Wall-clock seconds per build stage (`lap(name)` closes the stage that just ended)."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self.last, 3)
        self.last = now

    def result(self) -> dict[str, float]:
        return {**self.laps, "total": round(time.perf_counter() - self.start, 3)}


@cleans_up_on_sigterm
def build_dataset(
    settings: Settings,
    raw: Path | str | None = None,
    out: Path | None = None,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
    worker_setup: Callable[[], None] | None = None,
) -> BuildResult:
    """Build the dataset folder from the raw files.

    Args:
        settings: the project's settings (schema path, version, card metadata, limits).
        raw: the raw folder or an fsspec URL (default: the settings' `raw`).
        out: the output folder (default: the settings' `out`); replaced atomically.
        workers: worker processes (default: all cores; 1 runs everything in this process).
        progress: called as progress(stage, done, total) while the build runs.
        cache_dir: the incremental-build cache (default: `.dataset-tools-cache/` in the project).
        use_cache: False builds from scratch and leaves no cache behind.
        engine: "local" (a process pool) or "dask" (a dask.distributed cluster).
        scheduler: the dask scheduler address (default: a LocalCluster of `workers` processes).
        worker_setup: run once in each worker process the build starts (process-wide settings
            of the caller's choosing; the build itself sets none).

    Returns:
        The build's counts and files.

    Raises:
        InputNotFound: the raw folder does not exist.
        NothingToBuild: no input became a row (none, or all rejected); the previous output is intact.
        BuildFailed: the output could not be written (a full disk: where, and the space free
            and needed); the previous output is intact, the build's temporary files removed.
        CacheBusy: another build uses the cache folder.

    A SIGTERM while the build runs (where the process had no handler of its own) removes its
    staging folder and ends the process as SIGTERM does; the workers die with this process
    however it ends, and the next build takes the cache over (`lifetime`).
    """
    source = source_for(raw if raw is not None else settings.raw)
    out = Path(out or settings.out).resolve()
    schema = load_table_schema(settings.schema, frictionless=False)
    from dataset_tools.card.texts import load_card_text

    load_card_text(settings.card_text)  # a broken card text fails now, not after the parse
    notify = progress or (lambda stage, done, total: None)
    watch = Stopwatch()
    cache_folder = Path(cache_dir or default_cache_dir(settings)).resolve() if use_cache else None
    engines: list = []  # the engine, once started

    def start_cluster(listed: Callable[[], bool]) -> None:
        # A dask cluster takes a second or two to start its workers: it starts while the raw
        # folder is listed. A local pool is started when the first tasks are handed out.
        if engine != "local":
            engines.append(make_engine(engine, workers=workers, scheduler=scheduler, worker_setup=worker_setup))

    raw_bytes = 0
    try:
        listing = source.list(folders_file=str(cache_folder / FOLDERS_FILE) if cache_folder else None, meanwhile=start_cluster)
        watch.lap("list")
        raw_bytes = pc.sum(pc.max_element_wise(listing.column("size"), 0)).as_py() or 0  # (a failure names what a build needs)

        def engine_for(files: int):
            if not engines:
                engines.append(make_engine(engine, workers=1 if files <= INLINE_FILES else workers, scheduler=scheduler, worker_setup=worker_setup))
            return engines[0]

        handed = [listing]  # handed over: no frame keeps the listing alive while the workers run
        del listing
        result = _build_with_cache(source, handed, out, schema, settings, cache_folder, engine_for, notify, watch)
    except (OSError, BrokenProcessPool) as exc:
        if isinstance(exc, DatasetToolsError):
            raise
        raise build_failure(exc, out, cache_folder, raw_bytes) from exc
    finally:
        for runner in engines:
            runner.close(abort=True)  # a build that failed before its cache was opened (closing twice is safe)
    result.out = out
    result.seconds = watch.result()
    return result


def _build_with_cache(
    source: RawSource, listing: list[pa.Table], out: Path, schema: TableSchema, settings: Settings, cache_folder: Path | None,
    engine_for: Callable[[int], object], notify: Progress, watch: Stopwatch,
) -> BuildResult:
    """The build in its cache (a throw-away one without `cache_folder`) and a staging folder,
    swapped in at the end; a failed build leaves the previous output and cache as they were."""
    scratch = None if cache_folder else scratch_cache_folder(out)
    cache = BuildCache(cache_folder or scratch)
    if scratch is not None:
        on_sigterm(lambda: shutil.rmtree(scratch, ignore_errors=True))
    runner = None
    failed = True  # until the output and the cache's new state are in place
    try:
        staging = staging_folder(out)
        on_sigterm(lambda: shutil.rmtree(staging, ignore_errors=True))
        runner = engine_for(listing[0].num_rows)
        if isinstance(runner, LocalEngine) and runner.workers > 1:
            _load_before_fork(schema)
        watch.lap("start")
        try:
            result, state = _build_into(staging, out, source, listing, schema, settings, cache, runner, notify, watch)
            swap_in(staging, out)
        except BaseException:
            runner.close(abort=True)  # first: a task cut short may still be writing into the staging folder
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if scratch is None:
            state.shards = plan.record_outputs(out, state.shards)
            cache.commit(state)
        failed = False
        watch.lap("finish")
        return result
    finally:
        if runner is not None:
            runner.close(abort=failed)  # before the cache goes: a task cut short may still be writing to it
        if failed:
            cache.discard()  # what the failed build wrote (a full disk wants it back)
        cache.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _load_before_fork(schema: TableSchema) -> None:
    """What every worker needs, loaded once here so that forked workers share it instead of
    loading a copy each: the reader's modules, the schema's Arrow types, and the modules pyarrow
    imports on its first conversion of Python objects."""
    from dataset_tools.readers.common import warm_up

    warm_up()
    schema.arrow_schema
    pa.array([0])


def _build_into(
    staging: Path,
    out: Path,
    source: RawSource,
    listing: list[pa.Table],
    schema: TableSchema,
    settings: Settings,
    cache: BuildCache,
    runner,
    notify: Progress,
    watch: Stopwatch,
) -> tuple[BuildResult, CacheState]:
    """The stages, from the listing (handed over in a one-item list, which this empties) to a
    complete folder in `staging`; returns the result and the cache's next state."""
    key = plan.cache_key(source, schema, settings)
    previous = cache.load(key)
    generation = (previous.generation + 1) if previous else 1
    old_files = cache.read_table(previous.files) if previous else None
    reading = plan.files_to_read(listing.pop(), old_files)
    todo_path = cache.work / "todo.arrow"
    tasks = plan.write_tasks(reading.todo, todo_path, runner.workers)
    total = reading.todo.num_rows
    reading.todo = reading.todo.slice(0, 0)  # written to todo_path; not held while the workers run
    release_memory()
    watch.lap("plan")

    delta_path = cache.work / "files-delta.arrow"
    parsed = _parse(runner, source, todo_path, tasks, total, delta_path, settings, schema, cache, generation, notify)
    watch.lap("parse")

    update = plan.update_file_table(old_files, reading, delta_path, todo_path, parsed.unchanged, parsed.counts)
    del old_files
    files_name = f"files-{generation}.arrow"
    files = _keep_file_table(update.files, delta_path, cache, files_name)
    losers = find_losers(files)
    watch.lap("files")
    near = link_near_duplicates(
        runner, cache.folder, previous.neardup if previous else None, parsed.near, update.stale_ids,
        update.files, settings.near_duplicates, settings.near_duplicate_threshold, generation,
    )
    losers = _with_copies(losers, copies_as_losers(cache.folder, near.join, files, losers))
    release_memory()  # what the stage's index took goes back before the reduce (80 MB at 1,000,000 rows)
    watch.lap("near-duplicates")
    old_losers = cache.read_table(previous.losers) if previous else None
    writes = plan.plan_writes(previous, update, parsed.refs, losers, old_losers, settings.shard_rows, generation, out, staging, near.relinked)
    del old_losers

    from dataset_tools.card.stats import card_cache_folder

    card_cache = card_cache_folder(cache.folder)
    written = _reduce(runner, writes, settings.shard_rows, cache, staging, schema, card_cache, notify, near.join)
    runner.close()  # the workers' part is done: let them go (and their memory) before the report and the card
    watch.lap("write")

    digests: dict[str, dict] = {}  # of the files written besides the shards, for manifest.json
    summary, digests[REPORT_FILE] = outputs.write_report(staging / REPORT_FILE, files, losers, settings.version, near.summary)
    digests.update(outputs.write_listings(staging, files, losers, writes.parts_written))
    digests.update({item["name"]: {"sha256": item["sha256"], "bytes": item["bytes"]} for item in writes.kept_listings})
    watch.lap("report")
    if not summary.rows:  # a dataset without rows is no dataset (validate would refuse it)
        raise NothingToBuild(source.describe(), summary.inputs, summary.rejects_by_reason)

    shards = _shard_entries(written, writes.kept)
    rows = sum(s["rows"] for s in shards)
    if rows != summary.rows:
        # Every input must end as exactly one outcome: never publish data that disagrees with its report.
        raise BuildFailed(
            f"internal error: the shards hold {rows} rows, the report counts {summary.rows}",
            hint="Delete the build cache (or pass --no-cache) and build again; please report this bug.",
        )
    _write_card_and_manifest(staging, settings, schema, shards, summary, digests, card_cache, watch)

    listings = [{"name": name, "part": _listing_part(name), **digests[name]} for name in sorted(digests) if name.startswith(INPUTS_DIR + "/")]
    state = CacheState(
        key=key,
        generation=generation,
        files=files_name,
        losers=cache.write_table(f"losers-{generation}.arrow", losers),
        parts=plan.kept_partition_refs(writes, cache),
        shards={
            "out": str(out),
            "shard_rows": settings.shard_rows,
            "items": [{"name": s["path"], **{k: s[k] for k in ("part", "rows", "sha256", "bytes")}} for s in shards],
            "listings": listings,
        },
        neardup=near.state or {},
    )
    result = BuildResult(
        out=staging,
        version=settings.version,
        report=summary,
        shards=[{k: s[k] for k in ("path", "rows", "sha256", "bytes")} for s in shards],
        output_bytes=sum(p.stat().st_size for p in staging.rglob("*") if p.is_file() and not p.relative_to(staging).as_posix().startswith(".")),
        parsed=parsed.files,
        shards_written=sum(len(r.shards) for r in written),
    )
    return result, state


def _write_card_and_manifest(
    staging: Path, settings: Settings, schema: TableSchema, shards: list[dict], summary: ReportSummary, digests: dict[str, dict],
    card_cache: Path, watch: Stopwatch,
) -> None:
    """The card files, then manifest.json, which lists every file of the folder."""
    from dataset_tools.card import write_card_files

    write_card_files(
        staging, settings, schema, settings.version, cache=card_cache,
        shard_hashes={s["path"]: s["sha256"] for s in shards}, report=summary, digests=digests,
    )
    watch.lap("card")
    outputs.write_manifest(
        staging / MANIFEST_FILE, staging, [{k: s[k] for k in ("path", "rows", "sha256", "bytes")} for s in shards], schema, settings.version,
        digests=digests, dataset={"name": settings.name, "repo_id": settings.repo_id},
    )
    watch.lap("manifest")


@dataclass
class _Parsed:
    """What the parse stage left: where each partition's new rows are, articles per partition
    among the files read, how many files were parsed, and the paths whose bytes were unchanged."""

    refs: DeltaRefs
    counts: dict[int, int]
    files: int
    unchanged: list[str]
    near: list[SignatureFiles] = field(default_factory=list)  # the map tasks' near-duplicate signatures


def _parse(
    runner, source: RawSource, todo_path: Path, tasks: int, total: int, delta_path: Path,
    settings: Settings, schema: TableSchema, cache: BuildCache, generation: int, notify: Progress,
) -> _Parsed:
    """Run the map tasks over the to-do file; each task's bookkeeping rows are appended to the
    spill `delta_path` as they arrive, so this process holds counts, not a row per input."""
    parsed = _Parsed(DeltaRefs(), {}, 0, [])
    (cache.folder / "chunks").mkdir(exist_ok=True)
    notify("parse", 0, total)
    arguments = (
        (
            source,
            *(batch.column(i).to_pylist() for i in range(4)),  # paths, sizes, mtimes, cached SHA-256
            settings.max_file_bytes,
            str(schema.path),
            str(cache.folder),
            f"chunks/{generation}-{number:07d}.arrow",
            settings.near_duplicate_threshold if settings.near_duplicates != "off" else None,
        )
        for number, batch in enumerate(ipc_batches(todo_path))
    )
    if tasks <= 1:
        arguments = list(arguments)  # one task (an incremental build's few files) runs in this process
    done = 0
    with pa.OSFile(str(delta_path), "wb") as sink, pa.ipc.new_file(sink, FILES_SCHEMA) as spill:
        result: MapResult
        for result in runner.map_ordered(map_chunk, arguments):
            parsed.refs.add(result.chunk, result.batches)
            spill.write_batch(result.files)
            for part, count in partition_counts(result.files).items():
                parsed.counts[part] = parsed.counts.get(part, 0) + count
            parsed.files += result.files.num_rows
            parsed.unchanged.extend(result.unchanged)
            if result.near is not None:
                parsed.near.append(result.near)
            done += result.files.num_rows + len(result.unchanged)
            notify("parse", done, total)
    release_memory()
    return parsed


def _reduce(
    runner, writes: plan.WritePlan, shard_rows: int, cache: BuildCache, staging: Path, schema: TableSchema, card_cache: Path, notify: Progress,
    near: NearDupJoin,
) -> list[PartitionResult]:
    """Run one reduce task per partition to write."""
    notify("write", 0, len(writes.writes))
    arguments = [
        (write.job, write.losers, shard_rows, str(cache.folder), str(staging), str(schema.path), str(card_cache), near)
        for write in writes.writes
    ]
    written = []
    for i, result in enumerate(runner.map_ordered(reduce_partition, arguments)):
        written.append(result)
        notify("write", i + 1, len(arguments))
    return written


def _with_copies(losers: pa.Table, copies: pa.Table) -> pa.Table:
    """The duplicates and superseded versions, and the near-duplicates dropped, in path order."""
    return pa.concat_tables([losers, copies]).sort_by("path") if copies.num_rows else losers


def _keep_file_table(files: pa.Table | None, delta_path: Path, cache: BuildCache, name: str) -> Callable[[], Iterator[pa.RecordBatch]]:
    """Put the new file table in the cache as `name`; returns a function that yields it batch
    by batch. A first build's is its parse spill (in path order, as the tasks were), moved
    there and read back a batch at a time: report.json and manifest.json of a million inputs
    take a few batches of memory. A rebuild's was patched in memory, and is read from there."""
    if files is None:
        delta_path.replace(cache.path(name))
        release_memory()
        return lambda: ipc_batches(cache.path(name))
    cache.write_table(name, files)
    return lambda: table_batches(files)


def _shard_entries(written: list[PartitionResult], kept: list[dict]) -> list[dict]:
    """Every shard of the new output ({path, part, rows, sha256, bytes}), in path order."""
    return sorted(
        [{"path": s.name, "part": r.part, "rows": s.rows, "sha256": s.sha256, "bytes": s.bytes} for r in written for s in r.shards]
        + [{"path": item["name"], "part": item["part"], "rows": item["rows"], "sha256": item["sha256"], "bytes": item["bytes"]} for item in kept],
        key=lambda s: s["path"],
    )


def _listing_part(name: str) -> int:
    """The partition of an input listing's name (`inputs/YYYY/MM.parquet`)."""
    year, month = name.removeprefix(INPUTS_DIR + "/").removesuffix(".parquet").split("/")
    return int(year) * 100 + int(month)
