"""Reads and validates `feeds/<feed-id>.toml` into a `model.Show`.

Every problem is collected (see toolkit.config.tomlread) so `podkit check` can list them all.
"""
from __future__ import annotations

import re
import urllib.parse
import uuid
from dataclasses import replace
from pathlib import Path

from toolkit import environ
from toolkit.config import cutconf, presets, speechconf
from toolkit.config.delivery import read_targets
from toolkit.config.tomlread import Table, parse_toml
from toolkit.errors import Problem, Severity
from toolkit.model import (
    Category,
    Funding,
    Owner,
    Person,
    Preset,
    PublishTarget,
    Show,
    ShowType,
    TargetKind,
    is_slug,
    podcast_guid,
)
from toolkit.standards import artwork as art
from toolkit.standards import categories, renditions, stdcheck
from toolkit.standards.objectkeys import prefix_problem as key_prefix_problem
from toolkit.standards.prefix import problem as prefix_problem
from toolkit.store.layout import Layout

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: podcast:medium values (Podcasting 2.0), each also allowed with the list suffix "L".
MEDIUMS = {"podcast", "music", "video", "film", "audiobook", "newsletter", "blog",
           "publisher", "course"}
#: Apple's limit on the channel and item descriptions.
MAX_DESCRIPTION_BYTES = 4000


def display(path: Path, root: Path) -> str:
    """A path as messages show it: relative to the show folder when inside it."""
    # The strings first (paths are normalised, so a prefix is a parent): input hashes
    # name every source of 2,000 episodes this way on each command.
    text, top = str(path), str(root)
    if len(text) > len(top) + 1 and text.startswith(top) and text[len(top)] == "/" \
            and top != "/":
        return text[len(top) + 1:]
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def check_https(t: Table, key: str, url: str | None) -> None:
    """Record a problem unless `url` is a usable https URL (stdcheck.https_url_problem)."""
    problem = stdcheck.https_url_problem(url) if url is not None else None
    if problem:
        t.error(key, problem)


def check_endpoint(t: Table, key: str, url: str | None) -> None:
    """Record a problem unless `url` is an https URL as `check_https` wants it, or an
    http:// URL of this machine (127.0.0.1, ::1, localhost: a local test hub or relay).

    A WebSub hub or podping endpoint elsewhere must be https: the podping token travels in
    a request header.
    """
    if url is None or not url.startswith("http://"):
        check_https(t, key, url)
        return
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is not None and "@" in parts.netloc:
        # The hub is named in the feed (atom:link rel="hub"): credentials would be published;
        # the URL is not echoed, as it holds them.
        t.error(key, "holds a user name or password (user:password@): it would be published in "
                     "the feed; remove it")
    elif host not in ("127.0.0.1", "::1", "localhost"):
        t.error(key, f"must be an https:// URL (http:// only on 127.0.0.1), not {url!r}")


def _persons(t: Table, key: str) -> tuple[Person, ...]:
    out = []
    for p in t.tables(key):
        name = p.text("name", required=True)
        role = p.text("role", default="host") or "host"
        group = p.text("group", default="cast") or "cast"
        img = p.text("img")
        href = p.text("href")
        check_https(p, "img", img)
        check_https(p, "href", href)
        p.finish()
        if name:
            out.append(Person(name=name, role=role.lower(), group=group.lower(), img=img, href=href))
    return tuple(out)


def read_persons(t: Table, key: str) -> tuple[Person, ...]:
    """The `[[persons]]` tables of a feed or episode."""
    return _persons(t, key)


def _categories(t: Table) -> tuple[Category, ...]:
    out = []
    names = t.strings("categories")
    if t.has("categories") and not names:
        t.error("categories", "list at least one Apple category")
    if not t.has("categories"):
        t.error("categories", "missing (required): e.g. [\"News > Politics\"]")
    for i, text in enumerate(names):
        name, _, sub = (s.strip() for s in text.partition(">"))
        problem = categories.check_category(name, sub or None)
        if problem:
            t.error(f"categories[{i}]", problem)
        else:
            out.append(Category(name, sub or None))
    return tuple(out)


def _publish(t: Table | None, root: Path, feed_id: str) -> PublishTarget:
    env = environ.publish_overrides()
    fields: dict[str, str | None] = {}
    notify: dict[str, str | None] = {}
    directory, public_read, kind_text = f"build/public/{feed_id}", False, "local"
    if t is not None:
        kind_text = t.text("target", default="local") or "local"
        directory = t.text("directory", default=directory) or directory
        fields = {k: t.text(k) for k in ("bucket", "prefix", "endpoint_url", "region",
                                         "addressing_style")}
        public_read = bool(t.flag("public_read", default=False))
        notify = {k: t.text(k) for k in ("websub_hub", "podping_url")}
        for key, url in notify.items():
            check_endpoint(t, key, url)
        t.finish()
        if fields["addressing_style"] not in (None, "auto", "path", "virtual"):
            t.error("addressing_style", "must be auto, path or virtual")
        if fields["endpoint_url"] and not re.match(r"^https?://", fields["endpoint_url"]):
            t.error("endpoint_url", "must start with https:// (or http:// for a local test server)")
    if env.get("bucket"):
        kind_text = "s3"  # PODKIT_S3_BUCKET points `make publish` at a bucket without edits
    try:
        kind = TargetKind(kind_text)
    except ValueError:
        if t is not None:
            t.error("target", f"must be 'local' or 's3', not {kind_text!r}")
        kind = TargetKind.LOCAL
    s3 = _s3_fields(fields, env)
    if kind is TargetKind.S3 and not s3["bucket"] and t is not None:
        t.error("bucket", "required when target = \"s3\" (or set PODKIT_S3_BUCKET)")
    if kind is TargetKind.S3 and t is not None and (why := key_prefix_problem(s3["prefix"] or "")):
        t.error("prefix", why)
    target_dir = Path(directory) if Path(directory).is_absolute() else root / directory
    # A local target inside the sources would overwrite them (publish/local.py refuses it too).
    if t is not None and kind is TargetKind.LOCAL and (why := Layout(root).overlaps_sources(target_dir)):
        t.error("directory", why)
    return PublishTarget(kind=kind, public_read=public_read, directory=target_dir,
                         **s3, **notify)  # type: ignore[arg-type]


def _s3_fields(fields: dict[str, str | None], env: dict[str, str]) -> dict[str, str | None]:
    merged = {k: v for k, v in fields.items() if v}
    merged.update(env)  # the environment wins: `make publish` points at a bucket without edits
    prefix = (merged.get("prefix") or "").strip("/")
    return {"bucket": merged.get("bucket"), "prefix": prefix + "/" if prefix else "",
            "endpoint_url": merged.get("endpoint_url"), "region": merged.get("region"),
            "addressing_style": merged.get("addressing_style") or "auto"}


def _preset(t: Table) -> Preset:
    name = t.text("preset", default="podcast") or "podcast"
    if name not in presets.names():
        t.error("preset", f"unknown preset {name!r} (choose from {', '.join(presets.names())})")
        name = "podcast"
    loud = t.table("loudness")
    enc = t.table("encoding")
    lvals = read_loudness(loud) if loud else {}
    evals = read_encoding(enc) if enc else {}
    preset = presets.apply_overrides(presets.get(name), lvals, evals)
    processing = speechconf.read(t)
    return replace(preset, processing=processing) if processing is not None else preset


#: Bit depths of the "wav" rendition (toolkit/audio/encode.py has a PCM codec for each).
WAV_BITS = (16, 24, 32)


def read_encoding(enc: Table) -> dict[str, object]:
    """The values of an [encoding] override table (feed or episode), checked.

    `renditions` lists the formats to build (toolkit.standards.renditions); the old `aac = true`
    and `wav = true` are aliases that add "aac" and "wav" to it.
    """
    evals: dict[str, object] = {}
    for key, kind in presets.ENCODING_KEYS.items():
        value = enc.get(key, kind)
        if value is not None:
            evals[key] = value
    for alias in renditions.ALIASES:
        flag = enc.flag(alias)
        if flag is not None:
            evals[alias] = flag
    if enc.has("renditions"):
        raw = enc.data["renditions"]
        listed = enc.strings("renditions")      # reports a value that is no list of strings
        if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
            why = renditions.problem(listed)
            if why:
                enc.error("renditions", why)
            else:
                evals["renditions"] = listed
    enc.finish()
    if evals.get("channels") not in (None, 1, 2):
        enc.error("channels", "must be 1 (mono) or 2 (stereo)")
        evals.pop("channels")
    if "sample_rate" in evals and evals["sample_rate"] not in (22050, 32000, 44100, 48000):
        enc.error("sample_rate", "must be 22050, 32000, 44100 or 48000")
        evals.pop("sample_rate")
    if "wav_bits" in evals and evals["wav_bits"] not in WAV_BITS:
        # The "wav" rendition is signed PCM; 8-bit WAV is unsigned and no broadcast delivery.
        enc.error("wav_bits", f"must be {', '.join(map(str, WAV_BITS[:-1]))} or {WAV_BITS[-1]}")
        evals.pop("wav_bits")
    return evals


def read_loudness(t: Table) -> dict[str, object]:
    """The values of a [loudness] override table (feed or episode)."""
    out: dict[str, object] = {}
    for key in ("integrated", "mono_integrated"):
        v = t.number(key, minimum=-40.0, maximum=-5.0)
        if v is not None:
            out[key] = v
    tp = t.number("true_peak", minimum=-9.0, maximum=0.0)
    if tp is not None:
        out["true_peak"] = tp
    lra = t.number("max_lra", minimum=1.0, maximum=40.0)
    if lra is not None:
        out["max_lra"] = lra
    lev = t.flag("levelling")
    if lev is not None:
        out["levelling"] = lev
    t.finish()
    return out


def read_show(path: Path, root: Path, problems: list[Problem]) -> Show | None:
    """Read one feed definition, appending every problem; None if it cannot be used at all."""
    # Long on purpose: one pass over feeds/<id>.toml in the order docs/formats.md documents
    # the keys, collecting every problem instead of stopping at the first.
    shown = display(path, root)
    feed_id = path.stem
    if not is_slug(feed_id):
        problems.append(Problem(shown, "file name", f"feed id {feed_id!r} must be lowercase "
                                "ASCII letters, digits and single hyphens"))
    data = parse_toml(path, problems, shown)
    if data is None:
        return None
    before = len([p for p in problems if p.severity is Severity.ERROR])
    t = Table(data, shown, problems)
    title = t.text("title", required=True)
    description = t.text("description", required=True)
    # Measured as the feed publishes it (paragraphs of escaped text), as validate measures it.
    size = len(stdcheck.description_html(description).encode()) if description else 0
    if size > MAX_DESCRIPTION_BYTES:
        t.error("description", f"is {size} bytes as published (HTML paragraphs, & < > "
                               f"escaped); Apple allows at most {MAX_DESCRIPTION_BYTES}")
    link = t.text("link", required=True)
    check_https(t, "link", link)
    language = t.text("language", required=True)
    language_problem = stdcheck.language_problem(language) if language else None
    if language_problem:
        t.error("language", language_problem)  # the rule validate applies to <language>
    author = t.text("author", required=True)
    explicit = t.flag("explicit", required=True)
    show_type = t.choice("type", ShowType, ShowType.EPISODIC)
    cats = _categories(t)
    artwork = t.file("artwork", path.parent, required=True)
    if artwork is not None and artwork.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        t.error("artwork", "must be a .jpg or .png file (Apple accepts JPEG and PNG)")
    elif artwork is not None and (warning := art.size_warning(artwork)):
        t.warn("artwork", warning)  # from stat alone: the byte and pixel bounds are check's
    base_url = t.text("base_url", required=True)
    check_https(t, "base_url", base_url)
    if base_url and ("?" in base_url or "#" in base_url):
        # Every published URL is base_url + a path: a query or fragment would swallow it.
        t.error("base_url", f"must be a folder URL without '?' or '#': {base_url!r}")
    feed_url = t.text("feed_url", required=True)
    check_https(t, "feed_url", feed_url)
    enclosure_prefix = t.text("enclosure_prefix")
    seen = len(problems)
    check_https(t, "enclosure_prefix", enclosure_prefix)
    if enclosure_prefix and len(problems) == seen and (why := prefix_problem(enclosure_prefix)):
        t.error("enclosure_prefix", why)  # one message per key: the first rule it breaks
    copyright_ = t.text("copyright")
    license_ = t.text("license")
    keywords = t.strings("keywords")
    medium = t.text("medium", default="podcast") or "podcast"
    if medium.removesuffix("L") not in MEDIUMS:
        t.error("medium", f"{medium!r} is not a podcast:medium value ({', '.join(sorted(MEDIUMS))})")
    preset = _preset(t)

    owner = None
    ot = t.table("owner")
    if ot is None:
        t.error("owner", "missing (required): [owner] with name and email")
    else:
        oname = ot.text("name", required=True)
        email = ot.text("email", required=True)
        if email and not EMAIL_RE.match(email):
            ot.error("email", f"{email!r} is not an email address")
        ot.finish()
        owner = Owner(oname or "", email or "")

    pt = t.table("podcast")
    guid, locked, locked_owner = None, True, None
    if pt is not None:
        guid = pt.text("guid")
        if guid:
            try:
                guid = str(uuid.UUID(guid))
            except ValueError:
                pt.error("guid", f"{guid!r} is not a UUID")
                guid = None
        locked = bool(pt.flag("locked", default=True))
        locked_owner = pt.text("locked_owner")
        if locked_owner and not EMAIL_RE.match(locked_owner):
            pt.error("locked_owner", f"{locked_owner!r} is not an email address")
        pt.finish()
    funding = []
    for ft in t.tables("funding"):
        url, label = ft.text("url", required=True), ft.text("label", required=True)
        check_https(ft, "url", url)
        ft.finish()
        if url and label:
            funding.append(Funding(url, label))
    persons = _persons(t, "persons")
    from toolkit.config import p20conf     # it reads check_https from here
    extras = p20conf.read_channel(t)
    publish = _publish(t.table("publish"), root, feed_id)
    delivery = read_targets(t, root)
    cuts = cutconf.feed_cuts(t)
    templates_dir = root / "templates"
    t.finish()

    errors = len([p for p in problems if p.severity is Severity.ERROR])
    if errors > before or None in (title, description, link, language, author, owner, artwork,
                                    base_url, feed_url, explicit):
        return None
    assert owner and artwork and base_url and feed_url  # for the type checker
    return Show(id=feed_id, path=path, title=title or "", description=description or "",
                link=link or "", language=language or "", author=author or "", owner=owner,
                categories=cats, explicit=bool(explicit), artwork=artwork,
                base_url=base_url.rstrip("/") + "/", feed_url=feed_url, preset=preset,
                publish=publish, type=show_type, copyright=copyright_, license=license_,
                guid=guid or podcast_guid(feed_url), locked=locked, locked_owner=locked_owner,
                funding=tuple(funding), persons=persons, medium=medium, keywords=keywords,
                templates=templates_dir if templates_dir.is_dir() else None,
                enclosure_prefix=enclosure_prefix or None, cuts=cuts, delivery=delivery,
                **extras)


def load_shows(root: Path, problems: list[Problem]) -> dict[str, Show | None]:
    """Every feed in `root/feeds` by id: its Show, or None if invalid (problems appended)."""
    feeds_dir = root / "feeds"
    if not feeds_dir.is_dir():
        problems.append(Problem(display(feeds_dir, root), "folder",
                                "no feeds/ folder here (use --root to point at a show folder)"))
        return {}
    shows = {}
    files = sorted(feeds_dir.glob("*.toml"))
    if not files:
        problems.append(Problem(display(feeds_dir, root), "folder", "holds no <feed-id>.toml"))
    for path in files:
        shows[path.stem] = read_show(path, root, problems)
    return shows

