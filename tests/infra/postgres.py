"""A throw-away PostgreSQL server from the distribution's binaries (Debian's `postgresql` package).

initdb refuses to run as root, so as root the data folder is handed to the `postgres` system user
(created by the Debian package) and the server runs as that user; as anyone else it runs as the caller.
The server listens on a free loopback port only (no Unix socket) and asks for a password (SCRAM), the
way a production server would.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.infra.processes import LOOPBACK, BackgroundProcess, ServiceError, free_port, wait_until

SERVICE_USER = "postgres"
DATABASE = "dagster"
ROLE = "deidlake"


def postgres_bindir() -> Path:
    """The newest installed server's bin folder (Debian keeps them under /usr/lib/postgresql/<v>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise ServiceError("PostgreSQL server binaries not found: install Debian's `postgresql` (make test does)")


@dataclass
class PostgresServer:
    """Connection settings of a running server, and the environment the instance profile reads."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={self.database}"

    def connect(self):
        import psycopg2

        return psycopg2.connect(self.dsn())

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def profile_env(self) -> dict[str, str]:
        """What orchestration/instance_profiles/postgres.yaml reads (credentials never live in the file)."""
        return {"DEIDLAKE_PG_HOST": self.host, "DEIDLAKE_PG_PORT": str(self.port),
                "DEIDLAKE_PG_USER": self.user, "DEIDLAKE_PG_PASSWORD": self.password,
                "DEIDLAKE_PG_DB": self.database}


class PostgresService:
    """initdb + postgres in a temporary folder; `start()` returns the server, `stop()` removes it all."""

    def __init__(self, base: str | os.PathLike | None = None):
        # Not under pytest's tmp_path: that is private to the caller and the server may run as `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="deidlake-pg-", dir=base))
        self.data = self.root / "data"
        self.bindir = postgres_bindir()
        self.run_as = SERVICE_USER if os.geteuid() == 0 else None
        self.process: BackgroundProcess | None = None

    def start(self, timeout: float = 60.0) -> PostgresServer:
        server = PostgresServer(LOOPBACK, free_port(), ROLE, secrets.token_urlsafe(16), DATABASE)
        self._initdb(server)
        self.process = BackgroundProcess(
            "postgres", [str(self.bindir / "postgres"), "-D", str(self.data), "-h", LOOPBACK,
                         "-p", str(server.port), "-c", "unix_socket_directories=", "-c", "fsync=off"],
            self.root / "postgres.log", env=_clean_env(), cwd=self.root, user=self.run_as)
        wait_until(lambda: _accepts(server), timeout, "PostgreSQL to accept connections",
                   alive=self.process.check_alive)
        self._create_database(server)
        return server

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()         # SIGTERM: PostgreSQL's "smart" shutdown ends its backends too
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def _initdb(self, server: PostgresServer) -> None:
        password_file = self.root / "password"
        password_file.write_text(server.password + "\n")
        if self.run_as:
            service = pwd.getpwnam(self.run_as)
            for path in (self.root, password_file):
                os.chown(path, service.pw_uid, service.pw_gid)
        completed = subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", server.user, f"--pwfile={password_file}",
             "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-sync"],
            capture_output=True, text=True, env=_clean_env(), user=self.run_as, timeout=120)
        password_file.unlink()
        if completed.returncode != 0:
            raise ServiceError(f"initdb failed ({completed.returncode}): {completed.stderr[-2000:]}")

    def _create_database(self, server: PostgresServer) -> None:
        import psycopg2

        connection = psycopg2.connect(host=server.host, port=server.port, user=server.user,
                                      password=server.password, dbname="postgres")
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{server.database}"')
        finally:
            connection.close()


def _accepts(server: PostgresServer) -> bool:
    import psycopg2

    try:
        psycopg2.connect(host=server.host, port=server.port, user=server.user, password=server.password,
                         dbname="postgres", connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


def _clean_env() -> dict[str, str]:
    """The server's environment: no PG* variables of the caller, a locale initdb accepts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    return env
