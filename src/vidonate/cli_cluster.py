"""``vidonate cluster up|down|status``: the one-machine multi-process deployment.

A thin layer over ``vidonate.ops.cluster``: it parses options and prints progress.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vidonate.cli_common import err

cluster_app = typer.Typer(
    help="A whole deployment on this machine: PostgreSQL, Redis, SeaweedFS, 2 servers, "
    "2 workers and nginx, every port on 127.0.0.1 (docs/deploy.md)."
)
console = Console()
RootOpt = Annotated[
    Path, typer.Option(help="Where the cluster keeps its data, logs and cluster.json.")
]
DEFAULT_ROOT = Path("var/cluster")


@cluster_app.command("up")
def cluster_up(
    root: RootOpt = DEFAULT_ROOT,
    base_port: Annotated[
        int | None,
        typer.Option(
            help="nginx's port, the others above it (first start only); default: free ports."
        ),
    ] = None,
) -> None:
    """Start the cluster and return once every part answers; it keeps running."""
    from vidonate.ops.cluster import Cluster, ClusterError

    with console.status("starting the cluster") as status:

        def progress(message: str) -> None:
            console.print(f"  {message}", highlight=False)
            status.update(f"cluster: {message}")

        cluster = Cluster(root, base_port=base_port, progress=progress)
        try:
            cluster.up()
        except ClusterError as exc:
            err.print(f"[red]error[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None
    console.print(f"[bold green]cluster up[/] at [bold]{cluster.url}[/]")
    console.print(f"servers: {', '.join(cluster.server_urls)}", highlight=False)
    if cluster.admin_password:
        console.print(f"admin account: admin, password {cluster.admin_password}", markup=False)
    console.print(f"logs in {cluster.root / 'logs'}; stop with `vidonate cluster down`")


@cluster_app.command("down")
def cluster_down(root: RootOpt = DEFAULT_ROOT) -> None:
    """Stop every process of the cluster (its data stays for the next `up`)."""
    from vidonate.ops.cluster import STATE, Cluster

    if not (root / STATE).exists():
        console.print(f"no cluster under {root}")
        return
    cluster = Cluster(root, progress=lambda message: console.print(f"  {message}"))
    cluster.down()
    console.print("cluster stopped")


@cluster_app.command("status")
def cluster_status(root: RootOpt = DEFAULT_ROOT) -> None:
    """Which processes of the cluster run; exits 1 unless all of them do."""
    from vidonate.ops.cluster import STATE, Cluster

    if not (root / STATE).exists():
        console.print(f"no cluster under {root}")
        raise typer.Exit(1)
    cluster = Cluster(root)
    table = Table(title=f"cluster at {cluster.url}")
    table.add_column("process")
    table.add_column("pid")
    table.add_column("state")
    status = cluster.status()
    for name, up in status.items():
        pid = cluster.procs[name].pid
        table.add_row(name, str(pid or ""), "[green]running[/]" if up else "[red]stopped[/]")
    console.print(table)
    raise typer.Exit(0 if all(status.values()) else 1)
