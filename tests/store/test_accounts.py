from datetime import timedelta

import pytest
from sqlalchemy import select, update

from jobhost.store.accounts import API, PASSWORD_RESET, SESSION, AccountError, Accounts, token_hash
from jobhost.store.models import TokenRow, UserRow, utcnow
from jobhost.store.user import User


@pytest.fixture
async def accounts(host) -> Accounts:
    return Accounts(host.db)


async def test_create_user_normalizes_email_and_refuses_duplicates(accounts):
    user = await accounts.create_user("  Ann@Example.ORG ", "long enough", is_admin=True)
    assert user == User(user.id, "ann@example.org", True)
    with pytest.raises(AccountError, match=r"'ann@example\.org' already exists"):
        await accounts.create_user("ann@example.org", "another one")
    assert await accounts.find("ANN@example.org") == user


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", "long enough", "is not an email address"),
        ("ann\x00@example.org", "long enough", "is not an email address"),  # no mail could reach it
        ('"ann"<x>@example.org', "long enough", "is not an email address"),
        ("a@b.c", "short", "at least 8"),
    ],
)
async def test_bad_input_is_refused_and_stores_nothing(host, accounts, email, password, message):
    with pytest.raises(AccountError, match=message):
        await accounts.create_user(email, password)
    async with host.db() as session:
        assert (await session.scalars(select(UserRow))).all() == []


async def test_password_is_stored_hashed_and_authenticates(host, accounts):
    user = await accounts.create_user("bob@example.org", "s3cret-pass")
    async with host.db() as session:
        stored = await session.scalar(select(UserRow.password_hash))
    assert "s3cret-pass" not in stored and stored.startswith("scrypt$")
    assert await accounts.authenticate("BOB@example.org", "s3cret-pass") == user
    assert await accounts.authenticate("bob@example.org", "wrong-pass") is None
    assert await accounts.authenticate("nobody@example.org", "s3cret-pass") is None
    assert await accounts.authenticate("garbage", "s3cret-pass") is None


async def test_tokens_are_stored_as_hashes_and_work_only_for_their_purpose(host, accounts):
    user = await accounts.create_user("c@example.org", "password1")
    api = await accounts.issue_token(user, API, 3600)
    reset = await accounts.issue_token(user, PASSWORD_RESET, 3600)
    async with host.db() as session:
        hashes = set((await session.scalars(select(TokenRow.token_hash))).all())
    assert hashes == {token_hash(api.token), token_hash(reset.token)}
    assert await accounts.user_for_token(api.token) == user
    assert await accounts.user_for_token(reset.token) is None  # not a bearer token
    assert await accounts.user_for_token(reset.token, (PASSWORD_RESET,)) == user
    assert await accounts.user_for_token("made-up") is None
    with pytest.raises(AccountError, match="purpose must be one of"):
        await accounts.issue_token(user, "root", 60)


async def test_expired_tokens_are_refused_then_deleted(host, accounts):
    user = await accounts.create_user("d@example.org", "password1")
    live = await accounts.issue_token(user, SESSION, 3600)
    old = await accounts.issue_token(user, SESSION, 3600)
    async with host.db() as session:
        await session.execute(
            update(TokenRow)
            .where(TokenRow.token_hash == token_hash(old.token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await accounts.user_for_token(old.token) is None
    assert await accounts.delete_expired_tokens() == 1
    assert await accounts.user_for_token(live.token) == user


async def test_revoke_ends_a_token(accounts):
    user = await accounts.create_user("e@example.org", "password1")
    issued = await accounts.issue_token(user, SESSION, 3600)
    assert await accounts.revoke(issued.token)
    assert await accounts.user_for_token(issued.token) is None
    assert not await accounts.revoke(issued.token)


async def test_password_reset_spends_the_token_and_ends_sessions_but_not_api_tokens(accounts):
    user = await accounts.create_user("f@example.org", "old-password")
    session = await accounts.issue_token(user, SESSION, 3600)
    api = await accounts.issue_token(user, API, 3600)
    reset = await accounts.issue_token(user, PASSWORD_RESET, 3600)
    with pytest.raises(AccountError, match="at least 8"):
        await accounts.reset_password(reset.token, "short")
    assert await accounts.reset_password(reset.token, "new-password") == user
    assert await accounts.authenticate("f@example.org", "new-password") == user
    assert await accounts.authenticate("f@example.org", "old-password") is None
    assert await accounts.user_for_token(session.token) is None
    assert await accounts.user_for_token(api.token) == user
    with pytest.raises(AccountError, match="invalid, used or expired"):
        await accounts.reset_password(reset.token, "third-password")
    # A session token cannot reset a password.
    other = await accounts.issue_token(user, SESSION, 3600)
    with pytest.raises(AccountError, match="invalid, used or expired"):
        await accounts.reset_password(other.token, "third-password")


async def test_deleting_a_user_deletes_their_tokens(host, accounts):
    user = await accounts.create_user("g@example.org", "password1")
    await accounts.issue_token(user, API, 3600)
    async with host.db() as session:
        await session.delete(await session.get_one(UserRow, user.id))
        await session.commit()
        assert (await session.scalars(select(TokenRow))).all() == []
