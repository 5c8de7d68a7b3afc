"""Corpus: publishing next to another show, killed and failed publishes, secrets in what
podkit prints (issue 22, items 2, 6, 13, 14). Each row is checked by its own test in
tests/publish/ or tests/showlife/ (named in `TESTS`), against moto's S3 server on
127.0.0.1 or a real folder; this module lists them for docs/corpus.md and checks that
every row's test exists."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from corpus_support import Row

HERE = Path(__file__).resolve().parent

ROWS = [
    Row("publish-second-feed-same-prefix", "a second feed publishes into the bucket and prefix "
        "of the first, with `--delete`", "exit 1 before any write: one line naming the other "
        "feed's manifest and `publish.prefix` (was: the first feed's MP3s, cover and feed.xml "
        "deleted or replaced)", "the first feed's objects byte-identical; no PUT or DELETE "
        "reached the proxy", process=False),
    Row("publish-second-feed-same-folder", "the same with a local folder target",
        "exit 1 before any write; a subfolder outside the first feed's `episodes/` works",
        "the folder's files, bytes and mtimes, unchanged", process=False),
    Row("publish-delete-nested-feed", "`--delete` of a feed whose prefix holds another feed's "
        "prefix (`show/` and `show/extra/`)", "deletes only keys in its own manifest "
        "(`.podkit/<feed>.json`); the other feed's objects are listed as kept",
        "the inner feed's objects fetched back unchanged", process=False),
    Row("publish-pre-manifest-target", "`--delete` on a target published before manifests "
        "existed (objects with the old marker; a folder's shared `.podkit-manifest.json`)",
        "deletes nothing, starts the manifest with the site's keys; the next `--delete` works; "
        "the folder's old bookkeeping files are removed", "objects and manifest read back",
        process=False),
    Row("publish-noop-web-root", "a local publish with nothing to do",
        "nothing written in the web root (was: `.podkit-hashes.json` rewritten there); the "
        "target's hashes live in build/cache/publish/", "every file's bytes and mtime_ns equal "
        "before and after", process=False),
    Row("publish-sigkill-local-copy", "SIGKILL of `publish` in the middle of copying an MP3 "
        "to a local folder", "no temp file in the public folder (they live beside it); the "
        "next publish removes the leftovers, old-style `.part` files included",
        "a real SIGKILL from the progress callback; the folder walked, hidden files included"),
    Row("publish-prefix-traversal", "an S3 prefix `a/../b/`, `../`, `a/./b/`, `a//b/` or "
        "`.podkit/` given to publish directly", "exit 1 before any request, naming "
        "`publish.prefix`", "the proxy saw no request", process=False),
    Row("release-publish-fails-midway", "`podkit release` whose publish fails after the media "
        "were copied (the feed cannot be renamed into place)", "exit 1: `release: publish "
        "failed; feed 'test-radio': N file(s) reached the target (...); its feed was not "
        "changed` (was: `nothing was published`)", "the MP3 is in the target, feed.xml not"),
    Row("podping-token-echoed", "a podping server echoes the token JSON-escaped, "
        "percent-encoded (lower-case hex), form-encoded, inside base64, or at the 200-character "
        "cut of the warning", "the warning and the debug log hold no 6 characters of the token "
        "in any form", "a recording server on 127.0.0.1", process=False),
    Row("podping-token-crlf", "`PODKIT_PODPING_TOKEN` holding CR/LF and a second header",
        "exit 1 before anything is published: one line naming the variable (was: a traceback "
        "quoting the token after the feed went up)", "the token absent at -vv too; nothing in "
        "the target, no request to the server"),
    Row("s3-endpoint-password", "`PODKIT_S3_ENDPOINT_URL` with `user:password@`",
        "the password in no output: not in the one-line error (an unreachable endpoint), not "
        "in botocore's debug lines at -vv", "child processes against moto and a closed port"),
]

#: The test that checks each row (file under tests/, function).
TESTS = {
    "publish-second-feed-same-prefix": ("publish/test_publish.py",
                                        "test_a_second_feed_in_the_same_prefix_is_refused_before_any_write"),
    "publish-second-feed-same-folder": ("publish/test_publish_shared.py",
                                        "test_a_second_feed_in_the_same_folder_is_refused_and_deletes_nothing"),
    "publish-delete-nested-feed": ("publish/test_publish.py",
                                   "test_delete_never_removes_a_key_another_feeds_manifest_lists"),
    "publish-pre-manifest-target": ("publish/test_publish.py",
                                    "test_target_published_before_manifests_existed_deletes_nothing_then_starts_one"),
    "publish-noop-web-root": ("publish/test_publish_shared.py",
                              "test_a_publish_with_nothing_to_do_writes_nothing_in_the_web_root"),
    "publish-sigkill-local-copy": ("publish/test_publish_shared.py",
                                   "test_sigkill_mid_copy_leaves_nothing_in_the_public_folder_and_the_next_run_cleans_up"),
    "publish-prefix-traversal": ("publish/test_publish.py",
                                 "test_a_prefix_with_traversal_segments_is_refused_before_any_request"),
    "release-publish-fails-midway": ("showlife/test_release_publish.py",
                                     "test_a_publish_failing_after_the_media_says_what_was_uploaded"),
    "podping-token-echoed": ("publish/test_notify.py",
                             "test_a_token_echoed_in_another_form_is_never_printed"),
    "podping-token-crlf": ("publish/test_notify.py",
                           "test_publish_refuses_a_token_with_a_line_break_before_uploading"),
    "s3-endpoint-password": ("publish/test_publish_cli.py",
                             "test_a_password_in_the_endpoint_url_is_never_printed"),
}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_every_row_names_a_test_that_exists(row: Row) -> None:
    path, name = TESTS[row.id]
    assert re.search(rf"^def {name}\(", (HERE / path).read_text("utf-8"), re.M), (path, name)
