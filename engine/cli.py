"""`decnet`: the same tasks as `inv`, usable from any directory."""
from invoke import Collection, Program

import tasks

program = Program(namespace=Collection.from_module(tasks), name="decnet", binary="decnet", version="0.1.0")


def main() -> None:
    program.run()
