"""The plugin's routes through the host's real app, as a signed-in user and as an admin."""

from jobhost_hello import plugin

from jobhost.testing import client, discard


async def test_the_public_route_greets_and_refuses_a_blank_name(make_host):
    host = make_host(plugin)
    async with client(host) as http:
        assert (await http.get("/api/hello/Ada")).json() == {"greeting": "Hello, Ada!"}
        blank = await http.get("/api/hello/%20")
    assert blank.status_code == 400
    assert "name: name must not be empty" in blank.text
    await discard(host)


async def test_a_user_starts_a_greeting_and_follows_their_job(make_host):
    host = make_host(plugin)
    async with client(host) as http, host.worker():
        assert (await http.post("/api/hello/Ada/jobs")).status_code == 401  # not signed in
        user = await http.login()
        started = await http.post("/api/hello/Ada/jobs")
        assert started.status_code == 202
        job_id = started.json()["jobId"]
        done = await host.wait(job_id, timeout=10)
        followed = await http.get(f"/api/jobs/{job_id}")
    assert (done.state, done.result, done.owner) == ("completed", "Hello, Ada!", user.owner)
    assert followed.status_code == 200
    await discard(host)


async def test_the_admin_route_counts_the_guestbook_and_refuses_plain_users(make_host):
    host = make_host(plugin)
    async with client(host) as http:
        await http.login()
        refused = await http.get("/api/admin/hello/stats")
        await http.login(admin=True)
        before = (await http.get("/api/admin/hello/stats")).json()
        async with host.worker():
            await (await plugin.greet.kiq("Ada")).wait_result(timeout=10)
        after = (await http.get("/api/admin/hello/stats")).json()
    assert refused.status_code == 403
    assert (before, after) == ({"greeted": 0}, {"greeted": 1})
    await discard(host)
