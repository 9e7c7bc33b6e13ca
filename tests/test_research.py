"""research/: the probe lines beside the product, through kerascmp's plugin API. Each plugin still loads and
builds what it registers (committed results were made with them), and each script answers --help. Nothing
under kerascmp/ or tuning/ imports research/."""

import os
import subprocess
import sys

from conftest import REPO

RESEARCH = REPO / "research"
PLUGINS = sorted(p for p in RESEARCH.rglob("*.py") if "register_variant" in p.read_text())
SCRIPTS = sorted(p for p in RESEARCH.rglob("*.py") if p not in PLUGINS)

LOAD_AND_BUILD = """
import sys
import numpy as np
from kerascmp.engine.build import build_model
from kerascmp.variants import get_variant, load_plugin, variant_names
for plugin in sys.argv[1:]:
    before = set(variant_names())
    load_plugin(plugin)
    for name in [n for n in variant_names() if n not in before]:
        outputs = build_model(name, seed=0, precision="float32")(np.zeros((2, 2, 14, 14), "float32"))
        assert set(outputs) == set(get_variant(name).outputs), (name, set(outputs))
        print(plugin, name, flush=True)
"""


def run_python(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=REPO, env=env
    )


def test_every_research_plugin_loads_and_builds_what_it_registers():
    result = run_python("-c", LOAD_AND_BUILD, *map(str, PLUGINS))
    assert result.returncode == 0, result.stderr[-3000:]
    built = {line.split()[1] for line in result.stdout.splitlines()}
    assert {"p_deep", "q_zoom", "r_wide", "r_members8", "r_distill", "h_smooth", "h_sam05"} <= built, built


def test_every_research_script_answers_help():
    assert SCRIPTS, "no research scripts found"
    for script in SCRIPTS:
        result = run_python(str(script), "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, (script, result.stderr[-2000:])


def test_the_product_never_imports_research():
    for path in [*(REPO / "kerascmp").rglob("*.py"), *(REPO / "tuning").rglob("*.py")]:
        text = path.read_text()
        assert "import research" not in text and "from research" not in text, path
