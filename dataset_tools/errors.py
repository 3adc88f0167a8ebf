"""Every error the library raises. Bad input is never one of them: it becomes a `Reject`.

Each class inherits a builtin (so `except FileNotFoundError` catches a missing folder) and
carries the fields its message is made of. The CLI prints any of them the same way, in one
place: `str(error)` on one line, then its `hint` (or, after --json, both in one JSON object
whose `type` is the class name), and exits with its `exit_code` (2 for usage errors, 1 for a
job that failed); a traceback only when DATASET_TOOLS_DEBUG=1.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class DatasetToolsError(Exception):
    """Something went wrong in dataset-tools."""

    hint: str | None = None
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class UsageError(DatasetToolsError):
    """The command was given something it cannot use: a bad option, a missing folder or setting."""

    exit_code = 2


class ConfigError(UsageError, ValueError):
    """The project settings ([tool.dataset-tools] in pyproject.toml) or CHANGELOG.md are invalid."""

    hint = "Check the [tool.dataset-tools] table in pyproject.toml and the top heading of CHANGELOG.md."


class ProjectNotFound(ConfigError, FileNotFoundError):
    """No pyproject.toml with a [tool.dataset-tools] table in `start` or its parents."""

    hint = "Run `dataset-tools init` to start a dataset project here, or run inside one, or pass --project DIR."

    def __init__(self, start: Path) -> None:
        self.start = start
        super().__init__(f"no pyproject.toml with a [tool.dataset-tools] table in {start} or its parents")


class MissingSettings(ConfigError):
    """Required settings are absent from [tool.dataset-tools]; `keys` names all of them."""

    def __init__(self, keys: Iterable[str], path: Path) -> None:
        self.keys, self.path = tuple(keys), path
        super().__init__(
            f"missing setting(s) in [tool.dataset-tools] of {path}: {', '.join(self.keys)}",
            hint="Add them to the table; `dataset-tools init` writes a complete one in a new folder.",
        )


class ProjectExists(UsageError, FileExistsError):
    """`init` would overwrite files of an existing project; `paths` names them."""

    def __init__(self, folder: Path, paths: Iterable[str]) -> None:
        self.folder, self.paths = folder, tuple(paths)
        super().__init__(
            f"{folder} already has {', '.join(self.paths)}: init would overwrite {'it' if len(self.paths) == 1 else 'them'}",
            hint="Run `dataset-tools init` in a new folder, or pass --force to overwrite these files.",
        )


class SchemaError(UsageError, ValueError):
    """The table schema file `path` is invalid or uses a type the tool cannot map to Arrow."""

    def __init__(self, message: str, *, path: Path, hint: str | None = None) -> None:
        self.path = path
        super().__init__(message, hint=hint or f"Fix {path}; `frictionless validate --type schema {path}` checks it.")


class SchemaNotFound(SchemaError, FileNotFoundError):
    """The table schema file `path` does not exist."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"schema file {path} not found",
            path=path,
            hint=f"Check the path {path} (from --schema or the `schema` setting in pyproject.toml).",
        )


class InputNotFound(UsageError, FileNotFoundError):
    """A raw folder, a built dataset folder or a Hub revision does not exist; `path` names it."""

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class UnknownEngine(UsageError, ValueError):
    """`--engine` names no engine this tool has."""

    def __init__(self, name: str, choices: Iterable[str]) -> None:
        self.name, self.choices = name, tuple(choices)
        super().__init__(f"unknown engine {name!r}", hint=f"Use one of: {', '.join(self.choices)}.")


class EngineUnavailable(DatasetToolsError, ImportError):
    """The chosen execution engine cannot be used in this environment."""

    def __init__(self, engine: str, reason: str, *, extra: str | None = None) -> None:
        self.engine, self.reason, self.extra = engine, reason, extra
        hint = f"Install the '{extra}' extra's packages: pip install {_requirements_of(extra)}" if extra else None
        super().__init__(f"the {engine} engine cannot be used: {reason}", hint=hint)


def _requirements_of(extra: str) -> str:
    """The packages dataset-tools' `extra` adds, quoted for a shell (not `dataset-tools[extra]`:
    on PyPI that name is another project's)."""
    import re
    import shlex
    from importlib import metadata

    try:
        requires = metadata.requires("dataset-tools") or []
    except metadata.PackageNotFoundError:
        requires = []
    marker = re.compile(rf"""\s*;\s*extra\s*==\s*["']{re.escape(extra)}["']\s*$""")
    found = [marker.sub("", r) for r in requires if marker.search(r)]
    return " ".join(shlex.quote(r) for r in found) or f"-e '.[{extra}]' (in a checkout of dataset-tools)"


class CacheBusy(DatasetToolsError, RuntimeError):
    """Another build is using the same cache folder."""

    hint = "Wait for the other build to finish, or pass --cache DIR / --no-cache."

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        super().__init__(f"the build cache {folder} is in use by another build")


class BuildFailed(DatasetToolsError, RuntimeError):
    """The build could not write a complete dataset; the previous output was left untouched."""


class NothingToBuild(BuildFailed):
    """The build would make a dataset without rows: the raw folder `raw` holds no file, or every
    one of its `inputs` files was rejected (`rejects_by_reason`). The previous output is untouched."""

    def __init__(self, raw: str, inputs: int, rejects_by_reason: dict[str, int]) -> None:
        self.raw, self.inputs, self.rejects_by_reason = raw, inputs, dict(rejects_by_reason)
        if not inputs:
            message = f"the raw folder {raw} has no files: nothing to build"
            hint = "Put the collected pages (one text file per article) in it, or pass --raw DIR. The previous output is unchanged."
        else:
            reasons = ", ".join(f"{reason}: {count}" for reason, count in sorted(self.rejects_by_reason.items()))
            message = f"no rows: all {inputs} input file(s) in {raw} were rejected ({reasons})"
            hint = "Check that the files are collected pages in the collector layout. The previous output is unchanged."
        super().__init__(message, hint=hint)


class StrictModeFailure(DatasetToolsError):
    """--strict was given and the build rejected at least one input."""

    hint = "See report.json in the build folder for each reject and its reason."

    def __init__(self, rejected: int) -> None:
        self.rejected = rejected
        super().__init__(f"{rejected} input(s) rejected and --strict was given")

# -- a folder or revision we did not write (validate, publish) ---------------------------------
# Their messages name the file and what is wrong with it, never the content of a file that is
# not ours: an untrusted path or URL is shown through `shown`, cut short and with its control
# characters escaped, so a crafted name cannot fill or rewrite the terminal.


def shown(text: object, limit: int = 80) -> str:
    """`text` as a quoted, escaped string of at most about `limit` characters."""
    quoted = repr(str(text))
    return quoted if len(quoted) <= limit else quoted[: limit - 4] + "...'"


def plain(name: str) -> str:
    """A file name as it is when it prints as itself, else as `shown` gives it."""
    return name if name.isprintable() and len(name) <= 200 else shown(name, 200)


class UnsafePath(DatasetToolsError, ValueError):
    """A path named inside the folder is not a plain relative path that stays inside it."""

    def __init__(self, path: object, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"{shown(path)} {reason}")


class NotRegularFile(DatasetToolsError, OSError):
    """An entry of the folder is a symbolic link, FIFO, socket, device or unreadable folder: never opened."""

    def __init__(self, path: str, kind: str) -> None:
        self.path, self.kind = path, kind
        super().__init__(f"{plain(path)} is a {kind}, not a regular file: it is not opened")


class FileTooLarge(DatasetToolsError, ValueError):
    """A metadata file is larger than validate reads."""

    def __init__(self, path: str, limit: int) -> None:
        self.path, self.limit = path, limit
        super().__init__(f"{path} is larger than {limit} bytes: not read")


class JsonTooDeep(DatasetToolsError, ValueError):
    """A JSON document nests arrays or objects deeper than validate follows."""

    def __init__(self, path: str, limit: int) -> None:
        self.path, self.limit = path, limit
        super().__init__(f"{path} nests arrays or objects more than {limit} levels deep: not read")


class ParquetTooLarge(DatasetToolsError, ValueError):
    """A Parquet file would take more memory once decompressed or decoded than validate allows
    (a compression or dictionary bomb); it is not read."""

    def __init__(self, path: str, part: str, size: int, limit: int, unit: str = "bytes") -> None:
        self.path, self.part, self.size, self.limit, self.unit = path, part, size, limit, unit
        super().__init__(f"{path}: {part} holds {size} {unit} once read, more than the {limit} allowed: not read")


class ExternalReference(DatasetToolsError, ValueError):
    """A metadata file refers to something outside the folder (a profile, a JSON-LD context, a URL); it is not fetched."""

    def __init__(self, path: str, where: str, reference: object) -> None:
        self.path, self.where, self.reference = path, where, reference
        super().__init__(f"{path}: {where} {shown(reference)} is outside the folder: not fetched")


class UnlistedFiles(DatasetToolsError, ValueError):
    """The folder holds files that manifest.json does not list, or links and special files; nothing is sent."""

    hint = "Remove them from the folder, or rebuild it with `dataset-tools build`: publish sends only what manifest.json lists."

    def __init__(self, folder: object, entries: list[tuple[str, str]]) -> None:
        self.folder, self.entries = folder, entries
        named = ", ".join(plain(path) + (f" ({kind})" if kind else "") for path, kind in entries[:10])
        more = f" and {len(entries) - 10} more" if len(entries) > 10 else ""
        super().__init__(f"{folder} holds {len(entries)} file(s) that publish does not send: {named}{more}; "
                         "nothing was sent to the Hub")


# -- release, the Hub: publish and downloads ---------------------------------------------------


class NothingToRelease(DatasetToolsError, ValueError):
    """The build does not differ from the last release."""

    hint = "Change raw/ and rebuild, or pass --major/--minor/--patch to release anyway."

    def __init__(self, version: str) -> None:
        self.version = version
        super().__init__(f"the build has no changes since v{version}")


class HubDownloadFailed(DatasetToolsError, ConnectionError):
    """The dataset revision could not be downloaded from the Hub."""


class PublishError(DatasetToolsError):
    """The dataset could not be published."""


class NotValid(PublishError, ValueError):
    """The folder does not validate; nothing was sent to the Hub."""

    hint = "Run `dataset-tools validate` for the full report, fix the cause and rebuild with `dataset-tools build`."


class VersionMismatch(PublishError, ValueError):
    """The folder was built for another version than the one CHANGELOG.md names."""

    hint = "Run `dataset-tools build` so the folder carries the version of CHANGELOG.md, then publish."

    def __init__(self, folder: object, built: str, expected: str) -> None:
        self.folder, self.built, self.expected = folder, built, expected
        super().__init__(f"{folder} was built as v{built} but CHANGELOG.md's top release is v{expected}")


class TagConflict(PublishError, FileExistsError):
    """The version's tag is already on the Hub with other content; a published version never changes."""

    hint = "Release a new version (`dataset-tools release`, then `dataset-tools build`) and publish that."

    def __init__(self, tag: str, repo_id: str, folder: object, difference: str) -> None:
        self.tag, self.repo_id, self.folder, self.difference = tag, repo_id, folder, difference
        super().__init__(f"{tag} is already on the Hub ({repo_id}) with other content: {difference} compared with {folder}")


class HubAuthError(PublishError, PermissionError):
    """The Hub refused the token, or there is none."""

    hint = "Pass --token, set HF_TOKEN, or log in with `hf auth login`; publishing needs a token with write access."


class PublishFailed(PublishError, ConnectionError):
    """The publish stopped part way; the message says what state the repo is in."""

    hint = "Run the same command again to resume: files already on the Hub are not uploaded again."


class VerifyFailed(PublishError, RuntimeError):
    """What the Hub serves at the tag differs from the folder's manifest."""


class HubUnreachable(PublishError, ConnectionError):
    """The first request to the Hub found nobody there (connection refused, unknown host); nothing was sent."""

    hint = "Check HF_ENDPOINT (unset it for huggingface.co) and the network, then run the same command again."

    def __init__(self, endpoint: str, reason: str) -> None:
        self.endpoint, self.reason = endpoint, reason
        super().__init__(f"cannot reach the Hub at {endpoint}: {reason}; nothing was sent")


class VersionDowngrade(PublishError, ValueError):
    """Publishing would move the branch back to an earlier version than the one it is at."""

    def __init__(self, repo_id: str, branch: str, version: str, latest: str) -> None:
        self.repo_id, self.branch, self.version, self.latest = repo_id, branch, version, latest
        super().__init__(f"{branch} of {repo_id} is at {latest}, a later version than v{version}: publishing would "
                         "move it back; nothing was sent",
                         hint=f"Publish a version after {latest} (`dataset-tools release`, then `dataset-tools build`), "
                              f"or pass --allow-downgrade to move {branch} back on purpose.")


class OtherDataset(PublishError, ValueError):
    """The branch holds another dataset than the folder's; publishing would replace it."""

    def __init__(self, repo_id: str, branch: str, ours: str, theirs: str) -> None:
        self.repo_id, self.branch, self.ours, self.theirs = repo_id, branch, ours, theirs
        super().__init__(f"{branch} of {repo_id} holds {theirs}, not the dataset {ours!r}: publishing would replace "
                         "it; nothing was sent",
                         hint="Check --repo (or repo_id in pyproject.toml); pass --allow-other-dataset to replace it "
                              "on purpose.")


class RepoMismatch(PublishError, ValueError):
    """The folder's card names another repo than the one it is published to, and cannot be rendered for it here."""

    def __init__(self, folder: object, built: str, target: str) -> None:
        self.folder, self.built, self.target = folder, built, target
        super().__init__(f"{folder} was built for {built}: its card, croissant.json and citation name it, not "
                         f"{target}; nothing was sent",
                         hint=f'Set repo_id = "{target}" in pyproject.toml and run `dataset-tools build`, or publish '
                              "with the project's settings (as `dataset-tools publish --repo` does), which render the "
                              "card for the repo.")


class CardOutOfDate(PublishError, ValueError):
    """The folder's card files are not what the project renders now, so they cannot be rendered for another repo alone."""

    hint = "Run `dataset-tools card` (or `dataset-tools build`) to render the card from the settings and CHANGELOG.md, then publish again."

    def __init__(self, folder: object, files: list[str], built: str, target: str) -> None:
        self.folder, self.files, self.built, self.target = folder, files, built, target
        super().__init__(f"{folder}: {', '.join(files)} differ from what the project renders now for {built}, so they "
                         f"cannot be rendered for {target} with only the repo changed; nothing was sent")


class ClosedPipe(Exception):
    """The reader of the command's stdout went away (`dataset-tools diff A B | head -1`): the
    command stops without a word. Not an OSError, so that click (which would exit 1) lets it
    through to the CLI's `main`."""


class NotARegularFile(OSError):
    """A raw path that is not a regular file inside the raw folder when it is opened (it
    changed since the listing); `code` is the listing's code for what it is. The build makes it
    a reject, never an error of the build."""

    def __init__(self, code: int) -> None:
        super().__init__(f"not a regular file inside the raw folder (listing code {code})")
        self.code = code


class UndecodableText(ValueError):
    """A raw file's bytes are not text this project accepts; `str(exc)` is the reject detail.
    Raised and caught within a reader: it becomes a `Reject`."""
