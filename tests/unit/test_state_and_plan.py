"""State document and the printed plan (golden file)."""
import os
from pathlib import Path

import pytest

from generators.config import load_config
from generators.documents import render_all
from generators.errors import StateError
from generators.state import config_from_state, render_state

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "demo-plan.txt"


def test_state_records_what_the_host_must_undo(make_config):
    state = render_state(make_config(), Path("/s/decnet-compose.yml"))
    assert state["schema_version"] == 1
    assert state["host"] == {"shim": "dn-lab", "host_ip": "192.168.1.5", "routes": ["192.168.1.50/32"]}
    assert state["network"]["name"] == "decnet-lab" and state["network"]["interface"] == "eth1"


def test_config_round_trips_through_state(make_config):
    cfg = make_config("- {name: a, services: [ssh], amount: 2}\n")
    assert config_from_state(render_state(cfg, Path("/s/c.yml")), "s") == cfg


def test_inconsistent_state_is_refused(make_config):
    state = render_state(make_config(), Path("/s/c.yml"))
    state["deckies"].append(dict(state["deckies"][0]))
    with pytest.raises(StateError, match="used twice"):
        config_from_state(state, "s")


def test_long_deployment_names_get_a_short_shim_name():
    from generators.names import shim_name
    assert shim_name("lab") == "dn-lab"
    assert len(shim_name("a-very-long-deployment-name")) <= 15


def test_plan_matches_golden_file():
    cfg = load_config((REPO / "examples" / "demo.yml").read_text(), "demo.yml")
    plan = render_all(cfg, Path("/var/lib/decnet")).plan
    if os.environ.get("UPDATE_GOLDEN"):  # regenerate after an intended change, then review the diff
        GOLDEN.write_text(plan)
    assert plan == GOLDEN.read_text()
