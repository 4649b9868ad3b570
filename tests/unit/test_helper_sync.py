"""The logging helper reaches every build context, and files are copied only when they differ."""
from engine import helper_sync
from generators.contexts import LOGGING_HELPER, SHARED_MODULES


def test_contexts_get_the_helper_and_only_changes_are_copied(tmp_path):
    changed = helper_sync.sync_build_contexts(["ssh", "http", "ssh"], tmp_path)
    for kind in ("ssh", "http"):
        assert (tmp_path / kind / "decnet_logging.py").read_bytes() == LOGGING_HELPER.read_bytes()
        assert (tmp_path / kind / "Dockerfile").exists()
        for module in SHARED_MODULES:
            assert (tmp_path / kind / module.name).read_bytes() == module.read_bytes()
    assert changed
    assert helper_sync.sync_build_contexts(["ssh", "http"], tmp_path) == []
    (tmp_path / "ssh" / "decnet_logging.py").write_text("# stale\n")
    (tmp_path / "ssh" / "leftover.txt").write_text("x")
    changed = helper_sync.sync_build_contexts(["ssh"], tmp_path)
    assert sorted(p.name for p in changed) == ["decnet_logging.py", "leftover.txt"]
    assert not (tmp_path / "ssh" / "leftover.txt").exists()


def test_context_hash_changes_only_with_the_context(tmp_path, monkeypatch):
    from generators import contexts
    service = tmp_path / "services" / "x"
    service.mkdir(parents=True)
    (service / "server.py").write_text("print(1)\n")
    monkeypatch.setattr(contexts, "SERVICE_TEMPLATES", tmp_path / "services")
    first = contexts.context_hash("x")
    assert contexts.context_hash("x") == first
    (service / "server.py").write_text("print(2)\n")
    assert contexts.context_hash("x") != first
