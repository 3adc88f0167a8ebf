"""Classes of layout variants seen on real pages of several outlets, each reproduced in the
project's own words, every field asserted, and the fallback codes the reader records."""

from __future__ import annotations

import pytest

from dataset_tools.readers.collector import FALLBACKS
from dataset_tools.records import ROW_FIELDS, Article
from rawfiles import LEAD, PARAGRAPHS, collected_article
from test_reader import expected_row, parse

RELATED = (
    "https://news.example.org/20251220/riverton-budget-vote-1000000.html",
    "https://news.example.org/20251101/harbour-bridge-repairs-0999990.html",
)


# The related article's date line ends the visible page in many localized shapes: without a
# year, with the zone before the date, on a 12-hour clock, with month names in other languages
# and scripts, a weekday, or the date after the clock.
@pytest.mark.parametrize(
    "date_line",
    [
        "4 March, 16:20 GMT",
        "4 March, 16:20",
        "March 4, 4:20 PM",
        "Mar. 4, 2026, 4:20 p.m. EST",
        "16:20 GMT 04.03.2026",
        "16:20 04.03.2026",
        "16:20, 4 March 2026",
        "Wednesday, 4 March 2026, 16:20",
        "4 de marzo, 16:20 GMT",
        "4 de março de 2026, 16:20",
        "4 mars 2026 à 16h20",
        "4. März 2026 um 16:20 Uhr",
        "4 Mart 2026, 16:20 GMT+3",
        "4 марта 2026 г., 16:20",
        "4 марта, 16:20 МСК",
        "4 مارس 2026، 16:20 GMT",
        "٤ مارس ٢٠٢٦، ١٦:٢٠",
        "4 मार्च 2026, 16:20 IST",
        "4 tháng 3, 16:20 GMT",
        "4 Tháng Ba 2026, 16:20",
        "2026年3月4日 16:20",
        "2026. március 4. 16:20",
        "04/03/2026 16:20 (UTC+01:00)",
    ],
)
def test_related_date_in_other_localized_shapes_is_dropped(date_line):
    data, article = parse(collected_article(related_date=date_line))
    assert article.row() == expected_row(data)
    assert article.fallbacks == ()


def test_a_date_line_for_each_related_article_is_dropped():
    data, article = parse(collected_article(related_urls=RELATED, related_date="4 March, 16:20 GMT\n2 March, 08:05 GMT"))
    assert article.row() == expected_row(data, related_urls=list(RELATED))


def test_no_more_date_lines_dropped_than_related_articles():
    # One related article: of two date-shaped last lines, the one before stays text.
    lines = (LEAD, *PARAGRAPHS, "2 March, 08:05 GMT")
    data, article = parse(collected_article(body_lines=lines, related_date="4 March, 16:20 GMT", article_body=""))
    assert article.row() == expected_row(data, body="\n\n".join(lines))


def test_related_article_in_a_photo_folder_is_a_related_article():
    related = ("https://news.example.org/photo/20251220/riverton-harbour-in-pictures-1000000.html",)
    data, article = parse(collected_article(related_urls=related, related_date="20 December 2025, 10:00 GMT"))
    assert article.row() == expected_row(data, related_urls=list(related))


@pytest.mark.parametrize("ending", ["--Example Wire", "/rk", "(Reporting by the Riverton desk)", "Riverton, 4 March"])
def test_short_last_lines_that_are_no_date_are_kept(ending):
    lines = (LEAD, *PARAGRAPHS, ending)
    data, article = parse(collected_article(body_lines=lines))
    assert article.row() == expected_row(data, body="\n\n".join(lines))


def test_date_line_dropped_without_an_article_body_is_recorded_as_a_guess():
    data, article = parse(collected_article(article_body="", related_date="4 March, 16:20 GMT"))
    assert article.row() == expected_row(data)
    assert article.fallbacks == ("body:date-guessed",)


# A tag may repeat the section's name: the page's tags are distinct, so only the section can
# share a name with one of them, whatever its case and wherever the tag comes.
@pytest.mark.parametrize(
    ("section", "tags", "about"),
    [
        ("cities", ("cities", "riverton", "transport"), ("riverton", "transport")),
        ("Cities", ("cities", "riverton", "transport"), ("cities", "riverton")),
        ("cities", ("riverton", "cities", "transport"), ("riverton",)),
        ("cities", ("cities", "riverton"), ()),
        ("Cidades do Sul", ("cidades do sul", "riverton"), ("riverton",)),
    ],
)
def test_tag_repeating_the_section_name(section, tags, about):
    data, article = parse(collected_article(section=section, tags=tags, about=about))
    assert article.row() == expected_row(data, section=section, tags=list(tags))
    assert article.fallbacks == ()


def test_tag_repeating_the_section_name_without_image_or_article_body():
    fields = dict(section="cities", tags=("cities", "riverton"), about=(), image_url=None, article_body="")
    data, article = parse(collected_article(**fields))
    assert article.row() == expected_row(data, section="cities", tags=["cities", "riverton"], image_url=None)


def test_about_lines_right_after_the_tags_still_show_a_page_without_section():
    # No image, articleBody or related link between the tags and the about lines.
    fields = dict(section=None, tags=("riverton", "transport", "cycling"), about=("riverton", "transport"),
                  image_url=None, article_body="", related_urls=())
    data, article = parse(collected_article(**fields))
    assert article.row() == expected_row(
        data, section=None, tags=["riverton", "transport", "cycling"], image_url=None, related_urls=[]
    )


@pytest.mark.parametrize("section", ["news", "News", "NEWS"])
def test_section_named_like_the_genre_line_of_the_publisher_blocks(section):
    # No about lines; the publisher blocks end with the genre "News": no evidence about the section.
    data, article = parse(collected_article(section=section, about=()))
    assert article.row() == expected_row(data, section=section)


def test_tags_joining_two_short_names_are_no_locale():
    # "us-iran" has the letters of a language and a script subtag, but not their case.
    tags = ("us-iran", "riverton", "eu-asia")
    data, article = parse(collected_article(tags=tags, about=("us-iran",)))
    assert article.row() == expected_row(data, tags=list(tags))
    # and a real script subtag still declares the language
    data, article = parse(collected_article(tags=tags, about=("us-iran",), locale="sr-Latn"))
    assert article.row() == expected_row(data, tags=list(tags), language="sr")


def test_tag_named_like_the_site_is_still_a_tag():
    tags = ("riverton", "Example Wire", "transport")
    data, article = parse(collected_article(tags=tags, about=("riverton",)))
    assert article.row() == expected_row(data, tags=list(tags))


def test_publisher_blocks_of_a_name_alone_right_after_the_tags():
    # No image, articleBody or related link: the site name after the tags opens the publisher lines.
    fields = dict(image_url=None, article_body="", related_urls=(), about=(), publisher="name")
    data, article = parse(collected_article(**fields))
    assert article.row() == expected_row(data, image_url=None, related_urls=[])


def test_second_title_with_the_outlet_and_date_added_is_no_site_name():
    title = "Riverton Votes Yes"
    fields = dict(title=title, second_title=f"{title} - Example Wire, 05.01.2026", site_name=None, description=None)
    data, article = parse(collected_article(**fields))
    assert article.row() == expected_row(data, title=title, description=None)
    assert article.fallbacks == ("publisher:from-blocks",)


def test_short_description_without_a_site_name_before_publisher_blocks():
    # The publisher blocks (with an e-mail) do not repeat the line: it is no site name.
    description = "Council backs bicycle lanes"
    data, article = parse(collected_article(site_name=None, description=description))
    assert article.row() == expected_row(data, description=description)
    assert article.fallbacks == ("publisher:from-blocks",)
    # with no publisher lines at all, only its shape tells (and it is taken for the site's name)
    data, article = parse(collected_article(site_name=None, description=description, publisher="none"))
    assert article.row() == expected_row(data, description=None, publisher=description)
    assert article.fallbacks == ("header:by-shape",)


def test_description_in_a_script_without_spaces_is_no_site_name():
    description = "里弗顿市议会周一批准了一项为期三年的自行车道计划,新车道将连接老港口和大学区。"
    data, article = parse(collected_article(site_name=None, description=description, publisher="none"))
    assert article.row() == expected_row(data, description=description, publisher=None)
    assert article.fallbacks == ("header:by-shape",)


def test_publisher_blocks_named_unlike_the_site_right_after_the_tags():
    # No image, articleBody or related link: a name followed by an e-mail address opens the blocks.
    text = collected_article(image_url=None, article_body="", related_urls=(), about=()).replace(
        "\nExample Wire\ndesk@example.org", "\nExample Wire Media Group\ndesk@example.org"
    )
    data, article = parse(text)
    assert article.row() == expected_row(data, image_url=None, related_urls=[])


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ('Riverton Council Backs "Green Lanes" Plan', "Riverton Council Backs “Green Lanes” Plan"),
        ("Riverton Council Backs Plan - Mayor", "Riverton Council Backs Plan – Mayor"),
        ("Le conseil de Riverton adopte le plan « vélo »", 'Le conseil de Riverton adopte le plan "vélo"'),
    ],
)
def test_headline_shown_with_other_quotation_marks_or_dashes(title, shown):
    text = collected_article(title=title).replace(f"\n{title}\n{LEAD}", f"\n{shown}\n{LEAD}")
    data, article = parse(text)
    assert article.row() == expected_row(data, title=title)


# Fallback codes: only for what the reader had to guess.
def test_every_fallback_code_is_documented():
    assert set(FALLBACKS) == {
        "language:detected", "language:unknown", "header:by-shape", "publisher:from-blocks",
        "body:paragraphs-guessed", "body:date-guessed",
    }
    assert all(isinstance(text, str) and text for text in FALLBACKS.values())
    assert "fallbacks" not in ROW_FIELDS and "language_source" not in ROW_FIELDS


def test_declared_fields_record_no_fallback():
    _, article = parse(collected_article())
    assert article.fallbacks == ()


def test_detected_and_unknown_language_are_fallbacks():
    _, detected = parse(collected_article(locale=None))
    lines = ("RIVERTON - 42.", "1, 2, 3.")
    _, unknown = parse(collected_article(locale=None, body_lines=lines))
    assert (detected.language, detected.fallbacks) == ("en", ("language:detected",))
    assert (unknown.language, unknown.fallbacks) == ("und", ("language:unknown",))


def test_site_name_and_description_told_apart_by_shape_alone():
    # No publisher lines repeat the site name: only its place and shape tell it from the description.
    data, article = parse(collected_article(publisher="none"))
    assert article.row() == expected_row(data)
    assert article.fallbacks == ("header:by-shape",)


def test_publisher_from_the_blocks_is_a_fallback():
    data, article = parse(collected_article(site_name=None, description=None))
    assert article.row() == expected_row(data, description=None)
    assert article.fallbacks == ("publisher:from-blocks",)
    # a description alone between the titles and the timestamps: its shape tells it is no site name
    data, article = parse(collected_article(site_name=None))
    assert article.row() == expected_row(data)
    assert article.fallbacks == ("header:by-shape", "publisher:from-blocks")


# A paragraph broken before a capitalized word (a name), on a page without an articleBody line.
def test_long_unfinished_line_joins_the_next_without_evidence():
    first = "The plan was presented to the council on Monday afternoon by the head of the transport office"
    second = "Maria Okafor, who said the work would start in the spring."
    data, article = parse(collected_article(body_lines=(LEAD, first, second), article_body=""))
    assert article.row() == expected_row(data, body=f"{LEAD}\n\n{first} {second}")
    assert article.fallbacks == ("body:paragraphs-guessed",)
    # with the articleBody running the two lines on, nothing is guessed
    data, article = parse(collected_article(body_lines=(LEAD, first, second)))
    assert article.row() == expected_row(data, body=f"{LEAD}\n\n{first} {second}")
    assert article.fallbacks == ()


def test_subheading_without_evidence_stays_separate_and_is_recorded():
    lines = (LEAD, "What the plan changes", "Maria Okafor, who leads the transport office, explained the plan.")
    data, article = parse(collected_article(body_lines=lines, article_body=""))
    assert article.row() == expected_row(data, body="\n\n".join(lines))
    assert article.fallbacks == ("body:paragraphs-guessed",)


# A line ending with a comma or inside brackets is cut mid-sentence, in scripts with or without
# case, with or without an articleBody line to show it.
@pytest.mark.parametrize("article_body", [None, ""])
@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("وقال رئيس المجلس إن العمل سيبدأ في الربيع،", "بعد توقيع العقود مع الشركات."),
        ("परिषद के अध्यक्ष ने कहा कि काम वसंत में शुरू होगा,", "जब ठेकों पर हस्ताक्षर हो जाएंगे।"),
        ("市议会主席表示,工程将由交通局局长玛丽亚·奥卡福(Maria", "Okafor)负责,并在春季开工。"),
        ("Short,", "Maria Okafor said so."),
    ],
)
def test_line_cut_after_a_comma_or_inside_brackets_joins(first, second, article_body):
    lines = (LEAD, first, second)
    evidence = article_body if article_body is not None else f"{first} {second}"
    data, article = parse(collected_article(body_lines=lines, article_body=evidence))
    assert article.row() == expected_row(data, body=f"{LEAD}\n\n{first} {second}")
    assert article.fallbacks == ()


def test_short_broken_line_right_after_the_lead_joins_on_glued_evidence_found_later():
    # The articleBody lacks the lead and glues real paragraphs: the broken junction, a space,
    # comes before any paragraph end the evidence shows.
    first, second = "Speaking to", "Maria Okafor, the head of the transport office said the lanes would open in May."
    lines = (LEAD, first, second, PARAGRAPHS[0], PARAGRAPHS[1])
    evidence = f"{first} {second}" + PARAGRAPHS[0] + PARAGRAPHS[1]
    data, article = parse(collected_article(body_lines=lines, article_body=evidence))
    assert article.row() == expected_row(data, body="\n\n".join((LEAD, f"{first} {second}", *PARAGRAPHS[:2])))
    assert article.fallbacks == ()


def test_line_cut_inside_square_brackets_joins():
    first = "“The council [of Riverton"
    second = "Harbour District] will vote again,” she said."
    lines = (LEAD, first, second)
    data, article = parse(collected_article(body_lines=lines, article_body=""))
    assert article.row() == expected_row(data, body=f"{LEAD}\n\n{first} {second}")


def test_quotation_after_a_line_ending_with_a_comma_stays_its_own_paragraph():
    lines = (LEAD, "The head of the transport office told the council on Monday,", "“We will start in the spring.”")
    data, article = parse(collected_article(body_lines=lines, article_body=""))
    assert article.row() == expected_row(data, body="\n\n".join(lines))
    assert article.fallbacks == ()


def test_fallbacks_survive_as_report_metadata_only():
    data, article = parse(collected_article(locale=None, site_name=None, description=None))
    assert isinstance(article, Article)
    assert article.fallbacks == ("language:detected", "publisher:from-blocks")
    assert "fallbacks" not in article.row()
