"""The command's output: stdout and stderr through rich (imported on first use), JSON for
scripts, progress bars on a terminal only, errors as one line plus a hint, and every message
passed through `redact` so that no token reaches the output."""

from __future__ import annotations

import json
import os
import re
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

from dataset_tools.errors import ClosedPipe
from dataset_tools.fileio import human_size


class Console:
    """A rich Console made on first use: rich's import is 40 ms of every command's start-up,
    and a command that prints JSON to a pipe (`print_json`) or nothing needs none of it."""

    def __init__(self, **options) -> None:
        self._options = options
        self._console = None

    def get(self):
        if self._console is None:
            from rich.console import Console

            class _PipeConsole(Console):
                def on_broken_pipe(self) -> None:  # rich's own exits 1
                    raise ClosedPipe()

            self._console = _PipeConsole(**self._options)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.get(), name)


out_console = Console()
err_console = Console(stderr=True)


def print_json(text: str) -> None:
    """Print a JSON document on stdout, indented (and coloured on a terminal, by rich): to a
    pipe, the bytes rich would print, without importing it."""
    if sys.stdout.isatty():
        out_console.print_json(text)
        return
    try:
        sys.stdout.write(json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        raise ClosedPipe() from None


def say(text: str) -> None:
    """Print plain text on stdout: no markup, no highlighting, no wrapping."""
    out_console.print(text, highlight=False, markup=False, soft_wrap=True)


def warn(text: str) -> None:
    """Print one line on stderr, "Warning: ...": something the user must act on, the command done."""
    err_console.print(f"Warning: {text}", highlight=False, markup=False, soft_wrap=True)


@contextmanager
def progress(enabled: bool):
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


@contextmanager
def client_bars_off(datasets_too: bool):
    """huggingface_hub's own progress bars off while the command runs (publish draws its own on a
    terminal; in a pipe they are noise like `Upload 0 LFS files: 0it`), and datasets' too when
    asked; each is turned back on after, so a program calling the command keeps its settings.
    HF_HUB_DISABLE_PROGRESS_BARS=0 (or HF_DATASETS_...=0) set by the user still wins."""
    import warnings

    from huggingface_hub.utils import disable_progress_bars

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "cannot disable progress bars": the user's variable wins
        hub_bars = disable_progress_bars()
        if datasets_too:
            import datasets

            datasets_were_on = datasets.is_progress_bar_enabled()
            datasets.disable_progress_bars()
    try:
        with hub_bars:
            yield
    finally:
        if datasets_too and datasets_were_on:
            datasets.enable_progress_bars()


# At most this many finished uploads keep their bar on screen, so the ones in flight stay visible.
FINISHED_BARS = 8


@contextmanager
def upload_bars(enabled: bool):
    """One progress bar per file uploaded, on stderr when it is a terminal: yields the
    `progress(path, sent, size)` callback for publish_dataset, or None (no bars) elsewhere."""
    if not enabled or not sys.stderr.isatty() or not err_console.is_terminal:
        yield None
        return
    import threading

    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=err_console.get(), transient=True) as bars:
        tasks: dict[str, int] = {}
        finished: list[int] = []
        lock = threading.Lock()  # called from the client's upload threads

        def progress(path: str, sent: int, size: int) -> None:
            with lock:
                if path not in tasks:
                    tasks[path] = bars.add_task(f"Uploading {path}", total=size)
                bars.update(tasks[path], completed=sent)
                if sent >= size and tasks[path] not in finished:
                    finished.append(tasks[path])
                    if len(finished) > FINISHED_BARS:
                        bars.remove_task(finished.pop(0))

        yield progress


def print_published(result) -> None:
    """What `publish` did (or, with --dry-run, would do), on stdout."""
    plan, counts = result.plan, result.plan.counts()

    def say(text: str) -> None:
        out_console.print(text, highlight=False, markup=False, soft_wrap=True)

    sent = f"{counts['files_sent']} file(s) ({human_size(counts['bytes_sent'])})"
    kept = f"{counts['files_unchanged']} file(s) unchanged ({human_size(counts['bytes_unchanged'])})"
    if result.status == "already-published":
        say(f"{result.tag} is already published on {result.repo_id} with exactly these files (commit {result.commit[:8]}): nothing to do.")
    elif result.status == "dry-run":
        target = f"{result.repo_id} (branch {result.branch})" if result.repo_exists else f"{result.repo_id} (a new repo)"
        say(f"Dry run: publishing {result.tag} to {target} would")
        for label, paths in (("add", plan.added), ("change", plan.changed), ("delete", plan.deleted)):
            for item in paths:
                say(f"  {label:7} {item}")
        say(f"Would send {sent}, leave {kept} and delete {counts['files_deleted']} file(s), then tag {result.tag}.")
        if result.rendered:
            say(f"{' and '.join(result.rendered)} would be rendered for {result.repo_id}; the folder is left as it is.")
        say("Nothing was sent to the Hub.")
        return
    else:
        if result.status == "tagged":
            say(f"Published {result.tag} to {result.repo_id}: {result.branch} already held these files; tagged {result.commit[:8]}.")
        else:
            say(f"Published {result.tag} to {result.repo_id}: commit {result.commit[:8]} on {result.branch}, tag {result.tag}.")
        say(f"Files: {len(plan.added)} added, {len(plan.changed)} changed, {len(plan.deleted)} deleted, {len(plan.unchanged)} unchanged.")
        say(f"Sent {sent}; {kept}, not sent; {counts['files_deleted']} file(s) deleted.")
        if result.rendered:
            say(f"{' and '.join(result.rendered)} were rendered for {result.repo_id}; the folder is left as it is.")
        checked = f"Verified {result.verified_files} file(s) at {result.tag} against manifest.json"
        say(checked + (f"; load_dataset returned {result.loaded_rows} rows." if result.loaded_rows is not None else "."))
    say(f"Dataset: {result.url}")
    say(f"Load this version: from datasets import load_dataset; ds = {result.load_line}")


def shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Secrets to keep out of every message: a --token value is added when parsed; the environment's
# and the saved login's are found when an error is printed.
SECRETS: set[str] = set()
SECRET_PATTERNS = re.compile(r"(?i)(bearer\s+)[^\s'\"]+|\bhf_[A-Za-z0-9]{20,}")


def redact(text: str) -> str:
    """`text` with every known token and anything shaped like one replaced by ***."""
    secrets = set(SECRETS)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if os.environ.get(name):
            secrets.add(os.environ[name])
    secrets.update(saved_tokens())
    for secret in sorted((s.strip() for s in secrets if s and len(s.strip()) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return SECRET_PATTERNS.sub(lambda m: (m.group(1) or "") + "***", text)


def saved_tokens() -> set[str]:
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


def print_error(exc: BaseException, debug: bool, as_json: bool, kind: str, message: str, hint: str | None) -> None:
    """An error as one line plus a hint on stderr, or as {"error": {type, message, hint}} on
    stdout when the command was given --json; with `debug`, the traceback first (on stderr)."""
    if debug:
        trace = "".join(traceback.format_exception(exc))
        err_console.print(redact(trace), highlight=False, markup=False, soft_wrap=True, end="")
    if as_json:
        print_json(json.dumps({"error": {"type": kind, "message": redact(message), "hint": redact(hint) if hint else None}}))
        return
    from rich.markup import escape

    err_console.print(f"[red]Error:[/red] {escape(redact(message))}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"[dim]Hint:[/dim] {escape(redact(hint))}", highlight=False, soft_wrap=True)
