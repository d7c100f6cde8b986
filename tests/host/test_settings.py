from pathlib import Path

import pytest

from jobhost import QueuePolicy, RateLimit, Setting
from jobhost.settings import (
    HOST_SETTINGS,
    Settings,
    SettingsError,
    effective,
    mask,
    parse_duration,
    parse_positive_int,
)


def test_defaults_are_embedded_mode_in_the_user_data_folder_wherever_we_stand(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.embedded
    assert settings.shutdown_timeout == 30
    data = tmp_path / "xdg" / "jobhost"
    assert settings.data_dir == data
    assert settings.uploads == data / "uploads"
    assert settings.sql_url == f"sqlite+aiosqlite:///{data / 'jobhost.db'}"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert Settings.from_env({}).data_dir == data


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_URL", "localhost:6379"),
        ("REDIS_URL", "http://localhost:6379"),
        ("REDIS_URL", "redis://localhost:63x9/0"),
        ("REDIS_URL", "redis://localhost:6379/db"),
        ("DATABASE_URL", "mysql://db/app"),
        ("DATABASE_URL", "jobhost.db"),
        ("DATABASE_URL", "postgresql://h:port/db"),
    ],
)
def test_a_malformed_url_is_a_settings_error_with_an_example(name, value):
    with pytest.raises(SettingsError, match=rf"^{name}=.*: must be a .*URL such as "):
        Settings.from_env({name: value})


def test_well_formed_urls_pass():
    for url in ("redis://localhost:6379/0", "rediss://:pw@h:6380/1", "unix:///run/redis.sock"):
        assert Settings.from_env({"REDIS_URL": url}).redis_url == url
    for url in ("postgres://u@h/db", "postgresql+asyncpg://u:p@h:5433/db", "sqlite:////tmp/x.db"):
        assert Settings.from_env({"DATABASE_URL": url}).database_url == url


def test_effective_values_name_the_derived_paths_and_tell_unset_from_empty(tmp_path):
    from jobhost.settings import describe

    env = {"JOBHOST_DATA_DIR": str(tmp_path), "JOBHOST_DISABLE_PLUGINS": ""}
    values = effective(Settings.from_env(env), [])
    assert values["DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'jobhost.db'}"
    assert values["UPLOAD_DIR"] == str(tmp_path / "uploads")
    assert values["JOBHOST_LOAD_PLUGINS"] is None and values["JOBHOST_DISABLE_PLUGINS"] == []
    assert describe("JOBHOST_LOAD_PLUGINS", None, env) == "JOBHOST_LOAD_PLUGINS=(unset)  (default)"
    assert describe("JOBHOST_DISABLE_PLUGINS", [], env) == "JOBHOST_DISABLE_PLUGINS=(empty)"
    assert describe("REDIS_URL", None, env).startswith("REDIS_URL=(unset: embedded")
    assert (
        describe("UPLOAD_DIR", values["UPLOAD_DIR"], env) == f"UPLOAD_DIR={tmp_path / 'uploads'}  (default)"
    )


def test_values_from_env():
    settings = Settings.from_env(
        {
            "REDIS_URL": "redis://localhost:6379/2",
            "SHUTDOWN_TIMEOUT": "2m",
            "UPLOAD_DIR": "/srv/up",
            "JOBHOST_DISABLE_PLUGINS": "email, analytics",
            "JOBHOST_LOAD_PLUGINS": "",
            "JOBHOST_STRICT_PLUGINS": "yes",
        }
    )
    assert not settings.embedded
    assert settings.shutdown_timeout == 120
    assert settings.uploads == Path("/srv/up")
    assert settings.disable_plugins == ("email", "analytics")
    assert settings.load_plugins == ()
    assert settings.strict_plugins is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT='soon': must be a duration >= 0"),
        ({"SHUTDOWN_TIMEOUT": "-5"}, "SHUTDOWN_TIMEOUT='-5': must be a duration >= 0"),
        ({"JOBHOST_STRICT_PLUGINS": "maybe"}, "JOBHOST_STRICT_PLUGINS='maybe': must be 1 or 0"),
        ({"JOBHOST_LOG_LEVEL": "loud"}, "JOBHOST_LOG_LEVEL='LOUD': must be DEBUG, INFO, WARNING or ERROR"),
    ],
)
def test_bad_values_name_the_variable_and_the_rule(env, message):
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert str(info.value).startswith(message)


def test_concurrency_and_rate_limit_variables():
    policy = QueuePolicy("q", concurrency=10, concurrency_env="Q_CONC", rate_limit_env="Q_RATE")
    assert Settings.from_env({}).concurrency(policy) == 10
    assert Settings.from_env({"Q_CONC": "3"}).concurrency(policy) == 3
    assert Settings.from_env({"Q_RATE": "600/min"}).rate_limit(policy) == RateLimit(600, 60)
    with pytest.raises(SettingsError, match="Q_CONC='0': must be a whole number >= 1"):
        Settings.from_env({"Q_CONC": "0"}).concurrency(policy)
    with pytest.raises(SettingsError, match="Q_RATE='lots': rate limit must look like"):
        Settings.from_env({"Q_RATE": "lots"}).rate_limit(policy)


def test_secrets_are_masked():
    redis = next(s for s in HOST_SETTINGS if s.name == "REDIS_URL")
    assert mask(redis, "redis://user:hunter2@db:6379/0") == "redis://user:***@db:6379/0"
    assert mask(redis, "redis://:hunter2@db:6379/0") == "redis://:***@db:6379/0"
    password = Setting("SMTP_PASSWORD", secret=True)
    shown = effective(Settings.from_env({"SMTP_PASSWORD": "hunter2", "JOBHOST_SECRET_KEY": "k"}), [password])
    assert shown["SMTP_PASSWORD"] == "***"
    assert shown["JOBHOST_SECRET_KEY"] == "***"
    assert "hunter2" not in repr(shown)


def test_a_bad_secret_is_not_echoed():
    secret = Setting("API_KEY", parse=int, secret=True, allowed="must be a number")
    with pytest.raises(SettingsError) as info:
        secret.read({"API_KEY": "hunter2"})
    assert "hunter2" not in str(info.value)
    assert str(info.value) == "API_KEY=***: must be a number"


def test_parse_duration_units():
    assert [parse_duration(t) for t in ("30", "500ms", "2m", "1h", "7d")] == [30, 0.5, 120, 3600, 604800]


@pytest.mark.parametrize("text", ["soon", "-1", "inf", "nan", "5 weeks", ""])
def test_parse_duration_refuses_with_the_rule(text):
    with pytest.raises(ValueError, match="must be a duration >= 0, such as 30, 500ms, 2m or 1h"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0", "-3", "two", "1.5"])
def test_parse_positive_int_refuses_with_the_rule(text):
    with pytest.raises(ValueError, match="must be a whole number >= 1"):
        parse_positive_int(text)
