"""`podkit validate` rules for podcast:value, trailer, location, podroll and txt, on any
feed's parsed XML; the checks themselves are toolkit.standards.p20's (which `podkit check`
applies to the TOML), so the two never disagree."""
from __future__ import annotations

from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element

from toolkit.feed.findings import Report
from toolkit.standards import p20 as spec


def _text(el: Element) -> str:
    return (el.text or "").strip()


def check_channel(channel: Element, ns: str, report: Report) -> None:
    """The channel's value blocks, trailers, location, podroll and txt."""
    c = "channel"
    check_common(channel, c, ns, report)
    for t in channel.findall(ns + "trailer"):
        f = "podcast:trailer"
        if problem := spec.text_problem(_text(t), "the title (its text)", spec.MAX_TITLE):
            report.error("p20.trailer", c, f, problem)
        if not (t.get("url") or "").strip():
            report.error("p20.trailer", c, f + "@url", "podcast:trailer needs a url")
        try:
            when = parsedate_to_datetime(t.get("pubdate") or "")
        except (TypeError, ValueError, IndexError):
            when = None
        if when is None:
            report.error("p20.trailer", c, f + "@pubdate",
                         f"{t.get('pubdate')!r} is not an RFC 2822 date")
        length, season = t.get("length"), t.get("season")
        if length is not None and not length.isdigit():
            report.error("p20.trailer", c, f + "@length", f"{length!r} is not a size in bytes")
        if season is not None and not (season.isdigit() and int(season) > 0):
            report.error("p20.trailer", c, f + "@season", f"{season!r} is not a season number")
        if problem := spec.mime_problem(t.get("type")):
            report.warning("p20.trailer", c, f + "@type", problem)
    for roll in channel.findall(ns + "podroll"):
        items = roll.findall(ns + "remoteItem")
        if not items:
            report.error("p20.podroll", c, "podcast:podroll", "holds no podcast:remoteItem")
        for r in items:
            if problem := spec.guid_problem(r.get("feedGuid"), "feedGuid"):
                report.error("p20.podroll", c, "podcast:remoteItem@feedGuid", problem)


def check_common(el: Element, where: str, ns: str, report: Report) -> None:
    """What channel and item share: value blocks, location and txt."""
    for v in el.findall(ns + "value"):
        f = "podcast:value"
        for attr in ("type", "method"):
            if problem := spec.slug_problem(v.get(attr), attr):
                report.error("p20.value4value", where, f"{f}@{attr}", problem)
        if problem := spec.suggested_problem(v.get("suggested")):
            report.error("p20.value4value", where, f + "@suggested", problem)
        splits = []
        for r in v.findall(ns + "valueRecipient"):
            fr = "podcast:valueRecipient"
            if problem := spec.slug_problem(r.get("type"), "type"):
                report.error("p20.value4value", where, fr + "@type", problem)
            if not (r.get("address") or "").strip():
                report.error("p20.value4value", where, fr + "@address", "address is required")
            split = r.get("split")
            if problem := spec.split_problem(split) if split is not None else "split is required":
                report.error("p20.value4value", where, fr + "@split", problem)
            else:
                splits.append(int(split or 0))
            if r.get("fee") not in (None, "true", "false"):
                report.error("p20.value4value", where, fr + "@fee",
                             f"{r.get('fee')!r}; use true or false")
        if problem := spec.recipients_problem(splits):
            report.error("p20.value4value", where, f + "/podcast:valueRecipient", problem)
    for loc in el.findall(ns + "location"):
        f = "podcast:location"
        for problem in (spec.text_problem(_text(loc), "the name (its text)", spec.MAX_TITLE),
                        spec.geo_problem(loc.get("geo")), spec.osm_problem(loc.get("osm")),
                        spec.rel_problem(loc.get("rel"))):
            if problem:
                report.error("p20.location", where, f, problem)
    for t in el.findall(ns + "txt"):
        purpose = t.get("purpose")
        for problem in (spec.text_problem(t.text or "", "the text", spec.MAX_TXT),
                        spec.text_problem(purpose, "purpose", spec.MAX_PURPOSE)
                        if purpose is not None else None):
            if problem:
                report.error("p20.txt", where, "podcast:txt", problem)
