"""The bundled local task suite: lm-eval task YAMLs shipped in ``nerprobe/retention/tasks``, made runnable offline.

The YAMLs name their data files with placeholders (``@DATA_DIR@`` for the benchmark folder, ``@RUN_DATA@`` for
data that nerprobe builds into the run directory). ``write_task_dir`` copies the requested ones into the run
directory with the placeholders resolved, so lm-eval reads local files and downloads nothing.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from nerprobe.errors import InputError

TEMPLATE_DIR = Path(__file__).with_name("tasks")


@dataclass(frozen=True)
class LocalTask:
    """A bundled task: its lm-eval name, the data files it needs (relative to the data folder), and whether
    nerprobe builds its data from the demo corpus."""

    name: str
    data_files: tuple[str, ...] = ()
    demo: bool = False


LOCAL_TASKS: dict[str, LocalTask] = {
    t.name: t
    for t in (
        LocalTask("local_mmlu", ("mmlu/test.jsonl", "mmlu/dev.jsonl")),
        LocalTask("local_gsm8k", ("gsm8k/test.jsonl",)),
        LocalTask("demo_entity_type", demo=True),
        LocalTask("demo_completion", demo=True),
    )
}

#: Tasks run by ``--model tiny`` when no ``--tasks`` are given: small, offline, and answerable by the demo model.
DEMO_SUITE: tuple[str, ...] = ("demo_entity_type", "demo_completion")


def default_data_dir() -> Path:
    """The benchmark folder when ``--data-dir`` is not given: ``$NERPROBE_DATA``, else ``../shared/data``."""
    env = os.environ.get("NERPROBE_DATA")
    return Path(env) if env else Path.cwd().parent / "shared" / "data"


def check_local_data(tasks: list[str], data_dir: Path) -> None:
    """Raise ``InputError`` (field ``data_dir``) when a requested local task's data file is missing from
    ``data_dir``, and ``InputError`` (``path:line: why``) when one of its lines is not a UTF-8 JSON object."""
    from nerprobe.safe_io import check_jsonl_objects

    for name in tasks:
        task = LOCAL_TASKS.get(name)
        if task is None:
            continue
        for rel in task.data_files:
            if not (data_dir / rel).is_file():
                raise InputError(str(data_dir / rel), None, f"task {name} needs this file, which does not exist "
                                 "(point the data folder or NERPROBE_DATA at the benchmarks)", field="data_dir")
            check_jsonl_objects(data_dir / rel)  # a bad line is named here, not deep inside datasets/pyarrow


def write_task_dir(tasks: list[str], task_dir: Path, data_dir: Path, run_data_dir: Path) -> Path:
    """Write the YAMLs of the requested local tasks (placeholders resolved) and their ``utils.py`` to ``task_dir``.

    Returns ``task_dir``, ready to be passed as lm-eval's ``TaskManager(include_path=...)``.
    """
    task_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATE_DIR / "utils.py", task_dir / "utils.py")
    for name in tasks:
        if name not in LOCAL_TASKS:
            continue
        text = (TEMPLATE_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        text = text.replace("@DATA_DIR@", data_dir.resolve().as_posix())
        text = text.replace("@RUN_DATA@", run_data_dir.resolve().as_posix())
        (task_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
    return task_dir
