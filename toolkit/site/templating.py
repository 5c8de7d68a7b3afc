"""The jinja2 environment every rendered file goes through: the show's templates first, then
podkit's defaults; filters for timestamps, Markdown, TOML, CSP hashes and safe URLs; every
template problem one PodkitError naming the file and line.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from toolkit.errors import PodkitError
from toolkit.site import markup

#: The default templates shipped with podkit.
DEFAULTS_DIR = Path(__file__).resolve().parent.parent / "templates"
#: What a browser strips from both ends of a URL before parsing it.
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_PLAIN_SUFFIXES = (".md", ".md.j2", ".txt", ".txt.j2", ".toml", ".toml.j2")


def safe_url(url: object) -> str:
    """`url` if it is relative or http(s)/mailto, else '' (no javascript:, data:... in a page)."""
    # Normalize as a browser's URL parser does (it drops leading/trailing controls and
    # spaces and every tab or newline), so what is checked is what the browser would follow.
    text = re.sub(r"[\t\n\r]", "", str(url or "")).strip(_C0_AND_SPACE)
    scheme = urlsplit(text).scheme.lower()
    return text if scheme in ("", *markup.URL_SCHEMES) and not text.startswith("//") else ""


def _autoescape(name: str | None) -> bool:
    # Markdown, text and TOML are not HTML: escaping would put &amp; into them.
    return not (name or "").lower().endswith(_PLAIN_SUFFIXES)


def timestamp(seconds: float) -> str:
    """A chapter timestamp: 'mm:ss', or 'h:mm:ss' from one hour on (rounded down, so it never
    points after the chapter's start)."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _md_escape(text: object) -> str:
    # Escape only what would turn a title into markup in Markdown; pasted elsewhere it
    # stays readable.
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", str(text))


def _toml_string(value: object) -> str:
    # A TOML basic string: JSON's escapes are a subset TOML accepts.
    import json
    return json.dumps(str(value), ensure_ascii=False)


def _csp_hash(text: object) -> Markup:
    # The CSP source of an inline script: its exact text, hashed.
    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
    return Markup("'sha256-" + base64.b64encode(digest).decode("ascii") + "'")


@functools.lru_cache(maxsize=16)
def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The jinja2 Environment: the show's templates first, then podkit's defaults (cached)."""
    defaults = jinja2.FileSystemLoader(str(DEFAULTS_DIR), encoding="utf-8")
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:  # a missing folder simply holds no overrides
        loaders.append(jinja2.FileSystemLoader(str(templates_dir), encoding="utf-8"))
    loaders += [defaults, jinja2.PrefixLoader({"default": defaults}, delimiter="/")]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=_autoescape,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(timestamp=timestamp, md=_md_escape, toml=_toml_string, csp_hash=_csp_hash,
                       safe_url=safe_url)
    return env


def _where(exc: BaseException, fallback: str) -> tuple[str, int | None]:
    # jinja2 rewrites tracebacks so a template's frames carry its file name and line.
    filename, line = fallback, None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            filename, line = name, tb.tb_lineno
        tb = tb.tb_next
    return filename, line


def _render(templates_dir: Path | None, name: str, context: dict[str, Any]) -> str:
    """Render one template; any template problem becomes a PodkitError naming file and line."""
    env = environment(Path(templates_dir) if templates_dir is not None else None)
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise PodkitError(f"template {exc.name!r} not found in the show's templates/ or "
                          f"podkit's defaults", path=templates_dir or DEFAULTS_DIR,
                          field=name) from exc
    except jinja2.TemplateSyntaxError as exc:
        raise PodkitError(f"template syntax error: {exc.message}", path=exc.filename or name,
                          field=f"line {exc.lineno}") from exc
    except jinja2.UndefinedError as exc:
        where, line = _where(exc, name)
        raise PodkitError(f"template uses an undefined value: {exc.message}", path=where,
                          field=f"line {line}" if line else None) from exc
    except jinja2.TemplateError as exc:
        where, line = _where(exc, name)
        raise PodkitError(f"template failed: {exc}", path=where,
                          field=f"line {line}" if line else None) from exc
