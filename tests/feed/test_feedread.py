"""toolkit.feed.foreign: feeds in every encoding read back with their titles exactly right.

Each feed is written here in the shape real broadcasters' feeds have (declaration, channel,
items, CJK text) and encoded with Python's own codecs; the reader decodes it, defusedxml
parses the text, and the titles must be the very strings written. The labels are the ones
the public parser corpora use (feedparser's tests/encoding, e.g. `utf16`, `u16`, `big5`).
"""
from __future__ import annotations

import codecs
import json

import defusedxml.ElementTree as SafeET
import pytest

from toolkit.errors import Severity
from toolkit.feed import foreign, validate

KO = "한국어 팟캐스트: 오늘의 뉴스"
KO_ITEM = "제3화: 서울에서 부산까지"
ZH_S = "中文播客：今日新闻"
ZH_T = "中文播客：今日新聞"
JA = "日本語のポッドキャスト：今日のニュース"
LATIN = "Café Müller: ½ naïve façade ß"
WIN = "€5 – “quoted” … Œuvre ‘mine’ ™"        # every one differs from ISO-8859-1


def feed_doc(title: str, item: str, declared: str | None, *, more: str = "") -> str:
    """A small podcast feed as text, with an XML declaration naming `declared` (if any)."""
    decl = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    return (f'{decl}<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">\n'
            f"<channel>\n<title>{title}</title>\n<link>https://radio.example/</link>\n"
            f"<description>{title} {more}</description>\n"
            f"<item>\n<title>{item}</title>\n<guid isPermaLink=\"false\">ep-1</guid>\n</item>\n"
            "</channel>\n</rss>\n")


def titles(read: foreign.FeedText) -> tuple[str, str]:
    root = SafeET.fromstring(read.text)
    return root.findtext("channel/title"), root.findtext("channel/item/title")


def findings(read: foreign.FeedText, severity: Severity | None = None) -> list[str]:
    return [f"{f.rule} {f.field} {f.message}" for f in read.findings
            if severity is None or f.severity is severity]


# (declared label, Python codec that writes the bytes, BOM, channel title, item title, codec read)
ROUND_TRIP = [
    ("big5", "big5", b"", ZH_T, "第三集：台北", "big5"),
    ("Big5", "big5", b"", "香港電台節目", "粵語新聞", "big5"),
    ("EUC-KR", "euc_kr", b"", KO, KO_ITEM, "euc_kr"),
    ("euc-kr", "euc_kr", b"", "주간 경제 브리핑", "금리 인상의 영향", "euc_kr"),
    ("ks_c_5601-1987", "cp949", b"", KO, KO_ITEM, "euc_kr"),
    ("GB2312", "gb2312", b"", ZH_S, "第三集：北京", "gb2312"),
    ("GBK", "gbk", b"", ZH_S, "朱镕基访谈", "gbk"),
    ("GB18030", "gb18030", b"", ZH_S, "𠀀 扩展汉字", "gb18030"),
    ("Shift_JIS", "shift_jis", b"", JA, "第3回：東京から", "shift_jis"),
    ("EUC-JP", "euc_jp", b"", JA, "第3回：大阪", "euc_jp"),
    ("ISO-2022-JP", "iso2022_jp", b"", JA, "第3回", "iso2022_jp"),
    ("utf16", "utf-16-le", codecs.BOM_UTF16_LE, KO, ZH_T, "utf-16-le"),
    ("u16", "utf-16-be", codecs.BOM_UTF16_BE, JA, KO_ITEM, "utf-16-be"),
    ("utf_16", "utf-16-le", codecs.BOM_UTF16_LE, ZH_S, JA, "utf-16-le"),
    ("UTF-16", "utf-16-be", b"", KO, ZH_T, "utf-16-be"),          # no BOM: the first bytes tell
    ("UTF-16", "utf-16-le", b"", JA, KO, "utf-16-le"),
    ("UTF-32", "utf-32-le", codecs.BOM_UTF32_LE, KO, "🎙️ " + JA, "utf-32-le"),
    ("UTF-32", "utf-32-be", b"", ZH_T, KO, "utf-32-be"),
    ("UTF-8", "utf-8", codecs.BOM_UTF8, KO, "🎙️ " + ZH_S, "utf-8"),
    ("utf8", "utf-8", b"", JA, LATIN, "utf-8"),
    (None, "utf-8", b"", KO, ZH_T, "utf-8"),
    ("ISO-8859-1", "latin-1", b"", LATIN, "Grüße aus Köln", "iso8859-1"),
    ("windows-1252", "cp1252", b"", WIN, LATIN, "cp1252"),
    ("Windows-1251", "cp1251", b"", "Новости недели", "Выпуск 3", "cp1251"),
    ("KOI8-R", "koi8_r", b"", "Новости недели", "Выпуск 3", "koi8-r"),
    ("ISO-8859-7", "iso8859_7", b"", "Ειδήσεις της εβδομάδας", "Επεισόδιο 3", "iso8859-7"),
]


@pytest.mark.parametrize("declared, codec, bom, title, item, read_as", ROUND_TRIP,
                         ids=[f"{r[0]}-{r[1]}{'-bom' if r[2] else ''}" for r in ROUND_TRIP])
def test_titles_round_trip_exactly(declared, codec, bom, title, item, read_as):
    data = bom + feed_doc(title, item, declared).encode(codec)
    read = foreign.decode(data)
    assert titles(read) == (title, item)
    assert read.encoding == read_as
    assert findings(read) == []                  # a truthful declaration is no finding
    # Through validate: the same text is checked, and a non-UTF-8 feed is told to be UTF-8.
    checked = validate.check_bytes(data, source="f.xml")
    rules = {f.rule for f in checked.findings}
    assert "xml.wellformed" not in rules and "xml.encoding.declared" not in rules
    assert ("xml.encoding" in rules) == (read_as != "utf-8"), [str(f) for f in checked.findings]


@pytest.mark.parametrize("declared, codec, title, read_as, byte", [
    # Characters browsers read in the superset the label stands for (WHATWG): exact titles,
    # one warning naming the line.
    ("ISO-8859-1", "cp1252", WIN, "cp1252", "0x80"),
    ("us-ascii", "cp1252", WIN, "cp1252", "0x80"),
    ("EUC-KR", "cp949", "똠방각하 " + KO, "cp949", "0x8c"),        # 똠 is only in CP949
    ("GB2312", "gbk", "朱镕基 " + ZH_S, "gb18030", "0xe9"),          # 镕 is only in GBK
    ("Shift_JIS", "cp932", "①髙橋 " + JA, "cp932", "0x87"),         # NEC/IBM extensions
])
def test_a_superset_reads_exactly_with_a_warning(declared, codec, title, read_as, byte):
    data = feed_doc("x", title, declared).encode(codec)
    read = foreign.decode(data)
    assert titles(read) == ("x", title)
    assert read.encoding == read_as
    (warning,) = findings(read, Severity.WARNING)
    assert warning.startswith("xml.encoding.declared encoding line 8:"), warning
    assert byte in warning and declared in warning
    assert findings(read, Severity.ERROR) == []


def test_latin1_and_windows_1252_differ_where_they_should():
    """0x80-0x9F: Windows-1252 letters and punctuation, never the C1 controls of ISO-8859-1."""
    data = feed_doc("x", WIN, "windows-1252").encode("cp1252")
    assert titles(foreign.decode(data))[1] == WIN
    latin = feed_doc("x", LATIN, "ISO-8859-1").encode("latin-1")
    assert titles(foreign.decode(latin))[1] == LATIN
    assert latin.decode("cp1252") == latin.decode("latin-1")   # the test's own premise


def test_http_charset_comes_before_the_declaration():
    data = feed_doc(KO, KO_ITEM, None).encode("euc_kr")
    read = foreign.decode(data, "application/rss+xml; charset=EUC-KR")
    assert titles(read) == (KO, KO_ITEM) and read.origin == "HTTP charset"
    assert findings(read) == []
    lying = feed_doc(ZH_S, "x", "ISO-8859-1").encode("utf-8")
    read = foreign.decode(lying, 'text/xml; charset="utf-8"')
    assert titles(read) == (ZH_S, "x")
    (warning,) = findings(read, Severity.WARNING)
    assert "'ISO-8859-1'" in warning and "HTTP charset" in warning
    # An unknown HTTP charset is a warning on Content-Type; the declaration is used.
    read = foreign.decode(feed_doc(KO, "x", "EUC-KR").encode("euc_kr"), "text/xml; charset=nope")
    assert titles(read) == (KO, "x")
    assert findings(read) == ["xml.encoding.declared Content-Type the HTTP charset 'nope' is not "
                              "a known encoding; read as euc_kr (XML declaration)"]


def test_the_byte_order_mark_comes_first():
    data = codecs.BOM_UTF16_LE + feed_doc(KO, JA, "ISO-8859-1").encode("utf-16-le")
    read = foreign.decode(data, "text/xml; charset=iso-8859-1")
    assert titles(read) == (KO, JA) and read.origin == "byte-order mark"
    (error,) = findings(read, Severity.ERROR)
    assert error.startswith("xml.encoding.declared encoding line 1:") and "utf-16-le" in error


@pytest.mark.parametrize("declared, body, line, read_as", [
    ("bogus", feed_doc(KO, "x", "bogus").encode("utf-8"), 1, "utf-8"),
    # feedparser's encoding_attribute_crash shape: a declared name Python has no codec for
    ("x-unknown-8bit", feed_doc(LATIN, "x", "x-unknown-8bit").encode("utf-8"), 1, "utf-8"),
    ("base64", feed_doc(LATIN, "x", "base64").encode("utf-8"), 1, "utf-8"),  # not a charset
    # UTF-16 declared in a document whose declaration was readable as ASCII
    ("utf-16", feed_doc(KO, "x", "utf-16").encode("utf-8"), 1, "utf-8"),
    # the CMS moved to UTF-8, the template still says EUC-KR: the first misfit is on line 8
    ("EUC-KR", feed_doc("x", "café ☕", "EUC-KR").encode("utf-8"), 8, "utf-8"),
])
def test_an_unknown_or_lying_declaration_is_a_finding_with_its_line(declared, body, line, read_as):
    read = foreign.decode(body)
    assert read.encoding == read_as
    (error,) = findings(read, Severity.ERROR)
    assert error.startswith(f"xml.encoding.declared encoding line {line}: the XML declaration "
                            f"{declared!r}"), error
    assert f"read as {read_as}" in error
    root = SafeET.fromstring(read.text)          # and the feed is still read
    assert root.findtext("channel/link") == "https://radio.example/"


def test_undeclared_non_utf8_is_detected():
    more = "매주 월요일에 새로운 에피소드가 올라옵니다. 서울 스튜디오에서 녹음했습니다."
    read = foreign.decode(feed_doc(KO, KO_ITEM, None, more=more).encode("euc_kr"))
    assert titles(read) == (KO, KO_ITEM) and read.origin == "detected"
    more = "毎週月曜日に新しいエピソードを配信します。東京のスタジオで録音しました。"
    read = foreign.decode(feed_doc(JA, "第3回：東京から", None, more=more).encode("shift_jis"))
    assert titles(read) == (JA, "第3回：東京から") and read.origin == "detected"
    # Latin text: too little to tell code pages apart, so Windows-1252, as browsers do.
    read = foreign.decode(feed_doc(WIN, LATIN, None).encode("cp1252"))
    assert titles(read) == (WIN, LATIN) and read.encoding == "cp1252"
    (error,) = findings(read)
    assert error.startswith("xml.encoding.declared encoding line 3: no encoding declared")


@pytest.mark.parametrize("data, words", [
    (b"", "an empty document"),
    (b"  \n\t ", "an empty document"),
    (b"<!DOCTYPE html>\n<html><head><title>Not found</title></head></html>", "an HTML page"),
    (b"<html><body>moved</body></html>", "an HTML page"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "not XML: it begins with"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not XML: binary data"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "not XML"),          # a gzipped feed
])
def test_not_xml_at_all_is_one_finding(data, words):
    read = foreign.decode(data)
    assert not read.is_xml
    assert [(f.rule, f.field) for f in read.findings] == [("xml.wellformed", "xml")]
    assert words in read.findings[0].message
    # validate says just that, in one finding
    (only,) = validate.validate_feed(data, source="x")
    assert only.rule == "xml.wellformed" and words in only.message


def test_json_and_log_report_the_encoding(tmp_path, caplog):
    path = tmp_path / "kbs.xml"
    path.write_bytes(feed_doc(KO, KO_ITEM, "EUC-KR").encode("euc_kr"))
    with caplog.at_level("INFO", logger="toolkit"):
        checked = validate.check_source(str(path))
    assert f"{path}: read as euc_kr (XML declaration: EUC-KR)" in caplog.messages
    doc = json.loads(validate.findings_json(checked.findings, [checked]))
    assert doc["sources"] == [{"source": str(path), "encoding": "euc_kr",
                               "encoding_from": "XML declaration", "declared": "EUC-KR",
                               "http_charset": None}]
    assert [f["rule"] for f in doc["findings"]].count("xml.encoding") == 1


def test_resolve_knows_the_labels_of_real_feeds():
    assert foreign.resolve("EUC-KR") == "euc_kr"
    assert foreign.resolve(" Shift_JIS ") == "shift_jis"
    assert foreign.resolve("x-sjis") == "cp932"
    assert foreign.resolve("u16") == "utf-16"
    assert foreign.resolve("bogus") is None
    assert foreign.resolve("rot13") is None and foreign.resolve("unicode_escape") is None
