"""A privacy-first site loads nothing from third parties: no page, template or stylesheet
points a browser at another host, and /docs works offline from vendored files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_authz import ROLES, Population, population, route_keys  # noqa: F401 (fixture)

from vidonate.web import docs
from vidonate.web.pages import routes as pages

# src=, href=, action=, srcset=, poster= and CSS url(...) pointing at an absolute or
# protocol-relative URL; what is captured is the host.
OUTSIDE = re.compile(
    r"""(?:\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?|url\(\s*["']?)\s*"""
    r"""(?:https?:)?//([^/"'\s>)]+)""",
    re.IGNORECASE,
)
OWN_HOSTS = {"testserver"}


def hosts_referenced(text: str) -> set[str]:
    return {host.lower() for host in OUTSIDE.findall(text)}


def test_the_scanner_finds_outside_hosts_however_they_are_written() -> None:
    page = """<link href="https://cdn.example/a.css"><script src='//cdn2.example/b.js'></script>
    <img srcset="http://img.example/x.png 2x"><div style="background: url(https://f.example/f)">
    <a href="/donations">own</a><img src="data:image/png;base64,AAAA">"""
    assert hosts_referenced(page) == {"cdn.example", "cdn2.example", "img.example", "f.example"}


def test_no_page_of_any_role_references_an_outside_host(
    population: Population,  # noqa: F811 (the fixture imported above)
) -> None:
    """Every GET route of the app, as every role; each answer that is HTML (error pages
    included) is scanned."""
    scanned: set[str] = set()
    for route in sorted(route_keys(population.client.app)):  # type: ignore[arg-type]
        method, template = route.split(" ", 1)
        if method != "GET":
            continue
        for role in ROLES:
            headers = {} if role == "anonymous" else {
                "Authorization": f"Bearer {population.tokens[role]}"
            }  # fmt: skip
            population.client.cookies.clear()
            path = population.path(template)
            r = population.client.get(path, headers=headers, follow_redirects=False)
            if not r.headers.get("content-type", "").startswith("text/html"):
                continue
            scanned.add(template)
            assert hosts_referenced(r.text) <= OWN_HOSTS, (route, role)
    assert {"/", "/login", "/docs", "/donate", "/donations", "/review"} <= scanned


def test_no_template_references_an_outside_host() -> None:
    """Also what a page shows only sometimes: the templates' source."""
    templates = sorted(Path(pages.__file__).parent.joinpath("templates").glob("*.html"))
    assert len(templates) >= 5
    for template in templates:
        assert hosts_referenced(template.read_text()) == set(), template.name


def test_the_docs_load_swagger_ui_from_the_app_itself(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    for asset, media_type in docs.ASSETS.items():
        assert f"{docs.ASSETS_PATH}/{asset}" in page.text
        served = client.get(f"{docs.ASSETS_PATH}/{asset}")
        assert served.status_code == 200, asset
        assert served.headers["content-type"].startswith(media_type)
        assert served.content == (docs.SWAGGER_UI_DIR / asset).read_bytes()
    assert '"validatorUrl": null' in page.text, "no badge from validator.swagger.io"
    css = client.get(f"{docs.ASSETS_PATH}/swagger-ui.css").text
    assert hosts_referenced(css) == set()
    assert client.get("/redoc").status_code == 404, "ReDoc would load from a CDN"


@pytest.mark.parametrize("asset", ["SOURCE", "LICENSE", "..%2FSOURCE", "swagger-ui.js"])
def test_only_the_files_the_docs_load_are_served(client: TestClient, asset: str) -> None:
    r = client.get(f"{docs.ASSETS_PATH}/{asset}")
    assert r.status_code == 404, "a 404, as for any path the app does not have"
    assert "swagger-ui-dist" not in r.text and "Apache" not in r.text


def test_the_vendored_files_match_their_sha256_manifest() -> None:
    folder = docs.SWAGGER_UI_DIR
    listed = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name] = digest
    present = {p.name for p in folder.iterdir()} - {"SHA256SUMS"}
    assert set(listed) == present, "every vendored file is listed, and only those"
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert set(docs.ASSETS) <= present and "LICENSE" in present
