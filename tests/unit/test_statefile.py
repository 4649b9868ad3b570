"""State file on disk: private, atomic, validated on read."""
import json
import stat

import pytest

from engine import statefile
from generators.errors import StateError
from generators.state import render_state


def test_saved_state_is_private_and_reads_back(tmp_path, make_config):
    state = render_state(make_config(), tmp_path / "c.yml")
    path = statefile.save(state, tmp_path / "s" / "decnet-state.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert statefile.load(path) == state
    assert [p.name for p in path.parent.iterdir()] == ["decnet-state.json"]  # no temp file left


def test_missing_state_is_none(tmp_path):
    assert statefile.load(tmp_path / "nope.json") is None


@pytest.mark.parametrize("content, expected", [
    ("{not json", "is corrupt (line 1"),
    (json.dumps({"schema_version": 99}), "not a state this version of decnet wrote"),
])
def test_corrupt_state_names_path_and_way_out(tmp_path, content, expected):
    path = tmp_path / "decnet-state.json"
    path.write_text(content)
    with pytest.raises(StateError) as err:
        statefile.load(path)
    message = str(err.value)
    assert expected in message and str(path) in message and "inv teardown" in message and "\n" not in message
