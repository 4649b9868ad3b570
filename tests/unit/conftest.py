import textwrap

import pytest

from generators.config import load_config

BASE = """
name: lab
network:
  interface: eth1
  subnet: 192.168.1.0/24
  gateway: 192.168.1.1
  host_ip: 192.168.1.5
  pool: 192.168.1.64/29
deckies:
"""


def cfg_text(deckies: str, base: str = BASE) -> str:
    return textwrap.dedent(base) + textwrap.indent(textwrap.dedent(deckies), "  ")


@pytest.fixture
def make_config():
    def make(deckies: str = "- {name: web-01, ip: 192.168.1.50, services: [ssh, http]}\n", base: str = BASE):
        return load_config(cfg_text(deckies, base), "x.yml")
    return make
