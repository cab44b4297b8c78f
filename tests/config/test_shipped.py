"""The shipped settings: the embedded default and every file in config/examples/."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from tocsin.config import settings as S
from tocsin.config.loader import check_config, load_default, load_settings

EXAMPLES = sorted(
    Path(str(p))
    for p in resources.files("tocsin.config").joinpath("examples").iterdir()
    if p.name.endswith(".yaml")
)
_REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # ${VAR} without a :-fallback


def test_default_is_the_maison_brioche_demo() -> None:
    settings = load_default()
    assert settings.path is None
    assert [(s.type, s.id) for s in settings.sources] == [("demo", "demo")]
    (topic,) = settings.topics
    assert topic.id == "brioche" and topic.name == "Maison Brioche"
    assert {"maison brioche", "maisonbrioche", "#maisonbrioche", "#briochegate", "@maisonbrioche"} <= set(
        topic.keywords
    )
    assert settings.desk.timezone == "Europe/Paris"
    assert settings.ui.refresh_hz == 10
    roles = {m.role for m in settings.team.roster}
    assert len(settings.team.roster) == 2 and len(roles) == 2
    assert settings.team.escalation and all(
        role in roles for step in settings.team.escalation for role in step
    )
    assert set(settings.team.sla.first_response) <= {"sev1", "sev2", "sev3", "sev4"}


def test_default_file_validates_as_a_user_file() -> None:
    path = Path(str(resources.files("tocsin.config").joinpath("default.yaml")))
    assert check_config(path, env={}) == []
    assert load_settings(path, env={}) == load_default()


def test_examples_folder_has_the_documented_setups() -> None:
    assert {"demo.yaml", "jsonl.yaml"} <= {p.name for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path: Path) -> None:
    # examples read secrets from the environment: give each variable they need a dummy value
    env = {name: _dummy(name) for name in _REQUIRED_VAR.findall(path.read_text(encoding="utf-8"))}
    assert [str(p) for p in check_config(path, env=env, machine=False)] == []  # files of another machine
    settings = load_settings(path, env=env)
    assert settings.sources and all(s.type in S.SOURCE_TYPES for s in settings.sources)
    assert settings.topics


def test_jsonl_example_replays_at_speed() -> None:
    settings = load_settings(next(p for p in EXAMPLES if p.name == "jsonl.yaml"), env={})
    (source,) = settings.sources
    assert isinstance(source, S.JsonlSourceSettings) and source.speed and source.speed > 1


def _dummy(name: str) -> str:
    return "https://hooks.example.invalid/dummy" if re.search(r"URL|HOOK|ENDPOINT", name) else "dummy"


def test_config_never_imports_the_screen() -> None:
    code = (
        "import sys, tocsin.config.loader as l; l.load_default(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
