"""The real work, tested as plain functions."""

import pytest
from jobhost_hello.greeting import greeting


def test_greeting():
    assert greeting(" Ada ") == "Hello, Ada!"
    assert greeting("ada", shout=True) == "HELLO, ADA!"


@pytest.mark.parametrize(
    ("name", "error"), [("  ", "name must not be empty"), ("x" * 101, "at most 100 characters, got 101")]
)
def test_bad_names_are_refused_saying_why(name, error):
    with pytest.raises(ValueError, match=error):
        greeting(name)
