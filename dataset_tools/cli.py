"""The `dataset-tools` command: parse arguments, call the library, print, set the exit code.

Exit codes: 0 success; 1 the job failed (invalid dataset, rejects under --strict, a failed
publish); 2 usage errors (bad options, missing folders or settings). Errors print as one line
plus a hint; set DATASET_TOOLS_DEBUG=1 for the traceback.
"""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from dataset_tools.errors import DatasetToolsError, InputNotFound, StrictModeFailure
from dataset_tools.fileio import human_size

app = typer.Typer(
    help="Build, validate and publish a dataset of collected news articles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _Console:
    """A rich Console made on first use: rich's import is 40 ms of every command's start-up,
    and a command that prints JSON to a pipe (`_print_json`) or nothing needs none of it."""

    def __init__(self, **options) -> None:
        self._options = options
        self._console = None

    def get(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.get(), name)


out_console = _Console()
err_console = _Console(stderr=True)


def _print_json(text: str) -> None:
    """Print a JSON document on stdout, indented (and coloured on a terminal, by rich): to a
    pipe, the bytes rich would print, without importing it."""
    if sys.stdout.isatty():
        out_console.print_json(text)
    else:
        sys.stdout.write(json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

ProjectOption = Annotated[
    Optional[Path],
    typer.Option("--project", help="Project folder holding pyproject.toml (default: found from the current folder).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout.")]


def _settings(project: Path | None):
    from dataset_tools.config import load_settings

    return load_settings(project)


@contextmanager
def _progress(enabled: bool):
    """A rich progress display on stderr; `update(stage, done, total)` drives it."""
    if not enabled or not sys.stderr.isatty() or not err_console.is_terminal:
        yield lambda stage, done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    labels = {"parse": "Parsing raw files", "write": "Writing shards"}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console.get(),
        transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


@app.command()
def build(
    raw: Annotated[Optional[str], typer.Option("--raw", help="Folder (or fsspec URL) of collected raw files (default: settings' raw, 'raw/').", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder, replaced atomically (default: settings' out, 'dist/').", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Worker processes (default: all cores).", show_default=False)] = None,
    engine: Annotated[str, typer.Option("--engine", help="Where tasks run: 'local' (process pool) or 'dask' (a dask.distributed cluster).")] = "local",
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address (default with --engine dask: a LocalCluster of --workers processes).", show_default=False)] = None,
    cache: Annotated[Optional[Path], typer.Option("--cache", help="Incremental-build cache folder (default: .dataset-tools-cache/ in the project; safe to delete).", show_default=False)] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Build from scratch and keep no cache.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 if any input is rejected (the dataset is still written).")] = False,
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """Parse every file in the raw folder and write the dataset folder: Parquet shards, card, report, manifest."""
    from dataset_tools.build import build_dataset
    from dataset_tools import runtime

    worker_setup = None
    if _owns_process():
        # This process and its workers build, then exit (see `runtime`).
        runtime.prepare_build_process()
        worker_setup = runtime.setup_worker
    settings = _settings(project)
    with _progress(not as_json) as update:
        result = build_dataset(
            settings,
            raw,
            out,
            workers=workers,
            progress=update,
            cache_dir=cache,
            use_cache=not no_cache,
            engine=engine,
            scheduler=scheduler,
            worker_setup=worker_setup,
        )
    summary = result.summary()
    if as_json:
        _print_json(json.dumps(summary))
    else:
        out_console.print(f"Built {settings.pretty_name} v{result.version} -> {_shown_path(result.out)}", highlight=False, markup=False, soft_wrap=True)
        from rich.table import Table

        table = Table(show_header=False)
        table.add_column(style="bold")
        table.add_column(justify="right")
        table.add_row("inputs", str(result.inputs))
        table.add_row("rows", str(result.rows))
        table.add_row("duplicates", str(result.duplicates))
        table.add_row("superseded", str(result.superseded))
        table.add_row("rejected", str(result.rejected))
        for reason, count in result.rejects_by_reason.items():
            table.add_row(f"  {reason}", str(count))
        cleaned = result.report.cleaned
        if cleaned.get("rows"):  # what the build's hygiene removed from the rows (report.json: "cleaned")
            table.add_row("rows cleaned", str(cleaned["rows"]))
            table.add_row("  control characters removed", str(cleaned.get("control_characters", 0)))
            table.add_row("  URL user-info removed", str(cleaned.get("rows_with_url_userinfo", 0)))
            table.add_row("  secret URL parameters removed", str(cleaned.get("rows_with_secret_parameters", 0)))
        table.add_row("shards", f"{len(result.shards)} ({result.shards_written} written)")
        table.add_row("files parsed", str(result.parsed))
        table.add_row("output size", human_size(result.output_bytes))
        if result.seconds:
            table.add_row("time", f"{result.seconds['total']:.1f} s (parse {result.seconds.get('parse', 0):.1f} s, write {result.seconds.get('write', 0):.1f} s)")
        out_console.print(table)
    global _EXIT_NOW
    _EXIT_NOW = _owns_process()  # the output is written, the workers are gone
    if strict and result.rejected:
        raise StrictModeFailure(result.rejected)


@app.command()
def card(
    path: Annotated[Optional[Path], typer.Argument(help="Build folder (default: settings' out, 'dist/').", show_default=False)] = None,
    project: ProjectOption = None,
) -> None:
    """Re-render the data card (README.md, croissant.json, datapackage.json, plot) of an existing build, without rebuilding the data."""
    from dataset_tools.card import refresh_card
    from dataset_tools.schema import load_table_schema

    settings = _settings(project)
    folder = path or settings.out
    if not folder.is_dir():
        raise InputNotFound(f"build folder {folder} does not exist", path=folder, hint="Run `dataset-tools build` first, or pass the build folder.")
    card_version, written = refresh_card(folder, settings, load_table_schema(settings.schema))
    out_console.print(f"Rendered the card of v{card_version} in {_shown_path(folder)}: {', '.join(written)}", highlight=False)


@app.command()
def validate(
    target: Annotated[
        Optional[str],
        typer.Argument(help="A built dataset folder, or namespace/name[@revision] of a Hub dataset (default: settings' out, 'dist/').", show_default=False),
    ] = None,
    schema_path: Annotated[
        Optional[Path],
        typer.Option("--schema", help="Table schema to validate against (default: settings' schema, schemas/article.schema.json).", show_default=False),
    ] = None,
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """Check a dataset folder or Hub revision against schemas/, its manifest and its card; exit 1 if invalid."""
    from dataset_tools.schema import load_table_schema
    from dataset_tools.validate import validate_target

    settings = _settings(project) if schema_path is None or target is None else None
    schema = load_table_schema(schema_path or settings.schema)
    report = validate_target(target if target is not None else settings.out, schema)
    if as_json:
        _print_json(json.dumps(report.to_dict()))
    else:
        stats = report.stats
        if report.errors:
            from rich.table import Table

            table = Table(title=f"{report.source}: {stats['errors']} error(s)", title_justify="left")
            for column in ("type", "file", "row", "field", "message"):
                table.add_column(column, overflow="fold")
            for error in report.errors:
                row = "" if error.row is None else str(error.row)
                table.add_row(error.type, error.file or "", row, error.field or "", error.message)
            out_console.print(table)
        verdict = "[green]valid[/green]" if report.valid else "[red]invalid[/red]"
        out_console.print(
            f"{verdict}: {report.source}: {stats['files']} Parquet file(s), {stats['rows']} rows, {stats['errors']} error(s)",
            highlight=False,
        )
    if not report.valid:
        raise typer.Exit(1)


@app.command()
def version(project: ProjectOption = None) -> None:
    """Print the dataset version (the top release heading of CHANGELOG.md)."""
    out_console.print(_settings(project).version, highlight=False)


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="The old dataset: a build folder or REPO_ID@REVISION.", show_default=False)],
    new: Annotated[str, typer.Argument(help="The new dataset: a build folder or REPO_ID@REVISION.", show_default=False)],
    limit: Annotated[int, typer.Option("--limit", min=0, help="Articles listed per kind of change in the table.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Compare two datasets by id and content: added, removed and updated articles, schema changes."""
    from dataset_tools.diff import diff_datasets
    from dataset_tools.sources import open_dataset

    with open_dataset(old) as old_folder, open_dataset(new) as new_folder:
        result = diff_datasets(old_folder, new_folder, old_label=old, new_label=new)
    if as_json:
        _print_json(json.dumps(result.to_dict(), default=str))
        return
    counts = result.to_dict()["counts"]
    out_console.print(f"old: {old}\nnew: {new}", highlight=False, markup=False, soft_wrap=True)
    from rich.table import Table

    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key in ("old_rows", "new_rows", "added", "removed", "updated", "unchanged", "reparsed"):
        table.add_row(key.replace("_", " "), str(counts[key]))
    table.add_row("schema changes", str(len(result.schema_changes)))
    out_console.print(table)
    for change in result.schema_changes:
        out_console.print(f"schema: {change['column']} {change['change']} ({change['old']} -> {change['new']})", highlight=False, markup=False, soft_wrap=True)
    for label, items in (("added", result.added), ("removed", result.removed)):
        for item in items[:limit]:
            out_console.print(f"{label:8} {item['id']}  {item['url']}", highlight=False, markup=False, soft_wrap=True)
    for item in result.updated[:limit]:
        out_console.print(f"updated  {item['id']}  {item['url']}  [{', '.join(item['fields'])}]", highlight=False, markup=False, soft_wrap=True)


@app.command()
def release(
    major: Annotated[bool, typer.Option("--major", help="Release a major version (schema changes).")] = False,
    minor: Annotated[bool, typer.Option("--minor", help="Release a minor version (articles added or removed).")] = False,
    patch: Annotated[bool, typer.Option("--patch", help="Release a patch version (corrections only).")] = False,
    build_dir: Annotated[Optional[Path], typer.Option("--build", help="The current build (default: settings' out, 'dist/').", show_default=False)] = None,
    against: Annotated[Optional[str], typer.Option("--against", help="The last release: a folder or REPO_ID@REVISION (default: the settings' repo at v<current version>).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the entry without writing CHANGELOG.md.")] = False,
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """Diff the build against the last release, propose the version bump and write the CHANGELOG entry."""
    from dataset_tools.diff import diff_datasets
    from dataset_tools.release import make_release
    from dataset_tools.sources import open_dataset

    chosen = [name for name, flag in (("major", major), ("minor", minor), ("patch", patch)) if flag]
    if len(chosen) > 1:
        raise typer.BadParameter("give at most one of --major, --minor, --patch")
    settings = _settings(project)
    current = settings.version
    previous = against or f"{settings.repo_id}@v{current}"
    folder = Path(build_dir or settings.out)
    with open_dataset(previous) as old_folder, open_dataset(str(folder)) as new_folder:
        result = diff_datasets(old_folder, new_folder, old_label=previous, new_label=str(folder))
        made = make_release(settings.changelog, current, result, old_folder, new_folder, part=chosen[0] if chosen else None, write=not dry_run)
    if as_json:
        _print_json(json.dumps({"previous": made.previous, "version": made.version, "part": made.part, "proposed": made.proposed, "entry": made.entry, "written": not dry_run}))
        return
    if made.proposed and made.part != made.proposed:
        err_console.print(f"Note: the changes call for a {made.proposed} release; releasing {made.part} as asked.", highlight=False)
    out_console.print(made.entry, highlight=False, markup=False, soft_wrap=True)
    if dry_run:
        out_console.print(f"(dry run: CHANGELOG.md not written; v{made.version} would follow v{current})", highlight=False)
    else:
        out_console.print(f"Wrote v{made.version} to {_shown_path(settings.changelog)}. Run `dataset-tools build` to stamp the build with it, then `dataset-tools publish`.", highlight=False, markup=False)


@app.command()
def publish(
    path: Annotated[Optional[Path], typer.Argument(help="The built dataset folder (default: settings' out, 'dist/').", show_default=False)] = None,
    repo: Annotated[Optional[str], typer.Option("--repo", help="Hub dataset repo id, namespace/name (default: settings' repo_id).", show_default=False)] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repo private (an existing repo keeps its visibility).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print which files would be added, changed and deleted; send no write request.")] = False,
    revision: Annotated[str, typer.Option("--revision", help="Branch to commit to (created from main when missing).")] = "main",
    token: Annotated[Optional[str], typer.Option("--token", help="Hub token (default: HF_TOKEN, then the saved `hf auth login`). Never printed.", show_default=False)] = None,
    verify_load: Annotated[bool, typer.Option("--verify-load", help="After publishing, load the tag with datasets.load_dataset and compare row counts.")] = False,
    as_json: JsonOption = False,
    project: ProjectOption = None,
) -> None:
    """Validate the folder, commit it to the Hub in one commit and tag it v<version>, then verify the tag."""
    from dataset_tools.publish import publish_dataset
    from dataset_tools.release import release_notes
    from dataset_tools.schema import load_table_schema

    if token:
        _SECRETS.add(token)
    settings = _settings(project)
    folder = Path(path or settings.out)
    version = settings.version
    from rich.markup import escape

    result = publish_dataset(
        folder,
        repo or settings.repo_id,
        load_table_schema(settings.schema),
        notes=release_notes(settings.changelog, version),
        expected_version=version,
        branch=revision,
        private=private,
        dry_run=dry_run,
        verify_load=verify_load,
        token=token,
        notify=lambda message: err_console.print(f"[yellow]Retry:[/yellow] {escape(message)}" if "retrying" in message else escape(message), highlight=False, soft_wrap=True),
    )
    if as_json:
        _print_json(json.dumps(result.to_dict()))
        return
    plan = result.plan

    def say(text: str) -> None:
        out_console.print(text, highlight=False, markup=False, soft_wrap=True)

    if result.status == "already-published":
        say(f"{result.tag} is already published on {result.repo_id} with exactly these files (commit {result.commit[:8]}): nothing to do.")
    elif result.status == "dry-run":
        target = f"{result.repo_id} (branch {result.branch})" if result.repo_exists else f"{result.repo_id} (a new repo)"
        say(f"Dry run: publishing {result.tag} to {target} would")
        for label, paths in (("add", plan.added), ("change", plan.changed), ("delete", plan.deleted)):
            for item in paths:
                say(f"  {label:7} {item}")
        say(f"  and leave {len(plan.unchanged)} file(s) unchanged; upload {human_size(result.upload_bytes)}, then tag {result.tag}.")
        say("Nothing was sent to the Hub.")
        return
    else:
        if result.status == "tagged":
            say(f"Published {result.tag} to {result.repo_id}: {result.branch} already held these files; tagged {result.commit[:8]}.")
        else:
            say(f"Published {result.tag} to {result.repo_id}: commit {result.commit[:8]} on {result.branch}, tag {result.tag}.")
        say(f"Files: {len(plan.added)} added, {len(plan.changed)} changed, {len(plan.deleted)} deleted, {len(plan.unchanged)} unchanged ({human_size(result.upload_bytes)} uploaded).")
        checked = f"Verified {result.verified_files} file(s) at {result.tag} against manifest.json"
        say(checked + (f"; load_dataset returned {result.loaded_rows} rows." if result.loaded_rows is not None else "."))
    say(f"Dataset: {result.url}")
    say(f"Load this version: from datasets import load_dataset; ds = {result.load_line}")


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Secrets to keep out of every message: a --token value is added when parsed; the environment's
# and the saved login's are found when an error is printed.
_SECRETS: set[str] = set()
_SECRET_PATTERNS = re.compile(r"(?i)(bearer\s+)[^\s'\"]+|\bhf_[A-Za-z0-9]{20,}")


def redact(text: str) -> str:
    """`text` with every known token and anything shaped like one replaced by ***."""
    secrets = set(_SECRETS)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if os.environ.get(name):
            secrets.add(os.environ[name])
    secrets.update(_saved_tokens())
    for secret in sorted((s.strip() for s in secrets if s and len(s.strip()) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _SECRET_PATTERNS.sub(lambda m: (m.group(1) or "") + "***", text)


def _saved_tokens() -> set[str]:
    """Tokens saved by `hf auth login` (read from disk only; no network)."""
    home = Path(os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface")
    found = set()
    for candidate in (Path(os.environ["HF_TOKEN_PATH"]) if os.environ.get("HF_TOKEN_PATH") else home / "token", home / "stored_tokens"):
        try:
            text = candidate.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            value = line.split("=", 1)[-1].strip()
            if value and not value.startswith("["):
                found.add(value)
    return found


def _print_error(exc: BaseException, debug: bool, message: str, hint: str | None) -> None:
    from rich.markup import escape

    if debug:
        trace = "".join(traceback.format_exception(exc))
        err_console.print(redact(trace), highlight=False, markup=False, soft_wrap=True, end="")
    err_console.print(f"[red]Error:[/red] {escape(redact(message))}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"[dim]Hint:[/dim] {escape(redact(hint))}", highlight=False, soft_wrap=True)


_STANDALONE = False  # set by main(): this process runs one command and exits
_EXIT_NOW = False  # set by a command that leaves nothing to clean up: skip the interpreter's teardown


def _owns_process() -> bool:
    """Whether the command runs as its own process (the console script or `python -m`), not
    inside another program (a test's CliRunner, a notebook) whose process state it must not change."""
    return _STANDALONE


def main() -> None:
    """Console-script entry point: run the app and turn errors into one line plus a hint.

    Tokens never reach the output: messages and DATASET_TOOLS_DEBUG tracebacks go through `redact`."""
    global _STANDALONE
    _STANDALONE = True
    debug = os.environ.get("DATASET_TOOLS_DEBUG", "") not in ("", "0")
    try:
        try:
            app()  # standalone: typer/click handle --help and usage errors (exit 2) themselves
        except DatasetToolsError as exc:
            _print_error(exc, debug, str(exc), exc.hint)
            sys.exit(exc.exit_code)
        except Exception as exc:  # a bug or a broken environment: still one line unless debugging
            _print_error(exc, debug, f"unexpected {type(exc).__name__}: {exc}", "set DATASET_TOOLS_DEBUG=1 for the traceback and report it as a bug.")
            sys.exit(1)
    except SystemExit as exc:
        if _EXIT_NOW:
            from dataset_tools.runtime import exit_now

            exit_now(exc.code)
        raise
