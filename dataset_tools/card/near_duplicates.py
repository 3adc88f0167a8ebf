"""The card's near-duplicates section: what report.json's `near_duplicates` says, as the
template shows it (see the `near_duplicates` block of templates/dataset_card.md).

In: report.json's summary. Out: the values of the block, or None when the build did not look
for near-duplicates (`near_duplicates = "off"`).
"""

from __future__ import annotations

from dataset_tools.card.escape import md_text
from dataset_tools.report import ReportSummary

TOP_ROWS = 20


def near_duplicate_values(report: ReportSummary) -> dict | None:
    """The block's values: mode, threshold, groups, rows linked (and their share of the
    articles), the outlets with the most copies, the outlet pairs that copy most, the filter."""
    links = report.near_duplicate_links
    if not links:
        return None
    articles = report.rows + (links["rows"] if links["mode"] == "drop" else 0)
    domains = links.get("by_domain") or []
    return {
        "mode": links["mode"],
        "threshold": links["threshold"],
        "groups": links["groups"],
        "rows": links["rows"],
        "share": f"{100 * links['rows'] / articles:.1f}%" if articles else "-",
        "outlets": [
            {"name": md_text(d["domain"], 80), "copies": d["copies"], "articles": d["articles"], "share": f"{100 * d['share']:.1f}%"}
            for d in domains[:TOP_ROWS]
        ],
        "more_outlets": max(0, len(domains) - TOP_ROWS),
        "pairs": [{"copy_outlet": md_text(p["copy"], 80), "original_outlet": md_text(p["original"], 80), "rows": p["rows"]} for p in links.get("top_pairs") or []],
        "filter": links["filter"],
    }
