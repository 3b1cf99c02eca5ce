"""``train --out``: checked before any work, and ``--overwrite`` replaces only a folder nerprobe wrote."""

from __future__ import annotations

import pytest

from nerprobe.errors import NerprobeError
from nerprobe.models.training import MANIFEST_NAME, _swap_in, check_adapter_dir


def test_overwrite_replaces_only_what_nerprobe_wrote(tmp_path):
    user = tmp_path / "corpus"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    with pytest.raises(NerprobeError, match="already exists"):
        check_adapter_dir(user)
    with pytest.raises(NerprobeError, match="not written by nerprobe"):
        check_adapter_dir(user, overwrite=True)
    assert (user / "notes.txt").read_text() == "mine"

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / MANIFEST_NAME).write_text("{}")
    with pytest.raises(NerprobeError, match="already exists"):
        check_adapter_dir(adapter)
    assert check_adapter_dir(adapter, overwrite=True) == adapter
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text("{}")
    assert check_adapter_dir(run, overwrite=True) == run
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_adapter_dir(empty) == empty


def test_out_of_the_wrong_kind_is_refused(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    for out, why in ((".", "current folder"), (data / "train.jsonl", "is a file"),
                     (data / "train.jsonl" / "a", "is a file, not a folder")):
        with pytest.raises(NerprobeError, match=why):
            check_adapter_dir(out, overwrite=True)
    (data / MANIFEST_NAME).write_text("{}")  # even a nerprobe folder is not replaced when it holds the input
    with pytest.raises(NerprobeError, match="would hold or replace the input"):
        check_adapter_dir(data, [data / "train.jsonl"], overwrite=True)


def test_swap_in_keeps_one_complete_folder(tmp_path):
    old, new = tmp_path / "adapter", tmp_path / "adapter.partial"
    old.mkdir()
    (old / "w").write_text("old")
    new.mkdir()
    (new / "w").write_text("new")
    _swap_in(new, old)
    assert (old / "w").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]
