"""``benchmarks/scale_rung.sh`` runs what README "Scale" says the everyday rung is: the same
commands in the same order, with the same Distill-CF schedule (``$D``) as the README's tables."""

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "scale_rung.sh"
README = ROOT / "README.md"


def readme_rung_block() -> list[str]:
    """The README's bash block that defines the rung's ``S``."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    rung = [b for b in blocks if 'S="dataset=netflix_synthetic_small' in b]
    assert len(rung) == 1, "README should show the rung's commands in one bash block"
    return rung[0].splitlines()


def overrides(words: list[str]) -> list[str]:
    """A command's own arguments: without the program, ``-m`` and the rung's ``$S``."""
    return [w for w in words if w not in ("infrec-train", "-m", "$S")]


def test_the_script_runs_the_readmes_rung_commands_in_order():
    readme = [
        overrides(shlex.split(line, comments=True))
        for line in readme_rung_block()
        if line.startswith("infrec-train")
    ]
    script = [
        shlex.split(line, comments=True)[3:]  # row NAME run|sweep …
        for line in SCRIPT.read_text().splitlines()
        if line.startswith("row ")
    ]
    assert script == readme and len(script) == 8


def test_one_distill_cf_schedule_everywhere():
    """Every ``D=…`` the README shows (the full preset's and the rung's) is the script's."""
    (script_d,) = re.findall(r'^D="([^"]+)"', SCRIPT.read_text(), flags=re.M)
    readme_d = re.findall(r'^D="([^"]+)"', README.read_text(), flags=re.M)
    assert len(readme_d) == 2 and set(readme_d) == {script_d}
    assert "sampler=distill_cf" in script_d.split()
    (readme_s,) = [ln for ln in readme_rung_block() if ln.startswith("S=")]
    (script_s,) = re.findall(r'^S="([^"]+)"', SCRIPT.read_text(), flags=re.M)
    # the script adds only its own support dir, so that it distils rather than reuses
    extra = set(script_s.split()) - set(shlex.split(readme_s.removeprefix("S="))[0].split())
    assert [e.split("=")[0] for e in extra] == ["paths.support_dir"]
