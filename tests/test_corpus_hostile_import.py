"""Corpus rows for issue 22's import and outbound-HTTP cases. Each row names the test that
checks it (in tests/test_http.py, tests/migrate/, tests/publish/, tests/feed/); the test
here makes sure every named test exists, so a row cannot outlive its check."""
from __future__ import annotations

import importlib
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from corpus_support import Row

HERE = Path(__file__).resolve().parent

#: (row, "module:test function") — the test that checks the row.
CHECKED = [
    (Row("import-local-sidecars", "a remote feed naming `/etc/passwd`, `.env`, `file:///...` "
         "and an absolute path as transcript, chapters, image and enclosure",
         "exit 0: each refused on one `not mapped:` line (`not an http(s) URL`); none read",
         "no byte of any named file under the show folder"),
     "migrate.test_import_hostile:test_a_remote_feed_never_reads_local_files"),
    (Row("import-local-feed-folder", "a feed *file* naming sidecars beside it, `../x`, an "
         "absolute path and a symlink out of its folder",
         "exit 0: the ones beside it imported; the others refused (`outside the feed file's folder`)",
         "transcript and audio equal the files beside the feed; nothing from outside"),
     "migrate.test_import_hostile:test_a_local_feed_reads_files_beside_it_and_nothing_outside"),
    (Row("import-loopback-default", "`podkit import http://127.0.0.1:.../feed.xml` without "
         "`--allow-private-hosts`", "exit 1: one line `... a loopback address: refused "
         "(--allow-private-hosts allows your own network)`", "no request reached the server; "
         "nothing written"),
     "migrate.test_import_hostile:test_a_feed_on_this_machine_is_refused_unless_the_producer_allows_it"),
    (Row("import-redirect-metadata", "a transcript URL redirecting to 169.254.169.254, "
         "with `--allow-private-hosts`", "exit 0: the transcript refused (`link-local`) on "
         "one line", "no transcript file"),
     "migrate.test_import_hostile:test_a_redirect_to_cloud_metadata_is_refused_even_with_private_hosts"),
    (Row("import-duplicate-guid", "two items with guid `same`", "exit 0: both imported apart "
         "(`same`, `same#2`), listed on one line; a re-import changes nothing",
         "each folder has its own title and audio bytes"),
     "migrate.test_import_hostile:test_duplicate_guids_are_kept_apart_never_merged"),
    (Row("channel-description-markup", "a show description with `<script>`, `<img onerror>`, "
         "a javascript: link", "exit 0: published as `<p>` text in CDATA; no element",
         "html5lib parse of the description (lxml) and of feedparser's: no script, img or a"),
     "feed.test_channel_description:test_markup_in_the_show_description_reaches_apps_as_text"),
    (Row("import-escaped-markup", "channel description `&amp;lt;script&amp;gt;` (shown as "
         "text by the old feed)", "exit 0: stored as the text `<script>`",
         "feeds/<id>.toml read back with tomllib"),
     "migrate.test_import_hostile:test_escaped_markup_in_the_channel_description_stays_text"),
    (Row("import-producer-cover", "re-import after the producer replaced `feeds/<id>.jpg` and "
         "added a PNG named by `artwork`, the host's picture changed (JPEG, then PNG)",
         "exit 0: both kept, listed as kept", "bytes of both pictures and the TOML unchanged"),
     "migrate.test_import_hostile:test_reimport_keeps_a_cover_the_producer_replaced_or_added"),
    (Row("import-private-token", "a feed URL with `?auth=<token>` or `user:<token>@`, at `-vv`, "
         "and a 404 for it", "exit 0 / 1: the token in no output line",
         "the token in no file under the show folder (TOML, state, notes)"),
     "migrate.test_import_hostile:test_a_private_feed_token_is_never_printed_or_stored"),
    (Row("import-bad-numbers", "`length=\"²\"`, a 5,000-digit length, `<itunes:episode>³`, a "
         "5,000-digit season", "exit 0: one short `not mapped:` line each; the items imported",
         "no traceback"),
     "migrate.test_import_hostile:test_unreadable_numbers_are_one_line_each_never_a_traceback"),
    (Row("import-short-transcript", "a transcript whose body is shorter than its "
         "Content-Length", "exit 0: `cut short` on one line; not saved; the next run fetches it",
         "transcript bytes after the second run"),
     "migrate.test_import_hostile:test_a_cut_short_transcript_is_not_saved_and_is_fetched_again"),
    (Row("import-same-title", "two shows titled alike imported into one folder; then "
         "`--feed` naming the first", "exit 0: `same-title` and `same-title-2`; then exit 1: "
         "`--feed: feeds/same-title.toml holds another show`", "the first feed file byte-identical"),
     "migrate.test_import_hostile:test_two_shows_with_one_title_never_rewrite_each_other"),
    (Row("import-bad-urls", "`--base-url` with credentials, a query, a newline, `javascript:`; "
         "`--feed-url` http or with credentials", "exit 1: one line `--base-url:` / "
         "`--feed-url:` with check's words", "no request reached the server"),
     "migrate.test_import_hostile:test_import_refuses_the_urls_check_refuses"),
    (Row("import-html-enclosure", "an enclosure answering an HTML login page (text/html, or "
         "labelled audio/mpeg)", "exit 1: `a web page ..., not audio; not saved`",
         "no `downloaded` line; no audio or part file"),
     "migrate.test_import_hostile:test_an_html_page_as_enclosure_is_not_downloaded"),
    (Row("import-resume-no-validator", "a cut download from a server without ETag or "
         "Last-Modified, the file changed before the next run", "exit 0 on the second run: "
         "fetched whole again", "no Range request; audio equals the new file"),
     "migrate.test_import_hostile:test_resume_without_a_validator_starts_again"),
    (Row("import-redirect-chain", "an enclosure behind 12 redirects", "exit 1: `too many "
         "redirects (more than 5)`, not `infinite loop`", "child's stderr"),
     "migrate.test_import_hostile:test_a_long_finite_redirect_chain_is_too_many_redirects"),
    (Row("import-year-0000", "`pubDate` in year 0000", "exit 0: the item refused on one line "
         "(not read as 2000)", "no folder for it"),
     "migrate.test_import_hostile:test_a_pubdate_in_year_0000_is_refused_not_made_2000"),
    (Row("download-trickle", "an enclosure sending one byte every 0.3 s",
         "MediaError `slower than ... given up` within the low-speed window", "no audio file; "
         "under 4 s (the real window is 30 s)"),
     "migrate.test_download_bounds:test_a_trickling_enclosure_is_cut_off_and_not_kept"),
    (Row("download-endless", "an enclosure whose chunked body never ends",
         "MediaError `larger than the ...-byte cap`", "neither audio nor part file kept"),
     "migrate.test_download_bounds:test_an_endless_enclosure_stops_at_the_audio_cap"),
    (Row("notify-trickle", "a WebSub hub trickling its answer (503, then 202)",
         "a warning (`deadline`) / success, each attempt within its deadline",
         "wall time under 2 x deadline + 2 s"),
     "publish.test_notify_bounds:test_a_hub_trickling_its_answer_cannot_hold_publish"),
    (Row("notify-endless", "a hub answering 500 with an endless body", "a warning; 4 KiB read",
         "tracemalloc peak under 8 MB"),
     "publish.test_notify_bounds:test_an_endless_answer_is_never_read_into_memory"),
    (Row("http-one-user-agent", "feed fetch, import download and WebSub against one server",
         "one User-Agent `podkit/<version>`", "the server's request log"),
     "test_http:test_one_user_agent_for_feed_fetch_download_and_notify"),
]
# All of them run the CLI (or the library) in-process: the table says so.
ROWS = [replace(row, process=False) for row, _ in CHECKED]


@pytest.mark.parametrize("row, test", CHECKED, ids=[r.id for r, _ in CHECKED])
def test_every_row_names_a_test_that_exists(row: Row, test: str) -> None:
    module_name, function = test.split(":")
    folder = HERE / Path(*module_name.split(".")[:-1])
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    module = importlib.import_module(module_name.split(".")[-1])
    assert callable(getattr(module, function, None)), (row.id, test)
