"""The blob store on its three real backends: a folder, the SQL database (SQLite and PostgreSQL,
migrated), and a real S3-compatible server on loopback (moto's server, see `s3_blobs`)."""

import os

import pytest

from jobhost import BlobError, BlobNotFound, Blobs, ServiceUnavailable
from jobhost.testing import open_database


@pytest.fixture(params=["folder", "sqlite", "postgresql", "s3"])
def backend(request, tmp_path):
    """The environment choosing each backend, as an operator sets it."""
    if request.param == "s3":
        yield request.getfixturevalue("s3_blobs")
    elif request.param == "folder":
        yield {"JOBHOST_BLOB_STORE": "folder", "UPLOAD_DIR": str(tmp_path / "uploads")}
    else:
        with open_database(request.param, tmp_path) as url:
            yield {"DATABASE_URL": url}  # the database is the default once DATABASE_URL is set


@pytest.fixture
async def blobs(make_host, backend):
    host = make_host(migrate=True, JOBHOST_BLOB_MAX_SIZE="1000", **backend)
    yield host.blobs
    if "database" in host.__dict__:
        await host.database.dispose()


async def test_put_get_delete_by_key(blobs: Blobs):
    assert isinstance(blobs, Blobs)
    await blobs.put("flyer-1.pdf", b"%PDF first")
    await blobs.put("plugin/sub/two.png", b"\x89PNG\x00\xff")
    assert await blobs.get("flyer-1.pdf") == b"%PDF first"
    assert await blobs.get("plugin/sub/two.png") == b"\x89PNG\x00\xff"
    await blobs.put("flyer-1.pdf", b"replaced")
    assert await blobs.get("flyer-1.pdf") == b"replaced"
    assert await blobs.delete("flyer-1.pdf") is True
    assert await blobs.delete("flyer-1.pdf") is False
    with pytest.raises(BlobNotFound, match=r"flyer-1\.pdf"):
        await blobs.get("flyer-1.pdf")
    assert await blobs.get("plugin/sub/two.png") == b"\x89PNG\x00\xff"


async def test_scan_lists_keys_under_a_prefix_with_sizes_and_times(blobs: Blobs):
    for key, size in [("flyer-a.pdf", 3), ("flyer-b.png", 5), ("other/x", 7), ("flyer_c", 1)]:
        await blobs.put(key, b"x" * size)
    found = [(info.key, info.size) async for info in blobs.scan("flyer-")]
    assert found == [("flyer-a.pdf", 3), ("flyer-b.png", 5)]
    everything = [info async for info in blobs.scan()]
    assert [info.key for info in everything] == ["flyer-a.pdf", "flyer-b.png", "flyer_c", "other/x"]
    assert all(info.stored_at.tzinfo is not None for info in everything)


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/abs", "a/../b", ".hidden", "a//b", "Upper.PDF", "a/", "", "x" * 256, "sp ace"]
)
async def test_a_key_that_could_escape_or_came_from_a_file_name_is_refused(blobs: Blobs, key):
    with pytest.raises(BlobError, match="is invalid"):
        await blobs.put(key, b"data")
    with pytest.raises(BlobError):
        await blobs.get(key)
    with pytest.raises(BlobError):
        await blobs.delete(key)


async def test_a_blob_over_the_size_limit_is_refused_and_nothing_is_stored(blobs: Blobs):
    with pytest.raises(BlobError, match="1001 bytes, more than JOBHOST_BLOB_MAX_SIZE"):
        await blobs.put("big", b"x" * 1001)
    assert [info async for info in blobs.scan()] == []
    await blobs.put("big", b"x" * 1000)
    assert len(await blobs.get("big")) == 1000


def test_the_folder_store_never_follows_a_link(make_host, tmp_path):
    uploads, outside = tmp_path / "uploads", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"keep")
    uploads.mkdir()
    (uploads / "out").symlink_to(outside, target_is_directory=True)
    (uploads / "file-link").symlink_to(outside / "secret")
    blobs = make_host(JOBHOST_BLOB_STORE="folder", UPLOAD_DIR=str(uploads)).blobs
    with pytest.raises(BlobError, match="'out' is a link or a file"):
        blobs.get_sync("out/secret")
    with pytest.raises(BlobError, match="'out' is a link or a file"):
        blobs.put_sync("out/new", b"x")
    with pytest.raises(BlobNotFound, match="symbolic link"):
        blobs.get_sync("file-link")
    assert blobs.delete_sync("file-link") is False
    assert blobs.scan_sync("") == []
    assert (outside / "secret").read_bytes() == b"keep" and os.listdir(outside) == ["secret"]


def test_a_failed_folder_put_leaves_nothing_behind(make_host, tmp_path):
    uploads = tmp_path / "uploads"
    blobs = make_host(JOBHOST_BLOB_STORE="folder", UPLOAD_DIR=str(uploads)).blobs
    blobs.put_sync("plain", b"a file where a folder would go")
    with pytest.raises(BlobError, match="'plain' is a link or a file"):
        blobs.put_sync("plain/inside", b"x")
    assert os.listdir(uploads / "tmp") == [], "the part written before the rename is gone"
    assert blobs.get_sync("plain") == b"a file where a folder would go"
    with pytest.raises(BlobError, match="tmp/ is the folder store's scratch folder"):
        blobs.put_sync("tmp/x", b"x")


async def test_an_s3_store_that_cannot_be_reached_is_unavailable_not_missing(make_host):
    import socket

    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    host = make_host(
        JOBHOST_BLOB_STORE="s3://nowhere",
        JOBHOST_S3_ENDPOINT=f"http://127.0.0.1:{port}",
        JOBHOST_S3_ACCESS_KEY_ID="k",
        JOBHOST_S3_SECRET_ACCESS_KEY="s",
    )
    for call in (host.blobs.put("k", b"x"), host.blobs.get("k"), host.blobs.delete("k")):
        with pytest.raises(ServiceUnavailable, match=r"the S3 blob store s3://nowhere is unavailable"):
            await call
