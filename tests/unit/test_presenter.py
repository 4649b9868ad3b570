"""What the user reads: text from Docker or the config is printed literally, never as markup."""
from engine import presenter


def test_docker_text_with_brackets_is_printed_as_is(capsys):
    presenter.info("attempt 1/4 failed: executor failed running [/bin/sh -c false]: exit code: 1")
    presenter.error("build failed [/bin/sh -c false] [bold]")
    presenter.step(6, "image [/x] built")
    err = capsys.readouterr().err
    assert "executor failed running [/bin/sh -c false]: exit code: 1" in err
    assert "error: build failed [/bin/sh -c false] [bold]" in err
    assert "[6] image [/x] built" in err


def test_status_table_and_events_survive_bracketed_values(capsys):
    presenter.status_table({"deployment": "lab", "deckies": [
        {"name": "a[b]", "ip": "10.0.0.5", "hostname": "[red]", "status": "up",
         "services": [{"name": "ssh", "state": "running"}]}]})
    presenter.event_line({"timestamp": "2026-12-04T10:00:00.000000Z", "decky": "a", "service": "ftp", "event": "auth",
                          "src_ip": "10.0.0.2", "src_port": "4444", "fields": {"username": "[/x]"}, "msg": "[b]"})
    out = capsys.readouterr().out
    assert "a[b]" in out and "[red]" in out and "username='[/x]'" in out
