"""Everything the user reads: rich tables and JSON."""
import json
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
for _c in (console, err_console):
    if not _c.is_terminal:  # logs and pipes: do not wrap at 80 columns
        _c.width = 160

STATUS_STYLE = {"up": "green", "degraded": "yellow", "down": "red"}


def step(number: int | str, text: str) -> None:
    err_console.print(f"[bold]\\[{number}][/bold] {escape(text)}")


def plain(text: str) -> None:
    """Text printed exactly as given (the plan)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def info(text: str) -> None:
    """A line on stderr, printed as it is (text from Docker may hold '[...]')."""
    err_console.print(text, markup=False)


def error(text: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(text)}", soft_wrap=True)


def status_table(report: dict) -> None:
    if not report["deckies"]:
        console.print(f"No deckies deployed{' for ' + report['deployment'] if report['deployment'] else ''}.")
        return
    table = Table(title=f"DECNET deployment: {report['deployment']}")
    for column in ("Decky", "IP", "Hostname", "Services", "Status"):
        table.add_column(column)
    for d in report["deckies"]:
        services = ", ".join(
            f"{escape(s['name'])} [{'green' if s['state'] == 'running' else 'red'}]{escape(s['state'])}[/]"
            for s in d["services"])
        style = STATUS_STYLE.get(d["status"], "white")
        table.add_row(escape(d["name"]), escape(d["ip"]), escape(d["hostname"]), services, f"[{style}]{d['status']}[/]")
    console.print(table)


def as_json(document: dict) -> None:
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def event_line(event: dict) -> None:
    """One event, readable: when, where, who, what, and the credentials or command."""
    fields = " ".join(f"{k}={v!r}" for k, v in event["fields"].items())
    style = {"auth": "bold red", "command": "cyan"}.get(event["event"], "default")
    console.print(f"{event['timestamp'][:23]} {escape(event['decky'])}/{escape(event['service'])} "
                  f"[{style}]{escape(event['event'])}[/] {escape(event['src_ip'])}:{escape(event['src_port'])} "
                  f"{escape(fields)} {escape(event['msg'])}".rstrip(), soft_wrap=True)


def event_json(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()
