"""LocalPostgres: a real PostgreSQL cluster made, started, asked, stopped and started again in a folder; and
`scf run --database postgres`, which keeps the gateway in such a server in the data folder."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text

from scf_chain.chain.local import free_port
from scf_chain.settings import make_data_dir_private
from tools.postgres import LocalPostgres, PostgresError, postgres_bin_dir

PROJECT_ROOT = Path(__file__).resolve().parents[2]

try:
    postgres_bin_dir()
except PostgresError as missing:
    pytest.skip(str(missing), allow_module_level=True)


@pytest.fixture
def folder() -> Iterator[Path]:
    # Not under pytest's tmp_path: as root, the server's user must reach the folder, and pytest's is root's only.
    path = Path(tempfile.mkdtemp(prefix="scf-postgres-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def query(url: str, sql: str, **values: object) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), values)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_a_cluster_is_made_started_queried_stopped_and_started_again_with_its_data(folder: Path) -> None:
    server = LocalPostgres(folder / "cluster")
    assert not server.running
    with server:
        assert server.running
        url = server.create_database("ledger_copy")
        assert url == f"postgresql+psycopg://scf@127.0.0.1:{server.port}/ledger_copy"
        query(url, "CREATE TABLE certificates (id integer PRIMARY KEY, face_value numeric NOT NULL)")
        query(url, "INSERT INTO certificates VALUES (1, :face)", face="1000000.00")
        assert server.create_database("ledger_copy") == url  # there already: kept as it is
        assert query(url, "SELECT count(*) FROM certificates") == [(1,)]
        port = server.port
    assert not server.running

    again = LocalPostgres(folder / "cluster")
    again.start()
    try:
        assert again.port == port  # the cluster keeps its port, and so its URL
        assert query(again.url("ledger_copy"), "SELECT id, face_value::text FROM certificates") == [(1, "1000000.00")]
    finally:
        again.stop()


def test_a_server_running_in_the_folder_is_used_as_it_is(folder: Path) -> None:
    first = LocalPostgres(folder / "cluster", durable=False)
    first.start()
    try:
        url = first.create_database("shared")
        second = LocalPostgres(folder / "cluster")
        assert second.running
        second.start()  # nothing to do
        assert second.url("shared") == url
        assert query(url, "SHOW fsync") == [("off",)]  # the first server's throwaway settings, still in force
    finally:
        first.stop()
    assert not second.running


def test_a_durable_server_keeps_fsync_and_a_throwaway_one_does_not(folder: Path) -> None:
    for durable, expected in ((True, "on"), (False, "off")):
        with LocalPostgres(folder / f"durable-{durable}", durable=durable) as server:
            url = server.url("postgres")
            assert query(url, "SHOW fsync") == query(url, "SHOW synchronous_commit") == [(expected,)]
            assert query(url, "SHOW listen_addresses") == [("127.0.0.1",)]


def test_a_dropped_database_is_gone_even_with_a_session_open(folder: Path) -> None:
    with LocalPostgres(folder / "cluster", durable=False) as server:
        url = server.create_database("short_lived")
        session = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
        try:
            session.execute("SELECT 1")
            server.drop_database("short_lived")
        finally:
            session.close()
        names = query(server.url("postgres"), "SELECT datname FROM pg_database WHERE datname = 'short_lived'")
        assert names == []
        server.drop_database("short_lived")  # already gone: nothing to do


def test_refusals_are_one_clear_sentence(folder: Path) -> None:
    (folder / "busy").mkdir()
    (folder / "busy" / "notes.txt").write_text("not a cluster")
    with pytest.raises(PostgresError, match="holds files but no PostgreSQL cluster"):
        LocalPostgres(folder / "busy").start()
    server = LocalPostgres(folder / "cluster")
    with pytest.raises(PostgresError, match="no PostgreSQL server is running"):
        server.create_database("ledger")
    with pytest.raises(PostgresError, match="not a database name"):
        server.url("Robert'); DROP TABLE members;--")


@pytest.mark.skipif(os.geteuid() != 0, reason="only as root does the server run as a user of its own")
def test_as_root_the_server_passes_through_the_private_data_folder_and_nothing_else_opens(folder: Path) -> None:
    folder.chmod(0o755)  # as a checkout is: the data folder is the private one
    data = folder / "data"
    (data / "keys").mkdir(parents=True, mode=0o700)
    data.chmod(0o700)
    (data / "keys" / "operator.json").write_text("{}")
    previous_umask = os.umask(0o022)
    try:
        with LocalPostgres(data / "postgres") as server:
            make_data_dir_private(data)  # what every command and the gateway do as they start
            url = server.create_database("scf")
            assert query(url, "SELECT 1") == [(1,)]  # a new session: the server still reaches its folder
    finally:
        os.umask(previous_umask)
    assert (stat.S_IMODE(data.stat().st_mode), data.stat().st_gid) == (0o710, pwd.getpwnam("postgres").pw_gid)
    assert stat.S_IMODE((data / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "keys" / "operator.json").stat().st_mode) == 0o600


def _serve_once(command: list[str], env: dict[str, str], log: Path) -> LocalPostgres:
    """Runs ``scf run`` until its gateway is ready, checks its data folder's server, then stops it with SIGTERM."""
    base_url = f"http://127.0.0.1:{env['SCF_API_PORT']}"
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while not _ready(base_url):
            assert process.poll() is None, f"scf run exited; see {log}"
            assert time.monotonic() < deadline, f"scf run did not become ready; see {log}"
            time.sleep(0.2)
        server = LocalPostgres(Path(env["SCF_DATA_DIR"]) / "postgres")
        assert server.running
        # The operator's API key, made by the first run and kept in the data folder's server.
        assert query(server.url("scf"), "SELECT count(*) FROM api_keys") == [(1,)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    return server


def _ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_scf_run_on_postgres_keeps_the_gateway_in_the_data_folders_own_server_across_runs(folder: Path) -> None:
    folder.chmod(0o755)  # as a checkout is: the data folder is the private one
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCF_")}
    env |= {"SCF_DATA_DIR": str(folder / "data"), "SCF_DEV_MODE": "true"}
    env |= {"SCF_CHAIN_PORT": str(free_port()), "SCF_API_PORT": str(free_port())}
    command = [sys.executable, "-m", "scf_chain.cli.main", "run", "--no-seed", "--database", "postgres"]
    log = folder / "run.log"
    for _ in range(2):
        server = _serve_once(command, env, log)
        assert not server.running  # this run started it, and stopped it on the way out
    said = log.read_text()
    assert said.count("PostgreSQL started on 127.0.0.1") == 2 and said.count("PostgreSQL stopped") == 2
    assert "reusing the ledger" in said and "has a key" in said  # the second run found the first one's data
