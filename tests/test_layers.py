"""The core never imports the screen: sources, scoring, journal, config and desk run without textual or rich,
and so does ``tocsin run --headless``. Checked in a fresh interpreter, where sys.modules tells the truth."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CORE = ("tocsin.sources", "tocsin.scoring", "tocsin.journal", "tocsin.config", "tocsin.desk")


def run_python(code: str) -> dict[str, object]:
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_core_packages_import_without_textual_or_rich() -> None:
    result = run_python(
        f"""
        import importlib, json, pkgutil, sys
        imported = []
        for name in {CORE!r}:
            package = importlib.import_module(name)
            imported.append(name)
            for info in pkgutil.walk_packages(package.__path__, prefix=name + "."):
                if info.name.endswith(".__main__"):
                    continue  # running it would start the desk
                importlib.import_module(info.name)
                imported.append(info.name)
        screen = sorted({{m.split(".")[0] for m in sys.modules}} & {{"textual", "rich"}})
        print(json.dumps({{"imported": imported, "screen": screen}}))
        """
    )
    imported = result["imported"]
    assert isinstance(imported, list)
    # The walk really covered the packages (a broken walk must not pass as "clean").
    for module in (
        "tocsin.sources.model",
        "tocsin.scoring.snapshot",
        "tocsin.config.settings",
        "tocsin.desk.session",
    ):
        assert module in imported
    assert len(imported) >= 12
    assert result["screen"] == []


def test_headless_run_does_not_import_textual() -> None:
    result = run_python(
        """
        import contextlib, io, json, sys
        from tocsin.desk import cli
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["demo", "--headless", "--duration", "0.3", "--speed", "50"])
        lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
        screen = sorted({m.split(".")[0] for m in sys.modules} & {"textual"})
        print(json.dumps({"code": code, "types": sorted({l["type"] for l in lines}), "screen": screen}))
        """
    )
    assert result["code"] == 0
    assert "snapshot" in result["types"]  # it really ran
    assert result["screen"] == []
