import json
from email import message_from_bytes, policy

import pytest
from aiosmtplib.email import parse_address
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import UndefinedError

from jobhost_email.mail import InvalidMail, Mail, bulk_headers
from jobhost_email.templates import render


def compose(**overrides):
    values = {
        "to": "ann@example.com",
        "subject": "Deals this week",
        "text": "Plain body",
        "html": "<p>HTML body</p>",
        "domain": "example.com",
        **overrides,
    }
    return Mail.compose(**values)


def test_a_composed_message_gets_a_unique_message_id_and_a_date():
    first, second = compose(), compose()
    assert first.message_id != second.message_id
    assert first.message_id.startswith("<") and first.message_id.endswith("@example.com>")
    assert first.date.endswith("+0000")


def test_the_job_kwargs_survive_json_and_rebuild_the_same_message():
    mail = compose(to=["ann@example.com", "Bob <bob@example.com>"], headers={"X-Campaign": "w12"})
    kwargs = json.loads(json.dumps(mail.as_kwargs()))
    assert Mail(**kwargs) == mail


def test_mime_is_multipart_alternative_with_text_first_and_every_header():
    mail = compose(to=["ann@example.com", "Bob <bob@example.com>"], headers=bulk_headers("https://x/u?t=1"))
    parsed = message_from_bytes(mail.to_mime("Deals <deals@example.com>").as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed.get_body(("plain",)).get_content() == "Plain body\n"
    assert parsed.get_body(("html",)).get_content() == "<p>HTML body</p>\n"
    assert parsed["From"] == "Deals <deals@example.com>"
    assert parsed["To"] == "ann@example.com, Bob <bob@example.com>"
    assert parsed["Subject"] == "Deals this week"
    assert parsed["Message-ID"] == mail.message_id
    assert parsed["Date"] == mail.date
    assert parsed["List-Unsubscribe"] == "<https://x/u?t=1>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.envelope_recipients == ["ann@example.com", "bob@example.com"]


def test_text_only_mail_is_a_single_plain_part():
    parsed = compose(html=None).to_mime("deals@example.com")
    assert parsed.get_content_type() == "text/plain"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to": []}, "'to' needs at least one address"),
        ({"to": "not-an-address"}, "'to': 'not-an-address' is not an address"),
        ({"to": "ann@example.com\nBcc: all@example.com"}, "'to' must be one line"),
        ({"subject": "Hi\r\nBcc: all@example.com"}, "'subject' must be one line"),
        # Line boundaries other than CR and LF, which Python's email package breaks lines at too
        ({"subject": "Hi\x85Bcc: all@example.com"}, "'subject' must be one line"),
        ({"to": "Ann\u2028 <ann@example.com>"}, "'to' must be one line"),
        ({"subject": "Deals\u2029"}, "'subject' must be one line"),
        ({"subject": "Deals\n"}, "'subject' must be one line"),
        # What SMTP's RCPT line cannot carry (aiosmtplib raises ValueError on it)
        ({"to": "ann\x00@example.com"}, "'to' holds a control character"),
        ({"to": 'a"nn@example.com'}, "is not an address"),
        # Addresses Python's header parser raises AttributeError on, instead of a defect
        ({"to": "ann@[example"}, "is not an address"),
        ({"to": ".Ann <ann@example.com>"}, "is not an address"),
        ({"subject": 42}, "'subject' must be a string"),
        ({"text": None}, "'text' must be a string"),
        ({"html": b"<p>"}, "'html' must be a string"),
        ({"headers": {"From": "boss@example.com"}}, "'From' is set by the email plugin itself"),
        ({"headers": {"Bad Name": "x"}}, "'Bad Name' is not a header name"),
        ({"headers": {"X-Tag": "a\nBcc: b@example.com"}}, "'headers.X-Tag' must be one line"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(overrides, field):
    with pytest.raises(InvalidMail, match=r"mail field") as caught:
        compose(**overrides)
    assert field in str(caught.value)


_CHARS = st.characters(codec="utf-8")
_ADDRESSES = st.one_of(
    st.text(_CHARS, max_size=12),
    st.builds("{}@{}".format, st.text(_CHARS, max_size=6), st.text(_CHARS, max_size=8)),
    st.builds("{} <{}@example.com>".format, st.text(_CHARS, max_size=6), st.text(_CHARS, max_size=6)),
)


@settings(max_examples=3000, deadline=None)
@given(to=_ADDRESSES, subject=st.text(_CHARS, max_size=8))
def test_any_address_and_subject_are_refused_or_can_be_sent(to, subject):
    """Whatever a caller sends: InvalidMail naming the field, or a message that MIME and SMTP can
    carry (no other error from the email package or aiosmtplib when it is sent)."""
    try:
        mail = compose(to=to, subject=subject)
    except InvalidMail as refused:
        assert "mail field 'to'" in str(refused) or "mail field 'subject'" in str(refused)
        return
    for recipient in mail.envelope_recipients:
        assert not any(ord(c) < 0x20 or c == "\x7f" for c in parse_address(recipient))
    mail.to_mime("deals@example.com").as_bytes()


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [("message_id", "no-brackets@example.com", "<unique@domain>"), ("date", "yesterday", "RFC 5322 date")],
)
def test_edited_job_kwargs_with_a_bad_identity_are_refused(field, value, rule):
    kwargs = {**compose().as_kwargs(), field: value}
    with pytest.raises(InvalidMail, match=rule):
        Mail(**kwargs)


def test_templates_render_both_parts_and_escape_html_only():
    text, html = render("test_message", server="smtp.example.com:587", requested_by="<admin>", sent_at="noon")
    assert "through smtp.example.com:587 on request of <admin> at noon" in text
    assert "on request of &lt;admin&gt; at noon" in html
    assert html.lstrip().startswith("<!DOCTYPE html>")


def test_a_template_variable_left_out_is_an_error():
    with pytest.raises(UndefinedError, match=r"requested_by"):
        render("test_message", server="x", sent_at="noon")
