"""A corpus with planted near-duplicates: generate.py's articles, copies of some of them, and
hard negatives, with the truth of which file copies which.

    python bench/generate_neardup.py OUT_DIR -n 20000 --seed 1 [--copy-rate 0.04] [--negative-rate 0.04]

- Base articles: `generate.generate_corpus` (no junk, duplicates or updates).
- Copies: for a share of the articles with 5 sentences or more, 1-3 copies on another outlet of
  the language (or another edition of the same one), published 10 minutes to 2 days later,
  each with one to three edits: another dateline, a sentence reworded, a paragraph more, a
  paragraph less. A copy is kept only if its body's word 5-gram Jaccard similarity to the
  original's (as the build computes it, on the parsed bodies) is at least 0.8.
- Hard negatives: for another share, an article on a related subject: the original's lead
  (with another dateline) and one of its paragraphs, the rest written anew; kept only if its
  similarity to the original is at most 0.4.

The truth (`<folder>.json` beside the folder, as the benchmarks keep it): {"copies": {copy file: original file},
"negatives": {negative file: original file}} (and "added": the files written into an existing
folder, `first` > 0). Text comes from generate.py's word lists.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import generate  # noqa: E402

MIN_COPY, MAX_NEGATIVE = 0.8, 0.4


def similarity(first: bytes, second: bytes) -> float:
    """The word 5-gram Jaccard similarity of two raw files' parsed bodies."""
    import pyarrow as pa

    from dataset_tools.build.neardup_text import shingles
    from dataset_tools.readers import parse_article

    bodies = [parse_article(data, "x.txt").body for data in (first, second)]
    values, offsets = shingles(pa.array(bodies))
    a, b = set(values[: offsets[1]].tolist()), set(values[offsets[1] :].tolist())
    return len(a & b) / len(a | b) if a | b else 0.0


def _original(seed: int, index: int) -> generate._Article:
    """The article of slot `index` of a `generate_corpus(seed=seed)` corpus (no junk or copies)."""
    rng = generate._slot_rng(seed, index)
    generate._file_name(rng, index)
    return generate._make_article(rng, index)


def _dateline(rng: random.Random, a: generate._Article, outlet: generate._Outlet) -> str:
    lang = outlet.lang
    city = rng.choice(generate._WORDS[lang]["L"])
    return f"{city.upper() if lang in ('en', 'ru') else city} ({outlet.agency}) - "


def _without_dateline(lead: str) -> str:
    return lead.split(") - ", 1)[1] if ") - " in lead[:80] else lead


def _paragraph(rng: random.Random, lang: str) -> str:
    return " ".join(text for text, _ in rng.choices(generate._pool(lang), k=rng.randint(3, 5)))


def _copy(rng: random.Random, a: generate._Article, ident: int, edits: int) -> generate._Article:
    """A copy of `a` on another outlet of its language, later, with `edits` edits."""
    lang = a.outlet.lang
    outlets = generate._OUTLETS_BY_LANG[lang]
    outlet = rng.choice([o for o in outlets if o is not a.outlet] or outlets)
    published = a.published + timedelta(minutes=rng.randint(10, 2 * 24 * 60))
    lead, paragraphs = _dateline(rng, a, outlet) + _without_dateline(a.lead), list(a.paragraphs)
    for kind in rng.sample(["sentence", "more", "less", "sentence"], edits):
        prose = [i for i, p in enumerate(paragraphs) if len(p) > 80]
        if kind == "sentence" and prose:
            at = rng.choice(prose)
            end = generate._SENTENCE_END[lang]
            sentences = paragraphs[at].split(end + " ")
            k = rng.randrange(len(sentences))
            new = rng.choice(generate._pool(lang))[0]
            sentences[k] = new if k == len(sentences) - 1 else new[: -len(end)]
            paragraphs[at] = (end + " ").join(sentences)
        elif kind == "more":
            paragraphs.insert(rng.randint(1, len(paragraphs)), _paragraph(rng, lang))
        elif kind == "less" and len(paragraphs) > 2:
            del paragraphs[rng.randrange(1, len(paragraphs))]
    title = generate._title(rng, lang) if rng.random() < 0.5 else a.title
    return dataclasses.replace(
        a, outlet=outlet, url=generate._make_url(rng, outlet, title, published, ident, a.section), title=title, title2=title,
        created=published, published=published, modified=published, lead=lead, paragraphs=paragraphs,
        breakable=[True] * len(paragraphs), line_break=None, related_url=None, related_date=None,
    )


def _negative(rng: random.Random, a: generate._Article, ident: int) -> generate._Article:
    """An article sharing `a`'s lead and one of its paragraphs, the rest new."""
    lang = a.outlet.lang
    published = a.published + timedelta(minutes=rng.randint(10, 3 * 24 * 60))
    fresh, _ = generate._body(rng, lang)
    shared = rng.choice(a.paragraphs)
    paragraphs = [shared] + [p for p in fresh if len(p) > 40]
    title = generate._title(rng, lang)
    return dataclasses.replace(
        a, url=generate._make_url(rng, a.outlet, title, published, ident, a.section), title=title, title2=title,
        created=published, published=published, modified=published, lead=_dateline(rng, a, a.outlet) + _without_dateline(a.lead),
        paragraphs=paragraphs, breakable=[True] * len(paragraphs), line_break=None, related_url=None, related_date=None,
    )


def plant(out_dir: str, n: int, seed: int, copy_rate: float, negative_rate: float, workers: int | None = None, first: int = 0) -> dict:
    """Write n base articles into out_dir (slots first .. first + n), then the planted copies
    and hard negatives; return the truth (see the module's docstring)."""
    truth: dict = {"copies": {}, "negatives": {}, "added": [], "similarity": {}}
    if first == 0:
        generate.generate_corpus(out_dir, n, seed, workers=workers)
    else:
        truth["added"] = _append_base(out_dir, n, seed, first)
    rng = random.Random(f"plant:{seed}:{first}")
    ident = 3_000_000_000 + first * 10
    for index in range(first, first + n):
        roll = rng.random()
        if roll >= copy_rate + negative_rate:
            continue
        a = _original(seed, index)
        if sum(p.count(generate._SENTENCE_END[a.outlet.lang]) for p in a.paragraphs) < 5:
            continue  # too short for a copy to be told from a rewrite
        name = generate._file_name(generate._slot_rng(seed, index), index)
        original = generate._render(a)
        wanted = rng.randint(1, 3) if roll < copy_rate else 1
        for _ in range(wanted):
            ident += 1
            for attempt in range(6):
                made = _copy(rng, a, ident, max(1, rng.randint(1, 3) - attempt // 2)) if roll < copy_rate else _negative(rng, a, ident)
                data = generate._render(made)
                score = similarity(original, data)
                if (score >= MIN_COPY) if roll < copy_rate else (score <= MAX_NEGATIVE):
                    file = f"{900 + ident % 100:03d}_{rng.getrandbits(64):016x}.txt"
                    (Path(out_dir) / file).write_bytes(data)
                    truth["copies" if roll < copy_rate else "negatives"][file] = name
                    truth["similarity"][file] = round(score, 4)
                    truth["added"] += [file] if first else []
                    break
    return truth


def _append_base(out_dir: str, n: int, seed: int, first: int) -> list[str]:
    """Base articles of slots first .. first + n into an existing folder; their names."""
    names = []
    for index in range(first, first + n):
        rng = generate._slot_rng(seed, index)
        names.append(generate._file_name(rng, index))
        (Path(out_dir) / names[-1]).write_bytes(generate._render(generate._make_article(rng, index)))
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--copy-rate", type=float, default=0.04)
    parser.add_argument("--negative-rate", type=float, default=0.04)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    truth = plant(args.out_dir, args.n, args.seed, args.copy_rate, args.negative_rate, args.workers)
    Path(args.out_dir.rstrip("/") + ".json").write_text(json.dumps(truth, indent=1))
    print(json.dumps({"copies": len(truth["copies"]), "negatives": len(truth["negatives"])}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
