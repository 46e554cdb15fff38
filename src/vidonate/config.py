"""Settings, read from the environment with the prefix ``VIDONATE_``.

The defaults are the embedded deployment: a SQLite file and a blob directory
under ``./var/`` and background jobs in a thread of the server process. A
distributed deployment changes the three URLs and nothing else.
"""

from __future__ import annotations

import difflib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidonate.secret_file import create_private_file

GIB = 1024**3
PREFIX = "VIDONATE_"

# Variables with the prefix that are not settings, and who reads them. Anything else with
# the prefix must be a setting: start-up refuses it (a misspelling would otherwise be
# silently ignored and the default used).
NON_SETTING_VARIABLES: Mapping[str, str] = {
    "VIDONATE_SERVER": "the CLI client: API base URL",
    "VIDONATE_TOKEN": "the CLI client: API token",
    "VIDONATE_CREDENTIALS": "the CLI client: where the saved login lives",
    "VIDONATE_PASSWORD": "vidonate login: the password",
    "VIDONATE_NEW_PASSWORD": "vidonate user create: the new account's password",
    "VIDONATE_TEST_MEDIA": "the test suite and benches: real footage",
    "VIDONATE_TEST_PG": "the test suite: PostgreSQL admin URL",
    "VIDONATE_REQUIRE_POSTGRES": "CI: PostgreSQL tests must run, not skip",
    "VIDONATE_REQUIRE_REDIS": "CI: Redis rate-limit tests must run, not skip",
    "VIDONATE_REQUIRE_EXIFTOOL": "CI: exiftool tests must run, not skip",
    "VIDONATE_HUGE_TESTS": "the test suite: objects over 4 GiB",
    "VIDONATE_REQUIRE_CLUSTER": "CI: the cluster tests (nginx, PostgreSQL binaries) must run",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDONATE_", extra="forbid")

    var_dir: Path = Field(Path("var"), description="Where the embedded defaults keep state.")
    database_url: str = Field("", description="SQLAlchemy URL; default sqlite under var_dir.")
    storage_url: str = Field(
        "",
        description="Blob store URL: file:///path (default: under var_dir), memory://, or "
        "s3://bucket[/prefix][?endpoint_url=http://host:port&region=...] (credentials from "
        "boto3's usual chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, files, roles).",
    )
    queue_url: str = Field(
        "",
        description="Job queue: inprocess:// (threads on the jobs table) or procrastinate:// "
        "(Procrastinate on the PostgreSQL database); default: procrastinate on PostgreSQL, "
        "inprocess on SQLite.",
    )
    secret_key: str = Field("", description="Signs session cookies; default a file in var_dir.")
    master_key_file: Path | None = Field(
        None, description="Master key wrapping donor keys; default var_dir/master.key."
    )
    master_key: SecretStr = Field(
        SecretStr(""),
        description="The master key itself, base64 of its 32 bytes (`base64 -w0 master.key`): "
        "for nodes given it through the environment or a secret manager instead of a file; "
        "overrides master_key_file.",
    )
    base_url: str = Field("http://127.0.0.1:8000", description="Public base URL of the server.")

    tus_max_size: int = Field(2 * GIB, gt=0, description="Largest accepted upload in bytes.")
    donor_quota_bytes: int = Field(20 * GIB, gt=0, description="Bytes a donor may hold at once.")
    upload_expiry_hours: float = Field(24.0, gt=0, description="Unfinished uploads expire then.")

    min_duration_s: float = Field(1.0, ge=0)
    max_duration_s: float = Field(300.0, gt=0)
    max_width: int = Field(3840, gt=0)
    max_height: int = Field(2160, gt=0)

    redaction: bool = Field(True, description="Blur faces and text before anyone sees a clip.")
    face_threshold: float = Field(0.2, gt=0, le=1, description="Least face score redacted.")
    detect_interval: int = Field(5, ge=1, description="Faces are detected every N frames.")
    redact_text: bool = Field(True, description="Also blur plates, labels, house numbers.")
    audit_every_n: int = Field(10, ge=1, description="The audit checks every N-th frame.")
    audit_max_residual_rate: float = Field(
        0.0, ge=0, le=1, description="Flag a clip when more audited frames show a face."
    )
    sandbox_cpu_seconds: int = Field(1800, gt=0, description="CPU limit of a media child.")
    sandbox_memory_bytes: int = Field(6 * GIB, gt=0, description="Address-space limit.")
    sandbox_wall_seconds: float = Field(1200.0, gt=0, description="Wall-clock limit.")
    sandbox_nice: int = Field(
        10,
        ge=0,
        le=19,
        description=(
            "How much a media child yields the CPU to the server (0 to 19, as nice(1)): "
            "processing is background work, and pages must not wait for it."
        ),
    )

    tax_details_threshold_cents: int = Field(
        200_000,
        ge=0,
        description=(
            "A donor's payouts and redemptions in one calendar year past this (cents) wait "
            "until the donor has supplied tax details; 0 asks for them before any."
        ),
    )
    payout_currency: str = Field(
        "USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 currency of ledger cents in payouts."
    )

    review_accepts_needed: int = Field(2, ge=1, description="Accept votes needed to accept.")
    review_rejects_needed: int = Field(2, ge=1, description="Reject votes needed to reject.")
    # Weighted consensus and gold clips (review/consensus.py, review/gold.py).
    review_confidence: float = Field(
        0.9,
        gt=0.5,
        lt=1,
        description="A clip is decided once the weighted votes make its decision this "
        "probable (and it has its minimum of votes); until then it gets more votes.",
    )
    review_max_votes: int = Field(
        5,
        ge=1,
        description="From this many votes on, the weighted majority decides a clip (once it "
        "has its minimum of votes), however uncertain.",
    )
    review_reliability_floor: float = Field(
        0.6,
        ge=0.5,
        lt=1,
        description="A reviewer whose reliability on gold clips is below this decides "
        "nothing (votes recorded, weightless) and is served gold clips only.",
    )
    review_gold_one_in: int = Field(
        12,
        ge=0,
        description="The review queue serves a gold clip once in this many handouts; 0 never.",
    )

    worker_threads: int = Field(1, ge=0, description="In-process job workers; 0 disables them.")
    job_nice: int = Field(
        10,
        ge=0,
        le=19,
        description=(
            "How much job threads yield the CPU to requests (0 to 19, as nice(1)): a clip's "
            "processing is background work, and page and API reads must not wait for it."
        ),
    )
    job_poll_seconds: float = Field(1.0, gt=0)
    job_lease_seconds: float = Field(
        60.0, gt=0, description="A running job's lease; its worker renews it 4 times as often."
    )
    job_max_attempts: int = Field(
        3, ge=1, description="Runs a job gets (a crash counts); then it and its clip fail."
    )

    transparency_max_age_seconds: float = Field(
        5.0,
        ge=0,
        description="How long each server process serves a computed transparency report "
        "before computing it again (its computed_at says when); 0 computes every request.",
    )
    rate_limit_storage_url: str = Field(
        "memory://",
        description="Where the rate limits' counts live: memory:// (this process; one "
        "server) or redis://host:port/db (shared by every server of a deployment).",
    )
    # Abuse protection: token buckets (web/ratelimit.py), in this process or in Redis.
    # Each limit is also the burst a client may spend at once; 0 turns a limit off.
    rate_limit_requests_per_minute: int = Field(
        1200, ge=0, description="Requests per minute per signed-in user, or per IP if anonymous."
    )
    rate_limit_upload_chunks_per_minute: int = Field(
        3000,
        ge=0,
        description="tus PATCH/HEAD requests per minute per user, counted apart from the rest: "
        "a 2 GiB upload in 8 MiB chunks sends 256 PATCHes.",
    )
    rate_limit_uploads_per_hour: int = Field(
        1000, ge=0, description="New uploads (tus creations and form donations) per donor per hour."
    )
    rate_limit_sign_ins_per_ip_per_minute: int = Field(
        30, ge=0, description="Sign-in attempts per minute from one client IP."
    )
    rate_limit_sign_ins_per_address_and_username_per_hour: int = Field(
        30,
        ge=0,
        description="Sign-in attempts per hour for one username from one client IP. Counted "
        "per address, so guessing from elsewhere never locks the real user out.",
    )

    # Sessions, tokens and the client's address (accounts/, web/deps.py).
    api_token_lifetime_days: float = Field(
        90.0, gt=0, description="An API token issued at sign-in works this many days."
    )
    session_lifetime_days: float = Field(
        14.0, gt=0, description="A browser session lasts this many days, unless signed out."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated IPs or networks of reverse proxies whose "
        "X-Forwarded-For names the client; empty (the default): trust none, the peer is "
        "the client.",
    )
    max_header_bytes: int = Field(
        64 * 1024, gt=0, description="Largest total size of a request's headers (else 431)."
    )

    sqlite_reads_take_write_lock: bool = Field(
        False,
        description="Bench only (bench/sqlite_load.py): the old path where every SQLite read "
        "takes the write lock, to measure the read path against. Never set it in production.",
    )

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        var = self.var_dir.resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{var / 'vidonate.sqlite3'}"
        if not self.storage_url:
            self.storage_url = f"file://{var / 'blobs'}"
        if self.master_key_file is None:
            self.master_key_file = var / "master.key"
        return self

    def ensure_secret_key(self) -> str:
        """The cookie-signing key: configured, or created once under var_dir.

        A fixed default secret would let anyone forge sessions, so none exists.
        """
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if not path.exists():
            create_private_file(path, secrets.token_urlsafe(48).encode())
        self.secret_key = path.read_text().strip()
        return self.secret_key


class UnknownSetting(ValueError):
    """The environment holds a ``VIDONATE_`` variable that is no setting (a misspelling)."""


def setting_variables() -> list[str]:
    """The environment variable of every setting."""
    return sorted(PREFIX + name.upper() for name in Settings.model_fields)


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Refuse ``VIDONATE_`` variables that are neither a setting nor a known non-setting.

    The message names the closest valid variable: ``VIDONATE_DATABASE_URL`` with a letter
    missing answers "did you mean VIDONATE_DATABASE_URL?".
    """
    environ = os.environ if environ is None else environ
    valid = setting_variables()
    known = set(valid) | set(NON_SETTING_VARIABLES)
    problems = []
    for name in sorted(environ):
        # pydantic-settings matches names case-insensitively; so does this check.
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known:
            continue
        # Compared without the prefix, which every candidate shares.
        suffixes = [v.removeprefix(PREFIX) for v in [*valid, *NON_SETTING_VARIABLES]]
        close = difflib.get_close_matches(upper.removeprefix(PREFIX), suffixes, n=1)
        hint = f"did you mean {PREFIX}{close[0]}?" if close else "see Configuration in README.md"
        problems.append(f"unknown setting {name}: {hint}")
    if problems:
        raise UnknownSetting("; ".join(problems))


def load_settings() -> Settings:
    """The settings of a starting server or CLI command: from the environment, checked."""
    check_environment()
    return Settings()
