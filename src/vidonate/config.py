"""Settings, read from the environment with the prefix ``VIDONATE_``.

The defaults are the embedded deployment: a SQLite file and a blob directory
under ``./var/`` and background jobs in a thread of the server process. A
distributed deployment changes the three URLs and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDONATE_", extra="forbid")

    var_dir: Path = Field(Path("var"), description="Where the embedded defaults keep state.")
    database_url: str = Field("", description="SQLAlchemy URL; default sqlite under var_dir.")
    storage_url: str = Field("", description="Blob store URL; default file:// under var_dir.")
    queue_url: str = Field("inprocess://", description="Job queue; inprocess:// runs a thread.")
    secret_key: str = Field("", description="Signs session cookies; default a file in var_dir.")
    master_key_file: Path | None = Field(
        None, description="Master key wrapping donor keys; default var_dir/master.key."
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

    review_accepts_needed: int = Field(2, ge=1, description="Accept votes needed to accept.")
    review_rejects_needed: int = Field(2, ge=1, description="Reject votes needed to reject.")

    worker_threads: int = Field(1, ge=0, description="In-process job workers; 0 disables them.")
    job_poll_seconds: float = Field(1.0, gt=0)
    job_lease_seconds: float = Field(
        60.0, gt=0, description="A running job's lease; its worker renews it 4 times as often."
    )
    job_max_attempts: int = Field(
        3, ge=1, description="Runs a job gets (a crash counts); then it and its clip fail."
    )

    # Abuse protection: in-process token buckets (web/ratelimit.py). Each limit is also the
    # burst a client may spend at once; 0 turns a limit off.
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
    rate_limit_sign_ins_per_username_per_hour: int = Field(
        60, ge=0, description="Sign-in attempts per hour for one username, from anywhere."
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
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key
