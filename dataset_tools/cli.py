"""The `dataset-tools` command: parse arguments, call the library, print, set the exit code.

Exit codes: 0 success; 1 the job failed (invalid dataset, rejects under --strict, a failed
publish, nothing to build); 2 usage errors (bad options or values, missing folders, settings or
schema file). Errors print as one line plus a hint on stderr, or, when `--json` was given, as
`{"error": {"type", "message", "hint"}}` on stdout; set DATASET_TOOLS_DEBUG=1 for the traceback.
When the reader of stdout goes away (`dataset-tools diff A B | head -1`), the command stops
without a word and exits 141, as a shell reports a command killed by SIGPIPE (`cat`, `git log`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from dataset_tools.errors import DatasetToolsError, InputNotFound, StrictModeFailure, UsageError
from dataset_tools import terminal
from dataset_tools.fileio import human_size

PROG = "dataset-tools"
app = typer.Typer(
    name=PROG,
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# click's exception classes, wherever this typer takes click from (its own copy since 0.26).
_ClickException = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException")


def _show_version(value: bool) -> None:
    if value:
        from dataset_tools import __version__

        print(f"{PROG} {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version of dataset-tools and exit (`dataset-tools version` prints the dataset's)."),
    ] = False,
) -> None:
    """Build, validate and publish a dataset of collected news articles.

    Start with `dataset-tools init`; every command takes -h."""


ProjectOption = Annotated[
    Optional[Path],
    typer.Option("--project", help="Project folder holding pyproject.toml (default: found from the current folder).", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout (errors too, as {\"error\": ...}).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and what the command was asked for: no progress bar, notes or summary.")]


def _settings(project: Path | None):
    from dataset_tools.config import load_settings

    return load_settings(project)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="The project folder, made if missing (default: the current folder).")] = Path("."),
    name: Annotated[Optional[str], typer.Option("--name", help="Dataset name, a short id (default: the folder's name).", show_default=False)] = None,
    pretty_name: Annotated[Optional[str], typer.Option("--pretty-name", help="The card's title (default: from the name).", show_default=False)] = None,
    repo_id: Annotated[Optional[str], typer.Option("--repo-id", help="Hub dataset repo, namespace/name (default: <your login name>/<name>).", show_default=False)] = None,
    license: Annotated[Optional[str], typer.Option("--license", help="A Hub license id such as cc-by-4.0 (default: 'unknown').", show_default=False)] = None,
    description: Annotated[Optional[str], typer.Option("--description", help="One sentence on the dataset (default: a neutral one).", show_default=False)] = None,
    creator: Annotated[Optional[str], typer.Option("--creator", help="Who makes the dataset, for the citation (default: the repo's namespace).", show_default=False)] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ask nothing: take the options given and defaults for the rest (also what happens off a terminal).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the files of an existing project (raw/ is never touched).")] = False,
    install: Annotated[Optional[str], typer.Option("--install", metavar="REQUIREMENT", help="The pip requirement the CI workflow installs dataset-tools from, such as 'dataset-tools @ git+URL@TAG' (default: where this one was installed from).", show_default=False)] = None,
    quiet: QuietOption = False,
) -> None:
    """Start a dataset project: settings in pyproject.toml, schemas/, card.md, CHANGELOG.md, raw/, .gitignore and a CI workflow.

    On a terminal it asks for the settings not given as options; `dataset-tools build` then works as is."""
    from dataset_tools.project import QUESTIONS, ProjectAnswers, check_answer, check_new_project, init_project, suggest

    check_new_project(folder, force=force)  # before any question
    given = {"name": name, "pretty_name": pretty_name, "repo_id": repo_id, "license": license, "description": description}
    ask = not yes and sys.stdin.isatty()
    answers: dict[str, str] = {}
    for field, question in QUESTIONS.items():
        if given[field]:
            answers[field] = given[field]
        elif ask:
            answers[field] = typer.prompt(question, default=suggest(field, folder, answers), value_proc=_checked(check_answer, field))
        else:
            answers[field] = suggest(field, folder, answers)
    result = init_project(folder, ProjectAnswers(**answers, creator=creator), force=force, install=install)
    if result.install is None:  # said even with --quiet: the workflow fails until the user acts
        terminal.warn(
            "init cannot tell where a CI runner can install dataset-tools from (this one was not installed from a git or web URL, nor from a pushed clone): "
            "write a pip requirement in .github/workflows/validate.yml, or run init again with --install REQUIREMENT --force"
        )
    if quiet:
        return
    where = terminal.shown_path(result.folder.resolve())
    terminal.say(f"Made a dataset project in {where}: {', '.join(result.written)}")
    if result.kept:
        terminal.say(f"Kept what was there: {', '.join(result.kept)}")
    in_folder = "" if where == "." else f" in {where}"
    terminal.say(f"Next: put the collected pages (one text file per article) in {Path(where) / 'raw'}/, then run `dataset-tools build` and `dataset-tools validate`{in_folder}.")
    terminal.say("Before the first `dataset-tools publish`: check repo_id and license in pyproject.toml, and make card.md say what is true of your collection.")


def _checked(check, field: str):
    """A prompt's value_proc: `check(field, value)`, its ConfigError turned into the error click asks again after."""
    from dataset_tools.errors import ConfigError

    def proc(value: str) -> str:
        try:
            return check(field, value)
        except ConfigError as exc:
            raise typer.BadParameter(str(exc)) from None

    return proc


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
    quiet: QuietOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Add the time of each stage (list, plan, parse, write, report, card, ...) to the summary.")] = False,
    project: ProjectOption = None,
) -> None:
    """Parse every file in the raw folder and write the dataset folder: Parquet shards, card, report, manifest.

    Fails (exit 1, the previous output untouched) when no input becomes a row."""
    from dataset_tools.build import build_dataset
    from dataset_tools import runtime

    worker_setup = None
    if _owns_process():
        # This process and its workers build, then exit (see `runtime`).
        runtime.prepare_build_process()
        worker_setup = runtime.setup_worker
    settings = _settings(project)
    with terminal.progress(not as_json and not quiet) as update:
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
        terminal.print_json(json.dumps(summary))
    elif not quiet:
        terminal.out_console.print(f"Built {settings.pretty_name} v{result.version} -> {terminal.shown_path(result.out)}", highlight=False, markup=False, soft_wrap=True)
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
            if verbose:
                for stage, seconds in result.seconds.items():
                    if stage != "total":
                        table.add_row(f"  {stage}", f"{seconds:.3f} s")
        terminal.out_console.print(table)
    global _EXIT_NOW
    _EXIT_NOW = _owns_process()  # the output is written, the workers are gone
    if strict and result.rejected:
        raise StrictModeFailure(result.rejected)


@app.command()
def card(
    path: Annotated[Optional[Path], typer.Argument(help="Build folder (default: settings' out, 'dist/').", show_default=False)] = None,
    quiet: QuietOption = False,
    project: ProjectOption = None,
) -> None:
    """Re-render the data card (README.md, croissant.json, datapackage.json, plot) of an existing build, without rebuilding the data.

    Run it after editing card.md or the settings, or to undo hand edits of the card."""
    from dataset_tools.card import refresh_card
    from dataset_tools.schema import load_table_schema

    settings = _settings(project)
    folder = path or settings.out
    if not folder.is_dir():
        raise InputNotFound(f"build folder {folder} does not exist", path=folder, hint="Run `dataset-tools build` first, or pass the build folder.")
    card_version, written = refresh_card(folder, settings, load_table_schema(settings.schema))
    if not quiet:
        terminal.say(f"Rendered the card of v{card_version} in {terminal.shown_path(folder)}: {', '.join(written)}")


@app.command()
def validate(
    target: Annotated[
        Optional[str],
        typer.Argument(help="A built dataset folder, or namespace/name[@revision] of a Hub dataset (default: settings' out, 'dist/').", show_default=False),
    ] = None,
    schema_path: Annotated[
        Optional[Path],
        typer.Option("--schema", help="Table schema to validate against (default: the settings' schema: schemas/article.schema.json, else the one shipped with dataset-tools).", show_default=False),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="After the errors, say what each type of error found means.")] = False,
    project: ProjectOption = None,
) -> None:
    """Check a dataset folder or Hub revision against schemas/, its manifest and its card; exit 1 if invalid."""
    from dataset_tools.schema import load_table_schema
    from dataset_tools.validate import ERROR_TYPES, validate_target

    settings = _settings(project) if schema_path is None or target is None else None
    schema = load_table_schema(schema_path or settings.schema)
    report = validate_target(target if target is not None else settings.out, schema)
    if as_json:
        terminal.print_json(json.dumps(report.to_dict()))
    elif not (quiet and report.valid):
        stats = report.stats
        if report.errors:
            from rich.table import Table

            table = Table(title=f"{report.source}: {stats['errors']} error(s)", title_justify="left")
            for column in ("type", "file", "row", "field", "message"):
                table.add_column(column, overflow="fold")
            for error in report.errors:
                row = "" if error.row is None else str(error.row)
                table.add_row(error.type, error.file or "", row, error.field or "", error.message)
            terminal.out_console.print(table)
            if verbose:
                for kind in sorted(report.types()):
                    terminal.say(f"{kind}: {ERROR_TYPES.get(kind, '')}")
        from rich.markup import escape

        verdict = "[green]valid[/green]" if report.valid else "[red]invalid[/red]"
        terminal.out_console.print(
            f"{verdict}: {escape(report.source)}: {stats['files']} Parquet file(s), {stats['rows']} rows, {stats['errors']} error(s)",
            highlight=False,
            soft_wrap=True,
        )
    if not report.valid:
        raise typer.Exit(1)


@app.command()
def version(project: ProjectOption = None) -> None:
    """Print the DATASET's version: the top release heading of CHANGELOG.md (`dataset-tools --version` prints the tool's)."""
    terminal.out_console.print(_settings(project).version, highlight=False)


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="The old dataset: a build folder or REPO_ID@REVISION.", show_default=False)],
    new: Annotated[str, typer.Argument(help="The new dataset: a build folder or REPO_ID@REVISION.", show_default=False)],
    limit: Annotated[int, typer.Option("--limit", min=0, help="Articles listed per kind of change (added, removed, updated); the rest are counted.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Compare two datasets by id and content: added, removed and updated articles, schema changes."""
    from dataset_tools.diff import diff_datasets
    from dataset_tools.sources import open_dataset

    with open_dataset(old) as old_folder, open_dataset(new) as new_folder:
        result = diff_datasets(old_folder, new_folder, old_label=old, new_label=new)
    if as_json:
        terminal.print_json(json.dumps(result.to_dict(), default=str))
        return
    counts = result.to_dict()["counts"]
    terminal.out_console.print(f"old: {old}\nnew: {new}", highlight=False, markup=False, soft_wrap=True)
    from rich.table import Table

    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key in ("old_rows", "new_rows", "added", "removed", "updated", "unchanged", "reparsed"):
        table.add_row(key.replace("_", " "), str(counts[key]))
    table.add_row("schema changes", str(len(result.schema_changes)))
    terminal.out_console.print(table)
    for change in result.schema_changes:
        terminal.out_console.print(f"schema: {change['column']} {change['change']} ({change['old']} -> {change['new']})", highlight=False, markup=False, soft_wrap=True)
    for label, items in (("added", result.added), ("removed", result.removed), ("updated", result.updated)):
        for item in items[:limit]:
            fields = f"  [{', '.join(item['fields'])}]" if label == "updated" else ""
            terminal.say(f"{label:8} {item['id']}  {item['url']}{fields}")
        if len(items) > limit:
            terminal.say(f"... and {len(items) - limit} more {label} (--limit {limit}; --json lists all)")


@app.command()
def release(
    major: Annotated[bool, typer.Option("--major", help="Release a major version (schema changes).")] = False,
    minor: Annotated[bool, typer.Option("--minor", help="Release a minor version (articles added or removed).")] = False,
    patch: Annotated[bool, typer.Option("--patch", help="Release a patch version (corrections only).")] = False,
    build_dir: Annotated[Optional[Path], typer.Option("--build", help="The current build (default: settings' out, 'dist/').", show_default=False)] = None,
    against: Annotated[Optional[str], typer.Option("--against", help="The last release: a folder or REPO_ID@REVISION (default: the settings' repo at v<current version>).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the entry without writing CHANGELOG.md.")] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    project: ProjectOption = None,
) -> None:
    """Diff the build against the last release, propose the version bump and write the CHANGELOG entry."""
    from dataset_tools.diff import diff_datasets
    from dataset_tools.release import make_release
    from dataset_tools.sources import open_dataset

    chosen = [name for name, flag in (("major", major), ("minor", minor), ("patch", patch)) if flag]
    if len(chosen) > 1:
        raise UsageError("give at most one of --major, --minor, --patch", hint="Leave them out to release the bump the changes call for.")
    settings = _settings(project)
    current = settings.version
    previous = against or f"{settings.repo_id}@v{current}"
    folder = Path(build_dir or settings.out)
    with open_dataset(previous) as old_folder, open_dataset(str(folder)) as new_folder:
        result = diff_datasets(old_folder, new_folder, old_label=previous, new_label=str(folder))
        made = make_release(settings.changelog, current, result, old_folder, new_folder, part=chosen[0] if chosen else None, write=not dry_run)
    if as_json:
        terminal.print_json(json.dumps({"previous": made.previous, "version": made.version, "part": made.part, "proposed": made.proposed, "entry": made.entry, "written": not dry_run}))
        return
    if made.proposed and made.part != made.proposed and not quiet:
        terminal.err_console.print(f"Note: the changes call for a {made.proposed} release; releasing {made.part} as asked.", highlight=False)
    terminal.out_console.print(made.entry, highlight=False, markup=False, soft_wrap=True)
    if quiet:
        return
    if dry_run:
        terminal.out_console.print(f"(dry run: CHANGELOG.md not written; v{made.version} would follow v{current})", highlight=False)
    else:
        terminal.out_console.print(f"Wrote v{made.version} to {terminal.shown_path(settings.changelog)}. Run `dataset-tools build` to stamp the build with it, then `dataset-tools publish`.", highlight=False, markup=False)


@app.command()
def publish(
    path: Annotated[Optional[Path], typer.Argument(help="The built dataset folder (default: settings' out, 'dist/').", show_default=False)] = None,
    repo: Annotated[Optional[str], typer.Option("--repo", help="Hub dataset repo id, namespace/name (default: settings' repo_id).", show_default=False)] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repo private (an existing repo keeps its visibility).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print which files would be added, changed and deleted; send no write request.")] = False,
    revision: Annotated[str, typer.Option("--revision", help="Branch to commit to (created from main when missing).")] = "main",
    token: Annotated[Optional[str], typer.Option("--token", help="Hub token (default: HF_TOKEN, then the saved `hf auth login`). Never printed.", show_default=False)] = None,
    verify_load: Annotated[bool, typer.Option("--verify-load", help="After publishing, load the tag with datasets.load_dataset and compare row counts.")] = False,
    allow_downgrade: Annotated[bool, typer.Option("--allow-downgrade", help="Publish even when the branch is at a later version (its latest v* tag): it moves back.")] = False,
    allow_other_dataset: Annotated[bool, typer.Option("--allow-other-dataset", help="Publish even when the branch holds another dataset (or files no build made): they are replaced.")] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    project: ProjectOption = None,
) -> None:
    """Validate the folder, commit it to the Hub in one commit and tag it v<version>, then verify the tag.

    Refuses to replace another dataset on the branch, or to move the branch back to an earlier
    version, unless told to. With --repo another than the one the build names, the card and
    croissant.json are rendered for that repo (the folder is left as it is)."""
    from dataset_tools.publish import publish_dataset
    from dataset_tools.release import release_notes
    from dataset_tools.schema import load_table_schema

    if token:
        terminal.SECRETS.add(token)
    settings = _settings(project)
    folder = Path(path or settings.out)
    version = settings.version
    from rich.markup import escape

    def notify(message: str) -> None:
        if not quiet:  # retries and what each step did: notes
            terminal.err_console.print(f"[yellow]Retry:[/yellow] {escape(message)}" if "retrying" in message else escape(message), highlight=False, soft_wrap=True)

    with terminal.client_bars_off(datasets_too=verify_load and not sys.stderr.isatty()), terminal.upload_bars(not as_json and not quiet) as progress:
        result = publish_dataset(
            folder,
            repo or settings.repo_id,
            load_table_schema(settings.schema),
            settings=settings,
            notes=release_notes(settings.changelog, version),
            expected_version=version,
            branch=revision,
            private=private,
            dry_run=dry_run,
            verify_load=verify_load,
            token=token,
            allow_downgrade=allow_downgrade,
            allow_other_dataset=allow_other_dataset,
            notify=notify,
            progress=progress,
        )
    if as_json:
        terminal.print_json(json.dumps(result.to_dict()))
    elif quiet:
        terminal.say(f"{result.tag} {result.status} on {result.repo_id}")  # what was asked: the version and where, in one line
    else:
        terminal.print_published(result)


def _json_requested(args: list[str]) -> bool:
    """Whether --json is among the command's options (so its errors are JSON too)."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)


_STANDALONE = False  # set by main(): this process runs one command and exits
_EXIT_NOW = False  # set by a command that leaves nothing to clean up: skip the interpreter's teardown


def _owns_process() -> bool:
    """Whether the command runs as its own process (the console script or `python -m`), not
    inside another program (a test's CliRunner, a notebook) whose process state it must not change."""
    return _STANDALONE


def main() -> None:
    """Console-script entry point: run the app and turn errors into one line plus a hint (or
    JSON, after --json) and an exit code: the error's own (2 for usage errors), 1 otherwise.

    Tokens never reach the output: messages and DATASET_TOOLS_DEBUG tracebacks go through `redact`."""
    global _STANDALONE
    _STANDALONE = True
    debug = os.environ.get("DATASET_TOOLS_DEBUG", "") not in ("", "0")
    as_json = _json_requested(sys.argv[1:])
    code: int = 0
    try:
        try:
            # Not standalone: click would print its usage errors its own way, and exit 1 on a closed pipe.
            returned = app(prog_name=PROG, standalone_mode=False)
            code = returned if isinstance(returned, int) else 0  # typer.Exit's code, --help's 0
        except _ClickException as exc:  # a usage error: bad or missing option or argument (exit 2)
            code = exc.exit_code
            if type(exc).__name__ == "NoArgsIsHelpError":  # `dataset-tools` alone: typer has shown the help
                text = exc.format_message()
                if text.strip():
                    print(text)
            else:
                command = exc.ctx.command_path if getattr(exc, "ctx", None) else PROG
                terminal.print_error(exc, debug, as_json, "UsageError", exc.format_message(), f"Run `{command} -h` for the usage.")
        except typer.Abort as exc:  # end of input at a prompt
            code = 1
            terminal.print_error(exc, debug, as_json, "Aborted", "aborted", None)
        except DatasetToolsError as exc:
            code = exc.exit_code
            terminal.print_error(exc, debug, as_json, type(exc).__name__, str(exc), exc.hint)
        except terminal.ClosedPipe:
            raise
        except Exception as exc:  # a bug or a broken environment: still one line unless debugging
            code = 1
            terminal.print_error(exc, debug, as_json, "UnexpectedError", f"unexpected {type(exc).__name__}: {exc}", "set DATASET_TOOLS_DEBUG=1 for the traceback and report it as a bug.")
    except terminal.ClosedPipe:
        code = _closed_pipe()
    if _EXIT_NOW:
        from dataset_tools.runtime import exit_now

        exit_now(code)
    sys.exit(code)


def _closed_pipe() -> int:
    """The exit code after stdout's reader went away: 141 (128 + SIGPIPE), what a shell reports
    for `cat` or `git log` killed by SIGPIPE in `... | head -1`. stdout now writes to /dev/null,
    so that the interpreter's last flush at exit has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141
