"""Tests of the top-level `hepgen` command (subcommands have their own test files)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hepgen import __version__
from hepgen.cli import SUBCOMMANDS, main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"hepgen {command}" in out and len(out.splitlines()) > 5


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "hepgen", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "simulate" in result.stdout and "validate" in result.stdout


def test_help_loads_neither_torch_nor_awkward():
    """`hepgen COMMAND --help` answers without importing the heavy libraries (it took 2.6 s
    when the parsers imported the generator registry and the physics layer)."""
    code = ("import sys; from hepgen.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'awkward', 'vector', 'pennylane') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_train_lists_the_installed_generator_families():
    from hepgen.generators.base import available

    parser_help = subprocess.run([sys.executable, "-m", "hepgen", "train", "--help"],
                                 capture_output=True, text=True, check=True).stdout
    for name in [*available(), "discflow"]:
        assert name in parser_help


def test_third_party_info_messages_are_silenced():
    """matplotlib's INFO font-substitution messages reached users as 'hepgen: Substituting ...'.

    In a fresh process, as the console script runs (pytest's own logging set-up would hide it).
    """
    code = (
        "import argparse, logging\n"
        "from hepgen.cli import NOISY_LOGGERS, _configure_logging\n"
        "_configure_logging(argparse.Namespace(debug=False, quiet=False, log_level='INFO'))\n"
        "assert logging.getLogger('hepgen').isEnabledFor(logging.INFO)\n"
        "print(sorted(n for n in ('matplotlib', 'matplotlib.mathtext', 'PIL', 'fontTools')\n"
        "             if logging.getLogger(n).isEnabledFor(logging.INFO)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
