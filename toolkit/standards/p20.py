"""What the podcastindex namespace asks of value, trailer, location, podroll and txt
(docs/tags/*.md of Podcastindex-org/podcast-namespace), as pure checks.

`podkit check` applies them to feeds/<id>.toml and episode.toml (toolkit.config.p20conf)
and `podkit validate` to any feed's XML (toolkit.feed.p20rules): one rule, two places
it is met. Each function returns a problem sentence, or None. Stdlib only, no I/O.
"""
from __future__ import annotations

import re
import uuid

#: Lengths the spec sets (characters).
MAX_TITLE = 128          # podcast:trailer, podcast:location text
MAX_TXT = 4000           # podcast:txt text
MAX_PURPOSE = 128        # podcast:txt purpose
#: podcast:location rel values.
LOCATION_RELS = ("subject", "creator")
#: A service or method slug (value type, method, recipient type): lower-case, as the
#: spec's value slug list writes them ("lightning", "keysend", "node", "lnaddress").
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
#: RFC 5870 geo URI: latitude, longitude, optional altitude, optional ;u= uncertainty.
_GEO_RE = re.compile(r"^geo:(-?\d{1,2}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)(?:,-?\d+(?:\.\d+)?)?"
                     r"(?:;[a-z0-9-]+=[A-Za-z0-9.\-]+)*$")
#: OpenStreetMap object: N(ode), W(ay) or R(elation), its id, optional #revision.
_OSM_RE = re.compile(r"^[NWR]\d+(?:#\d+)?$")
_DECIMAL_RE = re.compile(r"^\d+(?:\.\d+)?$")


def slug_problem(value: str | None, what: str) -> str | None:
    """A missing or malformed value/method/recipient type."""
    if not value:
        return f"{what} is required"
    if not _SLUG_RE.match(value):
        return f"{what} {value!r} is not a service slug (lower-case, e.g. \"lightning\")"
    return None


def split_problem(value: object) -> str | None:
    """A recipient's split: a whole number of shares, not negative."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return None
        return f"split {value!r} is not a whole number of shares"
    return None if value >= 0 else f"split {value} is negative"


def suggested_problem(value: str | None) -> str | None:
    """`suggested`: a plain decimal amount ("0.00000005000")."""
    if value is None or _DECIMAL_RE.match(value):
        return None
    return f"suggested {value!r} is not a decimal amount"


def recipients_problem(splits: list[int]) -> str | None:
    """A value block pays someone: at least one recipient, and shares summing above 0."""
    if not splits:
        return "a value block needs at least one recipient"
    if sum(splits) <= 0:
        return "the recipients' splits add up to 0: nobody would be paid"
    return None


def text_problem(text: str | None, what: str, limit: int) -> str | None:
    """A required text within the spec's length."""
    if not text or not text.strip():
        return f"{what} is required"
    if len(text) > limit:
        return f"{what} is {len(text)} characters; the spec allows at most {limit}"
    return None


def geo_problem(geo: str | None) -> str | None:
    """An RFC 5870 geo URI with a latitude within ±90 and a longitude within ±180."""
    if geo is None:
        return None
    m = _GEO_RE.match(geo)
    if not m or abs(float(m.group(1))) > 90 or abs(float(m.group(2))) > 180:
        return f"geo {geo!r} is not a geo URI (\"geo:51.5074,-0.1278\")"
    return None


def osm_problem(osm: str | None) -> str | None:
    """An OpenStreetMap object reference: N, W or R, the id, an optional #revision."""
    if osm is None or _OSM_RE.match(osm):
        return None
    return f"osm {osm!r} is not an OpenStreetMap reference (\"R113314\")"


def rel_problem(rel: str | None) -> str | None:
    """podcast:location rel: subject or creator."""
    if rel is None or rel in LOCATION_RELS:
        return None
    return f"rel {rel!r} is not one of {', '.join(LOCATION_RELS)}"


def guid_problem(guid: str | None, what: str = "feed_guid") -> str | None:
    """A podcast:guid reference: a UUID."""
    if not guid:
        return f"{what} is required"
    try:
        uuid.UUID(guid)
    except ValueError:
        return f"{what} {guid!r} is not a UUID (a show's podcast:guid)"
    return None


def mime_problem(mime: str | None) -> str | None:
    """A trailer's type: an audio or video MIME type."""
    if mime is None or re.match(r"^(audio|video)/[a-z0-9.+-]+$", mime):
        return None
    return f"type {mime!r} is not an audio or video MIME type"
