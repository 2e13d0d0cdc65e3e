"""A PostgreSQL server of our own: a cluster in one folder, made by Debian's ``initdb`` and run by ``pg_ctl``.

The tests start one per worker in a temporary folder; ``scf run --database postgres`` keeps a durable
one in the data folder. It listens on 127.0.0.1 only (and on a unix socket inside its folder), trusts
local connections as the user ``scf``, and logs to ``server.log`` in its folder. PostgreSQL refuses to
run as root, so as root the folder is handed to the user ``postgres`` and the binaries run as it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path
from types import TracebackType

from scf_chain.chain.local import free_port, port_is_free
from scf_chain.domain.errors import ScfError
from scf_chain.settings import PASS_THROUGH_DIR_MODE, PRIVATE_DIR_MODE

SUPERUSER = "scf"
SERVER_USER = "postgres"  # the user Debian's package makes, for running the server as root
LOG_NAME = "server.log"
# Databases are named in URLs and in SQL unquoted by hand: keep to what needs no quoting anywhere.
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Settings for a server whose data may be lost with the machine: tests, never `scf run`.
THROWAWAY_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
# A unix socket's path (folder, "/.s.PGSQL.", port) must fit in sockaddr_un's 108 bytes.
SOCKET_PATH_LIMIT = 107 - len("/.s.PGSQL.65535")
START_TIMEOUT_S = 60


class PostgresError(ScfError):
    """The local PostgreSQL server could not be found, made, started, stopped or asked something."""


def postgres_bin_dir() -> Path:
    """The folder of PostgreSQL's server programs: Debian's newest, else pg_config's, else the PATH's."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout
            candidates.append(Path(bindir.strip()))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / program).is_file() for program in ("initdb", "pg_ctl", "psql")):
            return folder
    raise PostgresError(
        "PostgreSQL is not installed (no initdb and pg_ctl under /usr/lib/postgresql/*/bin, from pg_config "
        "or on the PATH): `make install` as root installs Debian's postgresql package"
    )


def _version(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


class LocalPostgres:
    """One PostgreSQL cluster in ``data_dir``, on ``port`` (None: a free one, kept for the cluster's later starts).

    ``durable=False`` turns off what only protects data against a crash of the machine (fsync and its kin),
    for tests. A server already running in the folder is used as it is.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = data_dir.absolute()
        self.durable = durable
        self._port = port
        self._bin_dir: Path | None = None

    # The server

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def running(self) -> bool:
        """Whether a server of this folder is running (its postmaster.pid names a live process)."""
        return self._postmaster_pid() is not None

    @property
    def port(self) -> int:
        """The running server's port, else the port it will start on."""
        status = self._postmaster_status()
        if status is not None:
            return int(status[3])
        return self._port or self._configured_port() or 0

    def start(self) -> None:
        """Makes the cluster if the folder has none, and starts its server unless one is running already."""
        if self.running:
            return
        self._make_cluster()
        port = self._port or self._configured_port()
        if port is None or not port_is_free(port):
            port = free_port()
        options = ["-h", "127.0.0.1", "-p", str(port), "-k", self._socket_dir()]
        if not self.durable:
            for setting in THROWAWAY_SETTINGS:
                options += ["-c", setting]
        ran = self._server_program(
            "pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_S), "-D", str(self.data_dir),
            "-l", str(self.log_path), "-o", shlex.join(options),
        )  # fmt: skip
        if ran.returncode != 0 or not self.running:
            raise PostgresError(
                f"PostgreSQL did not start in {self.data_dir}: {self._last_log_line() or _last_line(ran)} "
                f"(its log: {self.log_path})"
            )
        self._port = port

    def stop(self) -> None:
        """Stops the server at once (open sessions are ended, the data is kept); nothing to do if it is down."""
        if not self.running:
            return
        self._hand_over()  # the data folder may have been made private again meanwhile
        ran = self._server_program("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        if ran.returncode != 0 and self.running:
            raise PostgresError(f"PostgreSQL in {self.data_dir} did not stop: {_last_line(ran)}")

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # Databases

    def url(self, database: str) -> str:
        """A SQLAlchemy URL (psycopg driver) of ``database`` on this server, as the user ``scf`` (no password)."""
        database = _checked_name(database)
        if not self.port:
            raise PostgresError(f"the PostgreSQL server in {self.data_dir} has no port yet: start it first")
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Creates the database ``name`` unless it exists, and returns its URL."""
        # psql quotes :'name' as a literal, and format's %I as an identifier.
        missing = "SELECT format('CREATE DATABASE %I', :'name') WHERE NOT EXISTS "
        missing += "(SELECT FROM pg_database WHERE datname = :'name')"
        self._sql(missing + r" \gexec", doing=f"create the database {_checked_name(name)}", name=name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drops the database ``name`` if it exists, ending the sessions still connected to it."""
        self._sql('DROP DATABASE IF EXISTS :"name" WITH (FORCE)', doing=f"drop the database {name}", name=name)

    def _sql(self, statement: str, *, doing: str, **variables: str) -> None:
        """Runs ``statement`` through psql, with psql variables (``:'name'`` in it) set to ``variables``."""
        if not self.running:
            raise PostgresError(f"no PostgreSQL server is running in {self.data_dir}")
        psql = [str(self.bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        psql += ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres"]
        for key, value in variables.items():
            psql += ["-v", f"{key}={_checked_name(value)}"]
        ran = subprocess.run(psql, input=statement + "\n", capture_output=True, text=True, timeout=60)
        if ran.returncode != 0:
            raise PostgresError(f"could not {doing} on PostgreSQL in {self.data_dir}: {_last_line(ran)}")

    # The cluster's folder

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = postgres_bin_dir()
        return self._bin_dir

    def _make_cluster(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            self._hand_over()
            return
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise PostgresError(f"{self.data_dir} holds files but no PostgreSQL cluster: give an empty or new folder")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over()
        # C collation, as SQLite compares text: the same ORDER BY on either database.
        ran = self._server_program(
            "initdb", "-D", str(self.data_dir), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-locale"
        )
        if ran.returncode != 0:
            raise PostgresError(f"initdb could not make a PostgreSQL cluster in {self.data_dir}: {_last_line(ran)}")
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# scf-chain's local server (tools/postgres.py)\nport = {self._port or free_port()}\n")

    def _hand_over(self) -> None:
        """As root, gives the folder to the server's user, and checks that it can reach the folder."""
        if not self._as_server_user():
            return
        user = pwd.getpwnam(SERVER_USER)
        if self.data_dir.stat().st_uid != user.pw_uid:
            for root, folders, files in os.walk(self.data_dir):
                for path in (Path(root), *(Path(root, name) for name in folders + files)):
                    os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        self.data_dir.chmod(0o700)
        self._open_private_parent(user)
        if self._server_program("test", "-w", str(self.data_dir)).returncode != 0:
            raise PostgresError(
                f"the user {SERVER_USER}, which runs PostgreSQL for root, cannot reach {self.data_dir}: "
                "let it through the folders above (chmod o+x), or choose a folder it can reach"
            )

    def _open_private_parent(self, user: pwd.struct_passwd) -> None:
        """Lets the server's user pass through our private parent folder (the data folder) to its own, no more.

        The parent becomes group ``postgres`` with mode 0710: that group may enter it but not list it, and
        everything else in it stays its owner's only.
        """
        parent = self.data_dir.parent
        status = parent.stat()
        if status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) == PRIVATE_DIR_MODE:
            os.chown(parent, -1, user.pw_gid)
            parent.chmod(PASS_THROUGH_DIR_MODE)

    def _as_server_user(self) -> bool:
        if os.geteuid() != 0:
            return False
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresError(
                f"PostgreSQL refuses to run as root, and there is no user {SERVER_USER} to run it as: install "
                "Debian's postgresql package (it makes that user), or run as another user"
            ) from None
        return True

    def _server_program(self, program: str, *arguments: str) -> subprocess.CompletedProcess[str]:
        """Runs a PostgreSQL program (or ``test``) as the user that owns the cluster."""
        path = shutil.which(program) if program == "test" else str(self.bin_dir / program)
        command = [path or program, *arguments]
        if self._as_server_user():
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        # Its working folder is one the server's user may enter: programs such as initdb return to it.
        return subprocess.run(
            command, cwd=self.data_dir, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
        )

    def _socket_dir(self) -> str:
        # An empty list is no unix socket at all: TCP alone, for a folder too deep for a socket's path.
        return str(self.data_dir) if len(str(self.data_dir)) <= SOCKET_PATH_LIMIT else ""

    def _configured_port(self) -> int | None:
        conf = self.data_dir / "postgresql.conf"
        if not conf.exists():
            return None
        ports = re.findall(r"^port = (\d+)$", conf.read_text(), flags=re.MULTILINE)
        return int(ports[-1]) if ports else None

    def _postmaster_status(self) -> list[str] | None:
        """The lines of postmaster.pid (pid, folder, start, port, socket folder, ...) while its process lives."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if len(lines) < 4 or not _process_alive(int(lines[0])):
            return None
        return lines

    def _postmaster_pid(self) -> int | None:
        status = self._postmaster_status()
        return int(status[0]) if status else None

    def _last_log_line(self) -> str:
        try:
            lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        except FileNotFoundError:
            return ""
        problems = [line for line in lines if "FATAL" in line or "ERROR" in line]
        return (problems or lines or [""])[-1].strip()


def _checked_name(name: str) -> str:
    if not DATABASE_NAME.fullmatch(name):
        raise PostgresError(f"{name!r} is not a database name here: lower-case letters, digits and _, 63 at most")
    return name


def _last_line(ran: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (ran.stderr + ran.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit status {ran.returncode}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process, such as the server run as postgres
        return True
    return True
