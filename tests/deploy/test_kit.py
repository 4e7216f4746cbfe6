"""The deploy kit (deploy/): the alert rules and the dashboard name only metrics voiceotp
exports; HAProxy accepts its config and exports the names the rules use; the systemd
units run commands that exist, on the ports the other files expect; promtool agrees."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml
from prometheus_client import CollectorRegistry

from tests.gateway.harness import FIXTURE, running
from voiceotp.cli import cli
from voiceotp.gateway.settings import Settings
from voiceotp.store import Store

KIT = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = KIT / "prometheus" / "alerts.yml"
NAME = re.compile(r"\b((?:voiceotp|haproxy)_[a-z_]+)")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}


def exported(registry: CollectorRegistry) -> set[str]:
    """Every series name the registry can export (also those with no sample yet)."""
    names = set()
    for metric in registry.collect():
        names.update(metric.name + suffix for suffix in SUFFIXES[metric.type])
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names of a PromQL expression (label values in quotes are not names)."""
    return set(NAME.findall(re.sub(r'"[^"]*"', '""', expr)))


def expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((KIT / "grafana" / "voiceotp.json").read_text())
    found += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return found


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_rules_and_dashboard_name_only_exported_metrics(
    store: Store, settings: Settings
) -> None:
    async with running(store, settings, now=float(FIXTURE["now"])) as harness:
        names = exported(harness.gateway.observer.registry)  # gateway + delivery + fraud guard
    used = {n for expr in expressions() for n in metric_names(expr)}
    ours = {n for n in used if n.startswith("voiceotp_")}
    assert ours, "no voiceotp metric in the rules?"
    assert ours <= names, f"not exported: {sorted(ours - names)}"
    rules = yaml.safe_load(ALERTS.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"].startswith("Voiceotp"), rule
            assert rule["labels"]["severity"] in {"page", "warn", "info"}, rule
            assert rule["annotations"]["summary"], rule


def ports_of(text: str, pattern: str) -> set[int]:
    return {int(p) for p in re.findall(pattern, text)}


def test_the_files_agree_on_ports() -> None:
    haproxy = (KIT / "haproxy" / "haproxy.cfg").read_text()
    scrape = yaml.safe_load((KIT / "prometheus" / "prometheus.yml").read_text())
    targets = {c["job_name"]: c["static_configs"][0]["targets"] for c in scrape["scrape_configs"]}
    target_unit = (KIT / "systemd" / "voiceotp.target").read_text()
    api = ports_of(haproxy, r"server api\d+ 127\.0\.0\.1:(\d+) check")
    assert api == {int(t.rsplit(":", 1)[1]) for t in targets["voiceotp-api"]}
    assert api == ports_of(target_unit, r"voiceotp-serve@(\d+)\.service")
    dialers = ports_of(target_unit, r"voiceotp-dialer@(\d+)\.service")
    scraped = {int(t.rsplit(":", 1)[1]) for t in targets["voiceotp-dialer"]}
    assert {9100 + d for d in dialers} == scraped
    assert ports_of(haproxy, r"bind 127\.0\.0\.1:(\d+)") == {
        int(t.rsplit(":", 1)[1]) for t in targets["haproxy"]
    }


@pytest.mark.parametrize(
    ("unit", "instance"),
    [
        ("voiceotp-serve@.service", "8081"),
        ("voiceotp-dialer@.service", "1"),
        ("voiceotp-migrate.service", ""),
    ],
)
def test_units_run_commands_that_exist(unit: str, instance: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(KIT / "systemd" / unit)
    service = parser["Service"]
    assert service.get("KillSignal", "SIGTERM") == "SIGTERM"
    assert service["EnvironmentFile"] == "/etc/voiceotp/voiceotp.env"
    args = shlex.split(service["ExecStart"].replace("%i", instance))
    assert args[0].endswith("/bin/voiceotp")
    command: click.Command = cli
    ctx = click.Context(cli)
    rest = args[1:]
    while isinstance(command, click.Group):
        found = command.get_command(ctx, rest[0])
        assert found is not None, args
        command, rest = found, rest[1:]
    command.make_context(command.name, rest)  # raises on an unknown option or a bad value


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[int]:
    """The kit's HAProxy with this test's ports (no API process behind it); stats port."""
    if shutil.which("haproxy") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("haproxy (Debian's) is required under CI=true: scripts/setup dev")
        pytest.skip("haproxy is not installed")
    front, stats = free_port(), free_port()
    text = (KIT / "haproxy" / "haproxy.cfg").read_text()
    text = text.replace("bind 0.0.0.0:8080", f"bind 127.0.0.1:{front}")
    text = text.replace("bind 127.0.0.1:8404", f"bind 127.0.0.1:{stats}")
    text = text.replace("/run/haproxy/voiceotp.sock", str(tmp_path / "haproxy.sock"))
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    check = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield stats
    finally:
        process.terminate()
        process.wait(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> str:
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            time.sleep(0.05)
    raise AssertionError("HAProxy's metrics did not answer")


def test_haproxy_accepts_the_config_and_exports_what_the_rules_use(haproxy: int) -> None:
    text = scrape(haproxy)
    used = {n for expr in expressions() for n in metric_names(expr) if n.startswith("haproxy_")}
    assert used
    for name in used:
        assert f'{name}{{proxy="voiceotp_api"}}' in text, name


def find_promtool() -> str:
    """VOICEOTP_PROMTOOL, else the one `scripts/setup dev` unpacks beside the venv's python,
    else PATH's; skipped without one, failed under CI=true (setup provides it there)."""
    beside = Path(sys.executable).parent / "promtool"
    found = os.environ.get("VOICEOTP_PROMTOOL") or (
        str(beside) if beside.exists() else shutil.which("promtool")
    )
    if found is None:
        why = "promtool not found (scripts/setup dev unpacks it into .venv/bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}: required under CI=true")
        pytest.skip(why)
    return found


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    promtool = find_promtool()
    for what, path in (("rules", ALERTS), ("config", KIT / "prometheus" / "prometheus.yml")):
        done = subprocess.run([promtool, "check", what, str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_key_alert_rules_fire_when_they_should_and_not_before() -> None:
    """promtool's unit tests (deploy/prometheus/alerts_test.yml): an API process down, Submits
    failing with code 0, queued calls that never finish."""
    tests = KIT / "prometheus" / "alerts_test.yml"
    done = subprocess.run(
        [find_promtool(), "test", "rules", str(tests)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
