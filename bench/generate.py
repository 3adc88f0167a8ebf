"""Synthetic raw articles in the collector layout, for benchmarks and tests.

Every file follows docs `raw-layout.md` line by line (URL, titles, site, description, timestamps,
section, tags, image, JSON-LD articleBody, related URL, about lines, publisher blocks, locale,
keywords twice, then the visible page: headline, lead, body, optional related date). All text
is built from small word lists written for this module, never from real articles.

Usage::

    python bench/generate.py OUT_DIR -n 200000 --seed 1 [--junk-rate 0.01] [--dup-rate 0.01]
        [--update-rate 0.01] [--shard-dirs] [--workers 2]

Standard library only, so a benchmark machine needs nothing installed.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import multiprocessing
import os
import random
import re
import struct
import sys
import time
import unicodedata
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

# ---------------------------------------------------------------------------------------------
# Word lists. Common words of each language, arranged by role so that a sentence template can
# pick "a noun", "a verb"... The sentences are nonsense news prose, but a language detector and
# a tokenizer see realistic scripts, diacritics and word lengths.
# ---------------------------------------------------------------------------------------------

_WORDS = {
    "en": {
        "D": "the the the a this its their another".split(),
        "N": (
            "government ministry council agency committee parliament region city company market "
            "report statement meeting agreement proposal budget election official minister "
            "delegation court project plan investment border harbour railway bridge festival "
            "museum university hospital farmers workers residents teachers engineers exports "
            "prices taxes talks summit network energy water grain weather storm season survey "
            "programme treaty coalition campaign inquiry panel district province"
        ).split(),
        "V": (
            "said announced reported confirmed approved rejected proposed discussed signed "
            "delayed welcomed criticised reviewed expanded opened closed launched postponed "
            "questioned supported noted warned promised described examined"
        ).split(),
        "A": (
            "new local regional national foreign annual early recent large small public private "
            "joint final former economic political cultural northern southern eastern western "
            "key major initial"
        ).split(),
        "P": "in on at for with after before during across near about under".split(),
        "T": [
            "on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday",
            "on Saturday", "on Sunday", "last week", "this year", "earlier this month",
        ],
        "K": "that that while because although".split(),
        "R": "also later earlier again still already".split(),
        "X": [
            "Alden Marsh", "Corin Bale", "Petra Voss", "Harlan Greave", "Maren Holt",
            "Tobias Wren", "Elska Dunmore", "Jory Pell", "Nadia Quill", "Osric Lane",
        ],
        "L": ["Northport", "Eastmere", "Kelby", "Dunhaven", "Marlow Bay", "Ashford Vale",
              "Redcliff", "Stonebridge"],
    },
    "es": {
        "D": "el la los las un una este esta su".split(),
        "N": (
            "gobierno ministerio consejo comisión región ciudad empresa mercado informe reunión "
            "acuerdo propuesta presupuesto elección funcionario ministro delegación tribunal "
            "proyecto inversión frontera puerto ferrocarril puente festival museo universidad "
            "hospital campaña energía agua cosecha tormenta temporada encuesta programa tratado "
            "coalición investigación población economía política país capital municipio sesión "
            "decisión declaración"
        ).split(),
        "V": (
            "anunció informó confirmó aprobó rechazó propuso discutió firmó aplazó celebró "
            "criticó revisó amplió abrió cerró lanzó apoyó señaló advirtió prometió describió "
            "examinó destacó explicó"
        ).split(),
        "A": (
            "nuevo local regional nacional extranjero anual reciente público privado conjunto "
            "final económico político cultural histórico próximo último importante difícil "
            "rápido técnico pacífico"
        ).split(),
        "P": "en con para sobre tras durante según desde hasta ante entre".split(),
        "T": [
            "el lunes", "el martes", "el miércoles", "el jueves", "el viernes", "el sábado",
            "el domingo", "la semana pasada", "este año", "esta mañana",
        ],
        "K": "que que mientras aunque porque".split(),
        "R": "también además todavía ya después".split(),
        "X": [
            "Lucía Ferrán", "Martín Olaverri", "Inés Caldús", "Tomás Ribó", "Nuria Escolà",
            "Joaquín Peñalver", "Ramón Villagrán", "Begoña Iturri",
        ],
        "L": ["Madrid", "Valencia", "Sevilla", "Bilbao", "Montevideo", "Quito", "Córdoba",
              "Málaga", "Bogotá", "Asunción"],
    },
    "ru": {
        "D": [],
        "N": (
            "правительство министерство совет комиссия регион город компания рынок доклад "
            "заявление встреча соглашение предложение бюджет выборы чиновник министр делегация "
            "суд проект инвестиции граница порт мост фестиваль музей университет больница "
            "жители рабочие экспорт цены налоги переговоры саммит энергия вода зерно погода "
            "сезон опрос программа договор коалиция кампания район область"
        ).split(),
        "V": (
            "заявил сообщил подтвердил одобрил отклонил предложил обсудил подписал отложил "
            "приветствовал раскритиковал рассмотрел расширил открыл закрыл запустил поддержал "
            "отметил предупредил пообещал описал изучил"
        ).split(),
        "A": (
            "новый местный региональный национальный иностранный ежегодный недавний крупный "
            "небольшой общественный частный совместный окончательный бывший экономический "
            "политический культурный северный южный восточный западный ключевой"
        ).split(),
        "P": ["в", "на", "для", "с", "после", "до", "во время", "через", "около", "о", "под",
              "по"],
        "T": [
            "в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу",
            "в воскресенье", "на прошлой неделе", "в этом году",
        ],
        "K": ["что", "что", "пока", "хотя", "потому что"],
        "R": "также позже ранее снова уже".split(),
        "X": [
            "Игорь Сорин", "Анна Белова", "Павел Кречет", "Марина Лозина", "Олег Ветров",
            "Светлана Дубова", "Глеб Зарецкий", "Нина Орлова",
        ],
        "L": ["Москва", "Казань", "Самара", "Тверь", "Омск", "Пермь", "Курск", "Томск"],
    },
    "ar": {
        "D": [],
        "N": (
            "الحكومة الوزارة المجلس اللجنة المنطقة المدينة الشركة السوق التقرير البيان "
            "الاجتماع الاتفاق الاقتراح الميزانية الانتخابات المسؤول الوزير الوفد المحكمة "
            "المشروع الاستثمار الحدود الميناء الجسر المهرجان المتحف الجامعة المستشفى السكان "
            "العمال الصادرات الأسعار الضرائب المحادثات القمة الطاقة المياه القمح الطقس الموسم "
            "البرنامج المعاهدة الحملة"
        ).split(),
        "V": "قال أعلن أفاد أكد وافق رفض اقترح ناقش وقع أجل رحب انتقد راجع وسع افتتح أغلق أطلق "
             "دعم أشار حذر وعد وصف".split(),
        "A": (
            "الجديد المحلي الإقليمي الوطني الأجنبي السنوي الأخير الكبير الصغير العام الخاص "
            "المشترك النهائي السابق الاقتصادي السياسي الثقافي الشمالي الجنوبي الرئيسي"
        ).split(),
        "P": "في على من إلى مع بعد قبل خلال عبر حول بشأن".split(),
        "T": ["يوم الاثنين", "يوم الثلاثاء", "يوم الأربعاء", "يوم الخميس", "يوم الجمعة",
              "الأسبوع الماضي", "هذا العام"],
        "K": ["أن", "أن", "بينما", "لأن"],
        "R": ["أيضا", "لاحقا", "مجددا"],
        "X": ["سامي الهادي", "ليلى النجار", "كريم العمري", "هالة السعدي", "ماجد الفارس",
              "نور الدباغ"],
        "L": ["القاهرة", "دبي", "عمان", "بيروت", "الرباط", "تونس", "الدوحة"],
    },
    "hi": {
        "D": [],
        "N": (
            "सरकार मंत्रालय परिषद समिति क्षेत्र शहर कंपनी बाजार रिपोर्ट बयान बैठक समझौता प्रस्ताव "
            "बजट चुनाव अधिकारी मंत्री प्रतिनिधिमंडल अदालत परियोजना निवेश सीमा बंदरगाह पुल उत्सव "
            "संग्रहालय विश्वविद्यालय अस्पताल निवासी मजदूर निर्यात कीमतें कर वार्ता ऊर्जा पानी "
            "अनाज मौसम कार्यक्रम संधि अभियान"
        ).split(),
        "V": ["कहा", "घोषणा की", "बताया", "पुष्टि की", "मंजूरी दी", "खारिज किया",
              "प्रस्ताव रखा", "चर्चा की", "हस्ताक्षर किए", "स्थगित किया", "स्वागत किया",
              "आलोचना की", "समीक्षा की", "विस्तार किया", "शुरू किया", "समर्थन किया",
              "चेतावनी दी", "वादा किया"],
        "A": (
            "नया स्थानीय क्षेत्रीय राष्ट्रीय विदेशी वार्षिक हालिया बड़ा छोटा सार्वजनिक निजी "
            "संयुक्त अंतिम पूर्व आर्थिक राजनीतिक सांस्कृतिक उत्तरी दक्षिणी प्रमुख"
        ).split(),
        "P": ["में", "पर", "के लिए", "के साथ", "के बाद", "से पहले", "के दौरान", "के बारे में",
              "ने", "को", "का", "की"],
        "T": ["सोमवार को", "मंगलवार को", "बुधवार को", "गुरुवार को", "शुक्रवार को",
              "पिछले सप्ताह", "इस साल"],
        "K": ["कि", "कि", "जबकि", "क्योंकि"],
        "R": ["भी", "बाद में", "पहले", "फिर से"],
        "X": ["राकेश वर्मा", "सुनीता जोशी", "अमित सहगल", "कविता राणा", "विनोद त्रिपाठी",
              "मीरा चौहान"],
        "L": ["नई दिल्ली", "मुंबई", "जयपुर", "लखनऊ", "पटना", "भोपाल"],
    },
}

# Sentence shapes per language, one symbol per word slot (see _WORDS keys). Word order follows
# the language loosely (verb-final Hindi, verb-first Arabic) so the text looks plausible.
_PATTERNS = {
    "en": ["DANVDNPDNT", "XVKDANVDNPDN", "DNPDNRVDAN", "PDANT,DNVDAN", "DANPLVKDNVPDAN",
           "XRVDNPDN,KDANVDN"],
    "es": ["DNAVDNPDNT", "XVKDNAVDNPL", "DNPDNRVDNA", "PDNT,DNVDNA", "TXVKDNVPDNA",
           "DNVDNA,KDNVPL"],
    "ru": ["ANVANPNT", "XVKNAVNPL", "TANVNPAN", "NPNRVAN,KNVPAN", "PLXVKANVN"],
    "ar": ["VNAPNT", "VXKNAVPN", "TVNNAPL", "VNAPN،KNVPNA", "RVXPNAKNVN"],
    "hi": ["XTANPANV", "ANPLNV,KNAPV", "TXANPNRV", "LPANPNV,KAPNV"],
}

_SENTENCE_END = {"en": ".", "es": ".", "ru": ".", "ar": ".", "hi": "।"}

# The localized date of a related article, printed as the page's very last line.
_MONTHS = {
    "en": "January February March April May June July August September October November "
          "December".split(),
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
          "diciembre".split(),
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Outlet:
    """One fake news site: its URL style and its metadata habits (the shape varies by outlet)."""

    lang: str
    domains: tuple[str, ...]  # first is canonical; others are www./mirror spellings
    site: str                 # og:site_name, also the publisher name and the dateline agency
    agency: str
    url_style: str            # dated | path | numeric | quoted
    publisher: str            # blocks | logo | name | locale
    offsets: tuple[str, ...]  # spellings of the UTC offset, e.g. "+0300", "+05:30", "Z"
    seconds: float            # share of timestamps with seconds
    single_stamp: float       # share of files with one timestamp instead of three
    locale: str | None        # None: this outlet prints no locale line
    related_date: str         # en | es | num: how the trailing related date is spelled
    email: str
    phone: str
    legal: str


_OUTLETS = (
    _Outlet("en", ("news.example-outlet.org",), "Example Outlet International", "Example Outlet",
            "dated", "blocks", ("+0000",), 0.0, 0.15, "en_EN", "en",
            "feedback@example-outlet.org", "+10005550100", "Example Media Group “Outlet”"),
    _Outlet("en", ("www.daily-example.com", "daily-example.com"), "The Daily Example",
            "Daily Example", "path", "logo", ("Z", "+0000"), 0.9, 0.3, "en_GB", "en",
            "desk@daily-example.com", "+440005550199", "Daily Example Publishing Ltd"),
    _Outlet("en", ("example-wire.net",), "Example Wire", "Example Wire", "numeric", "name",
            ("+0000", "Z"), 0.5, 0.5, None, "num",
            "tips@example-wire.net", "+10005550123", "Example Wire Inc."),
    _Outlet("es", ("mundo.ejemplo-noticias.com",), "Mundo Ejemplo", "Mundo Ejemplo", "dated",
            "blocks", ("+0000",), 0.0, 0.15, "es_ES", "es",
            "contacto@ejemplo-noticias.com", "+340005550100", "Grupo Ejemplo “Noticias”"),
    _Outlet("es", ("www.diario-ejemplo.es",), "Diario del Ejemplo", "Diario del Ejemplo",
            "path", "logo", ("-0300", "+0000"), 1.0, 0.3, "es_ES", "es",
            "redaccion@diario-ejemplo.es", "+340005550177", "Ediciones del Ejemplo S.A."),
    _Outlet("ru", ("ria.example-news.ru",), "Пример Новости", "Пример Новости", "dated",
            "blocks", ("+0300",), 0.0, 0.15, "ru_RU", "num",
            "info@example-news.ru", "+70005550100", "МИА «Пример Сегодня»"),
    _Outlet("ru", ("www.vestnik-primera.ru", "vestnik-primera.ru"), "Вестник Примера",
            "Вестник Примера", "numeric", "locale", ("+03:00", "+0300"), 1.0, 0.4, "ru_RU",
            "num", "red@vestnik-primera.ru", "+70005550142", "ООО «Вестник Примера»"),
    _Outlet("ar", ("arabic.example-outlet.org",), "أخبار المثال", "أخبار المثال", "dated",
            "blocks", ("+0000", "+0300"), 0.0, 0.2, "ar_AE", "num",
            "feedback@example-outlet.org", "+9710005550100", "مجموعة المثال الإعلامية"),
    _Outlet("ar", ("www.sahifat-example.ae",), "صحيفة المثال", "صحيفة المثال", "quoted",
            "name", ("Z", "+0400"), 0.6, 0.4, "ar_AE", "num",
            "info@sahifat-example.ae", "+9710005550111", "دار المثال للنشر"),
    _Outlet("hi", ("hindi.example-outlet.org",), "उदाहरण समाचार", "उदाहरण समाचार", "dated",
            "blocks", ("+05:30", "+0530"), 0.3, 0.2, "hi_IN", "num",
            "feedback@example-outlet.org", "+910005550100", "उदाहरण मीडिया समूह"),
    _Outlet("hi", ("www.dainik-udaharan.in", "dainik-udaharan.in"), "दैनिक उदाहरण",
            "दैनिक उदाहरण", "path", "logo", ("+05:30",), 0.8, 0.3, "hi_IN", "en",
            "sampadak@dainik-udaharan.in", "+910005550155", "दैनिक उदाहरण प्रकाशन"),
)
_OUTLETS_BY_LANG = {lang: [o for o in _OUTLETS if o.lang == lang] for lang in _WORDS}
_LANGS = ("en", "es", "ru", "ar", "hi")
_LANG_CUM_WEIGHTS = (45, 65, 80, 90, 100)  # en 45%, es 20%, ru 15%, ar 10%, hi 10%
_SECTIONS = {
    "en": ["world", "politics", "economy", "science", "sport", "culture"],
    "es": ["mundo", "politica", "economia", "ciencia", "deportes", "cultura"],
    "ru": ["world", "politics", "economy", "society", "в мире", "экономика"],
    "ar": ["world", "العالم", "اقتصاد", "سياسة"],
    "hi": ["world", "देश", "विदेश", "व्यापार"],
}

# Tags are lower-case nouns, people and places, as outlets print them.
_TAGS = {lang: w["N"] + [x.lower() for x in w["X"] + w["L"]] for lang, w in _WORDS.items()}

_EPOCH = datetime(2023, 1, 1, tzinfo=timezone.utc)
_SPAN_MINUTES = 3 * 365 * 24 * 60  # published dates fall in 2023-01-01 .. 2025-12-31
_IMPOSSIBLE_STAMP = "2021-02-30T25:61+0000"

# ---------------------------------------------------------------------------------------------
# Sentences. Drawing each word of each article is too slow for a million files, so every
# language gets a fixed pool of sentences built once; articles draw whole sentences from it.
# The pool is seeded by a constant: the same pool in every process and for every corpus seed.
# ---------------------------------------------------------------------------------------------

_POOL_SIZE = 3000


def _sentence(rng: random.Random, lang: str, end: bool = True) -> str:
    words = _WORDS[lang]
    out: list[str] = []
    for slot in rng.choice(_PATTERNS[lang]):
        if slot in ",،":
            if out:
                out[-1] += slot
            continue
        choices = words[slot]
        if choices:
            out.append(rng.choice(choices))
    text = " ".join(out)
    text = text[0].upper() + text[1:]
    return text + _SENTENCE_END[lang] if end else text


def _proper_names(lang: str) -> tuple[str, ...]:
    return tuple(_WORDS[lang]["X"] + _WORDS[lang]["L"])


@functools.cache
def _pool(lang: str) -> list[tuple[str, int]]:
    """(sentence, its UTF-8 size) pairs; sizes let an article aim at a byte count cheaply."""
    rng = random.Random(f"sentence-pool:{lang}")
    pool = []
    for _ in range(_POOL_SIZE):
        text = _sentence(rng, lang)
        if rng.random() < 0.35:  # longer sentences: two clauses joined
            second = _sentence(rng, lang)
            comma = "، " if lang == "ar" else ", "
            if not second.startswith(_proper_names(lang)):  # names keep their capital
                second = second[:1].lower() + second[1:]
            text = text[:-1] + comma + second
        pool.append((text, len(text.encode()) + 1))
    return pool


@functools.cache
def _mean_size(lang: str) -> float:
    pool = _pool(lang)
    return sum(size for _, size in pool) / len(pool)


def _title(rng: random.Random, lang: str) -> str:
    text = _sentence(rng, lang, end=False)
    if lang == "en" and rng.random() < 0.7:  # most English outlets use Title Case
        text = " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
    return text


# ---------------------------------------------------------------------------------------------
# One article as data, then rendered to lines. Keeping the record separate lets an update
# (same URL, later modified time, edited text) start from the exact original.
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class _Article:
    outlet: _Outlet
    url: str
    title: str
    title2: str
    description: str | None
    created: datetime
    published: datetime
    modified: datetime
    three_stamps: bool
    offset: str
    seconds: bool
    section: str | None
    tags: list[str]
    image: str | None
    thumbnail: str | None
    body_glued: bool          # articleBody joins paragraphs with "" instead of " "
    body_has_lead: bool
    related_url: str | None
    related_date: str | None
    about: list[str]
    locale: bool
    keywords: str | None
    lead: str
    paragraphs: list[str]     # logical paragraphs, subheadings and bullet items
    breakable: list[bool]     # which paragraphs are prose (may be broken across two lines)
    line_break: tuple[int, float, bool] | None  # (paragraph, where, before a capitalized word)
    crlf: bool
    bom: bool
    final_newline: bool
    bad_stamp: str | None = None  # set only by the impossible-timestamp junk kind


def _url_id(index: int) -> int:
    # A bijection of the slot index onto 10-digit numbers: looks random, never collides, so
    # two articles share a URL only when the plan says so (duplicates and updates).
    return 1_000_000_000 + (index * 2654435761) % 1_000_000_000


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    return "-".join(words[:10]) or "news"


def _make_url(rng: random.Random, outlet: _Outlet, title: str, when: datetime, ident: int,
              section: str | None) -> str:
    domain = outlet.domains[0] if rng.random() < 0.85 else rng.choice(outlet.domains)
    scheme = "https" if rng.random() < 0.97 else "http"
    if outlet.url_style == "dated":
        path = f"/{when:%Y%m%d}/{_slug(title)}-{ident}.html"
    elif outlet.url_style == "path":
        path = f"/{_slug(section or 'news')}/{when:%Y/%m/%d}/{_slug(title)}-{ident}/"
    elif outlet.url_style == "numeric":
        path = f"/{_slug(section or 'news')}/{ident}"
    else:  # quoted: a non-Latin slug, percent-encoded as browsers save it
        path = f"/news/{ident}/" + quote(title.replace(" ", "-")[:60])
    return f"{scheme}://{domain}{path}"


def _image_url(rng: random.Random, outlet: _Outlet) -> str:
    return (f"https://cdn.{outlet.domains[0].removeprefix('www.')}/img/"
            f"{rng.randrange(16**4):04x}/{rng.randrange(10**9, 2 * 10**9)}_0:0:3072:1728_"
            f"1920x0_80_0_0_{rng.getrandbits(128):032x}.jpg")


def _related_date(rng: random.Random, outlet: _Outlet, before: datetime) -> str:
    # The related article is older than this one: its date must never pass for ours.
    when = before - timedelta(minutes=rng.randint(60, 90 * 24 * 60))
    if outlet.related_date == "en":
        return f"{when.day} {_MONTHS['en'][when.month - 1]} {when.year}, {when:%H:%M} GMT"
    if outlet.related_date == "es":
        return f"{when.day} de {_MONTHS['es'][when.month - 1]} {when.year}, {when:%H:%M} GMT"
    return f"{when:%H:%M %d.%m.%Y}"


def _body(rng: random.Random, lang: str) -> tuple[list[str], list[bool]]:
    pool = _pool(lang)
    # Aim at a byte size rather than a sentence count, so that 3-byte scripts (Devanagari)
    # do not make files three times larger than English ones.
    target = min(max(int(rng.lognormvariate(7.2, 0.5)), 300), 12000)
    k = max(2, round(target / _mean_size(lang)))
    sentences = [text for text, _ in rng.choices(pool, k=k)]
    # 2-12 paragraphs: start a new one after each sentence with the matching probability.
    split = (rng.randint(2, 12) - 1) / (len(sentences) - 1)
    paragraphs = []
    start = 0
    for i in range(1, len(sentences)):
        if rng.random() < split:
            paragraphs.append(" ".join(sentences[start:i]))
            start = i
    paragraphs.append(" ".join(sentences[start:]))
    if len(paragraphs) == 1:
        half = len(sentences) // 2
        paragraphs = [" ".join(sentences[:half]), " ".join(sentences[half:])]
    prose = [True] * len(paragraphs)
    if rng.random() < 0.12 and len(paragraphs) > 2:  # a subheading between paragraphs
        at = rng.randint(1, len(paragraphs) - 1)
        paragraphs.insert(at, _title(rng, lang))
        prose.insert(at, False)
    if rng.random() < 0.08:  # a short list, each item its own line
        at = rng.randint(1, len(paragraphs))
        bullet = rng.choice(["- ", "• ", ""])
        items = [bullet + _sentence(rng, lang, end=False) + ("," if not bullet else "")
                 for _ in range(rng.randint(2, 5))]
        paragraphs[at:at] = items
        prose[at:at] = [False] * len(items)
    return paragraphs, prose


def _make_article(rng: random.Random, index: int, lang: str | None = None) -> _Article:
    lang = lang or rng.choices(_LANGS, cum_weights=_LANG_CUM_WEIGHTS)[0]
    outlet = rng.choice(_OUTLETS_BY_LANG[lang])
    words = _WORDS[lang]
    published = _EPOCH + timedelta(minutes=rng.randrange(_SPAN_MINUTES))
    created = published - timedelta(minutes=rng.choice((0, 0, 0, rng.randint(1, 90))))
    modified = published
    if rng.random() < 0.35:  # edited after publication
        modified = published + timedelta(minutes=rng.randint(1, 3 * 24 * 60))
    title = _title(rng, lang)
    title2 = title
    roll = rng.random()
    if roll < 0.08 and lang in ("en", "es", "ru"):
        title2 = title.lower() if rng.random() < 0.5 else title.upper()
    elif roll < 0.11:
        title2 = title + " - " + rng.choice(words["N"])
    section = rng.choice(_SECTIONS[lang]) if rng.random() < 0.7 else None
    tags = rng.sample(_TAGS[lang], rng.choice((0, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12)))
    description = None
    if rng.random() < 0.75:
        description = rng.choice(_pool(lang))[0]
        if rng.random() < 0.3:  # cut off by the outlet: "…, <date>, <site>"
            description = (description[: rng.randint(20, max(21, len(description) - 5))]
                           + f"…, {published:%d.%m.%Y}, {outlet.site}")
    city = rng.choice(words["L"])
    dateline = ""
    if rng.random() < 0.85:
        dateline = f"{city.upper() if lang in ('en', 'ru') else city} ({outlet.agency}) - "
    pool = _pool(lang)
    lead = dateline + rng.choice(pool)[0] + " " + rng.choice(pool)[0]
    paragraphs, prose = _body(rng, lang)
    line_break = None
    if rng.random() < 0.15:
        line_break = (rng.randrange(len(paragraphs)), rng.uniform(0.3, 0.7), rng.random() < 0.3)
    has_related = rng.random() < 0.35
    return _Article(
        outlet=outlet,
        url=_make_url(rng, outlet, title, published, _url_id(index), section),
        title=title,
        title2=title2,
        description=description,
        created=created,
        published=published,
        modified=modified,
        three_stamps=rng.random() >= outlet.single_stamp,
        offset=rng.choice(outlet.offsets),
        seconds=rng.random() < outlet.seconds,
        section=section,
        tags=tags,
        image=_image_url(rng, outlet) if rng.random() < 0.8 else None,
        thumbnail=_image_url(rng, outlet) if rng.random() < 0.8 else None,
        body_glued=rng.random() < 0.3,
        body_has_lead=rng.random() < 0.2,
        related_url=(_make_url(rng, outlet, _title(rng, lang), published - timedelta(days=3),
                               rng.randrange(10**9, 2 * 10**9), section)
                     if has_related else None),
        related_date=(_related_date(rng, outlet, published)
                      if has_related and rng.random() < 0.6 else None),
        about=tags[: rng.randint(0, min(3, len(tags)))] if tags else [],
        locale=outlet.locale is not None and rng.random() < 0.93,
        keywords=", ".join(rng.sample(words["N"], rng.randint(2, 6))) if rng.random() < 0.6
        else None,
        lead=lead,
        paragraphs=paragraphs,
        breakable=prose,
        line_break=line_break,
        crlf=rng.random() < 0.03,
        bom=rng.random() < 0.02,
        final_newline=rng.random() < 0.55,
    )


def _offset_delta(spelling: str) -> timedelta:
    if spelling == "Z":
        return timedelta(0)
    digits = spelling[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return -delta if spelling[0] == "-" else delta


def _stamp(when: datetime, offset: str, seconds: bool) -> str:
    local = when + _offset_delta(offset)  # the wall-clock time that goes with the offset
    return local.strftime("%Y-%m-%dT%H:%M:%S" if seconds else "%Y-%m-%dT%H:%M") + offset


def _stamps(a: _Article) -> list[str]:
    if a.bad_stamp:
        return [a.bad_stamp] * (3 if a.three_stamps else 1)
    if not a.three_stamps:
        return [_stamp(a.published, a.offset, a.seconds)]
    return [_stamp(t, a.offset, a.seconds) for t in (a.created, a.published, a.modified)]


def _publisher_lines(a: _Article) -> list[str]:
    o = a.outlet
    locale = [o.locale] if a.locale and o.locale else []
    year = str(a.published.year)
    thumbs = [a.thumbnail] if a.thumbnail else []
    if o.publisher == "blocks":  # the seed's shape: 4-line blocks around the other fields
        block = [o.site, o.email, o.phone, o.legal]
        return [*block, year, *block, "News", *locale, *thumbs, *block, *block]
    if o.publisher == "logo":
        logo = [o.site, f"https://{o.domains[0]}/static/logo.png", "600", "60"]
        return [*logo, year, "News", *locale, *thumbs, *logo]
    if o.publisher == "name":
        return [o.site, "News", *locale]
    return locale


def _split_for_break(text: str, where: float, before_name: bool) -> int | None:
    """Where to cut a paragraph mid-sentence, as the collector sometimes did: a space that
    does not end a sentence, followed by a lowercase word (or a capitalized name)."""
    candidates = []
    for m in re.finditer(" ", text):
        i = m.start()
        prev, nxt = text[i - 1], text[i + 1]
        if prev in ".!?।,،":
            continue
        # Arabic and Devanagari have no case: any word boundary inside a sentence will do.
        uncased = not (nxt.isupper() or nxt.islower())
        if nxt.isupper() if before_name else (nxt.islower() or uncased):
            candidates.append(i)
    if not candidates:
        return None if not before_name else _split_for_break(text, where, False)
    return candidates[min(int(where * len(candidates)), len(candidates) - 1)]


def _render_lines(a: _Article) -> list[str]:
    lines = [a.url, a.title, a.title2, a.outlet.site]
    if a.description:
        lines.append(a.description)
    lines += _stamps(a)
    if a.section:
        lines.append(a.section)
    lines += a.tags
    if a.image:
        lines.append(a.image)
    evidence = ([a.lead] if a.body_has_lead else []) + a.paragraphs
    lines.append(("" if a.body_glued else " ").join(evidence))
    if a.related_url:
        lines.append(a.related_url)
    lines += a.about
    lines += _publisher_lines(a)
    if a.keywords:
        lines += [a.keywords, a.keywords]
    lines += [a.title, a.lead]
    broken_at = a.line_break[0] if a.line_break else -1
    for i, (text, prose) in enumerate(zip(a.paragraphs, a.breakable)):
        cut = None
        if i == broken_at and prose:
            cut = _split_for_break(text, a.line_break[1], a.line_break[2])
        if cut is None:
            lines.append(text)
        else:
            lines += [text[:cut], text[cut + 1:]]
    if a.related_date:
        lines.append(a.related_date)
    return lines


def _encode(a: _Article, lines: list[str], encoding: str = "utf-8") -> bytes:
    newline = "\r\n" if a.crlf else "\n"
    text = newline.join(lines) + (newline if a.final_newline else "")
    data = text.encode(encoding)
    return b"\xef\xbb\xbf" + data if a.bom and encoding == "utf-8" else data


def _render(a: _Article) -> bytes:
    return _encode(a, _render_lines(a))


def _edit_for_update(a: _Article, rng: random.Random) -> _Article:
    """The same page collected again later: a later modified time and edited text."""
    lang = a.outlet.lang
    pool = _pool(lang)
    paragraphs = list(a.paragraphs)
    prose_at = [i for i, p in enumerate(a.breakable) if p] or [0]
    at = rng.choice(prose_at)
    end = _SENTENCE_END[lang]
    sentences = paragraphs[at].split(end + " ")
    k = rng.randrange(len(sentences))
    replacement = rng.choice(pool)[0]
    # split() ate the end mark of every sentence but the last one
    sentences[k] = replacement if k == len(sentences) - 1 else replacement[: -len(end)]
    paragraphs[at] = (end + " ").join(sentences)
    if rng.random() < 0.5:
        paragraphs[-1] = paragraphs[-1] + " " + rng.choice(pool)[0]
    title = a.title + " - " + rng.choice(_WORDS[lang]["N"]) if rng.random() < 0.15 else a.title
    return dataclasses.replace(
        a,
        title=title,
        title2=title if a.title2 == a.title else a.title2,
        modified=max(a.modified, a.published) + timedelta(minutes=rng.randint(5, 5 * 24 * 60)),
        three_stamps=True,  # one timestamp cannot say "modified later"
        paragraphs=paragraphs,
    )


def _file_name(rng: random.Random, index: int) -> str:
    # NNN_<16 hex>.txt: the collector's sequence number (kept to three digits as in the
    # documented pattern) and a random 64-bit id that makes the name unique.
    return f"{index % 1000:03d}_{rng.getrandbits(64):016x}.txt"


def generate_article(rng: random.Random, index: int) -> tuple[str, bytes]:
    """One valid article in the collector layout.

    Args:
        rng: the source of all randomness; the same state gives the same bytes.
        index: the slot number; makes the URL and the file name's sequence number.

    Returns:
        (file name, file content).
    """
    name = _file_name(rng, index)
    return name, _render(_make_article(rng, index))


# ---------------------------------------------------------------------------------------------
# Junk: what also lands in raw/. Each kind says what a correct build does with it.
# ---------------------------------------------------------------------------------------------

JUNK_KINDS = {
    # kind: (expected outcome, relative weight among junk files)
    "empty": ("reject", 1.0),
    "whitespace": ("reject", 1.0),
    "png_named_txt": ("reject", 1.0),
    "json_export": ("reject", 1.0),
    "truncated_metadata": ("reject", 1.0),
    "javascript_url": ("reject", 1.0),
    "file_url": ("reject", 1.0),
    "impossible_timestamp": ("reject", 1.0),
    "broken_utf8": ("reject", 1.0),
    "huge_repeated_line": ("reject", 0.2),  # 1 MiB each: rarer, to keep corpora small
    "cp1251_article": ("row", 1.0),  # a whole file in Windows-1251 is a valid article
}
_JUNK_NAMES = tuple(JUNK_KINDS)
_JUNK_WEIGHTS = tuple(w for _, w in JUNK_KINDS.values())


def _junk_whitespace(rng: random.Random, index: int) -> bytes:
    return "".join(rng.choice(" \t\n\r\n") for _ in range(rng.randint(1, 200))).encode()


def _junk_png(rng: random.Random, index: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 800, 600, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
            + rng.randbytes(rng.randint(500, 20000)))


def _junk_json(rng: random.Random, index: int) -> bytes:
    a = _make_article(rng, index)
    record = {"url": a.url, "title": a.title, "published": _stamps(a)[0],
              "lead": a.lead, "body": a.paragraphs}
    return json.dumps(record, ensure_ascii=False, indent=rng.choice((None, 2))).encode()


def _junk_truncated(rng: random.Random, index: int) -> bytes:
    a = _make_article(rng, index)
    lines = _render_lines(a)
    # Cut after the timestamps start but before the articleBody line, mid-line.
    stop = rng.randint(5, 7)
    last = lines[stop]
    return "\n".join(lines[:stop] + [last[: rng.randint(1, max(1, len(last) - 1))]]).encode()


def _junk_first_line(first: list[str]):
    def make(rng: random.Random, index: int) -> bytes:
        a = _make_article(rng, index)
        lines = _render_lines(a)
        lines[0] = rng.choice(first)
        return _encode(a, lines)
    return make


def _junk_impossible(rng: random.Random, index: int) -> bytes:
    a = _make_article(rng, index)
    a.bad_stamp = _IMPOSSIBLE_STAMP
    return _render(a)


def _junk_broken_utf8(rng: random.Random, index: int) -> bytes:
    a = _make_article(rng, index)
    a.bom = False
    data = bytearray(_render(a))
    # Insert next to ASCII spaces in the second half (the visible text), so every valid
    # character stays whole and only the inserted bytes are damaged.
    spaces = [i for i in range(len(data) // 2, len(data)) if data[i] == 0x20]
    for at in sorted(rng.sample(spaces, min(len(spaces), rng.randint(1, 3))), reverse=True):
        data[at:at] = rng.choice((b"\xc3\x28", b"\xa0\xa1", b"\xe2\x82", b"\xff", b"\xed\xa0\x80"))
    return bytes(data)


def _junk_huge(rng: random.Random, index: int) -> bytes:
    line = rng.choice((
        "Please enable JavaScript to view this page.",
        "https://news.example-outlet.org/20250101/loading-1000000000.html",
        "Loading…",
    ))
    return ((line + "\n") * (1_048_576 // (len(line.encode()) + 1) + 1)).encode()


def _junk_cp1251(rng: random.Random, index: int) -> bytes:
    a = _make_article(rng, index, lang="ru")
    a.bom = False
    return _encode(a, _render_lines(a), encoding="cp1251")


_JUNK_MAKERS = {
    "empty": lambda rng, index: b"",
    "whitespace": _junk_whitespace,
    "png_named_txt": _junk_png,
    "json_export": _junk_json,
    "truncated_metadata": _junk_truncated,
    "javascript_url": _junk_first_line(["javascript:void(0)", "javascript:window.print();"]),
    "file_url": _junk_first_line(["file:///C:/Users/editor/Downloads/article.html",
                                  "file:///home/collector/saved/page.html"]),
    "impossible_timestamp": _junk_impossible,
    "broken_utf8": _junk_broken_utf8,
    "huge_repeated_line": _junk_huge,
    "cp1251_article": _junk_cp1251,
}

# ---------------------------------------------------------------------------------------------
# The corpus: a sequential plan (what each slot holds), then slots written in parallel. Each
# slot has its own RNG seeded by (seed, slot), so the bytes do not depend on the worker count.
# ---------------------------------------------------------------------------------------------


class _FastRandom(random.Random):
    """choice/randint/randrange built on random(): several times faster than the exact
    getrandbits versions. Their bias (below 2**-40) is irrelevant for fake text, and a
    million files make a hundred million such calls."""

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a, b):
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start, stop=None):
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))


def _slot_rng(seed: int, index: int) -> random.Random:
    return _FastRandom(f"{seed}:{index}")


def _plan(n: int, seed: int, junk_rate: float, dup_rate: float,
          update_rate: float) -> list[tuple[str, int]]:
    """(kind, source slot) per slot. A duplicate or update copies an earlier article, and each
    article is copied at most once, so the expected counts are exact."""
    rng = random.Random(f"plan:{seed}")
    plan: list[tuple[str, int]] = []
    sources: list[int] = []  # articles not yet copied
    for i in range(n):
        r = rng.random()
        if r < junk_rate:
            plan.append((rng.choices(_JUNK_NAMES, _JUNK_WEIGHTS)[0], -1))
            continue
        r -= junk_rate
        if r < dup_rate + update_rate and sources:
            k = rng.randrange(len(sources))
            sources[k], sources[-1] = sources[-1], sources[k]
            plan.append(("duplicate" if r < dup_rate else "update", sources.pop()))
            continue
        plan.append(("article", -1))
        sources.append(i)
    return plan


def _slot_bytes(seed: int, index: int, kind: str, source: int) -> tuple[str, bytes, str]:
    """File name, content, and the language of the row it makes ("" if it makes none)."""
    rng = _slot_rng(seed, index)
    name = _file_name(rng, index)
    if kind == "article":
        a = _make_article(rng, index)
        return name, _render(a), a.outlet.lang
    if kind in ("duplicate", "update"):
        src_rng = _slot_rng(seed, source)
        _file_name(src_rng, source)  # consume the same draws as the original slot did
        original = _make_article(src_rng, source)
        if kind == "duplicate":
            return name, _render(original), ""
        # The update replaces the original's row: the language was counted there.
        return name, _render(_edit_for_update(original, rng)), ""
    return name, _JUNK_MAKERS[kind](rng, index), "ru" if kind == "cp1251_article" else ""


def _write(name: str, data: bytes, folder_fd: int) -> None:
    # O_EXCL: never overwrite, so an id collision or a stale file fails loudly. A folder
    # descriptor spares the kernel walking the whole path for each of a million files.
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=folder_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_chunk(task: tuple[str, int, bool, list[tuple[int, str, int]]]) -> tuple[Counter, Counter, int]:
    out_dir, seed, shard_dirs, slots = task
    kinds: Counter = Counter()
    langs: Counter = Counter()
    total = 0
    folder_fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for index, kind, source in slots:
            name, data, lang = _slot_bytes(seed, index, kind, source)
            _write(f"{name[4:6]}/{name}" if shard_dirs else name, data, folder_fd)
            kinds[kind] += 1
            if lang:
                langs[lang] += 1
            total += len(data)
    finally:
        os.close(folder_fd)
    return kinds, langs, total


def generate_corpus(out_dir: str, n: int, seed: int = 0, *, junk_rate: float = 0.0,
                    dup_rate: float = 0.0, update_rate: float = 0.0, shard_dirs: bool = False,
                    workers: int | None = None, chunk: int = 2000) -> dict:
    """Write n files into out_dir (which must be empty or missing).

    Args:
        out_dir: target folder; flat like the real collector unless shard_dirs.
        n: number of files, junk and copies included.
        seed: same seed, same bytes, whatever the worker count.
        junk_rate, dup_rate, update_rate: shares of slots holding junk, byte-identical
            duplicates, and updates (same URL, later modified time, edited text).
        shard_dirs: spread files over 256 sub-folders named by two hex digits of the id.
        workers: processes; defaults to the CPU count.
        chunk: slots per task handed to a worker.

    Returns:
        A summary: files and bytes written, the count per kind (`kinds`, `junk`), the
        expected rows per language, and what a correct build reports (`expected`).

    Raises:
        ValueError: rates outside [0, 1] or summing above 1.
        FileExistsError: out_dir already holds files.
    """
    rates = (junk_rate, dup_rate, update_rate)
    if n < 0 or any(r < 0 for r in rates) or sum(rates) > 1:
        raise ValueError("n must be >= 0 and the rates in [0, 1] with a sum of at most 1")
    os.makedirs(out_dir, exist_ok=True)
    with os.scandir(out_dir) as entries:
        nonempty = any(entries)
    if nonempty:
        raise FileExistsError(f"{out_dir} is not empty; the summary would not match its files")
    if shard_dirs:
        for k in range(256):
            os.mkdir(os.path.join(out_dir, f"{k:02x}"))
    plan = _plan(n, seed, junk_rate, dup_rate, update_rate)
    slots = [(i, kind, src) for i, (kind, src) in enumerate(plan)]
    tasks = [(out_dir, seed, shard_dirs, slots[i:i + chunk]) for i in range(0, n, chunk)]
    for lang in _LANGS:  # build the pools once, before forking, so workers share them
        _pool(lang)
    workers = workers or os.cpu_count() or 1
    kinds: Counter = Counter()
    langs: Counter = Counter()
    total = 0
    if workers > 1 and len(tasks) > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = list(pool.imap_unordered(_write_chunk, tasks))
    else:
        results = [_write_chunk(t) for t in tasks]
    for k, lg, size in results:
        kinds += k
        langs += lg
        total += size
    return _summary(seed, n, total, kinds, langs)


def _summary(seed: int, n: int, total: int, kinds: Counter, langs: Counter) -> dict:
    junk = {k: kinds.get(k, 0) for k in JUNK_KINDS}
    rows = kinds["article"] + sum(v for k, v in junk.items() if JUNK_KINDS[k][0] == "row")
    return {
        "seed": seed,
        "files": n,
        "bytes": total,
        "avg_bytes": round(total / n, 1) if n else 0.0,
        "kinds": {"article": kinds["article"], "duplicate": kinds["duplicate"],
                  "update": kinds["update"], **junk},
        "junk": junk,
        "rows_by_language": dict(sorted(langs.items())),
        "expected": {
            "rows": rows,
            "duplicates": kinds["duplicate"],
            "superseded": kinds["update"],  # each update supersedes one earlier article
            "rejects": sum(v for k, v in junk.items() if JUNK_KINDS[k][0] == "reject"),
        },
    }


# ---------------------------------------------------------------------------------------------
# Incremental rebuilds: change one article in place.
# ---------------------------------------------------------------------------------------------

_STAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(Z|[+-]\d\d:?\d\d)$")


def _parse_stamp(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text)


def _visible_start(lines: list[str]) -> int | None:
    """Index of the headline's last repetition, if this looks like a valid article."""
    if not lines or not lines[0].startswith(("http://", "https://")) or len(lines) < 6:
        return None
    stamps = [s for s in lines[3:12] if _STAMP_RE.match(s)]
    try:
        [_parse_stamp(s) for s in stamps]
    except ValueError:
        return None
    if not stamps:
        return None
    last = max(i for i, line in enumerate(lines) if line == lines[1])
    return last if 3 <= last < len(lines) - 2 else None


def _guess_lang(text: str) -> str:
    if re.search("[\u0400-\u04ff]", text):
        return "ru"
    if re.search("[\u0600-\u06ff]", text):
        return "ar"
    if re.search("[\u0900-\u097f]", text):
        return "hi"
    return "es" if re.search("[áéíóúñ]", text) else "en"


def touch_one(out_dir: str, seed: int) -> str:
    """Edit one valid article's text in place (it stays valid) and return its path.

    The first body paragraph gains a sentence, in the visible page and in the articleBody
    line alike. Encoding, BOM and line ends are kept. Which file is edited depends only on
    the seed and the folder's file names.

    Raises:
        FileNotFoundError: no valid article among the files tried.
    """
    rng = random.Random(f"touch:{seed}")
    names = sorted(os.path.relpath(os.path.join(root, f), out_dir)
                   for root, _, files in os.walk(out_dir) for f in files)
    for _ in range(min(200, len(names))):
        path = os.path.join(out_dir, rng.choice(names))
        with open(path, "rb") as f:
            data = f.read()
        bom = data.startswith(b"\xef\xbb\xbf")
        try:
            text = data[3 if bom else 0:].decode("utf-8")
        except UnicodeDecodeError:
            continue
        newline = "\r\n" if "\r\n" in text else "\n"
        lines = text.split(newline)
        start = _visible_start(lines)
        if start is None:
            continue
        # A whole paragraph (not half of one broken across two lines, nor a list item).
        at = next((i for i in range(start + 2, len(lines)) if lines[i].endswith((".", "।"))),
                  None)
        if at is None:
            continue
        old = lines[at]
        new = old + " " + rng.choice(_pool(_guess_lang(old)))[0]
        lines[at] = new
        # The JSON-LD articleBody (the longest metadata line holding it) gets the same edit.
        holders = [i for i in range(start) if old in lines[i]]
        if holders:
            body = max(holders, key=lambda i: len(lines[i]))
            lines[body] = lines[body].replace(old, new, 1)
        with open(path, "wb") as f:
            f.write((b"\xef\xbb\xbf" if bom else b"") + newline.join(lines).encode())
        return path
    raise FileNotFoundError(f"no valid article found to edit in {out_dir}")


# ---------------------------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="generate.py",
        description="Write synthetic raw articles in the collector layout; print a JSON summary.")
    p.add_argument("out_dir", help="target folder (must be empty or missing)")
    p.add_argument("-n", type=int, default=1000, help="number of files (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
    p.add_argument("--junk-rate", type=float, default=0.0, help="share of junk files")
    p.add_argument("--dup-rate", type=float, default=0.0, help="share of byte-identical copies")
    p.add_argument("--update-rate", type=float, default=0.0,
                   help="share of updates: same URL, later modified time, edited text")
    p.add_argument("--shard-dirs", action="store_true",
                   help="spread files over 256 sub-folders instead of one flat folder")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        summary = generate_corpus(args.out_dir, args.n, args.seed, junk_rate=args.junk_rate,
                                  dup_rate=args.dup_rate, update_rate=args.update_rate,
                                  shard_dirs=args.shard_dirs, workers=args.workers)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
