"""Hostile input against the review server: oversized and chunked bodies, foreign Host headers, huge login
names, too many upload files, and the serve command's proxy options.

The body tests run the real `serve()` (uvicorn on loopback) in a child process, so what it did is measured from
the outside: how much of the body the client could push before the answer came (the server stopped reading
when that is far below the body's size: the kernel's socket buffers hold only a few MB), the bytes the process
wrote to files (/proc/PID/io wchar: temp files count, socket sends do not) and its peak memory (VmHWM).
"""

from __future__ import annotations

import io
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pipeline import cli
from pipeline.review.app import create_app
from pipeline.review.web import ReviewSettings
from pipeline.store import Workspace
from tests.pipeline.review.conftest import PASSWORD, TEST_HOSTS, csrf_of, login
from tests.support import ROOT

MB = 1024**2
BODY = 96 * MB  # what each hostile request offers to send; the server must stop long before
PNG = b"\x89PNG\r\n\x1a\n"
SERVER = """
import sys
from pathlib import Path
from pipeline.review.app import serve
from pipeline.review.web import ReviewSettings
serve(ReviewSettings(workspace=Path(sys.argv[1]), max_file_bytes=int(sys.argv[3]), max_files=int(sys.argv[4])),
      port=int(sys.argv[2]))
"""


@dataclass(frozen=True)
class Server:
    port: int
    pid: int
    workspace: Path

    def io(self) -> dict[str, int]:  # needs the same user as the server (it is our child)
        text = Path(f"/proc/{self.pid}/io").read_text()
        return {key: int(value) for key, value in re.findall(r"(\w+): (\d+)", text)}

    def peak_rss(self) -> int:
        return int(re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{self.pid}/status").read_text()).group(1)) * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    offered: int  # body bytes handed to the socket before the answer came
    closed: bool  # the server closed the connection after answering


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(seeded, tmp_path_factory) -> Iterator[Server]:
    """`serve()` as `petition review` runs it: 1 MB per uploaded file, 3 files per upload."""
    root = tmp_path_factory.mktemp("hostile")
    workspace = root / "workspace"
    shutil.copytree(seeded, workspace)
    port = _free_port()
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "TMPDIR": str(root)}
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", SERVER, str(workspace), str(port), str(MB), "3"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        assert process.poll() is None, (root / "server.log").read_text()
        live = Server(port, process.pid, workspace)
        _warm_up(live)
        yield live
    finally:
        process.terminate()
        process.wait(timeout=20)


def _warm_up(server: Server) -> None:
    """Parse a form and a JSON body once, so lazy imports are not counted as the hostile request's reads."""
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client:
        client.get("/login")
        client.post("/login", data={"name": "x", "password": "y", "csrf": "z"})
        client.post("/api/decide", json={"item": "x", "status": "signed"})


def _raw(port: int, head: bytes, *, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(head)
    return sock


def _read_answer(sock: socket.socket, offered: int) -> Answer:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    except (ConnectionResetError, TimeoutError, socket.timeout):
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    closed = False
    sock.settimeout(3)
    try:
        while len(body) < length:
            piece = sock.recv(65536)
            if not piece:
                closed = True
                break
            body += piece
        closed = closed or sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except (TimeoutError, socket.timeout):
        closed = False
    sock.close()
    return Answer(status, headers, body, offered, closed)


def _chunked_post(port: int, path: str, *, headers: dict[str, str], first: bytes, total: int = BODY,
                  filler: bytes = b"a" * (256 * 1024)) -> Answer:
    """POST a chunked body (no Content-Length), `first` then filler, and stop as soon as the server answers."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    sock = _raw(port, head, timeout=30)
    offered = 0
    try:
        while offered < total:
            if select.select([sock], [], [], 0)[0]:
                break
            piece = first if offered == 0 else filler
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            offered += len(piece)
        else:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    return _read_answer(sock, offered)


def _measured(server: Server, request) -> tuple[Answer, int, int]:
    """The answer, and what the server wrote to files and added to its peak memory while handling it."""
    before, peak = server.io()["wchar"], server.peak_rss()
    answer = request()
    time.sleep(0.3)  # let the server finish whatever it still does with the connection
    return answer, server.io()["wchar"] - before, server.peak_rss() - peak


def test_a_chunked_oversized_json_post_to_decide_is_413_before_the_body_is_read(server):
    answer, _, grown = _measured(server, lambda: _chunked_post(
        server.port, "/api/decide", headers={"Content-Type": "application/json"}, first=b'{"item": "'))
    assert answer.status == 413, answer
    assert answer.closed  # no draining of the rest: the connection is closed
    assert answer.offered < BODY // 4, f"the client pushed {answer.offered / MB:.1f} MB before the answer"
    assert grown < 16 * MB, f"peak memory grew by {grown / MB:.1f} MB"


def test_a_chunked_oversized_multipart_post_to_login_is_413_and_nothing_is_spooled_to_disk(server):
    part = (b'--B\r\nContent-Disposition: form-data; name="name"; filename="x.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    answer, written, grown = _measured(server, lambda: _chunked_post(
        server.port, "/login", headers={"Content-Type": "multipart/form-data; boundary=B"}, first=part))
    assert answer.status == 413, answer
    assert answer.closed and answer.offered < BODY // 4
    assert written < MB, f"the server wrote {written / MB:.1f} MB to files"
    assert grown < 16 * MB


def test_a_content_length_beyond_the_route_cap_is_413_without_waiting_for_the_body(server):
    """1 MB is far under the upload cap but far over what /api/decide takes: refused at once, nothing sent."""
    sock = _raw(server.port, f"POST /api/decide HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                             f"Content-Type: application/json\r\nContent-Length: {MB}\r\n\r\n".encode(), timeout=5)
    answer = _read_answer(sock, 0)
    assert answer.status == 413 and answer.closed


def test_an_upload_without_a_session_is_refused_before_its_body_is_read(server):
    part = b'--B\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n' + PNG
    answer, written, _ = _measured(server, lambda: _chunked_post(
        server.port, "/admin/upload", headers={"Content-Type": "multipart/form-data; boundary=B"}, first=part))
    assert answer.status in (303, 401), answer
    assert answer.closed  # the unread body is not drained either
    assert answer.offered < BODY // 4 and written < MB


def _uploads_left(workspace: Path) -> list[str]:
    """What an upload left in the workspace's uploads folder (temporary .incoming-* folders included)."""
    folder = workspace / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _admin_login(server: Server) -> tuple[str, str]:
    """(session cookie, CSRF token) for ada, logged in over HTTP like a browser."""
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        assert client.post("/login", data={"name": "ada", "password": PASSWORD, "csrf": token}).status_code == 303
        return client.cookies["petition_session"], csrf_of(client.get("/admin").text)


def test_an_admin_upload_streams_to_disk_and_stops_at_the_per_file_cap(server):
    cookie, csrf = _admin_login(server)
    part = b'--B\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n\r\n' + PNG
    answer, written, grown = _measured(server, lambda: _chunked_post(
        server.port, "/admin/upload", first=part, total=40 * MB,
        headers={"Content-Type": "multipart/form-data; boundary=B", "Cookie": f"petition_session={cookie}",
                 "X-CSRF-Token": csrf}))
    assert answer.status == 413, answer
    assert b"1 MB" in answer.body
    # 1 MB may be written (the cap), not the 40 MB offered; and nothing is left behind.
    assert answer.closed and answer.offered < 20 * MB, f"the client pushed {answer.offered / MB:.1f} MB"
    assert written < 3 * MB, f"the server wrote {written / MB:.1f} MB to files"
    assert grown < 16 * MB
    assert _uploads_left(server.workspace) == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_host_names_are_served(server, host):
    sock = _raw(server.port, f"GET /login HTTP/1.1\r\nHost: {host}:{server.port}\r\nConnection: close\r\n\r\n".encode())
    assert _read_answer(sock, 0).status == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", ""])
def test_a_host_not_on_the_allow_list_is_400_whatever_the_route(server, host):
    """DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 reaches the server with its own
    Host header; the server must not answer it."""
    for request in (f"GET /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
                    f"POST /api/decide HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"):
        answer = _read_answer(_raw(server.port, request.encode()), 0)
        assert answer.status == 400, (host, answer)


# In-process (TestClient): what the database holds, the upload file count, the serve command's options.


def _row_counts(workspace_dir: Path) -> dict[str, int]:
    store = Workspace.open(workspace_dir, create=False)
    try:
        tables = [r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: store.db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
    finally:
        store.close()


def test_the_in_process_test_client_gets_no_exception_from_the_host_check(workspace_dir):
    """Nothing in a request lets `testserver` (TestClient's Host) through unless the settings name it; with the
    defaults only loopback names are served, however the request arrives."""
    app = create_app(ReviewSettings(workspace=workspace_dir), run_batches=False)
    with TestClient(app) as client:
        assert client.get("/login").status_code == 400
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/login").status_code == 200


def test_a_foreign_host_is_400_even_where_the_test_host_is_allowed(app):
    with TestClient(app) as client:
        assert client.get("/login").status_code == 200
        for path in ("/login", "/review", "/admin/export/rows.csv"):
            assert client.get(path, headers={"host": "evil.example"}).status_code == 400, path
        refused = client.post("/api/decide", json={}, headers={"host": "evil.example:8000"})
    assert refused.status_code == 400 and "--allowed-host" in refused.text


def test_a_login_with_a_huge_name_is_refused_and_no_table_grows(app, workspace_dir):
    before = _row_counts(workspace_dir)
    with TestClient(app) as client:
        assert login(client, "a" * MB, "wrong password").status_code == 413  # over the login body cap
        refused = login(client, "b" * 5000, "wrong password")  # under the cap, over the name limit
    assert refused.status_code == 401 and "Wrong name or password" in refused.text
    assert _row_counts(workspace_dir) == before


@pytest.mark.parametrize("token_in", ["header", "form field"])
def test_the_file_count_limit_holds_however_the_csrf_token_travels(workspace_dir, clock, token_in):
    app = create_app(ReviewSettings(workspace=workspace_dir, clock=clock, max_files=2, allowed_hosts=TEST_HOSTS),
                     run_batches=False)
    with TestClient(app) as client:
        assert login(client, "ada").status_code == 303
        csrf = csrf_of(client.get("/admin").text)
        files = [("files", (f"s{i}.png", io.BytesIO(PNG + b"\0" * 100), "image/png")) for i in range(3)]
        response = client.post("/admin/upload", files=files, follow_redirects=False,
                               data={} if token_in == "header" else {"csrf": csrf},
                               headers={"X-CSRF-Token": csrf} if token_in == "header" else {})
    assert response.status_code == 413, response.text
    assert "at most 2 files" in response.text
    assert _row_counts(workspace_dir)["review_batches"] == 0
    assert _uploads_left(workspace_dir) == []


def test_an_upload_without_the_csrf_token_writes_nothing(admin_client, workspace_dir):
    files = [("files", ("s.png", io.BytesIO(PNG + b"\0" * 100), "image/png"))]
    response = admin_client.post("/admin/upload", files=files, data={"csrf": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert _uploads_left(workspace_dir) == []


@pytest.fixture
def admin_client(app):
    with TestClient(app) as client:
        assert login(client, "ada").status_code == 303
        yield client


def test_the_review_command_takes_allowed_hosts_and_secure_cookies(workspace_dir, monkeypatch):
    """`petition review --allowed-host NAME --secure-cookies` reaches the app: that Host is served, another
    is refused, and the cookies set at login carry Secure (browsers then send them over HTTPS only)."""
    served = {}
    monkeypatch.setattr("pipeline.review.app.serve", lambda settings, **kwargs: served.update(settings=settings, **kwargs))
    result = CliRunner().invoke(cli.app, ["review", "--workspace", str(workspace_dir), "--allowed-host",
                                          "review.example.org", "--secure-cookies", "--forwarded-allow-ips", "10.0.0.5"])
    assert result.exit_code == 0, result.output
    settings = served["settings"]
    assert served["forwarded_allow_ips"] == "10.0.0.5"
    with TestClient(create_app(settings, run_batches=False), base_url="https://review.example.org") as client:
        assert client.get("/login", headers={"host": "evil.example"}).status_code == 400
        response = login(client, "ada")
        assert response.status_code == 303
        cookies = response.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookies if c.startswith("petition_session="))
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie


def test_serve_believes_proxy_headers_only_when_told_and_answers_to_its_own_address(workspace_dir, monkeypatch):
    from pipeline.review import app as review_app

    runs = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: runs.append((app, kwargs)))
    review_app.serve(ReviewSettings(workspace=workspace_dir), host="192.0.2.10", port=8000)
    review_app.serve(ReviewSettings(workspace=workspace_dir), forwarded_allow_ips="10.0.0.5")
    (lan_app, lan), (_, proxied) = runs
    assert lan["proxy_headers"] is False  # X-Forwarded-For from anyone would let them pick their address
    assert proxied["proxy_headers"] is True and proxied["forwarded_allow_ips"] == "10.0.0.5"
    with TestClient(lan_app, base_url="http://192.0.2.10:8000") as client:
        assert client.get("/login").status_code == 200
        assert client.get("/login", headers={"host": "evil.example"}).status_code == 400


def test_without_the_option_cookies_are_not_secure(app):
    """Plain http on loopback (the default) must keep working: a Secure cookie would never come back."""
    with TestClient(app) as client:
        response = login(client, "ada")
    assert all("Secure" not in c for c in response.headers.get_list("set-cookie"))
