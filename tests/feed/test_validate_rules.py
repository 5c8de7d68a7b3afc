"""toolkit.feed.validate, channel rules on other people's feeds: owner email, podcast:person roles
and groups from the Podcast Taxonomy (fixtures and helpers shared with test_validate.py)."""
from __future__ import annotations

import pytest
from test_validate import I1, _drop, _text, built, first, mp3, mutate  # noqa: F401 (fixtures)

from toolkit.errors import Severity
from toolkit.feed import validate
from toolkit.feed.rules import person_taxonomy


def test_an_invalid_owner_email_is_named_as_invalid(built):
    data, _, own = built
    broken = mutate(data, _text("/rss/channel/itunes:owner/itunes:email", "podcasts(at)example.org"))
    (w,) = validate.validate_feed(broken, source="f", own=own)
    assert (w.rule, w.severity, w.field) == ("apple.owner.email", Severity.WARNING,
                                             "itunes:owner/itunes:email")
    assert w.message == "'podcasts(at)example.org' is not an email address"
    (w,) = validate.validate_feed(mutate(data, _drop("/rss/channel/itunes:owner/itunes:email")),
                                  source="f", own=own)
    assert (w.field, w.message) == ("itunes:owner/itunes:email",
                                    "itunes:owner has no itunes:email (validators still ask for it)")


@pytest.mark.parametrize("where, attrs, field, words", [
    ("/rss/channel/podcast:person", {"role": "Hots"}, "podcast:person@role",
     "'Hots' is not a role in the Podcast Taxonomy"),
    ("/rss/channel/podcast:person", {"group": "band"}, "podcast:person@group",
     "'band' is not a group in the Podcast Taxonomy"),
    (f"{I1}/podcast:person", {"role": "moderator"}, "podcast:person@role",
     "'moderator' is not a role"),
    # a role given with another group (apps list people by group; the spec's own example
    # makes this slip, guest under writing)
    (f"{I1}/podcast:person", {"role": "Host", "group": "writing"}, "podcast:person@role",
     "'Host' is not a role of the group 'writing' (it is in cast)"),
])
def test_person_roles_and_groups_come_from_the_podcast_taxonomy(built, where, attrs, field, words):
    data, _, own = built
    def change(r):
        for k, v in attrs.items():
            first(r, where).set(k, v)
    findings = validate.validate_feed(mutate(data, change), source="f", own=own)
    assert [(f.rule, f.severity, f.field) for f in findings] == [
        ("p20.person", Severity.WARNING, field)], [str(f) for f in findings]
    assert words in findings[0].message


def test_taxonomy_names_are_case_insensitive(built):
    data, _, own = built
    def change(r):
        first(r, "/rss/channel/podcast:person").set("role", "Cover Art Designer")
        first(r, "/rss/channel/podcast:person").set("group", "VISUALS")
        first(r, f"{I1}/podcast:person").set("role", "guest")
    assert validate.validate_feed(mutate(data, change), source="f", own=own) == []


def test_the_shipped_taxonomy_is_the_namespace_list():
    """11 groups, 63 roles, as Podcastindex-org/podcast-namespace's taxonomy.json has them."""
    tax = person_taxonomy()
    assert len(tax) == 11 and sum(len(r) for r in tax.values()) == 63
    assert "Host" in tax["Cast"] and "Cover Art Designer" in tax["Visuals"]
