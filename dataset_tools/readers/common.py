"""What every reader needs: decoding raw bytes, spotting non-text files, URL identity, language.

Shared here so that future layouts (saved HTML pages, JSONL exports) reuse the same rules.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from itertools import islice
from urllib.parse import urlsplit, urlunsplit

from dataset_tools.errors import UndecodableText

# Signatures of binary formats that sometimes land in a scrape folder under a .txt name.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"RIFF", "RIFF (WebP/WAV) file"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"\x28\xb5\x2f\xfd", "zstd archive"),
    (b"PAR1", "Parquet file"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x7fELF", "ELF executable"),
)
# The same signatures by their first byte: a text file's first byte rules them all out in one look-up.
_SIGNATURES_BY_FIRST_BYTE: dict[bytes, tuple[tuple[bytes, str], ...]] = {
    first: tuple(entry for entry in _BINARY_SIGNATURES if entry[0][:1] == first)
    for first in {signature[:1] for signature, _ in _BINARY_SIGNATURES}
}
_UTF8_BOM = b"\xef\xbb\xbf"
# A valid multi-byte UTF-8 sequence: its presence means the file was written as UTF-8.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


# A host name: letters, digits, dots and hyphens, starting and ending with a letter or digit. (The
# pattern once spelled this as `[a-z0-9](?:[a-z0-9\-]{0,62}\.?)*[a-z0-9]|[a-z0-9]`, which accepts
# the same names but backtracks exponentially on a long label ending in "-"; this form is linear.)
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?")


def sniff_binary(data: bytes) -> str | None:
    """Name of the binary format `data` starts with, or None when it looks like text."""
    for signature, name in _SIGNATURES_BY_FIRST_BYTE.get(data[:1], ()):
        if data.startswith(signature):
            return name
    nul = data.find(b"\x00")  # anywhere: a NUL is never text (a search at memory speed)
    if nul != -1:
        return f"binary data (NUL byte at offset {nul})"
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a raw file to text; returns (text, encoding name).

    UTF-8 (with or without a BOM) is the norm. A file with no valid UTF-8 multi-byte sequence
    at all may be a legacy single-byte encoding: it is accepted only when charset detection
    names Windows-1251 and the result is Cyrillic text. A UTF-8 file with damaged bytes is never
    re-read as another code page.

    Raises:
        UndecodableText: with the specific reason ("invalid UTF-8 at byte N ...").
    """
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
        offset = len(_UTF8_BOM)
    else:
        offset = 0
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        position = exc.start + offset
        # UTF-8 with a few damaged bytes still holds far more valid multi-byte sequences than
        # broken ones; a legacy single-byte file holds almost none (a Windows-1251 capital
        # followed by a quote mark can form one by chance).
        if offset == 0:
            broken = data.decode("utf-8", errors="replace").count("\ufffd")
            valid = sum(1 for _ in _UTF8_MULTIBYTE.finditer(data))
            if valid * 10 < broken:
                legacy = _decode_legacy_cyrillic(data)
                if legacy is not None:
                    return legacy, "windows-1251"
        raise UndecodableText(f"invalid UTF-8 at byte {position}") from None


def _decode_legacy_cyrillic(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["cp1251", "cp1252", "latin_1", "koi8_r", "iso8859_5"]).best()
    if best is None or best.encoding not in {"cp1251", "windows_1251"}:
        return None
    text = str(best)
    letters = [c for c in text if c.isalpha()]
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    return text if letters and cyrillic / len(letters) > 0.3 else None


def sniff_other_format(text: str, first_line: str) -> str | None:
    """What other text format the file is (a JSON document, JSON lines, an HTML or XML page, a
    CSV table), or None. Only files whose first line opens such a document are parsed to find out."""
    head = first_line[:1]
    if head in "{[":
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            return "a JSON document"
        try:
            json.loads(first_line)
        except ValueError:
            return None
        return "a JSON lines export"
    # A URL (the usual first line) holds a ":", which no column name does.
    if ":" not in first_line and len(first_line) <= _TABLE_HEADER_MAX and _is_table_header(first_line, text):
        return "a table export (CSV): its first line is a header row"
    lowered = first_line[:15].lower()
    if lowered.startswith(("<!doctype html", "<html")):
        return "an HTML page"
    if lowered.startswith("<?xml"):
        return "an XML document"
    return None


# A column name in a table export's header row: an identifier such as `url` or `published_at`.
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,40}")
_TABLE_HEADER_MAX = 2000


def _is_table_header(first_line: str, text: str) -> bool:
    """Whether the first line is a CSV/TSV header row: two or more column names and one
    delimiter between each, with a second line holding at least as many delimiters (the
    first row). Titles hold spaces, so a title with a comma is no header row."""
    for delimiter in ",;\t":
        names = first_line.split(delimiter)
        if len(names) < 2 or not all(_COLUMN_NAME.fullmatch(name.strip()) for name in names):
            continue
        start = text.find("\n", text.find(first_line) + len(first_line))
        if start == -1:
            return False
        end = text.find("\n", start + 1)
        second = text[start + 1 : end if end != -1 else len(text)]
        return second.count(delimiter) >= len(names) - 1
    return False


def normalize_url(url: str) -> str:
    """The URL as used for identity: scheme and host lower-cased, fragment dropped."""
    return _split_url(url)[1]


def article_id(url: str) -> str:
    """First 16 hex digits of the SHA-256 of the normalized URL."""
    return hashlib.sha256(normalize_url(url).encode("utf-8")).hexdigest()[:16]


def url_identity(url: str) -> tuple[str, str]:
    """(domain, `article_id(url)`) from one split of the URL; ("", "") when the URL has no valid
    host name (and so no identity). The domain is the host, lower-cased, without a leading
    'www.', internationalized names in their ASCII (punycode) form."""
    try:
        host, normalized = _split_url(url)
    except ValueError:
        return "", ""
    domain = _domain_of(host)
    if not domain:
        return "", ""
    return domain, hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:16]


def _domain_of(host: str | None) -> str:
    host = (host or "").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    if not _HOST.fullmatch(host):
        return ""
    return host[4:] if host.startswith("www.") else host


# A URL whose host is plain ASCII letters, digits, dots and hyphens: `scheme://host[/path][?query][#fragment]`.
# The scheme and the host stop at the first character outside their classes, and the path, query
# and fragment at the first "?" or "#", exactly where `urlsplit` cuts them. Anchored, one pass.
_PLAIN_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([A-Za-z0-9.\-]+)(/[^?#]*)?(?:\?([^#]*))?(?:#.*)?")


def _split_url(url: str) -> tuple[str | None, str]:
    """(hostname, normalized URL): `urlsplit(url.strip())`'s hostname, and the URL put together
    again by `urlunsplit` with the scheme and netloc lower-cased, without the fragment.

    Most URLs have the plain shape `_PLAIN_URL` describes; with no whitespace (`isprintable`
    rules out every whitespace character but the space) there is nothing for `urlsplit` to strip
    or remove, and such a URL splits by that pattern into the same parts. Its host holds no "@",
    ":", "[" or "%", so the hostname is the netloc lower-cased; with a netloc and a path that is
    empty or starts with "/", `urlunsplit` gives "scheme://netloc" + path + ("?" + query if
    there is a query). Any other URL goes through `urlsplit`, which may raise ValueError.
    """
    if url.isprintable() and " " not in url:
        match = _PLAIN_URL.fullmatch(url)
        if match is not None:
            scheme, netloc, path, query = match.groups()
            host = netloc.lower()
            normalized = f"{scheme.lower()}://{host}{path or ''}"
            return host, f"{normalized}?{query}" if query else normalized
    parts = urlsplit(url.strip())
    return parts.hostname, urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


_INVISIBLE = "\u200b\u200e\u200f\ufeff"


def clean_lines(text: str) -> list[str]:
    """The non-empty lines of `text`, each as `clean_line` gives it.

    Only CR, LF and CRLF end lines: str.splitlines() would also split on U+2028, U+0085 and
    form feeds, which can sit inside a paragraph.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Checked once for the whole text rather than per line. A text that is NFC as a whole has
    # NFC lines: a line break is a boundary normalization never crosses, and stripping only
    # removes characters that compose with nothing. Without invisible marks, a plain strip is
    # all `clean_line` would do.
    if _is_nfc(text) and not _has_invisible_mark(text):
        return list(filter(None, map(str.strip, text.split("\n"))))  # the non-empty stripped lines
    return [line for line in map(clean_line, text.split("\n")) if line]


def _has_invisible_mark(text: str) -> bool:
    # One search per mark, without a generator to drive them (the marks are _INVISIBLE's).
    return "\u200b" in text or "\u200e" in text or "\u200f" in text or "\ufeff" in text


_NUKTA = "\u093c"  # DEVANAGARI SIGN NUKTA


def _is_nfc(text: str) -> bool:
    if text.isascii():
        return True
    # Latin-1 characters are all starters that compose with nothing, so a text of them is NFC;
    # encoding to Latin-1 tells so faster than the general check (and fails at the first
    # character beyond it).
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    else:
        return True
    if _NUKTA not in text:
        return unicodedata.is_normalized("NFC", text)
    # Devanagari's nukta can compose with the consonant before it, so `is_normalized`'s quick
    # check cannot decide a text holding one and normalizes it in full to compare: Hindi text,
    # which holds nuktas in many common words, took ten times as long as other scripts. A
    # space is a character nothing composes with, on either side, and that normalization never
    # reorders: the text is NFC exactly when each stretch between spaces is. So the stretches
    # around each nukta (from the space before it to the space after it) are checked on their
    # own, and the rest of the text, now without a nukta, in one quick check.
    rest: list[str] = []
    done = 0  # the text before this is checked (or set aside in `rest`); it ends at a space or the start
    at = text.find(_NUKTA)
    while at != -1:
        begin = max(text.rfind(" ", done, at), done)
        end = text.find(" ", at)
        if end == -1:
            end = len(text)
        if not unicodedata.is_normalized("NFC", text[begin:end]):
            return False
        rest.append(text[done:begin])
        done = end
        at = text.find(_NUKTA, end)
    rest.append(text[done:])
    return unicodedata.is_normalized("NFC", "".join(rest))


def clean_line(line: str) -> str:
    """A line with surrounding whitespace (including NBSP and zero-width marks) removed, NFC-normalized."""
    line = line.strip()
    if line and (line[0] in _INVISIBLE or line[-1] in _INVISIBLE):
        line = line.strip(_INVISIBLE).strip()
    return line if line.isascii() or unicodedata.is_normalized("NFC", line) else unicodedata.normalize("NFC", line)


# CLD2 (Chrome's compact language detector, through pycld2) ships its tables compiled into the
# extension: nothing is loaded or downloaded at run time, the pages are shared by every process,
# and it classifies a news paragraph in tens of microseconds (py3langid, tried first, walked
# every byte in Python and took ten times longer for the same answers).
_SAMPLE_BYTES = 2000
_LETTER_WINDOW = 4000
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")


def warm_up() -> None:
    """Import the language detector now, so forked parser workers share it."""
    import pycld2  # noqa: F401


def detect_language(text: str, *, min_chars: int = 40, min_confidence: int = 50) -> str | None:
    """ISO 639-1 code of `text`'s language, or None when the text is too short or unclear.

    "Too short" is fewer than `min_chars` letters in the first 4000 characters. The detector
    reads the first ~2000 bytes (cut at a character boundary) and must call its answer
    reliable, with at least `min_confidence` percent of the text in that language.
    """
    # Stops at the min_chars-th letter instead of counting them all.
    letters = filter(str.isalpha, islice(text, _LETTER_WINDOW))
    if next(islice(letters, min_chars - 1, None), None) is None:
        return None
    import pycld2

    # No character takes less than a byte: the first _SAMPLE_BYTES characters hold the first
    # _SAMPLE_BYTES bytes, and the rest of the text need not be encoded.
    sample = text[:_SAMPLE_BYTES].encode("utf-8")[:_SAMPLE_BYTES].decode("utf-8", "ignore")
    try:
        reliable, _, details = pycld2.detect(sample, isPlainText=True)
    except pycld2.error:
        return None
    _name, code, percent, _score = details[0]
    if not reliable or percent < min_confidence:
        return None
    code = code.split("-")[0].lower()
    return code if _LANGUAGE_CODE.fullmatch(code) else None
