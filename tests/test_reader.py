"""The collector reader on every variant of the layout, each row asserted field by field."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime, timezone

import pytest

from dataset_tools.readers import PARSER_VERSION, parse_article
from dataset_tools.readers.collector import REJECT_REASONS
from dataset_tools.records import Article
from rawfiles import LEAD, PARAGRAPHS, collected_article

URL = "https://news.example.org/20260105/riverton-approves-bicycle-plan-1000001.html"
UTC = timezone.utc


def expected_row(data: bytes, source_file: str = "001_aaaa000000000001.txt", **overrides) -> dict:
    """The row the default fixture gives, with `overrides` applied; word_count follows the body."""
    row = {
        "id": hashlib.sha256(URL.encode()).hexdigest()[:16],
        "url": URL,
        "domain": "news.example.org",
        "title": "Riverton Approves New Bicycle Lane Plan",
        "description": "The council backed a three-year plan for protected bicycle lanes across the city.",
        "body": "\n\n".join((LEAD, *PARAGRAPHS)),
        "published_at": datetime(2026, 1, 5, 9, 15, tzinfo=UTC),
        "modified_at": datetime(2026, 1, 5, 11, 40, tzinfo=UTC),
        "section": "cities",
        "tags": ["riverton", "transport", "cycling"],
        "keywords": ["riverton bicycle plan", "protected lanes", "city council"],
        "image_url": "https://cdn.example.org/img/2026/01/bike-lanes_1920x1080.jpg",
        "language": "en",
        "publisher": "Example Wire",
        "related_urls": ["https://news.example.org/20251220/riverton-budget-vote-1000000.html"],
        "source_file": source_file,
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "parser_version": PARSER_VERSION,
    }
    row.update(overrides)
    row["word_count"] = len(row["body"].split())
    return {name: row[name] for name in (
        "id", "url", "domain", "title", "description", "body", "published_at", "modified_at", "section", "tags",
        "keywords", "image_url", "language", "publisher", "related_urls", "word_count", "source_file",
        "source_sha256", "parser_version",
    )}


def parse(text: str | bytes, source_file: str = "001_aaaa000000000001.txt") -> tuple[bytes, Article]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    article = parse_article(data, source_file)
    assert isinstance(article, Article), article
    return data, article


def test_parser_version_names_the_reader():
    assert PARSER_VERSION == "collector/1.3"


def test_full_article_every_field():
    data, article = parse(collected_article())
    assert article.row() == expected_row(data)
    assert article.language_source == "declared"


def test_no_description():
    data, article = parse(collected_article(description=None))
    assert article.row() == expected_row(data, description=None)


def test_description_cut_off_with_date_and_site_is_kept_verbatim():
    description = "The council backed a three-year plan for protected bicycle lanes that…, 05.01.2026, Example Wire"
    data, article = parse(collected_article(description=description))
    assert article.row() == expected_row(data, description=description)


def test_no_second_title_no_site_name():
    data, article = parse(collected_article(with_second_title=False, site_name=None, publisher="none"))
    assert article.row() == expected_row(data, publisher=None)


def test_second_title_worded_differently():
    data, article = parse(collected_article(second_title="Riverton approves a new plan for bicycle lanes"))
    assert article.row() == expected_row(data)


def test_one_timestamp_is_the_published_time():
    data, article = parse(collected_article(timestamps=("2026-01-05T09:15+0000",)))
    assert article.row() == expected_row(data, modified_at=None)


def test_mixed_offsets_are_converted_to_utc():
    stamps = ("2026-01-05T12:00:30+03:00", "2026-01-05T12:15+0300", "2026-01-05T17:10:05.250+0530")
    data, article = parse(collected_article(timestamps=stamps))
    assert article.row() == expected_row(
        data,
        published_at=datetime(2026, 1, 5, 9, 15, tzinfo=UTC),
        modified_at=datetime(2026, 1, 5, 11, 40, 5, 250000, tzinfo=UTC),
    )


def test_zulu_and_no_seconds():
    data, article = parse(collected_article(timestamps=("2026-01-05T09:15Z", "2026-01-05T09:15Z", "2026-01-06T08:00:00Z")))
    assert article.row() == expected_row(data, modified_at=datetime(2026, 1, 6, 8, 0, tzinfo=UTC))


def test_modified_days_after_published():
    stamps = ("2026-01-05T09:15+0000", "2026-01-05T09:15+0000", "2026-02-11T16:02+0000")
    data, article = parse(collected_article(timestamps=stamps))
    assert article.row() == expected_row(data, modified_at=datetime(2026, 2, 11, 16, 2, tzinfo=UTC))


def test_no_section_and_no_tags():
    data, article = parse(collected_article(section=None, tags=(), about=()))
    assert article.row() == expected_row(data, section=None, tags=[])


def test_tags_without_section_when_the_about_lines_repeat_the_first_tag():
    # The about lines repeat tags, never the section: "riverton" repeated means it is a tag.
    data, article = parse(collected_article(section=None, tags=("riverton", "transport"), about=("riverton",)))
    assert article.row() == expected_row(data, section=None, tags=["riverton", "transport"])


def test_section_without_tags():
    data, article = parse(collected_article(tags=(), about=()))
    assert article.row() == expected_row(data, tags=[])


def test_tag_that_looks_like_a_genre_is_still_a_tag():
    data, article = parse(collected_article(tags=("news", "riverton"), about=("news",)))
    assert article.row() == expected_row(data, tags=["news", "riverton"])


def test_no_image():
    data, article = parse(collected_article(image_url=None))
    assert article.row() == expected_row(data, image_url=None)


def test_no_image_no_article_body_no_related():
    data, article = parse(collected_article(image_url=None, article_body="", related_urls=()))
    assert article.row() == expected_row(data, image_url=None, related_urls=[])


def test_no_keywords():
    data, article = parse(collected_article(keywords=None))
    assert article.row() == expected_row(data, keywords=[])


def test_several_related_urls():
    related = (
        "https://news.example.org/20251220/riverton-budget-vote-1000000.html",
        "https://news.example.org/20251101/harbour-bridge-repairs-0999990.html",
    )
    data, article = parse(collected_article(related_urls=related))
    assert article.row() == expected_row(data, related_urls=list(related))


def test_no_locale_line_language_is_detected():
    data, article = parse(collected_article(locale=None))
    assert article.row() == expected_row(data)
    assert article.language_source == "detected"


def test_language_that_cannot_be_determined_is_und():
    lines = ("RIVERTON - 42.", "1, 2, 3.")
    data, article = parse(collected_article(locale=None, body_lines=lines))
    assert article.row() == expected_row(data, body="\n\n".join(lines), language="und")
    assert article.language_source == "unknown"


def test_locale_lower_cases_the_language_part():
    data, article = parse(collected_article(locale="sr_RS"))
    assert article.row() == expected_row(data, language="sr")


BROKEN_FIRST = "Council members debated the cost for most of the afternoon, and several residents who live near"
BROKEN_SECOND = "the old harbour spoke about safety on the main bridge."


def test_paragraph_broken_before_a_lowercase_word_is_joined():
    lines = (LEAD, BROKEN_FIRST, BROKEN_SECOND, PARAGRAPHS[2])
    data, article = parse(collected_article(body_lines=lines))
    body = "\n\n".join((LEAD, f"{BROKEN_FIRST} {BROKEN_SECOND}", PARAGRAPHS[2]))
    assert article.row() == expected_row(data, body=body)


NAME_FIRST = "The plan was presented to the council on Monday afternoon by the head of the transport office,"
NAME_FIRST_BARE = "The plan was presented to the council on Monday afternoon by the head of the transport office"
NAME_SECOND = "Maria Okafor, who said the work would start in the spring."


def test_paragraph_broken_before_a_capitalized_name_joins_on_glued_evidence():
    # This articleBody glues real paragraphs with no space; the broken one runs on with a space.
    lines = (LEAD, PARAGRAPHS[0], NAME_FIRST_BARE, NAME_SECOND, PARAGRAPHS[2])
    evidence = PARAGRAPHS[0] + f"{NAME_FIRST_BARE} {NAME_SECOND}" + PARAGRAPHS[2]
    data, article = parse(collected_article(body_lines=lines, article_body=evidence))
    body = "\n\n".join((LEAD, PARAGRAPHS[0], f"{NAME_FIRST_BARE} {NAME_SECOND}", PARAGRAPHS[2]))
    assert article.row() == expected_row(data, body=body)


def test_paragraph_broken_before_a_capitalized_name_joins_on_spaced_evidence():
    lines = (LEAD, PARAGRAPHS[0], NAME_FIRST_BARE, NAME_SECOND)
    data, article = parse(collected_article(body_lines=lines))  # evidence joins everything with a space
    body = "\n\n".join((LEAD, PARAGRAPHS[0], f"{NAME_FIRST_BARE} {NAME_SECOND}"))
    assert article.row() == expected_row(data, body=body)


def test_short_unfinished_line_without_evidence_stays_separate():
    # No articleBody: a line of a subheading's length may be one, so the capitalized line after it stays apart.
    lines = (LEAD, "What the plan changes", NAME_SECOND)
    data, article = parse(collected_article(body_lines=lines, article_body=""))
    assert article.row() == expected_row(data, body="\n\n".join(lines))


def test_paragraph_that_really_ends_without_a_full_stop_stays_separate():
    ending = "Residents can send their comments to the transport office until the end of the month via the city website"
    lines = (LEAD, ending, PARAGRAPHS[2])
    evidence = ending + PARAGRAPHS[2]  # the articleBody glues the two paragraphs: a real break
    data, article = parse(collected_article(body_lines=lines, article_body=evidence))
    assert article.row() == expected_row(data, body="\n\n".join(lines))


def test_subheading_and_bullet_items_stay_separate():
    lines = (
        LEAD,
        "What the plan includes",
        "The transport office listed the main parts of the plan:",
        "- new lanes on the harbour bridge",
        "- a bike-sharing scheme near the university",
        "• safer crossings at six junctions",
        "1. a first stretch finished by summer",
        "Work in numbers",
        "The office expects",
        "forty kilometres of lanes to be ready in three years.",
        "The council also asked for:",
        "wider pavements",
        "more benches along the river",
    )
    data, article = parse(collected_article(body_lines=lines))
    body = "\n\n".join((
        *lines[:8],
        "The office expects forty kilometres of lanes to be ready in three years.",
        *lines[10:],
    ))
    assert article.row() == expected_row(data, body=body)


@pytest.mark.parametrize(
    "date_line",
    [
        "30 December 2025, 00:05 GMT",
        "5 de septiembre 2024, 18:39 GMT",
        "11:54 22.12.2025",
        "30. Dezember 2025, 00:05",
        "22 декабря 2025, 11:54",
        "December 30, 2025, 00:05 GMT",
    ],
)
def test_trailing_localized_related_date_line_is_dropped(date_line):
    data, article = parse(collected_article(related_date=date_line))
    assert article.row() == expected_row(data)


def test_date_shaped_last_line_without_a_related_article_is_kept():
    lines = (LEAD, *PARAGRAPHS, "30 December 2025, 00:05 GMT")
    data, article = parse(collected_article(body_lines=lines, related_urls=()))
    assert article.row() == expected_row(data, body="\n\n".join(lines), related_urls=[])


def test_last_line_that_looks_like_a_date_but_is_text_is_kept():
    ending = "12 March 2026, 09:00 GMT"
    lines = (LEAD, PARAGRAPHS[0], "The council set the date for its next vote on the budget.", ending)
    # The articleBody holds the line: it is text the article shows, not a related article's date.
    data, article = parse(collected_article(body_lines=lines))
    assert article.row() == expected_row(data, body="\n\n".join(lines))


def test_sentence_starting_with_a_date_is_kept():
    ending = "5 May 2026, the day the contracts are due, will be a public holiday."
    lines = (LEAD, PARAGRAPHS[0], ending)
    data, article = parse(collected_article(body_lines=lines, article_body=""))
    assert article.row() == expected_row(data, body="\n\n".join(lines))


def test_headline_repeated_in_other_case_starts_the_body():
    text = collected_article().replace(
        "\nRiverton Approves New Bicycle Lane Plan\n" + LEAD, "\nRIVERTON APPROVES NEW BICYCLE LANE PLAN\n" + LEAD
    )
    data, article = parse(text)
    assert article.row() == expected_row(data)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_ends(newline):
    data, article = parse(collected_article(newline=newline, final_newline=False))
    assert article.row() == expected_row(data)


def test_utf8_byte_order_mark():
    data, article = parse(b"\xef\xbb\xbf" + collected_article().encode("utf-8"))
    assert article.row() == expected_row(data)


RU = dict(
    url="https://ru.example.org/20260105/velodorozhki-1000001.html",
    title="В Ривертоне утвердили новый план велодорожек",
    site_name="Пример Новости",
    description="Городской совет поддержал трёхлетний план защищённых велодорожек.",
    section="города",
    tags=("ривертон", "транспорт"),
    about=("ривертон",),
    locale="ru_RU",
    keywords="велодорожки, городской совет",
    lead="РИВЕРТОН, 5 января - Городской совет Ривертона в понедельник утвердил новый план велосипедных дорожек.",
    paragraphs=(
        "План добавляет сорок километров защищённых дорожек за три года и соединяет старую гавань с университетом.",
        "Работы начнутся весной, когда будут подписаны контракты.",
    ),
    related_date="22 декабря 2025, 11:54",
)


def _ru_expected(data: bytes, **overrides) -> dict:
    fields = dict(
        id=hashlib.sha256(RU["url"].encode()).hexdigest()[:16],
        url=RU["url"],
        domain="ru.example.org",
        title=RU["title"],
        description=RU["description"],
        body="\n\n".join((RU["lead"], *RU["paragraphs"])),
        section="города",
        tags=["ривертон", "транспорт"],
        keywords=["велодорожки", "городской совет"],
        language="ru",
        publisher="Пример Новости",
    )
    fields.update(overrides)
    return expected_row(data, **fields)


def test_whole_windows_1251_russian_file():
    data, article = parse(collected_article(**RU).encode("cp1251"))
    assert article.row() == _ru_expected(data)


def test_windows_1251_file_with_quotes_after_capitals():
    # «ТАСС» in Windows-1251 holds byte pairs that are valid UTF-8 by chance.
    fields = dict(RU, paragraphs=(*RU["paragraphs"], "Об этом сообщило агентство «ТАСС»."))
    data, article = parse(collected_article(**fields).encode("cp1251"))
    assert article.row() == _ru_expected(data, body="\n\n".join((RU["lead"], *fields["paragraphs"])))


def test_cyrillic_language_detected_without_locale():
    data, article = parse(collected_article(**dict(RU, locale=None)))
    assert article.row() == _ru_expected(data)
    assert article.language_source == "detected"


@pytest.mark.parametrize(
    ("locale", "language", "lead", "paragraph"),
    [
        (
            "ar_AR",
            "ar",
            "ريفرتون - وافق مجلس المدينة يوم الاثنين على خطة جديدة لممرات الدراجات، بحسب المسؤولين.",
            "تضيف الخطة أربعين كيلومترا من الممرات المحمية خلال ثلاث سنوات وتربط الميناء القديم بالجامعة.",
        ),
        (
            "hi_IN",
            "hi",
            "रिवरटन - नगर परिषद ने सोमवार को साइकिल लेन की नई योजना को मंजूरी दी, अधिकारियों ने बताया।",
            "योजना तीन साल में चालीस किलोमीटर सुरक्षित लेन जोड़ती है और पुराने बंदरगाह को विश्वविद्यालय से जोड़ती है।",
        ),
    ],
)
def test_arabic_and_devanagari_text(locale, language, lead, paragraph):
    data, article = parse(collected_article(locale=locale, lead=lead, paragraphs=(paragraph,)))
    assert article.row() == expected_row(data, language=language, body=f"{lead}\n\n{paragraph}")
    # and detected from the text when the page declares nothing
    data, article = parse(collected_article(locale=None, lead=lead, paragraphs=(paragraph,)))
    assert article.row() == expected_row(data, language=language, body=f"{lead}\n\n{paragraph}")
    assert article.language_source == "detected"


@pytest.mark.parametrize("publisher", ["blocks", "logo", "name", "none"])
def test_publisher_block_shapes(publisher):
    data, article = parse(collected_article(publisher=publisher))
    assert article.row() == expected_row(data)


def test_publisher_from_the_block_when_the_header_names_no_site():
    data, article = parse(collected_article(site_name=None, publisher="name"))
    assert article.row() == expected_row(data)


def test_international_domain_in_ascii_form():
    url = "https://новости.example/20260105/plan-1.html"
    data, article = parse(collected_article(url=url))
    assert article.row() == expected_row(
        data, url=url, id=hashlib.sha256(url.encode()).hexdigest()[:16], domain="xn--b1amnebsh.example"
    )


def test_reject_reason_tables_document_every_code_once():
    from dataset_tools.records import BUILD_REJECT_REASONS

    assert set(REJECT_REASONS) == {
        "empty-file", "binary-file", "invalid-encoding", "not-an-article", "not-a-url", "truncated", "no-body",
        "missing-timestamp", "invalid-timestamp",
    }
    assert set(BUILD_REJECT_REASONS) == {  # decided by the build, not the reader
        "too-large", "unreadable", "schema-violation", "special-file", "link-outside-raw", "broken-link", "link-to-folder",
        "path-too-long", "name-not-utf8",
    }
    assert all(isinstance(text, str) and text for text in (*REJECT_REASONS.values(), *BUILD_REJECT_REASONS.values()))


def test_article_body_that_includes_the_lead_is_recognised():
    data, article = parse(collected_article(article_body=" ".join((LEAD, *PARAGRAPHS))))
    assert article.row() == expected_row(data)


def test_glued_article_body_after_a_short_first_paragraph_is_recognised():
    lines = (LEAD, "Work starts soon.", PARAGRAPHS[0], PARAGRAPHS[1])
    data, article = parse(collected_article(body_lines=lines, article_body="".join(lines[1:]), image_url=None))
    assert article.row() == expected_row(data, body="\n\n".join(lines), image_url=None)


def test_text_written_decomposed_gives_the_same_row_as_composed():
    # Accents as a letter plus a combining mark (NFD), zero-width marks at line ends and CRLF
    # line ends: the row is the one the plain, composed page gives (only the file's hash differs).
    title = "Riverton Café Approves New Bicycle Lane Plan"
    paragraphs = (
        "The café owners near the old harbour welcomed the plan, and the council said the work",
        "would start in the spring once the contracts are signed.",
        "Résidents asked about safety on the main bridge.",
    )
    composed = collected_article(title=title, paragraphs=paragraphs, article_body=" ".join(paragraphs))
    decomposed = unicodedata.normalize("NFD", composed).replace("Riverton Café", "\u200bRiverton Café")
    decomposed = "\r\n".join(decomposed.split("\n"))
    assert decomposed != composed and not unicodedata.is_normalized("NFC", decomposed)
    _, plain = parse(composed)
    data, article = parse(decomposed)
    assert article.row() == {**plain.row(), "source_sha256": hashlib.sha256(data).hexdigest()}
    assert article.title == title
    assert article.body == "\n\n".join((LEAD, f"{paragraphs[0]} {paragraphs[1]}", paragraphs[2]))
