"""``runway completion bash|zsh|fish``: print the script (the logic is in completion.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from runway_dynamic.cli._context import echo
from runway_dynamic.cli.completion import SHELLS, script


def completion(
    shell: Annotated[str, typer.Argument(metavar="|".join(SHELLS), show_default=False,
                                         help="The shell to print a completion script for.")],
) -> int:
    """Print a shell completion script.

    bash: eval "$(runway completion bash)"; zsh: eval "$(runway completion zsh)";
    fish: runway completion fish | source. The script asks 'runway __complete' for
    command names, flags, model ids, ratios and enum values from the spec.
    """
    echo(script(shell).rstrip("\n"))
    return 0
