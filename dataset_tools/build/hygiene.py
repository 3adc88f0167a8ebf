"""Row hygiene: what the build removes from every reader's articles, before the row checks.

In: an `Article` as a reader made it. Out: the article cleaned, and what was removed (a
`Cleaned`, None when nothing was), which the file table keeps and report.json counts:

- control characters: the C0 controls but tab and newline, DEL, the C1 controls, and the
  bidirectional overrides U+202D and U+202E (they make text display in another order than it
  is stored), from every text field; from the URL fields, every bidirectional formatting
  character too (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which no URL holds
  unencoded. The body's `word_count` is counted again when its body changed;
- URL user-info (`https://user:password@host/...`): removed from `url`, `image_url` and
  `related_urls`;
- secret-looking query parameters (`token=`, `access_token=`, `api_key=`, `password=`,
  `X-Amz-Signature=`, `sig=`, ...: see `is_secret_parameter`): removed, name and value, from the
  same URLs; report.json names them (never their values).

When `url` changes, the article's id is computed again from the cleaned URL (the id is the URL's
identity), so the same page collected with and without a token is one article. A pure function
of the article: clean, incremental and dask builds give the same bytes.

Nearly every article has nothing to remove, and this runs once per raw file: the map task hands
over its articles a batch at a time (`clean_articles`), with their record batch, whose text
and URL columns' bytes are checked at once with numpy (a control character is a byte below
0x20 but tab and newline, 0x7f, C2 80-9F or E2 80 AD/AE in UTF-8; a URL may need work if it
holds "@", "?" or a byte that is not printable ASCII); only where that finds something are the
batch's articles checked one by one (`_clean` first: a quick look that tells most of them
apart). Measured over the 20,000-article bench corpus (many scripts), per article: a search per
field took 16 us (about 12% of the map's time per file); `_clean` alone 5 us; this 1.8 us.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from urllib.parse import unquote

import numpy as np
import pyarrow as pa

from dataset_tools.readers.common import url_identity
from dataset_tools.records import Article

_TEXT_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202d\u202e]")
_URL_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The text fields; a list field's items are cleaned one by one.
_LINES = ("title", "description", "section", "publisher", "tags", "keywords")  # one line each
_URLS = ("url", "image_url", "related_urls")

# The words a query parameter's name ends with when it carries a credential (the name is read
# lower-cased, percent-decoded, with "-" and "." as "_"): `token`, `access_token`,
# `x_amz_security_token`, `x_amz_signature`, `client_secret`... A bare `key` is not one (it
# often selects the article); `api_key`, `access_key`, `secret_key` are.
_SECRET_ENDINGS = frozenset(
    {"token", "secret", "password", "passwd", "pwd", "signature", "sig", "credential", "credentials", "apikey", "auth", "authorization", "jwt", "sessionid"}
)
_SECRET_NAMES = frozenset({"phpsessid", "jsessionid"})


@dataclass(slots=True, frozen=True)
class Cleaned:
    """What hygiene removed from one article."""

    control_characters: int = 0
    url_userinfo: bool = False  # user-info was removed from one of its URLs
    secret_parameters: tuple[str, ...] = ()  # names of the query parameters removed, sorted, once each


def clean_articles(articles: list[Article], batch: pa.RecordBatch) -> dict[int, tuple[Article, Cleaned]]:
    """The articles hygiene changes, by their position in `articles`: the cleaned article and
    what was removed. `batch` is `articles` as a record batch (the map task's)."""
    names = batch.schema.names
    if any(_may_hold_controls(_utf8(batch.column(name))) for name in _TEXTS if name in names):
        suspects: range | list[int] = range(len(articles))  # (rare) a control character somewhere in the batch's text
    elif any(_may_need_work(_utf8(batch.column(name))) for name in _URLS if name in names):
        suspects = [i for i, article in enumerate(articles) if not _plain_urls(article)]
    else:
        suspects = []
    changed = {}
    for i in suspects:
        article, cleaned = clean_article(articles[i])
        if cleaned is not None:
            changed[i] = (article, cleaned)
    return changed


def clean_article(article: Article) -> tuple[Article, Cleaned | None]:
    """The article without control characters, URL user-info and secret-looking query
    parameters (see the module's docstring); and what was removed, or None (the article is
    then returned as it is)."""
    if _clean(article):
        return article, None
    changes: dict = {}
    removed = 0
    body = article.body
    if _TEXT_CONTROLS.search(body):
        body, removed = _TEXT_CONTROLS.subn("", body)
        changes["body"] = body
        changes["word_count"] = len(body.split())
    for name in _LINES:
        value = getattr(article, name)
        if value is None:
            continue
        if isinstance(value, tuple):
            if any(_TEXT_CONTROLS.search(item) for item in value):
                items = []
                for item in value:
                    item, count = _TEXT_CONTROLS.subn("", item)
                    removed += count
                    if item.strip():
                        items.append(item.strip())
                changes[name] = tuple(items)
        elif _TEXT_CONTROLS.search(value):
            value, count = _TEXT_CONTROLS.subn("", value)
            removed += count
            changes[name] = value.strip() or (None if name != "title" else "")
    userinfo = False
    secrets: set[str] = set()
    for name in _URLS:
        value = getattr(article, name)
        if value is None:
            continue
        urls = value if isinstance(value, tuple) else (value,)
        cleaned = []
        for url in urls:
            url, count, had_userinfo, names = clean_url(url)
            removed += count
            userinfo = userinfo or had_userinfo
            secrets.update(names)
            cleaned.append(url)
        if cleaned != list(urls):
            changes[name] = tuple(cleaned) if isinstance(value, tuple) else cleaned[0]
    if not changes:
        return article, None
    if "url" in changes:
        domain, identity = url_identity(changes["url"])
        if domain:
            changes["domain"], changes["id"] = domain, identity
    return dataclasses.replace(article, **changes), Cleaned(removed, userinfo, tuple(sorted(secrets)))


def _clean(article: Article) -> bool:
    """Whether the article has nothing hygiene would remove, told quickly (in a batch where some
    article has something): every character the patterns look for is one `str.isprintable`
    refuses, several times faster than a search."""
    body = article.body
    if body.isascii():  # (a flag of the string) its bytes without the controls, in one C loop
        data = body.encode("ascii")
        if len(data.translate(None, _ASCII_CONTROLS)) != len(data):
            return False
    elif not body.replace("\n", " ").isprintable() and _TEXT_CONTROLS.search(body):
        return False
    lines = " ".join([article.title, article.description or "", article.section or "", article.publisher or "", *article.tags, *article.keywords])
    return (lines.isprintable() or not _TEXT_CONTROLS.search(lines)) and _plain_urls(article)


def _plain_urls(article: Article) -> bool:
    """Whether the article's URLs have nothing hygiene would remove (no user-info, no query,
    nothing unprintable)."""
    urls = " ".join([article.url, article.image_url or "", *article.related_urls])
    return "@" not in urls and "?" not in urls and (urls.isprintable() or not _URL_CONTROLS.search(urls))


_TEXTS = ("title", "description", "body", "section", "publisher", "tags", "keywords")  # the text columns


def _utf8(array: pa.Array) -> np.ndarray:
    """The UTF-8 bytes of a string (or list of strings) column's values, end to end."""
    if pa.types.is_list(array.type):
        array = array.flatten()
    if not len(array) or array.buffers()[2] is None:
        return np.zeros(0, np.uint8)
    offsets = np.frombuffer(array.buffers()[1], np.int32)[array.offset : array.offset + len(array) + 1]
    return np.frombuffer(array.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]


def _may_hold_controls(data: np.ndarray) -> bool:
    """Whether UTF-8 `data` holds a character of _TEXT_CONTROLS: a byte below 0x20 but tab and
    newline, 0x7f (counted by numpy, a pass each: a combination of comparisons made temporary
    arrays that cost more than the passes), C2 80-9F (C1) or E2 80 AD/AE (U+202D/E)."""
    if not len(data):
        return False
    low = np.count_nonzero(data < 0x20)
    if low and low != np.count_nonzero(data == 0x0A) + np.count_nonzero(data == 0x09):
        return True
    if np.count_nonzero(data == 0x7F):
        return True
    raw = data.tobytes()
    return (b"\xc2" in raw and _C1_BYTES.search(raw) is not None) or _OVERRIDE_BYTES.search(raw) is not None


# Patterns that start with a literal byte: the search skips to it at memory speed (E2 80 starts
# every quote mark and dash of a text, which slowed `bytes.find` of the three bytes 2.5 times).
_C1_BYTES = re.compile(b"\xc2[\x80-\x9f]")
_OVERRIDE_BYTES = re.compile(b"\xe2\x80[\xad\xae]")


def _may_need_work(data: np.ndarray) -> bool:
    """Whether UTF-8 URLs `data` may hold what hygiene removes: an "@", a "?", a control or any
    byte that is not ASCII (the URLs are then checked one by one)."""
    return bool(len(data)) and bool(((data < 0x20) | (data >= 0x7F) | (data == ord("@")) | (data == ord("?"))).any())


_ASCII_CONTROLS = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])  # _TEXT_CONTROLS within ASCII


def clean_url(url: str) -> tuple[str, int, bool, list[str]]:
    """(`url` cleaned, the control characters removed, whether user-info was removed, the names
    of the query parameters removed). The rest of the URL is kept byte for byte."""
    removed = 0
    if _URL_CONTROLS.search(url):
        url, removed = _URL_CONTROLS.subn("", url)
    userinfo = False
    start = url.find("//")
    if start != -1 and "@" in url:
        host_end = len(url)
        for mark in "/?#":
            at = url.find(mark, start + 2)
            if at != -1:
                host_end = min(host_end, at)
        at = url.rfind("@", start + 2, host_end)
        if at != -1:
            url = url[: start + 2] + url[at + 1 :]
            userinfo = True
    names: list[str] = []
    fragment = url.find("#")
    end = fragment if fragment != -1 else len(url)
    query = url.find("?", 0, end)
    if query != -1:
        parameters = url[query + 1 : end].split("&")
        kept = []
        for parameter in parameters:
            name = parameter.split("=", 1)[0]
            if is_secret_parameter(name):
                names.append(name)
            else:
                kept.append(parameter)
        if names:
            rest = "&".join(kept)
            url = url[:query] + ("?" + rest if rest else "") + url[end:]
    return url, removed, userinfo, names


def is_secret_parameter(name: str) -> bool:
    """Whether a query parameter of this name looks like it carries a credential."""
    word = unquote(name).lower().replace("-", "_").replace(".", "_")
    parts = word.split("_")
    return word in _SECRET_NAMES or parts[-1] in _SECRET_ENDINGS or (parts[-1] == "key" and len(parts) > 1 and any(parts[:-1]))
