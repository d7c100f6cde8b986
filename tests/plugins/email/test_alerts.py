"""Deal alerts: matching, one mail per user, the signed unsubscribe link, and the whole path from
a `flyer.processed` event through the queue to the SMTP server."""

import asyncio
import json
import time

import pytest

from jobhost import ServiceUnavailable
from jobhost_email.alerts import Flyer, alert, alerts, matches
from jobhost_email.unsubscribe import LEGACY_KEY_FILE, Unsubscribe
from jobhost_email.watchlist import Watchlist, WatchlistError, Watchlists, normalize_keywords
from tests.plugins.email.conftest import jobhost

FLYER = {
    "flyer_id": "f-1001",
    "owner": "1",
    "store": "FreshMart",
    "items": [
        {"name": "Gala Apples", "price": "1.99", "quantity": 1, "unit": "lb", "unit_price": None, "page": 1},
        {"name": "Pineapple", "price": "3.00", "quantity": 1, "unit": "each", "unit_price": None, "page": 1},
        {
            "name": "Greek Yogurt <500 g>",
            "price": "5",
            "quantity": 2,
            "unit": "each",
            "unit_price": "2.5",
            "page": 2,
        },
        {
            "name": "Coffee beans",
            "price": "9.49",
            "quantity": 1,
            "unit": "each",
            "unit_price": None,
            "page": 3,
        },
    ],
}
SIGNER = Unsubscribe("secret", "https://deals.example.com")


def watchlist(user_id, *keywords, alerts=True):
    return Watchlist(user_id, f"user{user_id}@example.com", keywords, alerts)


@pytest.mark.parametrize(
    ("keyword", "name", "found"),
    [
        ("apple", "Gala Apples", True),
        ("apple", "Pineapple", False),
        ("greek yogurt", "Greek  Yogurt 500 g", True),
        ("yogurt", "Greek Yogurt", True),
        ("coffee", "Decaf coffee", True),
        ("tea", "Steak", False),
        ("c++", "C++ books", True),
    ],
)
def test_a_keyword_matches_at_the_start_of_a_word(keyword, name, found):
    assert matches(keyword, name) is found


def test_keywords_are_normalized_and_bad_ones_named():
    assert normalize_keywords([" Greek  Yogurt ", "APPLE", "apple"]) == ("greek yogurt", "apple")
    with pytest.raises(WatchlistError, match=r"keywords\[1\] must be 1 to 60 characters"):
        normalize_keywords(["milk", "   "])
    with pytest.raises(WatchlistError, match=r"keywords\[0\] must be a string, got 3"):
        normalize_keywords([3])
    with pytest.raises(WatchlistError, match="keywords must be a list of strings, got str"):
        normalize_keywords("milk")
    with pytest.raises(WatchlistError, match="at most 100 keywords"):
        normalize_keywords([f"k{n}" for n in range(101)])


def test_an_alert_lists_only_the_matching_deals_with_an_unsubscribe_link():
    mail = alert(Flyer.from_event(FLYER), watchlist(7, "apple", "yogurt", "tea"), SIGNER, "example.com")
    assert mail.to == ("user7@example.com",)
    assert mail.subject == '2 deals at "FreshMart" on your watchlist'
    assert "Gala Apples: 1.99/lb, page 1" in mail.text
    assert "Greek Yogurt 500 g: 2 for 5.00 (2.50 each), page 2" in mail.text
    assert "Pineapple" not in mail.text and "Coffee" not in mail.text
    assert "your watchlist holds: apple, yogurt." in mail.text
    assert "<td>Greek Yogurt 500 g</td>" in mail.html
    link = SIGNER.url(7)
    assert link in mail.text and f'href="{link}"' in mail.html
    assert mail.headers["List-Unsubscribe"] == f"<{link}>"
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # On the wire the header is the plain `<https://…>` of RFC 2369, not RFC 2047 encoded words.
    raw = mail.to_mime("deals@example.com").as_bytes().decode()
    assert f"\nList-Unsubscribe: <{link}>\n" in raw


PHISH = "ACTION REQUIRED: re-verify your account at https://evil.example/login?u=1 or mail help@evil.example"


def test_uploaded_store_and_item_text_cannot_phish_other_users():
    event = {
        **FLYER,
        "store": PHISH,
        "items": [{"name": f"Apples {PHISH}", "price": "1", "unit": "kg https://evil.example", "page": 1}],
    }
    mail = alert(Flyer.from_event(event), watchlist(7, "apple"), SIGNER, "example.com")
    link = SIGNER.url(7)
    for shown in (mail.subject, mail.text.replace(link, ""), mail.html.replace(link, "")):
        assert "evil.example" not in shown and "://" not in shown and "help@" not in shown
    assert mail.subject == '1 deal at "ACTION REQUIRED re-verify your account…" on your watchlist'
    assert len(mail.subject) < 100
    assert (
        "as the flyer's uploader gave them" in mail.text and "as the flyer's uploader gave them" in mail.html
    )
    # Numbers keep their dots and slashes: `1.5 kg`, `1/2 gallon`.
    milk = Flyer.from_event(
        {"flyer_id": 1, "store": "Corner Store No. 1", "items": [{"name": "Milk 1.5 L 1/2"}]}
    )
    assert milk.store == "Corner Store No 1" and milk.deals[0].shown_name == "Milk 1.5 L 1/2"


def test_one_alert_per_matching_user_with_a_stable_message_id():
    flyer = Flyer.from_event(FLYER)
    lists = [watchlist(1, "apple"), watchlist(2, "tea"), watchlist(3, "coffee", "pineapple")]
    found = alerts(flyer, lists, SIGNER, "example.com")
    assert [w.user_id for w, _ in found] == [1, 3]
    again = alerts(flyer, lists, SIGNER, "example.com")
    assert [m.message_id for _, m in found] == [m.message_id for _, m in again]
    assert found[0][1].message_id != found[1][1].message_id


def test_a_flyer_event_without_usable_fields_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="flyer_id must be a string or number"):
        Flyer.from_event({"items": []})
    with pytest.raises(ValueError, match="items must be a list"):
        Flyer.from_event({"flyer_id": 3, "items": None})
    flyer = Flyer.from_event({"flyer_id": 3, "items": [{"price": "1"}, {"name": "Milk"}]})
    assert [d.name for d in flyer.deals] == ["Milk"] and flyer.store == ""


def test_unsubscribe_tokens_name_their_user_and_resist_forgery():
    token = SIGNER.token(42)
    assert SIGNER.user_id(token) == 42
    assert SIGNER.user_id(token.replace("42.", "43.", 1)) is None
    assert SIGNER.user_id(token[:-1]) is None
    assert SIGNER.user_id("garbage") is None
    # Only the id as we write it: no other digits, no leading zeros, no endless numbers.
    signature = token.partition(".")[2]
    for user in ("٤٢", "4²", "042", "+42", "4" * 5000, "42 "):
        assert SIGNER.user_id(f"{user}.{signature}") is None
    assert SIGNER.user_id("42.sïgnature") is None
    assert Unsubscribe("another secret", "https://x").user_id(token) is None


def test_a_link_signed_with_a_rotated_out_key_still_checks():
    old = Unsubscribe("old secret", "https://x").token(42)
    rotated = Unsubscribe("new secret", "https://x", older=("old secret",))
    assert rotated.user_id(old) == 42 and rotated.token(42) != old
    assert rotated.user_id(rotated.token(42)) == 42
    assert Unsubscribe("new secret", "https://x").user_id(old) is None


async def test_links_from_before_the_keys_moved_to_the_database_still_check(make_host, tmp_path):
    # An older install without JOBHOST_SECRET_KEY signed with a key file in its data directory.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / LEGACY_KEY_FILE).write_text("key-of-the-file\n")
    old = Unsubscribe("key-of-the-file", "https://x").token(42)
    host = make_host(
        installed=("email",),
        JOBHOST_DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db'}",
        migrate=True,
    )
    signer = await Unsubscribe.of(host)
    assert signer.user_id(old) == 42
    assert signer.token(42) != old  # new links are signed with the deployment's key
    assert signer.user_id("42.forged") is None
    await host.database.dispose()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_watchlists_store_keywords_and_unsubscribe(sessions):
    lists = Watchlists(sessions)
    assert await lists.get(1) is None
    saved = await lists.put(1, "ann@example.com", ["Apple", "milk"])
    assert saved == Watchlist(1, "ann@example.com", ("apple", "milk"), True)
    await lists.put(2, "bob@example.com", ["tea"])
    await lists.put(3, "cy@example.com", [])
    assert [w.user_id for w in await lists.subscribed()] == [1, 2]

    assert await lists.unsubscribe(1) is True
    assert await lists.unsubscribe(99) is False
    assert [w.user_id for w in await lists.subscribed()] == [2]
    # New keywords keep alerts off; only turning them on says otherwise.
    assert (await lists.put(1, "ann@example.com", ["pear"])).alerts is False
    assert (await lists.put(1, "ann@new.example.com", ["pear"], alerts=True)).email == "ann@new.example.com"
    assert [w.user_id for w in await lists.subscribed()] == [1, 2]


async def counts(stack):
    """The email-sending queue's job counts, as `jobhost queues --json` reports them."""
    listed = await asyncio.to_thread(jobhost, "queues", "--json", env=stack.env)
    assert listed.returncode == 0, listed.stderr
    [queue] = [q for q in json.loads(listed.stdout) if q["name"] == "email-sending"]
    return queue["counts"]


@pytest.mark.slow
async def test_a_processed_flyer_mails_each_matching_user_once_even_if_announced_twice(stack):
    s = await stack()
    lists = Watchlists(s.host.db)
    await lists.put(1, "ann@example.com", ["apple"])
    await lists.put(2, "bob@example.com", ["coffee", "yogurt"])
    await lists.put(3, "cy@example.com", ["tea"])
    await lists.put(4, "dee@example.com", ["apple"])
    await lists.unsubscribe(4)
    s.start_worker()

    await s.host.emit("flyer.processed", FLYER, source="flyer_ocr")
    await s.host.emit("flyer.processed", FLYER, source="flyer_ocr")
    deadline = time.monotonic() + 60
    while (await counts(s))["completed"] < 4:
        assert time.monotonic() < deadline, await counts(s)
        await asyncio.sleep(0.5)

    by_user = {r.recipients[0]: r.message for r in s.smtp.received}
    assert sorted(by_user) == ["ann@example.com", "bob@example.com"]
    assert len(s.smtp.received) == 2
    bob = by_user["bob@example.com"]
    assert bob["Subject"] == '2 deals at "FreshMart" on your watchlist'
    text = bob.get_body(("plain",)).get_content()
    assert "Coffee beans: 9.49" in text and "Greek Yogurt" in text and "Apples" not in text
    token = (await Unsubscribe.of(s.host)).token(2)
    assert bob["List-Unsubscribe"] == f"<http://localhost:8000/api/email/unsubscribe?token={token}>"


async def test_with_the_email_plugin_disabled_a_flyer_event_goes_nowhere(make_host, caplog):
    host = make_host(installed=("flyer_ocr", "email"), JOBHOST_DISABLE_PLUGINS="email")
    assert host.registry.plugins["email"].status == "disabled"
    assert host.registry.plugins["flyer_ocr"].status == "loaded"
    await host.emit("flyer.processed", FLYER, source="flyer_ocr")
    assert "failed" not in caplog.text
    with pytest.raises(ServiceUnavailable, match="'mail' service"):
        host.service("mail")
