"""The ``vidonate`` command line: administration against the database, donation over
the API with tus, and the demo that runs the whole loop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidonate.cli import app
from vidonate.db.engine import transaction
from vidonate.db.models import Donation
from vidonate.ingest.samples import generate_clip
from vidonate.server import BackgroundServer
from world import World

runner = CliRunner()


def test_admin_creates_users_and_campaigns(cli_env: Path) -> None:
    r = runner.invoke(app, ["user", "create", "carol", "--role", "donor", "--role", "reviewer"])
    assert r.exit_code == 0, r.output
    assert "carol (donor, reviewer)" in r.output and "password" in r.output
    r = runner.invoke(
        app,
        [
            "campaign",
            "create",
            "car-doors",
            "--name",
            "Car doors",
            "--budget-cents",
            "5000",
            "--category",
            "car_door_tampering=500",
            "--category",
            "normal_activity",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["campaign", "list"])
    assert "car-doors" in r.output and "$50.00" in r.output and "car_door_tampering" in r.output
    r = runner.invoke(
        app, ["campaign", "create", "car-doors", "--name", "x", "--budget-cents", "1"]
    )
    assert r.exit_code == 2 and "campaign_exists" in r.output


def test_donor_logs_in_adds_a_camera_and_donates_with_progress(world: World, cli_env: Path) -> None:
    clips = [generate_clip(cli_env / f"clip{i}.mp4", seconds=1.5, seed=i) for i in range(2)]
    with BackgroundServer(world.rt, run_worker=False) as server:
        r = runner.invoke(
            app,
            ["login", "--server", server.url, "--username", "bob", "--password", "bob-password"],
        )
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["camera", "add", "garage", "--placement", "driveway"])
        assert r.exit_code == 0 and "garage (driveway)" in r.output, r.output
        r = runner.invoke(
            app,
            [
                "donate",
                *map(str, clips),
                "--campaign",
                world.campaign.slug,
                "--category",
                "car_door_tampering",
                "--camera",
                "garage",
                "--staged",
                "--everyone-agreed",
                "--incident",
                "night-1",
                "--accept-consent",
            ],
        )
        assert r.exit_code == 0, r.output
        assert "sent 2 of 2 clips; they are being processed" in r.output
        assert "vidonate status" in r.output
    with transaction(world.rt.sessions) as s:
        donations = s.query(Donation).all()
        assert [(d.status, d.staged, d.incident_key) for d in donations] == [
            ("received", True, "night-1")
        ] * 2


def _donate_as_alice(world: World, clip: Path, category: str, *extra: str):  # type: ignore[no-untyped-def]
    with BackgroundServer(world.rt, run_worker=False) as server:
        return runner.invoke(
            app,
            [
                "donate",
                str(clip),
                "--campaign",
                world.campaign.slug,
                "--category",
                category,
                "--camera",
                "front porch",
                "--server",
                server.url,
                "--token",
                world.tokens["alice"],
                *extra,
            ],
        )


def test_donating_without_consent_uploads_nothing(world: World, cli_env: Path) -> None:
    clip = generate_clip(cli_env / "clip.mp4", seconds=1.5)
    r = _donate_as_alice(world, clip, "package_theft")
    assert r.exit_code == 2 and "consent not given" in r.output
    with transaction(world.rt.sessions) as s:
        assert s.query(Donation).count() == 0


def test_donating_to_an_unknown_category_names_the_reason(world: World, cli_env: Path) -> None:
    clip = generate_clip(cli_env / "clip.mp4", seconds=1.5)
    r = _donate_as_alice(world, clip, "baby_monitor", "--accept-consent")
    assert r.exit_code == 1 and "unknown_category" in r.output
    assert world.rt.store.keys() == []


@pytest.mark.slow
def test_demo_completes_the_loop_and_prints_its_tables(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDONATE_")}
    if "VIDONATE_TEST_MEDIA" in os.environ:
        env["VIDONATE_TEST_MEDIA"] = os.environ["VIDONATE_TEST_MEDIA"]
    workdir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "vidonate.cli", "demo", "--workdir", str(workdir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for title in ("Clips by status", "Ledger balances", "Leaderboard", "demo completed"):
        assert title in out
    assert out.count("accepted") >= 4
    assert (workdir / "var" / "vidonate.sqlite3").exists()


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    r = runner.invoke(app, ["demo", "--workdir", str(tmp_path)])
    assert r.exit_code == 2 and "not empty" in " ".join(r.output.split())


def test_serve_help_says_how_to_pick_the_port_and_host() -> None:
    r = runner.invoke(app, ["serve", "--help"], terminal_width=200)
    assert r.exit_code == 0
    assert "--port" in r.output and "make run PORT=8100" in r.output
    assert "--host" in r.output and "make run HOST=" in r.output


def _closed_port() -> int:
    """A port on which nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CLIENT_COMMANDS = {
    "login": ["login", "--username", "bob", "--password", "bob-password"],
    "camera add": ["camera", "add", "garage", "--placement", "driveway", "--token", "t"],
    "donate": [
        "donate",
        "{clip}",
        "--campaign",
        "c",
        "--category",
        "x",
        "--camera",
        "1",
        "--accept-consent",
        "--token",
        "t",
    ],
    "withdraw": ["withdraw", "1", "--token", "t"],
    "export": ["export", "--out", "{out}", "--token", "t"],
    "status": ["status", "--token", "t"],
}


@pytest.mark.parametrize("command", sorted(CLIENT_COMMANDS))
def test_every_client_command_says_in_one_line_that_the_server_is_not_running(
    cli_env: Path, command: str
) -> None:
    clip = generate_clip(cli_env / "clip.mp4", seconds=1.5) if command == "donate" else None
    server = f"http://127.0.0.1:{_closed_port()}"
    args = [a.format(clip=clip, out=cli_env / "export.zip") for a in CLIENT_COMMANDS[command]]
    r = runner.invoke(app, [*args, "--server", server])
    assert r.exit_code != 0
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert lines == [
        f"error could not reach {server} (connection refused): is the server running? "
        "start it with `make run`, or pass --server (reason: server_unreachable)"
    ]
    assert not (cli_env / "export.zip").exists() and not (cli_env / "export.zip.part").exists()


def test_an_unknown_host_and_a_failed_tls_handshake_are_one_line_each(cli_env: Path) -> None:
    r = runner.invoke(app, [*CLIENT_COMMANDS["login"], "--server", "http://no-such-host.invalid"])
    assert r.exit_code != 0
    assert r.output.strip().splitlines() == [
        "error could not reach http://no-such-host.invalid (its host name is unknown): "
        "check the address, or pass --server (reason: server_unreachable)"
    ]

    def answer_in_plain_http(listener: socket.socket) -> None:
        # Read the client's hello first: closing with it unread would send a reset, which
        # reads as a connection failure rather than a failed handshake.
        conn = listener.accept()[0]
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with socket.socket() as listener:  # speaks no TLS: the handshake fails
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        hang_up = threading.Thread(target=answer_in_plain_http, args=(listener,))
        hang_up.start()
        r = runner.invoke(app, [*CLIENT_COMMANDS["login"], "--server", f"https://127.0.0.1:{port}"])
        hang_up.join()
    assert r.exit_code != 0
    [line] = r.output.strip().splitlines()
    assert line.startswith(f"error could not reach https://127.0.0.1:{port} (TLS failed: ")
    assert "check http:// or https://" in line


def _donate(world: World, server: BackgroundServer, *paths: Path, extra: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    args = ["donate", *map(str, paths), "--campaign", world.campaign.slug, "--category",
            "package_theft", "--camera", "front porch", "--accept-consent", "--server",
            server.url, "--token", world.tokens["alice"], *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_an_empty_file_is_reported_as_not_donated_and_the_exit_code_says_so(
    world: World, cli_env: Path
) -> None:
    clip = generate_clip(cli_env / "porch.mp4", seconds=1.5)
    empty = cli_env / "empty.mp4"
    empty.write_bytes(b"")
    with BackgroundServer(world.rt, run_worker=False) as server:
        r = _donate(world, server, clip, empty)
    assert r.exit_code == 1, r.output
    assert "empty.mp4: not donated: The file is empty: there is nothing to donate." in r.output
    assert "sent 1 of 2 clips; not donated: empty.mp4" in r.output
    with transaction(world.rt.sessions) as s:
        assert [d.source_filename for d in s.query(Donation)] == ["porch.mp4"]


@pytest.mark.slow  # a whole clip through processing: make test, not test-fast
def test_donate_wait_prints_each_clips_outcome_in_words_and_status_lists_them(
    world: World, cli_env: Path
) -> None:
    clip = generate_clip(cli_env / "porch.mp4", seconds=1.5)
    broken = cli_env / "broken.mp4"  # passes the upload's sniff, fails processing
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(20_000))
    world.rt.settings.worker_threads = 1  # the server processes clips as a deployment does
    with BackgroundServer(world.rt, run_worker=True) as server:
        r = _donate(world, server, clip, broken, extra=("--wait", "--wait-timeout", "120"))
        listed = runner.invoke(
            app, ["status", "--server", server.url, "--token", world.tokens["alice"]]
        )
    assert r.exit_code == 1, r.output
    assert "porch.mp4: in review" in r.output
    assert "broken.mp4: failed: The file is damaged or not a video" in r.output
    assert "being processed" not in r.output.splitlines()[-1]
    assert listed.exit_code == 0, listed.output
    assert "in review" in listed.output and "failed: The file is damaged" in listed.output
    assert "unreadable" not in listed.output, "the donor reads words, not codes"
