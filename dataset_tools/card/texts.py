"""Fixed statements about the data that the card and croissant.json both make.

They hold for any build of this tool (they describe how the data is collected and what it
is), so they live here once rather than in settings; dataset-specific facts come from the data.
"""

DATA_COLLECTION = (
    "A collector saved each public news web page as one UTF-8 text file (the page's meta tags "
    "and JSON-LD metadata, one value per line, then the visible article). dataset-tools parses "
    "every file into one row or a recorded reject; duplicates of the same URL are resolved to "
    "the latest version. Nothing is annotated or rewritten by hand."
)

DATA_PREPROCESSING = (
    "Fields are extracted from the page's own metadata; timestamps are converted to UTC; the "
    "body is the visible lead and paragraphs joined by a blank line; the language is the page's "
    "declared locale or, where it declares none, detected from the text ('und' when neither works)."
)

LIMITATIONS = (
    "Only what the collector saved is included: coverage of outlets, languages and dates follows "
    "the collection, not the news. Extraction is automatic and can miss or split paragraphs on "
    "unusual page layouts. Descriptions can be cut off by the outlet. Nothing in the dataset "
    "has been fact-checked."
)

BIASES = (
    "The articles include news from state-affiliated and other outlets with editorial lines of "
    "their own; texts can present one side of a conflict or issue. Outlets, languages and topics "
    "are represented in proportion to what was collected, not to any balanced design. The "
    "dataset reports what outlets published; it does not imply that any statement is true."
)

PERSONAL_INFORMATION = (
    "News articles name public figures and sometimes private persons, and can mention health, "
    "political opinions, religion or crimes. Publisher contact details found in page metadata "
    "(e-mail, phone) are not copied into the rows. No other personal data is added."
)
