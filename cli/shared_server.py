"""The Prefect server that many GPU machines share, in Prefect's self-hosted scaling shape, on one machine:

    PostgreSQL (Debian's)    the database every API process and the services share; its data folder and socket
                             under $PREFECT_HOME/ecgflow-stack/postgres (for root, where the postgres user can
                             reach it, linked from there), created and migrated on first use
    Redis (Debian's)         Prefect's messaging, event ordering and concurrency leases (prefect-redis): a `gpu`
                             slot leased through one API process is seen by the other
    api-1, api-2             `prefect server start --no-services`: the REST API and the UI, on two ports; a load
                             balancer (or each machine's PREFECT_API_URL) spreads clients over them
    services                 `prefect server services start`: scheduler, automations' triggers, repossessor, ...

`deployments/stack.py up --db postgres` (`make up DB=postgres`) starts it; `down` stops it; `ecgflow server` shows
it. Sign-in (`PREFECT_SERVER_API_AUTH_STRING`) is on whenever the API is bound beyond loopback, or when asked: the
credential comes from ECGFLOW_API_AUTH or the file ECGFLOW_API_AUTH_FILE names, else one is made once into
$PREFECT_HOME/ecgflow-stack/api-auth (mode 600); it is given to processes through their environment only.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cli.local_server import STATE, prefect, running, start, stop, wait_healthy

API_PROCESSES = ("api-1", "api-2")
PROCESSES = ("redis", *API_PROCESSES, "services")  # started here; PostgreSQL runs under pg_ctl
POSTGRES = STATE / "postgres"  # the data folder, or a link to it
AUTH_FILE = STATE / "api-auth"
SHAPE = STATE / "shape.env"  # the shape's addresses (no secret): what `ecgflow server` and `down` read
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Shape:
    host: str  # where the API processes listen
    api_ports: tuple[int, int]
    postgres_port: int
    redis_port: int

    @property
    def api_urls(self) -> list[str]:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", *LOOPBACK) else self.host
        return [f"http://{shown}:{port}/api" for port in self.api_ports]

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.postgres_port}/prefect"

    def save(self) -> None:
        values = {"host": self.host, "api_ports": ",".join(map(str, self.api_ports))}
        values |= {"postgres_port": self.postgres_port, "redis_port": self.redis_port}
        SHAPE.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    @classmethod
    def saved(cls) -> Shape | None:
        if not SHAPE.exists():
            return None
        values = dict(line.split("=", 1) for line in SHAPE.read_text().split())
        ports = tuple(int(p) for p in values["api_ports"].split(","))
        return cls(values["host"], ports, int(values["postgres_port"]), int(values["redis_port"]))


def server_environment(shape: Shape) -> dict[str, str]:
    """What every process of the shape is given: the database, and Redis for messaging, ordering and leases."""
    redis = f"redis://127.0.0.1:{shape.redis_port}"
    return {
        "PREFECT_API_DATABASE_CONNECTION_URL": shape.database_url,
        "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",  # migrated once, before any API process starts
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
        "PREFECT_REDIS_MESSAGING_URL": f"{redis}/0",
        "PREFECT_SERVER_DOCKET_URL": f"{redis}/1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "5",  # expired gpu leases come back within seconds
    }


def api_credential(asked: bool, host: str) -> str | None:
    """The API's sign-in as user:password, or None when the API stays on loopback and none was asked for."""
    given = os.environ.get("ECGFLOW_API_AUTH")
    if not given and os.environ.get("ECGFLOW_API_AUTH_FILE"):
        given = Path(os.environ["ECGFLOW_API_AUTH_FILE"]).expanduser().read_text().strip()
    if given:
        return given
    if not asked and host in LOOPBACK:
        return None
    if not AUTH_FILE.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        AUTH_FILE.touch(mode=0o600)
        AUTH_FILE.write_text(f"ecgflow:{secrets.token_urlsafe(24)}\n")
    return AUTH_FILE.read_text().strip()


def _postgres_tool(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")) or [Path(shutil.which(name) or name)]
    return str(found[-1])  # the newest major version installed


def _as_postgres(command: list[str]) -> list[str]:
    """Debian's PostgreSQL refuses to run as root: as root, its tools run as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _postgres_data() -> Path:
    """The data folder. As root, PREFECT_HOME may sit where the postgres user cannot reach (/root, a private
    temporary folder): the folder is then made under postgres's own home and linked from PREFECT_HOME."""
    if POSTGRES.exists():
        return POSTGRES.resolve()
    if os.geteuid() == 0:
        data = Path("/var/lib/postgresql/ecgflow") / hashlib.sha256(str(STATE.resolve()).encode()).hexdigest()[:16]
        data.mkdir(parents=True, exist_ok=True)
        shutil.chown(data.parent, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
        data.chmod(0o700)
        POSTGRES.symlink_to(data)
        return data
    POSTGRES.mkdir(mode=0o700)
    return POSTGRES


def postgres_running() -> bool:
    data = POSTGRES.resolve()
    return (data / "PG_VERSION").exists() and _run(_as_postgres([_postgres_tool("pg_ctl"), "status", "-D", str(data)]))


def _run(command: list[str]) -> bool:
    return subprocess.run(command, capture_output=True).returncode == 0


def ensure_postgres(port: int) -> None:
    """PostgreSQL on 127.0.0.1:`port` with a `prefect` database: created (initdb) on first use, started if down."""
    data = _postgres_data()
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_postgres([_postgres_tool("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]),
            check=True,
            capture_output=True,
        )
    if not postgres_running():
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"  # socket in the data folder it owns
        log = data / "server.log"
        command = [_postgres_tool("pg_ctl"), "start", "-w", "-D", str(data), "-l", str(log), "-o", options]
        out = subprocess.run(_as_postgres(command), capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {out.stdout[-500:]}{out.stderr[-500:]} (log: {log})")
    psql = [_postgres_tool("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-tAc"]
    exists = subprocess.run([*psql, "SELECT 1 FROM pg_database WHERE datname = 'prefect'"], capture_output=True)
    if exists.stdout.strip() != b"1":
        subprocess.run([*psql, "CREATE DATABASE prefect"], check=True, capture_output=True)


def _pg_ctl(action: str) -> bool:
    """pg_ctl stop or restart (fast: open connections are closed, the API processes reconnect) of the running
    PostgreSQL; False when none runs."""
    if not POSTGRES.exists() or not postgres_running():
        return False
    data = POSTGRES.resolve()
    command = [_postgres_tool("pg_ctl"), action, "-D", str(data), "-m", "fast", "-w", "-l", str(data / "server.log")]
    # Output to nowhere: a restarted server inherits pg_ctl's, and a pipe read to its end would wait for it forever.
    subprocess.run(_as_postgres(command), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def stop_postgres() -> bool:
    return _pg_ctl("stop")


def restart_postgres() -> bool:
    return _pg_ctl("restart")


def up(shape: Shape, credential: str | None, base_env: dict[str, str]) -> list[str]:
    """Start what is not running (PostgreSQL, Redis, the schema, two API processes, the services); the API URLs."""
    STATE.mkdir(parents=True, exist_ok=True)
    ensure_postgres(shape.postgres_port)
    redis = ["redis-server", "--port", str(shape.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    start("redis", redis, base_env)
    env = base_env | server_environment(shape) | ({"PREFECT_SERVER_API_AUTH_STRING": credential} if credential else {})
    migrate = subprocess.run(
        prefect("server", "database", "upgrade", "-y"), env=env, cwd=STATE, capture_output=True, text=True
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"migrating the Prefect database failed: {migrate.stdout[-800:]}{migrate.stderr[-800:]}")
    shape.save()
    for name, port, api_url in zip(API_PROCESSES, shape.api_ports, shape.api_urls):
        ui = {"PREFECT_UI_API_URL": api_url, "PREFECT_UI_URL": api_url.removesuffix("/api")}
        command = prefect("server", "start", "--no-services", "--host", shape.host, "--port", str(port))
        start(name, command, env | ui)
        wait_healthy(api_url, process=name)  # one after the other: each registers Prefect's block types at start
    start("services", prefect("server", "services", "start"), env)
    return shape.api_urls


def down() -> list[str]:
    """Stop the shape's processes and PostgreSQL; what was stopped."""
    stopped = [name for name in reversed(PROCESSES) if stop(name)]
    if stop_postgres():
        stopped.append("postgres")
    SHAPE.unlink(missing_ok=True)  # the next `up` picks its ports again; the database stays
    return stopped


def status() -> dict[str, str]:
    """Each piece of the shape: running (and where) or stopped."""
    shape = Shape.saved()
    if shape is None:
        return {}
    where = {"redis": f"127.0.0.1:{shape.redis_port}", "services": "background services"}
    where |= {name: url.removesuffix("/api") for name, url in zip(API_PROCESSES, shape.api_urls)}
    shown = {"postgres": f"127.0.0.1:{shape.postgres_port}" if postgres_running() else "stopped"}
    shown |= {name: f"{where[name]} (pid {pid})" if (pid := running(name)) else "stopped" for name in PROCESSES}
    return shown
