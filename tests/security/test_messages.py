"""Messages that say what is wrong: a multipart limit names itself, durations too long for a
date are refused where they are given, and names with bidirectional overrides are refused."""

from __future__ import annotations

import pytest

from jobhost.http.config import HttpConfig
from jobhost.settings import SettingsError
from tests.conftest import run_jobhost
from tests.http import jobs_demo


async def test_a_huge_file_name_is_a_400_that_says_so(make_api):
    async with make_api(jobs_demo) as api:
        _, ann = await api.user("ann@example.org")
        name = "a" * 100_000 + ".png"
        part = f'Content-Disposition: form-data; name="data"; filename="{name}"\r\n\r\n'.encode()
        answer = await api.client.post(
            "/api/demo/upload",
            content=b"--b\r\n" + part + b"\x89PNG\r\n--b--\r\n",
            headers={**ann, "Content-Type": "multipart/form-data; boundary=b"},
        )
    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        "request body (multipart): a part's header line is too long "
        "(a file name may have at most about 4,000 characters)"
    )


def test_durations_beyond_a_century_are_refused_naming_the_setting_or_option(make_host):
    with pytest.raises(
        SettingsError, match=r"JOBHOST_SESSION_TTL='1e12': must be a duration of at most 100 years"
    ):
        HttpConfig.read(make_host(JOBHOST_SESSION_TTL="1e12").settings)
    proc = run_jobhost("tokens", "create", "ann@example.org", "--expires", "1e12")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--expires" in proc.stderr and "at most 100 years" in proc.stderr


async def test_names_with_bidirectional_overrides_are_refused(make_api):
    async with make_api(installed=("email",)) as api:
        _, ann = await api.user("ann@example.org")
        spoof = "apple\u202egnp.exe"
        answer = await api.client.put("/api/email/watchlist", json={"keywords": [spoof]}, headers=ann)
        assert answer.status_code == 400
        assert answer.json()["detail"] == (
            "body.keywords[0] must not contain bidirectional control characters (U+202E)"
        )
        assert (await api.client.get("/api/email/watchlist", headers=ann)).json()["keywords"] == []
