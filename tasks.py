"""DECNET tasks: `inv deploy --config x.yml`, `inv status`, `inv teardown [--decky NAME]`.

Each task reads top to bottom like the engine's sequence; the work happens in
generators/ (pure documents) and engine/ (one adapter per outside thing)."""
import functools
import os
import subprocess
import sys
from pathlib import Path

from invoke import Collection, Exit, task

from engine import deployment as steps
from engine import helper_sync, hostnet, paths, presenter, statefile
from engine import logs as fleet_logs
from engine.lock import state_lock
from generators.documents import render_all
from generators.errors import DecnetError


def one_line_errors(body):
    """Report any failure as one line on stderr and exit 1: never a traceback."""
    @functools.wraps(body)
    def wrapper(*args, **kwargs):
        try:
            return body(*args, **kwargs)
        except DecnetError as exc:
            presenter.error(str(exc))
            raise Exit(code=1) from None
        except KeyboardInterrupt:
            raise Exit("interrupted (a partial deploy is removed by 'inv teardown')", code=130) from None
        except Exception as exc:  # the safety net: still one line, with the way to the details
            if os.environ.get("DECNET_DEBUG"):
                raise
            presenter.error(f"unexpected {type(exc).__name__}: {exc}; rerun with DECNET_DEBUG=1 for the traceback "
                            "and report it")
            raise Exit(code=1) from None
    return wrapper


@task(positional=[], help={"config": "path of the YAML config",
            "dry-run": "write compose, state and build contexts to the state dir's dry-run/ and print the plan; "
                       "needs no root, no daemon and touches nothing on the host",
            "no-cache": "rebuild service images without Docker's build cache",
            "allow-taken": "deploy even where a decky address already answers on the LAN (ARP)"})
@one_line_errors
def deploy(c, config, dry_run=False, no_cache=False, allow_taken=False):
    """Deploy the deckies of a config on the LAN (idempotent: deploying again converges)."""
    cfg = steps.read_config(config)
    if dry_run:
        _dry_run(steps.resolve_host_ip(cfg, config, required=False))
        return
    cfg = steps.resolve_host_ip(cfg, config, required=True)
    with state_lock("deploy"):
        _deploy(cfg, no_cache, allow_taken)


def _dry_run(cfg):
    """Steps 3-5 into the dry-run folder, then the plan and the host commands it would run."""
    docs = render_all(cfg, paths.dry_run_dir())
    steps.write_dry_run(docs)
    presenter.plain(docs.plan)
    if docs.state["host"]["host_ip"]:
        presenter.plain("Host commands of step 2 (host-shim.sh --print):\n"
                        + "".join(f"  {line}\n" for line in hostnet.shim_up(docs.state, print_only=True).splitlines()))
    presenter.info(f"dry run: files written to {docs.root}; nothing was started")


def _deploy(cfg, no_cache, allow_taken):
    """The engine's sequence, under the state directory's lock."""
    docs = render_all(cfg, paths.state_dir())
    steps.check_against_live(docs, statefile.load())
    steps.preflight(docs, allow_taken)
    presenter.plain(docs.plan)

    statefile.save(docs.state)  # the baseline first: whatever fails below can be torn down
    presenter.step(5, f"state saved to {paths.state_file()}")
    presenter.step(1, f"network {docs.state['network']['name']}: {steps.ensure_network(docs)}")
    hostnet.shim_up(docs.state)
    presenter.step(2, f"host shim {docs.state['host']['shim']} up with {len(docs.state['host']['routes'])} routes")
    changed = helper_sync.sync_build_contexts(docs.service_kinds, docs.build_root)
    presenter.step(3, f"logging helper synced into {len(docs.service_kinds)} build contexts ({len(changed)} files changed)")
    presenter.step(4, f"compose file written to {steps.write_compose(docs)}")
    stale = steps.build_images(docs, no_cache)
    presenter.step(6, f"images: {len(stale)} built ({', '.join(stale) or 'all up to date'}); docker compose up -d")
    steps.compose_up(docs)
    pending = steps.wait_until_ready(docs)
    presenter.status_table(steps.status_report())
    if pending:
        raise DecnetError(f"{len(pending)} services do not answer: "
                          + ", ".join(f"{k} ({v})" for k, v in sorted(pending.items()))
                          + "; see 'docker logs' of those containers, fix and deploy again, or 'inv teardown'")


@task(help={"json": "print JSON instead of a table"})
@one_line_errors
def status(c, json=False):
    """Show every decky with its address, hostname and services, from the containers' labels."""
    report = steps.status_report()
    if json:
        presenter.as_json(report)
    else:
        presenter.status_table(report)


@task(help={"decky": "only this decky", "service": "only this service (ssh, http, ...)",
            "follow": "keep printing new events until Ctrl-C", "since": "only events since: 10m, 2h, 1d or an ISO time",
            "json": "one JSON object per event, for tools"})
@one_line_errors
def logs(c, decky=None, service=None, follow=False, since=None, json=False):
    """The fleet's events (connections, logins, commands), merged in time order."""
    deployment = steps.current_deployment(steps.load_state_or_warn())
    if deployment is None:
        raise DecnetError("nothing is deployed; deploy a fleet first ('inv deploy --config x.yml')")
    emit = presenter.event_json if json else presenter.event_line
    since = fleet_logs.parse_since(since)
    if follow:
        fleet_logs.follow(deployment, emit, decky, service, since)
        return
    events, skipped = fleet_logs.collect(deployment, decky, service, since)
    for event in events:
        emit(event)
    if skipped:
        presenter.info(f"note: {skipped} lines were not RFC 5424 events and were left out")


@task(help={"decky": "tear down only this decky (all its containers, its route, its state entry)"})
@one_line_errors
def teardown(c, decky=None):
    """Remove a deployment (containers, host shim and routes, network, state), or one decky."""
    with state_lock("teardown"):
        if decky:
            steps.teardown_decky(decky)
            return
        errors = steps.teardown_all()
    if errors:
        raise DecnetError(f"teardown left {len(errors)} problem(s): {'; '.join(errors)}; fix them and run it again")


@task
@one_line_errors
def restore(c):
    """After a reboot: re-create the host shim and routes from the state, revive deaf services."""
    with state_lock("restore"):
        for line in steps.restore():
            presenter.step("-", line)


UNIT = """[Unit]
Description=DECNET: restore the decoy fleet's host shim and routes after boot
Wants=docker.service network-online.target
After=docker.service network-online.target

[Service]
Type=oneshot
Environment=DECNET_STATE_DIR={state_dir}
ExecStartPre=/bin/sh -c 'for i in $(seq 60); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1'
ExecStart={decnet} restore

[Install]
WantedBy=multi-user.target
"""


@task(name="install-service", help={"root": "install under this directory instead of / (for packaging and tests)"})
@one_line_errors
def install_service(c, root="/"):
    """Install and enable a systemd unit that runs 'restore' at boot, after Docker."""
    unit = Path(root) / "etc/systemd/system/decnet-restore.service"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(UNIT.format(state_dir=paths.state_dir(), decnet=Path(sys.executable).parent / "decnet"))
    presenter.step("-", f"wrote {unit}")
    enable = ["systemctl", *([f"--root={root}"] if root != "/" else []), "enable", unit.name]
    result = subprocess.run(enable, capture_output=True, text=True)
    presenter.step("-", f"{' '.join(enable)}: " + ("enabled" if result.returncode == 0 else
                                                   f"failed ({result.stderr.strip()[:200]}); enable it by hand"))


@task(positional=[], help={"config": "path of the YAML config"})
@one_line_errors
def validate(c, config):
    """Check a config without deploying anything."""
    cfg = steps.read_config(config)
    services = sum(len(d.services) for d in cfg.deckies)
    presenter.console.print(f"ok: {config}: deployment {cfg.name}, {len(cfg.deckies)} deckies, {services} services")


def _script(name, *args):
    result = subprocess.run(["bash", str(paths.SCRIPTS / name), *args])
    if result.returncode != 0:
        raise Exit(code=result.returncode)


@task(name="base-image")
def base_image(c):
    """Build the offline base image (debootstrap + docker import); does nothing if it exists."""
    _script("base-image.sh")


@task(help={"down": "remove the virtual LAN instead"})
def lan(c, down=False):
    """Create (or remove) the built-in virtual LAN: dn-lan0 plus an attacker namespace."""
    _script("test-lan.sh", "down" if down else "up")


@task
def demo(c):
    """Bring up the virtual LAN and deploy the demo fleet (examples/demo.yml), ending with its status."""
    lan(c)
    deploy(c, config=str(paths.REPO / "examples" / "demo.yml"))


@task(help={"smoke": "a small, quick run", "write": "also write the report to this file (e.g. BENCHMARKS.md)"})
def bench(c, smoke=False, write=None):
    """Benchmark the engine against plain Docker on its own test LAN (benchmarks/bench.py)."""
    args = [sys.executable, str(paths.REPO / "benchmarks" / "bench.py"), *(["--smoke"] if smoke else []),
            *(["--write", write] if write else [])]
    if subprocess.run(args).returncode != 0:
        raise Exit(code=1)


@task(help={"unit": "only the unit tests (no root, no Docker)"})
def test(c, unit=False):
    """Run every test: pytest unit, bats, and end-to-end against the real engine."""
    py = sys.executable
    if unit:
        suites = [[py, "-m", "pytest", "-q", "tests/unit"]]
    else:  # pytest last, over unit and e2e together, so its closing line counts everything
        suites = [["bats", "tests/bats"], [py, "-m", "pytest", "-q", "tests/unit", "tests/e2e"]]
    failed = []
    for cmd in suites:
        presenter.info(f"$ {' '.join(cmd)}")
        if subprocess.run(cmd, cwd=paths.REPO, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}).returncode != 0:
            failed.append(cmd[-1])
    if failed:
        raise Exit(f"failed: {', '.join(failed)}", code=1)


namespace = Collection(deploy, status, logs, teardown, restore, install_service, validate, base_image, lan, demo,
                       bench, test)
